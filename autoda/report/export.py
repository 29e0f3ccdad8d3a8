"""A run's leaderboard as CSV (`autoda runs export`), for a spreadsheet or a script: the rows
`autoda runs show` ranks, in its order, with numbers as they are stored (fractions of 1, not
percentages; full precision) and the columns a program wants beside the ones a person reads.

Columns: rank (1 for every row the run cannot tell from the first, as the leaderboard's
"=1"), fitness (the mean), fitness_std, fitness_n (evaluations behind the mean), epochs
(the fine-tune length, the fidelity, they were measured at), many, medium, few, policy
(its name), operator, generation (-1 for a reference policy), id (the candidate, as
`runs show --candidate` takes it), idea, tied_with_first (true or false), status and
failure (the failure kind, for candidates without a fitness). An empty cell is a value
the journal does not have.

Text from outside (policy names, ideas an LLM wrote, anything a journal holds) is written
with keys redacted and terminal controls escaped, as everywhere autoda prints, and quoted
as CSV quotes: a comma, a quote or a line break inside a cell round-trips. A text cell that
a spreadsheet would read as a formula (it starts with =, +, -, @, a tab or a carriage return)
starts with an apostrophe, which the spreadsheet shows as text."""
from __future__ import annotations

import csv
import io
import sys

from ..search.journal import Candidate, Journal
from ..search.summary import standing
from ..secrets import shown

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("rank", "fitness", "fitness_std", "fitness_n", "epochs", "many", "medium", "few", "policy", "operator",
           "generation", "id", "idea", "tied_with_first", "status", "failure")


def _row(c: Candidate, rank: int | None, tied: bool) -> dict:
    groups = c.validation or {}
    scored = c.fitness is not None
    return {"rank": rank, "fitness": c.fitness, "fitness_std": c.fitness_std,
            "fitness_n": c.fitness_n if scored else None, "epochs": c.fidelity, "many": groups.get("many"),
            "medium": groups.get("medium"), "few": groups.get("few"),
            "policy": c.policy_name, "operator": c.operator, "generation": c.generation, "id": c.id, "idea": c.idea,
            "tied_with_first": tied, "status": c.status, "failure": c.failure}


def export_rows(journal: Journal, top: int | None = None, every: bool = False) -> list[dict]:
    """The leaderboard's rows, best first (the ``top`` best, or all), each {column: value};
    with ``every``, then each candidate without a fitness (failed, a duplicate, in flight),
    in journal order, unranked."""
    candidates, _, tied = standing(journal, top if top is not None else sys.maxsize)
    rows = [_row(c, 1 if c.id in tied else position, c.id in tied) for position, c in enumerate(candidates, 1)]
    if every:
        evaluated = {c.id for c in journal.evaluated()}
        rows += [_row(c, None, False) for c in journal.all() if c.id not in evaluated]
    return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # every digit the journal holds
    text = shown(value)
    # a spreadsheet reads a cell that starts so as a formula: an LLM's idea must not run as one
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([_cell(row[column]) for column in COLUMNS] for row in rows)
    return buffer.getvalue()
