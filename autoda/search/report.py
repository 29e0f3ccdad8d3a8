"""What a search leaves in its run folder besides the journal: best.dsl (the best policy;
best.py when the search wrote Python policies)
and summary.json (best fitness, evaluations, failures by kind, tokens, wall time, the
leaderboard), both written atomically; and the leaderboards `autoda runs` prints."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.table import Table

from ..files import write_atomic, write_json
from ..reporting import percent, render
from .journal import Candidate, Journal


def leaderboard(journal: Journal, top: int = 10) -> list[Candidate]:
    done = journal.evaluated()
    done.sort(key=lambda c: (-c.fitness, c.id))
    return done[:top]


def best_file(config: dict | None) -> str:
    """best.py for a search that wrote Python policies, else best.dsl."""
    return "best.py" if ((config or {}).get("search") or {}).get("policy_lang") == "python" else "best.dsl"


def summarise(journal: Journal, run_dir: Path, wall_seconds: float, outcome: str) -> dict:
    """Write best.dsl (or best.py) and summary.json; return the summary."""
    everything = journal.all()
    found = [c for c in journal.evaluated() if c.generation >= 0]
    best = max(found, key=lambda c: (c.fitness, -c.id), default=None)
    references = {c.policy_name: c.fitness for c in journal.evaluated() if c.generation < 0}
    summary = {
        "outcome": outcome,
        "best": None if best is None else {"id": best.id, "fitness": best.fitness, "name": best.policy_name,
                                           "hash": best.policy_hash, "idea": best.idea,
                                           "many": best.validation.get("many"), "medium": best.validation.get("medium"),
                                           "few": best.validation.get("few")},
        "references": references,
        "evaluations": journal.evaluations(),
        "evaluation_seconds": round(sum(c.eval_seconds or 0 for c in everything), 1),
        "candidates": len(everything),
        "failures": dict(Counter(c.failure for c in everything if c.failure)),
        "tokens": {"prompt": sum(c.tokens_prompt for c in everything),
                   "completion": sum(c.tokens_completion for c in everything)},
        "wall_seconds": round(float(journal.meta("wall_seconds", 0)) + wall_seconds, 1),
        "config": journal.meta("config"),
        "leaderboard": [{"id": c.id, "fitness": c.fitness, "name": c.policy_name, "generation": c.generation,
                         "operator": c.operator, "idea": c.idea} for c in leaderboard(journal)],
    }
    journal.set_meta("wall_seconds", summary["wall_seconds"])
    write_json(run_dir / "summary.json", summary)
    if best is not None:
        header = (f"# best of {run_dir.name}: fitness {best.fitness:.4f} (balanced validation accuracy), "
                  f"candidate {best.id}, {best.operator} in generation {best.generation}\n"
                  f"# idea: {best.idea or '-'}\n")
        write_atomic(run_dir / best_file(summary["config"]), lambda tmp: tmp.write_text(header + best.policy_text))
    return summary


def leaderboard_table(journal: Journal, title: str, top: int = 10) -> str:
    table = Table(title=title, title_justify="left")
    for column in ("rank", "fitness", "many", "medium", "few", "policy", "operator", "gen", "id", "idea"):
        table.add_column(column, justify="right" if column in ("rank", "fitness", "many", "medium", "few", "gen", "id")
                         else "left", overflow="ellipsis", max_width=60 if column == "idea" else None)
    for rank, c in enumerate(leaderboard(journal, top), 1):
        v = c.validation or {}
        table.add_row(str(rank), percent(c.fitness), percent(v.get("many")), percent(v.get("medium")), percent(v.get("few")),
                      c.policy_name or "-", c.operator, str(c.generation) if c.generation >= 0 else "ref",
                      str(c.id), c.idea or "")
    failures = Counter(c.failure for c in journal.all() if c.failure)
    after = ["failures: " + ", ".join(f"{k} {n}" for k, n in sorted(failures.items()))] if failures else []
    return render(table, *after, width=140)


def runs_table(runs: list[tuple[Path, dict]]) -> str:
    table = Table(title="runs", title_justify="left")
    for column in ("run", "proposer", "dataset", "evaluations", "best", "best policy", "failures", "wall"):
        table.add_column(column, justify="right" if column in ("evaluations", "best", "failures", "wall") else "left")
    for path, summary in runs:
        config = summary.get("config") or {}
        best = summary.get("best") or {}
        table.add_row(path.name, str(config.get("proposer", "-")), str(config.get("dataset", "-")),
                      str(summary.get("evaluations", 0)), percent(best.get("fitness")), str(best.get("name") or "-"),
                      str(sum((summary.get("failures") or {}).values())), f"{summary.get('wall_seconds', 0):.0f} s")
    return render(table, width=140)
