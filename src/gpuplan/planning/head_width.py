"""Whether a framework profile's attention kernel runs the model's heads.

Fused attention kernels run heads up to a width (frameworks.yaml ``attention_kernels``:
FlashAttention 1 and the Triton kernel 128, FlashAttention-2, FlashAttention-3 and cuDNN 256);
a scenario whose heads are wider than its profile's kernel runs is infeasible, not timed as if
it ran. The reason names the kernel, its limit and source, the model's head width and a
profile whose kernel runs it.
"""

from __future__ import annotations

from gpuplan.catalog.loader import Catalog
from gpuplan.catalog.schema import Framework, Model
from gpuplan.scenario.resolve import DEFAULT_FRAMEWORK


def attention_head_width(model: Model) -> int:
    """The widest head the attention kernel multiplies: the head size, or under multi-head
    latent attention the wider of the query/key head (``qk_nope + qk_rope``) and the value
    head, the widths the layer model times (:mod:`gpuplan.model.layer`)."""
    if model.mla is None:
        return model.head_size
    a = model.mla
    return max(a.qk_nope_head_dim + a.qk_rope_head_dim, a.v_head_dim)


def _width_text(model: Model) -> str:
    """How the head width follows from the model's shape."""
    if model.mla is not None:
        a = model.mla
        return (
            f"multi-head latent attention: query/key head {a.qk_nope_head_dim} + "
            f"{a.qk_rope_head_dim}, value head {a.v_head_dim}"
        )
    if model.head_dim is not None and model.head_dim * model.heads != model.hidden:
        return f"head_dim {model.head_dim}"
    return f"hidden {model.hidden:,} / {model.heads} heads"


def runs_width(catalog: Catalog, framework: Framework, width: int) -> bool:
    """Whether the profile's attention kernel runs heads ``width`` wide."""
    limit = catalog.attention_kernels[framework.attention].max_head_dim
    return limit is None or width <= limit


def _suggestion(catalog: Catalog, framework: Framework, width: int) -> str:
    """A profile whose kernel runs ``width``: one of the same stack (the id without its last
    part, 'gpt-neox-2023' -> 'gpt-neox-2022'), else the default profile, else the first."""
    fits = [f for f in catalog.frameworks.values() if runs_width(catalog, f, width)]
    stem = framework.id.rsplit("-", 1)[0]
    same = [f for f in fits if f.id.rsplit("-", 1)[0] == stem]
    default = [f for f in fits if f.id == DEFAULT_FRAMEWORK]
    choices = same or default or fits
    if not choices:
        return "no framework profile's kernel runs it"
    choice = choices[0]
    return f"use framework '{choice.id}' ({choice.attention.value} attention)"


def head_width_error(catalog: Catalog, model: Model, framework: Framework) -> str | None:
    """Why ``framework``'s attention kernel cannot run ``model``'s heads; None if it can."""
    width = attention_head_width(model)
    if runs_width(catalog, framework, width):
        return None
    kernel = catalog.attention_kernels[framework.attention]
    return (
        f"framework '{framework.id}' runs attention kernel '{kernel.id}', {kernel.name}, "
        f"which runs heads up to {kernel.max_head_dim} wide ({kernel.cited}); {model.id}'s "
        f"heads are {width} wide ({_width_text(model)}); " + _suggestion(catalog, framework, width)
    )
