"""A parallel plan: how a model is split over GPUs (the rules that make one valid are in
:mod:`gpuplan.model.rules`).

Degrees: tensor (TP), pipeline (PP), data (DP), context (CP) and expert (EP) parallelism.
GPUs = TP x PP x DP x CP; experts are spread over EP ranks taken from the DP x CP group
(as Megatron-core does). Ranks are laid out TP innermost, then CP, DP and PP outermost
(Megatron's default order), so a TP group sits in one scale-up domain when it fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Recompute(StrEnum):
    """Activation recomputation (Korthikanti et al. 2022)."""

    NONE = "none"
    SELECTIVE = "selective"
    """Recompute only the attention scores and softmax (Korthikanti et al. 2022 sec. 4.2)."""
    FULL = "full"
    """Recompute the whole forward pass of every layer."""


@dataclass(frozen=True)
class ParallelPlan:
    """A fully specified way to run one training step."""

    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    data_parallel: int = 1
    context_parallel: int = 1
    expert_parallel: int = 1
    microbatch: int = 1
    """Sequences per micro-batch on one pipeline."""
    interleave: int = 1
    """Virtual pipeline stages per GPU (interleaved 1F1B when > 1)."""
    recompute: Recompute = Recompute.NONE
    recompute_layers: int | None = None
    """With ``recompute`` full, how many layers of each pipeline chunk (virtual stage)
    recompute, the first ones, the rest keeping their activations (Megatron-core's
    ``recompute_method: block`` with ``recompute_num_layers``); None: every layer."""
    sequence_parallel: bool = False
    zero: int = 0
    """ZeRO stage: 1 shards optimizer states, 2 also gradients, 3 also weights (FSDP)."""

    @property
    def gpus(self) -> int:
        return (
            self.tensor_parallel
            * self.pipeline_parallel
            * self.data_parallel
            * self.context_parallel
        )

    @property
    def recompute_text(self) -> str:
        """The recompute as shown: its mode, and the layers per chunk when only some."""
        if self.recompute_layers is None:
            return self.recompute.value
        n = self.recompute_layers
        return f"{self.recompute.value} (first {n} layer{'' if n == 1 else 's'} of each chunk)"

    @property
    def shard_group(self) -> int:
        """Ranks that hold the same weights: ZeRO and gradient reduction span DP x CP."""
        return self.data_parallel * self.context_parallel

    def as_dict(self) -> dict[str, object]:
        """The plan by its scenario field names (``recompute_layers`` only when given)."""
        plan = {
            "tp": self.tensor_parallel,
            "pp": self.pipeline_parallel,
            "dp": self.data_parallel,
            "cp": self.context_parallel,
            "ep": self.expert_parallel,
            "microbatch": self.microbatch,
            "interleave": self.interleave,
            "recompute": self.recompute.value,
            "recompute_layers": self.recompute_layers,
            "sequence_parallel": self.sequence_parallel,
            "zero": self.zero,
        }
        return {k: v for k, v in plan.items() if v is not None}
