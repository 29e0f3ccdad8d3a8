"""Accuracy tables by class group (many/medium/few/all).

`autoda train` prints one row per split. An experiment's table is like the papers' Table 1:
a row per method and policy, many/medium/few/all as mean +- std over seeds (test split),
and the gain in `all` over the same method's `none` row; printed with rich, written as
Markdown and CSV, and shown on the experiment's report page."""
from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict

from rich.table import Table

from .text import percent, render

COLUMNS = ("many", "medium", "few", "all")
HEADER = ("method", "policy", "seeds", *COLUMNS, "gain (all)")


def accuracy_table(results: dict[str, dict]) -> str:
    """Render {split: summary} as a table, in percent; '-' for an empty group."""
    table = Table(title="accuracy (%)", title_justify="left")
    table.add_column("split")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    sizes: dict = {}
    for split, summary in results.items():
        sizes = summary.get("group_sizes", sizes)
        table.add_row(split, *(percent(summary[c]) for c in COLUMNS))
    legend = ("classes: " + ", ".join(f"{g} {n}" for g, n in sizes.items())
              + " (many: > 100 training images, medium: 20-100, few: < 20)") if sizes else ""
    return render(table, *([legend] if legend else []))


def _stats(values: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    return statistics.mean(present), statistics.stdev(present) if len(present) > 1 else 0.0


def rows(results: list[dict], split: str = "test", published: dict | None = None) -> list[dict]:
    """One row per (method, policy), in the order the results came; ``published``
    ("method/policy" -> %) gives a row the number a paper reports for it."""
    grouped: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in results:
        grouped[(r["method"], r["policy"])].append(r)
    out = []
    for (method, policy), group in grouped.items():
        row = {"method": method, "policy": policy, "seeds": sorted(r["seed"] for r in group),
               "paper": (published or {}).get(f"{method}/{policy}")}
        for column in COLUMNS:
            row[column], row[f"{column}_std"] = _stats([r[split][column] for r in group])
        out.append(row)
    baselines = {r["method"]: r["all"] for r in out if r["policy"] == "none"}
    for row in out:
        base = baselines.get(row["method"])
        row["gain"] = None if base is None or row["all"] is None else row["all"] - base
    return out


def _cell(mean: float | None, std: float | None) -> str:
    return "-" if mean is None else f"{100 * mean:.2f} ± {100 * std:.2f}"


def _with_paper(table_rows: list[dict]) -> bool:
    """Whether the table has a column of published numbers (some row has one)."""
    return any(r.get("paper") is not None for r in table_rows)


def header(table_rows: list[dict]) -> tuple[str, ...]:
    return HEADER + (("paper (all)",) if _with_paper(table_rows) else ())


def formatted(row: dict, paper: bool = False) -> list[str]:
    """A row's cells as text, in HEADER's order: mean ± std in %, the gain with its sign,
    and with ``paper`` the published accuracy."""
    gain = "-" if row["gain"] is None else f"{100 * row['gain']:+.2f}"
    cells = [row["method"], row["policy"], str(len(row["seeds"])),
             *(_cell(row[c], row[f"{c}_std"]) for c in COLUMNS), gain]
    if paper:
        cells.append("-" if row.get("paper") is None else f"{row['paper']:.2f}")
    return cells


def rich_table(table_rows: list[dict], title: str) -> str:
    table = Table(title=title, title_justify="left")
    for column in header(table_rows):
        table.add_column(column, justify="left" if column in ("method", "policy") else "right")
    for r in table_rows:
        table.add_row(*formatted(r, _with_paper(table_rows)))
    paper = "; paper: the accuracy its authors publish for the row" if _with_paper(table_rows) else ""
    return render(table, "accuracy % on the test split, mean ± std over seeds; gain: over the same method "
                         "without a policy" + paper, width=120)


def markdown(table_rows: list[dict]) -> str:
    columns = header(table_rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(formatted(r, _with_paper(table_rows))) + " |" for r in table_rows]
    return "\n".join(lines) + "\n"


def csv_text(table_rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    paper = _with_paper(table_rows)
    writer.writerow(["method", "policy", "seeds", *(f"{c}{s}" for c in COLUMNS for s in ("", "_std")), "gain_all",
                     *(["paper_all"] if paper else [])])
    for r in table_rows:
        writer.writerow([r["method"], r["policy"], len(r["seeds"]),
                         *(r[f"{c}{s}"] for c in COLUMNS for s in ("", "_std")), r["gain"],
                         *([r["paper"]] if paper else [])])
    return buffer.getvalue()
