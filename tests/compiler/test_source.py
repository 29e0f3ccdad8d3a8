
import pytest

from autoda.compiler.diagnostics import PolicyError
from autoda.compiler.source import MAX_NESTING, read_source

GOOD = "policy p\nper sample:\n    flip_lr\n"


def codes(source) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        read_source(source)
    return [d.code for d in caught.value.diagnostics]


def test_reads_text_bytes_and_paths(tmp_path):
    path = tmp_path / "p.dsl"
    path.write_text(GOOD)
    assert read_source(GOOD).text == GOOD
    assert read_source(GOOD.encode()).text == GOOD
    assert read_source(path).file == str(path)
    assert read_source(str(path)).text == GOOD  # a str naming a file is a path


def test_utf8_byte_order_mark_is_dropped():
    assert read_source(b"\xef\xbb\xbf" + GOOD.encode()).text == GOOD


def test_missing_dsl_path_is_reported_as_unreadable_not_parsed_as_text(tmp_path):
    assert codes(str(tmp_path / "missing.dsl")) == ["I006"]


def test_position_of_a_bad_byte():
    with pytest.raises(PolicyError) as caught:
        read_source(b"policy p\nper sample:\n    flip\xff_lr\n")
    d = caught.value.diagnostics[0]
    assert (d.code, d.line, d.column) == ("I002", 3, 9)


@pytest.mark.parametrize("text", ["policy p\x01\n", "policy p\x7f\n", "policy p\ud800\n"])
def test_control_characters_are_refused(text):
    assert codes(text) == ["I003"]


def test_nesting_just_under_the_limit_is_fine_and_over_it_is_not():
    depth_ok = "(" * MAX_NESTING + "1" + ")" * MAX_NESTING
    depth_bad = "(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1)
    read_source(f"policy p\nevery epoch:\n    let x = {depth_ok}\n{GOOD[9:]}")
    assert codes(f"policy p\nevery epoch:\n    let x = {depth_bad}\n") == ["I004"]


def test_brackets_in_comments_and_descriptions_do_not_count():
    read_source('policy p "' + "(" * 100 + '"\n# ' + "[" * 100 + "\n" + GOOD[9:])


def test_a_source_that_is_not_text_is_a_type_error():
    with pytest.raises(TypeError):
        read_source(42)  # a caller's bug, not a bad policy
