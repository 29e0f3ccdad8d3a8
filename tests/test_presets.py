"""--preset NAME: a named regime's data, network and schedule as a command's defaults; what
the command line gives wins, and a preset whose data is not there is one usage line."""
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from autoda.cli import cli
from autoda.engine.train.data import load_dataset, longtail_counts
from autoda.experiment import Experiment
from autoda.presets import PRESET_NAMES, PRESETS

ROOT = Path(__file__).parents[1]
CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def run(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("command", ["train", "search", "verify"])
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_option_is_a_parameter_of_the_command_and_a_value_it_takes(name, command):
    """A default_map key that names no parameter is silently dropped by click: the preset
    would then not set what it says. Each value also passes the parameter's own type."""
    cmd = cli.commands[command]
    params = {p.name: p for p in cmd.params}
    ctx = click.Context(cmd)
    options = PRESETS[name].options(command)
    assert {"dataset", "data_root", "net", "epochs"} <= set(options)
    for key, value in options.items():
        assert key in params, f"{name} sets {key!r}, which `autoda {command}` has no parameter for"
        cast = params[key].type_cast_value(ctx, value)
        assert cast == value, f"{name}'s {key}={value!r} is {cast!r} to `autoda {command}`"


def test_options_of_a_command_without_presets_is_a_key_error():
    with pytest.raises(KeyError):
        PRESETS[PRESET_NAMES[0]].options("compile")


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_the_experiment_configuration_loads_and_matches_the_train_options(name):
    preset = PRESETS[name]
    experiment = Experiment.from_dict(preset.experiment_config())
    train = preset.options("train")
    assert {"dataset", "data_root", "net", "epochs", "batch_size", "lr"} <= set(train)
    for key, value in train.items():  # split files and image size too, where a preset reads them
        assert getattr(experiment, key) == value, key
    assert experiment.max_per_class == train.get("max_per_class")
    assert experiment.seeds == preset.seeds and experiment.methods == preset.methods
    assert experiment.policies == preset.policies and experiment.select == "last"


@pytest.mark.parametrize("name,extra,cap", [
    ("cifar10-lt-small", [], 500),  # the preset's cap, recorded (synthetic holds 100 a class)
    ("cifar10-lt", ["--max-per-class", "10"], 10),  # the option given wins over the preset's none
])
def test_options_given_override_the_preset_and_the_rest_come_from_it(tmp_path, name, extra, cap):
    out = tmp_path / "metrics.json"
    result = run("train", "--preset", name, "--dataset", "synthetic", "--data-root", str(tmp_path),
                 "--imb-ratio", "10", "--epochs", "1", *extra, "--metrics-out", str(out),
                 "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["dataset"] == "synthetic" and metrics["imb_ratio"] == 10 and metrics["epochs"] == 1  # given
    assert metrics["net"] == PRESETS[name].training["net"] != "auto"  # the preset's, where not given
    assert metrics["max_per_class"] == cap and metrics["recipe"]["batch_size"] == PRESETS[name].training["batch_size"]
    assert metrics["train_counts"] == longtail_counts(10, min(cap, 100), 10)


@pytest.mark.parametrize("args", [
    ["train", "--preset", "cifar10-lt-small", "--epochs", "1"],
    ["search", "--preset", "cifar10-lt-small", "--max-evals", "1"],
    ["verify", "somewhere", "--preset", "cifar10-lt"],
    ["experiment", "--preset", "cifar10-lt-small"],
])
def test_a_preset_whose_archive_is_not_there_is_one_usage_line(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the archive is found relative to where autoda runs
    monkeypatch.delenv("AUTODA_MODEL", raising=False)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "reads CIFAR-10 from ../shared/data/cifar10-jpg.tar.gz" in result.stderr
    assert "--data-root" in result.stderr and "Traceback" not in result.output
    assert not any(tmp_path.iterdir())  # nothing made: no run folder, no experiment folder


def test_search_with_a_preset_and_resume_is_a_usage_error(tmp_path):
    result = run("search", "--preset", "cifar10-lt-small", "--resume", str(tmp_path))
    assert result.exit_code == 2 and "a resumed run keeps its own settings" in result.stderr


def test_experiment_takes_a_config_or_a_preset_not_both_nor_neither(tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["none"]\nseeds = [0]\nepochs = 1\n')
    for args in ([], [str(config), "--preset", "cifar10-lt-small"]):
        result = run("experiment", *args)
        assert result.exit_code == 2 and "give a CONFIG file or --preset NAME" in result.stderr, result.output
    assert not (tmp_path / "grid").exists()


@pytest.mark.slow
@pytest.mark.skipif(not CIFAR.exists(), reason=f"the CIFAR-10 archive is not at {CIFAR}")
def test_the_small_presets_data_is_the_1236_images_it_says(monkeypatch):
    """The archive path is relative to the repository root, where the presets are run."""
    monkeypatch.chdir(ROOT)
    options = PRESETS["cifar10-lt-small"].options("train")
    data = load_dataset(options["dataset"], options["data_root"], options["imb_ratio"], 0,
                        max_per_class=options["max_per_class"])
    assert data.train.counts().tolist() == longtail_counts(10, 500, 100) == [500, 299, 179, 107, 64, 38, 23, 13, 8, 5]
    assert data.sizes() == {"train": 1236, "val": 5000, "test": 5000}
    assert "1,236 train" in PRESETS["cifar10-lt-small"].summary


@pytest.mark.parametrize("method,extra,fitness", [
    ("ce", [], (80, 85)),  # the preset's fitness for CE
    ("bs", [], (140, 25)),  # and for every other method
    ("ce", ["--n-ft", "30"], (80, 30)),  # what the command line gives wins
])
def test_a_preset_search_takes_the_fitness_its_method_needs(method, extra, fitness, tmp_path, monkeypatch):
    import autoda.cli as cli_module

    made = {}

    def stop(run_dir, config):  # the run's configuration is made: stop before any training
        made["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr(cli_module, "_open_run", stop)
    result = run("search", "--preset", "cifar10-lt-small", "--method", method, "--dataset", "synthetic",
                 "--data-root", str(tmp_path), "--out", str(tmp_path / "run"), *extra)
    assert result.exit_code == 0, result.output
    training = made["config"].training
    assert (training.e_ckp, training.n_ft) == fitness
    assert made["config"].search.max_time == PRESETS["cifar10-lt-small"].search["max_time"]


@pytest.mark.slow
def test_a_table1_preset_runs_at_toy_size_on_the_paper_base_beside_the_published_numbers(tmp_path):
    """The CIFAR-100-LT preset's grid, shrunk (synthetic data, one method, 2 epochs, one
    seed), with a searched row added: every cell trains on the paper's base, and the table
    gives the paper's number beside the rows it publishes one for."""
    from autoda.experiment import run_experiment
    from autoda.report.tables import markdown, rows

    (tmp_path / "best.dsl").write_text("policy found\nper sample:\n    rotate(0.3) with probability 0.5\n")
    config = {**PRESETS["table1-cifar100-lt-100"].experiment_config(), "dataset": "synthetic", "net": "resnet8",
              "epochs": 2, "batch_size": 64, "methods": ["ce"], "seeds": [0]}
    config["policies"] += [f"searched={tmp_path / 'best.dsl'}"]
    experiment = Experiment.from_dict(config, tmp_path / "grid.toml")
    assert experiment.base == "paper"
    assert experiment.published == {"ce/none": 40.1, "ce/searched": 45.0, "bcl/none": 44.2, "bcl/searched": 51.0}
    assert PRESETS["table1-cifar100-lt-100"].methods == ("ce", "ce-drw", "ldam-drw", "bs", "ride", "bcl")
    results = run_experiment(experiment, tmp_path / "out", "cpu")
    assert [r["policy"] for r in results] == ["none", "cuda", "doda", "searched"]
    assert json.loads((tmp_path / "out" / "experiment.json").read_text())["base"] == "paper"
    table = markdown(rows(results, published=experiment.published))
    assert "| paper (all) |" in table.splitlines()[0]
    lines = {line.split(" | ")[1]: line for line in table.splitlines()[2:]}
    assert lines["none"].endswith("| 40.10 |") and lines["searched"].endswith("| 45.00 |")
    assert lines["cuda"].endswith("| - |")
