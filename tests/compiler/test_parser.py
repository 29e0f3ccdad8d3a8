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


def test_chained_comparison_is_one_node_whose_middle_operand_has_one_parent():
    chain = first_let("0 < x <= 1")
    assert chain == ast.Compare((ast.Num(0), ast.Name("x"), ast.Num(1)), ("<", "<="))
    assert [(op, a, b) for op, a, b in chain.pairs()] == [
        ("<", ast.Num(0), ast.Name("x")), ("<=", ast.Name("x"), ast.Num(1))]
    assert first_let("0 < x") == ast.Binary("<", ast.Num(0), ast.Name("x"))  # one comparison stays binary


def test_no_node_of_a_parsed_tree_has_two_parents():
    tree = first_let("where(0 < where(0 < x < 1, 0, 1) < 1, 0, 1) if a < b <= c == d else 2")
    nodes = list(ast.walk(tree))
    assert len(nodes) == len({id(n) for n in nodes})


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


def test_recovery_after_syntax_errors_reads_a_bounded_amount_of_text(monkeypatch):
    # each recovery re-parses from the top: twenty errors at the end of a long policy were
    # twenty parses of all of it
    from autoda.compiler import parser
    lark = parser._lark()
    parses = []
    original = lark.parse
    monkeypatch.setattr(lark, "parse", lambda text, *a, **k: parses.append(len(text)) or original(text, *a, **k))
    body = "    let a = 1\n" * 4000 + "    let = 1\n" * 20
    with pytest.raises(PolicyError) as caught:
        parsed(f"policy p\nevery epoch:\n{body}per sample:\n    flip_lr\n")
    assert caught.value.diagnostics[0].line == 4003
    assert len(parses) == 2  # the first parse, and one re-parse, which spends the budget
    assert len(body) > parser.RECOVERY_BUDGET


@pytest.mark.parametrize("digits", [16, 31, 4301, 20_000])
def test_integer_literals_of_any_length_are_one_range_error_with_a_position(digits):
    # int() refuses over 4,300 digits: that was an internal error (X001)
    import autoda
    with pytest.raises(PolicyError) as caught:
        autoda.check_policy(f"policy p\nevery epoch:\n    let x = {'9' * digits}\nper sample:\n    flip_lr\n")
    error = caught.value
    assert [(d.code, d.line, d.column) for d in error.diagnostics] == [("R001", 3, 13)]
    assert "too large" in error.diagnostics[0].message


def test_a_bound_too_large_for_a_float_is_no_internal_error():
    import autoda
    with pytest.raises(PolicyError) as caught:  # 1e309 is inf: int(inf) raised in a hint
        autoda.check_policy("policy p\nstate s: int in [0, 1e309] = 0\nper sample:\n    flip_lr\n")
    assert {d.code for d in caught.value.diagnostics} == {"R001", "T005"}


def test_int_bounds_that_outgrow_every_float_are_no_internal_error():
    import autoda
    lets = "".join(f"    let a{i} = a{i - 1} + a{i - 1}\n" for i in range(1, 1100))  # up to 2 ** 1100
    autoda.check_policy(f"policy p\nevery epoch:\n    let a0 = 1\n{lets}per sample:\n    flip_lr\n")
