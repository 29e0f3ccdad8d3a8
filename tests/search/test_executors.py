"""Where evaluations run: in this process, in local worker processes, or as Ray tasks on a
local Ray cluster the tests start (2 CPUs, usage statistics off). The same seeds give the
same numbers everywhere; a worker that dies is retried, then recorded as worker_lost."""
import os
import sys
from pathlib import Path

import pytest

from autoda.compiler import check_policy
from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.trainer import Recipe
from autoda.search.executors import BatchedLocalExecutor, EvaluationSpec, LocalExecutor, ProcessExecutor
from autoda.search.journal import Journal
from autoda.search.run import new_config, open_run, run_search
import crashing_tasks

ROOT = Path(__file__).parents[2]
POLICIES = [check_policy(ROOT / f"examples/policies/{name}.dsl") for name in ("cuda", "rank_scaled", "doda")]


def config(tmp_path, **executor):
    return new_config(proposer="offline", dataset="synthetic", data_root=None, download=False, imb_ratio=10,
                      method="ce", net="resnet8", batch_size=64, lr=0.05, seed=0, device="cpu",
                      cache_dir=str(tmp_path / "cache" / "data"), fitness_cache=str(tmp_path / "cache"), llm=None,
                      epochs=4, e_ckp=2, n_ft=1, executor=executor,
                      search={"population": 2, "generations": 1, "explore": 1, "mutations": 1, "seed": 0})


def search(tmp_path, name, **executor) -> list[tuple]:
    run = tmp_path / name
    journal, stored = open_run(run, config(tmp_path, **executor))
    try:
        outcome, _ = run_search(run, stored, journal, None, lambda progress, event: None)
    finally:
        journal.close()
    assert outcome == "done"
    rows = Journal(run / "journal.sqlite").all()
    return [(r.policy_hash, r.fitness, r.failure) for r in rows if r.eval_seconds is not None]


@pytest.fixture(scope="module")
def ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'autoda[ray]'")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def fitness(tmp_path_factory):
    """The tiny synthetic task, its evaluator (checkpoint trained once) and a worker spec."""
    cache = tmp_path_factory.mktemp("fitness")
    data_args = {"name": "synthetic", "imb_ratio": 10, "seed": 0, "synthetic_size": 16}
    data = load_dataset(**data_args)
    setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(4, batch_size=32, lr=0.05), 0, e_ckp=2, n_ft=1)
    evaluator = FitnessEvaluator(data, setup, cache)
    evaluator.checkpoint()
    return data, evaluator, EvaluationSpec(data_args, setup, str(cache), threads=1)


@pytest.mark.slow
def test_local_processes_and_ray_give_the_local_numbers(tmp_path, ray):
    local = search(tmp_path, "local", cpus_per_eval=1)
    assert len(local) == 4 and all(failure is None for _, _, failure in local)
    assert search(tmp_path, "processes", workers=2, cpus_per_eval=1) == local
    assert search(tmp_path, "ray", kind="ray", workers=2) == local


def run_all(executor, policies=POLICIES):
    for row, policy in enumerate(policies):
        executor.submit(row, policy)
    done = dict(executor.results(wait=True))
    assert executor.pending() == 0
    return [done[row] for row in range(len(policies))]


def test_ray_puts_the_checkpoint_and_data_into_the_object_store_once(fitness, ray, monkeypatch):
    from autoda.search.ray_executor import RayExecutor

    data, evaluator, spec = fitness
    puts = []
    original = ray.put
    monkeypatch.setattr(ray, "put", lambda value, **kw: puts.append(type(value).__name__) or original(value, **kw))
    executor = RayExecutor(spec, data, evaluator.checkpoint(), workers=2)
    try:
        results = run_all(executor, POLICIES[:2])
    finally:
        executor.close()
    assert all(r.ok for r in results)
    assert sorted(puts) == ["DataSplits", "dict"]  # once each, for two evaluations


