"""The rules that make a parallel plan valid for a model, a batch, a GPU count and an
accelerator.

One table, :data:`RULES`, used by a single plan (:func:`plan_errors`, :func:`rule_errors`
for a partial one) and by the search (:func:`prune`, which applies it to numpy arrays of
plans and counts the plans pruned per rule). Each rule's ``broken`` is written with
numpy-compatible operators (``%``, ``==``, ``>``, ``&``, ``|``; never ``and``, ``or``,
``not`` or ``~`` on a field) so that it gives the same verdict on Python ints and on int
arrays.

The layout rules (reading only tp, pp, dp, cp, ep) come first, then the schedule rules: the
search prunes layouts before it builds their schedules, in this order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpuplan.catalog.schema import Accelerator, AcceleratorKind, Framework, Model


def edge_chunks(framework: Framework) -> int:
    """Pipeline chunks of ``framework`` that may hold no layer (:attr:`Context.edge_chunks`)."""
    return 2 if framework.pipeline_edge_chunks else 0


def divisors(n: int) -> list[int]:
    """The divisors of n, ascending, found in O(sqrt n) steps (a prime batch of 10^8
    sequences took seconds counted one by one).

    >>> divisors(12)
    [1, 2, 3, 4, 6, 12]
    """
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return small + [n // d for d in reversed(small) if d * d != n]


Fields = Mapping[str, Any]
"""Plan fields by their scenario names (tp, pp, dp, cp, ep, microbatch, interleave,
sequence_parallel as 0/1): ints for one plan (None for a field not given), or numpy int
arrays with one element per plan."""

LAYOUT_FIELDS = frozenset({"tp", "pp", "dp", "cp", "ep"})


@dataclass(frozen=True)
class Context:
    """What a plan is checked against."""

    model: Model
    gpus: int
    global_batch: int
    seq_len: int
    accelerator: Accelerator | None = None
    """Its scale-up domain bounds TP; None skips the rules that read it."""
    allow_tp_beyond_domain: bool = False
    """Let TP span several scale-up domains (multiples of the domain)."""
    experts_fold_tp: bool = False
    """EP is folded over TP x CP x DP (frameworks.yaml: moe_parallel_folding)."""
    dualpipe: bool = False
    """The framework's pipeline schedule is DualPipe (two chunks per GPU, one per direction)."""
    edge_chunks: int = 0
    """Pipeline chunks that may hold no layer: 2 where the first holds only the embedding
    and the last only the output and loss (frameworks.yaml: pipeline_edge_chunks)."""
    domain: int = field(init=False, compare=False, repr=False)
    """The accelerator's scale-up domain (0 without an accelerator: the rules that read it
    are skipped). This and the next two are read of the records once per context, not by
    a call per rule judged: a scenario's plans are each checked in the same context."""
    switched: bool = field(init=False, compare=False, repr=False)
    """A switched scale-up domain (NVLink, xGMI): a group that does not divide it spans two.
    A TPU pod is a 3D torus: a TP group of any size is a contiguous sub-block of a slice
    (PaLM ran 12-way model parallelism on TPU v4, Chowdhery et al. 2022 sec. 4)."""
    experts: int = field(init=False, compare=False, repr=False)
    """The model's routed experts (1 for a dense model)."""

    def __post_init__(self) -> None:
        chip, moe = self.accelerator, self.model.moe
        object.__setattr__(self, "domain", chip.scaleup_domain if chip is not None else 0)
        object.__setattr__(self, "switched", chip is not None and chip.kind != AcceleratorKind.TPU)
        object.__setattr__(self, "experts", moe.experts if moe is not None else 1)


