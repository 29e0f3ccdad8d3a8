"""SIGTERM, as a cluster scheduler stops a job, winds a search down as Ctrl-C does: the
journal, summary.json and best.dsl written, the evaluation workers ended, the run
resumable; the exit status is 143 (128 + 15), Ctrl-C's 130 (tests/search/test_offline_search.py)."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoda.search.journal import Journal

ROOT = Path(__file__).parents[2]


def finished_evaluations(journal: Path) -> int:
    try:
        with sqlite3.connect(journal) as db:
            return db.execute("SELECT COUNT(*) FROM evaluations e JOIN candidates c ON c.id = e.candidate "
                              "WHERE e.status != 'evaluating' AND c.generation >= 0").fetchone()[0]
    except sqlite3.Error:  # not made yet, or no table yet
        return 0


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_sigterm_writes_summary_and_best_ends_the_workers_and_resumes(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "autoda", "search", "--out", str(run), "--population", "6", "--generations", "4",
               "--epochs", "6", "--e-ckp", "2", "--n-ft", "2", "--imb-ratio", "10", "--no-baselines",
               "--workers", "2", "--cpus-per-eval", "1", "--cache-dir", str(tmp_path / "cache")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None and finished_evaluations(run / "journal.sqlite") < 1:
        time.sleep(0.2)
    workers = children(process.pid)
    process.send_signal(signal.SIGTERM)  # to the driver alone, as `kill PID` or a scheduler's stop does
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == f"interrupted; the journal is written: continue with --resume {run}"
    assert "Traceback" not in stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["outcome"] == "interrupted" and summary["evaluations"] >= 1 and summary["best"] is not None
    assert (run / "best.dsl").read_text().startswith(f"# best of {run.name}")
    assert len(workers) >= 2  # the two evaluation workers (and multiprocessing's resource tracker)
    gone_by = time.time() + 10
    while time.time() < gone_by and any(map(alive, workers)):
        time.sleep(0.2)
    assert not [pid for pid in workers if alive(pid)], "a worker outlived the search"

    finished = {(e.id, e.fitness) for e in Journal(run / "journal.sqlite", read_only=True).records()
                if e.status != "evaluating"}
    resumed = subprocess.run(command[:4] + ["--resume", str(run), "--max-evals", str(len(finished) + 2)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    after = {(e.id, e.fitness) for e in Journal(run / "journal.sqlite", read_only=True).records()
             if e.status != "evaluating"}
    assert finished < after  # nothing finished lost, and the search went on


@pytest.mark.slow
def test_a_ray_cluster_started_for_the_run_leaves_sigterm_to_autoda():
    """ray.init makes SIGTERM exit at once; the executor puts autoda's handler back."""
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'autoda[ray]'")
    code = ("import signal\n"
            "from autoda.search.executors import EvaluationSpec\n"
            "from autoda.search.ray_executor import RayExecutor\n"
            "from autoda.stopping import sigterm_as_interrupt\n"
            "with sigterm_as_interrupt():\n"
            "    mine = signal.getsignal(signal.SIGTERM)\n"
            "    executor = RayExecutor(EvaluationSpec({}, None, None, 1), None, {}, workers=1)\n"
            "    try:\n"
            "        print(signal.getsignal(signal.SIGTERM) is mine)\n"
            "    finally:\n"
            "        executor.close()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=180,
                            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
