"""Leaderboards: a run's best candidates (what `autoda search` and `autoda runs show`
print, and the report page shows), and the list of runs (`autoda runs list`).

A run's leaderboard has one set of rows, made here from the search's own ranking
(autoda.search.summary); the terminal table and the page each show those rows.

Each fitness is a mean over seeds, shown as mean +- standard deviation (n), beside the
fine-tune epochs it was measured at. A row the run cannot tell from the first (at its
fidelity, within one pooled seed-to-seed standard deviation of it) is ranked "=1", not
below it; a note under the table says how large that noise is, or that it was not
measured."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from ..search.config import RunConfig
from ..search.journal import Journal
from ..search.journal import Candidate
from ..search.summary import Noise, standing, stored_number, tally
from ..secrets import shown
from ..words import counted
from .text import percent, render

# Every column of a leaderboard row, in order; the page leaves out the id.
COLUMNS = ("rank", "fitness", "epochs", "many", "medium", "few", "policy", "operator", "generation", "id", "idea")
_NUMERIC = ("rank", "fitness", "epochs", "many", "medium", "few", "generation", "id")
_OUTSIDE_TEXT = ("policy", "operator", "idea")  # written by an LLM or read from a journal anyone may edit


def fitness_text(c: Candidate) -> str:
    """A candidate's fitness in percent as mean +- std (n); a single evaluation as its value (1)."""
    spread = f" ± {100 * c.fitness_std:.2f}" if c.fitness_std is not None else ""
    return f"{percent(c.fitness)}{spread} ({c.fitness_n})"


def leaderboard_rows(journal: Journal, top: int = 10) -> list[dict[str, str]]:
    """The ``top`` evaluated candidates, best first, each as {column: text}; outside text
    as it stands (each view escapes it for its medium). Rows tied with the first rank "=1"."""
    rows = []
    candidates, _, tied = standing(journal, top)
    for rank, c in enumerate(candidates, 1):
        groups = c.validation or {}
        rows.append({"rank": "=1" if rank > 1 and c.id in tied else str(rank), "fitness": fitness_text(c),
                     "epochs": "-" if c.fidelity is None else str(c.fidelity), "many": percent(groups.get("many")),
                     "medium": percent(groups.get("medium")), "few": percent(groups.get("few")),
                     "policy": c.policy_name or "-", "operator": str(c.operator),
                     "generation": str(c.generation) if c.generation >= 0 else "ref", "id": str(c.id),
                     "idea": c.idea or ""})
    return rows


def noise_note(noise: Noise, tied: set[int]) -> str:
    """What the ranking can and cannot say, in one line under the leaderboard."""
    if noise.std is None:
        ties = len(tied) - 1
        equal = (f"; the {ties} row{'s' if ties > 1 else ''} ranked =1 scored exactly as the first") if ties > 0 else ""
        return ("note: no candidate at the first row's fidelity was evaluated more than once, so seed-to-seed noise "
                "(about a point for a fine-tune) was not measured and close ranks may be luck; --confirm-seeds "
                f"measures it{equal}")
    at = f" at {counted(noise.fidelity, 'epoch')}" if noise.fidelity is not None else ""
    ties = len(tied) - 1
    told = (f"the {ties} row{'s' if ties > 1 else ''} ranked =1 {'are' if ties > 1 else 'is'} within it of the first: "
            f"this run does not tell them apart") if ties > 0 else "no other row is within it of the first"
    return (f"note: seed-to-seed standard deviation{at}: {100 * noise.std:.2f} points (pooled over {noise.dof} "
            f"repeats); {told}")


def _cell(value: object) -> Text:
    """Outside text for a table: secrets redacted, controls escaped, no rich markup."""
    return Text(shown(value))


def leaderboard_table(journal: Journal, title: str, top: int = 10) -> str:
    table = Table(title=title, title_justify="left")
    for column in COLUMNS:
        table.add_column("gen" if column == "generation" else column,
                         justify="right" if column in _NUMERIC else "left", overflow="ellipsis",
                         max_width=60 if column == "idea" else None)
    for row in leaderboard_rows(journal, top):
        table.add_row(*(_cell(row[c]) if c in _OUTSIDE_TEXT else row[c] for c in COLUMNS))
    run = tally(journal)
    failures = run.failures
    rows, noise, tied = standing(journal, top)
    after = [Text(noise_note(noise, tied))] if rows else []
    after += [_cell("failures: " + ", ".join(f"{k} {n}" for k, n in sorted(failures.items())))] if failures else []
    if run.unreadable:
        after.append(Text(f"note: {run.unreadable} journal rows could not be read (damaged, or from another "
                          "version) and are left out"))
    return render(table, *after, width=140)


def fraction(value: object) -> float | None:
    """A stored accuracy in [0, 1], or None for anything else (a damaged or hand-edited file)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1 else None


def runs_table(runs: list[tuple[Path, dict]]) -> str:
    table = Table(title="runs", title_justify="left")
    for column in ("run", "proposer", "dataset", "evaluations", "best", "best policy", "failures", "wall"):
        table.add_column(column, justify="right" if column in ("evaluations", "best", "failures", "wall") else "left")
    for path, summary in runs:  # summary.json files: anyone may have written them
        config = RunConfig.read(summary.get("config"))  # None: missing or damaged
        best = summary.get("best") if isinstance(summary.get("best"), dict) else {}
        failures = summary.get("failures") if isinstance(summary.get("failures"), dict) else {}
        table.add_row(_cell(path.name), _cell(config.proposer if config else "-"),
                      _cell(config.data.dataset if config else "-"),
                      f"{stored_number(summary.get('evaluations')):.0f}", percent(fraction(best.get("fitness"))),
                      _cell(best.get("name") or "-"), f"{sum(map(stored_number, failures.values())):.0f}",
                      f"{stored_number(summary.get('wall_seconds')):.0f} s")
    return render(table, width=140)


def best_fitness(summary: dict) -> float:
    """For sorting runs: the best fitness a summary.json gives, or -1."""
    best = summary.get("best") if isinstance(summary.get("best"), dict) else {}
    fitness = fraction(best.get("fitness"))
    return -1.0 if fitness is None else fitness


def journaled_anything(summary: dict) -> bool:
    """Whether a summary.json is of a run that journaled something. A search that stopped
    before its first candidate (an older version wrote a summary for it too) is no run to
    list: it says 0 candidates. A summary that does not say is listed."""
    candidates = summary.get("candidates")
    return not (type(candidates) is int and candidates == 0 and not stored_number(summary.get("evaluations")))
