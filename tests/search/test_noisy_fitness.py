"""A search for a noisy fitness: every evaluation journaled with its fidelity and seed,
successive-halving rungs, leaders confirmed with fresh seeds (references with the same
ones), the epoch budget, resumption mid-rung, older journals, and the leaderboard's ties."""
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoda.cli import cli
from autoda.search.config import ConfigError, RunConfig, SearchConfig
from autoda.search.journal import Journal
from autoda.search.loop import Search
from autoda.search.proposers import Proposal
from autoda.policies import example_policies
from autoda.search.run import new_config
from autoda.search.summary import ranked, summarise
from autoda.report.leaderboard import leaderboard_rows, leaderboard_table
from noisy_tasks import N_FT, SCHEDULE, noisy_fitness, result, search
from test_llm_search import fake_fitness

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def at(journal, n_ft) -> dict[int, float]:
    return {e.candidate: e.fitness for e in journal.records() if e.n_ft == n_ft and e.seed == 0}


def top(scores: dict[int, float], k: int) -> set[int]:
    return set(sorted(scores, key=lambda c: (-scores[c], c))[:k])


# --- rungs ------------------------------------------------------------------------------------

def test_each_rung_promotes_the_top_1_over_eta_of_the_generations_cohort(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    s = search(journal, generations=1, confirm_seeds=0, baselines=())
    assert s.run() == "done"
    first, second, third = at(journal, 1), at(journal, 2), at(journal, 4)
    generation = {c.id: c.generation for c in journal.all()}
    zero = {c: v for c, v in first.items() if generation[c] == 0}
    one = {c: v for c, v in first.items() if generation[c] == 1}
    assert len(zero) == 6 and len(one) == 4
    assert {c for c in second if generation[c] == 0} == top(zero, 2)  # 6 // 3
    assert {c for c in second if generation[c] == 1} == top(one, 1)  # 4 // 3
    assert {c for c in third if generation[c] == 0} == top({c: second[c] for c in top(zero, 2)}, 1)
    assert len(third) == 2  # at least one of each cohort reaches the top
    assert [c.fidelity for c in s.population_before(2)[:2]] == [4, 4]  # ranked by fidelity, then mean


def test_every_evaluation_is_one_record_with_its_fidelity_and_seed(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    assert search(journal).run() == "done"
    records = journal.records()
    assert len(records) == journal.evaluations() and all(e.status == "evaluated" for e in records)
    assert {e.n_ft for e in records} == {1, 2, 4}
    keys = [(e.candidate, e.n_ft, e.seed) for e in records]
    assert len(set(keys)) == len(keys)  # nothing evaluated twice
    assert journal.epochs() == sum(e.n_ft for e in records)
    for c in journal.evaluated():  # the candidate row: its score at the highest fidelity it reached
        there = [e.fitness for e in records if e.candidate == c.id and e.n_ft == c.fidelity]
        assert c.fitness == pytest.approx(statistics.mean(there)) and c.fitness_n == len(there)
        assert c.fitness_std == (pytest.approx(statistics.stdev(there)) if len(there) > 1 else None)
    fresh = {e.seed for e in records if e.purpose == "confirm"}
    assert len(fresh) == 2 and 0 not in fresh  # fresh seeds, never the checkpoint's
    [reference] = [c for c in journal.evaluated() if c.generation < 0]
    assert {(e.n_ft, e.seed) for e in records if e.candidate == reference.id} == {(4, s) for s in fresh | {0}}
    leaders = ranked([c for c in journal.evaluated() if c.generation >= 0])[:2]
    assert all(c.fitness_n == 3 and c.fidelity == 4 for c in leaders)  # the reference's seeds: a fair comparison


def test_the_planned_evaluations_and_epochs_are_what_the_search_trains(tmp_path):
    """The cost estimate (autoda.search.estimate) counts what the loop will do."""
    journal = Journal(tmp_path / "journal.sqlite")
    run = search(journal)
    assert run.run() == "done"
    planned = run.config.planned() + len(run.config.baselines)
    assert journal.evaluations() == planned
    assert journal.epochs() == run.config.planned_epochs(N_FT, SCHEDULE)


def test_the_default_search_asks_the_evaluator_for_nothing_new(tmp_path):
    """One rung, no confirmation: each candidate evaluated once, as evaluate(policy), and
    journaled at the run's n_ft and seed."""
    calls = []
    journal = Journal(tmp_path / "journal.sqlite")
    Search(journal, lambda checked, **fidelity: calls.append(fidelity) or fake_fitness(checked),
           search(journal).proposer, SearchConfig(population=3, generations=1), n_ft=N_FT, seed=0).run()
    assert calls == [{}] * journal.evaluations() and len(calls) == 7
    assert {(e.n_ft, e.seed, e.purpose) for e in journal.records()} == {(N_FT, 0, "rung")}
    assert all(c.fitness_n == 1 and c.fitness_std is None for c in journal.evaluated())


# --- confirmation ---------------------------------------------------------------------------------

LUCKY = "policy lucky\nper sample:\n    invert\n"
STEADY = "policy steady\nper sample:\n    flip_lr with probability 0.5\n"


class TwoPolicies:
    """Proposes the lucky policy, then the steady one."""
    name = "two"

    def __init__(self):
        self.texts = [LUCKY, STEADY]

    def start(self, operator, parents, seed):
        return Proposal(self.texts.pop(0))

    def follow_up(self, kind, diagnostics, seed):
        return self.start(None, [], seed)


def one_lucky_draw(checked, n_ft=None, seed=None):
    """The lucky policy draws 0.9 with the run's seed and 0.5 with any other; the steady one 0.7."""
    return result(0.7 if checked.name == "steady" else 0.9 if seed is None else 0.5)


@pytest.mark.parametrize("confirm_top", [1, 2])
def test_confirmation_replaces_a_one_lucky_draw_leader(tmp_path, confirm_top):
    def best(confirm_seeds, name):
        folder = tmp_path / name
        journal = Journal(folder / "journal.sqlite")
        config = SearchConfig(population=2, generations=0, confirm_seeds=confirm_seeds, confirm_top=confirm_top)
        assert Search(journal, one_lucky_draw, TwoPolicies(), config, n_ft=N_FT, seed=0).run() == "done"
        summary = summarise(journal, folder, 1.0, "done")
        return summary, (folder / "best.dsl").read_text(), journal

    unconfirmed, text, _ = best(0, "single")
    assert unconfirmed["best"]["name"] == "lucky" and "policy lucky" in text
    confirmed, text, journal = best(2, "confirmed")
    assert confirmed["best"]["name"] == "steady" and "policy steady" in text
    assert confirmed["best"]["n"] == 3 and "mean balanced validation accuracy over 3 seeds" in text
    lucky = next(c for c in journal.evaluated() if c.policy_name == "lucky")
    assert (lucky.fitness, lucky.fitness_n) == (pytest.approx((0.9 + 0.5 + 0.5) / 3), 3)
    # a lucky leader that falls back lets the next one up: it is confirmed too (confirm_top=1)
    assert all(c.fitness_n == 3 for c in journal.evaluated())


class ThreePolicies(TwoPolicies):
    """Two lucky policies (one draw high, every other 0.5), then the steady one."""

    def __init__(self):
        self.texts = [LUCKY, LUCKY.replace("lucky", "luckier").replace("invert", "flip_ud"), STEADY]


def two_lucky_draws(checked, n_ft=None, seed=None):
    return result(0.7 if checked.name == "steady" else 0.5 if seed is not None else
                  0.9 if checked.name == "lucky" else 0.85)


def test_a_budget_spent_mid_confirmation_leaves_a_confirmed_best(tmp_path):
    """The first lucky leader is confirmed and falls back; the budget ends before the next
    one up: the best is the confirmed one, not the other's one lucky draw."""
    journal = Journal(tmp_path / "journal.sqlite")
    config = SearchConfig(population=3, generations=0, confirm_seeds=2, confirm_top=1, max_evals=5)
    assert Search(journal, two_lucky_draws, ThreePolicies(), config, n_ft=N_FT, seed=0).run() == \
        "stopped: max-evals (5)"
    summary = summarise(journal, tmp_path, 1.0, "stopped")
    assert summary["best"]["name"] == "lucky" and summary["best"]["n"] == 3
    assert [(c.policy_name, c.fitness_n) for c in ranked(journal.evaluated())] == [
        ("lucky", 3), ("luckier", 1), ("steady", 1)]
    again = Journal(tmp_path / "more.sqlite")  # with the budget to go on, the next ones up are confirmed too
    assert Search(again, two_lucky_draws, ThreePolicies(), replace(config, max_evals=None), n_ft=N_FT,
                  seed=0).run() == "done"
    assert summarise(again, tmp_path / "more", 1.0, "done")["best"]["name"] == "steady"


def test_the_leaderboard_shows_the_spread_and_ties_within_the_noise(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    config = SearchConfig(population=2, generations=0, confirm_seeds=2, confirm_top=2)
    Search(journal, one_lucky_draw, TwoPolicies(), config, n_ft=N_FT, seed=0).run()
    rows = leaderboard_rows(journal)
    assert [(r["policy"], r["rank"], r["fitness"], r["epochs"]) for r in rows] == [
        ("steady", "1", "70.00 ± 0.00 (3)", "4"), ("lucky", "=1", "63.33 ± 23.09 (3)", "4")]
    table = " ".join(leaderboard_table(journal, "run").split())  # as read, not as wrapped
    assert "seed-to-seed standard deviation at 4 epochs: 16.33 points (pooled over 4 repeats)" in table
    summary = summarise(journal, tmp_path, 1.0, "done")
    assert [r["tied_with_first"] for r in summary["leaderboard"]] == [True, True]
    assert summary["noise"] == {"std": pytest.approx(0.1633, abs=1e-4), "dof": 4, "fidelity": 4}


def test_a_leaderboard_of_single_evaluations_says_the_noise_was_not_measured(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    Search(journal, one_lucky_draw, TwoPolicies(), SearchConfig(population=2, generations=0), n_ft=N_FT).run()
    assert [r["rank"] for r in leaderboard_rows(journal)] == ["1", "2"]
    table = " ".join(leaderboard_table(journal, "run").split())
    assert "seed-to-seed noise (about a point for a fine-tune) was not measured" in table


def path_dependent(checked, n_ft=None, seed=None):
    """The lucky policy leads every fine-tune and loses a training from scratch (as a policy
    that rebalances by distortion does); the steady one wins there; the reference between."""
    scores = {"steady": 0.6, "lucky": 0.4} if n_ft == SCHEDULE else {"steady": 0.7, "lucky": 0.9}
    return result(scores.get(checked.name, 0.5))


def test_training_from_scratch_replaces_a_leader_that_only_a_fine_tune_favours(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    config = SearchConfig(population=2, generations=0, confirm_seeds=1, confirm_top=2, scratch_seeds=2,
                          scratch_top=2, baselines=(("none", example_policies()["none"]),))
    events = []
    assert Search(journal, path_dependent, TwoPolicies(), config, lambda progress, event: events.append(event),
                  n_ft=N_FT, seed=0, schedule=SCHEDULE).run() == "done"
    summary = summarise(journal, tmp_path, 1.0, "done")
    assert summary["best"]["name"] == "steady" and (summary["best"]["n"], summary["best"]["fidelity"]) == (2, SCHEDULE)
    assert "over 2 seeds of trainings from scratch (10 epochs)" in (tmp_path / "best.dsl").read_text()
    from autoda.report.candidate import candidate_text
    assert "trained from scratch (10 epochs)" in candidate_text(journal, summary["best"]["id"])
    assert summary["reference_scores"]["none"] == {"fitness": 0.5, "fitness_std": 0.0, "n": 2, "fidelity": SCHEDULE}
    scratch = [e for e in journal.records() if e.purpose == "scratch"]
    assert {e.n_ft for e in scratch} == {SCHEDULE} and len(scratch) == 6  # two leaders and the reference, 2 seeds
    seeds = {e.seed for e in scratch}
    confirm = {e.seed for e in journal.records() if e.purpose == "confirm"}
    assert len(seeds) == 2 and not seeds & (confirm | {0, 1, 2})  # fresh, and never the verdict's seeds
    assert len({e.seed for e in scratch[:3]}) == 1  # seed by seed: a budget spent mid-way leaves them comparable
    assert any("from scratch (10 epochs, 2 seeds, scored on validation)" in event for event in events)
    without = Journal(tmp_path / "without.sqlite")  # the same search without it keeps the fine-tune's leader
    Search(without, path_dependent, TwoPolicies(), replace(config, scratch_seeds=0), n_ft=N_FT, seed=0).run()
    assert summarise(without, tmp_path / "without", 1.0, "done")["best"]["name"] == "lucky"


def test_max_epochs_keeps_back_what_training_from_scratch_needs(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    assert search(journal, scratch_seeds=1, max_epochs=90, generations=10).run() == "stopped: max-epochs (90)"
    assert journal.epochs() <= 90
    scratch = [e for e in journal.records() if e.purpose == "scratch"]
    assert len(scratch) == 3 and all(e.ok and e.n_ft == SCHEDULE for e in scratch)


def test_a_search_that_trains_from_scratch_needs_the_schedules_length(tmp_path):
    with pytest.raises(ValueError, match="schedule"):
        Search(Journal(tmp_path / "journal.sqlite"), noisy_fitness, TwoPolicies(),
               SearchConfig(scratch_seeds=1), n_ft=N_FT, seed=0)


# --- budgets --------------------------------------------------------------------------------------

def test_max_epochs_stops_the_run(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    s = Search(journal, fake_fitness, search(journal).proposer, SearchConfig(population=4, generations=1,
                                                                            max_epochs=10), n_ft=N_FT)
    assert s.run() == "stopped: max-epochs (10)"
    assert journal.epochs() == 8 and journal.evaluations() == 2  # a third would make 12


def test_max_epochs_keeps_back_what_the_confirmation_needs(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    assert search(journal, max_epochs=60).run() == "stopped: max-epochs (60)"
    assert journal.epochs() <= 60
    confirmed = [c for c in journal.evaluated() if c.fitness_n == 3]
    assert len(confirmed) >= 2 and any(c.generation < 0 for c in confirmed)


def test_max_time_spent_leaves_the_confirmation_to_a_resume(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    assert search(journal, max_time=0.0).run() == "stopped: max-time (0 s)"
    assert journal.evaluations() == 0
    assert search(journal).run() == "done"
    assert [c.fitness_n for c in ranked([c for c in journal.evaluated() if c.generation >= 0])[:2]] == [3, 3]


class SimulatedClock:
    """The search's clock, moved on by each evaluation as long as it says it took: 10 s an epoch."""

    def __init__(self, monkeypatch):
        import autoda.search.loop as loop

        self.time = 0.0
        monkeypatch.setattr(loop, "now", lambda: self.time)

    def __call__(self, fitness, per_epoch=lambda checked: 10.0):
        """An evaluator: ``fitness``'s results, ``per_epoch`` seconds an epoch of the policy."""
        def evaluate(checked, **fidelity):
            seconds = per_epoch(checked) * fidelity.get("n_ft", N_FT)
            self.time += seconds
            return replace(fitness(checked, **fidelity), seconds=seconds)
        return evaluate


def test_a_confirmation_longer_than_the_budget_takes_half_of_it_not_all(tmp_path, monkeypatch):
    """The confirmation needs 240 s (24 epochs) of a 200-s budget: it is held back half of
    --max-time, and the search evaluates candidates in the other half."""
    clock = SimulatedClock(monkeypatch)
    journal = Journal(tmp_path / "journal.sqlite")
    assert search(journal, clock(noisy_fitness), max_time=200.0, generations=10**6).run() == "stopped: max-time (200 s)"
    assert sum(c.generation >= 0 for c in journal.evaluated()) >= 4  # the reference (40 s), then 10 s each to 100 s
    assert any(e.purpose == "confirm" for e in journal.records()) and clock.time <= 200


def test_an_evaluation_is_timed_at_its_own_candidates_cost(tmp_path, monkeypatch):
    """The steady policy (2 s), then the lucky one (20 s): lucky leads, and at the run's mean
    (2.75 s an epoch) its confirmation (4 epochs) would fit the 41 s; at its own cost (5 s an
    epoch) it would end at 42 s, so it does not start."""
    class SteadyFirst(TwoPolicies):
        def __init__(self):
            self.texts = [STEADY, LUCKY]

    clock = SimulatedClock(monkeypatch)
    evaluate = clock(one_lucky_draw, lambda checked: 5.0 if checked.name == "lucky" else 0.5)
    journal = Journal(tmp_path / "journal.sqlite")
    config = SearchConfig(population=2, generations=0, confirm_seeds=1, confirm_top=2, max_time=41.0)
    assert Search(journal, evaluate, SteadyFirst(), config, n_ft=N_FT, seed=0).run() == "stopped: max-time (41 s)"
    assert clock.time == 22.0 and not any(e.purpose == "confirm" for e in journal.records())


@pytest.mark.parametrize("scratch_seeds", [0, 1])
def test_no_evaluation_starts_that_would_end_after_max_time(tmp_path, monkeypatch, scratch_seeds):
    """At what an epoch has cost so far: the run ends by --max-time, and not much before it
    (what is left is shorter than the next evaluation would be)."""
    clock = SimulatedClock(monkeypatch)
    journal = Journal(tmp_path / "journal.sqlite")
    run = search(journal, clock(noisy_fitness), max_time=1010.0, generations=10**6, scratch_seeds=scratch_seeds)
    assert run.run() == "stopped: max-time (1010 s)"
    assert 1010 - 10 * max(N_FT, SCHEDULE * scratch_seeds) <= clock.time <= 1010
    assert sum(e.purpose == "scratch" for e in journal.records()) == 3 * scratch_seeds  # its 300 s were kept


# --- resumption -----------------------------------------------------------------------------------

class Killed(BaseException):
    """A process killed mid-evaluation, in this process: nothing after it runs."""


def killed_after(calls: int):
    made = []

    def evaluate(checked, **fidelity):
        if len(made) >= calls:
            raise Killed
        made.append(1)
        return noisy_fitness(checked, **fidelity)
    return evaluate


def outcome(journal) -> tuple:
    """What a run chose: every evaluation (policy, fidelity, seed, result), and the best."""
    hashes = {c.id: c.policy_hash for c in journal.all()}
    records = sorted((hashes[e.candidate], e.n_ft, e.seed, e.purpose, e.status, e.fitness) for e in journal.records())
    best = ranked([c for c in journal.evaluated() if c.generation >= 0])[0]
    return records, best.policy_hash, best.fitness, best.fitness_n


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    journal = Journal(tmp_path_factory.mktemp("whole") / "journal.sqlite")
    assert search(journal).run() == "done"
    return outcome(journal)


# kills just before evaluation k + 1 of the 28: the reference (1), generation 0 at rung 0
# (2-7), its rungs 1 and 2 (8-10), generation 1 (11-16), generation 2 (17-22), the
# confirmation of the two leaders (23-26) and of the reference (27-28)
@pytest.fixture(scope="module")
def whole_from_scratch(tmp_path_factory):
    journal = Journal(tmp_path_factory.mktemp("scratch") / "journal.sqlite")
    assert search(journal, scratch_seeds=2).run() == "done"
    return outcome(journal)


@pytest.mark.parametrize("calls", [28, 30, 33])  # the trainings from scratch are evaluations 29 to 34
def test_a_run_killed_while_training_from_scratch_resumes_to_the_same_choices(tmp_path, whole_from_scratch, calls):
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    with pytest.raises(Killed):
        search(journal, killed_after(calls), scratch_seeds=2).run()
    journal.close()
    journal = Journal(path)
    assert search(journal, scratch_seeds=2).run() == "done"
    assert outcome(journal) == whole_from_scratch and journal.open_records() == []
    assert sum(e.purpose == "scratch" for e in journal.records()) == 6


@pytest.mark.parametrize("calls", [0, 4, 8, 9, 14, 22, 24, 27])
def test_a_run_killed_anywhere_resumes_to_the_same_choices(tmp_path, whole, calls):
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    with pytest.raises(Killed):
        search(journal, killed_after(calls)).run()
    journal.close()
    journal = Journal(path)
    assert len(journal.open_records()) == 1  # the one in flight when it was killed
    assert search(journal).run() == "done"
    assert outcome(journal) == whole and journal.open_records() == []


@pytest.mark.slow
def test_a_search_process_killed_mid_rung_resumes_to_the_same_choices(tmp_path, whole):
    path = tmp_path / "journal.sqlite"
    command = [sys.executable, str(HERE / "noisy_tasks.py"), str(path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(command + ["0.3"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(path) as db:
                rung_1 = "SELECT COUNT(*) FROM evaluations WHERE n_ft = 2 AND status = 'evaluating'"
                if db.execute(rung_1).fetchone()[0]:
                    break
        except sqlite3.Error:
            continue
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert [e.n_ft for e in Journal(path).open_records()] == [2], process.stderr.read()[-2000:]
    resumed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=240)
    assert resumed.returncode == 0 and resumed.stdout.strip() == "done", resumed.stderr[-2000:]
    assert outcome(Journal(path)) == whole


# --- older journals -------------------------------------------------------------------------------

# The journal as the version before evaluations had a table wrote it
OLDER_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE candidates (
    id INTEGER PRIMARY KEY AUTOINCREMENT, generation INTEGER NOT NULL, slot INTEGER NOT NULL,
    attempt INTEGER NOT NULL, operator TEXT NOT NULL, parents TEXT NOT NULL, proposer TEXT NOT NULL,
    status TEXT NOT NULL, policy_text TEXT, policy_hash TEXT, policy_name TEXT, idea TEXT,
    prompt TEXT, response TEXT, diagnostics TEXT, fitness REAL, validation TEXT, failure TEXT, message TEXT,
    tokens_prompt INTEGER NOT NULL DEFAULT 0, tokens_completion INTEGER NOT NULL DEFAULT 0, request_id TEXT,
    propose_seconds REAL, eval_seconds REAL, created REAL NOT NULL, finished REAL,
    final INTEGER NOT NULL DEFAULT 0);
"""


def an_older_journal(tmp_path) -> Path:
    import autoda

    path = tmp_path / "journal.sqlite"
    policies = [autoda.check_policy(example_policies()[name]) for name in ("cuda", "rank_scaled", "doda", "none")]
    config = new_config(proposer="offline", dataset="synthetic", data_root=None, download=False, imb_ratio=10,
                        method="ce", net="resnet8", batch_size=64, lr=0.05, seed=0, device="cpu", cache_dir=None,
                        fitness_cache=None, llm=None, epochs=8, e_ckp=2, n_ft=N_FT, search={"population": 3})
    with sqlite3.connect(path) as db:
        db.executescript(OLDER_SCHEMA)
        db.execute("INSERT INTO meta VALUES ('config', ?)", (json.dumps(config.to_dict()),))
        for slot, checked in enumerate(policies):
            done = slot < 3
            fitness = 0.4 + slot / 10
            db.execute("INSERT INTO candidates (generation, slot, attempt, operator, parents, proposer, status, "
                       "policy_text, policy_hash, policy_name, fitness, validation, eval_seconds, created, final) "
                       "VALUES (0, ?, 0, 'initialise', '[]', 'offline', ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                       (slot, "evaluated" if done else "evaluating", checked.canonical, checked.hash, checked.name,
                        fitness if done else None, json.dumps({"all": fitness}) if done else None,
                        1.0 if done else None, int(done)))
    return path


def test_an_older_journal_reads_without_the_table_and_gets_it_when_written(tmp_path):
    path = an_older_journal(tmp_path)
    reader = Journal(path, read_only=True)
    assert not reader.has_evaluations and reader.records() == [] and reader.evaluations() == 3
    assert [c.fitness_n for c in ranked(reader.evaluated())] == [1, 1, 1]
    assert "rank_scaled" in leaderboard_table(reader, "older") and reader.best_fitness() == pytest.approx(0.6)
    reader.close()
    with sqlite3.connect(path) as db:  # read-only left it as it was
        assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'evaluations'").fetchone()[0] == 0
    journal = Journal(path)
    assert [(e.n_ft, e.seed, e.fitness) for e in journal.records()] == [(N_FT, 0, pytest.approx(0.4 + i / 10))
                                                                        for i in range(3)]
    assert {c.fidelity for c in journal.evaluated()} == {N_FT}  # ranked beside what a resumed run adds
    assert Search(journal, fake_fitness, search(journal).proposer, SearchConfig(population=4, generations=0)).run() \
        == "done"
    assert journal.evaluations() == 4 and journal.in_flight() == []
    assert {(c.fidelity, c.fitness_n) for c in journal.evaluated()} == {(N_FT, 1)}


# --- the configuration and the command line ---------------------------------------------------------

def test_the_settings_are_stored_only_when_used_and_read_back():
    from test_config import STORED

    plain = RunConfig.from_dict(STORED)
    assert "rungs" not in plain.to_dict()["search"] and "max_epochs" not in plain.to_dict()["search"]
    noisy = replace(plain, search=replace(plain.search, rungs=(1, 2, 4), promote=2, confirm_seeds=2, max_epochs=90,
                                          scratch_seeds=2, scratch_top=1))
    stored = json.loads(json.dumps(noisy.to_dict()))
    assert stored["search"]["rungs"] == [1, 2, 4] and RunConfig.from_dict(stored) == noisy
    assert (stored["search"]["scratch_seeds"], stored["search"]["scratch_top"]) == (2, 1)
    assert noisy.with_overrides(budgets={"max_epochs": 120}).search.max_epochs == 120
    for bad in ({"rungs": [4, 2]}, {"rungs": [0]}, {"promote": 0}, {"confirm_top": 0}, {"max_epochs": -1},
                {"scratch_seeds": -1}, {"scratch_top": 0}):
        with pytest.raises(ConfigError, match="stored search settings are damaged"):
            RunConfig.from_dict({**STORED, "search": {**STORED["search"], **bad}})


@pytest.mark.parametrize("args,message", [
    (["--rungs", "5,2"], "the rungs must increase"),
    (["--rungs", "2,x"], "not a list of whole numbers"),
    (["--rungs", "0,2"], "each rung is 1 to"),
    (["--rungs", "1,2", "--n-ft", "3"], "the top rung is the fine-tune length"),
    (["--promote", "0"], "--promote"),
    (["--confirm-seeds", "-1"], "--confirm-seeds"),
    (["--max-epochs", "x"], "--max-epochs"),
    (["--confirm-seeds", "2", "--max-evals", "6"], "--max-evals 6 leaves nothing to search with"),
    (["--confirm-seeds", "1", "--confirm-top", "2", "--baseline", "none", "--n-ft", "4", "--max-epochs", "12"],
     "--max-epochs 12 leaves nothing to search with: the confirmation alone takes 12"),
    (["--scratch-top", "0"], "--scratch-top"),
    (["--scratch-seeds", "1", "--baseline", "none", "--epochs", "20", "--max-epochs", "60"],
     "--max-epochs 60 leaves nothing to search with: the confirmation alone takes 60"),
])
def test_bad_noisy_fitness_options_are_one_usage_line(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["search", "--out", str(tmp_path / "run"), *args])
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_a_search_with_rungs_and_confirmation_trains_and_journals_them(tmp_path):
    """The whole wiring, with real fine-tunes: two rungs, one fresh seed for the leader."""
    folder = tmp_path / "run"
    result = CliRunner().invoke(cli, ["search", "--out", str(folder), "--population", "2", "--generations", "0",
                                      "--epochs", "4", "--e-ckp", "1", "--rungs", "1,2", "--promote", "2",
                                      "--confirm-seeds", "1", "--confirm-top", "1", "--imb-ratio", "10",
                                      "--no-baselines", "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert "rung 1 (2 epochs): promoting" in result.stderr and "confirming #" in result.stderr
    journal = Journal(folder / "journal.sqlite", read_only=True)
    records = [(e.n_ft, e.seed == 0, e.purpose) for e in journal.records()]
    assert sorted(records) == [(1, True, "rung"), (1, True, "rung"), (2, False, "confirm"), (2, True, "rung")]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["config"]["n_ft"] == 2 and summary["best"]["n"] == 2 and summary["best"]["fidelity"] == 2


def test_a_search_that_trains_from_scratch_trains_and_journals_it(tmp_path):
    """The whole wiring, with real trainings: the leader and the reference trained from
    scratch (the whole schedule), ranked there, and the run's lines saying so."""
    folder = tmp_path / "run"
    result = CliRunner().invoke(cli, ["search", "--out", str(folder), "--population", "2", "--generations", "0",
                                      "--epochs", "3", "--e-ckp", "1", "--n-ft", "1", "--scratch-seeds", "1",
                                      "--scratch-top", "1", "--imb-ratio", "10", "--baseline", "none",
                                      "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert "then the 1 leader and the best reference trained from scratch with 1 seed" in result.stderr
    assert "from scratch (3 epochs, 1 seed, scored on validation)" in result.stderr
    journal = Journal(folder / "journal.sqlite", read_only=True)
    scratch = [e for e in journal.records() if e.purpose == "scratch"]
    assert len(scratch) == 2 and all(e.ok and e.n_ft == 3 and e.seed != 0 for e in scratch)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["best"]["fidelity"] == 3 and summary["reference_scores"]["none"]["fidelity"] == 3
    assert "the best is" in result.output and "from none" in result.output  # compared where both were trained


# --- executors -------------------------------------------------------------------------------------

SENT = [{"n_ft": 3, "seed": 5}, {}, {"seed": 7}]  # what was asked but the evaluator's own


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    from autoda.engine.train.fitness import FitnessSetup
    from autoda.engine.train.trainer import Recipe
    from autoda.search.executors import EvaluationSpec

    setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(4, batch_size=32, lr=0.05), 0, e_ckp=2, n_ft=1)
    data = {"name": "synthetic", "imb_ratio": 10, "seed": 0, "synthetic_size": 16}
    return EvaluationSpec(data, setup, str(tmp_path_factory.mktemp("cache")), threads=1)


def sent(executor) -> list[dict]:
    import autoda

    policy = autoda.check_policy(example_policies()["none"])
    try:
        executor.submit(0, policy, n_ft=3, seed=5)
        executor.submit(1, policy)
        executor.submit(2, policy, n_ft=None, seed=7)
        done = dict(executor.results(wait=True))
    finally:
        executor.close()
    return [json.loads(done[key].message) for key in range(3)]


def test_local_worker_processes_are_sent_the_fidelity(spec):
    import noisy_tasks
    from autoda.search.executors import ProcessExecutor

    assert sent(ProcessExecutor(spec, workers=1, retries=0, task=noisy_tasks.echo_fidelity)) == SENT


@pytest.mark.slow
def test_ray_tasks_are_sent_the_fidelity(spec, monkeypatch):
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'autoda[ray]'")
    import noisy_tasks
    from autoda.search.ray_executor import RayExecutor

    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    ray.cloudpickle.register_pickle_by_value(noisy_tasks)
    assert sent(RayExecutor(spec, None, {}, workers=1, task=noisy_tasks.echo_fidelity_on_ray)) == SENT
