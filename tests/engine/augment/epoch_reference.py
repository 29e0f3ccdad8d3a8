"""A class-at-a-time reference for the epoch section, to test its vectorised lowering.

It walks the syntax tree for one class at a time, with 0-d tensors for per-class values
and [K] vectors for per-op ones, using the same torch functions and the checker's dtypes,
so what it checks is the vectorisation: shapes, broadcasting, reductions, casts, order.
"""
from __future__ import annotations

import torch

from autoda.compiler import ast
from autoda.engine.augment.epoch import DTYPES

_FUNCS = {"abs": torch.abs, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
          "round": torch.round, "floor": torch.floor, "ceil": torch.ceil}
_BIN = {"+": torch.add, "-": torch.sub, "*": torch.mul, "%": torch.remainder, "<": torch.lt, "<=": torch.le,
        ">": torch.gt, ">=": torch.ge, "==": torch.eq, "!=": torch.ne, "and": torch.logical_and,
        "or": torch.logical_or}


class EpochReference:
    def __init__(self, checked, stats, state: dict[str, torch.Tensor]) -> None:
        self.checked, self.stats = checked, stats
        self.c = stats.num_classes
        # per class: state rows ([] or [K]), and let values once computed
        self.env = {name: [value[c].squeeze(0) if value.shape[1] == 1 else value[c] for c in range(self.c)]
                    for name, value in state.items()}

    def stat(self, name: str, c: int) -> torch.Tensor:
        value = self.stats.value(name)
        if isinstance(value, torch.Tensor):
            return value[c]
        return torch.tensor(value)

    def eval(self, e: ast.Expr, c: int) -> torch.Tensor:
        out = self._eval(e, c)
        return out.to(DTYPES[self.checked.typing.of(e).dtype])

    def _eval(self, e: ast.Expr, c: int) -> torch.Tensor:
        t = self.checked.typing.of(e)
        if isinstance(e, (ast.Num, ast.Bool)):
            return torch.tensor(e.value, dtype=DTYPES[t.dtype])
        if isinstance(e, ast.Name):
            symbol = self.checked.resolution.symbols[id(e)]
            return self.stat(e.id, c) if symbol.kind == "stat" else self.env[e.id][c]
        if isinstance(e, ast.Unary):
            x = self.eval(e.operand, c)
            return torch.logical_not(x) if e.op == "not" else torch.neg(x)
        if isinstance(e, ast.Cond):
            return torch.where(self.eval(e.test, c), self.eval(e.body, c).to(DTYPES[t.dtype]),
                               self.eval(e.orelse, c).to(DTYPES[t.dtype]))
        if isinstance(e, ast.Compare):
            values = [self.eval(x, c) for x in e.operands]
            result = torch.tensor(True)
            for op, a, b in zip(e.ops, values, values[1:]):
                result = result & _BIN[op](a, b)
            return result
        if isinstance(e, ast.Binary):
            a, b = self.eval(e.left, c), self.eval(e.right, c)
            if e.op == "/":
                return a.float() / b.float()
            if e.op == "**":
                return torch.pow(a.to(DTYPES[t.dtype]), e.right.value)
            if t.dtype != "bool" or e.op in ("and", "or"):
                a, b = a.to(DTYPES[t.dtype]), b.to(DTYPES[t.dtype])
            return _BIN[e.op](a, b)
        return self.call(e, c, t)

    def call(self, e: ast.Call, c: int, t) -> torch.Tensor:
        f, dtype = e.func, DTYPES[t.dtype]
        if f in ("mean", "sum") or (f in ("min", "max") and len(e.args) == 1):
            column = torch.stack([self.eval(e.args[0], other) for other in range(self.c)])
            column = column.float() if f == "mean" else column
            return {"mean": torch.mean, "sum": torch.sum, "min": torch.amin, "max": torch.amax}[f](column, dim=0)
        args = [self.eval(a, c) for a in e.args]
        if f.endswith("_ops"):  # a per-op value the epoch section assigned one number holds it for every op
            x = args[0].expand(self.checked.lower().num_ops) if args[0].dim() == 0 else args[0]
            x = x.float() if f == "mean_ops" else x
            return {"mean_ops": torch.mean, "sum_ops": torch.sum, "min_ops": torch.amin,
                    "max_ops": torch.amax}[f](x, dim=-1)
        if f == "where":
            return torch.where(args[0], args[1].to(dtype), args[2].to(dtype))
        if f in ("min", "max", "clip"):
            args = [a.to(dtype) for a in args]
            if f == "clip":
                return torch.minimum(torch.maximum(args[0], args[1]), args[2])
            result = args[0]
            for a in args[1:]:
                result = (torch.minimum if f == "min" else torch.maximum)(result, a)
            return result
        return _FUNCS[f](args[0].float() if f != "abs" else args[0])

    def run(self) -> dict[str, torch.Tensor]:
        for statement in self.checked.ast.epoch or ():
            self.env[statement.name] = [self.eval(statement.value, c) for c in range(self.c)]
        return {d.name: torch.stack([v.expand(self.checked.lower().num_ops) if d.per_op else v
                                     for v in self.env[d.name]]).reshape(self.c, -1)
                for d in self.checked.ast.states}
