import json

import pytest

from autoda.experiment import Experiment, ExperimentError, run_experiment
from bounded import run_bounded


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
    ('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none"]\nbase = "papers"\n',
     "'base' must be one of standard, paper, none"),
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


def test_a_whole_number_is_the_same_configuration_as_int_or_float():
    """A TOML file gives imb_ratio 100, an option 100.0: cells made by one are read back by
    the other (autoda verify reuses an experiment's cells)."""
    given = dict(dataset="synthetic", methods=("ce",), policies=("none",))
    assert Experiment(**given, imb_ratio=100).fingerprint() == Experiment(**given, imb_ratio=100.0).fingerprint()
    assert Experiment(**given, imb_ratio=100).fingerprint() != Experiment(**given, imb_ratio=100.5).fingerprint()


def test_the_base_is_part_of_the_configuration_and_the_standard_one_keeps_earlier_cells():
    given = dict(dataset="synthetic", methods=("ce",), policies=("none",))
    assert Experiment(**given, base="standard").fingerprint() == "aaaba6e645b2c269"  # as before the key existed
    assert Experiment(**given, base="paper").fingerprint() != Experiment(**given).fingerprint()


@pytest.mark.slow
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


def test_a_policy_that_does_not_check_stops_the_run_before_any_cell_trains(tmp_path):
    import autoda
    (tmp_path / "bad.dsl").write_text("policy p\nper sample:\n    rotat(0.2)\n")
    config = write(tmp_path, 'dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none", "bad.dsl"]\n'
                             'seeds = [0]\nepochs = 1\n')
    statuses = []
    with pytest.raises(autoda.PolicyError, match=r"bad.dsl:3:5: error\[N002\]"):
        run_experiment(Experiment.load(config), tmp_path / "out", "cpu",
                       on_cell=lambda name, status: statuses.append(status))
    assert statuses == []  # `none` came first in the grid, and did not train


@pytest.mark.parametrize("damage", ['{"fingerprint": ', "[1, 2]", "\udcff"], ids=["truncated", "a list", "not utf-8"])
def test_a_damaged_cell_file_runs_the_cell_again(tmp_path, damage):
    config = write(tmp_path, 'dataset = "synthetic"\nimb_ratio = 10\nmethods = ["ce"]\npolicies = ["none"]\n'
                             'seeds = [0]\nepochs = 1\n')
    experiment, out = Experiment.load(config), tmp_path / "out"
    first = run_experiment(experiment, out, "cpu")
    cell = out / "cells" / "ce__none__seed0.json"
    cell.write_bytes(damage.encode("utf-8", "surrogateescape"))
    statuses = []
    again = run_experiment(experiment, out, "cpu", on_cell=lambda name, status: statuses.append(status))
    assert "running" in statuses and again[0]["val"] == first[0]["val"]
    assert json.loads(cell.read_text())["policy"] == "none"  # replaced by a good one


@pytest.mark.parametrize("body,message", [
    ('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none"]\nepochs = "ten"\n', "'epochs' must be a whole number >= 1"),
    ('dataset = "synthetic"\nmethods = "ce"\npolicies = ["none"]\n', "'methods' must be a list of strings"),
    ('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none"]\nseeds = [0, true]\n', "'seeds' must be a list of whole"),
    ('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none"]\nimb_ratio = nan\n', "'imb_ratio' must be a number >= 1"),
    ('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none"]\nlr = -1\n', "'lr' must be a number > 0"),
    ('dataset = 3\nmethods = ["ce"]\npolicies = ["none"]\n', "'dataset' must be a string"),
])
def test_values_of_the_wrong_type_say_which_key(tmp_path, body, message):
    with pytest.raises(ExperimentError, match=message):
        Experiment.load(write(tmp_path, body))


def test_a_config_that_is_not_utf8_or_not_a_file_is_a_clear_error(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_bytes('dataset = "synth\xe9tic"\n'.encode("latin-1"))
    with pytest.raises(ExperimentError, match=r"not UTF-8 text \(byte 0xe9 at offset 16\)"):
        Experiment.load(path)
    code = ("from autoda.experiment import Experiment, ExperimentError\n"
            "try:\n    Experiment.load('/dev/zero')\nexcept ExperimentError as error:\n    print(error)\n")
    result = run_bounded(code, imports="autoda.experiment")  # before: a read without end
    assert result.stdout.strip() == "cannot read /dev/zero: a character device, not a regular file", result.stderr


@pytest.mark.parametrize("body,message", [
    ("seeds = [10000000000000000000000000000]\n", "'seeds' must be a list of whole numbers in"),
    ("data_seed = -100000000000000000000\n", "'data_seed' must be a whole number in"),
    ("lr = 1e300\n", "'lr' must be a number > 0 and <= 1000"),
    ("epochs = 2000000000\n", "'epochs' must be a whole number >= 1 and <= 10000"),
])
def test_numbers_past_what_training_takes_say_which_key(tmp_path, body, message):
    """Each reached torch as it stood: an overflow in a generator's seed, a learning rate
    float32 cannot hold, a schedule past the class statistics' bound."""
    with pytest.raises(ExperimentError, match=message):
        Experiment.load(write(tmp_path, 'dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none"]\n' + body))
