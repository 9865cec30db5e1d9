"""Measure an accelerator's GEMM, attention and HBM rates for the shapes gpuplan models.

Run on a machine with a GPU and PyTorch (not needed anywhere else in gpuplan):

    python benchmarks/gpu_kernels.py --out measured-h100.yaml

It times, for the transformer shapes of the catalog's models under tensor parallelism
(the forward, data-gradient and weight-gradient GEMMs of QKV, output, MLP and logits):

- streaming HBM bandwidth of a large copy (efficiency.yaml's ``hbm``);
- fused causal attention, forward and forward+backward, for each backend of PyTorch's
  ``scaled_dot_product_attention`` (FlashAttention-2, cuDNN, memory-efficient), at several
  sequence lengths (efficiency.yaml's ``attention``);
- BF16 and FP8 (``torch._scaled_mm``, per-tensor scales) GEMM rates for those shapes, and
  a sweep of large square-ish shapes whose best is the Maximum Achievable Matmul FLOPS
  (MAMF, efficiency.yaml's ``gemm_bf16`` / ``gemm_fp8``);
- one Llama-style decoder layer (RMSNorm, GQA attention, SwiGLU) forward and backward in
  plain PyTorch, as an end-to-end check of the kernel model;
- the rate after running flat out at the power limit, with power draw and SM clock
  (efficiency.yaml's ``sustained``, MSMF / MAMF);
- cross-entropy over large vocabularies (frameworks.yaml's ``loss_bytes_per_logit``) and
  one AdamW step (the optimizer's bytes per parameter), as HBM bytes.

Times come from CUDA events around batches of calls (launch gaps amortised), the median
of several batches, with inputs rotated among copies so that small shapes are not served
from L2. Results are written after each section, so a run cut short keeps what it measured.
The YAML records device, driver, torch and CUDA versions, the date and this script's name,
so its figures can enter the catalog with their source. gpuplan never imports this file;
tests and CI run without a GPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HIDDEN_SHAPES = (  # (name, hidden, ffn hidden, heads, kv heads, vocab) of catalog models
    ("llama3-8b", 4096, 14336, 32, 8, 128256),
    ("llama3-70b", 8192, 28672, 64, 8, 128256),
    ("llama3-405b", 16384, 53248, 128, 8, 128256),
    ("gpt3-175b", 12288, 49152, 96, 96, 51200),
)
TOKENS = (2048, 4096, 8192, 16384)
TENSOR_PARALLEL = (1, 2, 4, 8)
SEQUENCES = (1024, 2048, 4096, 8192, 16384, 32768)
MAMF_SIZES = (4096, 6144, 8192, 10240, 12288, 16384)
L2_ROTATE_BYTES = 256 * 2**20  # rotate inputs until the working set is 5x the H100's L2


def _events_time(fn: Callable[[], Any], torch: Any, target_s: float = 0.03) -> float:
    """Median seconds per call: 3 batches of calls timed with CUDA events."""
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    first_s = max(start.elapsed_time(end) / 1e3, 1e-6)
    calls = max(2, min(200, math.ceil(target_s / 3 / first_s)))
    samples = []
    for _ in range(3):
        start.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1e3 / calls)
    return float(statistics.median(samples))


def _rotating(make: Callable[[], tuple[Any, ...]], nbytes: int) -> Callable[[], tuple[Any, ...]]:
    """Input sets to cycle through, enough of them that the working set outruns L2."""
    sets = [make() for _ in range(max(1, min(8, math.ceil(L2_ROTATE_BYTES / max(nbytes, 1)))))]
    state = {"i": 0}

    def next_set() -> tuple[Any, ...]:
        state["i"] = (state["i"] + 1) % len(sets)
        return sets[state["i"]]

    return next_set


def gemm_shapes() -> list[tuple[int, int, int, str]]:
    """(m, n, k, label) of the GEMMs of a training step: forward, data and weight gradient."""
    shapes = []
    for model, hidden, ffn, heads, kv_heads, vocab in HIDDEN_SHAPES:
        head = hidden // heads
        for tp in TENSOR_PARALLEL:
            linears = (
                ((heads + 2 * kv_heads) * head // tp, hidden, "qkv"),
                (hidden, hidden // tp, "out"),
                (2 * ffn // tp, hidden, "mlp-up"),
                (hidden, ffn // tp, "mlp-down"),
                (vocab // tp, hidden, "logits"),
            )
            for tokens in TOKENS:
                for n, k, name in linears:
                    label = f"{model} {name} tp{tp} t{tokens}"
                    shapes.append((tokens, n, k, f"{label} fwd"))
                    shapes.append((tokens, k, n, f"{label} dgrad"))
                    shapes.append((k, n, tokens, f"{label} wgrad"))
    return shapes


def _gemm_rate(torch: Any, m: int, n: int, k: int, fp8: bool) -> float:
    """TFLOP/s of (m x k) @ (k x n), row-major A and column-major B (cuBLAS's TN layout)."""
    bytes_per = 1 if fp8 else 2

    def make() -> tuple[Any, ...]:
        a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(n, k, device="cuda", dtype=torch.bfloat16)
        if fp8:
            a, b = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn)
        return a, b.t()

    inputs = _rotating(make, bytes_per * (m * k + n * k))
    scale = torch.tensor(1.0, device="cuda")

    if fp8:

        def run() -> Any:
            a, b = inputs()
            return torch._scaled_mm(a, b, scale_a=scale, scale_b=scale, out_dtype=torch.bfloat16)
    else:

        def run() -> Any:
            a, b = inputs()
            return a @ b

    seconds = _events_time(run, torch)
    return 2 * m * n * k / seconds / 1e12


