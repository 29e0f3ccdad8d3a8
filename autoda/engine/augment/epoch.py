"""The epoch program in torch: a plan's straight-line instructions over class vectors.

Every value is a 2-D tensor, so torch's broadcasting is the language's: a scalar is
[1, 1], a per-class value [C, 1], a per-class-and-op value [C, K]. Reductions keep their
dimension. Each instruction's result is cast to the dtype the checker gave it. This runs
once per epoch; it is not on the per-batch path. TABLE maps each instruction to its torch
implementation; nothing here reads an instruction's name.

No NaN, no inf: the range checker proves every value's range over the reals, but float32
overflows (exp(100) is inf, and inf / inf is NaN) and the statistics may be infinite
(``feat_norm`` may be inf). So every number instruction's result is clamped into its proven
range, cut to the finite floats: an overflow saturates at the largest float, where real
arithmetic would go on (exp(x) / (1 + exp(x)) is 1 for large x, not NaN), and a NaN, which
only float rounding can make of values the checker bounded, becomes the point of the range
nearest 0. Int arithmetic runs in float64 and is cast back, so it saturates rather than
wrapping round (exact below 2**53; state and literals stay under 1e15). Last, each stage
parameter is clamped into the range its role allows and each state update into the state's
declared range, which the checker proved up to a rounding slack. The clamps are no-ops for
any value computed exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ...compiler.instructions import Instruction as I
from ...compiler.plan import Instr, Plan
from .statistics import ClassStats, StatsError

DTYPES = {"int": torch.int64, "float": torch.float32, "bool": torch.bool}
FLOAT_MAX = float(torch.finfo(torch.float32).max)
INT_LIMIT = float(2 ** 53)  # int values run in float64, exact up to here


def shape_of(shape: str, num_classes: int, num_ops: int) -> tuple[int, int]:
    return {"scalar": (1, 1), "class": (num_classes, 1), "class_op": (num_classes, max(num_ops, 1))}[shape]


def bounded(value: torch.Tensor, dtype: str, lo: float = -math.inf, hi: float = math.inf) -> torch.Tensor:
    """``value`` as ``dtype``, clamped into [lo, hi] cut to that dtype's finite range, with
    NaN as the point of the range nearest 0. True/false values pass unchanged."""
    if dtype == "bool":
        return value.to(torch.bool)
    top = FLOAT_MAX if dtype == "float" else INT_LIMIT
    lo, hi = max(lo, -top), min(hi, top)
    if dtype == "int":
        lo, hi = float(math.ceil(lo)), float(math.floor(hi))
    value = value.to(torch.float64 if dtype == "int" else torch.float32)
    hi = max(lo, hi)
    fallback = min(max(0.0, lo), hi)
    value = torch.nan_to_num(value, nan=fallback, posinf=hi, neginf=lo).clamp(lo, hi)
    return value.to(DTYPES[dtype])


def _bounded_instr(value: torch.Tensor, instr: Instr) -> torch.Tensor:
    lo, hi = instr.bounds if instr.bounds is not None else (-math.inf, math.inf)
    return bounded(value, instr.type.dtype, lo, hi)


def _stat(stats: ClassStats, name: str, device: torch.device) -> torch.Tensor:
    value = stats.value(name)
    if isinstance(value, torch.Tensor):
        return value.to(device).reshape(-1, 1)
    return torch.tensor([[value]], device=device)


def _sample_one(weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per row, a one-hot draw with probability proportional to the weights (Gumbel max);
    a row of zeros draws uniformly."""
    w = weights.float().clamp(min=0)  # proven >= 0 up to rounding; log of a negative is NaN
    w = torch.where(w.sum(1, keepdim=True) > 0, w, torch.ones_like(w))
    u = torch.rand(w.shape, generator=generator, device=w.device).clamp_(1e-12, 1 - 1e-7)
    keys = torch.log(w) - torch.log(-torch.log(u))
    return torch.nn.functional.one_hot(keys.argmax(1), w.shape[1]).bool()


