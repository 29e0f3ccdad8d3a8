"""Type rules of function calls, which the declarations in functions.py name.

A rule types a call whose arity already checked: it types the arguments through the
checker, reports what is wrong with them (once, where it arises), and otherwise returns
the call's type, which for most functions is the result rule of the instruction the call
lowers to, so a function's typing and its instruction's cannot drift apart.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

from . import ast
from .types import ERROR, Type, broadcast, shape_words

if TYPE_CHECKING:
    from .functions import Form


class CallTyping(Protocol):
    """What a type rule may ask of the type checker (typecheck._Checker)."""

    section: str  # "epoch" or "sample"

    def expr(self, expr: ast.Expr) -> Type: ...
    def error(self, code: str, span: ast.Span, message: str, hint: str | None = None) -> Type: ...
    def choice(self, span: ast.Span, test: ast.Expr, a: ast.Expr, b: ast.Expr, what: str) -> Type: ...
    def is_random_root(self, expr: ast.Expr) -> bool: ...


TypeRule = Callable[[CallTyping, ast.Call, "Form"], Type]


def _numbers(checker: CallTyping, call: ast.Call) -> list[Type] | None:
    """The arguments' types, or None after reporting the first that is no number (or
    nothing, when an argument's own fault was reported)."""
    args = [checker.expr(a) for a in call.args]
    if any(a.is_error for a in args):
        return None
    for arg, node in zip(args, call.args):
        if not arg.is_numeric:
            checker.error("T001", node.span, f"{call.func}() needs numbers, got {arg}",
                          "use where(cond, a, b) to turn true/false into numbers")
            return None
    return args


def _result(form: Form, args: list[Type]) -> Type:
    """The call's type: its instruction's result. The rules check what the instruction takes
    first, so that each fault gets its own message."""
    result = form.instruction.result(args)
    assert result is not None, (form.signature, args)
    return result


def numbers(checker: CallTyping, call: ast.Call, form: Form) -> Type:
    """Numbers in, element-wise; the instruction's result out."""
    args = _numbers(checker, call)
    return ERROR if args is None else _result(form, args)


def over_classes(checker: CallTyping, call: ast.Call, form: Form) -> Type:
    """A per-class number reduced over classes."""
    args = _numbers(checker, call)
    if args is None:
        return ERROR
    shape, f = args[0].shape, call.func
    if shape != "class":
        hint = f"reduce over ops first, e.g. {f}({f}_ops(x))" if shape == "class_op" else "it is already one number"
        return checker.error("T004", call.span, f"{f}(x) reduces over classes; x is {shape_words(shape)}", hint)
    return _result(form, args)


def over_ops(checker: CallTyping, call: ast.Call, form: Form) -> Type:
    """A per-class-and-op number reduced over ops."""
    args = _numbers(checker, call)
    if args is None:
        return ERROR
    if args[0].shape != "class_op":
        return checker.error("T004", call.span, f"{call.func}(x) reduces over ops; x is {shape_words(args[0].shape)}")
    return _result(form, args)


def where(checker: CallTyping, call: ast.Call, form: Form) -> Type:
    """``where(cond, a, b)`` is typed as ``a if cond else b``."""
    return checker.choice(call.span, call.args[0], call.args[1], call.args[2], "where()")


def sample_one(checker: CallTyping, call: ast.Call, form: Form) -> Type:
    """A draw the epoch section makes, from per-op weights."""
    args = _numbers(checker, call)
    if args is None:
        return ERROR
    if checker.section != "epoch":
        return checker.error("T006", call.span, "sample_one() draws in the epoch section only",
                             "draw into per-op bool state there and use it here")
    if args[0].shape != "class_op":
        return checker.error("T004", call.span,
                             f"sample_one(w) needs per-op weights; w is {shape_words(args[0].shape)}",
                             "declare the weights as 'state w: float per op in [...] = ...'")
    return _result(form, args)


def level_test(checker: CallTyping, call: ast.Call, form: Form) -> Type:
    """CUDA's probe: a whole level per class, in the epoch section."""
    args = _numbers(checker, call)
    if args is None:
        return ERROR
    if checker.section != "epoch":
        return checker.error("T006", call.span, f"{call.func}() probes the model in the epoch section only",
                             "probe there into bool state and use it here")
    if args[0].shape == "class_op":
        return checker.error("T004", call.span, f"{call.func}(level) takes a level per class; it is per class and op")
    if args[0].dtype != "int":
        return checker.error("T001", call.args[0].span, f"{call.func}(level) takes a whole level, got {args[0]}",
                             "declare the level 'int in [0, 10]', or wrap it in round()")
    return _result(form, args)


def uniform(checker: CallTyping, call: ast.Call, form: Form) -> Type:
    """A draw: per class (and op) in the epoch section; per sample as a whole magnitude,
    where the stage draws it (no instruction: its own shape, not widened to per class)."""
    args = _numbers(checker, call)
    if args is None:
        return ERROR
    if checker.section != "epoch":
        if not checker.is_random_root(call):
            return checker.error("T006", call.span, "uniform() is allowed here only as a whole magnitude",
                                 "write 'magnitude uniform(lo, hi)'")
        return Type("float", broadcast(*(a.shape for a in args)))
    return _result(form, args)
