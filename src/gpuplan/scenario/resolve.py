"""Resolving a scenario: catalog ids looked up, defaults filled from the catalog (each
sourced), every value in SI units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gpuplan import units
from gpuplan.catalog.loader import Catalog, unknown_id_message
from gpuplan.catalog.schema import (
    Accelerator,
    AttentionKernel,
    Cluster,
    ElectricityPrice,
    Framework,
    Grid,
    Household,
    Model,
)
from gpuplan.catalog.shapes import sequence_length
from gpuplan.errors import ScenarioError
from gpuplan.scenario.cluster import resolve_cluster
from gpuplan.scenario.parse import as_catalog, as_scenario
from gpuplan.scenario.schema import (
    MAX_SEQ_LEN,
    Clip,
    InlineModel,
    Precision,
    Prices,
    Scenario,
    Site,
    Training,
)

DEFAULT_FRAMEWORK = "modern"
"""The software stack a scenario runs on unless it names one (catalog frameworks.yaml)."""


@dataclass(frozen=True)
class SiteTerms:
    """What a scenario's ``site`` and ``prices`` resolve to: all a plan's site and price
    dependent numbers (power, energy, emissions, cost) take from the scenario."""

    gpu_price_usd: float
    cloud_usd_per_gpu_hour: float
    cloud_price_basis: str
    grid: Grid
    pue: float
    pue_basis: str
    electricity: ElectricityPrice | None
    power_usd_per_kwh: float
    household: Household


@dataclass(frozen=True)
class ResolvedScenario(SiteTerms):
    """A scenario with its catalog records looked up and every value in SI units (its site
    and price terms are the :class:`SiteTerms` fields)."""

    scenario: Scenario
    model: Model
    accelerator: Accelerator
    framework: Framework
    """The software stack profile (the scenario's, or the current-stack default)."""
    cluster: Cluster
    """The cluster profile (the scenario's, or the accelerator's reference server)."""
    gpus: int
    seq_len: int
    global_batch: int | None
    precision: Precision
    peak_flops_per_s: float
    """Dense peak of one accelerator at the training precision (FP8 or BF16)."""
    mfu_peak_flops_per_s: float
    """The peak MFU and HFU are measured against: the dense BF16 peak, for every precision."""
    tokens: float | None
    duration_s: float | None
    mfu: float | None
    """A what-if MFU (against the dense BF16 peak) given by the user, or None: modelled."""
    precomputed_latents: bool = True
    """Video models: VAE latents and text embeddings precomputed (no encoder cost per clip)."""

    @property
    def mfu_is_what_if(self) -> bool:
        """Throughput from a given MFU instead of the performance model."""
        return self.mfu is not None


def _framework_id(scenario: Scenario) -> str:
    """The scenario's framework id; the default only where none is given (an empty id is
    an unknown id, not the default)."""
    return DEFAULT_FRAMEWORK if scenario.framework is None else scenario.framework


def _lookup_errors(scenario: Scenario, catalog: Catalog) -> list[tuple[str, str]]:
    """Every catalog id of the scenario that the catalog lacks, and an FP8 request on a chip
    without FP8: all of them, so that one answer lists every wrong input."""
    site = scenario.site
    wanted: list[tuple[Mapping[str, Any], str, str, str]] = [
        (catalog.accelerators, scenario.hardware, "accelerator", "hardware"),
        (catalog.frameworks, _framework_id(scenario), "framework", "framework"),
        (catalog.grids, site.grid, "grid", "site.grid"),
        (catalog.households, site.households, "household country", "site.households"),
    ]
    if not isinstance(scenario.model, InlineModel):
        wanted.insert(0, (catalog.models, scenario.model, "model", "model"))
    errors = [
        (field, unknown_id_message(kind, value, list(table)))
        for table, value, kind, field in wanted
        if value not in table
    ]
    chip = catalog.accelerators.get(scenario.hardware)
    framework = catalog.frameworks.get(_framework_id(scenario))
    return errors + _stack_errors(scenario, chip, framework, catalog)


def _stack_errors(
    scenario: Scenario, chip: Accelerator | None, framework: Framework | None, catalog: Catalog
) -> list[tuple[str, str]]:
    """What the chip and the software stack cannot run together: FP8 without an FP8 path or
    recipe, the mxfp8 recipe without a block-scaled rate, a 2022-23 attention kernel
    (Triton, FlashAttention 1, xformers) on a chip without the catalog's rate for it."""
    errors: list[tuple[str, str]] = []
    if scenario.training.precision is Precision.FP8 and chip and chip.peak_fp8_flops_per_s is None:
        errors.append(
            ("training.precision = 'fp8'", f"{chip.id} has no FP8 tensor path; allowed: bf16")
        )
    if scenario.training.precision is Precision.FP8 and framework and not framework.fp8_recipe:
        errors.append(
            (
                "training.precision = 'fp8'",
                f"framework '{framework.id}' has no FP8 recipe; allowed: bf16, or a framework "
                f"with fp8_recipe (gpuplan catalog frameworks)",
            )
        )
    if (
        scenario.training.precision is Precision.FP8
        and chip
        and framework
        and framework.fp8_recipe == "mxfp8"
        and catalog.efficiency_profile(chip.id).gemm_mxfp8_vs_fp8 is None
    ):
        errors.append(
            (
                f"framework = '{framework.id}'",
                f"its fp8_recipe 'mxfp8' needs block-scaled FP8 GEMMs with a catalog rate "
                f"(efficiency.yaml gemm_mxfp8_vs_fp8), which {chip.id} lacks; allowed: a "
                f"framework with per-tensor FP8, or bf16",
            )
        )
    old_kernels = (AttentionKernel.TRITON, AttentionKernel.FLASH1, AttentionKernel.XFORMERS)
    if (
        chip
        and framework
        and framework.attention in old_kernels
        and catalog.efficiency_profile(chip.id).attention_triton is None
    ):
        errors.append(
            (
                f"framework = '{framework.id}'",
                f"its attention kernel '{framework.attention}' has no catalog rate on {chip.id} "
                f"(efficiency.yaml attention_triton); allowed: a framework with flash, flash2 "
                f"or unfused attention, or a chip with that rate",
            )
        )
    return errors


def _tokens(training: Training, model: Model, seq_len: int) -> float | None:
    """Training tokens (from tokens or samples; the model's published count by default);
    None when the run is given in days."""
    tokens = training.tokens
    if training.samples is not None:
        tokens = training.samples * seq_len
    if tokens is None and training.days is None:
        tokens = model.training_tokens_published
        if tokens is None:
            raise ScenarioError(
                "training",
                f"give training.tokens, training.days or training.samples "
                f"({model.id} has no published token count to default to)",
            )
    return tokens


def with_clip(model: Model, clip: Clip | None) -> Model:
    """The model with its reference clip replaced by the scenario's (frames, height, width;
    what is left out stays the model's). Latent tokens then follow from the model's VAE
    compression and patch size (:func:`gpuplan.catalog.shapes.video_tokens_per_sample`)."""
    if clip is None:
        return model
    if model.video is None:
        raise ScenarioError(
            "training.clip",
            f"{model.id} is not a video model (kind {model.kind.value}); clips need video-dit",
        )
    video = model.video
    update = {
        "frames": clip.frame_count or video.frames,
        "height": clip.height or video.height,
        "width": clip.width or video.width,
        "latent_tokens_published": None,
    }
    clipped = model.model_copy(update={"video": video.model_copy(update=update)})
    tokens = sequence_length(clipped)
    if tokens > MAX_SEQ_LEN:
        raise ScenarioError(
            "training.clip",
            f"{update['frames']} frames of {update['height']}x{update['width']} make "
            f"{tokens:,} tokens per clip for {model.id}; at most {MAX_SEQ_LEN:,} allowed",
        )
    return clipped


def _video(model: Model, training: Training) -> tuple[Model, bool]:
    """The model with the scenario's clip, and whether latents are precomputed."""
    if training.clip is not None and training.seq_len is not None:
        raise ScenarioError(
            "training.seq_len", "give training.clip or training.seq_len for a video model, not both"
        )
    model = with_clip(model, training.clip)
    precomputed = training.precomputed_latents
    if precomputed is None:
        precomputed = model.video.latents_precomputed if model.video is not None else True
    return model, precomputed


def _check_vae_attention(model: Model, precomputed: bool, chip: str, catalog: Catalog) -> None:
    """A video VAE encoder whose attention runs PyTorch's memory-efficient (xformers) kernel
    needs that kernel's catalog rate on the chip when the VAE runs in training (an
    AssertionError traceback on b200, mi300x, TPUs, ...)."""
    if precomputed or model.video is None or model.video.vae_attention is None:
        return
    if catalog.efficiency_profile(chip).attention_triton is not None:
        return
    rated = [a for a in catalog.accelerators if catalog.efficiency_profile(a).attention_triton]
    raise ScenarioError(
        f"hardware = '{chip}'",
        f"{model.id}'s VAE encoder runs its attention with PyTorch's memory-efficient kernel "
        f"(xformers), which has no catalog rate on {chip} (efficiency.yaml attention_triton); "
        f"allowed: training.precomputed_latents: true (the VAE is not run), or hardware with "
        f"that rate: {', '.join(rated)}",
    )


def _power_price(site: Site, catalog: Catalog) -> tuple[float, ElectricityPrice | None]:
    electricity = catalog.electricity_prices.get(site.grid)
    if site.power_usd_per_kwh is not None:
        return site.power_usd_per_kwh, electricity
    if electricity is not None:
        return electricity.usd_per_kwh, electricity
    raise ScenarioError(
        "site.power_usd_per_kwh",
        f"required: the catalog has no electricity price for grid '{site.grid}' "
        f"(it has: {', '.join(sorted(catalog.electricity_prices))})",
    )


def resolve_site(
    site: Site, prices: Prices, accelerator: Accelerator, catalog: Catalog
) -> SiteTerms:
    """The site's and prices' values, defaults filled from the catalog. The grid and the
    household country must be catalog ids (:func:`resolve` checks them first)."""
    power_price, electricity = _power_price(site, catalog)
    if site.pue is not None:
        pue, pue_basis = site.pue, "given in the scenario"
    else:
        default = catalog.pue["typical"]
        pue, pue_basis = default.value, f"catalog default '{default.id}' ({default.source})"
    cloud = accelerator.default_cloud
    if prices.cloud_usd_per_gpu_hour is not None:
        cloud_price, cloud_basis = prices.cloud_usd_per_gpu_hour, "given in the scenario"
    else:
        cloud_price = cloud.usd_per_hour
        cloud_basis = f"{cloud.provider} {cloud.term.value}, {cloud.date.isoformat()}"
    return SiteTerms(
        gpu_price_usd=prices.gpu_usd or accelerator.purchase.usd,
        cloud_usd_per_gpu_hour=cloud_price,
        cloud_price_basis=cloud_basis,
        grid=catalog.grid(site.grid),
        pue=pue,
        pue_basis=pue_basis,
        electricity=electricity,
        power_usd_per_kwh=power_price,
        household=catalog.household(site.households),
    )


def resolve(scenario: Scenario | Mapping[str, Any], catalog: Catalog) -> ResolvedScenario:
    """Look up catalog ids and fill defaults from the catalog (each default is sourced)."""
    scenario, catalog = as_scenario(scenario), as_catalog(catalog)  # a mapping is parsed
    errors = _lookup_errors(scenario, catalog)
    if errors:
        field, message = errors[0]
        if len(errors) > 1:
            message += "; and " + "; ".join(f"{f}: {m}" for f, m in errors[1:])
        raise ScenarioError(field, message)
    if isinstance(scenario.model, InlineModel):
        model = scenario.model.to_model()
    else:
        model = catalog.model(scenario.model)
    model, precomputed = _video(model, scenario.training)
    _check_vae_attention(model, precomputed, scenario.hardware, catalog)
    if scenario.training.packed_sample_tokens is not None:
        model = model.model_copy(
            update={"packed_sample_tokens": scenario.training.packed_sample_tokens}
        )
    accelerator = catalog.accelerator(scenario.hardware)
    training, site = scenario.training, scenario.site
    fp8 = training.precision is Precision.FP8
    peak = accelerator.peak_fp8_flops_per_s if fp8 else accelerator.peak_bf16_flops_per_s
    assert peak is not None, "checked by _lookup_errors"
    seq_len = training.seq_len or sequence_length(model)
    packed = training.packed_sample_tokens
    if packed is not None and packed > seq_len:  # was planned as not packed, saying nothing
        raise ScenarioError(
            f"training.packed_sample_tokens = {packed}",
            f"must be <= seq_len = {seq_len} (samples are packed into sequences that long)",
        )
    terms = resolve_site(site, scenario.prices, accelerator, catalog)
    return ResolvedScenario(
        scenario=scenario,
        model=model,
        accelerator=accelerator,
        framework=catalog.framework(_framework_id(scenario)),
        cluster=resolve_cluster(scenario.cluster, accelerator, catalog),
        gpus=scenario.gpus,
        seq_len=seq_len,
        global_batch=training.global_batch,
        precision=training.precision,
        peak_flops_per_s=peak,
        mfu_peak_flops_per_s=accelerator.peak_bf16_flops_per_s,
        tokens=_tokens(training, model, seq_len),
        duration_s=training.days * units.DAY_S if training.days is not None else None,
        mfu=training.mfu,
        **vars(terms),
        precomputed_latents=precomputed,
    )
