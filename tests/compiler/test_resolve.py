from autoda.compiler import ast
from autoda.compiler.resolve import resolve
from helpers import parsed


def resolved(text: str):
    tree = parsed(text)
    return tree, *resolve(tree)


def test_names_resolve_to_statistics_state_and_lets():
    tree, resolution, errors = resolved(
        "policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n    let t = train_acc\n    s = clip(t + s, 0, 1)\n"
        "per sample:\n    cutout(s)\n")
    assert errors == []
    kinds = {n.id: resolution.symbols[id(n)].kind for stmt in tree.epoch for n in ast.walk(stmt.value)
             if isinstance(n, ast.Name)}
    assert kinds == {"train_acc": "stat", "t": "local", "s": "state"}


def test_a_let_is_not_visible_before_its_definition():
    _, _, errors = resolved("policy p\nevery epoch:\n    let a = b\n    let b = 1\nper sample:\n    flip_lr\n")
    assert [(e.code, e.message) for e in errors] == [("N001", "unknown name 'b'")]


def test_hints_name_the_nearest_word():
    _, _, errors = resolved("policy p\nevery epoch:\n    let a = Train_Acc + True\nper sample:\n    flip_lr\n")
    assert [e.hint for e in errors] == ["did you mean 'train_acc'?", "did you mean 'true'?"]


def test_a_function_used_as_a_name_says_so():
    _, _, errors = resolved("policy p\nevery epoch:\n    let a = clip\nper sample:\n    flip_lr\n")
    assert errors[0].code == "N001" and "is a function" in errors[0].hint
