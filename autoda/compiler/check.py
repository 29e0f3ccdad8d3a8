"""The front end as one call: source -> parse -> resolve -> typecheck -> ranges -> cost.

Every pass after parsing runs even when an earlier one found faults (each skips what an
earlier fault made meaningless), so one compile reports all the faults of a policy.

The policy language only: autoda.policies is the front door that also reads Python
policies (through autoda.sandbox, which builds on this module, never the other way).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from . import ast
from .cost import DEFAULT_BUDGET, Cost, check_cost
from .diagnostics import Diagnostic, PolicyError, sorted_capped, with_file
from .format import canonical_hash, format_policy
from .limits import expression_limits, text_limits
from .lower import lower
from .parser import parse
from .plan import Plan
from .ranges import Ranges, check_ranges
from .resolve import Resolution, resolve
from .source import Source, read_source
from .typecheck import Typing, typecheck


@dataclass(frozen=True, eq=False)
class CheckedPolicy:
    """A policy that passed every check, with what the passes learnt about it."""

    source: Source
    ast: ast.Policy
    resolution: Resolution
    typing: Typing
    ranges: Ranges
    cost: Cost
    # A Python policy (autoda.sandbox.PythonPolicy) whose sandboxed get_aug_type fills this
    # carrier's state each epoch; None for a policy written in the language. Set by the
    # sandbox, read by the engine as an EpochStepMaker: the compiler knows neither.
    python: object | None = None

    @property
    def name(self) -> str:
        return self.ast.name

    @cached_property
    def canonical(self) -> str:
        return self.python.text if self.python is not None else format_policy(self.ast)

    @cached_property
    def hash(self) -> str:
        return self.python.hash if self.python is not None else canonical_hash(self.ast)

    def lower(self) -> Plan:
        return lower(self)


def check_policy(source: str | bytes | os.PathLike | ast.Policy | Source, *, file: str | None = None,
                 max_cost: float = DEFAULT_BUDGET) -> CheckedPolicy:
    """Check a policy in the language (a path, its text, its bytes, a Source already read,
    or a syntax tree); raise PolicyError listing every fault.

    A syntax tree (say, a checked policy's with stages added) is checked as it stands,
    not formatted and parsed again: it needs no room under the limits on text. For either
    language (a Python policy too) use autoda.check_policy (autoda.policies).

    >>> checked = check_policy("policy p\\nper sample:\\n    flip_lr with probability 0.5\\n")
    >>> checked.name, checked.lower().ops
    ('p', ('flip_lr',))
    """
    lines = None  # the source lines the diagnostics point into
    with OnlyPolicyErrors(file) as guard:
        if isinstance(source, ast.Policy):
            tree = source
            faults = expression_limits(tree)  # the later passes recurse over expressions
            if faults:
                raise PolicyError(with_file(faults, file or "<policy>"))
            # its spans may be any text's: no snippets
            src = guard.src = Source(format_policy(tree), file or "<policy>")
        else:
            src = guard.src = source if isinstance(source, Source) else read_source(source, file)
            lines = src.lines
            tree = parse(src)
        resolution, found = resolve(tree)
        typing, more = typecheck(tree, resolution)
        found += more
        ranges, more = check_ranges(tree, resolution, typing)
        found += more
        cost, more = check_cost(tree, max_cost)
        found += more
        if not isinstance(source, ast.Policy) and not any(d.severity == "error" for d in found):
            found += text_limits(tree)  # its canonical text is what is stored and read again
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise PolicyError(with_file(sorted_capped(errors), src.file), lines, len(set(errors)))
    return CheckedPolicy(src, tree, resolution, typing, ranges, cost)


class OnlyPolicyErrors:
    """The compiler's contract as a with block: only PolicyError leaves it. An input error
    keeps its diagnostics (naming ``src.file`` once the source is read); anything else
    becomes X001. autoda.policies reads and checks Python policies under the same block."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.src: Source | None = None  # set by the block once the source is read

    def __enter__(self) -> OnlyPolicyErrors:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        src = self.src
        if isinstance(error, PolicyError):  # input errors already name their file
            diagnostics = with_file(error.diagnostics, src.file) if src else error.diagnostics
            raise PolicyError(diagnostics, error.lines, error.total) from None
        if isinstance(error, RecursionError):
            raise _internal(src, self.file, "the policy nests too deeply for the compiler") from None
        if isinstance(error, Exception):  # noqa: BLE001 - the contract: only PolicyError leaves the compiler
            raise _internal(src, self.file, f"{type(error).__name__}: {error}") from None


def _internal(src: Source | None, file: str | None, what: str) -> PolicyError:
    return PolicyError([Diagnostic("X001", f"internal compiler error: {what}", 1, 1,
                                   hint="please report this policy to the autoda developers",
                                   file=src.file if src else file or "<policy>")],
                       src.lines if src else None)
