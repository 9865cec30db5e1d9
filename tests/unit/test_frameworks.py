"""Framework profiles: what a stack implements bounds the search, the answer names it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gpuplan.catalog import Catalog
from gpuplan.catalog.schema import Framework
from gpuplan.errors import ScenarioError
from gpuplan.model.rules import Context, rule_errors
from gpuplan.planning.run import plan
from gpuplan.scenario.parse import parse_scenario
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK
from gpuplan.search.plans import SearchOptions, search

# The stacks issue 13 asks for, each a catalog profile.
ISSUE_STACKS = (
    "megatron-lm-2021",
    "megatron-deepspeed-2022",
    "fsdp-metaseq-2022",
    "fsdp2-torchtitan-2024",
    "deepspeed-zero3",
    "megatron-core-2023",
    "megatron-core-2024",
    "megatron-core-2025",
    "jax-palm-2022",
    "jax-maxtext-2024",
)


def test_every_stack_of_the_issue_has_a_sourced_profile(catalog: Catalog) -> None:
    for framework_id in ISSUE_STACKS:
        framework = catalog.framework(framework_id)
        assert len(framework.source) > 40, framework_id
    assert DEFAULT_FRAMEWORK == "modern"


def test_a_default_the_stack_lacks_is_refused(catalog: Catalog) -> None:
    record = catalog.framework("megatron-2022").model_dump()
    with pytest.raises(ValidationError, match="default_zero"):
        Framework(**{**record, "zero_stages": (1,)})
    with pytest.raises(ValidationError, match="recompute_modes"):
        Framework(**{**record, "recompute_modes": ("fast",)})


def _search(catalog: Catalog, framework_id: str, **fixed: int):  # type: ignore[no-untyped-def]
    return search(
        catalog, catalog.model("llama2-7b"), catalog.accelerator("a100-80gb"), 64,
        global_batch=256, seq_len=4096, framework_id=framework_id,
        options=SearchOptions(**fixed),  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("framework_id", "allowed"),
    [
        ("llm-foundry-2023", {"tp": {1}, "pp": {1}, "cp": {1}, "zero": {2, 3}}),
        ("deepspeed-zero3", {"tp": {1}, "pp": {1}, "cp": {1}}),
        ("megatron-2022", {"zero": {0}, "cp": {1}}),
        ("megatron-deepspeed-2022", {"zero": {0, 1}, "cp": {1}}),
    ],
)
def test_searched_plans_use_only_what_the_stack_implements(
    catalog: Catalog, framework_id: str, allowed: dict[str, set[int]]
) -> None:
    result = _search(catalog, framework_id)
    assert result.best is not None
    framework = catalog.framework(framework_id)
    for step in result.top:
        p = step.plan
        values = {"tp": p.tensor_parallel, "pp": p.pipeline_parallel,
                  "cp": p.context_parallel, "zero": p.zero}  # fmt: skip
        for field, permitted in allowed.items():
            assert values[field] in permitted, (framework_id, field, values[field])
        assert p.recompute.value in framework.recompute_modes
        assert not p.sequence_parallel or framework.sequence_parallel
    assert any(f"framework '{framework_id}'" in reason for reason in result.pruned)
    # Every enumerated plan is still feasible or pruned for exactly one reason.
    assert sum(result.pruned.values()) + result.feasible == result.enumerated


def test_a_fixed_value_the_stack_lacks_is_named(catalog: Catalog) -> None:
    result = _search(catalog, "deepspeed-zero3", tp=1, pp=2)
    assert result.best is None
    assert result.pruned["framework 'deepspeed-zero3' has no pipeline parallelism (pp > 1)"] > 0
    assert result.feasible == 0


@pytest.mark.parametrize("framework_id", ["megatron-deepspeed-2022", "gpt-neox-2022"])
def test_deepspeed_pipeline_stacks_hold_one_chunk_per_rank(
    catalog: Catalog, framework_id: str
) -> None:
    """RULE DS-PIPE (docs/model.md): DeepSpeed's PipelineEngine has no interleaved schedule.
    Asking for interleave 2 leaves nothing; searching picks interleave 1 only, where the same
    search on Megatron's own stack (megatron-2022) may interleave."""
    fixed = _search(catalog, framework_id, pp=4, interleave=2)
    assert fixed.best is None and fixed.feasible == 0
    reason = f"framework '{framework_id}' has no interleaved pipeline schedule (interleave > 1)"
    assert fixed.pruned[reason] > 0
    searched = _search(catalog, framework_id, pp=4)
    assert searched.best is not None
    assert {step.plan.interleave for step in searched.top} == {1}
    megatron = _search(catalog, "megatron-2022", pp=4, interleave=2)
    assert megatron.best is not None and megatron.best.plan.interleave == 2


def test_the_default_stack_prunes_nothing_by_framework(catalog: Catalog) -> None:
    result = _search(catalog, DEFAULT_FRAMEWORK)
    assert not any("framework" in reason for reason in result.pruned)