def _lol_pass(level: torch.Tensor, stats: ClassStats) -> torch.Tensor:
    """CUDA's probe, which only the training loop can run (it classifies with the model):
    the statistics carry it (ClassStats.probe)."""
    if stats.probe is None:
        raise StatsError("lol_pass(level) runs CUDA's level-of-learning probe with the model being trained, and "
                         "these class statistics carry no probe: autoda's trainer gives one; in a loop of your own, "
                         "give ClassStats a probe (autoda.engine.LevelProbe)")
    levels = level.reshape(-1).expand(stats.num_classes).round().long()
    passed = stats.probe(levels)
    if not isinstance(passed, torch.Tensor) or tuple(passed.shape) != (stats.num_classes,):
        raise StatsError(f"the level probe must give one true/false per class ({stats.num_classes}), got "
                         f"{getattr(passed, 'shape', type(passed).__name__)}")
    return passed.to(level.device).bool().reshape(-1, 1)


@dataclass(frozen=True)
class _At:
    """What an instruction's implementation may read besides its operands."""

    instr: Instr
    shape: tuple[int, int]  # of the result, for a draw
    full: tuple[int, int]  # [C, K]: what a sum broadcasts its operand to
    # ints run in float64: an overflow saturates (then is bounded) instead of wrapping round
    work: torch.dtype
    generator: torch.Generator
    device: torch.device
    stats: ClassStats
    state: dict[str, torch.Tensor]


Implementation = Callable[[list[torch.Tensor], _At], torch.Tensor]


def _in_work(f) -> Implementation:
    """Operands in the working dtype first: one dtype in, the checked dtype out."""
    return lambda args, at: f(*(a.to(at.work) for a in args))


def _as_given(f) -> Implementation:
    """Comparisons and logic: torch compares mixed int and float operands exactly as they are."""
    return lambda args, at: f(*args)


def _in_float(f) -> Implementation:
    """Operations whose result is float (or rounded from one): operands as float32."""
    return lambda args, at: f(*(a.float() for a in args))


def _reduce(f, dim: int, mean: bool = False) -> Implementation:
    """Over classes (dim 0) or ops (dim 1), keeping the dimension; a mean in float."""
    return lambda args, at: f(args[0].float() if mean else args[0].to(at.work), dim=dim, keepdim=True)


def _sum(dim: int) -> Implementation:
    """A sum over classes (dim 0) or ops (dim 1) of an operand broadcast along that dimension
    first: a value may be smaller than its type (``w = 1`` then ``sum_ops(w)`` is K, not 1).
    A mean, minimum or maximum of a broadcast value is the value itself: no copy needed."""
    def implementation(args: list[torch.Tensor], at: _At) -> torch.Tensor:
        x = args[0].to(at.work)
        x = x.expand(at.full[0], x.shape[1]) if dim == 0 else x.expand(x.shape[0], at.full[1])
        return torch.sum(x, dim=dim, keepdim=True)
    return implementation


def _clip(args: list[torch.Tensor], at: _At) -> torch.Tensor:
    """min(max(x, lo), hi), as the range checker reasons."""
    x, lo, hi = (a.to(at.work) for a in args)
    return torch.minimum(torch.maximum(x, lo), hi)


def _uniform(args: list[torch.Tensor], at: _At) -> torch.Tensor:
    """In float64: hi - lo of two huge floats would overflow float32."""
    lo, hi = args[0].double(), args[1].double()
    return lo + (hi - lo) * torch.rand(at.shape, generator=at.generator, device=at.device)


