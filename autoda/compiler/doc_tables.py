"""The tables of the language reference, generated from the registries.

docs/language.md holds each table between ``<!-- BEGIN name -->`` and ``<!-- END name -->``;
``python scripts/gen_docs.py`` rewrites them and a test checks they are current, so the
reference (which the LLM proposer is also shown) never drifts from the code.
"""
from __future__ import annotations

import re

from ..class_stats import STATS
from ..ops import OPS
from .diagnostics import CODES
from .functions import FUNCTIONS
from .intervals import format_number


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ops_table() -> str:
    rows = []
    for op in OPS.values():
        if op.param is None:
            parameter = "none: applied or not"
        else:
            p = op.param
            strongest = format_number(p.at_one)
            if p.signed:  # the deviation from the identity gets a random sign
                deviation = format_number(abs(p.at_one - p.at_zero))
                strongest = f"+-{deviation}" if p.at_zero == 0 else f"{format_number(p.at_zero)} +- {deviation}"
            parameter = f"{p.name} {format_number(p.at_zero)} -> {strongest} ({p.unit})"
        rows.append([f"`{op.name}`", op.kind, parameter, format_number(op.cost), op.summary])
    return _table(["op", "kind", "magnitude 0 -> 1", "cost", "what it does"], rows)


def stats_table() -> str:
    rows = [[f"`{s.name}`", s.dtype, "per class" if s.per_class else "scalar",
             f"[{format_number(s.lo)}, {format_number(s.hi)}]", s.summary] for s in STATS.values()]
    return _table(["statistic", "type", "shape", "range", "meaning"], rows)


def functions_table() -> str:
    rows = [[f"`{form.signature}`", form.summary] for function in FUNCTIONS.values() for form in function.forms]
    return _table(["function", "result"], rows)


def codes_table() -> str:
    return _table(["code", "fault"], [[f"`{code}`", title] for code, title in CODES.items()])


TABLES = {"ops": ops_table, "statistics": stats_table, "functions": functions_table, "codes": codes_table}


def update_tables(text: str) -> str:
    """``text`` with every generated table replaced by its current version."""
    for name, render in TABLES.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"docs lack the markers for the {name!r} table")
        text = pattern.sub(lambda m: m.group(1) + render() + "\n" + m.group(2), text)
    return text
