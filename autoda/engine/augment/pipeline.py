"""The per-batch graph: from a plan, a fixed pipeline that draws every sample's ops and
parameters and applies them to the whole batch at once.

Sampling is separate from applying: ``draw`` turns labels into a ``Draw`` (which ops each
sample applies, with what parameter and extra random numbers), ``apply`` runs a Draw on a
batch, so a batch can be replayed, inspected, or handed to the per-sample reference
interpreter. Both are free of Python loops over samples or classes and of host syncs: the
loops here run over the policy's ops, a number fixed when the policy is compiled.

The pipeline order is the language's: geometric ops (one composed matrix, one warp), then
colour ops, then filters (one composed kernel, one grouped convolution), then erasing;
within a kind, in the order the stages and the op list name them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ...compiler.plan import Plan, StagePlan
from ...ops import OPS
from . import colour, erase, filters, geometric
from .colour import levels

KIND_ORDER = ("geometric", "colour", "filter", "erase")
_MODULES = {"geometric": geometric, "colour": colour, "filter": filters, "erase": erase}


def implementation(op: str):
    """The function that implements a registry op (the identity op has none)."""
    return getattr(_MODULES[OPS[op].kind], op)


@dataclass(frozen=True)
class Entry:
    """One op in the pipeline, fed by one source column of the draw (an apply slot or a
    single-op stage), or by several that no sample draws together: the same op in
    different sub-policies of a ``one of``."""

    op: str
    kind: str
    sources: tuple[int, ...]
    aux: str | None  # what extra random numbers it draws


@dataclass
class Draw:
    """Everything random about one batch: enough to replay it exactly."""

    ops: tuple[str, ...]  # the pipeline's ops, in order (columns of the tensors below)
    applied: torch.Tensor  # [B, E] bool: does the sample apply the op
    magnitude: torch.Tensor  # [B, E]: the magnitude drawn (0 where not applied)
    value: torch.Tensor  # [B, E]: the op's parameter (its identity where not applied)
    aux: tuple[torch.Tensor | None, ...]  # per op: [B, 2] or [B, 4] uniforms, [B, 3, H, W] noise, or None


@dataclass(frozen=True)
class _Columns:
    """Where a stage's per-class parameters sit in the packed table."""

    count: int | None
    weight: slice | None
    probability: slice
    magnitude: slice | None  # a value ...
    uniform: tuple[slice, slice] | None  # ... or the bounds of a per-sample uniform draw


