import pytest

import autoda


def interval_of_let(expr: str, states: str = "") -> str:
    checked = autoda.check_policy(f"policy p\n{states}every epoch:\n    let x = {expr}\nper sample:\n    flip_lr\n")
    return str(checked.ranges.locals["x"])


@pytest.mark.parametrize("expr,expected", [
    ("1 - freq", "[0, 1]"),
    ("train_acc * 20 - 10", "[-10, 10]"),
    ("clip(train_loss, 0, 5)", "[0, 5]"),
    ("where(train_acc > 0.5, 2, -1)", "[-1, 2]"),
    ("exp(-train_loss)", "[0, 1]"),
    ("1 / freq", "[1, 1e+09]"),
    ("sum(train_acc)", "[0, inf]"),
    ("round(rank * 2.6)", "[0, 3]"),
    ("abs(train_acc - 0.5)", "[0, 0.5]"),
    ("(train_acc - 0.5) ** 2", "[0, 0.25]"),
])
def test_intervals_of_expressions(expr, expected):
    assert interval_of_let(expr) == expected


def test_state_reads_its_declared_range():
    assert interval_of_let("level / 30", "state level: int in [0, 10] = 0\n") == "[0, 0.3333]"


def test_float_rounding_does_not_turn_a_true_bound_into_an_error():
    autoda.check_policy("policy p\nstate s: float in [0, 0.3] = 0\nevery epoch:\n    s = 0.1 + 0.2\n"
                        "per sample:\n    flip_lr\n")


def test_clip_is_the_fix_the_hint_names():
    bad = "policy p\nstate s: float in [0, 2] = 0\nevery epoch:\n    s = s + train_acc\nper sample:\n    flip_lr\n"
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(bad)
    assert caught.value.diagnostics[0].hint == "wrap it: clip(..., 0, 2)"
    autoda.check_policy(bad.replace("s + train_acc", "clip(s + train_acc, 0, 2)"))


@pytest.mark.parametrize("expr", ["log(max(train_acc, 1e-6))", "sqrt(max(rank - 0.5, 0))",
                                  "1 / max(train_acc, 0.01)", "epoch % max(count, 1)", "max(w_norm, 1) ** -1"])
def test_guarded_domains_pass(expr):
    interval_of_let(expr)


def test_a_magnitude_proven_in_range_needs_no_clip():
    autoda.check_policy("policy p\nstate level: int in [0, 10] = 0\nper sample:\n"
                        "    apply level of [rotate, shear_x, shear_y, translate_x, translate_y, color, contrast,"
                        " brightness, sharpness, posterize]\n        magnitude level / 30\n        weight 1 - freq\n")


def test_the_range_pass_alone():
    from autoda.compiler.ranges import check_ranges
    from autoda.compiler.resolve import resolve
    from autoda.compiler.typecheck import typecheck
    from helpers import parsed

    tree = parsed("policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n    s = train_acc * 2\n"
                  "per sample:\n    cutout(s)\n")
    resolution, _ = resolve(tree)
    typing, _ = typecheck(tree, resolution)
    ranges, errors = check_ranges(tree, resolution, typing)
    assert [(e.code, e.line) for e in errors] == [("R002", 4)]
    assert str(ranges.of(tree.epoch[0].value)) == "[0, 2]"
