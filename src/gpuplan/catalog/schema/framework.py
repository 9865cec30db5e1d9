"""Training frameworks: what a stack overlaps, fuses and keeps in which precision, and the
attention kernels it may run."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from gpuplan.catalog.schema.base import Positive, PositiveInt, Record, Strict


class AttentionKernel(StrEnum):
    FLASH = "flash"
    """The chip's best fused attention (cuDNN, FlashAttention-3 on Hopper; FlashAttention-2
    on Ampere): no s x s matrix in memory."""
    FLASH2 = "flash2"
    """FlashAttention-2 (flash-attn 2.x, CUDA): on Hopper well below cuDNN/FA3."""
    TRITON = "triton"
    """The 2022-23 Triton flash-attention kernel (ALiBi-capable; MPT): fused, but slower."""
    FLASH1 = "flash1"
    """FlashAttention 1 (flash-attn 1.x, CUDA, 2022-23): the Triton kernel's class."""
    XFORMERS = "xformers"
    """xformers' memory-efficient attention (CUTLASS, 2023; LLaMA): the same class."""
    UNFUSED = "unfused"
    """Batched GEMMs around a fused scale-mask-softmax kernel (Megatron-LM before 2023)."""


class AttentionKernelLimit(Record):
    """The widest attention head a kernel class runs (frameworks.yaml ``attention_kernels``)."""

    id: AttentionKernel
    name: str
    max_head_dim: PositiveInt | None
    """Widest query/key or value head the kernel runs, forward and backward; None: its
    source states no limit."""
    cited: str = Field(min_length=3)
    """The source in a few words, quoted by the reason of a scenario it cannot run."""


class NcclRelease(Record):
    """NCCL's own latency model of a ring collective (``src/graph/tuning.cc`` at one release
    tag, algorithm Ring, protocol Simple; frameworks.yaml ``nccl_releases``, docs/model.md
    RULE NCCL-LAT): ``base_us`` once per collective, ``nvlink_step_us`` per step inside a
    server, ``net_step_us`` per step between servers."""

    id: str
    """The release tag in github.com/NVIDIA/nccl."""
    tagged: dt.date
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    base_us: Annotated[float, Field(ge=0, le=1000)]
    nvlink_step_us: Annotated[float, Field(ge=0, le=1000)]
    net_step_us: Annotated[float, Field(ge=0, le=1000)]
    allreduce_inter_steps: Literal["2(N-1)", "2N"]
    """An all-reduce's steps between servers over ``N > 1`` servers (``nInterSteps``)."""


class CpRing(Record):
    """What one ring-attention implementation moves beyond the attention kernels and the
    plain ring of K/V blocks (frameworks.yaml ``cp_rings``), counted op by op from its code.
    Bytes are per element of the local query (``q``: the output, dq) or of K or of V
    (``kv``), BF16 activations; ``step`` counts apply to each ring step after the first."""

    id: str
    step_forward_q: Annotated[float, Field(ge=0, le=100)]
    """Forward HBM bytes per output element per later ring step (the output correction)."""
    step_backward_q: Annotated[float, Field(ge=0, le=100)]
    """Backward HBM bytes per dq element per later ring step (dq accumulation)."""
    step_backward_kv: Annotated[float, Field(ge=0, le=100)]
    """Backward HBM bytes per dK (and per dV) element per later ring step."""
    once_forward_q: Annotated[float, Field(ge=0, le=100)]
    once_forward_kv: Annotated[float, Field(ge=0, le=100)]
    once_backward_q: Annotated[float, Field(ge=0, le=100)]
    once_backward_kv: Annotated[float, Field(ge=0, le=100)]
    """HBM bytes per element once per layer and pass (copies, casts, first-step writes)."""
    grad_send_bytes: Literal[2, 4]
    """Bytes per dK/dV element sent around the backward ring (2: BF16, 4: FP32)."""
    causal_step_fraction: Annotated[float, Field(gt=0, le=1)]
    """Share of the full tensors a later step touches under a causal mask, averaged over
    ranks (load-balanced halves); 1: every step full."""
    hidden_per_pass: bool
    """The forward ring hides only behind the forward's attention, the backward's behind
    the backward's (each pass waits for its own sends)."""
    grad_send_every_step: bool = False
    """The backward sends dK/dV after every one of its ``cp`` steps, the last returning
    each block's gradient to its owner with nothing left to hide it (Open-Sora 2.0's
    ``RingAttention``; docs/model.md RULE RING-LAST-DKV); False: after the ``cp - 1``
    later steps."""
    ring_only: bool = False
    """The stack runs context parallelism only as this ring (its configs name the ring
    mode): no switch to Ulysses' all-to-alls where they would expose less (docs/model.md
    RULE RING-ONLY)."""


