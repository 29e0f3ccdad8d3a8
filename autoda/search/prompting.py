"""Prompts for the LLM proposer, from the template files in prompts/ ($name placeholders):
the system prompt carries the task and the whole language reference (docs/language.md,
whose tables come from the registries), the operator prompts carry the parents.

For Python policies (the paper's representation) the templates in prompts/python/ replace
those of the same name: the system prompt describes get_aug_type as the paper's prompt
does, and answers are fenced ```python blocks."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from string import Template

from ..compiler import PolicyError, ast, format_policy
from ..compiler.parser import parse
from ..compiler.source import read_source
from ..resources import resource_text
from .journal import Candidate


@functools.lru_cache(maxsize=None)
def template(name: str, language: str = "dsl") -> Template:
    folder = resources.files("autoda.search").joinpath("prompts")
    own = folder.joinpath("python", f"{name}.md")
    path = own if language == "python" and own.is_file() else folder.joinpath(f"{name}.md")
    return Template(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class TaskContext:
    dataset: str  # one line: the data set, its imbalance, class counts
    model: str
    method: str
    e_ckp: int
    n_ft: int
    language: str = "dsl"  # what the LLM writes: the policy language, or Python (get_aug_type)


def system_prompt(task: TaskContext) -> str:
    text = template("task").substitute(dataset=task.dataset, model=task.model, method=task.method,
                                       e_ckp=task.e_ckp, n_ft=task.n_ft).strip()
    if task.language == "python":
        from ..ops import OPS
        from ..sandbox.static_checks import default_ops

        return template("system", "python").substitute(task=text, default_ops=", ".join(default_ops()),
                                                       ops=", ".join(OPS))
    return template("system").substitute(task=text, reference=resource_text("autoda.docs", "language.md"))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def describe(candidate: Candidate, label: str, language: str = "dsl", declared: bool = False) -> str:
    v = candidate.validation or {}
    fence = "python" if language == "python" else "policy"
    text = _declared(candidate.policy_text) if declared else candidate.policy_text
    return (f"{label}: fitness {_percent(candidate.fitness)} (many {_percent(v.get('many'))}, medium "
            f"{_percent(v.get('medium'))}, few {_percent(v.get('few'))}); idea: {candidate.idea or 'none given'}\n"
            f"```{fence}\n{text.strip()}\n```")


def _declared(text: str) -> str:
    """A policy's text with the names the declared-names decode grammar gives its states and
    lets, so that a model held to it can copy what it is shown."""
    try:
        return format_policy(ast.numbered_names(parse(read_source(text))))
    except PolicyError:
        return text  # journaled by a version whose parser took more: shown as it is


def operator_prompt(operator: str, parents: list[Candidate], language: str = "dsl", declared: bool = False,
                    example: str | None = None) -> str:
    """The operator's request, ending with the answer's format: the system prompt gives it
    too, but a small model reads the end of a long conversation best. ``declared``: the
    answer is held to the declared-names grammar, so the parents are shown with its names
    and the answer's format says them. ``example``: a policy an initialise request shows
    as the form to depart from (initialise_example)."""
    if operator == "initialise" and example is not None:
        shown = _declared(example) if declared else example
        request = template("initialise_from", language).substitute(example=f"```policy\n{shown.strip()}\n```")
    elif operator == "crossover":
        body = "\n\n".join(describe(p, f"Policy {chr(65 + i)}", language, declared) for i, p in enumerate(parents))
        request = template("crossover", language).substitute(parents=body)
    elif operator == "mutate":
        request = template("mutate", language).substitute(parent=describe(parents[0], "Policy", language, declared))
    else:  # initialise, simple
        request = template(operator, language).substitute()
    answer = template("answer", language).substitute().strip()
    if declared:
        answer += "\n" + template("declared", language).substitute().strip()
    return f"{request.strip()}\n\n{answer}"


def initialise_example(seed: int) -> str:
    """A hand-designed policy (an example's text, not `none`), drawn by ``seed``, for an
    initialise request held to the decode grammar: a small model asked for a policy from
    nothing writes expressions that parse and do not check, and changes one it is shown
    into one that checks (benchmarks/llm_constrained.py; docs/search.md)."""
    from ..policies import seed_policies

    examples = sorted((name, text) for name, text in seed_policies().items() if name != "none")
    return examples[seed % len(examples)][1]


def follow_up(kind: str, diagnostics: str = "", language: str = "dsl") -> str:
    """What goes back after a bad answer: repair (diagnostics), missing or duplicate."""
    return template(kind, language).substitute(diagnostics=diagnostics).strip()
