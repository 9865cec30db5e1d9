"""Evaluated plan batches, kept: searches for different GPU counts often evaluate the very
same plans.

With a floor on the GPUs a plan uses (``SearchOptions.min_used``), the searches of 3,296,
3,432 and 3,920 GPUs for Llama 3 70B all evaluate the same 69,780 plans (those that use
3,072): a Monte Carlo over a GPU range, or a sweep over GPU counts, asks for the same batch
again. An evaluation depends on the model, the accelerator, the plans, the sequence length,
the global batch, the device, the network, the framework and the memory overhead only (not on
the scenario's GPU count), so it is kept by those: the context compared by equality, the plan
columns by a BLAKE2 digest of their bytes. At most :data:`KEPT_BATCHES` are kept (a batch of
70,000 plans holds about 14 MB of results); thread-safe.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from gpuplan.model.batch import BatchResult, PlanBatch

KEPT_BATCHES = 4
"""Evaluated batches kept, least recently used dropped first."""

_kept: OrderedDict[bytes, tuple[tuple[object, ...], BatchResult]] = OrderedDict()
_lock = threading.Lock()


def _digest(context: tuple[object, ...], batch: PlanBatch) -> bytes | None:
    """The key of ``batch`` in ``context``, or None when the context cannot be hashed."""
    try:
        code = hash(context)
    except TypeError:  # a record with a list or dict field: evaluated, not kept
        return None
    digest = hashlib.blake2b(code.to_bytes(8, "little", signed=True), digest_size=32)
    for column in batch.__dict__.values():
        digest.update(column.dtype.str.encode())
        digest.update(column.tobytes())
    return digest.digest()


def kept_evaluation(
    context: tuple[object, ...], batch: PlanBatch, evaluate: Callable[[], BatchResult]
) -> BatchResult:
    """``evaluate()`` of ``batch`` in ``context`` (every input of the evaluation but the
    plans), or the result kept from an earlier call with equal inputs."""
    key = _digest(context, batch)
    if key is None:
        return evaluate()
    with _lock:
        found = _kept.get(key)
        if found is not None and found[0] == context:
            _kept.move_to_end(key)
            return found[1]
    result = evaluate()
    with _lock:
        _kept[key] = (context, result)
        while len(_kept) > KEPT_BATCHES:
            _kept.popitem(last=False)
    return result