class StackBenchmark(Strict):
    """One published throughput of a training stack, run as published, that its
    ``stack_efficiency`` is fitted on (gpuplan.checks.stack_fit)."""

    model: str
    accelerator: str
    gpus: PositiveInt
    cluster: str | None = None
    global_batch: PositiveInt
    seq_len: PositiveInt
    tp: PositiveInt
    pp: PositiveInt
    microbatch: PositiveInt
    recompute: Literal["none", "selective", "full"]
    zero: Annotated[int, Field(ge=0, le=3)]
    hardware_tflops_per_gpu: Positive
    """Published TFLOP/s per GPU, recomputation counted (Narayanan et al. 2021 eq. 3)."""
    source: str = Field(min_length=3)


class Framework(Record):
    """What a training framework overlaps and fuses: software facts, with their source."""

    id: str
    name: str
    attention: AttentionKernel
    overlap_grad_reduce: bool
    """Data-parallel gradient reduction overlapped with the backward pass."""
    overlap_param_gather: bool
    """ZeRO/FSDP parameter all-gathers prefetched under compute."""
    overlap_p2p_comm: bool
    """Pipeline sends and receives of the interleaved schedule run under the other chunks'
    compute (Megatron's overlap_p2p_comm); without interleaving they stay exposed."""
    tp_comm_overlap: Annotated[float, Field(ge=0, le=1)]
    """Fraction of tensor-parallel communication hidden under GEMMs."""
    grad_bytes: Annotated[int, Field(ge=2, le=4)]
    """Bytes per gradient element kept and reduced (4: fp32 main grads)."""
    weight_bytes: Annotated[int, Field(ge=1, le=4)] = 2
    """Bytes per model weight held for the forward and backward (BF16: 2; FP8 parameters
    without a BF16 copy, Transformer Engine's fp8_params: 1)."""
    optimizer_state_bytes: Annotated[int, Field(ge=2, le=16)] = 12
    """Bytes per parameter of optimizer state: FP32 master weights and Adam's two moments
    (12), or the three in BF16 (6, Apex DistributedFusedAdam with dtype bf16)."""
    optimizer_bytes_per_param: Annotated[float, Field(gt=0, le=400)] = 38
    """HBM bytes the optimizer step moves per local parameter, counted op by op from the
    stack's code (frameworks.yaml header). 38: a fused Adam (read master, m, v and the FP32
    gradient, 16; write master, m, v and the BF16 copy, 14; the gradient-norm clip reads
    the gradient, 4; zeroing it for the next step writes it, 4)."""
    p2p_gather_on_receive: bool = False
    """Pipeline sends scattered over the TP ranks are all-gathered over the TP group on
    receipt, before the next compute (Megatron-LM's scatter_gather_tensors_in_pipeline,
    2021-2022, off under sequence parallelism; Narayanan et al. 2021 sec. 4.1)."""
    grad_accumulation_bytes_per_param: Annotated[float, Field(ge=0, le=100)] = 0
    """HBM bytes per local parameter that adding one more micro-batch's weight gradient into
    the kept gradient moves, where the stack does it in a separate kernel (PyTorch's
    AccumulateGrad after an unfused weight-gradient GEMM); paid per micro-batch after the
    first. 0: accumulated inside the weight-gradient GEMM (Megatron-LM's gradient
    accumulation fusion, 2022 on) or not counted."""
    loss_bytes_per_logit: Annotated[float, Field(ge=0, le=200)]
    """HBM bytes the cross-entropy loss moves per logit element, forward and backward."""
    default_sequence_parallel: bool
    default_recompute: str
    default_zero: Annotated[int, Field(ge=0, le=3)]
    tensor_parallel: bool = True
    """The stack splits layers over GPUs (Megatron-style TP, GSPMD model parallelism)."""
    pipeline_parallel: bool = True
    """The stack runs a pipeline schedule (FSDP-only stacks and PaLM's JAX stack do not)."""
    interleaved_pipeline: bool = True
    """Its pipeline can hold several model chunks per rank (Megatron's interleaved 1F1B);
    False for DeepSpeed's PipelineEngine, one chunk per rank (docs/model.md RULE DS-PIPE)."""
    sequence_parallel: bool = True
    """Sequence parallelism of the norm/dropout regions is implemented."""
    context_parallel: bool = True
    """Context parallelism (attention over a sequence split across GPUs) is implemented."""
    zero_stages: tuple[Annotated[int, Field(ge=0, le=3)], ...] = (0, 1, 2, 3)
    """Optimizer/gradient/parameter sharding stages the stack implements (0: none)."""
    recompute_modes: tuple[str, ...] = ("none", "selective", "full")
    """Activation recomputation modes the stack offers."""
    block_recompute: bool = False
    """The stack can recompute only the first ``n`` layers of each pipeline chunk under a
    full recompute (Megatron's ``recompute_method: block`` with ``recompute_num_layers``);
    the search then recomputes the fewest layers that fit."""
    nccl: NcclRelease | None = None
    """The NCCL release the stack ran (frameworks.yaml ``nccl_releases``, RULE NCCL-LAT):
    its ring collectives' latency on NVIDIA accelerators; None: efficiency.yaml's."""
    cp_ring: CpRing | None = None
    """The ring-attention implementation of context parallelism (frameworks.yaml
    ``cp_rings``); None: a plain ring of BF16 K/V blocks hidden behind all attention."""
    fp8_recipe: str | None = None
    """FP8 training recipe (Transformer Engine 'delayed' or 'current' scaling, 'mxfp8');
    None: the stack trains in BF16/FP16 only."""

    @model_validator(mode="after")
    def _defaults_supported(self) -> Framework:
        modes = {"none", "selective", "full"}
        if not self.zero_stages or not self.recompute_modes:
            raise ValueError(f"{self.id}: zero_stages and recompute_modes must not be empty")
        if not set(self.recompute_modes) <= modes:
            raise ValueError(f"{self.id}: recompute_modes must be among {sorted(modes)}")
        if self.default_zero not in self.zero_stages:
            raise ValueError(f"{self.id}: default_zero {self.default_zero} not in zero_stages")
        if self.default_recompute not in self.recompute_modes:
            raise ValueError(f"{self.id}: default_recompute not in recompute_modes")
        if self.zero3_overlap == "per-matrix" and not self.zero3_regather_on_recompute:
            raise ValueError(f"{self.id}: zero3_overlap per-matrix needs the regather on recompute")
        if self.moe_capacity_factor is not None and self.ep_dispatch != "all-to-all":
            raise ValueError(f"{self.id}: moe_capacity_factor needs ep_dispatch all-to-all")
        return self

    ep_dispatch: Literal["all-to-all", "node-dedup"] = "all-to-all"
    """How routed tokens travel: a flat all-to-all (each of a token's expert copies sent on
    its own), or DeepEP-style node deduplication (one copy per destination scale-up domain
    over the NIC, then forwarded to the experts' GPUs inside the domain)."""
    ep_fp8_dispatch: bool = False
    """FP8 runs dispatch tokens (and the matching backward gradients) in FP8 with one FP32
    scale per 128 elements; combine stays BF16."""
    ep_comm_overlap: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Share of the expert-parallel all-to-alls the schedule hides under the other
    micro-batch's or chunk's compute (at most that compute); the rest stays exposed."""
    selective_recompute: Literal["attention-core", "norm-mla-up-swiglu", "every-other-mm"] = (
        "attention-core"
    )
    """What selective recompute rebuilds: the attention core (Korthikanti et al. 2022), the
    RMSNorms, MLA up-projections and SwiGLU outputs (DeepSeek-V3 sec. 3.2.3, 3.3.3), or all
    but the SDPA output and every other matmul output (torchtitan's op-level selective
    activation checkpointing, :mod:`gpuplan.model.op_sac`)."""
    moe_parallel_folding: bool = False
    """Megatron-core MoE Parallel Folding (Liu et al. 2025, arXiv 2504.14960): experts run
    without tensor parallelism (expert TP 1) on an EP group folded over TP x CP x DP, each
    rank taking its 1/TP share of the tokens; otherwise experts are split over TP like the
    dense layers and EP is carved out of DP x CP."""
    moe_capacity_factor: Annotated[float, Field(gt=0)] | None = None
    """Token drop (Megatron-core moe_expert_capacity_factor with
    moe_pad_expert_input_to_capacity): every expert takes this multiple of its mean share
    of each rank's routed tokens, the excess dropped and the rest padded up to it, so the
    all-to-alls and the expert GEMMs carry exactly that load; None: dropless routing, whose
    busiest rank sets the pace (:mod:`gpuplan.model.routing`). Only with ep_dispatch
    all-to-all."""
    expert_gemm_host_s: Annotated[float, Field(ge=0)] = 0.0
    """Host (CPU) seconds per local expert, MoE layer and micro-batch, forward and backward,
    of a stack that splits, casts and multiplies the experts one by one from the host
    (Transformer Engine's GroupedLinear under Megatron-core): the expert GEMMs take at least
    this times the local experts. 0: one grouped kernel, or not known."""
    pipeline_schedule: Literal["1f1b", "dualpipe"] = "1f1b"
    """1F1B (interleaved when interleave > 1), or DeepSeek's bidirectional DualPipe."""
    pipeline_edge_chunks: bool = False
    """The first model chunk of the first stage may hold only the embedding and the last
    chunk of the last stage only the output layer and loss (Dubey et al. 2024, Llama 3,
    sec. 3.3.2), so pp x interleave may exceed the layers by two; otherwise every chunk
    holds at least one layer."""
    dp_collectives: Literal["hierarchical", "flat"] = "hierarchical"
    """How the data-parallel all-gathers and reduce-scatters cross servers: hierarchical
    (a step inside the server, then one inter-server ring per GPU on its share, every NIC
    busy), or one flat ring over all data-parallel ranks, which moves each rank's whole
    share through the slowest hop of the ring, one GPU's NIC (DeepSpeed ZeRO-3 before its
    hierarchical partitioning, MiCS / ZeRO++)."""
    zero3_regather_on_recompute: bool = False
    """ZeRO-3 releases each layer's gathered parameters after every forward, the
    recomputed forward of full activation checkpointing included, so a micro-batch gathers
    them three times (forward, recompute, backward) instead of two."""
    zero3_backward_prefetch: Literal["pre", "post"] = "pre"
    """When ZeRO-3 / FSDP FULL_SHARD gathers a layer's parameters for the backward: "pre",
    before the previous layer's gradient computation, hidden under it (PyTorch FSDP
    BackwardPrefetch.BACKWARD_PRE); "post", only after it (BACKWARD_POST), so every layer's
    backward waits for its whole all-gather: one gather per micro-batch stays exposed."""
    zero3_overlap: Literal["stream", "per-matrix"] = "stream"
    """How ZeRO-3 hides a micro-batch's gathers and reduce-scatters: "stream", on their own
    streams under the whole pass; "per-matrix", one weight matrix at a time, the device
    synchronised before each (DeepSpeed's stage-3 coordinator of 2021, with its regather on
    recompute: :mod:`gpuplan.model.zero3_sync`, docs/model.md RULE ZERO3-SYNC)."""
    zero3_live_params: Annotated[float, Field(gt=0)] | None = None
    """Most parameters ZeRO-3 keeps gathered on a GPU at once (DeepSpeed's
    stage3_max_live_parameters); None: two layers' worth (the one in use and the next)."""
    stack_efficiency: Annotated[float, Field(gt=0, le=1)] = 1.0
    """Fraction of the modelled kernel rates the stack's training loop reaches, for what the
    model does not see in it (its engine's synchronisations and unfused glue): 1 for the
    stacks the fitted ``training_kernel_efficiency`` stands for; below 1 only where FITTED on
    one published throughput of the stack itself, named in ``stack_efficiency_basis``, and
    that source is then not reported as held out."""
    stack_efficiency_fit: StackBenchmark | None = None
    """The published throughput ``stack_efficiency`` is fitted on; None: 1, not fitted."""
