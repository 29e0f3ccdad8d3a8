"""`--tensorboard DIR` on `autoda train` and `autoda search`: the event files read back with
TensorBoard's own reader hold the scalars the run printed and journaled. Without the
tensorboard package (CI installs `.[test,ray]` only) those tests skip; the usage error that
names the extra is tested everywhere."""
import json
import sys

import pytest
from click.testing import CliRunner

from autoda.cli import cli
from autoda.search.journal import Journal


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="the tensorboard package is not installed: pip install 'autoda[tensorboard]'")
    events = accumulator.EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.fixture
def with_tensorboard():
    pytest.importorskip("tensorboard", reason="the tensorboard package is not installed: "
                                              "pip install 'autoda[tensorboard]'")


def test_train_writes_its_epochs_and_validation(tmp_path, with_tensorboard):
    metrics = tmp_path / "metrics.json"
    result = run("train", "--epochs", "3", "--imb-ratio", "10", "--tensorboard", tmp_path / "tb", "--metrics-out",
                 metrics)
    assert result.exit_code == 0, result.output
    found, record = scalars(tmp_path / "tb"), json.loads(metrics.read_text())
    log = record["epochs_log"]
    for tag, key in (("train/loss", "loss"), ("train/accuracy", "train_acc"), ("train/lr", "lr"),
                     ("train/images_per_second", "images_per_second")):
        assert [step for step, _ in found[tag]] == [1, 2, 3]
        assert [value for _, value in found[tag]] == pytest.approx([e[key] for e in log], rel=1e-6)
    assert found["val/accuracy"] == [(3, pytest.approx(record["all"], rel=1e-6))]
    assert "val/many" not in found or found["val/many"][0][1] == pytest.approx(record["many"], rel=1e-6)


def test_search_writes_each_evaluation(tmp_path, with_tensorboard):
    folder = tmp_path / "run"
    result = run("search", "--out", folder, "--population", "2", "--generations", "1", "--explore", "1",
                 "--mutations", "1", "--epochs", "4", "--e-ckp", "1", "--n-ft", "1", "--imb-ratio", "10",
                 "--cache-dir", tmp_path / "cache", "--tensorboard", tmp_path / "tb")
    assert result.exit_code == 0, result.output
    found = scalars(tmp_path / "tb")
    journal = Journal(folder / "journal.sqlite", read_only=True)
    try:
        evaluations = [e for e in journal.records() if e.status != "evaluating"]
        failures = journal.failures()
    finally:
        journal.close()
    summary = json.loads((folder / "summary.json").read_text())
    assert [step for step, _ in found["search/failures"]] == list(range(1, len(evaluations) + 1))
    ok = [(step, e.fitness) for step, e in enumerate(evaluations, 1) if e.ok]
    assert found["search/fitness"] == [(step, pytest.approx(value, rel=1e-6)) for step, value in ok]
    assert found["search/best"][-1] == (len(evaluations), pytest.approx(summary["best"]["fitness"], rel=1e-6))
    assert found["search/failures"][-1][1] == failures


def test_without_tensorboard_it_is_a_usage_error_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the package were missing
    for command in (["train", "--epochs", "1"], ["search", "--out", tmp_path / "run"]):
        result = run(*command, "--tensorboard", tmp_path / "tb")
        assert result.exit_code == 2, result.output
        assert "pip install 'autoda[tensorboard]'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "tb").exists() and not (tmp_path / "run").exists()
