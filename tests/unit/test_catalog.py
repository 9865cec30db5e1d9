"""The catalog: every record sourced and dated, every value within physical sense."""

from __future__ import annotations

import datetime as dt

import pytest
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
        for curve in (profile.attention_curve, profile.attention_triton_curve):
            for a, b in zip(curve or (), (curve or ())[1:], strict=False):
                assert 0 < a.forward <= 1 and 0 < a.backward <= 1
                assert b.forward >= 0.95 * a.forward and b.backward >= 0.95 * a.backward
