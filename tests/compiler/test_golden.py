"""Golden bad policies: each file has one fault, and EXPECTED gives its code and position."""
from pathlib import Path

import pytest

import autoda
from autoda.compiler.source import MAX_NESTING, MAX_SOURCE_BYTES

BAD = Path(__file__).parent / "bad"


def _expected() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in (BAD / "EXPECTED").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            file, code, at, message = line.split(None, 3)
            rows.append((file, code, at, message))
    return rows


EXPECTED = _expected()


def test_every_bad_file_has_an_expectation():
    on_disk = sorted(p.name for p in BAD.glob("*.dsl"))
    assert on_disk == sorted(row[0] for row in EXPECTED)
    assert len(on_disk) >= 40


@pytest.mark.parametrize("file,code,at,message", EXPECTED, ids=[row[0] for row in EXPECTED])
def test_bad_policy_gives_its_one_diagnostic(file, code, at, message):
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(BAD / file)
    error = caught.value
    first = error.diagnostics[0]
    assert (first.code, f"{first.line}:{first.column}") == (code, at), error.render()
    assert message in first.message
    assert first.file == str(BAD / file)
    assert error.total == 1, error.render()  # one fault, one diagnostic: no echoes


def test_a_one_megabyte_line_is_refused_before_parsing():
    text = "policy p\nper sample:\n    flip_lr with probability " + "1" * (1 << 20) + "\n"
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(text)
    (d,) = caught.value.diagnostics
    assert d.code == "I001" and str(MAX_SOURCE_BYTES) in d.message.replace(",", "")


def test_ten_thousand_nested_parentheses_are_refused():
    text = "policy p\nevery epoch:\n    let x = " + "(" * 10_000 + "1" + ")" * 10_000 + "\nper sample:\n    flip_lr\n"
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(text)
    (d,) = caught.value.diagnostics
    assert (d.code, d.line, d.column) == ("I004", 3, 13 + MAX_NESTING)


def test_deep_unbracketed_nesting_is_refused_not_a_recursion_error():
    text = "policy p\nevery epoch:\n    let x = " + "not " * 5_000 + "true\nper sample:\n    flip_lr\n"
    with pytest.raises(autoda.PolicyError) as caught:
        autoda.check_policy(text)
    assert caught.value.diagnostics[0].code == "I004"
