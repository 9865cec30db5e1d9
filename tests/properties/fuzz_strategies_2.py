"""Hypothesis strategies for the second fuzz campaign (issue 15): the blocks the first
strategies (``fuzz_strategies``) reach rarely or not at all. Ranges and distributions in
any numeric field (inverted, of negatives, degenerate), staged runs with their batches, inline
clusters with fabric tiers, site and price overrides, MoE and video inline models, partial
parallelism blocks, budget questions; sweep, claims and audit files.
"""

from __future__ import annotations

from typing import Any

from fuzz_strategies import ANY_VALUE, BASE, ODD_NUMBERS, TEXT, VIDEO_MODEL, _set
from hypothesis import strategies as st

SMALL = st.sampled_from([-5, -1, 0, 0.5, 1, 2, 8, 64, 1000, 1e6, 1e12, 1e30, float("nan")])
NUMBER = SMALL | ODD_NUMBERS


def mostly(good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any] = NUMBER) -> Any:
    """``good`` seven times in eight, else ``odd``: most scenarios get past validation."""
    return st.integers(0, 7).flatmap(lambda i: odd if i == 5 else good)


PLAUSIBLE_ENDS: dict[str, tuple[float, float]] = {
    "gpus": (64, 256), "training.tokens": (1e11, 2e12), "training.days": (5, 60),
    "training.global_batch": (128, 1024), "training.seq_len": (2048, 8192),
    "training.mfu": (0.3, 0.5), "site.pue": (1.1, 1.4), "site.power_usd_per_kwh": (0.05, 0.2),
    "prices.gpu_usd": (20_000, 40_000), "prices.cloud_usd_per_gpu_hour": (1.5, 4.0),
    "parallelism.tp": (1, 8), "training.samples": (1e6, 1e8),
}  # fmt: skip
"""Sound ends of a range for each numeric path (the field's scale, inside its bounds)."""
NUMERIC_PATHS = list(PLAUSIBLE_ENDS)


@st.composite
def distributions(draw: st.DrawFn, path: str = "training.tokens") -> Any:
    """A range or distribution as a user may write it: mostly sound, else p10 > p90, a
    lognormal of negatives, a triangular with equal ends, a parameter missing or extra."""
    sound = st.sampled_from([None, "uniform", "normal", "lognormal", "triangular", "loguniform"])
    kind = draw(mostly(sound, st.sampled_from(["beta", 3, ""])))
    keys = {
        "normal": ["p10", "p90"], "lognormal": ["p10", "p90"],
        "triangular": ["low", "mode", "high"],
    }.get(kind, ["low", "high"])  # fmt: skip
    low, high = PLAUSIBLE_ENDS.get(path, (1.0, 2.0))
    ends = [low + (high - low) * i / (len(keys) - 1) for i in range(len(keys))]
    flaw = draw(st.integers(0, 11)) - 6  # hypothesis favours 0: sound first
    if flaw == 0:
        ends = ends[::-1]  # inverted: p10 > p90, low > high
    elif flaw == 1:
        ends = [ends[0]] * len(ends)  # equal ends (a triangular of one point)
    elif flaw == 2:
        ends = [-e for e in ends[::-1]]  # negatives (a lognormal of negatives)
    elif flaw == 3:
        ends[draw(st.integers(0, len(ends) - 1))] = draw(NUMBER)
    data: dict[str, Any] = dict(zip(keys, ends, strict=True))
    if kind is not None:
        data["dist"] = kind
    if flaw == 4:
        data.pop(draw(st.sampled_from(sorted(data))))
    elif flaw == 5:
        data[draw(st.sampled_from(["mode", "p10", "x", "samples"]))] = draw(NUMBER)
    return data


