"""The rules that make a parallel plan valid for a model, a batch and a GPU count.

One table, used by a single plan (:func:`plan_errors`) and by the search (which prunes by
the same rules and counts plans per rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gpuplan.catalog.schema import Model
from gpuplan.scenario.plan import ParallelPlan


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


Fields = dict[str, int | None]
"""Plan fields by their scenario names (tp, pp, dp, cp, ep, microbatch, interleave,
sequence_parallel as 0/1); None for a field not given."""


@dataclass(frozen=True)
class Context:
    """What a plan is checked against."""

    model: Model
    gpus: int
    global_batch: int
    seq_len: int


@dataclass(frozen=True)
class Rule:
    """One validity rule: the fields it reads, when it is broken, and what to tell the user."""

    id: str
    """Short reason, also the key of the search's pruned-plan counts."""
    fields: tuple[str, ...]
    broken: Callable[[Context, Fields], bool]
    message: Callable[[Context, Fields], str]


def _valid(values: list[int], limit: int = 12) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _tp_values(c: Context) -> list[int]:
    kv = c.model.kv_heads
    return [d for d in divisors(c.model.heads) if kv % d == 0 or d % kv == 0]


def _int(f: Fields, key: str) -> int:
    value = f[key]
    assert value is not None, f"rule read {key}, which it does not list"
    return value


