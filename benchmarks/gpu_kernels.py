"""Measure an accelerator's GEMM, attention and HBM rates for the shapes gpuplan models.

Run on a machine with a GPU and PyTorch (not needed anywhere else in gpuplan):

    python benchmarks/gpu_kernels.py --out measured-h100.yaml

It times, for the transformer shapes of the catalog's models under tensor parallelism
(the forward, data-gradient and weight-gradient GEMMs of QKV, output, MLP and logits):

- BF16 and FP8 (when torch has float8 matmul) GEMM rates, short bursts and a sustained
  run at the power limit (the MSMF / MAMF ratio of efficiency.yaml's ``sustained``);
- fused attention forward and forward+backward (``scaled_dot_product_attention``, causal)
  at several sequence lengths (efficiency.yaml's ``attention``);
- streaming HBM bandwidth of a large copy (``hbm``).

The output YAML records the device, driver, torch and CUDA versions, the date and this
script's name, so its figures can enter efficiency.yaml with their source. gpuplan never
imports this file; tests and CI run without a GPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

HIDDEN_SHAPES = (  # (hidden, ffn hidden, heads, kv heads) of catalog models
    (4096, 14336, 32, 8),  # llama3-8b
    (8192, 28672, 64, 8),  # llama3-70b
    (16384, 53248, 128, 8),  # llama3-405b
    (12288, 49152, 96, 96),  # gpt3-175b
)
TOKENS = (2048, 8192, 16384)
TENSOR_PARALLEL = (1, 4, 8)
SEQUENCES = (2048, 8192, 32768)


def _time(fn: Any, torch: Any, repeats: int = 20, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_shapes() -> list[tuple[int, int, int, str]]:
    shapes = []
    for hidden, ffn, heads, kv_heads in HIDDEN_SHAPES:
        head = hidden // heads
        for tp in TENSOR_PARALLEL:
            for tokens in TOKENS:
                qkv = (heads + 2 * kv_heads) * head // tp
                linears = (
                    (qkv, hidden, "qkv"),
                    (hidden, hidden // tp, "out"),
                    (2 * ffn // tp, hidden, "mlp-up"),
                    (hidden, ffn // tp, "mlp-down"),
                )
                for n, k, name in linears:
                    shapes.append((tokens, n, k, f"{name} h{hidden} tp{tp} fwd"))
                    shapes.append((tokens, k, n, f"{name} h{hidden} tp{tp} dgrad"))
                    shapes.append((k, n, tokens, f"{name} h{hidden} tp{tp} wgrad"))
    return shapes


def measure_gemms(torch: Any, dtype: Any, label: str) -> list[dict[str, Any]]:
    rows = []
    for m, n, k, name in gemm_shapes():
        a = torch.randn(m, k, device="cuda").to(dtype)
        b = torch.randn(n, k, device="cuda").to(dtype).t()
        if label == "fp8":
            scale = torch.tensor(1.0, device="cuda")

            def run(a: Any = a, b: Any = b, scale: Any = scale) -> Any:
                return torch._scaled_mm(a, b, scale_a=scale, scale_b=scale,
                                        out_dtype=torch.bfloat16)  # fmt: skip
        else:

            def run(a: Any = a, b: Any = b) -> Any:
                return a @ b

        seconds = _time(run, torch)
        rows.append({"shape": name, "m": m, "n": n, "k": k, "dtype": label,
                     "tflops": 2 * m * n * k / seconds / 1e12})  # fmt: skip
    return rows


def measure_sustained(torch: Any, seconds: float = 60.0) -> dict[str, float]:
    """Best-shape burst rate, then the rate after running flat out for ``seconds``."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    flops = 2 * 8192**3
    burst = flops / _time(lambda: a @ b, torch) / 1e12
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(50):
            a @ b
        torch.cuda.synchronize()
    sustained = flops / _time(lambda: a @ b, torch, repeats=100) / 1e12
    return {"burst_tflops": burst, "sustained_tflops": sustained}


def measure_attention(torch: Any) -> list[dict[str, Any]]:
    rows = []
    functional = torch.nn.functional
    for seq in SEQUENCES:
        batch, heads, head = max(1, 16384 // seq), 32, 128
        q, k, v = (torch.randn(batch, heads, seq, head, device="cuda", dtype=torch.bfloat16,
                               requires_grad=True) for _ in range(3))  # fmt: skip
        forward_flops = 4 * batch * heads * seq * seq * head / 2  # causal: half the matrix

        def forward(q: Any = q, k: Any = k, v: Any = v) -> Any:
            return functional.scaled_dot_product_attention(q, k, v, is_causal=True)

        def both(forward: Any = forward) -> None:
            forward().sum().backward()

        forward_s, both_s = _time(forward, torch), _time(both, torch)
        rows.append(
            {
                "seq_len": seq,
                "forward_tflops": forward_flops / forward_s / 1e12,
                # FlashAttention's convention: backward = 2.5 forwards (Dao 2023).
                "fwd_bwd_tflops": 3.5 * forward_flops / both_s / 1e12,
            }
        )
    return rows


def measure_hbm(torch: Any) -> float:
    x = torch.empty(2**30, device="cuda", dtype=torch.uint8)
    y = torch.empty_like(x)
    seconds = _time(lambda: y.copy_(x), torch)
    return 2 * x.numel() / seconds / 1e12  # read + write, TB/s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("measured-kernels.yaml"))
    parser.add_argument("--sustain-s", type=float, default=60.0)
    args = parser.parse_args()
    import torch  # only here: gpuplan does not depend on torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this script measures a GPU")
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "date": dt.date.today().isoformat(),
        "script": "benchmarks/gpu_kernels.py",
        "gemm": measure_gemms(torch, torch.bfloat16, "bf16"),
        "sustained": measure_sustained(torch, args.sustain_s),
        "attention": measure_attention(torch),
        "hbm_tb_per_s": measure_hbm(torch),
    }
    if hasattr(torch, "float8_e4m3fn") and hasattr(torch, "_scaled_mm"):
        result["gemm"] += measure_gemms(torch, torch.float8_e4m3fn, "fp8")
    args.out.write_text(yaml.safe_dump(result, sort_keys=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
