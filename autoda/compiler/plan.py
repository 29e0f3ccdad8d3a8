"""The plan: what a checked policy lowers to, and what the engine compiles into torch.

Once per epoch the engine runs ``instrs``, a straight-line program over class vectors (each
instruction's operands are earlier instructions), stores ``updates`` into the policy state,
and reads each stage's parameters (count, weight, probability, magnitude) as per-class or
per-class-and-op values. Per batch it gathers those rows by label and runs the stages.
Nothing here imports torch.

Each number instruction carries the range the checker proved for it. The proof is over the
reals; the engine computes in float32, where exp(100) overflows and inf / inf is NaN, so it
clamps every value into its proven range (an overflow saturates, a NaN becomes the point of
the range nearest 0). A checked policy computes no NaN and no inf, whatever the statistics.

The passes: lowering (lower.py) makes a plan, ``Plan.verify`` (verify.py) checks it, and
the engine compiles only a verified plan.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .cost import Cost
from .instructions import Instruction
from .types import Type
from .verify import verify_plan


@dataclass(frozen=True)
class Instr:
    op: Instruction  # given as its name, it is looked up: an unknown name raises ValueError
    args: tuple[int, ...]  # operand value numbers
    attr: object  # const: the value; stat/state: the name; pow: the exponent; else None
    type: Type
    bounds: tuple[float, float] | None = None  # numbers: the proven range (ends may be infinite)

    def __post_init__(self) -> None:
        object.__setattr__(self, "op", Instruction(self.op))


@dataclass(frozen=True)
class StatePlan:
    name: str
    dtype: str
    per_op: bool
    lo: float | None
    hi: float | None
    init: float | bool


@dataclass(frozen=True)
class Magnitude:
    """A per-class (or per-op) magnitude, or ``uniform(lo, hi)`` drawn per sample."""

    value: int | None = None
    uniform: tuple[int, int] | None = None


@dataclass(frozen=True)
class ChoiceSlot:
    """Where a fixed stage sits in a ``one of``: each sample draws one of the ``members``
    sub-policies (uniformly, one draw per ``one of``); the stage runs only on the samples
    that drew its ``member``. Terms of other sub-policies that share its ``column`` are the
    same op and run as one pipeline pass (sub-policies.py)."""

    group: int  # which ``one of`` of the policy, from 0
    member: int  # which of its sub-policies, from 0
    members: int
    column: int  # its pass among the group's, in the order the pipeline runs them


@dataclass(frozen=True)
class StagePlan:
    kind: str  # "apply" or "fixed"
    ops: tuple[str, ...]
    count: int | None  # apply: value number of the per-class count; fixed: None (always 1)
    weight: int | None  # apply: value number of the selection weights; fixed: None
    probability: int  # value number
    magnitude: Magnitude | None  # None when no op of the stage takes one
    max_count: int = 1  # the most ops a sample can draw here, proven by the range checker
    choice: ChoiceSlot | None = None  # a fixed stage that is a term of a ``one of``


@dataclass(frozen=True)
class Plan:
    name: str
    description: str | None
    hash: str
    num_ops: int  # K: the ops of the apply stage (0 without one)
    states: tuple[StatePlan, ...]
    instrs: tuple[Instr, ...]
    updates: tuple[tuple[str, int], ...]  # state name -> value number at the end of the epoch section
    stages: tuple[StagePlan, ...]
    stats: tuple[str, ...]  # class statistics read
    cost: Cost

    @property
    def ops(self) -> tuple[str, ...]:
        """Every op the stages use, in first-use order."""
        seen: dict[str, None] = {}
        for stage in self.stages:
            seen.update(dict.fromkeys(stage.ops))
        return tuple(seen)

    def verify(self) -> None:
        """Raise PlanError (a compiler bug) unless the plan holds what the engine relies on:
        see verify.py."""
        verify_plan(self)

    def to_dict(self) -> dict:
        data = asdict(self)
        for instr in data["instrs"]:
            instr["op"] = str(instr["op"])  # plain data: the instruction's name
            instr["type"] = str(Type(**instr["type"]))
            if instr["bounds"] is not None:  # JSON has no infinity: an open end is null
                instr["bounds"] = [None if math.isinf(b) else b for b in instr["bounds"]]
        return data

    def render(self) -> str:
        out = [f"plan {self.name}  (hash {self.hash[:16]})"]
        if self.states:
            out.append("state")
            for s in self.states:
                shape = "per class and op" if s.per_op else "per class"
                bounds = f" in [{s.lo:g}, {s.hi:g}]" if s.lo is not None else ""
                init = str(s.init).lower() if isinstance(s.init, bool) else f"{s.init:g}"
                out.append(f"  {s.name}: {s.dtype} {shape}{bounds} = {init}")
        out.append("epoch program (once per epoch, over classes)")
        for i, instr in enumerate(self.instrs):
            operands = " ".join(f"%{a}" for a in instr.args)
            const = instr.op is Instruction.CONST
            attr = "" if instr.attr is None else f" {instr.attr!r}" if const else f" {instr.attr}"
            text = f"{instr.op}{attr}{' ' + operands if operands else ''}"
            shown = instr.bounds is not None and not const  # a constant's range is itself
            bounds = f"  in [{instr.bounds[0]:g}, {instr.bounds[1]:g}]" if shown else ""
            out.append(f"  %{i:<3} = {text:<36} {instr.type.dtype}{instr.type.dims}{bounds}")
        for name, value in self.updates:
            out.append(f"  {name} <- %{value}")
        out.append("stages (per batch, rows gathered by label)")
        for i, st in enumerate(self.stages):
            parts = []
            if st.count is not None:
                parts.append(f"count %{st.count} (at most {st.max_count})")
            if st.magnitude is not None:
                m = st.magnitude
                parts.append(f"magnitude %{m.value}" if m.uniform is None
                             else f"magnitude uniform(%{m.uniform[0]}, %{m.uniform[1]}) per sample")
            if st.weight is not None:
                parts.append(f"weight %{st.weight}")
            parts.append(f"probability %{st.probability}")
            ops = f"[{', '.join(st.ops)}] (K={len(st.ops)})" if st.kind == "apply" else st.ops[0]
            if st.choice is not None:
                c = st.choice
                ops += f"  (one of #{c.group}: sub-policy {c.member + 1} of {c.members}, pass {c.column})"
            out.append(f"  {i}: {st.kind} {ops}")
            out.append(f"       {', '.join(parts)}")
        out.append(f"cost {self.cost}")
        return "\n".join(out)
