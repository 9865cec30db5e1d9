"""Partial ("block") activation recompute: with a full recompute, only the first ``n``
layers of each pipeline chunk recompute and the rest keep their activations, as
Megatron-core's ``recompute_method: block`` with ``recompute_num_layers`` runs (docs/model.md).

A plan's ``recompute_layers`` is carried through the batch as a column, -1 where every layer
recomputes (no ``recompute_layers``, or a recompute other than full).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gpuplan.catalog.schema import Model
from gpuplan.catalog.shapes import is_moe_layer
from gpuplan.model.rules import stage_layers
from gpuplan.scenario.plan import ParallelPlan, Recompute

ALL_LAYERS = -1
"""The ``recompute_layers`` column of a plan whose every layer recomputes (or none does)."""


def recompute_layers_column(plans: list[ParallelPlan]) -> np.ndarray:
    """Per plan, the layers of each chunk that recompute, or :data:`ALL_LAYERS`."""
    return np.asarray([recompute_layers_of(p) for p in plans], dtype=np.int64)


def recompute_layers_of(plan: ParallelPlan) -> int:
    """The layers of each chunk of ``plan`` that recompute, or :data:`ALL_LAYERS`."""
    layers = plan.recompute_layers
    return ALL_LAYERS if plan.recompute is not Recompute.FULL or layers is None else layers


@functools.lru_cache(maxsize=4096)
def kept_layers(model: Model, pp: int, v: int, n: int) -> tuple[tuple[int, int], ...]:
    """Per physical stage of ``pp`` with ``v`` chunks each, the dense and MoE layers that
    keep their activations when the first ``n`` layers of each chunk recompute (kept,
    bounded: a long-running server meets inline models without end)."""
    counts = stage_layers(model.layers + model.mtp_modules, pp * v)
    kept = [[0, 0] for _ in range(pp)]
    for virtual, count in enumerate(counts):
        first = sum(counts[:virtual])
        for index in range(first + min(n, count), first + count):
            kept[virtual % pp][int(is_moe_layer(model, index))] += 1
    return tuple((dense, moe) for dense, moe in kept)


def largest_chunk(model: Model, pp: Any, interleave: Any) -> Any:
    """Layers of the largest pipeline chunk of ``pp`` stages with ``interleave`` chunks each
    (numbers, or columns per plan): the most a ``recompute_layers`` can count, since
    :func:`gpuplan.model.rules.stage_layers` gives every chunk the ceiling or one less."""
    return -(-(model.layers + model.mtp_modules) // (pp * interleave))


def recompute_layers_error(plan: ParallelPlan, model: Model) -> str | None:
    """Why ``plan``'s ``recompute_layers`` cannot be run (None when it can): it needs a full
    recompute and counts layers of one chunk, 0 to the most a chunk holds."""
    n = plan.recompute_layers
    if n is None:
        return None
    if plan.recompute is not Recompute.FULL:
        return (f"parallelism.recompute_layers = {n} needs recompute = full "
                f"(recompute = {plan.recompute.value})")  # fmt: skip
    chunks = plan.pipeline_parallel * plan.interleave
    most = largest_chunk(model, plan.pipeline_parallel, plan.interleave)
    if not 0 <= n <= most:
        return (f"parallelism.recompute_layers = {n} must be 0..{most}, the layers of one "
                f"pipeline chunk (pp x interleave = {chunks})")  # fmt: skip
    return None


def with_kept(
    value: np.ndarray, kept: tuple[np.ndarray, np.ndarray] | None, kept_dense: np.ndarray,
    kept_moe: np.ndarray, dense: np.ndarray, moe: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """A per-stage sum over layers (``value``, every layer at the plan's recompute), with
    the ``kept`` dense and MoE layers (None: none) at the values of a layer that keeps its
    activations (``kept_dense``, ``kept_moe``) instead of ``dense`` and ``moe``."""
    if kept is None:
        return value
    return value + kept[0] * (kept_dense - dense) + kept[1] * (kept_moe - moe)  # type: ignore[no-any-return]


def recomputed_share(model: Model, pp: np.ndarray, v: np.ndarray, n: np.ndarray) -> Any:
    """Per plan, the share of the layers that recompute (1 where ``n`` is :data:`ALL_LAYERS`):
    what scales the recomputed forward's FLOPs; a float for one plan's Python numbers."""
    if isinstance(n, int):
        return _share(model, int(pp), int(v), n)
    if not (n >= 0).any():
        return np.ones(n.shape)
    return np.asarray([
        _share(model, kp, kv, kn)
        for kp, kv, kn in zip(pp.tolist(), v.tolist(), n.tolist(), strict=True)
    ])  # fmt: skip


def _share(model: Model, pp: int, v: int, n: int) -> float:
    """:func:`recomputed_share` of one plan."""
    if n < 0:
        return 1.0
    return 1 - sum(map(sum, kept_layers(model, pp, v, n))) / (model.layers + model.mtp_modules)