class Pipeline(torch.nn.Module):
    def __init__(self, plan: Plan, one_coin: bool = False) -> None:
        """``one_coin``: an apply stage's drawn ops apply together or not at all, on one draw
        per sample against the first op's probability (the paper's host: a sample is
        augmented with probability AUG_PROB, and then with every op chosen for its class);
        otherwise each drawn op applies on a draw of its own, as the language says."""
        super().__init__()
        self.plan = plan
        self.one_coin = one_coin
        self.num_ops = plan.num_ops
        sources: list[str] = []  # op per source column, stage by stage
        self.columns: list[_Columns] = []
        # Filters of an apply stage that draws at most one op never meet on one sample, so
        # their kernels add up (each undrawn one adds nothing) instead of composing: a
        # kernel as wide as the widest of them, not as the sum of their widths.
        exclusive: set[int] = set()
        width = 0
        for stage in plan.stages:
            n = len(stage.ops) if stage.kind == "apply" else 1
            cols, width = self._layout(stage, n, width)
            self.columns.append(cols)
            if stage.kind == "apply" and stage.max_count <= 1:
                exclusive.update(range(len(sources), len(sources) + n))
            sources += stage.ops
        self.table_width = width
        self.sources = tuple(sources)
        entries = [Entry(sources[group[0]], OPS[sources[group[0]]].kind, tuple(group),
                         getattr(implementation(sources[group[0]]), "aux", None))
                   for group in _passes(plan) if OPS[sources[group[0]]].kind != "identity"]
        entries.sort(key=lambda e: KIND_ORDER.index(e.kind))  # stable: written order within a kind
        self.entries = tuple(entries)
        self.kinds = {kind: [i for i, e in enumerate(entries) if e.kind == kind] for kind in KIND_ORDER}
        self.exclusive_filters = [i for i in self.kinds["filter"] if set(entries[i].sources) <= exclusive]
        # Each ``one of`` draws a sub-policy per sample from one uniform of its own.
        self.choices = tuple(sorted({(s.choice.group, s.choice.members) for s in plan.stages if s.choice}))
        params = [OPS[op].param for op in sources]
        # Static per-source constants, as buffers so they live on the device with the policy.
        self.register_buffer("at_zero", torch.tensor([p.at_zero if p else 0.0 for p in params]), persistent=False)
        self.register_buffer("span", torch.tensor([p.at_one - p.at_zero if p else 0.0 for p in params]),
                             persistent=False)
        self.register_buffer("signed", torch.tensor([bool(p and p.signed) for p in params]), persistent=False)
        self.register_buffer("has_magnitude", torch.tensor([p is not None for p in params]), persistent=False)
        self.register_buffer("entry_sources", torch.tensor([e.sources[0] for e in entries], dtype=torch.long),
                             persistent=False)
        # A pass fed by several sources sums them (at most one is drawn per sample): a
        # [sources, entries] 0/1 matrix; None when every pass has one source.
        merged = any(len(e.sources) > 1 for e in entries)
        self.register_buffer("merge", torch.tensor([[float(i in e.sources) for e in entries]
                                                    for i in range(len(sources))]) if merged else None,
                             persistent=False)
        self.register_buffer("slots", torch.arange(max(plan.num_ops, 1)), persistent=False)
        self.uniforms_per_sample = (sum(4 * len(s.ops) if s.kind == "apply" else 3 for s in plan.stages)
                                    + len(self.choices))

    @staticmethod
    def _layout(stage: StagePlan, n: int, start: int) -> tuple[_Columns, int]:
        at = start

        def take(width: int) -> slice:
            nonlocal at
            at += width
            return slice(at - width, at)

        count = take(1).start if stage.kind == "apply" else None
        weight = take(n) if stage.kind == "apply" else None
        probability = take(n)
        magnitude = uniform = None
        if stage.magnitude is not None and stage.magnitude.uniform is not None:
            uniform = (take(n), take(n))
        elif stage.magnitude is not None:
            magnitude = take(n)
        return _Columns(count, weight, probability, magnitude, uniform), at

    # --- once per epoch ------------------------------------------------------------------

    def pack(self, values: list[torch.Tensor], num_classes: int) -> torch.Tensor:
        """The per-class table [C, T] of every stage parameter, from the epoch program's values,
        each written where ``_layout`` put its columns."""
        device = values[0].device if values else self.at_zero.device
        table = torch.zeros(num_classes, self.table_width, device=device)

        def put(where: slice | int, value: int) -> None:
            where = slice(where, where + 1) if isinstance(where, int) else where
            table[:, where] = values[value].float().expand(num_classes, where.stop - where.start)

        for stage, cols in zip(self.plan.stages, self.columns):
            if cols.count is not None:
                put(cols.count, stage.count)
            if cols.weight is not None:
                put(cols.weight, stage.weight)
            put(cols.probability, stage.probability)
            if cols.magnitude is not None:
                put(cols.magnitude, stage.magnitude.value)
            if cols.uniform is not None:
                put(cols.uniform[0], stage.magnitude.uniform[0])
                put(cols.uniform[1], stage.magnitude.uniform[1])
        return table

    # --- per batch -----------------------------------------------------------------------

    def draw(self, table: torch.Tensor, labels: torch.Tensor, image_shape: tuple[int, ...],
             generator: torch.Generator) -> Draw:
        b = labels.shape[0]
        device = table.device
        rows = table.index_select(0, labels)
        u = torch.rand(b, self.uniforms_per_sample, generator=generator, device=device)
        picks = {}  # one of -> each sample's sub-policy, from the last uniforms
        for j, (group, members) in enumerate(self.choices):
            at_u = self.uniforms_per_sample - len(self.choices) + j
            picks[group] = (u[:, at_u] * members).long().clamp_(max=members - 1)
        applied, magnitude, sign = [], [], []
        at = 0
        for stage, cols in zip(self.plan.stages, self.columns):
            n = len(stage.ops) if stage.kind == "apply" else 1
            draws = u[:, at:at + (4 * n if stage.kind == "apply" else 3)]
            at += draws.shape[1]
            probability = rows[:, cols.probability]
            if stage.kind == "apply":
                count = rows[:, cols.count:cols.count + 1]
                chosen = self._choose(rows[:, cols.weight], count, draws[:, 3 * n:])
            elif stage.choice is not None:
                chosen = (picks[stage.choice.group] == stage.choice.member).unsqueeze(1)
            else:
                chosen = torch.ones(b, 1, dtype=torch.bool, device=device)
            coin = draws[:, :1].expand(b, n) if self.one_coin and stage.kind == "apply" else draws[:, :n]
            applied.append(chosen & (coin < probability))
            if cols.uniform is not None:
                lo, hi = rows[:, cols.uniform[0]], rows[:, cols.uniform[1]]
                magnitude.append(lo + (hi - lo) * draws[:, n:2 * n])
            elif cols.magnitude is not None:
                magnitude.append(rows[:, cols.magnitude])
            else:
                magnitude.append(torch.zeros(b, n, device=device))
            sign.append(torch.where(draws[:, 2 * n:3 * n] < 0.5, -1.0, 1.0))
        applied_s, magnitude_s, sign_s = (torch.cat(x, dim=1) for x in (applied, magnitude, sign))
        deviation = torch.where(self.signed, sign_s, 1.0) * magnitude_s * self.span
        value_s = torch.where(self.has_magnitude, self.at_zero + torch.where(applied_s, deviation, 0.0),
                              applied_s.float())
        aux = self._aux(b, image_shape, generator, device)
        ops = tuple(e.op for e in self.entries)
        if self.merge is not None:
            # Sources of one pass are one op, so they share its identity value: sum what the
            # drawn one deviates from it.
            on = applied_s.to(self.merge.dtype)
            identity = self.at_zero * self.has_magnitude
            applied_e = (on @ self.merge) > 0
            magnitude_e = (magnitude_s * on) @ self.merge
            value_e = identity.index_select(0, self.entry_sources) + ((value_s - identity) * on) @ self.merge
            return Draw(ops, applied_e, magnitude_e, value_e, aux)
        index = self.entry_sources
        applied_e = applied_s.index_select(1, index)
        return Draw(ops, applied_e, torch.where(applied_e, magnitude_s.index_select(1, index), 0.0),
                    value_s.index_select(1, index), aux)

    def _choose(self, weight: torch.Tensor, count: torch.Tensor, gumbel_u: torch.Tensor) -> torch.Tensor:
        """Each row draws ``count`` distinct slots with probability proportional to weight:
        Gumbel top-k, masked by the row's count instead of a per-row k."""
        gumbel = -torch.log(-torch.log(gumbel_u.clamp(1e-12, 1 - 1e-7)))
        keys = torch.log(weight) + gumbel  # weight 0 -> -inf: never among the drawn
        order = keys.argsort(dim=1, descending=True)
        rank = torch.empty_like(order).scatter_(1, order, self.slots[: weight.shape[1]].expand_as(order))
        return (rank < count) & (weight > 0)

    def _aux(self, b: int, image_shape: tuple[int, ...], generator: torch.Generator,
             device: torch.device) -> tuple[torch.Tensor | None, ...]:
        kinds = [e.aux for e in self.entries]
        # drawn kind by kind, in this order, each only when some op needs it: a pipeline
        # without a kind draws what it drew before that kind existed
        shapes = {"uniform2": (2,), "noise": (3, *image_shape[-2:]), "uniform4": (4,)}
        drawn = {}
        for kind, shape in shapes.items():
            n = kinds.count(kind)
            if n:
                sample = torch.randn if kind == "noise" else torch.rand
                drawn[kind] = sample(b, n, *shape, generator=generator, device=device)
        out, seen = [], dict.fromkeys(shapes, 0)
        for kind in kinds:
            if kind is None:
                out.append(None)
                continue
            out.append(drawn[kind][:, seen[kind]])
            seen[kind] += 1
        return tuple(out)

    def apply(self, images: torch.Tensor, draw: Draw) -> torch.Tensor:
        if not self.entries or images.shape[0] == 0:  # only the identity, or no images: nothing to compute
            return images.clone()
        x = to_unit(images)
        b, _, h, w = x.shape
        value = draw.value.to(x.dtype)
        if self.kinds["geometric"]:
            matrix = torch.eye(3, dtype=x.dtype, device=x.device).expand(b, 3, 3)
            for i in self.kinds["geometric"]:
                op = implementation(self.entries[i].op)
                matrix = op(value[:, i], draw.aux[i], h, w) @ matrix
            # A sample that drew no geometric op keeps its pixels exactly, not resampled.
            moved = draw.applied[:, self.kinds["geometric"]].any(dim=1).view(b, 1, 1, 1)
            x = torch.lerp(x, geometric.warp(x, matrix), moved.to(x.dtype))
        for i in self.kinds["colour"]:
            x = self._point_op(x, draw, value, i)
        if self.kinds["filter"]:
            kernels = [implementation(self.entries[i].op)(value[:, i]) for i in self.kinds["filter"]
                       if i not in self.exclusive_filters]
            if self.exclusive_filters:
                kernels.append(filters.add([implementation(self.entries[i].op)(value[:, i])
                                            for i in self.exclusive_filters]))
            x = filters.convolve(x, filters.compose(kernels))
        for i in self.kinds["erase"]:
            x = self._point_op(x, draw, value, i)
        return from_unit(x, images.dtype)

    def _point_op(self, x: torch.Tensor, draw: Draw, value: torch.Tensor, i: int) -> torch.Tensor:
        op = implementation(self.entries[i].op)
        out = op(x, value[:, i], draw.aux[i])
        if getattr(op, "exact_identity", False):  # undrawn samples got the identity: unchanged
            return out
        # lerp by 0 or 1 selects exactly, and in one pass where torch.where takes two
        return torch.lerp(x, out, draw.applied[:, i].view(-1, 1, 1, 1).to(x.dtype))