# Every plan instruction (compiler/instructions.py) and its torch implementation, one row
# each: a new instruction gets its row here (test_epoch checks every one has exactly one).
TABLE: tuple[tuple[I, Implementation], ...] = (
    (I.CONST, lambda args, at: torch.tensor([[at.instr.attr]], dtype=at.work, device=at.device)),
    (I.STAT, lambda args, at: _stat(at.stats, at.instr.attr, at.device)),
    (I.STATE, lambda args, at: at.state[at.instr.attr]),
    (I.NEG, _in_work(torch.neg)),
    (I.ADD, _in_work(torch.add)),
    (I.SUB, _in_work(torch.sub)),
    (I.MUL, _in_work(torch.mul)),
    (I.DIV, _in_float(torch.div)),
    (I.MOD, _in_work(torch.remainder)),
    (I.POW, lambda args, at: torch.pow(args[0].to(at.work), at.instr.attr)),
    (I.LT, _as_given(torch.lt)),
    (I.LE, _as_given(torch.le)),
    (I.GT, _as_given(torch.gt)),
    (I.GE, _as_given(torch.ge)),
    (I.EQ, _as_given(torch.eq)),
    (I.NE, _as_given(torch.ne)),
    (I.AND, _as_given(torch.logical_and)),
    (I.OR, _as_given(torch.logical_or)),
    (I.NOT, _in_work(torch.logical_not)),
    (I.MIN, _in_work(torch.minimum)),
    (I.MAX, _in_work(torch.maximum)),
    (I.CLIP, _clip),
    (I.WHERE, lambda args, at: torch.where(args[0], args[1].to(at.work), args[2].to(at.work))),
    (I.ABS, _in_work(torch.abs)),
    (I.EXP, _in_float(torch.exp)),
    (I.LOG, _in_float(torch.log)),
    (I.SQRT, _in_float(torch.sqrt)),
    (I.ROUND, _in_float(torch.round)),
    (I.FLOOR, _in_float(torch.floor)),
    (I.CEIL, _in_float(torch.ceil)),
    (I.CLASS_MEAN, _reduce(torch.mean, 0, mean=True)),
    (I.CLASS_SUM, _sum(0)),
    (I.CLASS_MIN, _reduce(torch.amin, 0)),
    (I.CLASS_MAX, _reduce(torch.amax, 0)),
    (I.OP_MEAN, _reduce(torch.mean, 1, mean=True)),
    (I.OP_SUM, _sum(1)),
    (I.OP_MIN, _reduce(torch.amin, 1)),
    (I.OP_MAX, _reduce(torch.amax, 1)),
    (I.LOL_PASS, lambda args, at: _lol_pass(args[0], at.stats)),
    (I.SAMPLE_ONE, lambda args, at: _sample_one(args[0].expand(at.shape), at.generator)),  # a draw per class
    (I.UNIFORM, _uniform),
)
IMPLEMENTATIONS: dict[I, Implementation] = dict(TABLE)


def _evaluate(instr: Instr, args: list[torch.Tensor], at: _At) -> torch.Tensor:
    """One instruction's raw result; the caller casts and bounds it."""
    return IMPLEMENTATIONS[instr.op](args, at)


def _role_bounds(plan: Plan) -> dict[int, tuple[float, float]]:
    """Value number -> the range the stages that read it allow (the intersection, when
    several read it: each range was proven, so the value lies in all of them)."""
    allowed: dict[int, tuple[float, float]] = {}

    def allow(value: int | None, lo: float, hi: float) -> None:
        if value is not None:
            old_lo, old_hi = allowed.get(value, (-math.inf, math.inf))
            allowed[value] = (max(old_lo, lo), min(old_hi, hi))

    for stage in plan.stages:
        allow(stage.count, 0, len(stage.ops))
        allow(stage.weight, 0, math.inf)
        allow(stage.probability, 0, 1)
        if stage.magnitude is not None:
            for value in (stage.magnitude.value, *(stage.magnitude.uniform or ())):
                allow(value, 0, 1)
    return allowed


def run_epoch_program(plan: Plan, state: dict[str, torch.Tensor], stats: ClassStats,
                      generator: torch.Generator) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """Run the epoch program; return the new state and every instruction's value (the
    values the stages read clamped into their roles' ranges)."""
    c, k = stats.num_classes, plan.num_ops
    device = next(iter(state.values())).device if state else stats.count.device
    full = shape_of("class_op", c, k)
    values: list[torch.Tensor] = []
    for instr in plan.instrs:
        work = torch.float64 if instr.type.dtype == "int" else DTYPES[instr.type.dtype]
        at = _At(instr, shape_of(instr.type.shape, c, k), full, work, generator, device, stats, state)
        values.append(_bounded_instr(_evaluate(instr, [values[a] for a in instr.args], at), instr))
    declared = {s.name: s for s in plan.states}
    new_state = dict(state)
    for name, value in plan.updates:
        target, decl = state[name], declared[name]
        lo = -math.inf if decl.lo is None else decl.lo
        hi = math.inf if decl.hi is None else decl.hi
        new_state[name] = bounded(values[value], decl.dtype, lo, hi).to(target.dtype).expand_as(target).clone()
    for value, (lo, hi) in _role_bounds(plan).items():
        values[value] = bounded(values[value], plan.instrs[value].type.dtype, lo, hi)
    return new_state, values
