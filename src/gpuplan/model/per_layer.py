"""Per-layer costs of many plans: the scalar layer model once per distinct combination of
the plan fields a layer depends on, kept between calls.

A layer's time (:func:`gpuplan.model.layer.layer_cost`) and activations
(:func:`gpuplan.model.memory.activation_bytes_per_layer`) depend on TP, CP, micro-batch,
recompute, sequence parallelism and EP, and on the context: the model, the sequence length,
the device (FP8 included), the framework (attention kernel, selective recompute scope, EP
dispatch, FP8 dispatch, MoE parallel folding, token drop, expert host work) and the network
(cluster tiers included). A search has a few hundred such combinations among its tens of
thousands of plans; a range of GPU counts, a sweep or a Monte Carlo asks for the same ones
again, so they are kept per context (the whole model, device, framework and network
records, compared by equality, and the sequence length): the values are those of the scalar
model, computed once. One plan's key (a plan given in full) is kept by the identity of its
records instead (:func:`_one_key`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gpuplan.catalog.schema import Framework, Model
from gpuplan.catalog.shapes import (
    MlpParams,
    attention_params_per_layer,
    mlp_params_per_layer,
    video_block_params,
)
from gpuplan.model.collectives import Network
from gpuplan.model.distinct import distinct_rows
from gpuplan.model.kept import by_identity
from gpuplan.model.kernels import Device
from gpuplan.model.layer import layer_shared, layer_values
from gpuplan.model.memory import activation_bytes_per_layer
from gpuplan.model.routing import FLAT_ROUTING, RoutingOptions
from gpuplan.scenario.plan import ParallelPlan, Recompute

RECOMPUTE_ORDER = (Recompute.NONE, Recompute.SELECTIVE, Recompute.FULL)
LAYER_FIELDS = ("forward_s", "backward_s", "recompute_s", "attention_s", "tp_s", "cp_s", "ep_s",
                "cp_exposed_s")  # fmt: skip
"""The :class:`gpuplan.model.layer.LayerCost` fields, per plan in :func:`per_layer`
(:func:`gpuplan.model.layer.layer_values` gives them in this order)."""

IntArray = np.ndarray
FloatArray = np.ndarray

LayerCosts = tuple[tuple[float, ...], tuple[float, ...]]
"""One dense layer's :data:`LAYER_FIELDS` and one MoE layer's."""
Activations = tuple[float, float, float]
"""The activation bytes of a dense layer, of a MoE layer, and of a layer without recompute."""
Known = tuple[dict[tuple[int, ...], LayerCosts], dict[tuple[int, ...], Activations]]

LAYER_CACHE_CONTEXTS = 64
"""Contexts (model, sequence, device, framework, network) whose per-layer costs are kept."""
_layer_cache: dict[tuple[object, ...], Known] = {}


def _known_layers(key: tuple[object, ...]) -> Known:
    """The per-layer costs and activations already computed in this context: kept between
    searches (a range of GPU counts, a sweep, a Monte Carlo ask for the same layers again),
    at most :data:`LAYER_CACHE_CONTEXTS` contexts, the oldest dropped first."""
    known = _layer_cache.get(key)
    if known is None:
        excess = max(0, len(_layer_cache) - LAYER_CACHE_CONTEXTS + 1)
        for oldest in list(_layer_cache)[:excess]:
            _layer_cache.pop(oldest, None)  # list(): safe beside the web server's threads
        known = _layer_cache.setdefault(key, ({}, {}))
    return known


def _context(
    model: Model, seq_len: int, dev: Device, framework: Framework, network: Network
) -> Known:
    """:func:`_known_layers` of this context (found by the identity of its records first:
    :func:`_same_context`), or empty ones for a context that cannot be hashed (a list or
    dict field): not kept."""
    try:
        return _same_context(model, dev, framework, network, seq_len)
    except TypeError:
        return {}, {}


@by_identity(records=4, maxsize=LAYER_CACHE_CONTEXTS)
def _same_context(
    model: Model, dev: Device, framework: Framework, network: Network, seq_len: int
) -> Known:
    """:func:`_known_layers` of records that are the same objects as a call before (no
    record hashed: :mod:`gpuplan.model.kept`); a TypeError where they cannot be hashed."""
    return _known_layers((model, seq_len, dev, framework, network))


@functools.lru_cache(maxsize=8192)
def _plan(key: tuple[int, ...]) -> ParallelPlan:
    """The plan of one per-layer key (the fields a layer does not depend on left at 1);
    kept, as the activations and then the costs of the same key ask for it."""
    kt, kc, kb, kr, ks, ke = key
    return ParallelPlan(tensor_parallel=kt, context_parallel=kc, microbatch=kb,
                        recompute=RECOMPUTE_ORDER[kr], sequence_parallel=bool(ks),
                        expert_parallel=ke)  # fmt: skip


@by_identity(records=1, maxsize=256)
def layer_params(model: Model) -> tuple[float, MlpParams]:
    """One layer's attention parameters (with, per layer on average, a video model's
    cross-attention or MMDiT text stream and modulation) and MLP parameters, kept per
    model (by identity: every pipeline stage of every plan asks for them)."""
    attention = attention_params_per_layer(model) + video_block_params(model) / model.layers
    return attention, mlp_params_per_layer(model)


def _options(framework: Framework) -> RoutingOptions:
    """What ``framework`` does with routed tokens."""
    return RoutingOptions(
        framework.ep_dispatch == "node-dedup",
        framework.ep_fp8_dispatch,
        framework.moe_parallel_folding,
        framework.moe_capacity_factor,
        framework.expert_gemm_host_s,
    )


def _costs(
    model: Model, plans: tuple[ParallelPlan, ...], seq_len: int, dev: Device,
    framework: Framework, network: Network, options: RoutingOptions,
    common: tuple[int, ...] | None,
) -> list[LayerCosts]:  # fmt: skip
    """Per plan of ``plans`` (which differ only in recompute), one dense and one MoE layer
    (the dense one twice for a dense model); ``common``, their key without the recompute
    (one plan's key): what no recompute changes kept (:func:`_shared`), else computed once
    for ``plans`` (a search keeps the costs of every key it meets)."""
    attention, scope = framework.attention, framework.selective_recompute
    ring, context = framework.cp_ring, (model, dev, framework, network, seq_len, common)

    def layers(moe_layer: bool) -> list[tuple[float, ...]]:
        shared = None if common is None else _shared(*context, moe_layer)  # kept, or not
        if shared is not None and not shared:
            shared.append(layer_shared(model, plans[0], seq_len, moe_layer, dev, attention,
                                       network, options, ring))  # fmt: skip
        return layer_values(model, plans, seq_len, moe_layer, dev, attention, network, options,
                            scope, ring, shared[0] if shared else None)  # fmt: skip

    dense = layers(False)
    if model.moe is None:
        return [(values, values) for values in dense]
    return list(zip(dense, layers(True), strict=True))


@by_identity(records=4, maxsize=8192)
def _shared(
    model: Model,
    dev: Device,
    framework: Framework,
    network: Network,
    seq_len: int,
    common: tuple[int, ...],
    moe_layer: bool,
) -> list[tuple[Any, ...]]:
    """A slot, kept by the identity of the records, for
    :func:`gpuplan.model.layer.layer_shared` of the keys ``common`` with any recompute
    (:func:`_costs` fills it with the first plan it costs, as none of it reads the
    recompute): a key met again with another recompute (a plan of the same scenario) costs
    only what the recompute changes."""
    return []


def _activations(
    model: Model, key: tuple[int, ...], seq_len: int, dev: Device, framework: Framework,
    plain: dict[tuple[int, ...], float],
) -> Activations:  # fmt: skip
    """The activation bytes of a dense layer, of a MoE layer and of a layer without
    recompute (what a full recompute rebuilds, transiently; kept in ``plain`` by the key
    with recompute "none", which the recompute modes share)."""
    attention, scope, plan = framework.attention, framework.selective_recompute, _plan(key)
    dense = activation_bytes_per_layer(model, plan, seq_len, attention, False, dev.fp8, scope)
    moe = (
        activation_bytes_per_layer(model, plan, seq_len, attention, True, dev.fp8, scope)
        if model.moe is not None
        else dense
    )
    none = (*key[:3], 0, *key[4:])
    if (without := plain.get(none)) is None:
        without = plain[none] = activation_bytes_per_layer(model, _plan(none), seq_len,
                                                           attention, False, dev.fp8)  # fmt: skip
    return dense, moe, without


def layer_activations(
    model: Model, keys: IntArray, seq_len: int, dev: Device, framework: Framework,
    network: Network,
) -> FloatArray:  # fmt: skip
    """Per plan (``keys`` as in :func:`per_layer`), as rows of a 3 x plans array, the
    activation bytes of :func:`_activations`: all the memory needs of the layers, without
    their (much dearer) time."""
    unique, where = distinct_rows(keys)
    known = _context(model, seq_len, dev, framework, network)[1]
    plain: dict[tuple[int, ...], float] = {}
    rows: list[Activations] = []
    for key in map(tuple, unique.tolist()):
        values = known.get(key)
        if values is None:
            values = known[key] = _activations(model, key, seq_len, dev, framework, plain)
        rows.append(values)
    return np.asarray(rows, dtype=float).reshape(-1, 3).T[:, where]


def per_layer(
    model: Model, keys: IntArray | tuple[int, ...], seq_len: int, dev: Device,
    framework: Framework, network: Network,
) -> tuple[dict[str, Any], dict[str, Any], Any]:  # fmt: skip
    """Per plan, one dense and one MoE layer's costs (:data:`LAYER_FIELDS`) and, as rows of
    the third array, the activation bytes of :func:`_activations`.

    ``keys`` holds a row per plan: (tp, cp, micro-batch, recompute as an index into
    :data:`RECOMPUTE_ORDER`, sequence parallelism, ep), all a layer's cost depends on, so
    the scalar kernel model runs once per distinct row (and context, between calls:
    :func:`_known_layers`) and is broadcast to the plans. One plan's key as a tuple: the
    costs as Python floats, and the activations as a tuple of three, kept per key
    (:func:`_one_key`).
    """
    if isinstance(keys, tuple):
        return _one_key(model, dev, framework, network, seq_len, keys)
    return _per_layer(model, keys, seq_len, dev, framework, network)


@by_identity(records=4, maxsize=8192)
def _one_key(
    model: Model, dev: Device, framework: Framework, network: Network, seq_len: int,
    key: tuple[int, ...],
) -> tuple[dict[str, Any], dict[str, Any], Any]:  # fmt: skip
    """:func:`per_layer` of one plan's key, kept by the identity of the records (the plans
    of a scenario that differ in pipeline shape or ZeRO stage share it; the values are
    read, never changed, by those who ask): :func:`_per_layer`'s steps for one key, as
    Python floats. Kept here alone, not in the search's tables per context
    (:func:`_context`): ``estimate`` passes the first equal record it saw of each
    (:func:`gpuplan.model.kept.canonical`), so identity finds what equality would, and the
    tables' look-up hashes the records (some 5 us of a new scenario's first plan) to find a
    key only a search of the same scenario has filled."""
    common = (*key[:3], *key[4:])  # what :func:`_shared` keeps whatever the recompute
    values = _costs(model, (_plan(key),), seq_len, dev, framework, network,
                    _routing(model, framework), common)[0]  # fmt: skip
    acts = _activations(model, key, seq_len, dev, framework, {})
    dense = dict(zip(LAYER_FIELDS, map(float, values[0]), strict=True))
    moe = (
        dense if model.moe is None else dict(zip(LAYER_FIELDS, map(float, values[1]), strict=True))
    )
    return dense, moe, tuple(map(float, acts))


def _routing(model: Model, framework: Framework) -> RoutingOptions:
    """:func:`_options`, read only by a MoE layer: a dense model's layers get the flat
    options (no RoutingOptions built per key)."""
    return FLAT_ROUTING if model.moe is None else _options(framework)


def _per_layer(
    model: Model, keys: IntArray, seq_len: int, dev: Device, framework: Framework,
    network: Network,
) -> tuple[dict[str, Any], dict[str, Any], Any]:  # fmt: skip
    """:func:`per_layer` of many plans' keys (one plan's: :func:`_one_key`)."""
    unique, where = distinct_rows(keys)
    keys_in_order = list(map(tuple, unique.tolist()))
    known, known_activations = _context(model, seq_len, dev, framework, network)
    options, plain = _routing(model, framework), dict[tuple[int, ...], float]()
    rows: list[LayerCosts] = []
    activations: list[Activations] = []
    missing: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    for key in keys_in_order:  # the keys that differ only in recompute, costed together
        if key not in known:
            missing.setdefault((*key[:3], *key[4:]), []).append(key)
    for group in missing.values():
        plans = tuple(_plan(key) for key in group)
        costs = _costs(model, plans, seq_len, dev, framework, network, options, None)
        known.update(zip(group, costs, strict=True))
    for key in keys_in_order:
        values, acts = known[key], known_activations.get(key)
        if acts is None:
            acts = known_activations[key] = _activations(model, key, seq_len, dev, framework,
                                                         plain)  # fmt: skip
        rows.append(values)
        activations.append(acts)
    fields = len(LAYER_FIELDS)
    dense = np.asarray([r[0] for r in rows], dtype=float).reshape(-1, fields).T[:, where]
    moe = (
        dense
        if model.moe is None  # a dense model's MoE layer is its dense layer
        else np.asarray([r[1] for r in rows], dtype=float).reshape(-1, fields).T[:, where]
    )
    act = np.asarray(activations, dtype=float).reshape(-1, 3).T
    dense_costs = dict(zip(LAYER_FIELDS, dense, strict=True))
    moe_costs = dense_costs if moe is dense else dict(zip(LAYER_FIELDS, moe, strict=True))
    return dense_costs, moe_costs, act[:, where]
