"""The function declarations: one per function, read by every pass."""
import torch

import autoda
from autoda.compiler import rangerules, typerules
from autoda.compiler.functions import DRAWN, FUNCTIONS, Form, Function
from autoda.compiler.instructions import Instruction
from autoda.engine import ClassStats
from helpers import let_policy, let_type


def test_each_generator_kind_lists_its_functions_at_distinct_positions():
    for kind in DRAWN:
        positions = sorted(draw.position for f in FUNCTIONS.values() for form in f.forms
                           for draw in form.draws if draw.kind == kind)
        assert positions == list(range(len(positions))), kind


def test_every_form_lowers_to_an_instruction_and_arities_do_not_overlap():
    for function in FUNCTIONS.values():
        for form in function.forms:
            assert isinstance(form.instruction, Instruction)
            assert form.signature.startswith(f"{function.name}(")
        for n in range(6):
            assert sum(form.takes(n) for form in function.forms) <= 1, (function.name, n)


def test_a_call_is_typed_by_its_form_and_its_instruction():
    assert let_type("min(train_acc)") == "float"  # one argument: over classes
    assert let_type("min(count, 3)") == "int per class"  # two or more: element-wise
    assert let_type("sum(count)") == "int" and let_type("mean(count)") == "float"
    assert let_type("round(train_acc)") == "int per class"


def test_a_new_function_is_one_declaration(monkeypatch):
    """Declared with an existing instruction, it resolves, checks, bounds, lowers and runs."""
    magnitude = Function("magnitude", (Form("magnitude(x)", "absolute value", 1, 1, typerules.numbers,
                                            rangerules.absolute, Instruction.ABS),))
    monkeypatch.setitem(FUNCTIONS, "magnitude", magnitude)
    text = let_policy("magnitude(train_acc - 0.75)", states="state s: float in [0, 1] = 0\n").replace(
        "    let x = magnitude(train_acc - 0.75)\n", "    s = clip(magnitude(train_acc - 0.75), 0, 1)\n")
    checked = autoda.check_policy(text)
    assert "abs" in [instr.op for instr in checked.lower().instrs]
    policy = autoda.compile_policy(checked, num_classes=2, seed=0)
    stats = ClassStats.initial(torch.tensor([20, 10]))
    policy.update_epoch(stats)
    assert policy.state["s"].flatten().tolist() == [0.75, 0.75]  # train_acc is 0 at the first epoch
