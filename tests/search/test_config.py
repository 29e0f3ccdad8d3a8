"""The typed run configuration: its JSON round trip, configurations as earlier versions
stored them, the checks a new run and a stored one meet, and what --resume may change."""
import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from autoda.cli import cli
from autoda.search.config import (ConfigError, DataConfig, ExecutorConfig, RunConfig, SearchConfig, TrainingConfig,
                                  UntrustedEndpoint)
from autoda.search.llm import LLMSettings

# What `autoda search --seed 3` stored before the configuration was typed (its summary.json's
# "config"): the stored form, key for key and in this order, is a file format.
STORED = {"proposer": "offline", "dataset": "synthetic", "data_root": None, "download": False, "imb_ratio": 100.0,
          "method": "ce", "net": "resnet8", "batch_size": 128, "lr": 0.1, "seed": 3, "device": "cpu",
          "cache_dir": "/cache/data", "fitness_cache": "/cache", "llm": None, "epochs": 20, "e_ckp": 10, "n_ft": 4,
          "search": {"strategy": "evolve", "population": 4, "parents": 2, "explore": 2, "mutations": 2,
                     "generations": 2, "repair_tries": 2, "max_evals": None, "max_time": None, "max_tokens": None,
                     "seed": 3, "max_cost": 64.0, "policy_lang": "dsl", "baselines": []}}

# The first version's layout: no policy_lang, no executor, an LLM with its model and base URL only
FIRST_VERSION = {**STORED, "proposer": "llm", "llm": {"model": "gpt-4o-mini", "base_url": None},
                 "search": {k: v for k, v in STORED["search"].items() if k != "policy_lang"}}


def a_config(**changes) -> RunConfig:
    return replace(RunConfig.from_dict(STORED), **changes)


def test_the_stored_form_is_the_one_earlier_versions_wrote():
    config = RunConfig.from_dict(STORED)
    assert json.dumps(config.to_dict()) == json.dumps(STORED)
    assert config.training == TrainingConfig(net="resnet8", seed=3, fitness_cache="/cache")
    assert config.data == DataConfig(imb_ratio=100.0, cache_dir="/cache/data")
    assert config.search.seed == 3 and config.executor == ExecutorConfig() and config.llm is None


def test_a_base_other_than_the_standard_one_is_stored_and_read_back():
    config = replace(RunConfig.from_dict(STORED), training=replace(RunConfig.from_dict(STORED).training, base="paper"))
    stored = json.loads(json.dumps(config.to_dict()))
    assert stored["base"] == "paper" and RunConfig.from_dict(stored).training.base == "paper"
    assert "missing or bad: base" in str(pytest.raises(ConfigError, RunConfig.from_dict, {**stored, "base": "x"}).value)


def test_the_json_round_trip_keeps_every_section():
    config = a_config(proposer="llm", llm=LLMSettings("m", "http://127.0.0.1:9/v1", "sk-not-stored", timeout=30),
                      executor=ExecutorConfig(kind="ray", workers=3, gpus_per_eval=0.5),
                      search=replace(a_config().search, baselines=(("none", "policy none\n"),), max_time=60.0))
    stored = json.loads(json.dumps(config.to_dict()))
    assert "sk-not-stored" not in json.dumps(stored) and config.llm.api_key is None
    assert RunConfig.from_dict(stored) == config


def test_a_configuration_of_the_first_version_reads_with_defaults():
    config = RunConfig.from_dict(json.loads(json.dumps(FIRST_VERSION)))
    assert config.search.policy_lang == "dsl" and config.executor == ExecutorConfig()
    assert config.llm == LLMSettings("gpt-4o-mini")  # the settings it did not write: today's defaults
    unknown = {**STORED, "from_a_newer_version": 1, "search": {**STORED["search"], "newer": True}}
    assert RunConfig.from_dict(unknown) == RunConfig.from_dict(STORED)  # keys this version does not know: left out


