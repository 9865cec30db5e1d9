"""The catalog: every record sourced and dated, every value within physical sense."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from gpuplan.catalog import Catalog
from gpuplan.catalog.loader import _parse
from gpuplan.catalog.schema import (
    Accelerator,
    CloudPrice,
    EfficiencyProfile,
    PurchasePrice,
    Record,
)
from gpuplan.errors import CatalogError
from gpuplan.scenario.files import load_yaml

ACCELERATOR_IDS = [
    "v100", "a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h800", "h200", "b200",
    "gb200", "mi300x", "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e",
]  # fmt: skip
MODEL_IDS = [
    "gpt3-175b", "llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b",
    "llama3-405b", "mixtral-8x7b", "deepseek-v3", "movie-gen-30b", "open-sora-2-11b",
    "megatron-1.7b", "megatron-18b", "megatron-145b", "megatron-530b", "megatron-1t",
]  # fmt: skip


def test_design_ids_exist(catalog: Catalog) -> None:
    assert set(ACCELERATOR_IDS) <= set(catalog.accelerators)
    assert set(MODEL_IDS) <= set(catalog.models)
    assert {"world", "us-average", "eu-average", "france", "china"} <= set(catalog.grids)
    assert {"us", "france"} <= set(catalog.households)
    assert {"besiroglu-2024", "hoffmann-2022", "kaplan-2020"} <= set(catalog.scaling_laws)
    assert catalog.scaling_law().id == "besiroglu-2024"


def _sourced(record: BaseModel) -> list[str]:
    """Every source string inside a record, nested prices included."""
    out = []
    if isinstance(record, Record | PurchasePrice | CloudPrice):
        out.append(record.source)
    for value in record.__dict__.values():
        items = value if isinstance(value, tuple) else (value,)
        out += [s for item in items if isinstance(item, BaseModel) for s in _sourced(item)]
    return out


def test_every_record_has_a_source_and_date(catalog: Catalog) -> None:
    records = catalog.records()
    assert len(records) > 50
    for record in records:
        assert all(len(s.strip()) >= 10 for s in _sourced(record)), record
        assert dt.date(2015, 1, 1) <= record.retrieved <= dt.date(2030, 1, 1)


# Provenance must name the publication, never a file on the machine that built the catalog.
_MACHINE_PATH = re.compile(r"/work/|file://|/home/|/tmp/", re.IGNORECASE)
# Checked outside URLs: the project's local reference folders and file names.
_LOCAL_NAME = re.compile(
    r"\.\./|(?<![\w.-])shared/|(?<![\w.-])reference/|README_measurements|READING\.md"
    r"|epoch_training_cost_trends|epoch_notable_models_snapshot|\bDESIGN\.md\b"
    r"|\bseed article\b|\breference csv\b|\b\d{3}_[0-9a-f]{16}\b",
    re.IGNORECASE,
)
# A URL (or a host/path such as github.com/org/repo/...) may end in .csv: that cites the
# published file. A file name standing alone does not.
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+(?:com|org|ai|io|net|ca|gov|edu)/\S*",
    re.IGNORECASE,
)
_BARE_FILE = re.compile(r"[\w'-]+\.(?:csv|tsv|txt)\b", re.IGNORECASE)


def local_path_in(text: str) -> str | None:
    """The part of ``text`` that cites a local file instead of a publication, if any."""
    outside_urls = _URL.sub(" ", text)
    for pattern, where in ((_MACHINE_PATH, text), (_LOCAL_NAME, outside_urls)):
        if found := pattern.search(where):
            return found.group(0)
    if found := _BARE_FILE.search(outside_urls):
        return found.group(0)
    return None


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string inside a parsed YAML value or a record dump, with where it sits."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            label = item.get("id", index) if isinstance(item, dict) else index
            yield from _strings(item, f"{where}[{label}]")


def _data_files() -> list[Traversable]:
    """Every YAML file under the catalog's data folder, subfolders included."""
    found: list[Traversable] = []
    todo = [resources.files("gpuplan.catalog").joinpath("data")]
    while todo:
        for entry in todo.pop().iterdir():
            if entry.is_dir():
                todo.append(entry)
            elif entry.name.endswith(".yaml"):
                found.append(entry)
    return sorted(found, key=str)


