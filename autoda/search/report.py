"""What a search leaves in its run folder besides the journal: best.dsl (the best policy;
best.py when the search wrote Python policies)
and summary.json (best fitness, evaluations, failures by kind, tokens, wall time, the
leaderboard), both written atomically; and the leaderboards `autoda runs` prints."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from rich.table import Table
from rich.text import Text

from ..files import write_atomic, write_json
from ..reporting import percent, render
from ..secrets import shown
from .journal import Candidate, Journal


def leaderboard(journal: Journal, top: int = 10) -> list[Candidate]:
    done = journal.evaluated()
    done.sort(key=lambda c: (-c.fitness, c.id))
    return done[:top]


def best_file(config: dict | None) -> str:
    """best.py for a search that wrote Python policies, else best.dsl."""
    search = config.get("search") if isinstance(config, dict) else None
    return "best.py" if isinstance(search, dict) and search.get("policy_lang") == "python" else "best.dsl"


def summarise(journal: Journal, run_dir: Path, wall_seconds: float, outcome: str) -> dict:
    """Write best.dsl (or best.py) and summary.json; return the summary."""
    everything = journal.all()
    found = [c for c in journal.evaluated() if c.generation >= 0]
    best = max(found, key=lambda c: (c.fitness, -c.id), default=None)
    groups = (best.validation or {}) if best is not None else {}
    references = {c.policy_name: c.fitness for c in journal.evaluated() if c.generation < 0}
    summary = {
        "outcome": outcome,
        "best": None if best is None else {"id": best.id, "fitness": best.fitness, "name": best.policy_name,
                                           "hash": best.policy_hash, "idea": best.idea,
                                           "many": groups.get("many"), "medium": groups.get("medium"),
                                           "few": groups.get("few")},
        "references": references,
        "evaluations": journal.evaluations(),
        "evaluation_seconds": round(sum(c.eval_seconds or 0 for c in everything), 1),
        "candidates": len(everything),
        "failures": dict(Counter(c.failure for c in everything if c.failure)),
        "tokens": {"prompt": sum(c.tokens_prompt for c in everything),
                   "completion": sum(c.tokens_completion for c in everything)},
        "wall_seconds": round(_number(journal.meta("wall_seconds")) + wall_seconds, 1),
        "config": journal.meta("config"),
        "leaderboard": [{"id": c.id, "fitness": c.fitness, "name": c.policy_name, "generation": c.generation,
                         "operator": c.operator, "idea": c.idea} for c in leaderboard(journal)],
    }
    journal.set_meta("wall_seconds", summary["wall_seconds"])
    _write(run_dir / "summary.json", lambda path: write_json(path, summary))
    if best is not None:
        idea = shown(" ".join((best.idea or "-").split()))  # one plain comment line, whatever the journal holds
        header = (f"# best of {run_dir.name}: fitness {best.fitness:.4f} (balanced validation accuracy), "
                  f"candidate {best.id}, {' '.join(best.operator.split())} in generation {best.generation}\n"
                  f"# idea: {idea}\n")
        target = run_dir / best_file(summary["config"])
        _write(target, lambda path: write_atomic(path, lambda tmp: tmp.write_text(header + best.policy_text,
                                                                              encoding="utf-8")))
    return summary


def _write(path: Path, write) -> None:
    """Write a file of the run folder; an OSError (a full disk, say) names that file, not
    the temporary one it was being written through."""
    try:
        write(path)
    except OSError as error:
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None


def _number(value: object) -> float:
    """A stored number, or 0 when what is stored is not one (a damaged or hand-edited file)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) else 0.0


def _fraction(value: object) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1 else None


def _cell(value: object) -> Text:
    """Outside text for a table: secrets redacted, controls escaped, no rich markup."""
    return Text(shown(value))


def leaderboard_table(journal: Journal, title: str, top: int = 10) -> str:
    table = Table(title=title, title_justify="left")
    for column in ("rank", "fitness", "many", "medium", "few", "policy", "operator", "gen", "id", "idea"):
        table.add_column(column, justify="right" if column in ("rank", "fitness", "many", "medium", "few", "gen", "id")
                         else "left", overflow="ellipsis", max_width=60 if column == "idea" else None)
    for rank, c in enumerate(leaderboard(journal, top), 1):
        v = c.validation or {}
        table.add_row(str(rank), percent(c.fitness), percent(v.get("many")), percent(v.get("medium")), percent(v.get("few")),
                      _cell(c.policy_name or "-"), _cell(c.operator), str(c.generation) if c.generation >= 0 else "ref",
                      str(c.id), _cell(c.idea or ""))
    failures = Counter(c.failure for c in journal.all() if c.failure)
    after = [_cell("failures: " + ", ".join(f"{k} {n}" for k, n in sorted(failures.items())))] if failures else []
    if journal.skipped:
        after.append(Text(f"note: {journal.skipped} journal rows could not be read (damaged, or from another "
                          "version) and are left out"))
    return render(table, *after, width=140)


def runs_table(runs: list[tuple[Path, dict]]) -> str:
    table = Table(title="runs", title_justify="left")
    for column in ("run", "proposer", "dataset", "evaluations", "best", "best policy", "failures", "wall"):
        table.add_column(column, justify="right" if column in ("evaluations", "best", "failures", "wall") else "left")
    for path, summary in runs:  # summary.json files: anyone may have written them
        config = summary.get("config") if isinstance(summary.get("config"), dict) else {}
        best = summary.get("best") if isinstance(summary.get("best"), dict) else {}
        failures = summary.get("failures") if isinstance(summary.get("failures"), dict) else {}
        table.add_row(_cell(path.name), _cell(config.get("proposer", "-")), _cell(config.get("dataset", "-")),
                      f"{_number(summary.get('evaluations')):.0f}", percent(_fraction(best.get("fitness"))),
                      _cell(best.get("name") or "-"), f"{sum(map(_number, failures.values())):.0f}",
                      f"{_number(summary.get('wall_seconds')):.0f} s")
    return render(table, width=140)


def best_fitness(summary: dict) -> float:
    """For sorting runs: the best fitness a summary.json gives, or -1."""
    best = summary.get("best") if isinstance(summary.get("best"), dict) else {}
    fitness = _fraction(best.get("fitness"))
    return -1.0 if fitness is None else fitness