MOE_MODEL = st.fixed_dictionaries(
    {
        "name": st.just("moe"),
        "layers": st.sampled_from([2, 16, 32]),
        "hidden": st.sampled_from([512, 4096]),
        "heads": st.sampled_from([8, 32]),
        "ffn_hidden": st.sampled_from([1024, 14336]),
        "vocab": st.sampled_from([32000, 0]),
        "seq_len": st.sampled_from([2048, 4096]),
        "experts": mostly(st.sampled_from([1, 2, 8, 64, 256])),
        "top_k": mostly(st.sampled_from([1, 2, 8])),
    },
    optional={
        "expert_ffn_hidden": mostly(st.sampled_from([128, 2048])),
        "kv_heads": st.sampled_from([1, 8, 5]),
        "ffn": st.sampled_from(["swiglu", "gelu"]),
        "head_dim": st.sampled_from([64, 128, 1000, 3]),
        "tied_embeddings": mostly(st.booleans()),
    },
)
"""An inline mixture of experts, its routing sometimes odd (top_k above the experts)."""

PARALLELISM = st.fixed_dictionaries(
    {},
    optional={
        key: mostly(st.sampled_from([1, 2, 4, 8, 3, 16, 64]))
        for key in ("tp", "pp", "dp", "cp", "ep", "microbatch", "interleave")
    }
    | {
        "recompute": st.sampled_from(["none", "selective", "full", "block"]),
        "recompute_layers": mostly(st.sampled_from([0, 1, 4, 1000])),
        "sequence_parallel": mostly(st.booleans()),
        "zero": mostly(st.sampled_from([0, 1, 2, 3])),
    },
)
"""A parallelism block with any subset of degrees (a partial plan is searched around)."""

TIER = st.fixed_dictionaries(
    {"gpus": mostly(st.sampled_from([8, 64, 512, 4096, 100_000]))},
    optional={
        "name": st.sampled_from(["leaf", "spine", "core", ""]) | TEXT,
        "oversubscription": mostly(st.sampled_from([1, 2, 7])),
        "gbit_per_s": mostly(st.sampled_from([100, 400])),
    },
)
CLUSTER = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["meta-roce-24k", "h100-sxm-reference", "nope", ""]),
        "name": TEXT,
        "scaleup_domain": mostly(st.sampled_from([1, 8, 72, 7])),
        "scaleup_unidir_gb_per_s": mostly(st.sampled_from([50, 450, 900])),
        "scaleout_gbit_per_s": mostly(st.sampled_from([100, 400, 3200])),
        "gpus_per_node": mostly(st.sampled_from([1, 4, 8, 3])),
        "nics_per_node": mostly(st.sampled_from([1, 8])),
        "fabric": st.lists(TIER, max_size=3),
        "oversubscription": mostly(st.sampled_from([1, 2])),
        "rail_optimized": mostly(st.booleans()),
        "transport": st.sampled_from(["infiniband", "roce", "ethernet", "x"]),
    },
)
CLIP = st.fixed_dictionaries(
    {},
    optional={key: mostly(st.sampled_from([1, 16, 256, 1024]))
              for key in ("frames", "seconds", "fps", "height", "width")},
)  # fmt: skip
STAGE = st.one_of(
    *(
        st.fixed_dictionaries(
            {length: mostly(st.sampled_from(values))},
            optional={
                "name": TEXT,
                "clip": CLIP,
                "gpus": mostly(st.sampled_from([8, 64, 128])),
                "global_batch": mostly(st.sampled_from([64, 1, 1024])),
            },
        )
        for length, values in (("samples", [1e6, 1]), ("steps", [1000, 1]), ("days", [10, 0.5]))
    ),
    st.fixed_dictionaries({}, optional={"days": NUMBER, "steps": NUMBER}),
)
"""One stage of a staged run (its batch schedule: a global batch per stage), mostly with
exactly one length as the schema asks."""
SITE = st.fixed_dictionaries(
    {},
    optional={
        "grid": st.sampled_from(["us-average", "france", "norway", "germany", "india", ""]),
        "pue": mostly(st.sampled_from([1.0, 1.2, 3.0])),
        "power_usd_per_kwh": mostly(st.sampled_from([0.01, 0.1, 2.0])),
        "households": st.sampled_from(["us", "eu", "uk", ""]),
    },
)
PRICES = st.fixed_dictionaries(
    {},
    optional={"gpu_usd": mostly(st.sampled_from([1, 25_000, 10_000_000])),
              "cloud_usd_per_gpu_hour": mostly(st.sampled_from([0.01, 2, 1000]))},
)  # fmt: skip


