"""A plan given in full is kept with its check (model/step.py ``_one_plan``): each
estimate of it is a new StepEstimate, equal to a fresh one (issue 15)."""

from __future__ import annotations

import dataclasses

from gpuplan.catalog import load_catalog
from gpuplan.model.step import StepEstimate
from gpuplan.scenario.plan import ParallelPlan, Recompute

CATALOG = load_catalog()
H100 = CATALOG.accelerator("h100-sxm")


def test_a_kept_plan_gives_a_new_estimate_each_time() -> None:
    """step._one_plan keeps a plan's check and the numbers of its StepEstimate
    (model/step.py): each estimate of the plan is a new StepEstimate, with dicts of its
    own, equal to the first and to a fresh evaluation, so a caller that changes one changes
    no later answer; a plan that breaks a rule or does not fit gets the same Infeasible."""
    from gpuplan.model import kept
    from gpuplan.model.performance import estimate
    from gpuplan.model.step import Infeasible, InfeasibleKind

    model = CATALOG.model("llama3-405b")

    def run(plan: ParallelPlan) -> object:
        return estimate(CATALOG, model, H100, plan, seq_len=8192, global_batch=2048)

    kept.forget()
    plan = ParallelPlan(tensor_parallel=8, pipeline_parallel=16, data_parallel=128,
                        interleave=2, recompute=Recompute.FULL, sequence_parallel=True,
                        zero=1)  # fmt: skip
    first = run(plan)
    assert isinstance(first, StepEstimate)
    expected = dataclasses.replace(first, exposed_comm_s=dict(first.exposed_comm_s),
                                   comm_on_link_s=dict(first.comm_on_link_s))  # fmt: skip
    first.exposed_comm_s["dp"] = first.comm_on_link_s["dp"] = -1.0  # a caller's change
    again = run(plan)
    assert isinstance(again, StepEstimate) and again is not first
    assert again == expected and again.exposed_comm_s["dp"] >= 0.0
    names = [f.name for f in dataclasses.fields(again)]  # built as its __init__ builds it
    assert list(again.__dict__) == names
    assert again == StepEstimate(**{name: getattr(again, name) for name in names})
    kept.forget()
    assert run(plan) == expected  # a fresh evaluation
    broken = ParallelPlan(tensor_parallel=3, data_parallel=16_384 // 3 + 1)
    too_big = ParallelPlan(tensor_parallel=8, data_parallel=8)  # 405B on 64 GPUs
    for plan, kind in ((broken, InfeasibleKind.LAYOUT), (too_big, InfeasibleKind.MEMORY)):
        infeasible = run(plan)
        assert isinstance(infeasible, Infeasible) and infeasible.kind is kind
        assert run(plan) == infeasible
