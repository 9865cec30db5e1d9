"""The rule table: each rule by hand, the same verdict on ints and on arrays, and the search
keeping exactly the plans that a single plan's check accepts."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplan.catalog import load_catalog
from gpuplan.model.plan_check import plan_errors
from gpuplan.model.rules import RULES, Context, prune, rule_errors
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.search.plans import SEARCH_ONLY_REASONS, SearchOptions, search

CATALOG = load_catalog()
H100 = CATALOG.accelerator("h100-sxm")  # scale-up domain of 8
LLAMA = CATALOG.model("llama3-70b")  # 80 layers, 64 heads, 8 KV heads, dense
MIXTRAL = CATALOG.model("mixtral-8x7b")  # 32 layers, 32 heads, 8 KV heads, 8 experts
DENSE = Context(LLAMA, gpus=1024, global_batch=512, seq_len=8192, accelerator=H100)
MOE = Context(MIXTRAL, gpus=1024, global_batch=512, seq_len=8192, accelerator=H100)
ALLOWED = Context(LLAMA, 1024, 512, 8192, H100, allow_tp_beyond_domain=True)
FOLDED = Context(MIXTRAL, 1024, 512, 8192, H100, experts_fold_tp=True)
DUAL = Context(MIXTRAL, 1024, 512, 8192, H100, dualpipe=True)

PER_REPLICA = "micro-batch does not divide the batch per replica"
# (rule id, context, fields, broken?), worked by hand for every rule of the table.
CASES: list[tuple[str, Context, dict[str, int], bool]] = [
    ("tp does not divide the heads", DENSE, {"tp": 3}, True),  # 64 % 3 = 1
    ("tp does not divide the heads", DENSE, {"tp": 16}, False),
    ("tp and the kv heads do not divide one another", DENSE, {"tp": 3}, True),  # 8%3, 3%8
    ("tp and the kv heads do not divide one another", DENSE, {"tp": 16}, False),  # 16 % 8 = 0
    ("tp and the kv heads do not divide one another", DENSE, {"tp": 2}, False),  # 8 % 2 = 0
    ("tp beyond the scale-up domain", DENSE, {"tp": 16}, True),  # 16 > 8
    ("tp beyond the scale-up domain", DENSE, {"tp": 8}, False),
    ("tp beyond the scale-up domain", ALLOWED, {"tp": 16}, False),
    ("tp groups would straddle scale-up domains", DENSE, {"tp": 3}, True),  # 8%3, 3%8
    ("tp groups would straddle scale-up domains", DENSE, {"tp": 4}, False),
    ("tp groups would straddle scale-up domains", ALLOWED, {"tp": 12}, True),  # 8%12, 12%8
    ("tp groups would straddle scale-up domains", ALLOWED, {"tp": 16}, False),
    ("cp does not divide the sequence", DENSE, {"cp": 3}, True),  # 8192 % 3 = 2
    ("cp does not divide the sequence", DENSE, {"cp": 4}, False),
    ("the degrees exceed the GPUs", DENSE, {"tp": 8, "pp": 16, "dp": 16, "cp": 1}, True),  # 2048
    ("the degrees exceed the GPUs", DENSE, {"tp": 8, "pp": 16, "dp": 8, "cp": 1}, False),  # 1024
    ("the degrees exceed the GPUs", DENSE, {"tp": 8, "pp": 8, "dp": 4, "cp": 2}, False),  # 512
    ("dp does not divide the batch", DENSE, {"dp": 3}, True),  # 512 % 3 = 2
    ("dp does not divide the batch", DENSE, {"dp": 64}, False),
    ("ep without experts", DENSE, {"ep": 2}, True),
    ("ep without experts", DENSE, {"ep": 1}, False),
    ("ep without experts", MOE, {"ep": 2}, False),
    ("ep does not divide the experts", MOE, {"ep": 3}, True),  # 8 % 3 = 2
    ("ep does not divide the experts", MOE, {"ep": 4}, False),
    ("ep does not divide the experts", DENSE, {"ep": 2}, False),  # "ep without experts" says it
    ("ep does not divide dp x cp", MOE, {"ep": 4, "dp": 2, "cp": 1}, True),  # 2 % 4 = 2
    ("ep does not divide dp x cp", MOE, {"ep": 4, "dp": 2, "cp": 2}, False),
    ("pp x interleave exceeds the layers", DENSE, {"pp": 16, "interleave": 6}, True),  # 96 > 80
    ("pp x interleave exceeds the layers", DENSE, {"pp": 16, "interleave": 5}, False),  # 80
    ("pp x interleave exceeds the layers", DENSE, {"pp": 81, "interleave": 1}, True),
    ("interleave needs pp > 1", DENSE, {"pp": 1, "interleave": 2}, True),
    ("interleave needs pp > 1", DENSE, {"pp": 1, "interleave": 1}, False),
    ("interleave needs pp > 1", DENSE, {"pp": 2, "interleave": 2}, False),
    (PER_REPLICA, DENSE, {"dp": 64, "microbatch": 3}, True),  # 8 per replica
    (PER_REPLICA, DENSE, {"dp": 64, "microbatch": 4}, False),
    (PER_REPLICA, DENSE, {"dp": 64, "microbatch": 16}, True),
    ("micro-batch does not divide the batch", DENSE, {"microbatch": 3}, True),  # 512 % 3 = 2
    ("micro-batch does not divide the batch", DENSE, {"microbatch": 8}, False),
    ("sequence parallelism needs tp > 1", DENSE, {"sequence_parallel": 1, "tp": 1}, True),
    ("sequence parallelism needs tp > 1", DENSE, {"sequence_parallel": 1, "tp": 2}, False),
    ("sequence parallelism needs tp > 1", DENSE, {"sequence_parallel": 0, "tp": 1}, False),
    # Experts folded over TP: EP 8 divides tp x dp x cp = 2 x 4 x 1, not dp x cp = 4.
    ("ep does not divide dp x cp", FOLDED, {"ep": 8, "dp": 4, "cp": 1, "tp": 2}, False),
    ("ep does not divide dp x cp", FOLDED, {"ep": 8, "dp": 2, "cp": 1, "tp": 2}, True),
    ("dualpipe runs no interleave", DUAL, {"interleave": 2}, True),
    ("dualpipe runs no interleave", DUAL, {"interleave": 1}, False),
    ("dualpipe runs no interleave", MOE, {"interleave": 2}, False),
]  # fmt: skip
RULE = {rule.id: rule for rule in RULES}


def test_every_rule_has_a_case_both_ways() -> None:
    assert {rule_id for rule_id, *_ in CASES} == set(RULE)
    for rule_id in RULE:
        assert {broken for r, _, _, broken in CASES if r == rule_id} == {True, False}, rule_id


@pytest.mark.parametrize(("rule_id", "context", "fields", "broken"), CASES)
def test_rule_by_hand_on_ints_and_arrays(
    rule_id: str, context: Context, fields: dict[str, int], broken: bool
) -> None:
    rule = RULE[rule_id]
    assert rule.applies(context, fields)
    scalar = rule.broken(context, fields)
    assert isinstance(scalar, bool | np.bool_) and bool(scalar) is broken
    arrays = {k: np.full(3, v, dtype=np.int64) for k, v in fields.items()}
    vector = np.broadcast_to(rule.broken(context, arrays), (3,))
    assert vector.dtype == np.bool_ and vector.tolist() == [broken] * 3
    # prune() with this one rule: the plans kept and the count under the rule's id.
    pruned: dict[str, int] = {}
    assert prune(context, arrays, (rule,), pruned).tolist() == [not broken] * 3
    assert pruned == ({rule_id: 3} if broken else {})
    message = rule.message(context, fields)
    assert message and (not broken or message in rule_errors(context, fields))


def test_a_rule_on_fields_not_given_is_skipped() -> None:
    assert rule_errors(DENSE, {"tp": None, "interleave": 5}) == []
    assert rule_errors(DENSE, {"pp": 4}) == []
    # "the degrees exceed the GPUs" reads whichever degrees are given.
    errors = rule_errors(DENSE, {"tp": 8, "pp": 256})
    assert "tp x pp = 8 x 256 = 2048 exceeds gpus = 1024" in errors
    # A partial plan has one virtual stage per GPU: pp alone is checked against the layers.
    assert any("parallelism.pp x interleave = 256 x 1 = 256 exceeds layers" in e for e in errors)
    # The scale-up domain rules need the accelerator.
    no_accelerator = Context(LLAMA, 1024, 512, 8192)
    assert rule_errors(no_accelerator, {"tp": 16}) == []
    assert "scale-up domain of 8 h100-sxm GPUs" in rule_errors(DENSE, {"tp": 16})[0]


def test_messages_name_the_valid_values_from_the_table() -> None:
    errors = rule_errors(DENSE, {"tp": 3})
    assert errors[0] == "parallelism.tp = 3 does not divide heads = 64; valid: 1, 2, 4, 8"
    assert len(errors) == 3  # heads, KV heads, straddling the domain
    assert rule_errors(ALLOWED, {"tp": 3})[0].endswith("valid: 1, 2, 4, 8, 16, 32, 64")


def test_a_single_plan_is_checked_against_the_scale_up_domain() -> None:
    plan = ParallelPlan(tensor_parallel=16, data_parallel=64)
    assert plan_errors(plan, LLAMA, 1024, 512, 8192) == []
    (error,) = plan_errors(plan, LLAMA, 1024, 512, 8192, accelerator=H100)
    assert "parallelism.tp = 16 spans more than one scale-up domain" in error
    allowed = plan_errors(plan, LLAMA, 1024, 512, 8192, accelerator=H100,
                          allow_tp_beyond_domain=True)  # fmt: skip
    assert allowed == []


FIELDS = ("tp", "pp", "dp", "cp", "ep", "microbatch", "interleave", "sequence_parallel")
plans = st.builds(
    ParallelPlan,
    tensor_parallel=st.sampled_from([1, 2, 3, 4, 6, 8, 16, 24]),
    pipeline_parallel=st.sampled_from([1, 2, 3, 4, 5, 7, 8, 16, 20, 33]),
    data_parallel=st.sampled_from([1, 2, 3, 4, 6, 8, 16]),
    context_parallel=st.sampled_from([1, 2, 3, 4]),
    expert_parallel=st.sampled_from([1, 2, 3, 4, 8]),
    microbatch=st.sampled_from([1, 2, 3, 4, 6, 8]),
    interleave=st.sampled_from([1, 2, 3, 5, 7]),
    recompute=st.sampled_from(list(Recompute)),
    sequence_parallel=st.booleans(),
    zero=st.integers(0, 3),
)
likely_valid = st.builds(
    ParallelPlan,
    tensor_parallel=st.sampled_from([1, 2, 4, 8]),
    pipeline_parallel=st.sampled_from([1, 2, 4]),
    data_parallel=st.sampled_from([1, 2, 4, 8]),
    context_parallel=st.sampled_from([1, 2]),
    expert_parallel=st.sampled_from([1, 1, 2]),
    microbatch=st.sampled_from([1, 2]),
    interleave=st.sampled_from([1, 1, 2]),
    recompute=st.sampled_from(list(Recompute)),
    sequence_parallel=st.booleans(),
    zero=st.integers(0, 3),
)
any_plan = st.one_of(plans, likely_valid)
models = st.sampled_from(["mixtral-8x7b", "llama3-8b", "open-sora-2-11b", "palm-540b"])


def _context(model_id: str, gpus: int, batch: int, allow: bool) -> Context:
    return Context(CATALOG.model(model_id), gpus, batch, 8192, H100, allow)


def _as_fields(plan: ParallelPlan) -> dict[str, Any]:
    return {k: v for k, v in plan.as_dict().items() if k in FIELDS}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(any_plan, min_size=1, max_size=40), models, st.sampled_from([24, 48, 96, 512]),
    st.booleans(), st.sampled_from([64, 256, 1024]),
)  # fmt: skip
def test_vectorised_rules_keep_exactly_the_valid_plans(
    batch: list[ParallelPlan], model_id: str, global_batch: int, allow: bool, gpus: int
) -> None:
    context = _context(model_id, gpus, global_batch, allow)
    arrays = {k: np.asarray([_as_fields(p)[k] for p in batch], dtype=np.int64) for k in FIELDS}
    keep = prune(context, arrays)
    for plan, kept in zip(batch, keep, strict=True):
        errors = plan_errors(plan, context.model, gpus, global_batch, 8192, accelerator=H100,
                             allow_tp_beyond_domain=allow)  # fmt: skip
        # A plan using fewer GPUs than given is valid for the rules (the search's min_used
        # decides), not for a single plan (which must use them all).
        assert (not errors) == (bool(kept) and plan.gpus == gpus), (plan, errors)


@settings(max_examples=100, deadline=None)
@given(any_plan, models, st.sampled_from([24, 48, 96]), st.booleans())
def test_search_evaluates_a_fixed_plan_iff_it_is_valid(
    plan: ParallelPlan, model_id: str, global_batch: int, allow: bool
) -> None:
    model = CATALOG.model(model_id)
    options = SearchOptions(
        tp=plan.tensor_parallel, pp=plan.pipeline_parallel, dp=plan.data_parallel,
        cp=plan.context_parallel, ep=plan.expert_parallel, microbatch=plan.microbatch,
        interleave=plan.interleave, recompute=plan.recompute.value,
        sequence_parallel=plan.sequence_parallel, zero=plan.zero,
        allow_tp_beyond_domain=allow, min_used=1.0,
    )  # fmt: skip
    result = search(CATALOG, model, H100, plan.gpus, global_batch=global_batch, seq_len=8192,
                    options=options)  # fmt: skip
    errors = plan_errors(plan, model, plan.gpus, global_batch, 8192, accelerator=H100,
                         allow_tp_beyond_domain=allow)  # fmt: skip
    assert result.enumerated == 1
    assert result.evaluated == (0 if errors else 1)
    assert sum(result.pruned.values()) + result.feasible == 1
    if errors:
        (reason,) = result.pruned
        assert reason in RULE and reason not in SEARCH_ONLY_REASONS
        assert RULE[reason].message(_context(model_id, plan.gpus, global_batch, allow),
                                    _as_fields(plan)) == errors[0]  # fmt: skip


def _fresh_plan_errors(plan: ParallelPlan, context: Context) -> list[str]:
    """A plan's check written the other way: every applying rule's message
    (:func:`rule_errors`, which judges each rule and a layout below the GPUs), then a
    layout above the GPUs."""
    fields = {k: v for k, v in plan.as_dict().items()
              if isinstance(v, int) and k != "recompute_layers"}  # fmt: skip
    errors = rule_errors(context, fields)
    if plan.gpus > context.gpus:
        tp, pp, dp, cp = (plan.tensor_parallel, plan.pipeline_parallel, plan.data_parallel,
                          plan.context_parallel)  # fmt: skip
        errors.append(
            f"tp x pp x dp x cp = {tp} x {pp} x {dp} x {cp} = {plan.gpus}, "
            f"not gpus = {context.gpus}"
        )
    return errors


def test_a_plans_check_gives_the_messages_of_every_rule_judged() -> None:
    """plan_errors judges the rules until one breaks and, only then, collects the
    messages; a layout of all the GPUs that breaks none is answered without them
    (model/plan_check.py). Over 1,000 plans asked in turn (valid and not, dense and MoE,
    experts folded over TP or not, with and without the accelerator, the same plans
    again, plans of fewer or more GPUs than the context's), each gets exactly the
    messages of every rule judged: a shortcut that skipped a broken rule or a GPU-count
    message would show."""
    import random

    from gpuplan.model import kept

    kept.forget()
    draw = random.Random(15)
    contexts = [
        Context(LLAMA, 1024, 512, 8192, H100),
        Context(MIXTRAL, 1024, 512, 8192, H100, experts_fold_tp=True),
        Context(MIXTRAL, 256, 96, 4096, None, dualpipe=True, edge_chunks=2),
        Context(MIXTRAL, 512, 512, 8192, H100, allow_tp_beyond_domain=True),
    ]
    broken = whole = 0
    for _ in range(1000):
        context = draw.choice(contexts)
        plan = ParallelPlan(
            tensor_parallel=draw.choice((1, 2, 3, 4, 8, 16)),
            pipeline_parallel=draw.choice((1, 2, 4, 8)),
            data_parallel=draw.choice((1, 2, 3, 4, 8, 16, 32)),
            context_parallel=draw.choice((1, 2, 3)),
            expert_parallel=draw.choice((1, 2, 4, 8, 16)),
            microbatch=draw.choice((1, 2, 3)),
            interleave=draw.choice((1, 2, 5)),
            recompute=draw.choice(list(Recompute)),
            sequence_parallel=draw.choice((False, True)),
            zero=draw.choice((0, 1, 3)),
        )
        if draw.random() < 0.5:  # half of them asked of exactly the GPUs they use
            context = dataclasses.replace(context, gpus=plan.gpus)
        got = plan_errors(
            plan, context.model, context.gpus, context.global_batch, context.seq_len,
            accelerator=context.accelerator,
            allow_tp_beyond_domain=context.allow_tp_beyond_domain,
            experts_fold_tp=context.experts_fold_tp, dualpipe=context.dualpipe,
            edge_chunks=context.edge_chunks,
        )  # fmt: skip
        assert got == _fresh_plan_errors(plan, context), plan
        broken += bool(got)
        whole += not got and plan.gpus == context.gpus
    assert 100 < broken < 1000 and whole > 50  # both kinds were asked, valid layouts too
    # TP alone decides the folded EP rule here: ep 8 divides tp x dp x cp = 8 x 1 x 1, not
    # 1 x 1 x 1, and breaks no other rule (the verdict of the first must not answer the
    # second; contexts[1]'s)
    for tp in (8, 1, 8):
        plan = ParallelPlan(tensor_parallel=tp, expert_parallel=8)
        errors = plan_errors(plan, MIXTRAL, 1024, 512, 8192, accelerator=H100,
                             allow_tp_beyond_domain=True, experts_fold_tp=True)  # fmt: skip
        assert any("must divide tp x dp x cp = 1" in e for e in errors) == (tp == 1)