CHIPS = ["a100-80gb", "b200", "gb200", "mi300x", "tpu-v5p", "h200", "v100", "h800", "tpu-v6e"]


@st.composite
def wide_scenarios(draw: st.DrawFn) -> Any:
    """A scenario with one or more of the blocks above (ranges and distributions included)."""
    data: dict[str, Any] = dict(BASE)
    blocks = draw(st.sets(st.sampled_from(["dist", "moe", "video", "parallelism", "cluster",
                                           "stages", "site", "prices", "budget", "wild",
                                           "hardware"]),
                          min_size=1, max_size=3))  # fmt: skip
    if "hardware" in blocks:  # the clusters of other chips, their missing kernel rates
        data["hardware"] = draw(st.sampled_from(CHIPS))
    if "moe" in blocks:
        data["model"] = draw(MOE_MODEL | st.sampled_from(["mixtral-8x7b", "qwen3-30b-a3b"]))
        _set(data, "training.tokens", 1e11)  # an inline model has no published token count
    if "video" in blocks:
        data["model"] = draw(VIDEO_MODEL | st.sampled_from(["open-sora-2-11b", "wan-2.1-14b"]))
    if "parallelism" in blocks:
        data["parallelism"] = draw(PARALLELISM)
    if "cluster" in blocks:
        data["cluster"] = draw(CLUSTER)
    if "stages" in blocks:
        data["stages"] = draw(st.lists(STAGE, min_size=1, max_size=3))
    if "site" in blocks:
        data["site"] = draw(SITE)
    if "prices" in blocks:
        data["prices"] = draw(PRICES)
    if "budget" in blocks:  # no model: the budget chooses it (no plan fields either)
        for key in ("model", "parallelism", "cluster", "stages"):
            data.pop(key, None)
        if draw(st.booleans()):
            data.pop("gpus")
        key = draw(st.sampled_from(["budget.usd", "budget.mw", "budget.days"]))
        _set(data, key, draw(mostly(st.sampled_from([1, 1e6, 1e9, 150, 90]))))
    for _ in range(draw(st.integers(1 if "dist" in blocks else 0, 2))):
        path = draw(st.sampled_from(NUMERIC_PATHS))
        _set(data, path, draw(distributions(path)))
    if "wild" in blocks:
        _set(data, draw(st.sampled_from(NUMERIC_PATHS)), draw(ANY_VALUE))
    return data


# ------------------------------------------------------------------ sweep, claims, audits

SWEEP_VALUES = st.lists(mostly(st.sampled_from([8, 64, 1e12, "llama3-8b", "h100-sxm"])),
                        max_size=4) | ANY_VALUE  # fmt: skip


@st.composite
def sweeps(draw: st.DrawFn) -> Any:
    """A sweep mapping: a base scenario and a grid or a random block, sound or not."""
    data: dict[str, Any] = {"base": draw(st.just(dict(BASE)) | ANY_VALUE)}
    mode = draw(st.sampled_from(["grid", "random", "both", "none"]))
    paths = st.sampled_from(["gpus", "training.tokens", "model", "hardware", "site.pue", "x.y",
                             "", "training", "parallelism.tp"])  # fmt: skip
    if mode in ("grid", "both"):
        data["grid"] = draw(st.dictionaries(paths, SWEEP_VALUES, max_size=3) | ANY_VALUE)
    if mode in ("random", "both"):
        data["random"] = draw(st.dictionaries(paths, distributions() | SWEEP_VALUES, max_size=3))
    for key in draw(st.lists(st.sampled_from(["samples", "seed", "extra"]), max_size=2)):
        data[key] = draw(NUMBER | ANY_VALUE)
    return data


CHECKS = ["run_h100_equivalents", "unpublished_hardware", "sourced_value", "accelerator_price",
          "trend_growth", "gpu_capex", "city_equivalent", "loss_improvement",
          "algorithmic_share", "future_rental", "audit", "nope", ""]  # fmt: skip
ARG_KEYS = ["run", "compare_run", "accelerator", "value", "what", "source", "basis", "quantity",
            "years", "gpus_from", "gpus_to", "gpus", "x"]  # fmt: skip
