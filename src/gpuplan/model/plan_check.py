"""One complete plan checked against the rules of :mod:`gpuplan.model.rules` (issue 15: one
plan given in full).

A scenario's plans share the :class:`~gpuplan.model.rules.Context` they are checked in
(kept by the identity of the model and accelerator records, :mod:`gpuplan.model.kept`).
The rules that apply are judged one by one on the plan's fields, each a few integer
operations: verdicts once kept per group of rules and the values of its fields cost more
to key, look up and store than they saved (a plan's whole check, the first of a new
scenario: 13.6 us with them, 7.0 us judged; each of 24 distinct plans of one scenario:
4.8 and 4.6 us), and a plan given in full is checked once anyway:
:func:`gpuplan.model.step.estimate_step` keeps the check's outcome with the plan's
evaluation. A plan that breaks a rule is judged again rule by rule, as
:func:`gpuplan.model.rules.rule_errors` judges any plan, for its messages.
"""

from __future__ import annotations

from gpuplan.catalog.schema import Accelerator, Model
from gpuplan.model.kept import by_identity
from gpuplan.model.rules import Context, Fields, Rule, applying, messages
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
    rules = applying(context, fields)
    if plan.gpus == gpus and not _breaks_any(context, fields, rules):
        return []  # (a layout of all the GPUs: neither of the GPU-count messages below)
    errors = messages(context, fields, rules)  # a plan below the GPUs included
    if plan.gpus > gpus:
        tp, pp, dp, cp = (plan.tensor_parallel, plan.pipeline_parallel, plan.data_parallel,
                          plan.context_parallel)  # fmt: skip
        errors.append(
            f"tp x pp x dp x cp = {tp} x {pp} x {dp} x {cp} = {plan.gpus}, not gpus = {gpus}"
        )
    return errors


def _breaks_any(context: Context, fields: Fields, rules: tuple[Rule, ...]) -> bool:
    """Whether ``fields`` break one of ``rules`` (judged in the table's order, stopping at
    the first broken; a loop, not ``any`` over a generator, which costs a call per rule)."""
    for rule in rules:  # noqa: SIM110
        if rule.broken(context, fields):
            return True
    return False


@by_identity(records=2, maxsize=256)
def _context(
    model: Model, accelerator: Accelerator | None, gpus: int, global_batch: int, seq_len: int,
    allow_tp_beyond_domain: bool, experts_fold_tp: bool, dualpipe: bool, edge_chunks: int,
) -> Context:  # fmt: skip
    """The :class:`Context` of :func:`plan_errors`, kept per model and accelerator (by
    identity: :mod:`gpuplan.model.kept`) and the numbers: the plans of a scenario share it."""
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