def test_ray_retries_a_worker_killed_mid_evaluation(fitness, ray, tmp_path):
    import crashing_tasks
    from autoda.search.ray_executor import RayExecutor

    ray.cloudpickle.register_pickle_by_value(crashing_tasks)
    data, evaluator, spec = fitness
    marker = tmp_path / "attempts"
    executor = RayExecutor(spec, data, evaluator.checkpoint(), workers=1, retries=2,
                           task=crashing_tasks.crash_first_time(marker))
    try:
        [result] = run_all(executor, POLICIES[:1])
    finally:
        executor.close()
    assert marker.read_text() == "2"  # killed once, retried once
    expected = LocalExecutor(evaluator.evaluate, threads=1)
    expected.submit(0, POLICIES[0])
    assert result.ok and result.fitness == expected.results()[0][1].fitness


def test_ray_records_worker_lost_when_retries_run_out(fitness, ray):
    import crashing_tasks
    from autoda.search.ray_executor import RayExecutor

    ray.cloudpickle.register_pickle_by_value(crashing_tasks)
    data, evaluator, spec = fitness
    executor = RayExecutor(spec, data, evaluator.checkpoint(), workers=1, retries=1, task=crashing_tasks.always_crash)
    try:
        [lost] = run_all(executor, POLICIES[:1])
    finally:
        executor.close()
    assert (lost.ok, lost.failure) == (False, "worker_lost") and "after its retries" in lost.message


@pytest.mark.slow
def test_local_workers_replace_a_dead_worker_and_retry(fitness, tmp_path, monkeypatch):
    import crashing_tasks

    data, evaluator, spec = fitness
    marker = tmp_path / "attempts"
    monkeypatch.setenv("AUTODA_TEST_MARKER", str(marker))
    executor = ProcessExecutor(spec, workers=1, retries=2, task=crashing_tasks.crash_first_time_local)
    try:
        [result] = run_all(executor, POLICIES[:1])
    finally:
        executor.close()
    assert marker.read_text() == "2" and result.ok
    expected = LocalExecutor(evaluator.evaluate, threads=1)
    expected.submit(0, POLICIES[0])
    assert result.fitness == expected.results()[0][1].fitness


def test_closing_local_workers_ends_an_evaluation_in_flight(fitness, tmp_path, monkeypatch):
    """A search stopped mid-evaluation (Ctrl-C, SIGTERM) has the evaluation in its journal as
    in flight; its worker must not go on alone, nor hold the driver's exit until it ends."""
    import time

    _, _, spec = fitness
    marker = tmp_path / "worker"
    monkeypatch.setenv("AUTODA_TEST_MARKER", str(marker))
    executor = ProcessExecutor(spec, workers=1, task=crashing_tasks.sleep_in_worker)
    executor.submit(0, POLICIES[0])
    deadline = time.time() + 120
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.1)
    pid = int(marker.read_text())
    started = time.time()
    executor.close()
    assert time.time() - started < 15
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]


SECRET = crashing_tasks.SECRET


def secret_environment(monkeypatch):
    from autoda import secrets

    monkeypatch.setattr(secrets, "_active", secrets.Redactor([SECRET]))
    for name, value in {"OPENAI_API_KEY": SECRET, "OTHER_API_KEY": "other", "HF_TOKEN": "token",
                        "HTTPS_PROXY": "http://user:pass@proxy:3128", "AUTODA_TEST_KEY_HINT": SECRET[3:]}.items():
        monkeypatch.setenv(name, value)


def test_local_workers_start_without_secrets_in_their_environment(fitness, monkeypatch):
    import json

    import crashing_tasks

    secret_environment(monkeypatch)
    monkeypatch.setattr("sys.argv", ["autoda", "search", "--api-key", SECRET])  # as `--api-key KEY` leaves it
    data, evaluator, spec = fitness
    executor = ProcessExecutor(spec, workers=1, retries=0, task=crashing_tasks.report_environment)
    try:
        [result] = run_all(executor, POLICIES[:1])
    finally:
        executor.close()
    assert json.loads(result.message) == {"names": [], "key_in_environ": False, "key_at_start": False,
                                          "key_in_argv": False}
    assert os.environ["OPENAI_API_KEY"] == SECRET and SECRET in sys.argv  # the driver keeps its own


