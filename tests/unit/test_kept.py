"""Caches keyed by the identity of records (model/kept.py): a record is found again only
as the same object, the values are the function's, and each cache is bounded."""

from __future__ import annotations

import pytest

from gpuplan.model.kept import ByIdentity, by_identity


class Record:
    """A record compared by identity only (as the cache compares them)."""

    def __init__(self, value: int) -> None:
        self.value = value


def _counted(maxsize: int) -> tuple[ByIdentity[int], list[int]]:
    calls: list[int] = []

    def add(record: Record, extra: object) -> int:
        calls.append(record.value)
        return record.value + (extra if isinstance(extra, int) else len(extra))  # type: ignore[arg-type]

    return by_identity(records=1, maxsize=maxsize)(add), calls


def test_the_same_record_and_equal_values_are_found_again() -> None:
    kept, calls = _counted(8)
    a = Record(1)
    assert kept(a, 10) == 11 and kept(a, 10) == 11 and calls == [1]
    assert kept(a, 20) == 21 and calls == [1, 1]  # another value: computed
    b = Record(1)  # equal content, another object: computed, not found
    assert kept(b, 10) == 11 and calls == [1, 1, 1]


def test_at_most_maxsize_calls_are_kept_the_oldest_dropped_first() -> None:
    kept, calls = _counted(3)
    records = [Record(i) for i in range(5)]
    for r in records:
        kept(r, 0)
    assert kept.cache_size() == 3 and calls == [0, 1, 2, 3, 4]
    kept(records[4], 0)  # the newest: kept
    kept(records[0], 0)  # the oldest: dropped, computed again
    assert calls == [0, 1, 2, 3, 4, 0] and kept.cache_size() == 3
    kept.cache_clear()
    assert kept.cache_size() == 0


def test_values_that_cannot_be_hashed_are_computed_every_time() -> None:
    kept, calls = _counted(8)
    a = Record(2)
    assert kept(a, [1, 2]) == 4 and kept(a, [1, 2]) == 4 and calls == [2, 2]
    assert kept.cache_size() == 0


def test_a_call_that_raises_is_not_kept() -> None:
    seen: list[int] = []

    def fails(record: Record) -> int:
        seen.append(record.value)
        raise ValueError("no")

    kept = by_identity(records=1, maxsize=4)(fails)
    a = Record(3)
    for _ in range(2):
        with pytest.raises(ValueError):
            kept(a)
    assert seen == [3, 3] and kept.cache_size() == 0


def test_the_search_benchmark_forgets_every_kept_cache() -> None:
    """benchmarks/search_bench.py times one plan "first" with every cache emptied: its
    ``_forget`` must name each cache of this kind (and canonical's records)."""
    import importlib.util
    from pathlib import Path

    from gpuplan.catalog import load_catalog
    from gpuplan.model import kept
    from gpuplan.model.performance import estimate

    path = Path(__file__).parents[2] / "benchmarks" / "search_bench.py"
    spec = importlib.util.spec_from_file_location("search_bench", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    catalog = load_catalog()
    model, h100 = catalog.model("llama3-405b"), catalog.accelerator("h100-sxm")
    kept.forget()  # (what earlier tests kept)
    estimate(catalog, model, h100, bench.FIXED_PLAN, seq_len=8192, global_batch=2048)
    # a copy of a catalog record (kept.canonical_of) and a record the catalog lacks
    inline = model.model_copy(update={"id": "inline-405b"})
    for record in (model.model_copy(), inline):
        estimate(catalog, record, h100, bench.FIXED_PLAN, seq_len=8192, global_batch=2048)
    ours = [cache for cache in kept._EVERY if cache.__module__.startswith("gpuplan.")]
    assert len(ours) >= 13 and kept._held_or_first.cache_size() == 2
    bench._forget()
    assert [cache.__name__ for cache in ours if cache.cache_size()] == []
    assert not kept._first_seen


def test_a_catalog_record_stands_for_itself_and_its_copies_for_it() -> None:
    """kept.canonical_of: the catalog's own record is returned without a kept call; an equal
    copy of it gives the catalog's record, each copy compared once; a record equal to no
    held one (another id, or the same id changed) gives the first equal record seen."""
    from gpuplan.catalog import load_catalog
    from gpuplan.model import kept

    catalog = load_catalog()
    model = catalog.model("llama3-8b")
    kept.forget()
    assert kept.canonical_of(model, model) is model
    assert kept._held_or_first.cache_size() == 0  # (no kept call, no hash)
    copy = model.model_copy()
    assert copy is not model and kept.canonical_of(model, copy) is model
    assert kept.canonical_of(model, copy) is model and kept._held_or_first.cache_size() == 1
    changed, again = (model.model_copy(update={"layers": 33}) for _ in range(2))
    assert changed != model and changed == again and changed is not again
    assert kept.canonical_of(model, changed) is changed  # the first equal one seen
    assert kept.canonical_of(model, again) is changed
    inline, inline_again = (model.model_copy(update={"id": "inline"}) for _ in range(2))
    assert kept.canonical_of(None, inline) is inline
    assert kept.canonical_of(None, inline_again) is inline
    kept.forget()


@pytest.mark.parametrize("records", [1, 2, 3, 4, 5, 6, 9])
def test_the_first_records_are_keyed_by_identity_the_rest_by_value(records: int) -> None:
    """Each count of records (those spelled out in by_identity and the general case): the
    same objects and equal values are found again; an equal record that is another object,
    in any of the first ``records`` places, or another value, is computed."""
    calls: list[tuple[object, ...]] = []

    def fn(*args: object) -> int:
        calls.append(args)
        return len(calls)

    kept = by_identity(records=records, maxsize=64)(fn)
    first = [Record(i) for i in range(records)]
    assert kept(*first, 7, "x") == 1 and kept(*first, 7, "x") == 1 and len(calls) == 1
    assert kept(*first, 7.0, "x") == 1  # equal values (7 == 7.0): found
    for place in range(records):
        other = [*first]
        other[place] = Record(place)  # equal content, another object
        assert kept(*other, 7, "x") == len(calls) and len(calls) == place + 2
    assert kept(*first, 8, "x") == records + 2  # another value
    assert kept.cache_size() == records + 2
