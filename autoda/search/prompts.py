"""Prompts for the LLM proposer, from the template files in prompts/ ($name placeholders):
the system prompt carries the task and the whole language reference (docs/language.md,
whose tables come from the registries), the operator prompts carry the parents."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from string import Template

from ..resources import resource_text
from .journal import Candidate


@functools.lru_cache(maxsize=None)
def template(name: str) -> Template:
    return Template(resources.files("autoda.search").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class TaskContext:
    dataset: str  # one line: the data set, its imbalance, class counts
    model: str
    method: str
    e_ckp: int
    n_ft: int


def system_prompt(task: TaskContext) -> str:
    text = template("task").substitute(dataset=task.dataset, model=task.model, method=task.method,
                                       e_ckp=task.e_ckp, n_ft=task.n_ft)
    return template("system").substitute(task=text.strip(), reference=resource_text("autoda.docs", "language.md"))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def describe(candidate: Candidate, label: str) -> str:
    v = candidate.validation or {}
    return (f"{label}: fitness {_percent(candidate.fitness)} (many {_percent(v.get('many'))}, medium "
            f"{_percent(v.get('medium'))}, few {_percent(v.get('few'))}); idea: {candidate.idea or 'none given'}\n"
            f"```policy\n{candidate.policy_text.strip()}\n```")


def operator_prompt(operator: str, parents: list[Candidate]) -> str:
    if operator == "crossover":
        body = "\n\n".join(describe(p, f"Policy {chr(65 + i)}") for i, p in enumerate(parents))
        return template("crossover").substitute(parents=body).strip()
    if operator == "mutate":
        return template("mutate").substitute(parent=describe(parents[0], "Policy")).strip()
    return template(operator).substitute().strip()  # initialise, simple


def follow_up(kind: str, diagnostics: str = "") -> str:
    """What goes back after a bad answer: repair (diagnostics), missing or duplicate."""
    return template(kind).substitute(diagnostics=diagnostics).strip()
