"""One complete plan checked against the rules of :mod:`gpuplan.model.rules` (issue 15: one
plan given in full), each group of rules on the same fields judged once per scenario and
the values of those fields.

A scenario's plans share the :class:`~gpuplan.model.rules.Context` they are checked in
(kept by the identity of the model and accelerator records, :mod:`gpuplan.model.kept`),
and the context keeps, per group of rules that read the same fields and those fields'
values, whether they pass. A plan that passes every group breaks no rule; one that breaks
some is judged rule by rule, as :func:`gpuplan.model.rules.rule_errors` judges any plan,
for its messages.
"""

from __future__ import annotations

from gpuplan.catalog.schema import Accelerator, Model
from gpuplan.model.kept import by_identity
from gpuplan.model.rules import Context, Fields, Group, applying, messages
from gpuplan.scenario.plan import ParallelPlan


def plan_errors(
    plan: ParallelPlan,
    model: Model,
    gpus: int,
    global_batch: int,
    seq_len: int,
    *,
    accelerator: Accelerator | None = None,
    allow_tp_beyond_domain: bool = False,
    experts_fold_tp: bool = False,
    dualpipe: bool = False,
    edge_chunks: int = 0,
) -> list[str]:
    """Why a complete plan cannot run this model on these GPUs (empty when it can); the
    scale-up domain rules are checked when the accelerator is given.

    Each message names the field, the value, the rule and the valid values.
    """
    fields = _fields(plan)
    context = _context(model, accelerator, gpus, global_batch, seq_len,
                       allow_tp_beyond_domain, experts_fold_tp, dualpipe, edge_chunks)  # fmt: skip
    rules, groups = applying(context, fields)
    if _passes(context, fields, groups):
        rules = ()  # none broken: no message to look for
    errors = messages(context, fields, rules)  # a plan below the GPUs included
    if plan.gpus > gpus:
        tp, pp, dp, cp = (plan.tensor_parallel, plan.pipeline_parallel, plan.data_parallel,
                          plan.context_parallel)  # fmt: skip
        errors.append(
            f"tp x pp x dp x cp = {tp} x {pp} x {dp} x {cp} = {plan.gpus}, not gpus = {gpus}"
        )
    return errors


def _passes(context: Context, fields: Fields, groups: tuple[Group, ...]) -> bool:
    """Whether ``fields`` pass every group of rules, each group's verdict kept in
    ``context`` per the values of the fields it reads (a field not given: not kept)."""
    passed = context.passed
    if len(passed) >= PASSED:
        passed.clear()
    for names, values, group in groups:
        try:
            key = (names, values(fields))
            ok = passed.get(key)
        except (KeyError, TypeError):  # a field it reads not given, or not hashable
            key, ok = None, None
        if ok is None:
            ok = not any(rule.broken(context, fields) for rule in group)
            if key is not None:
                passed[key] = ok
        if not ok:
            return False
    return True


PASSED = 4096
"""Verdicts a context keeps (all forgotten when it is full)."""


@by_identity(records=2, maxsize=256)
def _context(
    model: Model, accelerator: Accelerator | None, gpus: int, global_batch: int, seq_len: int,
    allow_tp_beyond_domain: bool, experts_fold_tp: bool, dualpipe: bool, edge_chunks: int,
) -> Context:  # fmt: skip
    """The :class:`Context` of :func:`plan_errors`, kept per model and accelerator (by
    identity: :mod:`gpuplan.model.kept`) and the numbers: the plans of a scenario share it,
    and the verdicts it keeps (``passed``)."""
    return Context(model, gpus, global_batch, seq_len, accelerator, allow_tp_beyond_domain,
                   experts_fold_tp, dualpipe, edge_chunks)  # fmt: skip


def _fields(plan: ParallelPlan) -> Fields:
    """The integer fields of ``plan.as_dict()`` (``recompute_layers`` left out), as the
    rules read them: its degrees, micro-batch, interleave, sequence parallelism and ZeRO."""
    given = {"tp": plan.tensor_parallel, "pp": plan.pipeline_parallel,
             "dp": plan.data_parallel, "cp": plan.context_parallel, "ep": plan.expert_parallel,
             "microbatch": plan.microbatch, "interleave": plan.interleave,
             "sequence_parallel": plan.sequence_parallel, "zero": plan.zero}  # fmt: skip
    return {k: v for k, v in given.items() if isinstance(v, int)}
