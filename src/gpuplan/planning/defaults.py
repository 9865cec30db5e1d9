"""What a scenario leaves out, filled by documented rules: the global batch, the fixed
fields of the plan search, and the defaults of a complete plan given field by field."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.shapes import parameter_count
from gpuplan.scenario.plan import ParallelPlan, Recompute
from gpuplan.scenario.resolve import ResolvedScenario
from gpuplan.scenario.schema import Parallelism
from gpuplan.search.plans import SearchOptions

CHINCHILLA_TOKENS_PER_PARAM = 20.0
"""Compute-optimal tokens per parameter (Hoffmann et al. 2022, 'Training Compute-Optimal
Large Language Models', arXiv 2203.15556, sec. 3 and Table 3), used for the batch rule's
compute when a run is given in days."""


@dataclass(frozen=True)
class BatchChoice:
    sequences: int
    note: str
    source: str
    retrieved: str


def default_global_batch(
    r: ResolvedScenario, catalog: Catalog, flops_per_token: float
) -> BatchChoice:
    """The model's published batch (in tokens, at the scenario's sequence length), else the
    compute rule of Bi et al. 2024 (B = 0.292 C^0.327 tokens), rounded to a power of two."""
    published = r.model.published_batch
    if published is not None:
        tokens = published.sequences * published.seq_len
        sequences = max(1, round(tokens / r.seq_len))
        return BatchChoice(
            sequences,
            f"training.global_batch not given: {r.model.id}'s published batch, "
            f"{published.sequences:,} sequences of {published.seq_len:,} tokens"
            + (f" ({sequences:,} of {r.seq_len:,})" if published.seq_len != r.seq_len else "")
            + ".",
            published.source,
            str(r.model.retrieved),
        )
    tokens_trained = r.tokens
    basis = "the run's tokens"
    if tokens_trained is None:
        tokens_trained = CHINCHILLA_TOKENS_PER_PARAM * parameter_count(r.model).active
        basis = "20 tokens per parameter (Hoffmann et al. 2022), the run being given in days"
    choice = compute_rule_batch(catalog, flops_per_token * tokens_trained, r.seq_len, basis)
    return replace(choice, note=f"training.global_batch not given: {choice.note}")


def compute_rule_batch(
    catalog: Catalog, compute_flops: float, seq_len: int, basis: str
) -> BatchChoice:
    """The compute rule of Bi et al. 2024, B = 0.292 C^0.327 tokens, as the power of two
    sequences of ``seq_len`` tokens nearest it (in log); ``basis`` says where C comes from."""
    coefficient = catalog.system("batch_rule_coefficient_tokens")
    exponent = catalog.system("batch_rule_exponent")
    batch_tokens = coefficient.value * compute_flops**exponent.value
    sequences = 2 ** max(0, round(math.log2(batch_tokens / seq_len)))
    return BatchChoice(
        sequences,
        f"{sequences:,} sequences of {seq_len:,} tokens, "
        f"the power of two nearest B = {coefficient.value} C^{exponent.value} = "
        f"{batch_tokens:.3g} tokens for C = {compute_flops:.3g} FLOP ({basis}; Bi et al. 2024).",
        coefficient.source,
        str(coefficient.retrieved),
    )


def search_options(given: Parallelism | None) -> SearchOptions:
    """The scenario's partial parallelism block as fixed fields of the search."""
    if given is None:
        return SearchOptions()
    return SearchOptions(
        tp=given.tp,
        pp=given.pp,
        dp=given.dp,
        cp=given.cp,
        ep=given.ep,
        microbatch=given.microbatch,
        interleave=given.interleave,
        recompute=given.recompute.value if given.recompute else None,
        recompute_layers=given.recompute_layers,
        sequence_parallel=given.sequence_parallel,
        zero=given.zero,
    )


def is_complete(given: Parallelism | None) -> bool:
    """Every field of the parallelism block given: the plan is evaluated, not searched."""
    return given is not None and all(
        getattr(given, name) is not None
        for name in type(given).model_fields
        if name != "recompute_layers"  # optional: all layers recompute when left out
    )


def given_plan(given: Parallelism) -> ParallelPlan:
    """A complete parallelism block as a plan."""
    assert is_complete(given)
    return ParallelPlan(
        tensor_parallel=given.tp or 1,
        pipeline_parallel=given.pp or 1,
        data_parallel=given.dp or 1,
        context_parallel=given.cp or 1,
        expert_parallel=given.ep or 1,
        microbatch=given.microbatch or 1,
        interleave=given.interleave or 1,
        recompute=given.recompute or Recompute.NONE,
        recompute_layers=given.recompute_layers,
        sequence_parallel=bool(given.sequence_parallel),
        zero=given.zero or 0,
    )
