"""Plan.verify: every plan the lowering makes verifies, and a plan that breaks an invariant
the engine relies on is refused, naming the fault."""
import dataclasses
from pathlib import Path

import pytest
from hypothesis import given

import autoda
from autoda.compiler import format_policy
from autoda.compiler.instructions import Instruction
from autoda.compiler.plan import Instr, Magnitude
from autoda.compiler.types import Type
from autoda.compiler.verify import PlanError
from autoda.errors import AutodaError
from strategies import policies

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "policies").glob("*.dsl"))
POLICY = ("policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n    s = clip(train_acc * 2, 0, 1)\n"
          "per sample:\n    apply 1 of [rotate, invert]\n        magnitude s\n")


def plan_of(text_or_path):
    return autoda.check_policy(text_or_path).lower()


def faults(plan) -> str:
    with pytest.raises(PlanError) as error:
        plan.verify()
    return str(error.value)


def with_instr(plan, index: int, **changes):
    instrs = list(plan.instrs)
    instrs[index] = dataclasses.replace(instrs[index], **changes)
    return dataclasses.replace(plan, instrs=tuple(instrs))


def index_of(plan, op: str) -> int:
    return next(i for i, instr in enumerate(plan.instrs) if instr.op == op)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_plan_verifies(path):
    assert plan_of(path).verify() is None


@given(policies())
def test_every_random_checked_policy_lowers_to_a_plan_that_verifies(policy):
    plan_of(format_policy(policy)).verify()


def test_a_state_read_after_its_update_may_be_smaller_than_its_type():
    # w is float per op; after 'w = 1' it reads the int constant, which the engine broadcasts
    plan = plan_of("policy p\nstate w: float per op in [0, 10] = 1\nstate t: float in [0, 30] = 0\n"
                   "every epoch:\n    w = 1\n    t = clip(sum_ops(w), 0, 30)\n"
                   "per sample:\n    apply 1 of [rotate, invert]\n        magnitude 0.5\n        weight w\n")
    plan.verify()
    op_sum = plan.instrs[index_of(plan, "op_sum")]
    assert op_sum.type == Type("float", "class")  # as the checker typed sum_ops(w)
    assert plan.instrs[op_sum.args[0]].type == Type("int", "scalar")  # what w holds: the constant 1


def test_an_unknown_instruction_is_refused_when_made_and_when_smuggled_in():
    with pytest.raises(ValueError):
        Instr("frobnicate", (), None, Type("float", "scalar"))
    plan = plan_of(POLICY)
    smuggled = plan.instrs[0]
    object.__setattr__(smuggled, "op", "frobnicate")
    try:
        assert "%0 frobnicate: unknown instruction" in faults(plan)
    finally:
        object.__setattr__(smuggled, "op", Instruction.STAT)


def test_operands_must_be_earlier_values_and_as_many_as_the_instruction_reads():
    plan = plan_of(POLICY)
    mul = index_of(plan, "mul")
    assert "operands (0, 99) are not all earlier values" in faults(with_instr(plan, mul, args=(0, 99)))
    assert f"operands ({mul}, 0)" in faults(with_instr(plan, mul, args=(mul, 0)))
    assert "reads 1 operands, not 2" in faults(with_instr(plan, mul, args=(0,)))


def test_types_must_follow_from_the_operands():
    plan = plan_of(POLICY)
    mul = index_of(plan, "mul")
    message = faults(with_instr(plan, mul, type=Type("int", "class"), bounds=(0, 2)))
    assert f"%{mul} mul: typed int per class, but its operands make it float per class" in message
    assert "takes no operands of types" in faults(with_instr(plan, mul, op=Instruction.AND))
    assert "is no statistic" in faults(with_instr(plan, 0, attr="val_acc"))


def test_every_number_carries_its_proven_range_and_no_truth_value_has_one():
    plan = plan_of(POLICY)
    assert "a number without its proven range" in faults(with_instr(plan, index_of(plan, "clip"), bounds=None))
    assert "the range [2.0, 1.0] is empty" in faults(with_instr(plan, index_of(plan, "clip"), bounds=(2.0, 1.0)))
    compare = plan_of("policy p\nstate b: bool = false\nevery epoch:\n    b = train_acc > 0.5\n"
                      "per sample:\n    flip_lr\n")
    gt = index_of(compare, "gt")
    assert "a true/false value carries a range" in faults(with_instr(compare, gt, bounds=(0, 1)))


def test_number_states_need_their_range_for_the_update_clamp():
    plan = plan_of(POLICY)
    rangeless = dataclasses.replace(plan, states=(dataclasses.replace(plan.states[0], lo=None),))
    assert "state s: a number state needs its range" in faults(rangeless)


def test_stages_and_updates_read_values_of_the_types_their_roles_take():
    plan = plan_of(POLICY)
    (stage,) = plan.stages
    no_magnitude = dataclasses.replace(plan, stages=(dataclasses.replace(stage, magnitude=None),))
    assert "stage 0: a magnitude where no op takes one, or none where one does" in faults(no_magnitude)
    far = dataclasses.replace(plan, stages=(dataclasses.replace(stage, magnitude=Magnitude(value=99)),))
    assert "stage 0: its magnitude reads no value of the plan (99)" in faults(far)
    bad_count = dataclasses.replace(plan, stages=(dataclasses.replace(stage, count=index_of(plan, "clip")),))
    assert "its count is float per class, not int" in faults(bad_count)
    assert "update of 'nope': no such state" in faults(dataclasses.replace(plan, updates=(("nope", 0),)))


def test_every_fault_is_listed_and_named_a_compiler_bug():
    plan = plan_of(POLICY)
    broken = with_instr(with_instr(plan, index_of(plan, "clip"), bounds=None), index_of(plan, "mul"), args=(0,))
    message = faults(broken)
    assert message.startswith("internal compiler error: the plan of policy 'p' fails verification")
    assert "reads 1 operands" in message and "a number without its proven range" in message
    assert isinstance(PlanError("p", ["x"]), AutodaError)


def test_the_engine_compiles_only_a_verified_plan(monkeypatch):
    checked = autoda.check_policy(POLICY)
    plan = checked.lower()
    broken = with_instr(plan, index_of(plan, "clip"), bounds=None)
    monkeypatch.setattr(type(checked), "lower", lambda self: broken)
    with pytest.raises(PlanError, match="without its proven range"):
        autoda.compile_policy(checked, num_classes=3, seed=0)
