"""What a search leaves in its run folder besides the journal: best.dsl (the best policy;
best.py when the search wrote Python policies) and summary.json (best fitness,
evaluations, failures by kind, tokens, wall time, the leaderboard), both written
atomically.

The ranking and the tallies here are the one account of a run: summary.json is written
from them, and autoda.report's leaderboards and pages read them. Candidates rank by the
highest fidelity (fine-tune epochs) they reached, then by their mean fitness there; the
leaderboard says which rows are within the measured seed-to-seed noise of the first."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic, write_json
from ..secrets import shown
from .journal import Candidate, Journal


def ranked(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: the highest fidelity reached, then the most seeds there, then the highest
    mean fitness, then the earliest candidate (Candidate.rank_key)."""
    return sorted(candidates, key=lambda c: c.rank_key)


@dataclass(frozen=True)
class Noise:
    """A fitness's seed-to-seed standard deviation at one fidelity, pooled over the
    candidates evaluated there more than once (their within-candidate variances, weighted
    by degrees of freedom); None where none was."""

    std: float | None
    dof: int  # degrees of freedom: the repeated evaluations beyond each candidate's first
    fidelity: int | None

    @classmethod
    def of(cls, candidates: list[Candidate], fidelity: int | None) -> "Noise":
        repeated = [c for c in candidates if c.fidelity == fidelity and c.fitness_n > 1 and c.fitness_std is not None]
        dof = sum(c.fitness_n - 1 for c in repeated)
        if not dof:
            return cls(None, 0, fidelity)
        return cls(math.sqrt(sum((c.fitness_n - 1) * c.fitness_std ** 2 for c in repeated) / dof), dof, fidelity)


def tied_with_first(rows: list[Candidate], noise: Noise) -> set[int]:
    """The ids of the rows this run cannot tell from the first: at its fidelity, with a mean
    within one pooled seed-to-seed standard deviation of its mean (the first included).
    Without a measure of the noise, those with the first's very mean: the others are then
    ranked, and the note says why that ranking may be luck."""
    if not rows:
        return set()
    first, within = rows[0], noise.std or 0.0
    return {c.id for c in rows if c.fidelity == first.fidelity and first.fitness - c.fitness <= within}


def standing(journal: Journal, top: int = 10) -> tuple[list[Candidate], Noise, set[int]]:
    """The leaderboard: the ``top`` evaluated candidates, references included, best first;
    the noise at the first row's fidelity; and the rows tied with the first."""
    everything = ranked(journal.evaluated())
    rows = everything[:top]
    noise = Noise.of(everything, rows[0].fidelity if rows else None)
    return rows, noise, tied_with_first(rows, noise)


def score_of(c: Candidate) -> dict:
    """A candidate's score as summary.json gives it: the mean, its spread and count, and the
    fine-tune epochs they were measured at."""
    return {"fitness": c.fitness, "fitness_std": c.fitness_std, "n": c.fitness_n, "fidelity": c.fidelity}


@dataclass(frozen=True)
class RunTally:
    """What a run's journal adds up to."""

    everything: list[Candidate]  # every candidate journaled, evaluated or not
    unreadable: int  # journal rows that could not be read at all (damaged, or from another version)
    evaluated: list[Candidate]  # those with a fitness, in journal order
    evaluations: int
    later_failures: tuple[str, ...] = ()  # evaluations that failed after their candidate's first succeeded

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
    def reference_scores(self) -> dict[str, dict]:
        return {c.policy_name: score_of(c) for c in self.evaluated if c.generation < 0}

    @property
    def failures(self) -> Counter:
        """Failure kinds: of candidates, and of the later evaluations of candidates that succeeded once."""
        return Counter([c.failure for c in self.everything if c.failure] + list(self.later_failures))

    @property
    def tokens_prompt(self) -> int:
        return sum(c.tokens_prompt for c in self.everything)

    @property
    def tokens_completion(self) -> int:
        return sum(c.tokens_completion for c in self.everything)


def tally(journal: Journal) -> RunTally:
    everything = journal.all()
    unreadable = journal.skipped  # of this read of every row
    return RunTally(everything, unreadable, journal.evaluated(), journal.evaluations(),
                    tuple(journal.evaluation_failures()))


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
    rows, noise, tied = standing(journal)
    summary = {
        "outcome": outcome,
        "best": None if best is None else {"id": best.id, "fitness": best.fitness, "name": best.policy_name,
                                           "hash": best.policy_hash, "idea": best.idea,
                                           "many": groups.get("many"), "medium": groups.get("medium"),
                                           "few": groups.get("few"), **score_of(best)},
        "references": run.references,
        "reference_scores": run.reference_scores,
        "noise": {"std": noise.std, "dof": noise.dof, "fidelity": noise.fidelity},
        "evaluations": run.evaluations,
        "evaluation_seconds": round(sum(c.eval_seconds or 0 for c in run.everything), 1),
        "candidates": len(run.everything),
        "failures": dict(run.failures),
        "tokens": {"prompt": run.tokens_prompt, "completion": run.tokens_completion},
        "wall_seconds": round(stored_number(journal.meta("wall_seconds")) + wall_seconds, 1),
        "config": journal.meta("config"),
        "leaderboard": [{"id": c.id, "fitness": c.fitness, "name": c.policy_name, "generation": c.generation,
                         "operator": c.operator, "idea": c.idea, **score_of(c), "tied_with_first": c.id in tied}
                        for c in rows],
    }
    journal.set_meta("wall_seconds", summary["wall_seconds"])
    _write(run_dir / "summary.json", lambda path: write_json(path, summary))
    if best is not None:
        idea = shown(" ".join((best.idea or "-").split()))  # one plain comment line, whatever the journal holds
        header = (f"# best of {run_dir.name}: fitness {_score_text(best, journal.from_scratch(best))}, "
                  f"candidate {best.id}, {' '.join(best.operator.split())} in generation {best.generation}\n"
                  f"# idea: {idea}\n")
        target = run_dir / best_file(stored_language(summary["config"]))
        _write(target, lambda path: write_atomic(path, lambda tmp: tmp.write_text(header + best.policy_text,
                                                                              encoding="utf-8")))
    return summary


def _score_text(c: Candidate, from_scratch: bool) -> str:
    """A score for best.dsl's header: one evaluation as it always read, a mean with its spread."""
    if c.fitness_n < 2:
        return f"{c.fitness:.4f} (balanced validation accuracy)"
    after = f" after {c.fidelity} fine-tune epochs" if c.fidelity else ""
    if from_scratch:
        after = f" of trainings from scratch ({c.fidelity} epochs)"
    return (f"{c.fitness:.4f} +- {c.fitness_std or 0:.4f} (mean balanced validation accuracy over {c.fitness_n} "
            f"seeds{after})")


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
