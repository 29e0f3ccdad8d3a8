"""The search: the paper's Algorithm 1 with EoH's operators, made resumable, for a fitness
that is noisy.

Generation 0 fills the population with `initialise`; each later generation adds N_e
`crossover` offspring (from N_p parents) and N_m `mutate` offspring (from one parent),
parents drawn by rank (p proportional to 1 / (rank + N)), and the population keeps the N
best. `simple` (the paper's SimpleLLM ablation) asks once and evaluates.

With `diversity`, the population keeps the best of each niche (the op kinds a policy uses
and how strong it is: autoda.search.niches) before the rest by rank, and a crossover's
parents come from different niches while there are any; with `tune` > 0, each generation
also adds that many `tune` offspring: the leader's structure with its constants set by
Optuna from every evaluated policy of that structure (autoda.search.tuning).

Each offspring slot tries up to 1 + repair_tries answers: one that does not compile goes
back with the diagnostics, one without a policy or one that repeats an evaluated policy
goes back with that said. Every attempt is a journal row. Randomness is seeded per
(generation, slot, attempt), so a resumed run makes the same choices.

A fine-tune's accuracy moves by about a point from seed to seed, so the best of many single
evaluations is mostly the luckiest. Evaluations therefore have a fidelity (fine-tune epochs)
and a seed, each journaled: a generation's cohort is evaluated at the first rung, and the
top 1/eta of those at a rung go up to the next (successive halving, with the run's seed,
the same for all: a rung compares policies, not luck); candidates rank by the highest
fidelity they reached, then by their mean there. At the end the leaders, and the references,
are evaluated again at the top rung with fresh seeds, until the best few by mean are all
confirmed; with `scratch_seeds`, the few leaders and the best reference are then trained
from scratch (the whole schedule, scored on validation), seed by seed, and rank by that
(the highest fidelity): a fine-tune from one checkpoint cannot see a policy whose effect
depends on the training's path (docs/benchmarks.md). Every choice reads only finished,
journaled evaluations, so a run killed at any moment and resumed makes the same ones.
Budgets count evaluations and epochs of every kind; while searching, what the confirmation
will need is kept back.
"""
from __future__ import annotations

import functools
import itertools
import random
import time
from dataclasses import dataclass, replace
from typing import Callable

from ..compiler import CheckedPolicy, PolicyError
from ..errors import FailureKind
from ..policies import check_policy, example_policies  # either language: a Python search journals Python policies
from ..words import counted
from .config import SearchConfig  # the search section of a run's configuration
from .executors import LocalExecutor, failed_evaluation
from .extract import extract_idea, extract_policy, extract_python
from .journal import Candidate, Evaluation, Journal
from .parsimony import parsimonious_order, size_of
from .niches import choose_parents, diverse_population, niche_of_text
from . import tree
from .proposers import Proposal, Proposer, TuningProposer


def _seed(*parts: object) -> int:
    """A seed that is the same in every process (str hashes are salted per process)."""
    return random.Random("/".join(map(str, parts))).randrange(1 << 31)


@functools.cache
def _example_hashes() -> dict[str, str]:
    """name -> behaviour hash of each example policy: names a child may not take."""
    return {name: check_policy(text).hash for name, text in example_policies().items()}


def fine_tune_length(n_ft: int | None) -> str:
    """An evaluation's fine-tune as progress lines and `runs show` say it."""
    return "the run's fine-tune" if n_ft is None else counted(n_ft, "epoch")


def fresh_seeds(run_seed: int, count: int, avoid: int, kind: str = "confirm") -> list[int]:
    """The confirmation's seeds (``kind``: confirm for its fine-tunes, scratch for its
    trainings from scratch): derived from the run's seed and their index, none the one every
    rung uses (``avoid``, the checkpoint's). They are the same for every candidate and
    reference (common random numbers): a difference between two policies' means is then a
    difference of policies, not of the seeds they drew. Drawn from 2**31, they are not the
    verdict's small seeds (autoda verify: 0, 1, 2), so the test split's figures come from
    trainings the search never selected on."""
    seeds: list[int] = []
    index = 0
    while len(seeds) < count:
        seed = _seed(run_seed, kind, index)
        index += 1
        if seed != avoid and seed not in seeds:
            seeds.append(seed)
    return seeds


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


