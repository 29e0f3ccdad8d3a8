from pathlib import Path

import pytest

from autoda.compiler import ast
from autoda.compiler.diagnostics import PolicyError
from helpers import parsed

PACKAGE = Path(__file__).parents[2] / "autoda"


def first_let(text: str) -> ast.Expr:
    return parsed(f"policy p\nevery epoch:\n    let x = {text}\nper sample:\n    flip_lr\n").epoch[0].value


def test_sections_and_spans():
    tree = parsed("policy p \"d\"\nstate s: float per op in [0, 1] = 0.5\nevery epoch:\n"
                  "    s = clip(s, 0, 1)\nper sample:\n    apply 1 of [rotate]\n        magnitude 0.2\n")
    assert (tree.name, tree.description) == ("p", "d")
    (decl,) = tree.states
    assert (decl.name, decl.type, decl.per_op, decl.lo.value, decl.hi.value, decl.init.value) == \
        ("s", "float", True, 0, 1, 0.5)
    assert (decl.name_span.line, decl.name_span.column) == (2, 7)
    (stage,) = tree.stages
    assert [r.name for r in stage.ops] == ["rotate"] and stage.clause("magnitude") == ast.Num(0.2)


def test_precedence_follows_python():
    assert first_let("1 + 2 * 3") == ast.Binary("+", ast.Num(1), ast.Binary("*", ast.Num(2), ast.Num(3)))
    assert first_let("-2 ** 2") == ast.Unary("-", ast.Binary("**", ast.Num(2), ast.Num(2)))
    assert first_let("not a and b") == ast.Binary("and", ast.Unary("not", ast.Name("a")), ast.Name("b"))
    assert first_let("a if b else c if d else e") == ast.Cond(
        ast.Name("a"), ast.Name("b"), ast.Cond(ast.Name("c"), ast.Name("d"), ast.Name("e")))


def test_chained_comparison_is_a_conjunction():
    assert first_let("0 < x <= 1") == ast.Binary(
        "and", ast.Binary("<", ast.Num(0), ast.Name("x")), ast.Binary("<=", ast.Name("x"), ast.Num(1)))


def test_negative_literals_fold_and_unary_plus_vanishes():
    assert first_let("-3") == ast.Num(-3)
    assert first_let("+x") == ast.Name("x")
    assert first_let("- -2") == ast.Num(2)


def test_augmented_assignment_desugars():
    tree = parsed("policy p\nstate s: int in [0, 9] = 0\nevery epoch:\n    s += 1\nper sample:\n    flip_lr\n")
    assert tree.epoch[0] == ast.Assign("s", ast.Binary("+", ast.Name("s"), ast.Num(1)))


def test_layout_is_free_inside_brackets_and_with_continuations():
    tree = parsed("policy p\n\n\n  every epoch:\n let x = clip(\n 1,\n\n 0, 2)  # c\n    let y = 1 + \\\n 2\n"
                  "per sample:\n apply 1 of [rotate,\n  shear_x,\n]\n magnitude 0.1\n")
    assert [s.name for s in tree.epoch] == ["x", "y"]
    assert [r.name for r in tree.stages[0].ops] == ["rotate", "shear_x"]


def test_keywords_are_soft():
    tree = parsed("policy epoch\nstate weight: float in [0, 1] = 0\nevery epoch:\n"
                  "    weight = clip(epoch * 0, 0, 1)\nper sample:\n    flip_lr\n")
    assert tree.name == "epoch" and tree.epoch[0].name == "weight"


def test_independent_syntax_errors_are_all_reported():
    with pytest.raises(PolicyError) as caught:
        parsed("policy p\nevery epoch:\n    let a = 1 +\n    let b = 2\n    let c = * 3\nper sample:\n    flip_lr\n")
    assert [(d.code, d.line) for d in caught.value.diagnostics] == [("S001", 3), ("S001", 5)]


def test_only_the_parser_imports_lark():
    importers = sorted(p.name for p in PACKAGE.rglob("*.py")
                       if any(line.startswith(("import lark", "from lark")) for line in p.read_text().splitlines()))
    assert importers == ["parser.py"]
