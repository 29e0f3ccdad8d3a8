"""What a search leaves in its run folder besides the journal: best.dsl (the best policy;
best.py when the search wrote Python policies) and summary.json (best fitness,
evaluations, failures by kind, tokens, wall time, the leaderboard), both written
atomically.

The ranking and the tallies here are the one account of a run: summary.json is written
from them, and autoda.report's leaderboards and pages read them."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic, write_json
from ..secrets import shown
from .journal import Candidate, Journal


def ranked(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: the highest fitness, then the earliest candidate."""
    return sorted(candidates, key=lambda c: (-c.fitness, c.id))


def leaderboard(journal: Journal, top: int = 10) -> list[Candidate]:
    """The ``top`` evaluated candidates, references included, best first."""
    return ranked(journal.evaluated())[:top]


@dataclass(frozen=True)
class RunTally:
    """What a run's journal adds up to."""

    everything: list[Candidate]  # every candidate journaled, evaluated or not
    unreadable: int  # journal rows that could not be read at all (damaged, or from another version)
    evaluated: list[Candidate]  # those with a fitness, in journal order
    evaluations: int

    @property
    def found(self) -> list[Candidate]:
        """The evaluated candidates of the search itself (references aside), in journal order."""
        return [c for c in self.evaluated if c.generation >= 0]

    @property
    def references(self) -> dict[str, float]:
        """The reference policies' fitness, by name."""
        return {c.policy_name: c.fitness for c in self.evaluated if c.generation < 0}

    @property
    def best(self) -> Candidate | None:
        found = ranked(self.found)
        return found[0] if found else None

    @property
    def failures(self) -> Counter:
        return Counter(c.failure for c in self.everything if c.failure)

    @property
    def tokens_prompt(self) -> int:
        return sum(c.tokens_prompt for c in self.everything)

    @property
    def tokens_completion(self) -> int:
        return sum(c.tokens_completion for c in self.everything)


def tally(journal: Journal) -> RunTally:
    everything = journal.all()
    unreadable = journal.skipped  # of this read of every row
    return RunTally(everything, unreadable, journal.evaluated(), journal.evaluations())


def best_file(policy_lang: str) -> str:
    """best.py for a search that wrote Python policies, else best.dsl."""
    return "best.py" if policy_lang == "python" else "best.dsl"


def stored_language(stored: object) -> str:
    """The language of a journal's policies, as its stored configuration names it. Read
    alone, not through RunConfig.from_dict: the summary of any journal is written, and a
    configuration made by hand (or damaged elsewhere) may still name it."""
    search = stored.get("search") if isinstance(stored, dict) else None
    return "python" if isinstance(search, dict) and search.get("policy_lang") == "python" else "dsl"


def summarise(journal: Journal, run_dir: Path, wall_seconds: float, outcome: str) -> dict:
    """Write best.dsl (or best.py) and summary.json; return the summary."""
    run = tally(journal)
    best = run.best
    groups = (best.validation or {}) if best is not None else {}
    summary = {
        "outcome": outcome,
        "best": None if best is None else {"id": best.id, "fitness": best.fitness, "name": best.policy_name,
                                           "hash": best.policy_hash, "idea": best.idea,
                                           "many": groups.get("many"), "medium": groups.get("medium"),
                                           "few": groups.get("few")},
        "references": run.references,
        "evaluations": run.evaluations,
        "evaluation_seconds": round(sum(c.eval_seconds or 0 for c in run.everything), 1),
        "candidates": len(run.everything),
        "failures": dict(run.failures),
        "tokens": {"prompt": run.tokens_prompt, "completion": run.tokens_completion},
        "wall_seconds": round(stored_number(journal.meta("wall_seconds")) + wall_seconds, 1),
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
        target = run_dir / best_file(stored_language(summary["config"]))
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


def stored_number(value: object) -> float:
    """A stored number, or 0 when what is stored is not one (a damaged or hand-edited file)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) else 0.0