@pytest.mark.parametrize("stored,message", [
    ("not a dict", "no readable run configuration"),
    ({**STORED, "net": "evil"}, "missing or bad: net"),
    ({k: v for k, v in STORED.items() if k != "epochs"}, "missing or bad: epochs"),
    ({**STORED, "e_ckp": 20}, "e_ckp (not below epochs)"),
    ({**STORED, "executor": {"workers": 0}}, "executor.workers"),
    ({**STORED, "llm": {"base_url": "http://x"}}, "llm"),
    ({**STORED, "llm": {"model": "m", "timeout": "slow"}}, "llm"),
    ({**STORED, "search": {**STORED["search"], "population": "many"}}, "stored search settings are damaged"),
])
def test_a_damaged_stored_configuration_is_one_message(stored, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunConfig.from_dict(stored)
    assert RunConfig.read(stored) is None


@pytest.mark.parametrize("changes,message", [
    ({"proposer": "llm"}, "--proposer llm needs --llm-model"),
    ({"search": SearchConfig(policy_lang="python")}, "--policy-lang python needs an LLM"),
    ({"training": TrainingConfig(epochs=5, e_ckp=5)}, "--e-ckp must be below --epochs"),
    ({"data": DataConfig(dataset="folder", data_root="/nowhere/at/all")}, "no such file or folder"),
    ({"training": TrainingConfig(device="xpu")}, "bad settings: device"),
    ({"search": SearchConfig(population=-1)}, "population is -1"),
])
def test_validate_words_each_rule_as_the_command_line(changes, message):
    a_config().validate()
    with pytest.raises(ConfigError, match=message):
        a_config(**changes).validate()


def test_overrides_replace_budgets_and_executor_options():
    config = a_config().with_overrides(budgets={"max_evals": 7, "max_time": None},
                                       executor={"workers": 2, "kind": None})
    assert config.search.max_evals == 7 and config.search.max_time is None and config.search.population == 4
    assert config.executor == ExecutorConfig(workers=2)
    with pytest.raises(ConfigError, match="--gpus-per-eval and --ray-address are for --executor ray"):
        a_config().with_overrides(executor={"gpus_per_eval": 0.5})
    ray = a_config().with_overrides(executor={"kind": "ray", "gpus_per_eval": 0.5})
    assert ray.executor.kind == "ray" and ray.executor.gpus_per_eval == 0.5


def test_a_stored_endpoint_is_used_only_when_named_again():
    llm_run = a_config(proposer="llm", llm=LLMSettings("m", "http://stored.example/v1"))
    with pytest.raises(UntrustedEndpoint, match="resume with --base-url"):
        llm_run.with_overrides(has_key=True)
    llm_run.with_overrides(has_key=True, base_url="http://named.example/v1")
    llm_run.with_overrides(has_key=False)  # no key to send: the stored server may be asked
    assert llm_run.llm_settings(None, base_url=None, api_key=None).base_url == "http://stored.example/v1"
    assert llm_run.llm_settings(None, base_url="http://named.example/v1", api_key=None).base_url == \
        "http://named.example/v1"
    ray_run = a_config(executor=ExecutorConfig(kind="ray", ray_address="ray://203.0.113.7:10001"))
    with pytest.raises(UntrustedEndpoint, match="resume with --ray-address"):
        ray_run.with_overrides()
    assert ray_run.with_overrides(executor={"ray_address": "ray://10.0.0.1:10001"}).executor.ray_address == \
        "ray://10.0.0.1:10001"
    assert ray_run.with_overrides(executor={"kind": "local"}).executor.kind == "local"  # the cluster is not joined


# --- option names -------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--model", "resnet8"], ["--llm-model", "resnet32"], ["--model", "auto"]])
def test_a_network_named_as_the_llm_is_a_usage_error(args, monkeypatch):
    monkeypatch.delenv("AUTODA_MODEL", raising=False)
    result = CliRunner().invoke(cli, ["search", *args])
    assert result.exit_code == 2 and "names a network, not an LLM" in result.stderr and "--net" in result.stderr


def test_train_takes_net_and_model_as_its_deprecated_alias(monkeypatch):
    result = CliRunner().invoke(cli, ["train", "--model", "resnet8", "--net", "resnet32", "--epochs", "1"])
    assert result.exit_code == 2 and "--model is the old name of --net" in result.stderr
    assert result.stderr.count("deprecated") == 1
    assert CliRunner().invoke(cli, ["train", "--net", "resnet8", "--device", "tpu"]).stderr.count("deprecated") == 0
