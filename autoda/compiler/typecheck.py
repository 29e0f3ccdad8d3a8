"""The type checker: a dtype and a shape for every expression, and the section rules.

A fault is reported once, where it arises; an expression built on a faulty one gets the
ERROR type and reports nothing more, so one mistake gives one diagnostic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..ops import OPS
from . import ast
from .diagnostics import Diagnostic, diag
from .format import format_expr
from .functions import FUNCTIONS, Function, is_per_sample_draw
from .resolve import Resolution
from .types import ERROR, Type, broadcast, fits, numeric_dtype, shape_words


@dataclass
class Typing:
    types: dict[int, Type] = field(default_factory=dict)  # id(expr node) -> Type
    locals: dict[str, Type] = field(default_factory=dict)

    def of(self, expr: ast.Expr) -> Type:
        return self.types.get(id(expr), ERROR)


_NUMERIC_ROLES = {"magnitude": "a magnitude", "weight": "a weight", "probability": "a probability",
                  "count": "a count"}


class _Checker:
    def __init__(self, policy: ast.Policy, resolution: Resolution) -> None:
        self.policy = policy
        self.resolution = resolution
        self.out = Typing()
        self.diagnostics: list[Diagnostic] = []
        self.section = "epoch"
        self.random_root: ast.Expr | None = None  # the one node where uniform() may stand per sample

    def error(self, code: str, span: ast.Span, message: str, hint: str | None = None) -> Type:
        self.diagnostics.append(diag(code, span, message, hint))
        return ERROR

    # --- expressions ---------------------------------------------------------------------

    def expr(self, expr: ast.Expr) -> Type:
        result = self._expr(expr)
        self.out.types[id(expr)] = result
        return result

    def _expr(self, e: ast.Expr) -> Type:
        if isinstance(e, ast.Num):
            return Type("int" if isinstance(e.value, int) else "float", "scalar")
        if isinstance(e, ast.Bool):
            return Type("bool", "scalar")
        if isinstance(e, ast.Name):
            return self.name(e)
        if isinstance(e, ast.Unary):
            operand = self.expr(e.operand)
            if operand.is_error:
                return ERROR
            if e.op == "not":
                if operand.dtype != "bool":
                    return self.error("T001", e.span, f"'not' needs true/false, got {operand}",
                                      "compare first, e.g. 'not (x > 0)'")
                return operand
            if not operand.is_numeric:
                return self.error("T001", e.span, f"'-' needs a number, got {operand}")
            return operand
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.Compare):
            return self.compare(e)
        if isinstance(e, ast.Cond):
            return self.choice(e.span, e.test, e.body, e.orelse, "a conditional expression")
        if isinstance(e, ast.Call):
            return self.call(e)
        raise AssertionError(e)

    def name(self, e: ast.Name) -> Type:
        symbol = self.resolution.symbols.get(id(e))
        if symbol is None:
            return ERROR
        if symbol.kind == "stat":
            return Type(symbol.decl.dtype, "class" if symbol.decl.per_class else "scalar")
        if symbol.kind == "state":
            return Type(symbol.decl.type, "class_op" if symbol.decl.per_op else "class")
        return self.out.locals.get(symbol.name, ERROR)

    def binary(self, e: ast.Binary) -> Type:
        left, right = self.expr(e.left), self.expr(e.right)
        if left.is_error or right.is_error:
            return ERROR
        shape = broadcast(left.shape, right.shape)
        if e.op in ("and", "or"):
            for side in (left, right):
                if side.dtype != "bool":
                    return self.error("T001", e.span, f"'{e.op}' needs true/false on both sides, got {side}",
                                      "compare first, e.g. 'x > 0'")
            return Type("bool", shape)
        if e.op in ast.COMPARISONS:
            return self.comparison(e.op, left, right, e.span)
        for side in (left, right):
            if not side.is_numeric:
                return self.error("T001", e.span, f"'{e.op}' needs numbers, got {side}",
                                  "use where(cond, a, b) to turn true/false into numbers")
        if e.op == "/":
            return Type("float", shape)
        if e.op == "**":
            if not isinstance(e.right, ast.Num):
                return self.error("T012", e.right.span, "the exponent of '**' must be a number",
                                  "for a varying exponent write exp(y * log(x))")
            whole = left.dtype == "int" and isinstance(e.right.value, int) and e.right.value >= 0
            return Type("int" if whole else "float", shape)
        return Type(numeric_dtype(left.dtype, right.dtype), shape)

    def comparison(self, op: str, left: Type, right: Type, span: ast.Span) -> Type:
        shape = broadcast(left.shape, right.shape)
        if op in ("==", "!=") and left.dtype == right.dtype == "bool":
            return Type("bool", shape)
        for side in (left, right):
            if not side.is_numeric:
                return self.error("T001", span, f"'{op}' needs numbers, got {side}",
                                  "use where(cond, a, b) to turn true/false into numbers")
        return Type("bool", shape)

    def compare(self, e: ast.Compare) -> Type:
        """``a < b < c``: each comparison as if alone; true where all of them are."""
        types = [self.expr(x) for x in e.operands]
        if any(t.is_error for t in types):
            return ERROR
        for op, (left, right), (a, b) in zip(e.ops, zip(types, types[1:]), zip(e.operands, e.operands[1:])):
            span = ast.Span(a.span.line, a.span.column, b.span.end_line, b.span.end_column)
            if self.comparison(op, left, right, span).is_error:
                return ERROR
        return Type("bool", broadcast(*(t.shape for t in types)))

    def choice(self, span: ast.Span, test: ast.Expr, a: ast.Expr, b: ast.Expr, what: str) -> Type:
        t, ta, tb = self.expr(test), self.expr(a), self.expr(b)
        if t.is_error or ta.is_error or tb.is_error:
            return ERROR
        if t.dtype != "bool":
            return self.error("T001", test.span, f"the condition of {what} must be true/false, got {t}",
                              "compare, e.g. 'train_acc > 0.5'")
        shape = broadcast(t.shape, ta.shape, tb.shape)
        if ta.dtype == tb.dtype == "bool":
            return Type("bool", shape)
        if not (ta.is_numeric and tb.is_numeric):
            return self.error("T001", span, f"both branches of {what} must be numbers or both true/false, "
                                            f"got {ta} and {tb}")
        return Type(numeric_dtype(ta.dtype, tb.dtype), shape)

    def call(self, e: ast.Call) -> Type:
        """A call has the type its form's rule gives it (functions.py)."""
        function = FUNCTIONS.get(e.func)
        form = function.form_for(len(e.args)) if function is not None else None
        if form is None:
            for arg in e.args:
                self.expr(arg)
            if function is None:  # the resolver reported it
                return ERROR
            return self.arity_error(e, function)
        return form.type_rule(self, e, form)

    def arity_error(self, e: ast.Call, function: Function) -> Type:
        low, high, n = function.min_args, function.max_args, len(e.args)
        want = f"{low}" if high == low else f"{low} or more" if high is None else f"{low} to {high}"
        return self.error("T002", e.span, f"{e.func}() takes {want} argument{'s' if want != '1' else ''}, got {n}",
                          "; ".join(form.signature for form in function.forms))

    def is_random_root(self, expr: ast.Expr) -> bool:
        """Whether ``expr`` is the one node where uniform() may stand per sample: a whole magnitude."""
        return expr is self.random_root

    # --- declarations and sections -------------------------------------------------------

    def state(self, decl: ast.StateDecl) -> None:
        if decl.type == "bool":
            if decl.lo is not None:
                self.error("T005", decl.lo.span, f"bool state {decl.name!r} takes no range")
            if not isinstance(decl.init, ast.Bool):
                self.error("T005", decl.init.span, f"bool state {decl.name!r} starts at true or false")
        else:
            if decl.lo is None:
                self.error("T005", decl.name_span, f"state {decl.name!r} needs a range",
                           f"write 'state {decl.name}: {decl.type} in [LO, HI] = INIT'")
            for literal in (decl.lo, decl.hi, decl.init):
                if literal is None:
                    continue
                if isinstance(literal, ast.Bool):
                    self.error("T005", literal.span, f"{decl.type} state {decl.name!r} needs numbers here")
                elif decl.type == "int" and not isinstance(literal.value, int):
                    whole = int(literal.value) if math.isfinite(literal.value) else None  # 1e309 is inf
                    self.error("T005", literal.span, f"int state {decl.name!r} needs whole numbers here",
                               f"write {whole} or declare it float" if whole is not None else None)
        if decl.per_op and self.policy.apply_stage is None:
            self.error("T009", decl.name_span, f"state {decl.name!r} is per op, but no apply stage lists ops",
                       "add 'apply N of [ops]' to the per-sample section, or drop 'per op'")

    def assign(self, statement: ast.Assign) -> None:
        value = self.expr(statement.value)
        decl = self.resolution.states.get(statement.name)
        if value.is_error or decl is None:
            return
        target = Type(decl.type, "class_op" if decl.per_op else "class")
        if (value.dtype == "bool") != (target.dtype == "bool"):
            self.error("T001", statement.value.span, f"state {decl.name!r} is {target.dtype}; this value is {value}")
        elif target.dtype == "int" and value.dtype == "float":
            self.error("T003", statement.value.span, f"state {decl.name!r} is int; this value is float",
                       "round it: round(...), floor(...) or ceil(...)")
        if not fits(value.shape, target.shape):
            self.error("T004", statement.value.span,
                       f"this value is {shape_words(value.shape)}; state {decl.name!r} is {shape_words(target.shape)}",
                       f"reduce over ops (e.g. sum_ops(...)), or declare 'state {decl.name}: ... per op'")

    def role(self, role: str, expr: ast.Expr, largest: str) -> None:
        """Type one stage expression (count, magnitude, weight, probability)."""
        if role == "magnitude" and is_per_sample_draw(expr):
            self.random_root = expr
        t = self.expr(expr)
        self.random_root = None
        if t.is_error:
            return
        if not t.is_numeric:
            self.error("T001", expr.span, f"{_NUMERIC_ROLES[role]} must be a number, got {t}",
                       "use where(cond, a, b) to turn true/false into numbers")
        elif role == "count" and t.dtype != "int":
            self.error("T001", expr.span, f"the count of ops must be an int, got {t}", "round it: round(...)")
        elif not fits(t.shape, largest):
            self.error("T004", expr.span, f"{_NUMERIC_ROLES[role]} here is at most {shape_words(largest)}; "
                                          f"this value is {shape_words(t.shape)}",
                       "per-op values belong to the apply stage" if largest == "class" else None)

    def apply(self, stage: ast.Apply) -> None:
        self.role("count", stage.count, "class")
        seen: dict[str, ast.Clause] = {}
        for clause in stage.clauses:
            if clause.kind in seen:
                self.error("T011", clause.span, f"the apply stage has two {clause.kind} clauses")
            seen[clause.kind] = clause
            self.role(clause.kind, clause.value, "class_op")
        known = [r.name for r in stage.ops if r.name in OPS]
        takes = [name for name in known if OPS[name].has_magnitude]
        if "magnitude" not in seen and takes:
            self.error("T008", stage.span, f"the apply stage needs a magnitude: {', '.join(takes[:4])}"
                                           f"{' and more' if len(takes) > 4 else ''} take one",
                       "add a line 'magnitude 0.3' (0 is the identity, 1 each op's strongest)")
        elif "magnitude" in seen and known and len(known) == len(stage.ops) and not takes:
            self.error("T007", seen["magnitude"].span, "no op of this apply stage takes a magnitude",
                       "drop the magnitude line")

    def fixed(self, stage: ast.Fixed) -> None:
        spec = OPS.get(stage.op.name)
        if stage.magnitude is not None:
            self.role("magnitude", stage.magnitude, "class")
            if spec is not None and not spec.has_magnitude:
                chance = f"'{spec.name} with probability {format_expr(stage.magnitude)}'" \
                    if isinstance(stage.magnitude, ast.Num) and 0 < stage.magnitude.value <= 1 else None
                self.error("T007", stage.magnitude.span, f"{spec.name} takes no magnitude",
                           f"write just '{spec.name}'" + (f", or {chance} to apply it to some samples" if chance else ""))
        elif spec is not None and spec.has_magnitude:
            self.error("T008", stage.op.span, f"{spec.name} needs a magnitude",
                       f"write e.g. '{spec.name}(0.3)' (0 is the identity, 1 its strongest)")
        if stage.probability is not None:
            self.role("probability", stage.probability, "class")

    def check(self) -> None:
        for decl in self.policy.states:
            self.state(decl)
        self.section = "epoch"
        for statement in self.policy.epoch or ():
            if isinstance(statement, ast.Let):
                self.out.locals[statement.name] = self.expr(statement.value)
            else:
                self.assign(statement)
        self.section = "sample"
        applies = 0
        for stage in self.policy.stages:
            if isinstance(stage, ast.Apply):
                applies += 1
                if applies == 2:
                    self.error("T010", stage.span, "a policy has at most one apply stage",
                               "merge the op lists, or make the extra ops fixed stages with a probability")
                self.apply(stage)
            elif isinstance(stage, ast.OneOf):
                for term in stage.terms:
                    self.fixed(term)
            else:
                self.fixed(stage)


def typecheck(policy: ast.Policy, resolution: Resolution) -> tuple[Typing, list[Diagnostic]]:
    checker = _Checker(policy, resolution)
    checker.check()
    return checker.out, checker.diagnostics
