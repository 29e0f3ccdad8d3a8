"""The front end as one call: source -> parse -> resolve -> typecheck -> ranges -> cost.

Every pass after parsing runs even when an earlier one found faults (each skips what an
earlier fault made meaningless), so one compile reports all the faults of a policy.
"""
from __future__ import annotations

import os
import re
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
    # carrier's state each epoch; None for a policy written in the language.
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


LANGUAGES = ("auto", "dsl", "python")
PYTHON_POLICY = re.compile(r"^def\s+get_aug_type\s*\(", re.M)


def is_python_policy(src: Source) -> bool:
    """A `.py` file, or text (not from a `.dsl` file) that defines the paper's get_aug_type."""
    if src.file.endswith((".py", ".dsl")):
        return src.file.endswith(".py")
    return bool(PYTHON_POLICY.search(src.text))


def check_policy(source: str | bytes | os.PathLike | ast.Policy, *, file: str | None = None,
                 max_cost: float = DEFAULT_BUDGET, lang: str = "auto", deadline: float | None = None) -> CheckedPolicy:
    """Check a policy (a path, its text, its bytes, or a syntax tree); raise PolicyError
    listing every fault.

    ``lang`` "auto" reads a `.py` file, or text defining ``get_aug_type``, as a Python
    policy (run sandboxed, see autoda.sandbox) and anything else as the policy language.
    A syntax tree (say, a checked policy's with stages added) is checked as it stands,
    not formatted and parsed again: it needs no room under the limits on text.
    ``deadline`` (time.monotonic()): when a Python policy's trial run must end by (a
    search's --max-time); past it the trial stops with P005.

    >>> checked = check_policy("policy p\\nper sample:\\n    flip_lr with probability 0.5\\n")
    >>> checked.name, checked.lower().ops
    ('p', ('flip_lr',))
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    src = None
    lines = None  # the source lines the diagnostics point into
    try:
        if isinstance(source, ast.Policy):
            tree = source
            faults = expression_limits(tree)  # the later passes recurse over expressions
            if faults:
                raise PolicyError(with_file(faults, file or "<policy>"))
            src = Source(format_policy(tree), file or "<policy>")  # its spans may be any text's: no snippets
        else:
            src = read_source(source, file)
            lines = src.lines
            if lang == "python" or (lang == "auto" and is_python_policy(src)):
                from ..sandbox.policy import check_python_policy  # RestrictedPython, only when needed
                return check_python_policy(src, max_cost, deadline=deadline)
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
    except PolicyError as error:  # input errors already name their file
        diagnostics = with_file(error.diagnostics, src.file) if src else error.diagnostics
        raise PolicyError(diagnostics, error.lines, error.total) from None
    except RecursionError:
        raise _internal(src, file, "the policy nests too deeply for the compiler") from None
    except Exception as error:  # noqa: BLE001 - the contract: only PolicyError leaves the compiler
        raise _internal(src, file, f"{type(error).__name__}: {error}") from None
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise PolicyError(with_file(sorted_capped(errors), src.file), lines, len(set(errors)))
    return CheckedPolicy(src, tree, resolution, typing, ranges, cost)


def _internal(src: Source | None, file: str | None, what: str) -> PolicyError:
    return PolicyError([Diagnostic("X001", f"internal compiler error: {what}", 1, 1,
                                   hint="please report this policy to the autoda developers",
                                   file=src.file if src else file or "<policy>")],
                       src.lines if src else None)
