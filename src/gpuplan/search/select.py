"""Picking plans out of evaluated arrays: the ``count`` smallest values without a full sort,
and the Pareto front on step time, memory and GPUs used (:mod:`gpuplan.search.plans`)."""

from __future__ import annotations

import numpy as np


def smallest(values: np.ndarray, count: int, then: np.ndarray | None = None) -> np.ndarray:
    """``np.argsort(values, kind="stable")[:count]`` (ties in index order), or with ``then``
    ``np.lexsort((then, values))[:count]``, without sorting every value: those up to the
    ``count``-th smallest, sorted."""
    candidates = np.arange(values.size)
    if 0 < count < values.size:
        threshold = np.partition(values, count - 1)[count - 1]
        if not np.isnan(threshold):
            candidates = np.flatnonzero(values <= threshold)
    keys = values[candidates]
    if then is None:
        return candidates[np.argsort(keys, kind="stable")][: max(count, 0)]
    return candidates[np.lexsort((then[candidates], keys))][: max(count, 0)]


def pareto_front(time_s: np.ndarray, memory_bytes: np.ndarray, gpus_used: np.ndarray) -> list[int]:
    """Indices of the plans no other plan beats on all of: lower step time, lower memory
    (more headroom), more GPUs put to work. At most 50, fastest first.
    """
    if time_s.size == 0:
        return []
    front: list[int] = []
    one_count = bool((gpus_used == gpus_used[0]).all())
    for used in gpus_used[:1] if one_count else np.unique(gpus_used):
        # The staircase, fastest first: the fastest plan (least memory among equal times,
        # the first among equal plans), then the fastest of those with less memory, ...
        members = np.flatnonzero(gpus_used == used)
        while members.size:
            times = time_s[members]
            fastest = members[times == times.min()]
            best = int(fastest[np.argmin(memory_bytes[fastest])])
            front.append(best)
            members = members[memory_bytes[members] < memory_bytes[best]]
    # Across GPU counts: drop a plan that another beats on all three.
    chosen = np.asarray(front)
    t, m, g = time_s[chosen], memory_bytes[chosen], gpus_used[chosen]
    dominated = (
        (t[None, :] <= t[:, None])
        & (m[None, :] <= m[:, None])
        & (g[None, :] >= g[:, None])
        & ((t[None, :] < t[:, None]) | (m[None, :] < m[:, None]) | (g[None, :] > g[:, None]))
    ).any(axis=1)
    survivors = chosen[~dominated]
    return [int(i) for i in survivors[np.argsort(time_s[survivors], kind="stable")][:50]]
