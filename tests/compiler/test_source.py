
import pytest
from hypothesis import given, strategies as st

import autoda
from autoda.compiler.diagnostics import PolicyError
from autoda.compiler.source import MAX_NESTING, MAX_TOKENS, count_tokens, read_source

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


# --- line breaks: the parser's and the diagnostics' line numbers agree -------------------

def first_fault(text: str):
    with pytest.raises(PolicyError) as caught:
        autoda.check_policy(text)
    error = caught.value
    return error.diagnostics[0], error.render()


@pytest.mark.parametrize("separator", ["\x0c", "\x85", "\u2028", "\u2029"])
def test_a_separator_in_a_comment_does_not_shift_the_quoted_line(separator):
    # str.splitlines splits at each of these; the parser does not. A diagnostic on line 3
    # must quote line 3, not the line a splitlines() count would call 3.
    d, rendered = first_fault(f"policy p  # one{separator}two\nper sample:\n    flipp\n")
    assert (d.code, d.line, d.column) == ("N002", 3, 5)
    assert rendered.splitlines()[1] == "        flipp"


@pytest.mark.parametrize("separator", ["\x0b", "\x1c", "\x1d", "\x1e"])
def test_control_separators_are_refused_where_they_stand(separator):
    d, rendered = first_fault(f"policy p\nper sample:  # a{separator}b\n    flip_lr\n")
    assert (d.code, d.line, d.column) == ("I003", 2, 17)
    assert rendered.splitlines()[1] == "    per sample:  # a b"  # shown as a space
    assert "newline" in d.hint


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_carriage_returns_end_lines(newline):
    assert autoda.check_policy(GOOD.replace("\n", newline)).canonical == autoda.check_policy(GOOD).canonical
    d, rendered = first_fault(f"policy p{newline}per sample:{newline}    flipp{newline}")
    assert (d.code, d.line, d.column) == ("N002", 3, 5) and rendered.splitlines()[1] == "        flipp"


def test_bad_bytes_after_carriage_returns_are_placed_on_their_line():
    with pytest.raises(PolicyError) as caught:
        read_source(b"policy p\rper sample:\r\n    flip\xff_lr\r")
    d = caught.value.diagnostics[0]
    assert (d.code, d.line, d.column) == ("I002", 3, 9)


def test_a_byte_order_mark_at_the_start_of_text_is_dropped():
    assert read_source("\ufeff" + GOOD).text == GOOD


@pytest.mark.parametrize("text,hint", [
    ("1 + \u0663", "ASCII digits"),  # Arabic-Indic three
    ("\uff13", "ASCII digits"),  # fullwidth three
    ("3\u0663", "ASCII digits"),
    ("tr\u0430in_acc", "ASCII letters"),  # a Cyrillic a
    ("1 +\u2028 2", "only a newline ends a line"),
])
def test_non_ascii_outside_comments_is_an_error_with_a_hint(text, hint):
    d, _ = first_fault(f"policy p\nevery epoch:\n    let x = {text}\nper sample:\n    flip_lr\n")
    assert d.code == "S002" and d.line == 3 and hint in d.hint and "U+" in d.message


def test_non_ascii_is_fine_in_comments_and_descriptions():
    autoda.check_policy('policy p "caf\u00e9 \u0663"  # \u0663 \uff13 \u2028\nper sample:\n    flip_lr  # \u00e9\n')


@pytest.mark.parametrize("name", ["nan", "NaN", "inf", "Infinity"])
def test_nan_and_inf_are_unknown_names_with_a_hint(name):
    d, _ = first_fault(f"policy p\nevery epoch:\n    let x = {name}\nper sample:\n    flip_lr\n")
    assert d.code == "N001" and ("NaN" in d.hint or "infinity" in d.hint)


def test_too_many_tokens_are_refused_where_the_limit_is_passed():
    text = "policy p\nevery epoch:\n" + "    let a = min(" + ", ".join(["1"] * MAX_TOKENS) + ")\n"
    d, _ = first_fault(text)
    assert (d.code, d.line) == ("I001", 3) and f"{MAX_TOKENS:,}" in d.message
    offset = text.index("    let") + d.column - 1  # the first token over the limit
    assert text[offset] == "1" and count_tokens(text[:offset])[0] == MAX_TOKENS


def test_comments_do_not_count_as_tokens():
    assert count_tokens("policy p  # " + "x " * 100 + "\n")[0] == 2


@given(st.text(st.sampled_from(list("ab #\t\x0c\x85\u2028\u2029\u00e9")), max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_every_pass_counts_lines_the_same_way(comment, newline):
    text = newline.join([f"policy p  #{comment}", f"#{comment}", "per sample:", f"    flipp  #{comment}"]) + newline
    d, rendered = first_fault(text)
    assert (d.code, d.line, d.column) == ("N002", 4, 5)
    assert rendered.splitlines()[1].startswith("        flipp")
