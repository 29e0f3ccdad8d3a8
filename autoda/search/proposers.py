"""Proposers behind one interface: `start` answers an operator (initialise, crossover,
mutate, simple) for some parents; `follow_up` answers again after a bad answer (it did
not compile, had no policy, or repeated an evaluated one).

- LLMProposer keeps the conversation of one offspring slot: the system prompt (task and
  language reference), the operator prompt, then each answer and what was wrong with it.
- OfflineProposer is genetic programming on the syntax tree; it has no conversation, so a
  follow-up is a fresh try, and its answers always compile.
- TuningProposer keeps a parent's structure and lets Optuna set its constants.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

from ..compiler import CheckedPolicy, PolicyError, check_policy
from ..errors import FailureKind
from .gp import GeneticProgramming, NoOffspring
from .journal import Candidate
from .llm import LLMClient, LLMError
from .prompting import TaskContext, follow_up, initialise_example, operator_prompt, system_prompt
from .tuning import history_for, propose, structure_key


@dataclass
class Proposal:
    response: str | None  # what the proposer said (an LLM's whole answer)
    prompt: str | None = None
    idea: str | None = None
    policy_text: str | None = None  # set by proposers that write policies directly
    tokens_prompt: int = 0
    tokens_completion: int = 0
    request_id: str | None = None
    seconds: float = 0.0
    error: str | None = None  # a FailureKind's value when there is no answer at all (the journal's failure)
    message: str | None = None
    constrained: str | None = None  # the grammar form an LLM's answer was held to (autoda.search.constrain)


class Proposer(Protocol):
    name: str

    def start(self, operator: str, parents: list[Candidate], seed: int) -> Proposal: ...

    def follow_up(self, kind: str, diagnostics: str, seed: int) -> Proposal: ...


class LLMProposer:
    name = "llm"

    def __init__(self, client: LLMClient, task: TaskContext) -> None:
        self.client = client
        self.deadline: float | None = None  # time.monotonic() by which answers must be in (the search sets it)
        self.language = task.language
        self.system = system_prompt(task)
        self.messages: list[dict] = []

    def _ask(self, prompt: str) -> Proposal:
        self.messages.append({"role": "user", "content": prompt})
        try:
            completion = self.client.complete(self.messages, self.deadline)
        except LLMError as error:
            self.messages.pop()
            return Proposal(None, prompt, error=FailureKind(error.kind).value, message=str(error))
        self.messages.append({"role": "assistant", "content": completion.text})
        return Proposal(completion.text, prompt, tokens_prompt=completion.prompt_tokens,
                        tokens_completion=completion.completion_tokens, request_id=completion.request_id,
                        seconds=completion.seconds, constrained=completion.constrained)

    def start(self, operator: str, parents: list[Candidate], seed: int) -> Proposal:
        self.messages = [{"role": "system", "content": self.system}]
        declared = self.client.form is not None  # held to the decode grammar, which names what is declared
        # held to the grammar, a model may be a small local one: it starts from an example
        example = initialise_example(seed) if declared and operator == "initialise" else None
        return self._ask(operator_prompt(operator, parents, self.language, declared, example))

    def follow_up(self, kind: str, diagnostics: str, seed: int) -> Proposal:
        return self._ask(follow_up(kind, diagnostics, self.language))


class OfflineProposer:
    name = "offline"

    def __init__(self, gp: GeneticProgramming) -> None:
        self.gp = gp
        self.operator = "initialise"
        self.parents: list[CheckedPolicy] = []

    def start(self, operator: str, parents: list[Candidate], seed: int) -> Proposal:
        started = time.perf_counter()
        # the journal holds policy text; checking it again gives the tree and types GP edits,
        # once a slot: its follow-ups reuse them
        self.operator = operator
        self.parents = []
        for parent in parents:
            try:
                self.parents.append(check_policy(parent.policy_text, max_cost=self.gp.max_cost))
            except PolicyError:  # journaled by a version whose compiler took more: not a parent now
                continue
        return self._propose(seed, started)

    def follow_up(self, kind: str, diagnostics: str, seed: int) -> Proposal:
        return self._propose(seed, time.perf_counter())

    def _propose(self, seed: int, start: float) -> Proposal:
        try:
            if self.operator == "crossover" and self.parents:
                child, idea = self.gp.crossover(self.parents, seed)
            elif self.operator == "mutate" and self.parents:
                child, idea = self.gp.mutate(self.parents[0], seed)
            else:
                child, idea = self.gp.initialise(seed)
        except NoOffspring as error:
            return Proposal(None, error=error.kind.value, message=str(error), seconds=time.perf_counter() - start)
        return Proposal(child.canonical, idea=idea, policy_text=child.canonical, seconds=time.perf_counter() - start)



class TuningProposer:
    """The `tune` operator: the parent's structure kept, its constants set by Optuna
    (autoda.search.tuning) from every evaluated policy of that structure so far. It holds no
    state of its own (the history is the journal's), so a resumed run proposes the same."""

    name = "optuna"

    def __init__(self, evaluated: Callable[[], list[Candidate]], max_cost: float) -> None:
        self.evaluated, self.max_cost = evaluated, max_cost
        self.parent: Candidate | None = None

    def start(self, operator: str, parents: list[Candidate], seed: int) -> Proposal:
        self.parent = parents[0] if parents else None
        return self._propose(seed)

    def follow_up(self, kind: str, diagnostics: str, seed: int) -> Proposal:
        return self._propose(seed)

    def _propose(self, seed: int) -> Proposal:
        started = time.perf_counter()
        if self.parent is None or not self.parent.policy_text:
            return self._none("no parent to tune", started)
        key = self._key(self.parent.policy_text)
        if key is None:  # journaled by a version whose compiler took more
            return self._none(f"{self.parent.policy_name} no longer checks", started)
        done = [(c.policy_text, c.fitness) for c in self.evaluated()]  # a reference leader's own draws too
        # the structure's first evaluated policy (the parent itself at least): the boxes are built around its values
        first = next((text for text, _ in done if self._key(text) == key), self.parent.policy_text)
        tuned = propose(first, history_for(first, done, max_cost=self.max_cost), seed, 1, max_cost=self.max_cost)
        if not tuned:
            return self._none(f"{self.parent.policy_name} has no constant left to tune", started)
        changed = ", ".join(f"{name} = {value:g}" for name, value in tuned[0].params.items())
        return Proposal(tuned[0].text, idea=f"{self.parent.policy_name} with its constants tuned: {changed}",
                        policy_text=tuned[0].text, seconds=time.perf_counter() - started)

    def _key(self, text: str) -> str | None:
        try:
            return structure_key(text, max_cost=self.max_cost)
        except PolicyError:
            return None

    @staticmethod
    def _none(why: str, started: float) -> Proposal:
        return Proposal(None, error=FailureKind.NO_OFFSPRING.value, message=why, seconds=time.perf_counter() - started)
