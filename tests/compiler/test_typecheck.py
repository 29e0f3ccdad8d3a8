import pytest

import autoda
from helpers import let_type

W = "state w: float per op in [0, 5] = 1\n"
LEVEL = "state level: int in [0, 10] = 0\n"


@pytest.mark.parametrize("expr,expected", [
    ("1", "int"),
    ("1.0", "float"),
    ("true", "bool"),
    ("count + 1", "int per class"),
    ("count / 2", "float per class"),
    ("count ** 2", "int per class"),
    ("count ** 0.5", "float per class"),
    ("epoch % 3", "int"),
    ("train_acc > 0.5", "bool per class"),
    ("mean(train_acc)", "float"),
    ("sum(count)", "int"),
    ("max(count)", "int"),
    ("max(count, 2.5)", "float per class"),
    ("round(train_loss)", "int per class"),
    ("where(train_acc > 0.5, 1, 0)", "int per class"),
    ("1 if epoch > 3 else 0.5", "float"),
    ("(train_acc > 0.5) == (rank > 0.5)", "bool per class"),
    ("uniform(0, 1)", "float per class"),
])
def test_expression_types(expr, expected):
    assert let_type(expr) == expected


@pytest.mark.parametrize("expr,expected", [
    ("w * train_acc", "float per class and op"),
    ("sum_ops(w)", "float per class"),
    ("mean(sum_ops(w))", "float"),
    ("sample_one(w)", "bool per class and op"),
    ("level + w", "float per class and op"),
])
def test_per_op_shapes(expr, expected):
    assert let_type(expr, W + LEVEL) == expected


def codes(text: str) -> list[str]:
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(text)
    return [d.code for d in caught.value.diagnostics]


def test_one_fault_reports_once_however_deep_it_sits():
    text = "policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n    s = clip((not rank) + 1 * 2 - 3, 0, 1)\n" \
           "per sample:\n    flip_lr\n"
    assert codes(text) == ["T001"]


def test_mean_of_a_per_op_value_asks_for_an_op_reduction_first():
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy("policy p\n" + W + "every epoch:\n    let m = mean(w)\n"
                            "per sample:\n    apply 1 of [rotate, shear_x]\n        magnitude 0.1\n")
    d = caught.value.diagnostics[0]
    assert d.code == "T004" and "mean_ops" in d.hint


def test_magnitude_of_a_fixed_stage_is_at_most_per_class():
    assert codes("policy p\n" + W + "per sample:\n    apply 1 of [rotate, shear_x]\n        magnitude 0.1\n"
                 "    cutout(clip(w, 0, 1))\n") == ["T004"]


@pytest.mark.parametrize("stage, hint", [
    ("flip_lr(0.5)", "'flip_lr with probability 0.5'"),  # a number in (0, 1]: meant as a chance
    ("flip_lr(rank)", None),
    ("flip_lr(3)", None),
])
def test_a_magnitude_for_an_op_without_one_hints_at_a_probability(stage, hint):
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(f"policy p\nper sample:\n    {stage}\n")
    (d,) = [d for d in caught.value.diagnostics if d.code == "T007"]
    assert "write just 'flip_lr'" in d.hint
    assert (hint in d.hint) if hint else "probability" not in d.hint


@pytest.mark.parametrize("clause", ["magnitude 0.5", "weight 2", "probability 0.5"])
def test_a_clause_on_the_stages_line_says_where_it_goes(clause):
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(f"policy p\nper sample:\n    apply 1 of [rotate] {clause}\n")
    d = caught.value.diagnostics[0]
    assert d.code == "S001" and "own line below the stage" in d.hint and clause.split()[0] in d.hint