@pytest.mark.parametrize(
    "text",
    [
        "seed article (shared/seed/000_ffb25c535a3163e4.txt), quoting Emad Mostaque",
        "as tabulated in /work/shared/reference/accelerators.csv",
        "via ../shared/reference/epoch/",
        "reference/throughput.csv",
        "throughput.csv",
        "Epoch AI 'Hardware prices.csv'",
        "file:///home/me/paper.pdf",
        "seed article",
        "FLOPs: Epoch AI, All ML Systems dataset (export in epoch_training_cost_trends/)",
    ],
)
def test_local_path_detector_flags_file_citations(text: str) -> None:
    assert local_path_in(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Hoffmann et al. 2022 (arXiv 2203.15556) Table 3",
        "github.com/epoch-research/training-cost-trends/blob/263c40a/data/Hardware%20prices.csv",
        "https://epoch.ai/data/notable_ai_models.csv, retrieved 2025-02-24",
        "meta-llama/llama-models models/llama3/MODEL_CARD.md",
        "gpuplan benchmarks/gpu_kernels.py, measured 2026-11-28",
        "https://pytorch.org/docs/stable/reference/shared/index.html",
    ],
)
def test_local_path_detector_accepts_publications(text: str) -> None:
    assert local_path_in(text) is None


def test_sources_cite_publications_not_local_files(catalog: Catalog) -> None:
    # Every source, note and nested price source of every loaded record ...
    bad = [
        f"{type(record).__name__} {getattr(record, 'id', '?')}{where}: {hit!r}"
        for record in catalog.records()
        for where, text in _strings(record.model_dump(mode="json"), "")
        if (hit := local_path_in(text))
    ]
    # ... and every string and comment of every data file, including the files the catalog
    # does not load into records (claims, measurements, measured kernels).
    for entry in _data_files():
        text = entry.read_text("utf-8")
        parsed = yaml.safe_load(text)
        bad += [
            f"{entry.name}{where}: {hit!r}"
            for where, value in _strings(parsed, "")
            if (hit := local_path_in(value))
        ]
        bad += [
            f"{entry.name} line {number}: {hit!r}"
            for number, line in enumerate(text.splitlines(), 1)
            if line.lstrip().startswith("#") and (hit := local_path_in(line))
        ]
    if bad:
        pytest.fail(f"{len(bad)} sources cite a local file:\n" + "\n".join(bad), pytrace=False)


def test_h100_peaks_are_the_dense_figures(catalog: Catalog) -> None:
    # NVIDIA H100 SXM datasheet: 1,979 TFLOP/s BF16 *with sparsity*; dense is half.
    h100 = catalog.accelerator("h100-sxm")
    assert h100.peak_bf16_dense_tflops == pytest.approx(989.4, abs=0.5)
    assert h100.peak_fp8_dense_tflops == pytest.approx(1978.9, abs=1)
    assert catalog.accelerator("a100-80gb").peak_bf16_dense_tflops == pytest.approx(312)


@pytest.mark.parametrize("accelerator_id", ACCELERATOR_IDS)
def test_accelerator_values_are_physical(catalog: Catalog, accelerator_id: str) -> None:
    a = catalog.accelerator(accelerator_id)
    assert 50 <= a.peak_bf16_dense_tflops <= 5_000
    assert a.peak_fp8_dense_tflops is None or a.peak_fp8_dense_tflops >= a.peak_bf16_dense_tflops
    assert 8 <= a.hbm_gib <= 1_000
    assert 0.3 <= a.hbm_tb_per_s <= 20
    assert 50 <= a.tdp_w <= 2_500
    # A chip's scale-up link is never slower than its share of the scale-out network.
    assert a.scaleup_unidir_gb_per_s >= a.scaleout_unidir_gb_per_s
    assert 1 <= a.scaleup_domain <= 100_000
    assert 500 <= a.purchase.usd <= 200_000
    assert all(0.1 <= c.usd_per_hour <= 100 for c in a.cloud)
    assert dt.date(2016, 1, 1) <= a.release_date <= dt.date(2026, 12, 31)
    # Arithmetic intensity at the ridge point is between 50 and 2,000 FLOP/byte.
    assert 50 <= a.peak_bf16_flops_per_s / a.hbm_bytes_per_s <= 2_000