def measure_gemms(torch: Any, fp8: bool) -> list[dict[str, Any]]:
    rows = []
    for m, n, k, name in gemm_shapes():
        tflops = _gemm_rate(torch, m, n, k, fp8)
        rows.append({"shape": name, "m": m, "n": n, "k": k, "tflops": round(tflops, 1)})
    torch.cuda.empty_cache()
    return rows


def measure_mamf(torch: Any, fp8: bool) -> dict[str, Any]:
    """Best rate over a grid of large shapes (a coarse MAMF search, Bekman's method)."""
    best: dict[str, Any] = {"tflops": 0.0}
    for m in MAMF_SIZES:
        for n in MAMF_SIZES:
            for k in (4096, 8192, 16384):
                tflops = _gemm_rate(torch, m, n, k, fp8)
                if tflops > best["tflops"]:
                    best = {"tflops": round(tflops, 1), "m": m, "n": n, "k": k}
    torch.cuda.empty_cache()
    return best


def measure_attention(torch: Any) -> list[dict[str, Any]]:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    functional = torch.nn.functional
    backends = {
        "flash2": SDPBackend.FLASH_ATTENTION,
        "cudnn": SDPBackend.CUDNN_ATTENTION,
        "efficient": SDPBackend.EFFICIENT_ATTENTION,
    }
    rows = []
    for name, backend in backends.items():
        for seq in SEQUENCES:
            batch, heads, head = max(1, 32768 // seq), 32, 128
            try:
                q, k, v = (
                    torch.randn(
                        batch,
                        heads,
                        seq,
                        head,
                        device="cuda",
                        dtype=torch.bfloat16,
                        requires_grad=True,
                    )
                    for _ in range(3)
                )
                grad = torch.randn(batch, heads, seq, head, device="cuda", dtype=torch.bfloat16)
                # Causal: half the score matrix. FlashAttention's convention counts the
                # backward as 2.5 forwards (Dao 2023).
                forward_flops = 4 * batch * heads * seq * seq * head / 2

                def forward(q: Any = q, k: Any = k, v: Any = v, backend: Any = backend) -> Any:
                    with sdpa_kernel([backend]):
                        return functional.scaled_dot_product_attention(q, k, v, is_causal=True)

                def both(forward: Any = forward, q: Any = q, grad: Any = grad) -> None:
                    out = forward()
                    out.backward(grad)

                with torch.no_grad():
                    forward_s = _events_time(forward, torch)
                both_s = _events_time(both, torch)
                rows.append(
                    {
                        "backend": name,
                        "seq_len": seq,
                        "batch": batch,
                        "heads": heads,
                        "head_dim": head,
                        "forward_tflops": round(forward_flops / forward_s / 1e12, 1),
                        "fwd_bwd_tflops": round(3.5 * forward_flops / both_s / 1e12, 1),
                        "backward_tflops": round(
                            2.5 * forward_flops / max(both_s - forward_s, 1e-9) / 1e12, 1
                        ),
                    }
                )
            except Exception as error:  # a backend may refuse a shape: record, go on
                rows.append({"backend": name, "seq_len": seq, "error": repr(error)[:200]})
            torch.cuda.empty_cache()
    return rows


def measure_hbm(torch: Any) -> dict[str, float]:
    x = torch.randn(2**29, device="cuda", dtype=torch.float32)  # 2 GiB
    y = torch.empty_like(x)
    copy_s = _events_time(lambda: y.copy_(x), torch)
    add_s = _events_time(lambda: torch.add(x, y, out=y), torch)
    n_bytes = x.numel() * 4
    return {
        "copy_tb_per_s": round(2 * n_bytes / copy_s / 1e12, 3),  # read + write
        "add_tb_per_s": round(3 * n_bytes / add_s / 1e12, 3),  # 2 reads + write
    }


def measure_layer(torch: Any) -> list[dict[str, Any]]:
    """A Llama-3-8B decoder layer (no RoPE) in eager PyTorch, forward and backward."""
    functional = torch.nn.functional
    hidden, ffn, heads, kv_heads = 4096, 14336, 32, 8
    head = hidden // heads
    weights = {
        "qkv": (heads + 2 * kv_heads) * head,
        "out": hidden,
        "up": 2 * ffn,
        "down": hidden,
    }
    params = {
        name: torch.nn.Parameter(
            torch.randn(n, ffn if name == "down" else hidden, device="cuda", dtype=torch.bfloat16)
            * 0.01
        )
        for name, n in weights.items()
    }
    norms = [torch.nn.Parameter(torch.ones(hidden, device="cuda", dtype=torch.bfloat16))
             for _ in range(2)]  # fmt: skip
    rows = []
    for seq in (2048, 4096, 8192):
        x = torch.randn(1, seq, hidden, device="cuda", dtype=torch.bfloat16, requires_grad=True)

        def layer(x: Any = x, seq: int = seq) -> Any:
            h = functional.rms_norm(x, (hidden,), norms[0])
            qkv = functional.linear(h, params["qkv"])
            q, k, v = qkv.split([heads * head, kv_heads * head, kv_heads * head], dim=-1)
            q = q.view(1, seq, heads, head).transpose(1, 2)
            k = k.view(1, seq, kv_heads, head).transpose(1, 2)
            v = v.view(1, seq, kv_heads, head).transpose(1, 2)
            a = functional.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            a = a.transpose(1, 2).reshape(1, seq, hidden)
            x2 = x + functional.linear(a, params["out"])
            h2 = functional.rms_norm(x2, (hidden,), norms[1])
            gate, up = functional.linear(h2, params["up"]).chunk(2, dim=-1)
            return x2 + functional.linear(functional.silu(gate) * up, params["down"])

        grad = torch.randn(1, seq, hidden, device="cuda", dtype=torch.bfloat16)

        def both(layer: Any = layer, grad: Any = grad) -> None:
            layer().backward(grad)

        with torch.no_grad():
            forward_s = _events_time(layer, torch, target_s=0.3)
        both_s = _events_time(both, torch, target_s=0.3)
        rows.append(
            {
                "model": "llama3-8b layer (no RoPE), eager PyTorch, micro-batch 1",
                "seq_len": seq,
                "forward_ms": round(forward_s * 1e3, 3),
                "fwd_bwd_ms": round(both_s * 1e3, 3),
            }
        )
    return rows


def measure_loss(torch: Any, copy_bytes_per_s: float) -> list[dict[str, Any]]:
    """Cross-entropy forward + backward over bf16 logits, as HBM bytes per logit.

    Two implementations: PyTorch's ``F.cross_entropy`` on logits cast to FP32 (what
    autocast does; llm-foundry), and Megatron-LM's unfused vocab-parallel sequence at TP 1
    (FP32 cast, max, subtract, exp, sum, log; backward softmax, one-hot subtract, scale,
    cast back). Bytes per logit = time x measured copy bandwidth / (tokens x vocab).
    """
    functional = torch.nn.functional
    tokens = 8192
    rows = []
    for vocab in (32000, 50368, 128256, 256000):
        logits = torch.randn(tokens, vocab, device="cuda", dtype=torch.bfloat16)
        logits.requires_grad_(True)
        target = torch.randint(0, vocab, (tokens,), device="cuda")

        def torch_ce(logits: Any = logits, target: Any = target) -> None:
            logits.grad = None  # a fresh gradient, as for the non-leaf logits in training
            functional.cross_entropy(logits.float(), target).backward()

        def megatron_ce(logits: Any = logits, target: Any = target) -> Any:
            with torch.no_grad():
                x = logits.float()
                x.sub_(x.max(dim=-1, keepdim=True).values)
                picked = x.gather(1, target[:, None])
                torch.exp(x, out=x)
                total = x.sum(dim=-1, keepdim=True)
                loss = (torch.log(total) - picked).mean()
                x.div_(total)  # softmax, kept for the backward
                x.scatter_add_(1, target[:, None], -torch.ones_like(picked))
                x.mul_(1.0 / tokens)
                logits.grad = x.to(torch.bfloat16)
            return loss

        for name, fn in (("torch-f32", torch_ce), ("megatron", megatron_ce)):
            seconds = _events_time(fn, torch, target_s=0.3)
            rows.append(
                {
                    "impl": name,
                    "tokens": tokens,
                    "vocab": vocab,
                    "ms": round(seconds * 1e3, 3),
                    "bytes_per_logit": round(seconds * copy_bytes_per_s / (tokens * vocab), 1),
                }
            )
        del logits
        torch.cuda.empty_cache()
    return rows


def measure_optimizer(torch: Any, copy_bytes_per_s: float) -> list[dict[str, Any]]:
    """One AdamW step (FP32 params, grads and moments) as HBM bytes per parameter."""
    params = 2**28
    rows = []
    for impl in ("fused", "foreach"):
        weights = [torch.nn.Parameter(torch.randn(params // 16, device="cuda")) for _ in range(16)]
        for w in weights:
            w.grad = torch.randn_like(w)
        optimizer = torch.optim.AdamW(weights, lr=1e-4, **{impl: True})
        seconds = _events_time(optimizer.step, torch, target_s=0.5)
        rows.append(
            {
                "impl": impl,
                "params": params,
                "ms": round(seconds * 1e3, 3),
                "bytes_per_param": round(seconds * copy_bytes_per_s / params, 1),
            }
        )
        del weights, optimizer
        torch.cuda.empty_cache()
    return rows


def _power(torch: Any) -> tuple[float | None, float | None]:
    try:
        return torch.cuda.power_draw() / 1e3, float(torch.cuda.clock_rate())
    except Exception:
        return None, None


def measure_sustained(torch: Any, seconds: float) -> dict[str, Any]:
    """Burst rate of an 8192^3 GEMM, then its rate after ``seconds`` flat out."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16).t()
    flops = 2 * 8192**3
    burst = flops / _events_time(lambda: a @ b, torch) / 1e12
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(50):
            a @ b
        torch.cuda.synchronize()
        samples.append(_power(torch))
    sustained = flops / _events_time(lambda: a @ b, torch, target_s=3.0) / 1e12
    watts = [w for w, _ in samples[len(samples) // 2 :] if w is not None]
    clocks = [c for _, c in samples[len(samples) // 2 :] if c is not None]
    return {
        "burst_tflops": round(burst, 1),
        "sustained_tflops": round(sustained, 1),
        "seconds": seconds,
        "power_w_second_half_median": round(statistics.median(watts), 1) if watts else None,
        "sm_clock_mhz_second_half_median": round(statistics.median(clocks)) if clocks else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("measured-kernels.yaml"))
    parser.add_argument("--sustain-s", type=float, default=60.0)
    parser.add_argument("--sections", nargs="*", help="measure only these sections")
    args = parser.parse_args()
    import torch  # only here: gpuplan does not depend on torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this script measures a GPU")
    properties = torch.cuda.get_device_properties(0)
    power, clock = _power(torch)
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name(),
        "compute_units": properties.multi_processor_count,
        "memory_bytes": properties.total_memory,
        "idle_power_w": power,
        "idle_sm_clock_mhz": clock,
        "torch": str(torch.__version__),
        "cuda": str(torch.version.cuda),
        "cudnn": torch.backends.cudnn.version(),
        "date": dt.date.today().isoformat(),
        "script": "benchmarks/gpu_kernels.py",
    }
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        result["driver"] = pynvml.nvmlSystemGetDriverVersion()
        result["power_limit_w"] = pynvml.nvmlDeviceGetPowerManagementLimit(handle) / 1e3
    except Exception as error:
        result["driver"] = repr(error)[:100]

    def copy_bytes_per_s() -> float:
        """The copy bandwidth this run measured (the hbm section), measuring it if skipped."""
        if not isinstance(result.get("hbm"), dict) or "copy_tb_per_s" not in result["hbm"]:
            result["hbm"] = measure_hbm(torch)
        return 1e12 * float(result["hbm"]["copy_tb_per_s"])

    sections: list[tuple[str, Callable[[], Any]]] = [
        ("hbm", lambda: measure_hbm(torch)),
        ("attention", lambda: measure_attention(torch)),
        ("layer", lambda: measure_layer(torch)),
        ("gemm_bf16", lambda: measure_gemms(torch, fp8=False)),
        ("mamf_bf16", lambda: measure_mamf(torch, fp8=False)),
        ("gemm_fp8", lambda: measure_gemms(torch, fp8=True)),
        ("mamf_fp8", lambda: measure_mamf(torch, fp8=True)),
        ("sustained", lambda: measure_sustained(torch, args.sustain_s)),
        ("loss", lambda: measure_loss(torch, copy_bytes_per_s())),
        ("optimizer", lambda: measure_optimizer(torch, copy_bytes_per_s())),
    ]
    for name, measure in sections:
        if args.sections and name not in args.sections:
            continue
        start = time.perf_counter()
        try:
            result[name] = measure()
        except Exception:
            result[name] = {"error": traceback.format_exc()[-600:]}
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
        args.out.write_text(yaml.safe_dump(result, sort_keys=False))
    print(f"wrote {args.out}")
    shown = ("hbm", "mamf_bf16", "mamf_fp8", "sustained", "loss", "optimizer")
    summary = {k: result[k] for k in shown if k in result}
    print(yaml.safe_dump(summary, sort_keys=False))


if __name__ == "__main__":
    main()
