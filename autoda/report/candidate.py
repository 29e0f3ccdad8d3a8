"""One candidate of a run as `autoda runs show RUN --candidate N` prints it: what it is and
where it came from, its fitness and each evaluation behind it, its accuracy by class group
and by class, and its policy, or why it failed. Text from outside (an LLM's idea, policy
and messages, a journal anyone may edit) is shown with secrets redacted and controls
escaped, line by line."""
from __future__ import annotations

from ..search.journal import Candidate, Journal
from ..search.loop import fine_tune_length
from ..secrets import shown
from ..words import counted
from .leaderboard import fitness_text, fraction
from .text import percent


def candidate_text(journal: Journal, candidate_id: int) -> str | None:
    """The candidate's page of text; None when the journal has no such candidate."""
    c = journal.candidate(candidate_id)
    if c is None:
        return None
    where = "a reference" if c.generation < 0 else f"generation {c.generation}, slot {c.slot}, attempt {c.attempt + 1}"
    lines = [f"candidate {c.id}: {shown(c.policy_name or '-')}",
             f"  {c.operator} by {c.proposer}, {where}; status {c.status}"]
    if c.parents:
        lines.append("  parents: " + ", ".join(f"#{p} {_name(journal, p)}" for p in c.parents))
    if c.idea:
        lines.append(f"  idea: {shown(c.idea)}")
    if c.fitness is not None:
        at = f" at {counted(c.fidelity, 'fine-tune epoch')}" if c.fidelity is not None else ""
        if journal.from_scratch(c):
            at = f" trained from scratch ({counted(c.fidelity, 'epoch')})"
        lines.append(f"  fitness: {fitness_text(c)}{at} (balanced validation accuracy, %)")
    if c.failure:
        lines.append(f"  failure: {shown(c.failure)}")
        lines += [f"    {shown(line)}" for line in (c.message or "").splitlines()]
    lines += _evaluations(journal, c) + _validation(c)
    if c.policy_text:
        lines += ["", "policy:"] + [f"  {shown(line)}".rstrip() for line in c.policy_text.rstrip("\n").splitlines()]
    return "\n".join(lines)


def _name(journal: Journal, candidate_id: int) -> str:
    found = journal.candidate(candidate_id)
    return shown(found.policy_name) if found is not None and found.policy_name else "-"


def _evaluations(journal: Journal, c: Candidate) -> list[str]:
    records = journal.records(c.id)
    if not records:
        return []
    lines = ["", "evaluations:"]
    for e in records:
        epochs = fine_tune_length(e.n_ft)
        outcome = percent(e.fitness) if e.ok else f"{e.status}" + (f" ({shown(e.failure)})" if e.failure else "")
        seconds = "" if e.seconds is None else f", {e.seconds:.0f} s"
        lines.append(f"  {e.purpose:<8} {epochs}, seed {e.seed if e.seed is not None else '-'}: {outcome}{seconds}")
    return lines


def _validation(c: Candidate) -> list[str]:
    """Accuracy by class group and by class, from the candidate's validation (the last
    evaluation's; the mean's groups where several were averaged)."""
    v = c.validation if isinstance(c.validation, dict) else None
    if not v:
        return []
    lines = ["", "validation accuracy (%): " + ", ".join(f"{group} {percent(fraction(v.get(group)))}"
                                                     for group in ("many", "medium", "few", "all"))]
    per_class = v.get("per_class")
    if isinstance(per_class, list) and per_class:
        lines.append("  by class, head to tail: " + " ".join(percent(fraction(a)) for a in per_class))
    return lines

