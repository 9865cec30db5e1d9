"""Hypothesis strategies for the input fuzz tests: scenario mappings, valid and not.

A scenario starts from a small valid one and gets a few fields set to anything: plausible
values, boundaries, huge and tiny numbers, NaN and infinity, booleans, unicode text, lists,
mappings, None; sometimes a whole inline model. GPU counts and models are drawn mostly
from a few values so that plan searches repeat (the fuzz is about input, not search speed).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

BASE: dict[str, Any] = {"model": "llama3-8b", "hardware": "h100-sxm", "gpus": 64}

ODD_NUMBERS = st.sampled_from(
    [0, -1, 1, 2, 3, 7, 2**31, 2**53 + 1, 10**30, 10**99, 1e-300, 5e-324, 1e308, -0.0, 0.5,
     float("nan"), float("inf"), float("-inf"), True, False]
)  # fmt: skip
TEXT = st.text(max_size=12) | st.sampled_from(["", " ", "1e12", "nan", "8,16", "8..1024", "∞"])
ANY_SCALAR = ODD_NUMBERS | st.integers() | st.floats() | TEXT | st.none() | st.booleans()
ANY_VALUE = st.recursive(
    ANY_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)

PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(
        ["llama3-8b", "llama3-70b", "mixtral-8x7b", "pythia-1b", "no-such-model"]
    ),
    "hardware": st.sampled_from(["h100-sxm", "b200", "mi300x", "tpu-v5p", "nope"]),
    "gpus": st.sampled_from([1, 8, 64, 96, 1000, 1024, 16384, "64", "8,16", "8..64"]),
    "framework": st.sampled_from([None, "megatron", "gpt-neox-2023", "llm-foundry-2023", "nope"]),
    "training.global_batch": st.sampled_from([None, 1, 7, 256, 1024, 99_999_989]),
    "training.seq_len": st.sampled_from([None, 1, 8, 4096, 8192, 131_072]),
    "training.tokens": st.sampled_from([None, 1, 1e6, 1e12, "15.6e12", 1e17]),
    "training.days": st.sampled_from([None, 0.001, 1, 54, 3650]),
    "training.samples": st.sampled_from([None, 1, 1e6]),
    "training.precision": st.sampled_from(["bf16", "fp8", "fp4", "int8"]),
    "training.mfu": st.sampled_from([None, 1e-6, 0.4, 1.0]),
    "parallelism.tp": st.sampled_from([None, 1, 2, 8, 6]),
    "parallelism.pp": st.sampled_from([None, 1, 2, 4]),
    "parallelism.dp": st.sampled_from([None, 1, 8, 16]),
    "parallelism.cp": st.sampled_from([None, 1, 2]),
    "parallelism.microbatch": st.sampled_from([None, 1, 2]),
    "parallelism.recompute": st.sampled_from([None, "none", "full", "selective", "x"]),
    "parallelism.zero": st.sampled_from([None, 0, 1, 3, 4]),
    "site.grid": st.sampled_from(["us-average", "france", "norway", "india", "mars"]),
    "site.pue": st.sampled_from([None, 1.0, 1.1, 3.0, 0.9]),
    "site.power_usd_per_kwh": st.sampled_from([None, 0.01, 2.0]),
    "site.households": st.sampled_from(["us", "eu", "xx"]),
    "prices.gpu_usd": st.sampled_from([None, 1, 30_000, 10_000_000]),
    "prices.cloud_usd_per_gpu_hour": st.sampled_from([None, 0.01, 2.5, 1000]),
}
PATHS = [*PLAUSIBLE, "model.layers", "training.unknown", "", "site", "prices", "training"]

INLINE_MODELS = st.fixed_dictionaries(
    {
        "name": TEXT,
        "layers": st.sampled_from([1, 2, 32, 1000, 0, 1e30]),
        "hidden": st.sampled_from([64, 4096, 1_000_000, 3]),
        "heads": st.sampled_from([1, 4, 32, 3]),
        "ffn_hidden": st.sampled_from([128, 14336, 10**7]),
        "vocab": st.sampled_from([0, 32000, 128_256]),
        "seq_len": st.sampled_from([1, 8192, 10**9]),
    },
    optional={
        "kv_heads": st.sampled_from([1, 3, 8, 64]),
        "experts": st.sampled_from([1, 8, 64, 10**13]),
        "top_k": st.sampled_from([1, 2, 9]),
        "expert_ffn_hidden": st.sampled_from([128, 4096]),
        "kind": TEXT,
        "ffn": st.sampled_from(["gelu", "swiglu", "x"]),
    },
)


VIDEO_MODEL = st.fixed_dictionaries(
    {
        "name": st.just("v"),
        "kind": st.just("video-dit"),
        "layers": st.sampled_from([4, 48]),
        "hidden": st.sampled_from([1024, 6144]),
        "heads": st.sampled_from([8, 48]),
        "ffn_hidden": st.just(4096),
        "vocab": st.just(0),
        "video": st.fixed_dictionaries(
            {
                "frames": st.sampled_from([1, 256]) | ODD_NUMBERS,
                "height": st.just(576),
                "width": st.just(1024),
                "vae_temporal": st.just(8),
                "vae_spatial": st.just(8),
                "latent_channels": st.just(16),
                "text_tokens": st.sampled_from([0, 868]) | ODD_NUMBERS,
                "text_conditioning": st.just("cross-attention"),
            },
            optional={
                "patch_h": ODD_NUMBERS,
                "text_encoder_params_b": ODD_NUMBERS,
                "vae_encoder_flops_per_pixel": ODD_NUMBERS,
                "vae_encoder_bytes_per_pixel": ODD_NUMBERS,
            },
        ),
    }
)
"""An inline video model, its video block sometimes odd (issue 15's fuzz campaign: 1e300
encoder FLOPs per pixel overflowed, booleans were patch sizes)."""
CLUSTERS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["meta-roce-24k", "h100-sxm-reference", "nope"]),
        "scaleup_domain": ODD_NUMBERS,
        "scaleup_unidir_gb_per_s": ODD_NUMBERS,
        "scaleout_gbit_per_s": ODD_NUMBERS,
        "oversubscription": ODD_NUMBERS,
        "fabric": st.lists(st.fixed_dictionaries({"gpus": ODD_NUMBERS}), max_size=2),
    },
)
STAGES = st.lists(
    st.fixed_dictionaries({}, optional={"days": ODD_NUMBERS, "steps": ODD_NUMBERS,
                                        "gpus": ODD_NUMBERS, "global_batch": ODD_NUMBERS}),
    max_size=3,
)  # fmt: skip
BUDGETS = st.fixed_dictionaries({}, optional={"usd": ODD_NUMBERS, "mw": ODD_NUMBERS,
                                              "days": ODD_NUMBERS})  # fmt: skip
"""Blocks the campaign found defects in: inline clusters, stages, budget questions."""


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


@st.composite
def scenarios(draw: st.DrawFn) -> Any:
    """A scenario mapping (or, rarely, something that is not a mapping)."""
    if draw(st.integers(0, 40)) == 0:
        return draw(ANY_VALUE)
    data: dict[str, Any] = {key: value for key, value in BASE.items()}
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(PATHS))
        wild = draw(st.integers(0, 3)) == 0 or path not in PLAUSIBLE
        value = draw(ANY_VALUE if wild else PLAUSIBLE[path])
        if path == "":
            data[draw(TEXT)] = value
        else:
            _set(data, path, value)
    if draw(st.integers(0, 8)) == 0:
        data["model"] = draw(INLINE_MODELS | VIDEO_MODEL)
    extra = draw(st.integers(0, 12))
    if extra == 0:
        data["cluster"] = draw(CLUSTERS)
    elif extra == 1:
        data["stages"] = draw(STAGES)
    elif extra == 2:  # a budget question: no model, the budget chooses it
        data.pop("model", None)
        data["budget"] = draw(BUDGETS)
    for key in draw(st.lists(st.sampled_from(["model", "hardware", "gpus"]), max_size=1)):
        data.pop(key, None)
    return data
