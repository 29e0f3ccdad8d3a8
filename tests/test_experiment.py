import json

import pytest

from autoda.experiment import Experiment, ExperimentError, run_experiment
from autoda.tables import csv_text, markdown, rows


def result(method, policy, seed, all_, few=None):
    summary = {"many": None, "medium": all_, "few": few, "all": all_}
    return {"method": method, "policy": policy, "seed": seed, "test": summary, "val": summary}


def test_rows_average_over_seeds_and_gain_over_the_methods_none_row():
    results = [result("ce", "none", 0, 0.50), result("ce", "none", 1, 0.60),
               result("ce", "cuda", 0, 0.62, few=0.2), result("ce", "cuda", 1, 0.66, few=0.4),
               result("bs", "cuda", 0, 0.70)]
    table = rows(results)
    ce_none, ce_cuda, bs_cuda = table
    assert ce_none["all"] == pytest.approx(0.55) and ce_none["all_std"] == pytest.approx(0.0707107, rel=1e-5)
    assert ce_cuda["gain"] == pytest.approx(0.09) and ce_cuda["few"] == pytest.approx(0.3)
    assert ce_none["many"] is None and bs_cuda["gain"] is None  # no bs none row to compare with
    text = markdown(table)
    assert "| ce | cuda | 2 | - | 64.00 ± 2.83 | 30.00 ± 14.14 | 64.00 ± 2.83 | +9.00 |" in text
    assert csv_text(table).splitlines()[0].startswith("method,policy,seeds,many,many_std")


def write(tmp_path, body: str):
    path = tmp_path / "grid.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("body,message", [
    ('dataset = "synthetic"\nmethods = ["ce"]\n', "'policies' is required"),
    ('dataset = "mnist"\nmethods = ["ce"]\npolicies = ["none"]\n', "dataset 'mnist'"),
    ('dataset = "synthetic"\nmethods = ["focal"]\npolicies = ["none"]\n', "method 'focal'"),
    ('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["nothing.dsl"]\n', "neither an example"),
    ('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none"]\nepoch = 3\n', "unknown keys epoch"),
    ('dataset = synthetic\n', "not valid TOML"),
])
def test_bad_configurations_say_what_is_wrong(tmp_path, body, message):
    with pytest.raises(ExperimentError, match=message):
        Experiment.load(write(tmp_path, body))


def test_policy_files_are_relative_to_the_config(tmp_path):
    (tmp_path / "mine.dsl").write_text("policy mine\nper sample:\n    invert with probability 0.1\n")
    experiment = Experiment.load(write(tmp_path, 'dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["mine.dsl"]\n'))
    assert experiment.policy_text("mine.dsl")[0] == "mine"
    for best in ("best.dsl", "best.py"):  # a search's best policy is named after its run folder
        (tmp_path / "run7").mkdir(exist_ok=True)
        (tmp_path / "run7" / best).write_text("anything")
        assert experiment.policy_text(f"run7/{best}")[0] == "run7"


def test_an_experiment_resumes_cell_by_cell(tmp_path):
    config = write(tmp_path, 'dataset = "synthetic"\nimb_ratio = 10\nmethods = ["ce"]\n'
                             'policies = ["none", "rank_scaled"]\nseeds = [0]\nepochs = 2\n')
    experiment, out = Experiment.load(config), tmp_path / "out"
    statuses = []
    first = run_experiment(experiment, out, "cpu", on_cell=lambda name, status: statuses.append((name, status)))
    cell = json.loads((out / "cells" / "ce__none__seed0.json").read_text())
    for key in ("seed", "device", "torch", "split_sizes", "selected_epoch", "val", "test", "policy_hash"):
        assert key in cell
    assert 0 <= cell["selected_epoch"] < 2 and cell["test"]["all"] is not None
    (out / "cells" / "ce__rank_scaled__seed0.json").unlink()
    statuses.clear()
    again = run_experiment(experiment, out, "cpu", on_cell=lambda name, status: statuses.append((name, status)))
    assert ("ce__none__seed0", "done before") in statuses and ("ce__rank_scaled__seed0", "running") in statuses
    assert again[0] == first[0]
    (tmp_path / "mine.dsl").write_text("policy mine\nper sample:\n    invert with probability 0.1\n")
    with_file = Experiment.load(write(tmp_path, config.read_text().replace('"rank_scaled"', '"mine.dsl"')))
    run_experiment(with_file, out, "cpu")
    (tmp_path / "mine.dsl").write_text("policy mine\nper sample:\n    invert with probability 0.2\n")  # edited
    statuses.clear()
    run_experiment(with_file, out, "cpu", on_cell=lambda name, status: statuses.append((name, status)))
    assert ("ce__none__seed0", "done before") in statuses and ("ce__mine__seed0", "running") in statuses
    longer = Experiment.load(write(tmp_path, config.read_text().replace("epochs = 2", "epochs = 3")))
    statuses.clear()
    run_experiment(longer, out, "cpu", on_cell=lambda name, status: statuses.append((name, status)))
    assert [s for _, s in statuses].count("running") == 2  # another configuration: every cell again