ARG_VALUES = mostly(st.sampled_from(["llama3-405b", "h100-sxm", "stable-video-diffusion",
                              "training_compute", "compute", 1000, 2, ""]))  # fmt: skip
CLAIMS = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["C1", "C2", ""]) | TEXT,
        "statement": TEXT,
        "quantity": TEXT,
        "unit": TEXT,
        "kind": st.sampled_from(["value", "range", "upper-bound", "forecast", "x"]),
        "claimed": mostly(st.sampled_from([1, 700, 3000, 0.5]), NUMBER | ANY_VALUE),
        "check": st.sampled_from(CHECKS),
        "args": st.dictionaries(
            st.sampled_from(ARG_KEYS), mostly(ARG_VALUES, ANY_VALUE), max_size=4
        ),
    },
    optional={
        "tolerance": st.fixed_dictionaries({}, optional={"supported": NUMBER, "roughly": NUMBER})
    },
)
DISCLOSURES = st.fixed_dictionaries(
    {},
    optional={
        "run": st.sampled_from(["llama3-405b", "gpt4", "nope", ""]),
        "model": st.sampled_from(["llama3-405b", "deepseek-v3", "nope"]),
        "params": mostly(st.sampled_from([7e9, 4.05e11])),
        "active_params": mostly(st.sampled_from([3.7e10, 1e12])),
        "tokens": mostly(st.sampled_from([1e12, 1.5e13])),
        "flops": mostly(st.sampled_from([3.8e25, 1e24])),
        "hardware": st.sampled_from(["h100-sxm", "h800", "tpu-v5p", "nope"]),
        "gpus": mostly(st.sampled_from([1, 2048, 16384, 100_000])),
        "days": mostly(st.sampled_from([0.5, 54, 90, 1000])),
        "gpu_hours": mostly(st.sampled_from([1, 2.8e6, 3.08e7])),
        "usd": mostly(st.sampled_from([1e3, 5.6e6, 1e9])),
        "usd_per_gpu_hour": mostly(st.sampled_from([0.5, 2, 20])),
        "precision": st.sampled_from(["bf16", "fp8", "fp4"]),
    },
)


def _seed_claims() -> list[dict[str, Any]]:
    from importlib import resources

    import yaml

    text = resources.files("gpuplan.catalog").joinpath("data", "claims.yaml").read_text("utf-8")
    return list(yaml.safe_load(text)["claims"])


SEED_CLAIMS = _seed_claims()


@st.composite
def seed_claims(draw: st.DrawFn) -> dict[str, Any]:
    """A claim of the seed's file with one of its args (or its claimed value) set to anything:
    the args each check reads are reached (random args rarely name all of a check's)."""
    row = dict(draw(st.sampled_from(SEED_CLAIMS)))
    args = dict(row.get("args") or {})
    if args and draw(st.integers(0, 3)):
        args[draw(st.sampled_from(sorted(args)))] = draw(NUMBER | ANY_VALUE | ARG_VALUES)
    else:
        row["claimed"] = draw(NUMBER | ANY_VALUE)
    return {**row, "args": args}


def _golden_scenarios() -> list[dict[str, Any]]:
    from pathlib import Path

    import yaml

    folder = Path(__file__).resolve().parents[1] / "golden" / "scenarios"
    return [yaml.safe_load(p.read_text("utf-8")) for p in sorted(folder.glob("*.yaml"))]


GOLDEN = _golden_scenarios()


def _leaves(data: Any, path: str = "") -> list[str]:
    if not isinstance(data, dict):
        return [path]
    return [leaf for k, v in data.items() for leaf in _leaves(v, f"{path}.{k}".lstrip("."))]


@st.composite
def golden_variants(draw: st.DrawFn) -> dict[str, Any]:
    """A golden scenario (published runs: DeepSeek-V3 on H800, Llama 3 405B, Open-Sora 2, a
    range) with one of its values set to anything or to a range or distribution."""
    import copy

    data = copy.deepcopy(draw(st.sampled_from(GOLDEN)))
    path = draw(st.sampled_from(_leaves(data)))
    _set(data, path, draw(NUMBER | ANY_VALUE | distributions(path) | st.sampled_from(CHIPS)))
    return data
