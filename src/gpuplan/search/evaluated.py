"""Searched plans evaluated: memory first, then the step times of the plans that fit; and
evaluated plan batches, kept, since searches for different GPU counts often evaluate the very
same plans.

With a floor on the GPUs a plan uses (``SearchOptions.min_used``), the searches of 3,296,
3,432 and 3,920 GPUs for Llama 3 70B all evaluate the same 69,780 plans (those that use
3,072): a Monte Carlo over a GPU range, or a sweep over GPU counts, asks for the same batch
again. An evaluation depends on the model, the accelerator, the plans, the sequence length,
the global batch, the device, the network, the framework and the memory overhead and headroom
only (not on the scenario's GPU count), so it is kept by those: the context compared by
equality, the plan columns by a BLAKE2 digest of their bytes. At most :data:`KEPT_BATCHES`
are kept (a batch of 70,000 plans holds about 14 MB of results); thread-safe."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Accelerator, Cluster, Framework, Model
from gpuplan.model.batch import BatchResult, PlanBatch, evaluate, evaluate_memory
from gpuplan.model.collectives import Network
from gpuplan.model.kernels import Device
from gpuplan.model.performance import device_of, network_of
from gpuplan.model.rules import Context

T = TypeVar("T")

KEPT_BATCHES = 4
"""Evaluated batches kept, least recently used dropped first."""

CHUNK_PLANS = 1 << 17
"""Plans evaluated together (memory, then step times). A search of DeepSeek-V3 on 24,576 or
1,000,000 TPU v5p evaluates 1.5 to 1.8 million plans; at once, the intermediate arrays of
the stage and collective models held a gigabyte and the command spent nearly half its time
faulting fresh pages in (sys 2.1 s of 4.6 s). In chunks they stay small and are reused, and
a plan's values are its own row's, so the chunks' results joined are the same values."""


def _chunks(size: int) -> list[slice]:
    return [slice(start, min(size, start + CHUNK_PLANS)) for start in range(0, size, CHUNK_PLANS)]


def _joined(parts: list[T]) -> T:
    """Consecutive chunks of plans (:class:`PlanBatch`) or of their evaluations
    (:class:`BatchResult`) as one: per-plan arrays (and dicts of them) concatenated, the
    numbers of the context (tokens per step, capacity) as they are."""
    if len(parts) == 1:
        return parts[0]
    fields: dict[str, object] = {}
    for name, first in parts[0].__dict__.items():
        values = [getattr(part, name) for part in parts]
        if isinstance(first, dict):
            fields[name] = {k: np.concatenate([v[k] for v in values]) for k in first}
        elif isinstance(first, np.ndarray) and first.ndim:
            fields[name] = np.concatenate(values)
        else:
            fields[name] = first
    return type(parts[0])(**fields)


_kept: OrderedDict[bytes, tuple[tuple[object, ...], object]] = OrderedDict()
_lock = threading.Lock()


def _digest(context: tuple[object, ...], batch: PlanBatch) -> bytes | None:
    """The key of ``batch`` in ``context``, or None when the context cannot be hashed."""
    try:
        code = hash(context)
    except TypeError:  # a record with a list or dict field: evaluated, not kept
        return None
    digest = hashlib.blake2b(code.to_bytes(8, "little", signed=True), digest_size=32)
    for column in batch.__dict__.values():
        if column.size:  # in the narrowest integer type that holds it: fewer bytes to hash
            narrow = np.result_type(np.min_scalar_type(column.min()),
                                    np.min_scalar_type(column.max()))  # fmt: skip
            column = column.astype(narrow, copy=False)
        digest.update(column.dtype.str.encode())
        digest.update(column.tobytes())
    return digest.digest()


def kept_evaluation(context: tuple[object, ...], batch: PlanBatch, evaluate: Callable[[], T]) -> T:
    """``evaluate()`` of ``batch`` in ``context`` (every input of the evaluation but the
    plans), or the result kept from an earlier call with equal inputs."""
    key = _digest(context, batch)
    if key is None:
        return evaluate()
    with _lock:
        found = _kept.get(key)
        if found is not None and found[0] == context:
            _kept.move_to_end(key)
            return found[1]  # type: ignore[return-value]  # kept by this function as a T
    result = evaluate()
    with _lock:
        _kept[key] = (context, result)
        while len(_kept) > KEPT_BATCHES:
            _kept.popitem(last=False)
    return result