@dataclass(frozen=True)
class Rule:
    """One validity rule: the fields it reads, when it is broken, and what to tell the user."""

    id: str
    """Short reason, also the key of the search's pruned-plan counts."""
    fields: tuple[str, ...]
    broken: Callable[[Context, Fields], Any]
    """True (or an array of verdicts) where the rule is broken."""
    message: Callable[[Context, Fields], str]
    partial: bool = False
    """Checked on whichever of its fields are given (else skipped unless all are)."""
    needs_accelerator: bool = False
    """Reads the accelerator's scale-up domain (skipped when the context has none)."""

    def applies(self, context: Context, fields: Fields) -> bool:
        if self.needs_accelerator and context.accelerator is None:
            return False
        return self.partial or all(fields.get(k) is not None for k in self.fields)

    @property
    def layout(self) -> bool:
        """Reads only the layout (tp, pp, dp, cp, ep), not the schedule."""
        return set(self.fields) <= LAYOUT_FIELDS


def _valid(values: list[int], limit: int = 12) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def _tp_values(c: Context) -> list[int]:
    """The TP degrees that break none of the rules on TP alone (read from the table)."""
    rules = [r for r in RULES if r.fields == ("tp",) and r.applies(c, {"tp": 1})]
    return [t for t in divisors(c.model.heads) if not any(r.broken(c, {"tp": t}) for r in rules)]


def _domain(c: Context) -> int:
    assert c.accelerator is not None, "a rule that reads the accelerator says so"
    return c.domain


def _folded_tp(c: Context, f: Fields) -> Any:
    """TP ranks the EP group folds over (1 unless the framework folds experts over TP; an
    unknown TP is taken as large enough: the rule is judged once it is given)."""
    if not c.experts_fold_tp:
        return 1
    tp = f.get("tp")
    return f["ep"] if tp is None else tp


_DEGREES = ("tp", "pp", "dp", "cp")


def _degrees(f: Fields) -> Any:
    """The product of the degrees given (ints or arrays), left to right from 1 (a loop: a
    plan's check judges this rule on every plan, and ``reduce`` over a generator cost it
    three times as much)."""
    product: Any = 1
    for k in _DEGREES:
        if (degree := f.get(k)) is not None:
            product = product * degree
    return product


