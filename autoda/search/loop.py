"""The search: the paper's Algorithm 1 with EoH's operators, made resumable.

Generation 0 fills the population with `initialise`; each later generation adds N_e
`crossover` offspring (from N_p parents) and N_m `mutate` offspring (from one parent),
parents drawn by rank (p proportional to 1 / (rank + N)), and the population keeps the N
best. `simple` (the paper's SimpleLLM ablation) asks once and evaluates.

Each offspring slot tries up to 1 + repair_tries answers: one that does not compile goes
back with the diagnostics, one without a policy or one that repeats an evaluated policy
goes back with that said. Every attempt is a journal row. Randomness is seeded per
(generation, slot, attempt), so a resumed run makes the same choices.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

from ..compiler import CheckedPolicy, PolicyError
from ..errors import FailureKind
from ..policies import check_policy  # either language: a Python search journals Python policies
from .config import SearchConfig  # the search section of a run's configuration
from .executors import LocalExecutor
from .extract import extract_idea, extract_policy, extract_python
from .journal import Candidate, Journal
from .proposers import Proposal, Proposer


def _seed(*parts: object) -> int:
    """A seed that is the same in every process (str hashes are salted per process)."""
    return random.Random("/".join(map(str, parts))).randrange(1 << 31)


class BudgetSpent(Exception):
    def __init__(self, which: str) -> None:
        super().__init__(which)
        self.which = which


@dataclass
class Progress:
    generation: int = 0
    evaluations: int = 0
    best: float | None = None
    failures: int = 0


class Search:
    def __init__(self, journal: Journal, evaluate: Callable[[CheckedPolicy], object] | object, proposer: Proposer,
                 config: SearchConfig, on_progress: Callable[[Progress, str], None] | None = None) -> None:
        """``evaluate``: a function from a checked policy to its fitness result, or an
        executor (autoda.search.executors) that runs evaluations elsewhere."""
        self.executor = evaluate if hasattr(evaluate, "submit") else LocalExecutor(evaluate)
        self.journal, self.proposer, self.config = journal, proposer, config
        self.on_progress = on_progress or (lambda progress, event: None)
        self.started = time.monotonic()
        self.deadline = None if config.max_time is None else self.started + config.max_time
        if hasattr(proposer, "deadline"):  # an LLM call ends by the deadline, whatever its own timeout
            proposer.deadline = self.deadline
        self.progress = Progress()
        self._refresh()

    # --- budgets and progress ------------------------------------------------------------

    def _refresh(self) -> None:
        self.progress.evaluations = self.journal.evaluations()
        self.progress.best = self.journal.best_fitness()
        self.progress.failures = self.journal.failures()

    def _check_budgets(self) -> None:
        c = self.config
        if c.max_evals is not None and self.journal.evaluations() + self.executor.pending() >= c.max_evals:
            raise BudgetSpent(f"max-evals ({c.max_evals})")
        self._check_time()
        if c.max_tokens is not None and self.journal.tokens() >= c.max_tokens:
            raise BudgetSpent(f"max-tokens ({c.max_tokens})")

    def _check_time(self) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise BudgetSpent(f"max-time ({self.config.max_time:g} s)")

    def _event(self, text: str) -> None:
        self._refresh()
        self.on_progress(self.progress, text)

    # --- evaluation ----------------------------------------------------------------------

    def _evaluate(self, row: int, checked: CheckedPolicy) -> None:
        """Hand a candidate to the executor; journal whatever has finished meanwhile."""
        self.journal.update(row, status="evaluating")
        self.executor.submit(row, checked)
        self._collect()

    def _collect(self, wait: bool = False) -> None:
        """Journal finished evaluations (all of them, waiting, when ``wait``)."""
        for row, result in self.executor.results(wait):
            self.journal.update(row, status="evaluated" if result.ok else "failed", fitness=result.fitness,
                                validation=result.validation, failure=result.failure, message=result.message,
                                eval_seconds=result.seconds, finished=time.time(), final=1)
            self._event(f"evaluated #{row}: " + (f"{result.fitness:.4f}" if result.ok else f"failed ({result.failure})"))

    def _resume_in_flight(self) -> None:
        """Evaluate again what a killed (or stopped) run left in flight."""
        for candidate in self.journal.in_flight():
            self._check_budgets()
            try:  # the journal may be damaged, or from a version whose compiler took more
                checked = check_policy(candidate.policy_text or "", max_cost=self.config.max_cost,
                                       deadline=self.deadline)
            except PolicyError as error:
                self._check_time()  # a trial run cut by --max-time: still in flight for the next --resume
                self.journal.update(candidate.id, status="failed", failure=FailureKind.COMPILE.value, final=1,
                                    message=f"in flight when the run stopped, and no longer checks: {error.render()}")
                continue
            self._evaluate(candidate.id, checked)
        self._collect(wait=True)  # their slots count as done only once they are journaled

    # --- one offspring slot --------------------------------------------------------------

    def _slot(self, generation: int, slot: int, operator: str, parents: list[Candidate]) -> None:
        if self.journal.slot_done(generation, slot):
            return
        first = self.journal.attempts(generation, slot)  # attempts a killed run already made
        limit = 1 + self.config.repair_tries
        follow: tuple[str, str] | None = None
        for attempt in range(first, max(limit, first + 1)):
            self._check_budgets()
            seed = _seed(self.config.seed, "propose", generation, slot, attempt)
            proposal = (self.proposer.start(operator, parents, seed) if follow is None
                        else self.proposer.follow_up(follow[0], follow[1], seed))
            row, checked, follow = self._record(generation, slot, attempt, operator, parents, proposal)
            last = attempt >= limit - 1
            if checked is not None:
                self._start_by_deadline(row)
                self._evaluate(row, checked)
                return
            if last:
                self.journal.update(row, final=1)
                self._event(f"slot {generation}.{slot} gave up after {attempt + 1} attempts")
                return
            self._event(f"attempt {attempt + 1} of slot {generation}.{slot} failed")

    def _start_by_deadline(self, row: int) -> None:
        """No evaluation starts after the time budget: a candidate checked too late stays in
        flight, and the next --resume evaluates it."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.journal.update(row, status="evaluating")
            self._check_time()

    def _record(self, generation: int, slot: int, attempt: int, operator: str, parents: list[Candidate],
                proposal: Proposal) -> tuple[int, CheckedPolicy | None, tuple[str, str] | None]:
        """Journal one answer; return its row, its checked policy if it is new, and the
        follow-up to send when it is not."""
        extract = extract_python if self.config.policy_lang == "python" else extract_policy
        text = proposal.policy_text or (extract(proposal.response) if proposal.response else None)
        row = self.journal.add(
            generation, slot, attempt, operator, [p.id for p in parents], self.proposer.name,
            prompt=proposal.prompt, response=proposal.response, policy_text=text,
            idea=proposal.idea or (extract_idea(proposal.response, text) if proposal.response else None),
            tokens_prompt=proposal.tokens_prompt, tokens_completion=proposal.tokens_completion,
            request_id=proposal.request_id, propose_seconds=proposal.seconds)
        if proposal.error is not None:
            self.journal.update(row, status="failed", failure=proposal.error, message=proposal.message)
            return row, None, None  # a transport failure: start the conversation again
        if text is None:
            empty = not (proposal.response or "").strip()
            self.journal.update(row, status="failed", failure=FailureKind.EMPTY.value,
                                message="the answer is empty" if empty else "no policy in the answer")
            return row, None, ("missing", "")
        try:
            checked = check_policy(text, max_cost=self.config.max_cost, lang=self.config.policy_lang,
                                   deadline=self.deadline)  # a Python policy's trial run ends by --max-time
        except PolicyError as error:
            self._start_by_deadline(row)  # checked too late (the trial cut short): in flight for --resume
            self.journal.update(row, status="failed", failure=FailureKind.COMPILE.value, message=error.render(),
                                diagnostics=[d.to_dict() for d in error.diagnostics])
            return row, None, ("repair", error.render())
        self.journal.update(row, policy_text=checked.canonical, policy_hash=checked.hash, policy_name=checked.name)
        if self.journal.seen(checked.hash):
            self.journal.update(row, status="duplicate", failure=FailureKind.DUPLICATE.value,
                                message="this behaviour was evaluated before")
            return row, None, ("duplicate", "")
        return row, checked, None

    # --- strategies ----------------------------------------------------------------------

    def population_before(self, before: int) -> list[Candidate]:
        """The N best evaluated candidates of generations before ``before`` (references aside)."""
        done = [c for c in self.journal.evaluated() if 0 <= c.generation < before]
        done.sort(key=lambda c: (-c.fitness, c.id))
        return done[: self.config.population]

    def _choose_parents(self, population: list[Candidate], k: int, generation: int, slot: int) -> list[Candidate]:
        rng = random.Random(_seed(self.config.seed, "parents", generation, slot))
        n = len(population)
        weights = [1 / (rank + n) for rank in range(n)]  # EoH: by rank, best first
        chosen: list[Candidate] = []
        pool = list(zip(population, weights))
        while pool and len(chosen) < k:
            pick = rng.choices(range(len(pool)), weights=[w for _, w in pool])[0]
            chosen.append(pool.pop(pick)[0])
        return chosen

    def run(self) -> str:
        """Run (or resume) to the end or until a budget is spent; say which."""
        try:
            self._resume_in_flight()
            for i, (name, text) in enumerate(self.config.baselines):
                self._reference(i, name, text)
            if self.config.strategy == "simple":
                self.progress.generation = 0
                self._slot(0, 0, "simple", [])
                self._collect(wait=True)
                return "done"
            self.progress.generation = 0
            for slot in range(self.config.population):
                self._slot(0, slot, "initialise", [])
            for generation in range(1, self.config.generations + 1):
                self._collect(wait=True)  # the population is chosen from finished evaluations
                self.progress.generation = generation
                population = self.population_before(generation)
                for slot in range(self.config.explore + self.config.mutations):
                    if not population:
                        self._slot(generation, slot, "initialise", [])
                    elif slot < self.config.explore:
                        parents = self._choose_parents(population, self.config.parents, generation, slot)
                        self._slot(generation, slot, "crossover", parents)
                    else:
                        self._slot(generation, slot, "mutate", self._choose_parents(population, 1, generation, slot))
            self._collect(wait=True)
            return "done"
        except BudgetSpent as spent:
            self._collect(wait=True)  # what is running finishes and is journaled
            self._event(f"budget spent: {spent.which}")
            return f"stopped: {spent.which}"

    def _reference(self, index: int, name: str, text: str) -> None:
        if self.journal.slot_done(-1, index):
            return
        self._check_budgets()
        try:
            checked = check_policy(text, max_cost=self.config.max_cost)
        except PolicyError as error:  # a stored reference that no longer checks: recorded, not a crash
            self.journal.add(-1, index, 0, "baseline", [], "reference", policy_text=text, policy_name=name,
                             status="failed", failure=FailureKind.COMPILE.value, message=error.render(), final=1)
            return
        row = self.journal.add(-1, index, 0, "baseline", [], "reference", policy_text=checked.canonical,
                               policy_hash=checked.hash, policy_name=name, idea=f"reference policy {name}")
        self._start_by_deadline(row)
        self._evaluate(row, checked)
