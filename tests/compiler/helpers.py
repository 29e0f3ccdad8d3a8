"""Small builders for compiler tests: a policy around one expression, and its pass results."""
from autoda.compiler.parser import parse
from autoda.compiler.resolve import resolve
from autoda.compiler.source import read_source
from autoda.compiler.typecheck import typecheck

TAIL = "per sample:\n    flip_lr\n"
APPLY = "per sample:\n    apply 1 of [rotate, shear_x, color]\n        magnitude 0.3\n"


def let_policy(expr: str, states: str = "", sample: str = APPLY) -> str:
    """A policy whose epoch section is ``let x = EXPR``."""
    return f"policy p\n{states}every epoch:\n    let x = {expr}\n{sample}"


def parsed(text: str):
    return parse(read_source(text))


def let_type(expr: str, states: str = "") -> str:
    """The checked type of EXPR, as the checker prints it (e.g. 'float per class')."""
    tree = parsed(let_policy(expr, states))
    resolution, errors = resolve(tree)
    assert not errors, errors
    typing, errors = typecheck(tree, resolution)
    assert not errors, errors
    return str(typing.locals["x"])
