"""A cache of plan searches, shared by the scenarios of a sweep or a Monte Carlo.

The search depends only on its arguments: the model, the accelerator, the GPU count, the
global batch, the sequence length, the precision, the fixed parallelism fields and the
framework profile. Sites, prices, PUE, grids and the training length do not enter it, so a
sweep over them needs one search per distinct key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Accelerator, Cluster, Model
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK
from gpuplan.search.plans import SearchOptions, SearchResult
from gpuplan.search.plans import search as _search_uncached

SearchKey = tuple[Model, str, int, int, int, bool, SearchOptions | None, str, Cluster | None]
"""(model, accelerator id, GPUs, global batch, sequence length, fp8, fixed fields, framework,
cluster profile)."""

DEFAULT_MAX_ENTRIES = 4096


class SearchCache:
    """Plan searches by key; least recently used dropped beyond ``max_entries``.

    Thread-safe: concurrent misses on one key may both search (the results are equal).
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[SearchKey, SearchResult] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: SearchKey) -> SearchResult | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return found

    def put(self, key: SearchKey, result: SearchResult) -> None:
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def update(self, entries: Mapping[SearchKey, SearchResult]) -> None:
        """Add searches made elsewhere (another worker, a priming pass)."""
        for key, result in entries.items():
            self.put(key, result)

    def search(
        self,
        catalog: Catalog,
        model: Model,
        accelerator: Accelerator,
        gpus: int,
        *,
        global_batch: int,
        seq_len: int,
        fp8: bool = False,
        options: SearchOptions | None = None,
        framework_id: str = DEFAULT_FRAMEWORK,
        cluster: Cluster | None = None,
    ) -> tuple[SearchKey, SearchResult]:
        """:func:`gpuplan.search.search`, once per key; returns the key with the result."""
        key: SearchKey = (model, accelerator.id, gpus, global_batch, seq_len, fp8, options,
                          framework_id, cluster)  # fmt: skip
        found = self.get(key)
        if found is None:
            with self._lock:
                self.misses += 1
            found = _search_uncached(catalog, model, accelerator, gpus, global_batch=global_batch,
                                     seq_len=seq_len, fp8=fp8, options=options,
                                     framework_id=framework_id, cluster=cluster)  # fmt: skip
            self.put(key, found)
        return key, found
