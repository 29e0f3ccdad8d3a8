import pytest

import autoda
from autoda.compiler.diagnostics import MAX_DIAGNOSTICS, Diagnostic


def test_render_aligns_carets_under_tabs():
    d = Diagnostic("N001", "unknown name 'x'", 1, 3, 4, hint="h", file="f.dsl")
    assert d.render(["\t\tx + 1"]) == "f.dsl:1:3: error[N001]: unknown name 'x'\n    \t\tx + 1\n    \t\t^\n  hint: h"


def test_all_faults_are_reported_sorted_and_capped():
    lines = "".join(f"    let a{i} = unknown{i}\n" for i in range(30))
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy("policy p\nevery epoch:\n" + lines + "per sample:\n    flip_lr\n")
    error = caught.value
    assert len(error.diagnostics) == MAX_DIAGNOSTICS and error.total == 30
    assert [d.line for d in error.diagnostics] == list(range(3, 3 + MAX_DIAGNOSTICS))
    assert error.render().endswith("... and 10 more errors")


def test_faults_of_different_passes_come_together():
    text = ("policy p\nstate s: int in [0, 10] = 0\nevery epoch:\n    s = s + 1\n    t = 2\n"
            "per sample:\n    cutout(1.5)\n    flip_lr(0.1)\n")
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(text)
    assert [d.code for d in caught.value.diagnostics] == ["R002", "N003", "R001", "T007"]


def test_policy_error_is_a_value_error_with_structured_diagnostics():
    with pytest.raises(ValueError) as caught:
        autoda.check_policy("policy p\nper sample:\n    rotat(0.1)\n", file="mine.dsl")
    (d,) = caught.value.diagnostics
    assert (d.file, d.line, d.column, d.code) == ("mine.dsl", 3, 5, "N002")
    assert d.to_dict()["hint"] == "did you mean 'rotate'?"
    assert str(caught.value).startswith("mine.dsl:3:5: error[N002]")
