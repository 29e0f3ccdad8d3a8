"""The epoch program in torch: a plan's straight-line instructions over class vectors.

Every value is a 2-D tensor, so torch's broadcasting is the language's: a scalar is
[1, 1], a per-class value [C, 1], a per-class-and-op value [C, K]. Reductions keep their
dimension. Each instruction's result is cast to the dtype the checker gave it. This runs
once per epoch; it is not on the per-batch path.

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

import torch

from ...compiler.plan import Instr, Plan
from .statistics import ClassStats

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


_BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "mod": torch.remainder,
    "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge, "eq": torch.eq, "ne": torch.ne,
    "and": torch.logical_and, "or": torch.logical_or, "min": torch.minimum, "max": torch.maximum,
}
_UNARY = {"neg": torch.neg, "not": torch.logical_not, "abs": torch.abs, "exp": torch.exp,
          "log": torch.log, "sqrt": torch.sqrt, "round": torch.round, "floor": torch.floor, "ceil": torch.ceil}
_REDUCE = {"mean": torch.mean, "sum": torch.sum, "min": torch.amin, "max": torch.amax}


def _evaluate(instr: Instr, args: list[torch.Tensor], shape: tuple[int, int], generator: torch.Generator,
              device: torch.device) -> torch.Tensor:
    """One instruction's raw result; the caller casts and bounds it."""
    op = instr.op
    # ints run in float64: an overflow saturates (then is bounded) instead of wrapping round
    work = torch.float64 if instr.type.dtype == "int" else DTYPES[instr.type.dtype]
    if op == "const":
        return torch.tensor([[instr.attr]], dtype=work, device=device)
    if op in ("min", "max", "clip") or (op in _BINARY and instr.type.dtype != "bool"):
        args = [a.to(work) for a in args]  # one dtype in, the checked dtype out
    if op in _BINARY:
        return _BINARY[op](*args)
    if op == "div":
        return torch.div(args[0].float(), args[1].float())
    if op == "pow":
        return torch.pow(args[0].to(work), instr.attr)
    if op in ("exp", "log", "sqrt", "round", "floor", "ceil"):
        return _UNARY[op](args[0].float())
    if op in _UNARY:
        return _UNARY[op](args[0].to(work))
    if op == "where":
        cond, a, b = args
        return torch.where(cond, a.to(work), b.to(work))
    if op == "clip":  # min(max(x, lo), hi), as the range checker reasons
        return torch.minimum(torch.maximum(args[0], args[1]), args[2])
    if op.startswith(("class_", "op_")):
        kind, how = op.split("_")
        x = args[0].float() if how == "mean" else args[0].to(work)
        return _REDUCE[how](x, dim=0 if kind == "class" else 1, keepdim=True)
    if op == "sample_one":
        return _sample_one(args[0], generator)
    if op == "uniform":  # in float64: hi - lo of two huge floats would overflow float32
        lo, hi = args[0].double(), args[1].double()
        u = torch.rand(shape, generator=generator, device=device)
        return lo + (hi - lo) * u
    raise AssertionError(f"unknown instruction {op!r}")


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
    values: list[torch.Tensor] = []
    for instr in plan.instrs:
        args = [values[a] for a in instr.args]
        shape = shape_of(instr.type.shape, c, k)
        if instr.op == "stat":
            result = _stat(stats, instr.attr, device)
        elif instr.op == "state":
            result = state[instr.attr]
        else:
            result = _evaluate(instr, args, shape, generator, device)
        values.append(_bounded_instr(result, instr))
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