RAY_SCRIPT = """
import json, sys
import crashing_tasks, ray
from autoda import secrets
from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.trainer import Recipe
from autoda.search.executors import EvaluationSpec
from autoda.search.ray_executor import RayExecutor
from test_executors import POLICIES, SECRET

secrets.protect(SECRET)
ray.cloudpickle.register_pickle_by_value(crashing_tasks)
data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(4, batch_size=32, lr=0.05), 0, e_ckp=2, n_ft=1)
spec = EvaluationSpec({}, setup, sys.argv[1], threads=1)
executor = RayExecutor(spec, data, {}, workers=1, task=lambda s, d, c, text, g: crashing_tasks.report_environment(text))
try:
    executor.submit(0, POLICIES[0])
    [(_, result)] = executor.results(wait=True)
finally:
    executor.close()
print(result.message)
"""


@pytest.mark.slow
def test_ray_tasks_see_no_secrets(tmp_path, monkeypatch):
    """A local cluster started for the run (a fresh process: Ray copies the environment as
    it starts) and its tasks hold no key, token or proxy."""
    import json
    import subprocess
    import sys

    pytest.importorskip("ray", reason="Ray is not installed: pip install 'autoda[ray]'")
    secret_environment(monkeypatch)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", RAY_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"names": [], "key_in_environ": False, "key_at_start": False, "key_in_argv": False}


def test_ray_only_options_need_the_ray_executor(tmp_path):
    from click.testing import CliRunner

    from autoda.cli import cli

    result = CliRunner().invoke(cli, ["search", "--gpus-per-eval", "0.5", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--gpus-per-eval and --ray-address are for --executor ray" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_packed_evaluations_give_the_local_numbers(tmp_path):
    local = search(tmp_path, "local", cpus_per_eval=1)
    packed = search(tmp_path, "packed", cpus_per_eval=1, eval_batch=4)
    assert [h for h, _, _ in packed] == [h for h, _, _ in local]  # one row per candidate, the same candidates
    assert [f for _, f, _ in packed] == pytest.approx([f for _, f, _ in local], abs=0.01)


def test_the_batched_executor_packs_k_of_one_fidelity_and_seed():
    calls = []

    def evaluate_many(policies, **fidelity):
        calls.append((list(policies), fidelity))
        return [f"result {p}" for p in policies]

    executor = BatchedLocalExecutor(evaluate_many, 2)
    executor.submit(0, "a")
    assert executor.results() == [] and executor.pending() == 1
    executor.submit(1, "b", seed=5)  # another seed: another batch
    assert executor.results() == []
    executor.submit(2, "c")
    assert executor.results() == [(0, "result a"), (2, "result c")] and executor.pending() == 1
    assert executor.results(wait=True) == [(1, "result b")] and executor.pending() == 0
    assert calls == [(["a", "c"], {}), (["b"], {"seed": 5})]


def test_packing_is_for_one_local_worker(tmp_path):
    from click.testing import CliRunner

    from autoda.cli import cli

    result = CliRunner().invoke(cli, ["search", "--eval-batch", "4", "--workers", "2", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--eval-batch packs candidates in this process" in result.output


@pytest.mark.parametrize(("given", "default", "packed"), [(None, 16, 16), (None, 1, None), (4, 1, 4), (1, 16, None)])
def test_one_local_worker_packs_what_the_evaluator_suggests_unless_told(given, default, packed):
    """--eval-batch not given: the evaluator's default (16 on a GPU where the network packs,
    else 1); given: that, 1 included."""
    from autoda.search.config import ExecutorConfig
    from autoda.search.run import make_executor

    class Evaluator:
        def default_eval_batch(self):
            return default

        def evaluate(self, *args, **kwargs):
            raise AssertionError("not called here")

        evaluate_many = evaluate

    executor = make_executor(ExecutorConfig(eval_batch=given), {}, None, Evaluator())
    if packed is None:
        assert isinstance(executor, LocalExecutor)
    else:
        assert isinstance(executor, BatchedLocalExecutor) and executor.k == packed
