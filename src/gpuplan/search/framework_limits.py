"""What a software stack implements bounds the plans the search may pick.

A framework profile (catalog ``frameworks.yaml``) says which parallelisms, ZeRO stages and
recompute modes its stack offers: PyTorch FSDP and DeepSpeed ZeRO-3 have no tensor or
pipeline parallelism of their own, PaLM's JAX stack no pipeline, Megatron-LM 2021-22 no
distributed optimizer. A plan that needs what the stack lacks is pruned, by one named
reason, like a plan that breaks a rule (``model/rules.py``); a value the user fixed is
judged the same way, so the answer names the framework and the missing feature.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gpuplan.catalog.schema import Framework
from gpuplan.model.batch import RECOMPUTE_ORDER

Columns = dict[str, np.ndarray]


def _checks(framework: Framework) -> list[tuple[str, Callable[[Columns], np.ndarray]]]:
    """(reason, broken) for each feature the plan may need; broken is a boolean mask."""
    modes = [
        RECOMPUTE_ORDER.index(m) for m in RECOMPUTE_ORDER if m.value in framework.recompute_modes
    ]
    name = f"framework '{framework.id}'"
    return [
        (f"{name} has no tensor parallelism (tp > 1)",
         lambda c: (c["tp"] > 1) & (not framework.tensor_parallel)),
        (f"{name} has no pipeline parallelism (pp > 1)",
         lambda c: (c["pp"] > 1) & (not framework.pipeline_parallel)),
        (f"{name} has no interleaved pipeline schedule (interleave > 1)",
         lambda c: (c["interleave"] > 1) & (not framework.interleaved_pipeline)),
        (f"{name} has no context parallelism (cp > 1)",
         lambda c: (c["cp"] > 1) & (not framework.context_parallel)),
        (f"{name} has no sequence parallelism",
         lambda c: c["sequence_parallel"].astype(bool) & (not framework.sequence_parallel)),
        (f"{name} implements ZeRO stages {list(framework.zero_stages)} only",
         lambda c: ~np.isin(c["zero"], list(framework.zero_stages))),
        (f"{name} offers recompute {list(framework.recompute_modes)} only",
         lambda c: ~np.isin(c["recompute"], modes)),
    ]  # fmt: skip


def _offered(framework: Framework, columns: Columns) -> tuple[bool, ...]:
    """Per check of :func:`_checks`, whether the stack offers every value of ``columns``
    (then the check cannot break a plan, and is skipped)."""
    zero, recompute = columns["zero"], columns["recompute"]
    modes = {mode.value for mode in RECOMPUTE_ORDER}
    every_zero = zero.size > 0 and int(zero.min()) >= 0 and int(zero.max()) <= 3
    every_mode = recompute.size > 0 and int(recompute.min()) >= 0 and int(recompute.max()) < 3
    return (framework.tensor_parallel, framework.pipeline_parallel,
            framework.interleaved_pipeline, framework.context_parallel, framework.sequence_parallel,
            every_zero and set(framework.zero_stages) >= {0, 1, 2, 3},
            every_mode and modes <= set(framework.recompute_modes))  # fmt: skip


def restrict_to_framework(
    framework: Framework, columns: Columns, pruned: dict[str, int]
) -> Columns:
    """The plans of ``columns`` the stack can run; the others counted in ``pruned`` under
    the first feature they lack."""
    keep = np.ones(columns["tp"].size, dtype=bool)
    for (reason, broken), offered in zip(_checks(framework), _offered(framework, columns),
                                         strict=True):  # fmt: skip
        if offered:  # the stack offers every value these plans take: nothing to prune
            continue
        mask = keep & broken(columns)
        if mask.any():
            pruned[reason] = pruned.get(reason, 0) + int(np.count_nonzero(mask))
            keep &= ~mask
    if keep.all():
        return columns
    return {k: v[keep] for k, v in columns.items()}