def _passes(plan: Plan) -> list[list[int]]:
    """The sources (columns of the draw) of each pipeline pass, in written order: one each,
    but a ``one of``'s shared passes, which stand where its first term does, in pass order."""
    passes: list[list[int]] = []
    shared: dict[tuple[int, int], list[int]] = {}
    at = 0
    for stage in plan.stages:
        n = len(stage.ops) if stage.kind == "apply" else 1
        if stage.choice is None:
            passes += [[i] for i in range(at, at + n)]
        else:
            group = stage.choice.group
            if not any(g == group for g, _ in shared):  # the group's first term: all its passes here
                columns = sorted({s.choice.column for s in plan.stages if s.choice and s.choice.group == group})
                for column in columns:
                    shared[group, column] = []
                    passes.append(shared[group, column])
            shared[group, stage.choice.column].append(at)
        at += n
    return passes


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] or float [0, 1] images -> contiguous float32 in [0, 1].

    Any memory layout comes in (channels_last, a permuted view); the ops see one. Float
    pixels outside [0, 1] are clamped and NaN reads as 0, so no value can index past a
    colour lookup table: CompiledPolicy refuses such batches on the CPU, but cannot look
    at an accelerator's values without a host sync (docs/engine.md, "Bad input")."""
    x = images.to(torch.float32, memory_format=torch.contiguous_format)
    if images.dtype == torch.uint8:
        return x.div_(255)
    return torch.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0).clamp_(0, 1)


def from_unit(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Back to the input's dtype; every op keeps values in [0, 1], so no clamp is needed."""
    if dtype == torch.uint8:
        return levels(x).to(torch.uint8)  # through int32: twice as fast as a direct cast on CPU
    return x.to(dtype)
