"""Name resolution: what every name, call and op in a policy refers to.

Scopes: class statistics and state are visible everywhere; a ``let`` name is visible in the
epoch section after its definition and nowhere else. Assignment is only to declared state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..class_stats import STATS
from ..ops import OPS
from . import ast
from .diagnostics import MAX_DIAGNOSTICS, Diagnostic, diag
from .functions import FUNCTIONS
from .suggest import did_you_mean, nearest


@dataclass(frozen=True)
class Symbol:
    kind: str  # "stat", "state" or "local"
    name: str
    decl: object  # StatSpec, StateDecl or Let


@dataclass
class Resolution:
    symbols: dict[int, Symbol] = field(default_factory=dict)  # id(Name node) -> Symbol
    states: dict[str, ast.StateDecl] = field(default_factory=dict)


def _stat_symbols() -> dict[str, Symbol]:
    return {name: Symbol("stat", name, spec) for name, spec in STATS.items()}


class _Resolver:
    def __init__(self) -> None:
        self.out = Resolution()
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, span: ast.Span, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(diag(code, span, message, hint))

    @property
    def hinting(self) -> bool:
        """Whether a hint may still be shown: past the cap only the count of faults is, and a
        did-you-mean search over thousands of names, for each of thousands of faults, is slow."""
        return len(self.diagnostics) < MAX_DIAGNOSTICS

    def unknown_name_hint(self, name: str, scope: dict[str, Symbol]) -> str | None:
        if not self.hinting:
            return None
        if name in FUNCTIONS:
            return f"{name!r} is a function; call it, e.g. {FUNCTIONS[name].forms[0].signature}"
        if name in OPS:
            return f"{name!r} is an op; ops are named only in the stages of the per-sample section"
        lowered = name.lower()
        if lowered == "nan":
            return "a policy has no NaN: every value it computes is a number"
        if lowered in ("inf", "infinity"):
            return "a policy has no infinity; write a large number, e.g. 1e9"
        if lowered.startswith(("val", "test")) or "valid" in lowered:
            return ("policies never read validation or test data; the class statistics are "
                    + ", ".join(STATS))
        return did_you_mean(name, list(scope) + ["true", "false"])

    def expr(self, expr: ast.Expr, scope: dict[str, Symbol], section_locals: set[str]) -> None:
        for node in ast.walk(expr):
            if isinstance(node, ast.Name):
                symbol = scope.get(node.id)
                if symbol is not None:
                    self.out.symbols[id(node)] = symbol
                elif node.id in section_locals:
                    self.error("N009", node.span,
                               f"{node.id!r} is defined in the epoch section and is not visible here",
                               "the per-sample section reads state and class statistics; make it state")
                else:
                    self.error("N001", node.span, f"unknown name {node.id!r}",
                               self.unknown_name_hint(node.id, scope))
            elif isinstance(node, ast.Call) and node.func not in FUNCTIONS:
                if node.func in OPS:
                    hint = f"{node.func!r} is an op; ops are named only in the stages of the per-sample section"
                else:
                    hint = did_you_mean(node.func, FUNCTIONS) if self.hinting else None
                self.error("N007", node.func_span, f"unknown function {node.func!r}", hint)

    def op(self, ref: ast.OpRef) -> None:
        if ref.name not in OPS:
            hint = did_you_mean(ref.name, OPS) if self.hinting else None
            if ref.name in FUNCTIONS:
                hint = f"{ref.name!r} is a function, not an op"
            self.error("N002", ref.span, f"unknown op {ref.name!r}", hint)

    def policy(self, policy: ast.Policy) -> None:
        scope = _stat_symbols()
        for decl in policy.states:
            if decl.name in self.out.states:
                first = self.out.states[decl.name].name_span.line
                self.error("N005", decl.name_span, f"state {decl.name!r} is declared twice",
                           f"first declared on line {first}")
                continue
            if decl.name in STATS or decl.name in FUNCTIONS:
                what = "a class statistic" if decl.name in STATS else "a function"
                self.error("N008", decl.name_span, f"{decl.name!r} is {what}; choose another name for the state")
                continue
            self.out.states[decl.name] = decl
            scope[decl.name] = Symbol("state", decl.name, decl)
        global_scope = dict(scope)
        local_names: set[str] = set()
        for statement in policy.epoch or ():
            self.expr(statement.value, scope, set())
            existing = scope.get(statement.name)
            if isinstance(statement, ast.Let):
                if existing is not None or statement.name in FUNCTIONS:
                    what = {"stat": "a class statistic", "state": "state", "local": "already defined"}.get(
                        existing.kind if existing else "", "a function")
                    self.error("N008", statement.name_span,
                               f"{statement.name!r} is {what}; a let needs a new name")
                    continue
                scope[statement.name] = Symbol("local", statement.name, statement)
                local_names.add(statement.name)
            elif existing is None:
                hint = nearest(statement.name, self.out.states) if self.hinting else None
                self.error("N003", statement.name_span, f"{statement.name!r} is not declared state",
                           f"did you mean {hint!r}?" if hint else
                           f"declare it ('state {statement.name}: float in [LO, HI] = INIT') "
                           f"or name a temporary with 'let {statement.name} = ...'")
            elif existing.kind == "stat":
                self.error("N004", statement.name_span,
                           f"{statement.name!r} is a class statistic and cannot be assigned",
                           "declare state of your own and assign that")
            elif existing.kind == "local":
                self.error("N010", statement.name_span,
                           f"{statement.name!r} was defined with let and cannot be assigned again",
                           "use a new let name, or declare it as state")
        for stage in policy.stages:
            if isinstance(stage, ast.Apply):
                seen: set[str] = set()
                for ref in stage.ops:
                    self.op(ref)
                    if ref.name in seen:
                        self.error("N006", ref.span, f"op {ref.name!r} is listed twice")
                    seen.add(ref.name)
            else:
                for term in ast.single_stages((stage,)):
                    self.op(term.op)
            for _, expr in ast.stage_exprs(stage):
                self.expr(expr, global_scope, local_names)


def resolve(policy: ast.Policy) -> tuple[Resolution, list[Diagnostic]]:
    resolver = _Resolver()
    resolver.policy(policy)
    return resolver.out, resolver.diagnostics
