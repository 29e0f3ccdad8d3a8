"""The search loop with the offline proposer: budgets, duplicates, resumption."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import autoda
from autoda.search.gp import GeneticProgramming
from autoda.search.journal import Journal
from autoda.search.loop import Search, SearchConfig
from autoda.search.proposers import OfflineProposer, Proposal
from autoda.policies import example_policies
from test_llm_search import Result, fake_fitness

SEEDS = [autoda.check_policy(text) for text in example_policies().values()]
ROOT = Path(__file__).parents[2]


def offline(tmp_path, **config):
    journal = Journal(tmp_path / "journal.sqlite")
    proposer = OfflineProposer(GeneticProgramming(SEEDS, 64))
    return Search(journal, fake_fitness, proposer, SearchConfig(**config)), journal


def test_a_full_offline_search_runs_every_planned_slot(tmp_path):
    s, journal = offline(tmp_path, population=3, generations=2, explore=2, mutations=1)
    assert s.run() == "done"
    final = [c for c in journal.all() if c.generation >= 0]
    slots = {(c.generation, c.slot) for c in final}
    assert slots == {(0, i) for i in range(3)} | {(g, i) for g in (1, 2) for i in range(3)}
    assert all(journal.slot_done(g, i) for g, i in slots)
    hashes = Counter(c.policy_hash for c in journal.all() if c.eval_seconds is not None)
    assert max(hashes.values()) == 1  # nothing evaluated twice


@pytest.mark.parametrize("budget,outcome,evaluations", [
    ({"max_evals": 2}, "stopped: max-evals (2)", 2),
    ({"max_time": 0.0}, "stopped: max-time (0 s)", 0),
    ({"generations": 0}, "done", 3),
])
def test_each_budget_stops_the_run(tmp_path, budget, outcome, evaluations):
    s, journal = offline(tmp_path, population=3, **{"generations": 3, **budget})
    assert s.run() == outcome
    assert journal.evaluations() == evaluations


def test_max_time_holds_while_a_candidate_compiles(tmp_path, monkeypatch):
    """A step that runs past the budget (here a slow check) is journaled, no evaluation
    starts after the deadline, and the candidate waits in flight for --resume."""
    import autoda.search.loop as loop

    check = loop.check_policy
    monkeypatch.setattr(loop, "check_policy", lambda *args, **kw: time.sleep(1.5) or check(*args, **kw))
    s, journal = offline(tmp_path, population=3, generations=0, max_time=1.0)
    assert s.run() == "stopped: max-time (1 s)"
    assert journal.evaluations() == 0
    [waiting] = journal.in_flight()
    monkeypatch.undo()
    resumed = Search(journal, fake_fitness, OfflineProposer(GeneticProgramming(SEEDS, 64)),
                     SearchConfig(population=3, generations=0))
    assert resumed.run() == "done" and journal.evaluations() == 3
    assert waiting.id in {c.id for c in journal.evaluated()}


def test_references_are_evaluated_once_and_kept_out_of_the_population(tmp_path):
    text = example_policies()["none"]
    s, journal = offline(tmp_path, population=2, generations=1, explore=1, mutations=1, baselines=(("none", text),))
    s.run()
    refs = [c for c in journal.evaluated() if c.generation == -1]
    assert [c.policy_name for c in refs] == ["none"]
    assert all(c.generation >= 0 for c in s.population_before(5))


def test_with_build_on_references_offspring_descend_from_a_leading_reference(tmp_path):
    text = example_policies()["randaugment"]
    leading = autoda.check_policy(text).canonical

    def fitness(checked):  # the reference leads; everything else scores by length, lower
        value = 0.9 if checked.canonical == leading else (len(checked.canonical) % 50) / 100
        return Result(True, value, {"many": None, "medium": value, "few": value, "all": value})

    journal = Journal(tmp_path / "journal.sqlite")
    config = SearchConfig(population=2, generations=2, explore=1, mutations=1, tune=1,
                          baselines=(("randaugment", text),), build_on_references=True)
    s = Search(journal, fitness, OfflineProposer(GeneticProgramming(SEEDS, 64)), config)
    assert s.run() == "done"
    [reference] = [c for c in journal.evaluated() if c.generation == -1]
    assert s.population_before(3)[0].id == reference.id
    children = [c for c in journal.all() if reference.id in c.parents]
    assert {"tune", "mutate"} <= {c.operator for c in children}  # tuned from, and bred from
    assert all(c.policy_name != "randaugment" for c in children)  # a child gets its own name


class Repeating:
    """A proposer that proposes the same policy every time."""
    name = "repeating"

    def start(self, operator, parents, seed):
        return Proposal("policy same\nper sample:\n    invert\n")

    follow_up = lambda self, kind, diagnostics, seed: self.start(None, [], seed)  # noqa: E731


def test_a_policy_is_never_evaluated_twice(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite")
    search = Search(journal, fake_fitness, Repeating(), SearchConfig(population=2, generations=0, repair_tries=1))
    search.run()
    assert [c.failure for c in journal.all()] == [None, "duplicate", "duplicate"]
    assert journal.evaluations() == 1


@pytest.mark.slow
@pytest.mark.parametrize("executor", [[], ["--executor", "ray", "--workers", "2"]], ids=["local", "ray"])
def test_resume_after_kill_loses_and_repeats_nothing(tmp_path, executor):
    if executor:
        pytest.importorskip("ray", reason="Ray is not installed: pip install 'autoda[ray]'")
    run = tmp_path / "run"
    command = [sys.executable, "-m", "autoda", "search", "--out", str(run), "--population", "4", "--generations", "1",
               "--explore", "1", "--mutations", "1", "--epochs", "6", "--e-ckp", "2", "--n-ft", "2",
               "--imb-ratio", "10", "--no-baselines", "--cache-dir", str(tmp_path / "cache")] + executor
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    journal_path = run / "journal.sqlite"
    deadline = time.time() + 240
    finished_before: list[tuple] = []
    while time.time() < deadline:
        time.sleep(0.2)
        if journal_path.exists():
            try:
                with sqlite3.connect(journal_path) as db:
                    finished_before = db.execute(
                        "SELECT id, policy_hash, fitness FROM candidates WHERE eval_seconds IS NOT NULL").fetchall()
            except sqlite3.Error:
                continue
            if len(finished_before) >= 2:
                break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert len(finished_before) >= 2, "the search did not get going"
    in_flight = [c.id for c in Journal(journal_path).in_flight()]  # killed mid-evaluation, most likely
    resumed = subprocess.run(command[:4] + ["--resume", str(run)], capture_output=True, text=True, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr
    journal = Journal(journal_path)
    finished_after = {(c.id, c.policy_hash, c.fitness) for c in journal.all() if c.eval_seconds is not None}
    assert set(finished_before) <= finished_after  # no finished evaluation lost or changed
    hashes = Counter(h for _, h, _ in finished_after)
    assert max(hashes.values()) == 1  # none evaluated again
    assert len(finished_after) == 6 and journal.in_flight() == []
    assert set(in_flight) <= {i for i, _, _ in finished_after}  # the one in flight was evaluated on resume
    assert (run / "best.dsl").exists() and (run / "summary.json").exists()


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_the_journal_and_summary_written(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "autoda", "search", "--out", str(run), "--population", "6", "--generations", "0",
               "--epochs", "6", "--e-ckp", "2", "--n-ft", "2", "--imb-ratio", "10", "--cache-dir", str(tmp_path / "c")]
    # SIGINT as a terminal delivers it: a suite started as a background job inherits it ignored
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    journal_path, deadline = run / "journal.sqlite", time.time() + 240
    while time.time() < deadline:
        time.sleep(0.2)
        if journal_path.exists() and Journal(journal_path).evaluations() >= 1:
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["outcome"] == "interrupted" and summary["evaluations"] >= 1