def test_fp8_on_a_stack_without_an_fp8_recipe_is_one_line(catalog: Catalog) -> None:
    scenario = {
        "model": "llama3-8b",
        "hardware": "h100-sxm",
        "gpus": 64,
        "training": {"tokens": 1e12, "precision": "fp8"},
    }
    with pytest.raises(ScenarioError, match="framework 'megatron-2022' has no FP8 recipe"):
        plan(parse_scenario({**scenario, "framework": "megatron-2022"}), catalog)
    result = plan(parse_scenario({**scenario, "framework": "megatron-core-2025"}), catalog)
    assert result.resolved.framework.fp8_recipe == "current"


def test_tp_groups_on_a_tpu_torus_need_not_divide_the_pod(catalog: Catalog) -> None:
    # PaLM ran 12-way model parallelism on TPU v4 (Chowdhery et al. 2022 sec. 4); a pod of
    # 4,096 chips is a 3D torus, so a 12-chip group is a 2x2x3 block. On an 8-GPU NVLink
    # domain a 12-way group straddles two domains.
    palm = catalog.model("palm-540b")
    straddle = "would straddle scale-up domains"
    tpu = Context(palm, 6144, 2048, 2048, catalog.accelerator("tpu-v4"))
    gpu = Context(palm, 6144, 2048, 2048, catalog.accelerator("h100-sxm"),
                  allow_tp_beyond_domain=True)  # fmt: skip
    assert not any(straddle in e for e in rule_errors(tpu, {"tp": 12}))
    assert any(straddle in e for e in rule_errors(gpu, {"tp": 12}))


def test_palm_on_its_own_stack_lands_near_its_published_mfu(catalog: Catalog) -> None:
    # Chowdhery et al. 2022 App. B: 46.2% MFU, 57.8% HFU on 6,144 TPU v4 (no fitting on it).
    result = plan(
        parse_scenario({"model": "palm-540b", "hardware": "tpu-v4", "gpus": 6144,
                        "framework": "jax-palm-2022",
                        "training": {"tokens": 7.8e11, "global_batch": 2048}}),
        catalog,
    )  # fmt: skip
    assert result.step is not None and result.parallel_plan is not None
    assert result.parallel_plan.pipeline_parallel == 1
    assert result.parallel_plan.recompute.value == "full"
    assert 0.40 < result.step.mfu < 0.52


def test_dfm_wan_recipe_leaves_the_data_parallel_collectives_exposed(catalog: Catalog) -> None:
    """NeMo DFM's Wan recipe sets overlap_grad_reduce and overlap_param_gather off
    (frameworks.yaml megatron-bridge-dfm-2025): the same plan waits longer on its
    data-parallel reduce-scatter and all-gather than on Megatron-core 2025's overlapped ones,
    and the whole on-link time is exposed."""
    exposed = {}
    for framework in ("megatron-core-2025", "megatron-bridge-dfm-2025"):
        scenario = {
            "model": "wan-2.1-14b",
            "hardware": "h100-sxm",
            "gpus": 128,
            "framework": framework,
            "training": {"samples": 1.0e5, "global_batch": 128, "seq_len": 37440},
            "parallelism": {
                "tp": 2, "pp": 1, "cp": 4, "dp": 16, "microbatch": 1, "zero": 1,
                "recompute": "none", "sequence_parallel": True,
            },
        }  # fmt: skip
        step = plan(parse_scenario(scenario), catalog).to_dict()["step"]
        exposed[framework] = step["exposed_comm_by_axis_s"]["dp"]
        on_link = step["comm_on_link_by_axis_s"]["dp"]
    assert exposed["megatron-bridge-dfm-2025"] > 5 * exposed["megatron-core-2025"]
    assert exposed["megatron-bridge-dfm-2025"] == pytest.approx(on_link, rel=0.05)


def test_dfm_megatron_fsdp_profile_shards_everything(catalog: Catalog) -> None:
    """DFM's 2026 GB200 / B200 Wan recipes (frameworks.yaml megatron-bridge-dfm-fsdp-2026)
    run Megatron-FSDP with optim_grads_params: ZeRO-3 only, so a searched plan shards the
    weights: 1/32 of Wan 2.1 14B's BF16 weights per GPU on 32 GPUs with TP 1, PP 1
    (14.05e9 x 2 B / 32 = 0.88 GB) plus the two gathered layers ZeRO-3 keeps live
    (2 x 2 B x 14.05e9 / 40 = 1.40 GB): 2.28 GB, against 28.1 GB unsharded."""
    framework = catalog.framework("megatron-bridge-dfm-fsdp-2026")
    assert framework.zero_stages == (3,) and framework.default_zero == 3
    assert not framework.overlap_grad_reduce and not framework.overlap_param_gather
    scenario = {
        "model": "wan-2.1-14b", "hardware": "gb200", "gpus": 32,
        "framework": "megatron-bridge-dfm-fsdp-2026",
        "training": {"samples": 1.0e5, "global_batch": 64, "seq_len": 37440},
        "parallelism": {"tp": 1, "pp": 1, "cp": 2, "microbatch": 1},
    }  # fmt: skip
    result = plan(parse_scenario(scenario), catalog)
    assert result.parallel_plan is not None and result.parallel_plan.zero == 3
    assert result.step is not None
    params = result.params.total
    assert 13e9 < params < 15e9  # Wan 2.1 14B
    expected = 2 * params / 32 + 2 * 2 * params / 40
    assert result.step.memory.weights_bytes == pytest.approx(expected, rel=0.03)
    assert result.step.memory.weights_bytes < 0.1 * 2 * params
