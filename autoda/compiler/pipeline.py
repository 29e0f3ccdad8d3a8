"""The front end as one call: source -> parse -> resolve -> typecheck -> ranges -> cost.

Every pass after parsing runs even when an earlier one found faults (each skips what an
earlier fault made meaningless), so one compile reports all the faults of a policy.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from . import ast
from .cost import DEFAULT_BUDGET, Cost, check_cost
from .diagnostics import Diagnostic, PolicyError, sorted_capped, with_file
from .format import canonical_hash, format_policy
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

    @property
    def name(self) -> str:
        return self.ast.name

    @cached_property
    def canonical(self) -> str:
        return format_policy(self.ast)

    @cached_property
    def hash(self) -> str:
        return canonical_hash(self.ast)

    def lower(self) -> Plan:
        return lower(self)


def check_policy(source: str | bytes | os.PathLike, *, file: str | None = None,
                 max_cost: float = DEFAULT_BUDGET) -> CheckedPolicy:
    """Check a policy (a path, its text, or its bytes); raise PolicyError listing every fault.

    >>> checked = check_policy("policy p\\nper sample:\\n    flip_lr with probability 0.5\\n")
    >>> checked.name, checked.lower().ops
    ('p', ('flip_lr',))
    """
    src = None
    try:
        src = read_source(source, file)
        tree = parse(src)
        resolution, found = resolve(tree)
        typing, more = typecheck(tree, resolution)
        found += more
        ranges, more = check_ranges(tree, resolution, typing)
        found += more
        cost, more = check_cost(tree, max_cost)
        found += more
    except PolicyError as error:  # input errors already name their file
        diagnostics = with_file(error.diagnostics, src.file) if src else error.diagnostics
        raise PolicyError(diagnostics, error.lines, error.total) from None
    except RecursionError:
        raise _internal(src, file, "the policy nests too deeply for the compiler") from None
    except Exception as error:  # noqa: BLE001 - the contract: only PolicyError leaves the compiler
        raise _internal(src, file, f"{type(error).__name__}: {error}") from None
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise PolicyError(with_file(sorted_capped(errors), src.file), src.lines, len(set(errors)))
    return CheckedPolicy(src, tree, resolution, typing, ranges, cost)


def _internal(src: Source | None, file: str | None, what: str) -> PolicyError:
    return PolicyError([Diagnostic("X001", f"internal compiler error: {what}", 1, 1,
                                   hint="please report this policy to the autoda developers",
                                   file=src.file if src else file or "<policy>")],
                       src.lines if src else None)