@dataclass(frozen=True)
class Evaluated:
    """A batch's plans by memory, and the step times of those that fit."""

    memory_bytes: np.ndarray
    """Per plan of the batch, the bytes on its most loaded GPU."""
    fitting: PlanBatch
    """The plans that leave the allocator's headroom free, in batch order."""
    result: BatchResult | None
    """The evaluation of ``fitting`` (None when no plan fits)."""
    score: np.ndarray | None = None
    """The search's rank (``rank_by``) of each fitting plan, where already computed."""


@dataclass(frozen=True)
class Pricing:
    """What prices a searched plan: the model, the accelerator's rates on the framework and
    the cluster, the memory overhead and the allocator's headroom (catalog
    ``framework_memory_overhead_gib`` and ``allocator_headroom_fraction``)."""

    model: Model
    accelerator: Accelerator
    seq_len: int
    global_batch: int
    dev: Device
    network: Network
    framework: Framework
    overhead_bytes: float
    headroom: float

    @classmethod
    def of(
        cls, catalog: Catalog, context: Context, fp8: bool, framework_id: str,
        cluster: Cluster | None = None,
    ) -> Pricing:  # fmt: skip
        accelerator = context.accelerator
        assert accelerator is not None, "the search always has its accelerator"
        overhead = catalog.system("framework_memory_overhead_gib").for_accelerator(accelerator.id)
        return cls(
            context.model, accelerator, context.seq_len, context.global_batch,
            device_of(catalog, accelerator, fp8, framework_id),
            network_of(catalog, accelerator, cluster, framework_id),
            catalog.framework(framework_id),
            overhead * 2**30,
            catalog.system("allocator_headroom_fraction").for_accelerator(accelerator.id),
        )  # fmt: skip

    def memory(self, plans: PlanBatch) -> dict[str, np.ndarray]:
        """:func:`gpuplan.model.batch.evaluate_memory` of ``plans``."""
        return evaluate_memory(self.model, plans, seq_len=self.seq_len,
                               global_batch=self.global_batch, dev=self.dev,
                               network=self.network, framework=self.framework)  # fmt: skip

    def total_bytes(self, memory: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(memory["weights"] + memory["grads"] + memory["optimizer"]
                          + memory["activations"] + self.overhead_bytes)  # fmt: skip

    def fits(self, memory: dict[str, np.ndarray]) -> np.ndarray:
        """Per plan, whether it leaves the allocator's headroom of HBM free."""
        capacity = self.accelerator.hbm_bytes * (1.0 - self.headroom)
        return np.asarray(self.total_bytes(memory) <= capacity)

    def evaluate(self, plans: PlanBatch, memory: dict[str, np.ndarray]) -> BatchResult:
        """:func:`gpuplan.model.batch.evaluate` of ``plans``, their ``memory`` known."""
        return evaluate(self.model, self.accelerator, plans, seq_len=self.seq_len,
                        global_batch=self.global_batch, dev=self.dev, network=self.network,
                        framework=self.framework, overhead_bytes=self.overhead_bytes,
                        memory=memory)  # fmt: skip


def evaluate_plans(pricing: Pricing, batch: PlanBatch) -> Evaluated:
    """Every plan of ``batch`` by memory, then the plans that fit evaluated in full: a
    searched plan leaves the allocator's headroom of HBM free (:class:`Pricing`). Memory
    first: most plans do not fit, and their step times (and the layer costs only they need)
    are never computed."""

    def evaluated_chunk(plans: PlanBatch) -> Evaluated:
        memory = pricing.memory(plans)
        fits = np.flatnonzero(pricing.fits(memory))
        fitting, result = plans.take(fits), None
        if len(fitting):
            result = pricing.evaluate(fitting, {k: v[fits] for k, v in memory.items()})
        return Evaluated(pricing.total_bytes(memory), fitting, result)

    def evaluated() -> Evaluated:
        if len(batch) <= CHUNK_PLANS:  # most searches: one chunk, nothing to join
            return evaluated_chunk(batch)
        parts = [evaluated_chunk(batch.take(rows)) for rows in _chunks(len(batch))]
        fitting = _joined([p.fitting for p in parts])
        results = [p.result for p in parts if p.result is not None]
        joined = _joined(results) if results else None
        return Evaluated(np.concatenate([p.memory_bytes for p in parts]), fitting, joined)

    return kept_evaluation(tuple(pricing.__dict__.values()), batch, evaluated)