RULES: tuple[Rule, ...] = (
    Rule(
        "tp does not divide the heads",
        ("tp",),
        lambda c, f: c.model.heads % f["tp"] != 0,
        lambda c, f: (
            f"parallelism.tp = {f['tp']} does not divide heads = {c.model.heads}; "
            f"valid: {_valid(_tp_values(c))}"
        ),
    ),
    Rule(
        "tp and the kv heads do not divide one another",
        ("tp",),
        lambda c, f: (c.model.kv_heads % f["tp"] != 0) & (f["tp"] % c.model.kv_heads != 0),
        lambda c, f: (
            f"parallelism.tp = {f['tp']} and kv_heads = {c.model.kv_heads}: one must "
            f"divide the other; valid: {_valid(_tp_values(c))}"
        ),
    ),
    Rule(
        "tp beyond the scale-up domain",
        ("tp",),
        lambda c, f: (f["tp"] > c.domain) & (not c.allow_tp_beyond_domain),
        lambda c, f: (
            f"parallelism.tp = {f['tp']} spans more than one scale-up domain of {_domain(c)} "
            f"{c.accelerator.id if c.accelerator else ''} GPUs (not allowed unless "
            f"allow_tp_beyond_domain); valid: {_valid(_tp_values(c))}"
        ),
        needs_accelerator=True,
    ),
    Rule(
        "tp groups would straddle scale-up domains",
        ("tp",),
        lambda c, f: (c.domain % f["tp"] != 0) & (f["tp"] % c.domain != 0) & c.switched,
        lambda c, f: (
            f"parallelism.tp = {f['tp']} would straddle scale-up domains of {_domain(c)} "
            f"{c.accelerator.id if c.accelerator else ''} GPUs (it must divide or be a "
            f"multiple of {_domain(c)}); valid: {_valid(_tp_values(c))}"
        ),
        needs_accelerator=True,
    ),
    Rule(
        "cp does not divide the sequence",
        ("cp",),
        lambda c, f: c.seq_len % f["cp"] != 0,
        lambda c, f: f"parallelism.cp = {f['cp']} does not divide seq_len = {c.seq_len}",
    ),
    Rule(
        "the degrees exceed the GPUs",
        _DEGREES,
        lambda c, f: _degrees(f) > c.gpus,
        lambda c, f: (
            " x ".join(k for k in _DEGREES if f.get(k) is not None)
            + " = "
            + " x ".join(str(f[k]) for k in _DEGREES if f.get(k) is not None)
            + f" = {_degrees(f)} exceeds gpus = {c.gpus}"
        ),
        partial=True,
    ),
    Rule(
        "dp does not divide the batch",
        ("dp",),
        lambda c, f: c.global_batch % f["dp"] != 0,
        lambda c, f: (
            f"parallelism.dp = {f['dp']} does not divide training.global_batch = {c.global_batch}"
        ),
    ),
    Rule(
        "ep without experts",
        ("ep",),
        lambda c, f: (f["ep"] != 1) & (c.model.moe is None),
        lambda c, f: f"parallelism.ep = {f['ep']} but {c.model.id} has no experts; valid: 1",
    ),
    Rule(
        "ep does not divide the experts",
        ("ep",),
        lambda c, f: (c.experts % f["ep"] != 0) & (c.model.moe is not None),
        lambda c, f: (
            f"parallelism.ep = {f['ep']} does not divide experts = {c.experts}; valid: "
            f"{_valid(divisors(c.experts))}"
        ),
    ),
    Rule(
        "ep does not divide dp x cp",
        ("ep", "dp", "cp"),
        lambda c, f: (f["dp"] * f["cp"] * _folded_tp(c, f)) % f["ep"] != 0,
        lambda c, f: (
            f"parallelism.ep = {f['ep']} must divide tp x dp x cp = "
            f"{_folded_tp(c, f) * f['dp'] * f['cp']} (experts folded over TP)"
            if c.experts_fold_tp
            else f"parallelism.ep = {f['ep']} must divide dp x cp = {f['dp'] * f['cp']}"
        ),
    ),
    Rule(
        "pp x interleave exceeds the layers",
        ("pp", "interleave"),
        lambda c, f: f["pp"] * f["interleave"] > c.model.layers + c.edge_chunks,
        lambda c, f: (
            f"parallelism.pp x interleave = {f['pp']} x {f['interleave']} = "
            f"{f['pp'] * f['interleave']} exceeds layers = {c.model.layers}"
            + (f" + {c.edge_chunks} embedding and loss chunks" if c.edge_chunks else "")
        ),
    ),
    Rule(
        "interleave needs pp > 1",
        ("pp", "interleave"),
        lambda c, f: (f["interleave"] > 1) & (f["pp"] == 1),
        lambda c, f: f"parallelism.interleave = {f['interleave']} needs pp > 1 (pp = 1)",
    ),
    Rule(
        "dualpipe runs no interleave",
        ("interleave",),
        lambda c, f: (f["interleave"] > 1) & c.dualpipe,
        lambda c, f: (
            f"parallelism.interleave = {f['interleave']} but the framework's DualPipe schedule "
            "holds one chunk per direction on each GPU; valid: 1"
        ),
    ),
    Rule(
        "micro-batch does not divide the batch per replica",
        ("dp", "microbatch"),
        lambda c, f: (c.global_batch // f["dp"]) % f["microbatch"] != 0,
        lambda c, f: (
            f"training.global_batch = {c.global_batch} is not a multiple of "
            f"microbatch x dp = {f['microbatch']} x {f['dp']} = {f['microbatch'] * f['dp']}"
        ),
    ),
    Rule(
        "micro-batch does not divide the batch",
        ("microbatch",),
        lambda c, f: c.global_batch % f["microbatch"] != 0,
        lambda c, f: (
            f"parallelism.microbatch = {f['microbatch']} does not divide "
            f"training.global_batch = {c.global_batch}"
        ),
    ),
    Rule(
        "sequence parallelism needs tp > 1",
        ("sequence_parallel", "tp"),
        lambda c, f: (f["sequence_parallel"] != 0) & (f["tp"] == 1),
        lambda c, f: "parallelism.sequence_parallel needs tp > 1",
    ),
)
LAYOUT_RULES = tuple(r for r in RULES if r.layout)
SCHEDULE_RULES = tuple(r for r in RULES if not r.layout)
assert RULES == LAYOUT_RULES + SCHEDULE_RULES, "layout rules come first"


DEGREES = ("tp", "pp", "dp", "cp")
"""The parallel degrees whose product is the GPUs a plan uses."""


def rule_errors(context: Context, fields: Fields) -> list[str]:
    """Every rule the given fields break (a rule whose fields are not all given is skipped,
    unless it is ``partial``; one that reads the accelerator is skipped without one). A
    partial plan runs one virtual stage per GPU unless told otherwise."""
    fields = {"interleave": 1, **{k: v for k, v in fields.items() if v is not None}}
    return messages(context, fields, applying(context, fields))


def messages(context: Context, fields: Fields, rules: Sequence[Rule]) -> list[str]:
    """The messages of the ``rules`` that ``fields`` break, and of a layout given in full
    that uses fewer than the GPUs."""
    errors = [rule.message(context, fields) for rule in rules if rule.broken(context, fields)]
    # All four degrees given: the layout is the user's, so it must use every GPU (the
    # search's fallback to 75% of them ran 8 x 2 x 3 x 1 = 48 of 64 GPUs as if asked to).
    tp, pp, dp, cp = map(fields.get, DEGREES)
    if isinstance(tp, int) and isinstance(pp, int) and isinstance(dp, int) and isinstance(cp, int):
        tp, pp, dp, cp = int(tp), int(pp), int(dp), int(cp)  # (booleans as numbers)
        if tp * pp * dp * cp < context.gpus:
            errors.append(
                f"tp x pp x dp x cp = {tp} x {pp} x {dp} x {cp} = {tp * pp * dp * cp}, "
                f"not gpus = {context.gpus}"
            )
    return errors


_APPLYING: dict[tuple[object, ...], tuple[Rule, ...]] = {}
"""The rules that apply per field names given and whether there is an accelerator: a
per-process constant, built once per key (no scenario's numbers or records in it)."""


def applying(context: Context, fields: Fields) -> tuple[Rule, ...]:
    """The rules that apply to ``fields`` (none None) in ``context``: kept per field names
    and whether the context has an accelerator, all that :meth:`Rule.applies` reads."""
    key = (*fields, context.accelerator is None)
    if (kept := _APPLYING.get(key)) is None:
        if len(_APPLYING) >= 256:  # bounded (the field names a plan can give are few)
            _APPLYING.clear()
        kept = _APPLYING[key] = tuple(r for r in RULES if r.applies(context, fields))
    return kept


def prune(
    context: Context,
    fields: Mapping[str, np.ndarray],
    rules: Sequence[Rule] = RULES,
    pruned: dict[str, int] | None = None,
) -> np.ndarray:
    """Which plans of ``fields`` (arrays, one element per plan, or arrays that broadcast to
    a grid of plans) break none of ``rules``: a boolean mask. Each pruned plan is counted in
    ``pruned``, by id, under the first rule it breaks."""
    shape = np.broadcast_shapes(*(np.shape(v) for v in fields.values()))
    keep: np.ndarray = np.ones(shape, dtype=np.bool_)
    for rule in rules:
        if not rule.applies(context, fields):
            continue
        broken = keep & rule.broken(context, fields)
        count = int(np.count_nonzero(broken))
        if count:
            keep &= ~broken
            if pruned is not None:
                pruned[rule.id] = pruned.get(rule.id, 0) + count
    return keep


def stage_layers(layers: int, stages: int) -> list[int]:
    """Layers per pipeline stage. When they do not divide, the last and first stages,
    which also hold the logits and the embedding, get one layer fewer, then their
    neighbours inwards.

    Llama 3 405B put 126 layers on 16 stages this way (Dubey et al. 2024 sec. 3.3.2): one
    layer fewer on the first and on the last stage.
    """
    per_stage = -(-layers // stages)
    counts = [per_stage] * stages
    deficit = per_stage * stages - layers
    order = [i for pair in zip(range(stages - 1, -1, -1), range(stages), strict=True) for i in pair]
    for index in list(dict.fromkeys(order))[:deficit]:
        counts[index] -= 1
    return counts