now = time.monotonic  # the clock --max-time is counted on (a test runs the search on a simulated one)
PARSIMONY = 0.002  # 0.2 points of balanced accuracy: well inside a fine-tune's seed-to-seed noise
MAX_CONFIRMATION_SHARE = 0.5  # of --max-time, the most held back for the confirmation
_WHY_CHARS = 120  # of a failure's message on its progress line: the journal keeps it whole


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
    evaluation: Evaluation | None = None  # the finished evaluation the event reports, if it reports one


class Search:
    def __init__(self, journal: Journal, evaluate: Callable[[CheckedPolicy], object] | object, proposer: Proposer,
                 config: SearchConfig, on_progress: Callable[[Progress, str], None] | None = None, *,
                 n_ft: int | None = None, seed: int | None = None, schedule: int | None = None) -> None:
        """``evaluate``: a function from a checked policy (and, where the search asks for
        other than its own, ``n_ft`` and ``seed``) to its fitness result, or an executor
        (autoda.search.executors) that runs evaluations elsewhere. ``n_ft`` and ``seed``: the
        evaluator's own fine-tune epochs and seed, which the journal records for evaluations
        that use them; ``schedule``: the training's epochs, the fidelity of a training from
        scratch (each by default as the journal's stored configuration says)."""
        self.executor = evaluate if hasattr(evaluate, "submit") else LocalExecutor(evaluate)
        self.journal, self.proposer, self.config = journal, proposer, config
        self.on_progress = on_progress or (lambda progress, event: None)
        self.started = now()
        self.deadline = None if config.max_time is None else self.started + config.max_time
        if hasattr(proposer, "deadline"):  # an LLM call ends by the deadline, whatever its own timeout
            proposer.deadline = self.deadline
        stored = journal.meta("config")
        stored = stored if isinstance(stored, dict) else {}
        self.n_ft = n_ft if n_ft is not None else _whole(stored.get("n_ft"))
        self.base_seed = seed if seed is not None else _whole(stored.get("seed"))
        self.base_seed = config.seed if self.base_seed is None else self.base_seed
        self.schedule = schedule if schedule is not None else _whole(stored.get("epochs"))
        if config.scratch_seeds and self.schedule is None:
            raise ValueError("training from scratch needs the schedule's length: give Search its schedule")
        self.rungs: list[int | None] = list(config.rungs) or [self.n_ft]  # fine-tune epochs, as journaled
        if config.max_epochs is not None and None in self.rungs:
            raise ValueError("counting --max-epochs needs the fine-tune length: give Search its n_ft")
        self.seeds = [self.base_seed, *fresh_seeds(config.seed, config.confirm_seeds, self.base_seed)]
        self.scratch_seeds = fresh_seeds(config.seed, config.scratch_seeds, self.base_seed, "scratch")
        self.checked: dict[int, CheckedPolicy] = {}  # candidate -> its policy, checked once in this process
        self.pending: dict[int, int] = {}  # evaluation sent from here, not yet journaled -> its epochs
        self.phase = "search"  # then "confirm" (fresh fine-tune seeds), then "scratch"
        self.tuner = TuningProposer(journal.evaluated, config.max_cost) if config.tune else None
        self.progress = Progress()
        self._refresh()

    # --- budgets and progress ------------------------------------------------------------

    def _refresh(self) -> None:
        self.progress.evaluations = self.journal.evaluations()
        self.progress.best = self.journal.best_fitness()
        self.progress.failures = self.journal.failures()

    def _check_budgets(self, epochs: int | None = 0, candidate: int | None = None) -> None:
        """BudgetSpent unless the next step (a proposal, or an evaluation of ``epochs``
        epochs, of ``candidate`` when it is one that was evaluated before) fits. While
        searching, what the confirmation needs is kept back (_kept_back); confirming uses no
        tokens, so the token budget does not stop it."""
        c = self.config
        kept_evaluations, kept_epochs = self._kept_back()
        if c.max_evals is not None and self.journal.evaluations() + len(self.pending) + kept_evaluations >= c.max_evals:
            raise BudgetSpent(f"max-evals ({c.max_evals})")
        spent = self.journal.epochs(self.n_ft) + sum(self.pending.values())
        if c.max_epochs is not None and spent + (epochs or 0) + kept_epochs > c.max_epochs:
            raise BudgetSpent(f"max-epochs ({c.max_epochs})")
        self._check_time(epochs or 0, candidate)
        if self.phase == "search" and c.max_tokens is not None and self.journal.tokens() >= c.max_tokens:
            raise BudgetSpent(f"max-tokens ({c.max_tokens})")

    def _kept_back(self) -> tuple[int, int]:
        """Evaluations and epochs the confirmation's steps still ahead will need (its fresh
        seeds for the leaders and the references, its trainings from scratch), kept out of
        the share of the budgets of the step now running."""
        if self.phase == "scratch":
            return 0, 0
        if self.phase == "confirm":
            count = self.config.scratch_count()
            return count, count * (self.schedule or 0)
        return self.config.confirmation_cost(self.rungs[-1] or 0, self.schedule or 0)

    def _time_is_up(self, epochs: int = 0, candidate: int | None = None) -> bool:
        """Whether an evaluation of ``epochs`` epochs, started now, would end past the time
        this step has: the deadline, less the time the confirmation's steps still ahead will
        need (_kept_back) on the executor's workers, but never more than half the budget (a
        confirmation that would take it all leaves nothing to confirm: it gets what is
        left). Both at what an epoch has cost so far (the evaluation's at what its
        candidate's epochs cost, when it was evaluated before: a policy can cost several
        times another); before anything was measured, an evaluation takes no time, so the
        first ones always start."""
        if self.deadline is None:
            return False
        per_epoch = self.journal.seconds_per_epoch() or 0.0
        own = self.journal.seconds_per_epoch(candidate) if candidate is not None else None
        workers = max(1, getattr(self.executor, "workers", 1))
        reserve = min(self._kept_back()[1] * per_epoch / workers, MAX_CONFIRMATION_SHARE * self.config.max_time)
        return now() + epochs * (own or per_epoch) >= self.deadline - reserve

    def _check_time(self, epochs: int = 0, candidate: int | None = None) -> None:
        if self._time_is_up(epochs, candidate):
            raise BudgetSpent(f"max-time ({self.config.max_time:g} s)")

    def _event(self, text: str, evaluation: Evaluation | None = None) -> None:
        self._refresh()
        self.progress.evaluation = evaluation
        self.on_progress(self.progress, text)

    # --- evaluation ----------------------------------------------------------------------

    def _asked(self, n_ft: int | None, seed: int | None) -> dict:
        """What the evaluator is sent for a journaled fidelity and seed: nothing for its own
        (one rung, the run's seed), so such an evaluation is exactly a plain evaluate()."""
        own = not self.config.rungs and n_ft == self.rungs[-1]
        return {"n_ft": None if own else n_ft, "seed": None if seed == self.base_seed else seed}

    def _first(self, row: int, checked: CheckedPolicy, generation: int) -> None:
        """A candidate's first evaluation, with the run's seed: at the first rung, or at the
        top for a reference (it is compared with the leaders there)."""
        n_ft = self.rungs[-1] if generation < 0 else self.rungs[0]
        record = self.journal.start_evaluation(row, n_ft, self.base_seed, "rung", first=True)
        self._submit(record, checked, n_ft, self.base_seed)

    def _submit(self, record: int, checked: CheckedPolicy, n_ft: int | None, seed: int | None) -> None:
        """Hand a journaled evaluation to the executor; journal whatever has finished meanwhile."""
        self.pending[record] = n_ft or 0
        self.executor.submit(record, checked, **self._asked(n_ft, seed))
        self._collect()

    def _collect(self, wait: bool = False) -> None:
        """Journal finished evaluations (all of them, waiting, when ``wait``)."""
        for record, result in self.executor.results(wait):
            self.pending.pop(record, None)
            evaluation = self.journal.finish_evaluation(record, result)
            outcome = f"{result.fitness:.4f}" if result.ok else f"failed ({result.failure})"
            self._event(f"{self._describe(evaluation)}: {outcome}", evaluation)

    def _describe(self, e: Evaluation) -> str:
        """An evaluation as a progress line names it: its rung (or seed), when there is more than one."""
        if e.purpose == "confirm":
            return f"confirming #{e.candidate} with seed {e.seed} ({fine_tune_length(e.n_ft)})"
        if e.purpose == "scratch":
            return f"trained #{e.candidate} from scratch with seed {e.seed} ({counted(e.n_ft or 0, 'epoch')})"
        if len(self.rungs) == 1:
            return f"evaluated #{e.candidate}"
        rung = self.rungs.index(e.n_ft) if e.n_ft in self.rungs else "?"
        return f"evaluated #{e.candidate} at rung {rung} ({fine_tune_length(e.n_ft)})"

    def _ensure(self, candidate: Candidate, n_ft: int | None, seed: int | None, purpose: str) -> bool:
        """An evaluation of ``candidate`` at this fidelity and seed: journaled already
        (finished, or in flight, then sent again unless it runs from here), or started now.
        False when its policy no longer checks."""
        record = self.journal.record(candidate.id, n_ft, seed)
        if record is not None and (record.status != "evaluating" or record.id in self.pending):
            return True
        self._wait_for_worker()  # the time an evaluation has is counted from when it can start
        self._check_budgets(n_ft, candidate.id)
        checked = self._recheck(candidate)
        if checked is None:
            return False
        if record is None:
            record = self.journal.start_evaluation(candidate.id, n_ft, seed, purpose)
            self._submit(record, checked, n_ft, seed)
        else:
            self._submit(record.id, checked, n_ft, seed)
        return True

    def _recheck(self, candidate: Candidate) -> CheckedPolicy | None:
        """A journaled candidate's policy, checked (once in this process). None when it no
        longer checks (a damaged journal, another version's compiler): what of it was in
        flight is journaled as failed."""
        if candidate.id not in self.checked:
            try:  # a Python policy's trial run ends by --max-time
                self.checked[candidate.id] = check_policy(candidate.policy_text or "", max_cost=self.config.max_cost,
                                                          deadline=self.deadline)
            except PolicyError as error:
                self._check_time()  # a trial run cut by --max-time: still in flight for the next --resume
                message = f"in flight when the run stopped, and no longer checks: {error.render()}"
                records = self.journal.records(candidate.id)
                if not records:
                    self.journal.update(candidate.id, status="failed", failure=FailureKind.COMPILE.value, final=1,
                                        message=message)
                for e in records:
                    if e.status == "evaluating":
                        self.journal.finish_evaluation(e.id, failed_evaluation(FailureKind.COMPILE, message))
                return None
        return self.checked[candidate.id]

    def _resume_in_flight(self) -> None:
        """Evaluate again what a killed (or stopped) run left in flight: its open evaluations,
        and a candidate put in flight before its first evaluation was journaled."""
        started = {e.candidate for e in self.journal.records()}
        for candidate in self.journal.in_flight():
            if candidate.id not in started:
                self._wait_for_worker()
                self._check_budgets(self.rungs[-1] if candidate.generation < 0 else self.rungs[0])
                checked = self._recheck(candidate)
                if checked is not None:
                    self._first(candidate.id, checked, candidate.generation)
        for record in self.journal.open_records():
            if record.id not in self.pending:
                candidate = self.journal.candidate(record.candidate)
                if candidate is not None:
                    self._ensure(candidate, record.n_ft, record.seed, record.purpose)
        self._collect(wait=True)  # their slots count as done only once they are journaled

    # --- rungs and confirmation ----------------------------------------------------------

    def _promote(self, generation: int) -> None:
        """Successive halving in one generation's cohort: rung by rung, the top 1/eta (at
        least one) of those that succeeded at a rung are evaluated at the next. Only
        finished evaluations decide, so a resumed run promotes the same candidates."""
        for rung in range(len(self.rungs) - 1):
            self._collect(wait=True)
            scores = self.journal.scores(self.rungs[rung], self.base_seed)
            cohort = sorted((c for c in self.journal.evaluated() if c.generation == generation and c.id in scores),
                            key=lambda c: (-scores[c.id], c.id))
            chosen = cohort[: max(1, len(cohort) // self.config.promote)]
            if any(self.journal.record(c.id, self.rungs[rung + 1], self.base_seed) is None for c in chosen):
                self._event(f"rung {rung + 1} ({self.rungs[rung + 1]} epochs): promoting "
                            f"{', '.join(f'#{c.id}' for c in chosen)} of {len(cohort)} in generation {generation}")
            for candidate in chosen:
                self._ensure(candidate, self.rungs[rung + 1], self.base_seed, "rung")
        self._collect(wait=True)

    def _confirm(self, stopped: str | None = None) -> str:
        """The confirmation's steps, each on what the budgets have left (no evaluation starts
        after --max-time; a --resume with more confirms then): the fine-tunes with fresh
        seeds, then the trainings from scratch. ``stopped``: the budget that stopped the
        search. The run's outcome: done, or stopped by the first budget spent."""
        outcome = None if stopped is None else f"stopped: {stopped}"
        for phase, step in (("confirm", self._confirm_fine_tunes), ("scratch", self._confirm_from_scratch)):
            self.phase = phase
            try:
                step()
            except BudgetSpent as spent:
                self._collect(wait=True)  # what is running finishes and is journaled
                said = "budget spent" if outcome is None else "confirmation stopped"
                self._event(f"{said}: {spent.which}")
                outcome = outcome or f"stopped: {spent.which}"
        return outcome or "done"

    def _confirm_fine_tunes(self) -> None:
        """The confirm-top leaders by mean evaluated again at the top rung with the fresh
        seeds; then the references, with the same seeds; then, as the budgets allow, the
        next leader up whenever a confirmed one fell back below it. A candidate with more
        seeds ranks first (Candidate.rank_key), so a budget that runs out mid-way leaves a
        confirmed best, not one lucky draw."""
        if not self.config.confirm_seeds:
            return
        given_up: set[int] = set()
        self._confirm_leaders(given_up, once=True)
        for reference in [c for c in self.journal.evaluated() if c.generation < 0]:
            self._confirm_one(reference)
        self._confirm_leaders(given_up, once=False)
        self._collect(wait=True)

    def _confirm_from_scratch(self) -> None:
        """The scratch-top leaders (as ranked after the fine-tunes' confirmation) and the best
        reference trained from scratch with the scratch seeds, seed by seed: a budget that
        runs out mid-way leaves them compared on the same seeds. Each then ranks by its mean
        there (the highest fidelity), so a policy that wins a fine-tune from one checkpoint
        and loses a whole training is not declared best. A candidate already trained from
        scratch ranks first, so a resumed run chooses the same ones."""
        if not self.scratch_seeds:
            return
        self._collect(wait=True)
        evaluated = sorted(self.journal.evaluated(), key=lambda c: c.rank_key)
        todo = [c for c in evaluated if c.generation < 0][:1] + \
            [c for c in evaluated if c.generation >= 0][: self.config.scratch_top]
        if not todo:
            return
        self._event(f"training {', '.join(f'#{c.id}' for c in todo)} from scratch ({counted(self.schedule, 'epoch')}, "
                    f"{counted(len(self.scratch_seeds), 'seed')}, scored on validation)")
        for seed in self.scratch_seeds:
            for candidate in todo:
                self._ensure(candidate, self.schedule, seed, "scratch")
        self._collect(wait=True)

    def _confirm_leaders(self, given_up: set[int], once: bool) -> None:
        top = self.rungs[-1]
        while True:
            self._collect(wait=True)
            found = sorted((c for c in self.journal.evaluated() if c.generation >= 0), key=lambda c: c.mean_key)
            todo = [c for c in found[: self.config.confirm_top] if c.id not in given_up and not self._confirmed(c)]
            if not todo:
                return
            self._event(f"confirming {', '.join(f'#{c.id}' for c in todo)} with {self.config.confirm_seeds} fresh "
                        f"seeds at the top rung ({top} epochs)")
            for candidate in todo:
                if not self._confirm_one(candidate):
                    given_up.add(candidate.id)
            if once:
                return

    def _confirm_one(self, candidate: Candidate) -> bool:
        return all(self._ensure(candidate, self.rungs[-1], seed, "rung" if seed == self.base_seed else "confirm")
                   for seed in self.seeds)

    def _confirmed(self, candidate: Candidate) -> bool:
        """Evaluated at the top rung with the run's seed and every fresh one."""
        for seed in self.seeds:
            record = self.journal.record(candidate.id, self.rungs[-1], seed)
            if record is None or record.status == "evaluating":
                return False
        return True

    # --- one offspring slot --------------------------------------------------------------

    def _slot(self, generation: int, slot: int, operator: str, parents: list[Candidate]) -> None:
        if self.journal.slot_done(generation, slot):
            return
        proposer = self.tuner if operator == "tune" and self.tuner is not None else self.proposer
        first = self.journal.attempts(generation, slot)  # attempts a killed run already made
        limit = 1 + self.config.repair_tries
        follow: tuple[str, str] | None = None
        for attempt in range(first, max(limit, first + 1)):
            self._check_budgets(self.rungs[0])  # the evaluation it leads to
            seed = _seed(self.config.seed, "propose", generation, slot, attempt)
            proposal = (proposer.start(operator, parents, seed) if follow is None
                        else proposer.follow_up(follow[0], follow[1], seed))
            row, checked, follow = self._record(generation, slot, attempt, operator, parents, proposal, proposer.name)
            last = attempt >= limit - 1
            if checked is not None:
                self._start_by_deadline(row, self.rungs[0] or 0)
                self._first(row, checked, generation)
                return
            if last:
                self.journal.update(row, final=1)
                self._event(f"slot {generation}.{slot} gave up after {attempt + 1} attempts: {self._why(row)}")
                return
            self._event(f"attempt {attempt + 1} of slot {generation}.{slot} failed: {self._why(row)}")

    def _why(self, row: int) -> str:
        """A failed answer's cause for its progress line: the failure kind and the first line
        of its message (a compile error's code and place), cut short."""
        candidate = self.journal.candidate(row)
        if candidate is None or not candidate.failure:
            return "no reason recorded"
        first = (candidate.message or "").strip().splitlines()[:1]
        detail = first[0].removeprefix("<policy>:") if first else ""
        if len(detail) > _WHY_CHARS:
            detail = detail[:_WHY_CHARS - 3] + "..."
        return f"{candidate.failure} ({detail})" if detail else candidate.failure

    def _start_by_deadline(self, row: int, epochs: int) -> None:
        """No evaluation starts that would end after the time budget: a candidate checked too
        late stays in flight, and the next --resume evaluates it."""
        self._wait_for_worker()
        if self._time_is_up(epochs):
            self.journal.update(row, status="evaluating")
            self._check_time(epochs)

    def _wait_for_worker(self) -> None:
        """Until the executor can start an evaluation (journaling what finished meanwhile)."""
        wait = getattr(self.executor, "wait_for_worker", None)
        if wait is not None:
            wait()
            self._collect()

    def _record(self, generation: int, slot: int, attempt: int, operator: str, parents: list[Candidate],
                proposal: Proposal, proposer: str) -> tuple[int, CheckedPolicy | None, tuple[str, str] | None]:
        """Journal one answer; return its row, its checked policy if it is new, and the
        follow-up to send when it is not."""
        extract = extract_python if self.config.policy_lang == "python" else extract_policy
        text = proposal.policy_text or (extract(proposal.response) if proposal.response else None)
        row = self.journal.add(
            generation, slot, attempt, operator, [p.id for p in parents], proposer,
            prompt=proposal.prompt, response=proposal.response, policy_text=text,
            idea=proposal.idea or (extract_idea(proposal.response, text) if proposal.response else None),
            tokens_prompt=proposal.tokens_prompt, tokens_completion=proposal.tokens_completion,
            request_id=proposal.request_id, propose_seconds=proposal.seconds, constrained=proposal.constrained)
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
            self._start_by_deadline(row, 0)  # checked too late (the trial cut short): in flight for --resume
            self.journal.update(row, status="failed", failure=FailureKind.COMPILE.value, message=error.render(),
                                diagnostics=[d.to_dict() for d in error.diagnostics])
            return row, None, ("repair", error.render())
        checked = self._own_name(checked)
        self.journal.update(row, policy_text=checked.canonical, policy_hash=checked.hash, policy_name=checked.name)
        if self.journal.seen(checked.hash):
            self.journal.update(row, status="duplicate", failure=FailureKind.DUPLICATE.value,
                                message="this behaviour was evaluated before")
            return row, None, ("duplicate", "")
        self.checked[row] = checked
        return row, checked, None

    def _own_name(self, checked: CheckedPolicy) -> CheckedPolicy:
        """An answer under a name that already means another behaviour (an LLM often keeps
        `policy randaugment` for what it changed, or a name from the run) renamed by
        tree.child_name: leaderboards and verdicts never show two policies as one."""
        if checked.python is not None:
            return checked  # its name is its source's NAME (or `python`): the search rewrites no Python
        examples = {name for name, behaviour in _example_hashes().items() if behaviour != checked.hash}
        if checked.name not in self.journal.names_taken(checked.hash) | examples:
            return checked
        renamed = replace(checked.ast, name=tree.child_name([checked.name], checked.hash))
        return tree.checked(renamed, self.config.max_cost) or checked  # a name never makes a policy fail

    # --- strategies ----------------------------------------------------------------------

    def population_before(self, before: int) -> list[Candidate]:
        """The N best evaluated candidates of generations before ``before`` (and the
        references, with build_on_references), ranked by the highest fidelity reached, then
        the mean there."""
        first = -1 if self.config.build_on_references else 0
        done = [c for c in self.journal.evaluated() if first <= c.generation < before]
        done.sort(key=lambda c: c.rank_key)
        if self.config.diversity:
            # parsimony within each fidelity: a smaller policy within PARSIMONY of a larger one's mean goes first
            done = [c for _, group in itertools.groupby(done, key=lambda c: c.fidelity)
                    for c in parsimonious_order(list(group), lambda c: c.fitness, self._size, PARSIMONY)]
            return diverse_population(done, self.config.population, self._niche)
        return done[: self.config.population]

    def _size(self, candidate: Candidate) -> int:
        return size_of(candidate.policy_text or "")  # a Python function: its words, compared among themselves

    def _niche(self, candidate: Candidate):
        return niche_of_text(candidate.policy_text or "", self.config.max_cost)  # one niche for Python policies

    def _choose_parents(self, population: list[Candidate], k: int, generation: int, slot: int) -> list[Candidate]:
        rng = random.Random(_seed(self.config.seed, "parents", generation, slot))
        if self.config.diversity:
            return choose_parents(population, k, rng, self._niche)
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
            self.progress.generation = 0
            if self.config.strategy == "simple":
                self._slot(0, 0, "simple", [])
            else:
                self._evolve()
            self._promote(self.progress.generation)
        except BudgetSpent as spent:
            self._collect(wait=True)  # what is running finishes and is journaled
            self._event(f"budget spent: {spent.which}")
            return self._confirm(stopped=spent.which)
        return self._confirm()

    def _evolve(self) -> None:
        for slot in range(self.config.population):
            self._slot(0, slot, "initialise", [])
        for generation in range(1, self.config.generations + 1):
            self._promote(generation - 1)  # the population is chosen from finished evaluations
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
            first_tune = self.config.explore + self.config.mutations
            for slot in range(first_tune, first_tune + (self.config.tune if population else 0)):
                self._slot(generation, slot, "tune", population[:1])  # the leader's structure, new constants

    def _reference(self, index: int, name: str, text: str) -> None:
        if self.journal.slot_done(-1, index):
            return
        self._check_budgets(self.rungs[-1])
        try:
            checked = check_policy(text, max_cost=self.config.max_cost)
        except PolicyError as error:  # a stored reference that no longer checks: recorded, not a crash
            self.journal.add(-1, index, 0, "baseline", [], "reference", policy_text=text, policy_name=name,
                             status="failed", failure=FailureKind.COMPILE.value, message=error.render(), final=1)
            return
        row = self.journal.add(-1, index, 0, "baseline", [], "reference", policy_text=checked.canonical,
                               policy_hash=checked.hash, policy_name=name, idea=f"reference policy {name}")
        self.checked[row] = checked
        self._start_by_deadline(row, self.rungs[-1] or 0)
        self._first(row, checked, -1)
