from pathlib import Path

import pytest

import autoda
from autoda.compiler import format_expr, format_policy
from helpers import parsed

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "policies").glob("*.dsl"))


def canonical_expr(text: str) -> str:
    tree = parsed(f"policy p\nevery epoch:\n    let x = {text}\nper sample:\n    flip_lr\n")
    return format_expr(tree.epoch[0].value)


@pytest.mark.parametrize("text,expected", [
    ("((a))  +  (b * c)", "a + b * c"),
    ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"),
    ("(a + b) * c", "(a + b) * c"),
    ("-(a + b)", "-(a + b)"),
    ("(-2) ** 2", "(-2) ** 2"),
    ("-(2 ** 2)", "-2 ** 2"),
    ("2 ** -1", "2 ** -1"),
    ("(a if c else b) + 1", "(a if c else b) + 1"),
    ("a if c else (b if d else e)", "a if c else b if d else e"),
    ("(a if c else b) if d else e", "(a if c else b) if d else e"),
    ("not (a and b)", "not (a and b)"),
    ("(a < b) == c", "(a < b) == c"),
    ("0 < x < 1", "0 < x < 1"),
    ("(0 < x < 1) == (a < b < c)", "(0 < x < 1) == (a < b < c)"),
    ("0 < x and x < 1", "0 < x and x < 1"),
    ("(0 < x) < 1", "(0 < x) < 1"),
    ("a or (b and c)", "a or b and c"),
    ("(a or b) and c", "(a or b) and c"),
    ("x - -1", "x - -1"),
    ("f(  a,b , )", "f(a, b)"),
    ("1.50", "1.5"),
    ("1e-9", "1e-09"),
])
def test_fewest_brackets_that_keep_the_tree(text, expected):
    assert canonical_expr(text) == expected
    assert canonical_expr(expected) == expected


def test_clauses_come_in_canonical_order_and_augmented_assignment_is_written_out():
    text = ("policy p\nstate s: int in [0, 5] = 0\nevery epoch:\n    s += 1\nper sample:\n"
            "    apply 1 of [rotate, shear_x]\n        probability 0.5\n        magnitude 0.2\n        weight 2\n")
    assert format_policy(parsed(text)) == (
        "policy p\n\nstate s: int in [0, 5] = 0\n\nevery epoch:\n    s = s + 1\n\nper sample:\n"
        "    apply 1 of [rotate, shear_x]\n        magnitude 0.2\n        weight 2\n        probability 0.5\n")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_format_idempotently_and_keep_their_hash(path):
    checked = autoda.check_policy(path)
    again = autoda.check_policy(checked.canonical)
    assert again.canonical == checked.canonical
    assert again.hash == checked.hash


def test_the_hash_is_of_what_a_policy_does_not_of_what_its_names_are():
    text = ("policy {name} \"{description}\"\nstate {s}: float in [0, 1] = 0.5\nevery epoch:\n"
            "    let {v} = train_acc > 0.5\n    {s} = clip({s} + where({v}, 0.1, -0.1), 0, 1)\n"
            "per sample:\n    rotate({s}) with probability {p}\n")
    base = autoda.check_policy(text.format(name="a", description="x", s="level", v="easy", p=0.5))
    renamed = autoda.check_policy(text.format(name="b", description="y", s="strength", v="fit", p=0.5))
    assert renamed.hash == base.hash and renamed.canonical != base.canonical
    assert autoda.check_policy(text.format(name="a", description="x", s="level", v="easy", p=0.4)).hash != base.hash
