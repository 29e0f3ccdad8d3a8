"""The epoch program in torch: a plan's straight-line instructions over class vectors.

Every value is a 2-D tensor, so torch's broadcasting is the language's: a scalar is
[1, 1], a per-class value [C, 1], a per-class-and-op value [C, K]. Reductions keep their
dimension. Each instruction's result is cast to the dtype the checker gave it, so int
arithmetic stays int64 exactly as the range checker reasoned about it. This runs once per
epoch; it is not on the per-batch path.
"""
from __future__ import annotations

import torch

from ..compiler.plan import Instr, Plan
from .statistics import ClassStats

DTYPES = {"int": torch.int64, "float": torch.float32, "bool": torch.bool}


def shape_of(shape: str, num_classes: int, num_ops: int) -> tuple[int, int]:
    return {"scalar": (1, 1), "class": (num_classes, 1), "class_op": (num_classes, max(num_ops, 1))}[shape]


def _stat(stats: ClassStats, name: str, device: torch.device) -> torch.Tensor:
    value = stats.value(name)
    if isinstance(value, torch.Tensor):
        return value.to(device).reshape(-1, 1)
    return torch.tensor([[value]], device=device)


def _sample_one(weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per row, a one-hot draw with probability proportional to the weights (Gumbel max);
    a row of zeros draws uniformly."""
    w = weights.float()
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
    op = instr.op
    out_dtype = DTYPES[instr.type.dtype]
    if op == "const":
        return torch.tensor([[instr.attr]], dtype=out_dtype, device=device)
    if op in ("min", "max", "clip") or (op in _BINARY and instr.type.dtype != "bool"):
        args = [a.to(out_dtype) for a in args]  # one dtype in, the checked dtype out
    if op in _BINARY:
        return _BINARY[op](*args)
    if op == "div":
        return torch.div(args[0].float(), args[1].float())
    if op == "pow":
        return torch.pow(args[0].to(out_dtype), instr.attr)
    if op in ("exp", "log", "sqrt", "round", "floor", "ceil"):
        return _UNARY[op](args[0].float())
    if op in _UNARY:
        return _UNARY[op](args[0])
    if op == "where":
        cond, a, b = args
        return torch.where(cond, a.to(out_dtype), b.to(out_dtype))
    if op == "clip":  # min(max(x, lo), hi), as the range checker reasons
        return torch.minimum(torch.maximum(args[0], args[1]), args[2])
    if op.startswith(("class_", "op_")):
        kind, how = op.split("_")
        x = args[0].float() if how == "mean" else args[0]
        return _REDUCE[how](x, dim=0 if kind == "class" else 1, keepdim=True)
    if op == "sample_one":
        return _sample_one(args[0], generator)
    if op == "uniform":
        lo, hi = args[0].float(), args[1].float()
        u = torch.rand(shape, generator=generator, device=device)
        return lo + (hi - lo) * u
    raise AssertionError(f"unknown instruction {op!r}")


def run_epoch(plan: Plan, state: dict[str, torch.Tensor], stats: ClassStats,
              generator: torch.Generator) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """Run the epoch program; return the new state and every instruction's value."""
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
        values.append(result.to(DTYPES[instr.type.dtype]))
    new_state = dict(state)
    for name, value in plan.updates:
        target = state[name]
        new_state[name] = values[value].to(target.dtype).expand_as(target).clone()
    return new_state, values
