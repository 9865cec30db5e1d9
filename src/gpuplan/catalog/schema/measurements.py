"""Published throughput measurements and the accuracy targets of `gpuplan validate`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gpuplan.catalog.schema.base import Fraction, Positive, PositiveInt, Record, Strict
from gpuplan.catalog.schema.models import Ffn, Position


class InlineShape(Strict):
    """A model shape given inline in a measurement, when no catalog model matches it."""

    layers: PositiveInt
    hidden: PositiveInt
    heads: PositiveInt
    kv_heads: PositiveInt
    ffn_hidden: PositiveInt
    ffn: Ffn
    vocab: PositiveInt | None
    position: Position | None = None
    """The position encoding the source's model code applies (learned: one table added at the
    embedding; rope: a pass over Q and K in every layer); None: not read, the inline model's
    default (rope)."""
    tied_embeddings: bool | None = None
    """The output layer reuses the input embedding table (one vocab x hidden table of
    parameters); None: not read, the inline model's default (untied)."""
    dropout: bool | None = None
    """The source's code trains with hidden and attention dropout (both > 0: the dropout masks
    of ``Model.dropout``); None: not read, the inline model's default (no dropout)."""

    def stated(self) -> dict[str, object]:
        """The optional fields the row states, as inline-model keys."""
        out: dict[str, object] = {}
        if self.position is not None:
            out["position"] = self.position.value
        if self.tied_embeddings is not None:
            out["tied_embeddings"] = self.tied_embeddings
        if self.dropout is not None:
            out["dropout"] = self.dropout
        return out


class MeasuredPlan(Strict):
    tp: PositiveInt | None
    pp: PositiveInt | None
    dp: PositiveInt | None
    cp: PositiveInt | None = 1
    ep: PositiveInt | None = 1
    microbatch: PositiveInt | None
    interleave: PositiveInt | None
    recompute: str | None
    recompute_layers: PositiveInt | None = None
    """Layers per pipeline chunk a full recompute covers (Megatron-core recompute_method
    block, recompute_num_layers); None: every layer."""
    sequence_parallel: bool | None
    zero: Annotated[int, Field(ge=0, le=3)] | None


class Measured(Strict):
    iteration_time_s: Positive | None = None
    tokens_per_s_per_gpu: Positive | None = None
    tflops_per_gpu: Positive | None = None
    mfu_pct: Annotated[float, Field(gt=0, le=100)] | None = None
    hfu_pct: Annotated[float, Field(gt=0, le=100)] | None = None


class Measurement(Record):
    """A published measurement of training throughput on a known configuration."""

    id: str
    provenance: str
    confidence: str
    framework: str
    model: str | InlineShape | None
    hardware: str | None
    gpus: PositiveInt | None
    global_batch: PositiveInt | None
    seq_len: PositiveInt | None
    packed_sample_tokens: PositiveInt | None = None
    """Mean tokens per sample when the run packed samples into each sequence with attention
    confined to each sample (see ``Model.packed_sample_tokens``); None: not packed."""
    plan: MeasuredPlan | None
    precision: str | None
    measured: Measured
    tflops_definition: str | None
    peak_tflops_basis: Positive | None
    usable_for_validation: bool


class MedianTarget(Record):
    """A bar on the median |error| of one of ``gpuplan validate``'s tables: the video rows
    (video_validation.yaml ``target``) and the whole-run totals (run_totals.yaml
    ``target``)."""

    id: str
    median_abs_max: Fraction


class ValidationTarget(Record):
    """An accuracy target for `gpuplan validate`, and where the bar comes from."""

    id: str
    description: str
    source_groups: tuple[str, ...] = ()
    """Rows from these sources; empty means every source except ``exclude_groups``."""
    exclude_groups: tuple[str, ...] = ()
    row_ids: tuple[str, ...] = ()
    """Exactly these rows, when given."""
    mean_abs_max: Fraction | None = None
    median_abs_max: Fraction | None = None
    p90_abs_max: Fraction | None = None
    max_abs_max: Fraction | None = None
    source_median_abs_max: Fraction | None = None
    """Bar on the median |error| of each source group among the rows, when given."""
