"""The plan verifier: the pass between lowering and the engine's compile.

The checker proved things of the syntax tree; the engine trusts them of the plan. This
checks that the lowering carried them over, on the plan alone: every instruction known and
given the operands it reads, each operand an earlier value, every type what the
instruction's result rule makes of its operands' types (or wider: see ``_within``), a
proven range on every number (the engine clamps each value into it, which is what keeps an
epoch NaN-proof), a declared range on every number state (its updates are clamped into
it), and the stages and updates reading values of the shapes and types their roles take.
A fault here is a compiler bug, never the policy author's: PlanError says so.

>>> from autoda.compiler import check_policy
>>> check_policy("policy p\\nper sample:\\n    cutout(0.5)\\n").lower().verify()
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterator

from ..class_stats import STATS
from ..errors import AutodaError
from ..ops import OPS
from .instructions import Instruction
from .types import SHAPES, Type, fits

if TYPE_CHECKING:
    from .plan import Instr, Plan, StagePlan

DTYPES = ("int", "float", "bool")


class PlanError(AutodaError, AssertionError):
    """A plan broke an invariant the engine relies on: a bug in the compiler."""

    def __init__(self, name: str, faults: list[str]) -> None:
        super().__init__(f"internal compiler error: the plan of policy {name!r} fails verification: "
                         + "; ".join(faults) + " (please report this policy to the autoda developers)")
        self.faults = faults


def verify_plan(plan: Plan) -> None:
    """Raise PlanError listing every fault of ``plan``; return None when it has none."""
    faults = list(_state_faults(plan))
    for index, instr in enumerate(plan.instrs):
        faults += [f"%{index} {instr.op}: {fault}" for fault in _instr_faults(plan, index, instr)]
    faults += list(_update_faults(plan))
    for index, stage in enumerate(plan.stages):
        faults += [f"stage {index}: {fault}" for fault in _stage_faults(plan, stage)]
    faults += list(_choice_faults(plan))
    if faults:
        raise PlanError(plan.name, faults)


def _state_faults(plan: Plan) -> Iterator[str]:
    names = [s.name for s in plan.states]
    if len(set(names)) != len(names):
        yield "a state is declared twice"
    for s in plan.states:
        if s.dtype not in DTYPES:
            yield f"state {s.name}: unknown type {s.dtype!r}"
        elif s.dtype == "bool":
            if s.lo is not None or s.hi is not None or not isinstance(s.init, bool):
                yield f"state {s.name}: a bool state has no range and starts at true or false"
        elif s.lo is None or s.hi is None or not s.lo <= s.init <= s.hi:
            yield f"state {s.name}: a number state needs its range, holding its initial value"
    unknown = [name for name in plan.stats if name not in STATS]
    if unknown:
        yield f"unknown statistics {unknown}"


def _leaf_type(plan: Plan, instr: Instr) -> Type | str:
    """The type a const, stat or state instruction must have, or what is wrong with it."""
    if instr.op is Instruction.CONST:
        value = instr.attr
        if isinstance(value, bool):
            return Type("bool", "scalar")
        if isinstance(value, (int, float)) and math.isfinite(value):
            return Type("int" if isinstance(value, int) else "float", "scalar")
        return f"the constant {value!r} is no finite number or truth value"
    if instr.op is Instruction.STAT:
        spec = STATS.get(instr.attr)
        if spec is None or instr.attr not in plan.stats:
            return f"{instr.attr!r} is no statistic the plan lists"
        return Type(spec.dtype, "class" if spec.per_class else "scalar")
    state = next((s for s in plan.states if s.name == instr.attr), None)
    if state is None:
        return f"{instr.attr!r} is no declared state"
    return Type(state.dtype, "class_op" if state.per_op else "class")


def _instr_faults(plan: Plan, index: int, instr: Instr) -> Iterator[str]:
    if not isinstance(instr.op, Instruction):
        yield "unknown instruction"
        return
    if instr.type.dtype not in DTYPES or instr.type.shape not in SHAPES:
        yield f"unknown type {instr.type}"
        return
    if len(instr.args) != instr.op.arity:
        yield f"reads {len(instr.args)} operands, not {instr.op.arity}"
        return
    if not all(isinstance(a, int) and 0 <= a < index for a in instr.args):
        yield f"operands {instr.args} are not all earlier values"
        return
    if instr.op in (Instruction.CONST, Instruction.STAT, Instruction.STATE):
        expected = _leaf_type(plan, instr)
    elif instr.op is Instruction.POW and not (isinstance(instr.attr, (int, float)) and math.isfinite(instr.attr)):
        expected = f"the exponent {instr.attr!r} is no finite number"
    elif instr.op is not Instruction.POW and instr.attr is not None:
        expected = f"takes no attribute, has {instr.attr!r}"
    else:
        operands = [plan.instrs[a].type for a in instr.args]
        expected = instr.op.result(operands, instr.attr) or f"takes no operands of types {[str(t) for t in operands]}"
    if isinstance(expected, str):
        yield expected
    elif not _within(expected, instr.type):
        yield f"typed {instr.type}, but its operands make it {expected}"
    yield from _bounds_faults(instr)


def _within(actual: Type, typed: Type) -> bool:
    """Whether a value of type ``actual`` may stand where the checker typed ``typed``: the
    same, or smaller (a state read after its update is the assigned value, which may be an
    int where the state is float, or one number where it holds one per class)."""
    widened = actual.dtype == "int" and typed.dtype == "float"
    return (actual.dtype == typed.dtype or widened) and fits(actual.shape, typed.shape)


def _bounds_faults(instr: Instr) -> Iterator[str]:
    """The engine clamps every number into its proven range: each must have one."""
    if not instr.type.is_numeric:
        if instr.bounds is not None:
            yield "a true/false value carries a range"
        return
    if instr.bounds is None:
        yield "a number without its proven range"
        return
    lo, hi = instr.bounds
    if math.isnan(lo) or math.isnan(hi) or lo > hi:
        yield f"the range [{lo}, {hi}] is empty"


def _value_faults(plan: Plan, value: int | None, what: str, most: str, dtype: str = "number") -> Iterator[str]:
    """A stage parameter or update reads ``value``: an instruction of a fitting type."""
    if value is None or not 0 <= value < len(plan.instrs):
        yield f"its {what} reads no value of the plan ({value})"
        return
    t = plan.instrs[value].type
    wanted = {"number": t.is_numeric, "int": t.dtype == "int", "bool": t.dtype == "bool"}[dtype]
    if not wanted or not fits(t.shape, most):
        yield f"its {what} is {t}, not {dtype} at most {most}"


def _update_faults(plan: Plan) -> Iterator[str]:
    declared = {s.name: s for s in plan.states}
    for name, value in plan.updates:
        state = declared.get(name)
        if state is None:
            yield f"update of {name!r}: no such state"
            continue
        dtype = "bool" if state.dtype == "bool" else "int" if state.dtype == "int" else "number"
        shape = "class_op" if state.per_op else "class"
        yield from (f"update of {name!r}: {fault}" for fault in _value_faults(plan, value, "value", shape, dtype))


def _stage_faults(plan: Plan, stage: StagePlan) -> Iterator[str]:
    unknown = [op for op in stage.ops if op not in OPS]
    if unknown:
        yield f"unknown ops {unknown}"
        return
    if stage.kind == "apply":
        if len(stage.ops) != plan.num_ops or not 0 <= stage.max_count <= len(stage.ops):
            yield f"{len(stage.ops)} ops, the plan's K is {plan.num_ops}, at most {stage.max_count} drawn"
        yield from _value_faults(plan, stage.count, "count", "class", "int")
        yield from _value_faults(plan, stage.weight, "weight", "class_op")
        most = "class_op"
    elif stage.kind == "fixed":
        if len(stage.ops) != 1 or stage.count is not None or stage.weight is not None:
            yield "a fixed stage is one op, with no count or weight"
        most = "class"
    else:
        yield f"unknown kind {stage.kind!r}"
        return
    yield from _value_faults(plan, stage.probability, "probability", most)
    takes = any(OPS[op].has_magnitude for op in stage.ops)
    if (stage.magnitude is not None) != takes:
        yield "a magnitude where no op takes one, or none where one does"
    elif stage.magnitude is not None:
        m = stage.magnitude
        for value in (m.value,) if m.uniform is None else m.uniform:
            yield from _value_faults(plan, value, "magnitude", most)


def _choice_faults(plan: Plan) -> Iterator[str]:
    """Each ``one of``: sub-policies numbered 0..members-1, every one with a term; a pass is
    one op; a sub-policy's terms take distinct passes, in pass order within a kind (the
    order the pipeline runs them)."""
    groups: dict[int, list[StagePlan]] = {}
    for stage in plan.stages:
        if stage.choice is not None:
            groups.setdefault(stage.choice.group, []).append(stage)
    for group, stages in groups.items():
        members = {s.choice.members for s in stages}
        if len(members) != 1 or {s.choice.member for s in stages} != set(range(max(members))):
            yield f"one of #{group}: sub-policies {sorted({s.choice.member for s in stages})} of {members}"
        ops: dict[int, str] = {}
        for s in stages:
            if s.kind != "fixed" or ops.setdefault(s.choice.column, s.ops[0]) != s.ops[0]:
                yield f"one of #{group}: pass {s.choice.column} is not one op of fixed stages"
        passes: dict[tuple[int, str], list[int]] = {}  # (sub-policy, kind) -> its passes, in written order
        for s in stages:
            if s.ops[0] in OPS:
                passes.setdefault((s.choice.member, OPS[s.ops[0]].kind), []).append(s.choice.column)
        for (member, kind), columns in passes.items():
            if columns != sorted(set(columns)):
                yield f"one of #{group}, sub-policy {member}: its {kind} passes {columns} are out of order"