def test_sites_are_physical(catalog: Catalog) -> None:
    for grid in catalog.grids.values():
        assert 0 <= grid.kgco2e_per_kwh <= 1.2
    # France's nuclear grid is far cleaner than China's coal-heavy one.
    assert catalog.grid("france").kgco2e_per_kwh < 0.2 < catalog.grid("china").kgco2e_per_kwh
    for price in catalog.electricity_prices.values():
        assert 0.01 <= price.usd_per_kwh <= 1
    assert catalog.household("us").kwh_per_year > catalog.household("france").kwh_per_year
    for pue in catalog.pue.values():
        assert 1 <= pue.value <= 2


def test_system_factors_are_physical(catalog: Catalog) -> None:
    assert catalog.system("server_cost_ratio").value >= 1
    assert 0 < catalog.system("cluster_interconnect_cost_fraction").value < 0.5
    assert all(v >= 1 for v in catalog.system("server_power_ratio").by_accelerator.values())
    fraction = catalog.system("training_power_fraction")
    assert all(0 < v <= 1 for v in [fraction.value, *fraction.by_accelerator.values()])
    assert 0 < catalog.system("typical_mfu").value < 1


def test_record_without_a_source_is_refused() -> None:
    row = {"id": "x", "name": "x", "kgco2e_per_kwh": 0.3, "year": 2023, "retrieved": "2026-01-01"}
    from gpuplan.catalog.schema import Grid

    with pytest.raises(CatalogError, match=r"grids 'x', field source"):
        _parse("sites.yaml", "grids", Grid, {"grids": [row]})


def test_sparse_peak_typo_is_refused(catalog: Catalog) -> None:
    # An FP8 figure below the BF16 one means one of them is the wrong (sparse/dense) number.
    data = catalog.accelerator("h100-sxm").model_dump()
    data["peak_fp8_dense_tflops"] = 500.0
    with pytest.raises(CatalogError, match="peak_fp8_dense_tflops"):
        _parse("accelerators.yaml", "accelerators", Accelerator, {"accelerators": [data]})


def test_unknown_id_suggests_the_nearest(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="did you mean h100-sxm"):
        catalog.accelerator("h100-sxn")
    with pytest.raises(CatalogError, match="llama3-405b"):
        catalog.model("llama-405b")


def test_attention_curve_must_rise_in_length(catalog: Catalog) -> None:
    # A measured curve out of order (or with one point) would interpolate nonsense.
    data = catalog.efficiency_profile("h100-sxm").model_dump()
    data["attention_curve"] = list(reversed(data["attention_curve"]))
    # A record-level check has no field location: the message names the field itself.
    with pytest.raises(
        CatalogError, match=r"profiles 'h100-sxm': Value error, h100-sxm: attention_curve needs"
    ):
        _parse("efficiency.yaml", "profiles", EfficiencyProfile, {"profiles": [data]})
    data["attention_curve"] = data["attention_curve"][:1]
    with pytest.raises(CatalogError, match="attention_curve"):
        _parse("efficiency.yaml", "profiles", EfficiencyProfile, {"profiles": [data]})


def test_measured_attention_is_below_peak_and_rises_with_length(catalog: Catalog) -> None:
    # Physical sanity of every measured curve: fractions of peak in (0, 1], and longer
    # sequences amortise the per-block overheads: the rate never falls by more than the
    # run-to-run noise (5%) as the sequence grows.
    for profile in catalog.efficiency.values():
        for curve in (
            profile.attention_curve,
            profile.attention_triton_curve,
            profile.attention_flash1_curve,
            profile.attention_xformers_curve,
        ):
            for a, b in zip(curve or (), (curve or ())[1:], strict=False):
                assert 0 < a.forward <= 1 and 0 < a.backward <= 1
                assert b.forward >= 0.95 * a.forward and b.backward >= 0.95 * a.backward


@pytest.mark.parametrize("path", _data_files(), ids=lambda p: p.name)
def test_no_catalog_file_gives_a_key_twice(path: Traversable) -> None:
    # YAML keeps the last of two equal keys silently: a value pasted twice (a source, a
    # measured rate) would hide the first. The user-file loader refuses it; so must our data.
    load_yaml(path.read_text(encoding="utf-8"))