RULES: tuple[Rule, ...] = (
    Rule(
        "tp does not divide the heads",
        ("tp",),
        lambda c, f: c.model.heads % _int(f, "tp") != 0,
        lambda c, f: (
            f"parallelism.tp = {f['tp']} does not divide heads = {c.model.heads}; "
            f"valid: {_valid(_tp_values(c))}"
        ),
    ),
    Rule(
        "tp and the kv heads do not divide one another",
        ("tp",),
        lambda c, f: (
            c.model.kv_heads % _int(f, "tp") != 0 and _int(f, "tp") % c.model.kv_heads != 0
        ),
        lambda c, f: (
            f"parallelism.tp = {f['tp']} and kv_heads = {c.model.kv_heads}: one must "
            f"divide the other; valid: {_valid(_tp_values(c))}"
        ),
    ),
    Rule(
        "cp does not divide the sequence",
        ("cp",),
        lambda c, f: c.seq_len % _int(f, "cp") != 0,
        lambda c, f: f"parallelism.cp = {f['cp']} does not divide seq_len = {c.seq_len}",
    ),
    Rule(
        "pp x interleave exceeds the layers",
        ("pp", "interleave"),
        lambda c, f: _int(f, "pp") * _int(f, "interleave") > c.model.layers,
        lambda c, f: (
            f"parallelism.pp x interleave = {f['pp']} x {f['interleave']} = "
            f"{_int(f, 'pp') * _int(f, 'interleave')} exceeds layers = {c.model.layers}"
        ),
    ),
    Rule(
        "interleave needs pp > 1",
        ("pp", "interleave"),
        lambda c, f: _int(f, "interleave") > 1 and _int(f, "pp") == 1,
        lambda c, f: f"parallelism.interleave = {f['interleave']} needs pp > 1 (pp = 1)",
    ),
    Rule(
        "the degrees exceed the GPUs",
        ("tp", "pp", "dp", "cp"),
        lambda c, f: math.prod(v for k in ("tp", "pp", "dp", "cp") if (v := f.get(k))) > c.gpus,
        lambda c, f: (
            "tp x pp x dp x cp = "
            + " x ".join(str(f.get(k)) for k in ("tp", "pp", "dp", "cp") if f.get(k))
            + f" = {math.prod(v for k in ('tp', 'pp', 'dp', 'cp') if (v := f.get(k)))} exceeds "
            f"gpus = {c.gpus}"
        ),
    ),
    Rule(
        "dp does not divide the batch",
        ("dp",),
        lambda c, f: c.global_batch % _int(f, "dp") != 0,
        lambda c, f: (
            f"parallelism.dp = {f['dp']} does not divide training.global_batch = {c.global_batch}"
        ),
    ),
    Rule(
        "micro-batch does not divide the batch per replica",
        ("dp", "microbatch"),
        lambda c, f: (c.global_batch // _int(f, "dp")) % _int(f, "microbatch") != 0,
        lambda c, f: (
            f"training.global_batch = {c.global_batch} is not a multiple of "
            f"microbatch x dp = {f['microbatch']} x {f['dp']} = "
            f"{_int(f, 'microbatch') * _int(f, 'dp')}"
        ),
    ),
    Rule(
        "micro-batch does not divide the batch",
        ("microbatch",),
        lambda c, f: c.global_batch % _int(f, "microbatch") != 0,
        lambda c, f: (
            f"parallelism.microbatch = {f['microbatch']} does not divide "
            f"training.global_batch = {c.global_batch}"
        ),
    ),
    Rule(
        "ep without experts",
        ("ep",),
        lambda c, f: c.model.moe is None and _int(f, "ep") != 1,
        lambda c, f: f"parallelism.ep = {f['ep']} but {c.model.id} has no experts; valid: 1",
    ),
    Rule(
        "ep does not divide the experts",
        ("ep",),
        lambda c, f: c.model.moe is not None and c.model.moe.experts % _int(f, "ep") != 0,
        lambda c, f: (
            f"parallelism.ep = {f['ep']} does not divide experts = "
            f"{c.model.moe.experts if c.model.moe else 0}; valid: "
            f"{_valid(divisors(c.model.moe.experts) if c.model.moe else [1])}"
        ),
    ),
    Rule(
        "ep does not divide dp x cp",
        ("ep", "dp", "cp"),
        lambda c, f: (_int(f, "dp") * _int(f, "cp")) % _int(f, "ep") != 0,
        lambda c, f: (
            f"parallelism.ep = {f['ep']} must divide dp x cp = {_int(f, 'dp') * _int(f, 'cp')}"
        ),
    ),
    Rule(
        "sequence parallelism needs tp > 1",
        ("sequence_parallel", "tp"),
        lambda c, f: bool(f["sequence_parallel"]) and _int(f, "tp") == 1,
        lambda c, f: "parallelism.sequence_parallel needs tp > 1",
    ),
)


def rule_errors(context: Context, fields: Fields) -> list[str]:
    """Every rule the given fields break (rules whose fields are not all given are skipped;
    "the degrees exceed the GPUs" reads whichever degrees are given)."""
    # A partial plan runs one virtual stage per GPU unless told otherwise.
    fields = {"interleave": 1, **{k: v for k, v in fields.items() if v is not None}}
    errors = []
    for rule in RULES:
        partial = rule.id == "the degrees exceed the GPUs"
        if not partial and any(fields.get(k) is None for k in rule.fields):
            continue
        if rule.broken(context, fields):
            errors.append(rule.message(context, fields))
    return errors


def plan_errors(
    plan: ParallelPlan, model: Model, gpus: int, global_batch: int, seq_len: int
) -> list[str]:
    """Why a complete plan cannot run this model on these GPUs (empty when it can).

    Each message names the field, the value, the rule and the valid values.
    """
    fields: Fields = {k: v for k, v in plan.as_dict().items() if isinstance(v, int)}
    errors = rule_errors(Context(model, gpus, global_batch, seq_len), fields)
    if plan.gpus != gpus:
        tp, pp, dp, cp = (plan.tensor_parallel, plan.pipeline_parallel, plan.data_parallel,
                          plan.context_parallel)  # fmt: skip
        errors.append(
            f"tp x pp x dp x cp = {tp} x {pp} x {dp} x {cp} = {plan.gpus}, not gpus = {gpus}"
        )
    return errors


def stage_layers(layers: int, stages: int) -> list[int]:
    """Layers per pipeline stage. When they do not divide, the last and first stages,
    which also hold the logits and the embedding, get one layer fewer, then their
    neighbours inwards.

    Llama 3 405B put 126 layers on 16 stages this way (Dubey et al. 2024 sec. 3.3.2): one
    layer fewer on the first and on the last stage.
    """
    per_stage = -(-layers // stages)
    counts = [per_stage] * stages
    deficit = per_stage * stages - layers
    order = [i for pair in zip(range(stages - 1, -1, -1), range(stages), strict=True) for i in pair]
    for index in list(dict.fromkeys(order))[:deficit]:
        counts[index] -= 1
    return counts
