"""Lowering: a checked policy -> a Plan, as a flat list of named passes.

1. ``build``: walk the epoch section in order, then every stage expression, emitting one
   instruction per operation; identical pure instructions are emitted once (random draws
   never are: two ``uniform`` calls are two draws).
2. ``eliminate_dead``: drop instructions nothing stored or staged depends on (an unused
   ``let``), and renumber.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import ast
from . import intervals as iv
from .functions import FUNCTIONS, is_per_sample_draw
from .instructions import Instruction as I
from .plan import ChoiceSlot, Instr, Magnitude, Plan, StagePlan, StatePlan
from .subpolicies import shared_columns
from .types import Type, broadcast

if TYPE_CHECKING:
    from .check import CheckedPolicy

# The operators' instructions; a function's is in its declaration (functions.py).
_BINARY_OPS = {"+": I.ADD, "-": I.SUB, "*": I.MUL, "/": I.DIV, "%": I.MOD, "<": I.LT, "<=": I.LE,
               ">": I.GT, ">=": I.GE, "==": I.EQ, "!=": I.NE, "and": I.AND, "or": I.OR}
_ONE = Type("float", "scalar")


class _PlanBuilder:
    """The ``build`` pass: a checked policy's expressions -> the plan's instructions."""

    def __init__(self, checked: "CheckedPolicy") -> None:
        self.checked = checked
        self.instrs: list[Instr] = []
        self.memo: dict[tuple, int] = {}
        self.env: dict[str, int] = {}  # state and let names -> their current value number

    def emit(self, op: I, args: tuple[int, ...], attr: object, type_: Type,
             bounds: iv.Interval | None = None) -> int:
        """The value number of an instruction, emitted unless an identical one was. Identical
        instructions have identical proven bounds: they come from the same operands."""
        key = (op, args, repr(attr), type_)
        if not op.random and key in self.memo:
            return self.memo[key]
        proven = None if bounds is None or not type_.is_numeric else (float(bounds.lo), float(bounds.hi))
        self.instrs.append(Instr(op, args, attr, type_, proven))
        self.memo[key] = len(self.instrs) - 1
        return len(self.instrs) - 1

    def const(self, value: float | bool, type_: Type = _ONE) -> int:
        return self.emit(I.CONST, (), value, type_, None if isinstance(value, bool) else iv.Interval(value, value))

    def bounds(self, e: ast.Expr) -> iv.Interval | None:
        return self.checked.ranges.of(e)

    def expr(self, e: ast.Expr) -> int:
        t = self.checked.typing.of(e)
        b = self.bounds(e)
        if isinstance(e, (ast.Num, ast.Bool)):
            return self.const(e.value, t)
        if isinstance(e, ast.Name):
            symbol = self.checked.resolution.symbols[id(e)]
            if symbol.kind == "stat":
                return self.emit(I.STAT, (), e.id, t, b)
            if e.id not in self.env:  # a state read before any assignment: its stored value
                self.env[e.id] = self.emit(I.STATE, (), e.id, t, b)
            return self.env[e.id]
        if isinstance(e, ast.Unary):
            return self.emit(I.NEG if e.op == "-" else I.NOT, (self.expr(e.operand),), None, t, b)
        if isinstance(e, ast.Cond):
            return self.emit(I.WHERE, (self.expr(e.test), self.expr(e.body), self.expr(e.orelse)), None, t, b)
        if isinstance(e, ast.Compare):
            return self.compare(e)
        if isinstance(e, ast.Binary):
            if e.op == "**":
                return self.emit(I.POW, (self.expr(e.left),), e.right.value, t, b)
            return self.emit(_BINARY_OPS[e.op], (self.expr(e.left), self.expr(e.right)), None, t, b)
        if isinstance(e, ast.Call):
            return self.call(e, t, b)
        raise AssertionError(e)

    def call(self, e: ast.Call, t: Type, b: iv.Interval | None) -> int:
        """A call lowers to its form's instruction; a form of any number of arguments (min,
        max), to a chain of its binary instruction, each link typed and bounded by the form's
        rules applied to the chain so far and the next argument."""
        form = FUNCTIONS[e.func].form_for(len(e.args))
        args = tuple(self.expr(a) for a in e.args)
        if form.max_args is not None:
            return self.emit(form.instruction, args, None, t, b)
        result, link, link_bounds = args[0], self.checked.typing.of(e.args[0]), self.bounds(e.args[0])
        for value, node in zip(args[1:], e.args[1:]):
            link = form.instruction.result([link, self.checked.typing.of(node)])
            link_bounds = form.interval_rule(None, e, [link_bounds, self.bounds(node)])
            result = self.emit(form.instruction, (result, value), None, link, link_bounds)
        return result

    def compare(self, e: ast.Compare) -> int:
        """``a < b < c`` as ``(a < b) and (b < c)``, with ``b`` computed once."""
        values = [self.expr(x) for x in e.operands]
        shapes = [self.checked.typing.of(x).shape for x in e.operands]
        result, shape = None, "scalar"
        for i, op in enumerate(e.ops):
            pair_shape = broadcast(shapes[i], shapes[i + 1])
            pair = self.emit(_BINARY_OPS[op], (values[i], values[i + 1]), None, Type("bool", pair_shape))
            if result is None:
                result, shape = pair, pair_shape
            else:
                shape = broadcast(shape, pair_shape)
                result = self.emit(I.AND, (result, pair), None, Type("bool", shape))
        assert result is not None
        return result

    def magnitude(self, e: ast.Expr | None) -> Magnitude | None:
        if e is None:
            return None
        if is_per_sample_draw(e):
            return Magnitude(uniform=(self.expr(e.args[0]), self.expr(e.args[1])))
        return Magnitude(value=self.expr(e))

    def build(self) -> tuple[list[tuple[str, int]], list[StagePlan]]:
        policy = self.checked.ast
        assigned: list[str] = []
        for statement in policy.epoch or ():
            self.env[statement.name] = self.expr(statement.value)
            if isinstance(statement, ast.Assign) and statement.name not in assigned:
                assigned.append(statement.name)
        updates = [(d.name, self.env[d.name]) for d in policy.states if d.name in assigned]
        for statement in policy.epoch or ():  # lets are not visible to the stages
            if isinstance(statement, ast.Let):
                del self.env[statement.name]
        stages = []
        for stage in policy.stages:
            if isinstance(stage, ast.Apply):
                weight, probability = stage.clause("weight"), stage.clause("probability")
                bound = self.checked.ranges.of(stage.count)  # proven inside [0, number of ops]
                stages.append(StagePlan(
                    "apply", tuple(r.name for r in stage.ops), self.expr(stage.count),
                    self.expr(weight) if weight is not None else self.const(1.0),
                    self.expr(probability) if probability is not None else self.const(1.0),
                    self.magnitude(stage.clause("magnitude")),
                    int(min(len(stage.ops), math.floor(bound.hi))) if bound is not None else len(stage.ops)))
            elif isinstance(stage, ast.OneOf):
                group = len({s.choice.group for s in stages if s.choice is not None})
                columns = shared_columns([[t.op.name for t in member] for member in stage.members])
                for m, (member, numbers) in enumerate(zip(stage.members, columns)):
                    for term, column in zip(member, numbers):
                        stages.append(self.fixed(term, ChoiceSlot(group, m, len(stage.members), column)))
            else:
                stages.append(self.fixed(stage))
        return updates, stages

    def fixed(self, stage: ast.Fixed, choice: ChoiceSlot | None = None) -> StagePlan:
        probability = self.expr(stage.probability) if stage.probability is not None else self.const(1.0)
        return StagePlan("fixed", (stage.op.name,), None, None, probability, self.magnitude(stage.magnitude),
                         choice=choice)


def _stage_values(stage: StagePlan) -> list[int]:
    values = [v for v in (stage.count, stage.weight, stage.probability) if v is not None]
    if stage.magnitude is not None:
        m = stage.magnitude
        values += [m.value] if m.uniform is None else list(m.uniform)
    return values


def _renumber_stage(stage: StagePlan, new: dict[int, int]) -> StagePlan:
    def at(v: int | None) -> int | None:
        return None if v is None else new[v]
    magnitude = stage.magnitude
    if magnitude is not None:
        magnitude = Magnitude(at(magnitude.value),
                              None if magnitude.uniform is None else (new[magnitude.uniform[0]], new[magnitude.uniform[1]]))
    return StagePlan(stage.kind, stage.ops, at(stage.count), at(stage.weight), new[stage.probability], magnitude,
                     stage.max_count, stage.choice)


def eliminate_dead(instrs: list[Instr], updates: list[tuple[str, int]],
                   stages: list[StagePlan]) -> tuple[list[Instr], list[tuple[str, int]], list[StagePlan]]:
    live = set(v for _, v in updates)
    for stage in stages:
        live.update(_stage_values(stage))
    for i in range(len(instrs) - 1, -1, -1):  # operands always precede their users
        if i in live:
            live.update(instrs[i].args)
    new = {old: n for n, old in enumerate(sorted(live))}
    kept = [Instr(i.op, tuple(new[a] for a in i.args), i.attr, i.type, i.bounds)
            for old, i in enumerate(instrs) if old in live]
    return kept, [(name, new[v]) for name, v in updates], [_renumber_stage(s, new) for s in stages]


def lower(checked: "CheckedPolicy") -> Plan:
    builder = _PlanBuilder(checked)
    updates, stages = builder.build()
    instrs, updates, stages = eliminate_dead(builder.instrs, updates, stages)
    policy = checked.ast
    states = tuple(StatePlan(d.name, d.type, d.per_op,
                             None if d.lo is None else d.lo.value, None if d.hi is None else d.hi.value,
                             d.init.value) for d in policy.states)
    apply = policy.apply_stage
    stats = tuple(dict.fromkeys(i.attr for i in instrs if i.op is I.STAT))
    return Plan(policy.name, policy.description, checked.hash, len(apply.ops) if apply else 0, states,
                tuple(instrs), tuple(updates), tuple(stages), stats, checked.cost)
