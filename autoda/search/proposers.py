"""Proposers behind one interface: `start` answers an operator (initialise, crossover,
mutate, simple) for some parents; `follow_up` answers again after a bad answer (it did
not compile, had no policy, or repeated an evaluated one).

- LLMProposer keeps the conversation of one offspring slot: the system prompt (task and
  language reference), the operator prompt, then each answer and what was wrong with it.
- OfflineProposer is genetic programming on the syntax tree; it has no conversation, so a
  follow-up is a fresh try, and its answers always compile.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from ..compiler import CheckedPolicy, PolicyError, check_policy
from ..errors import FailureKind
from .gp import GeneticProgramming, NoOffspring
from .journal import Candidate
from .llm import LLMClient, LLMError
from .prompting import TaskContext, follow_up, operator_prompt, system_prompt


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
                        seconds=completion.seconds)

    def start(self, operator: str, parents: list[Candidate], seed: int) -> Proposal:
        self.messages = [{"role": "system", "content": self.system}]
        return self._ask(operator_prompt(operator, parents, self.language))

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

