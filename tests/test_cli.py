"""The `autoda compile` contract: exit 0/1/2, diagnostics on stderr, never a traceback."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autoda.cli import cli

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples" / "policies").glob("*.dsl"))
BAD = sorted((ROOT / "tests" / "compiler" / "bad").glob("*.dsl"))


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_examples_compile_with_a_summary():
    result = run("compile", *map(str, EXAMPLES))
    assert result.exit_code == 0, result.output
    for path in EXAMPLES:
        assert f"{path}: ok" in result.stdout
    assert "image passes per sample" in result.stdout


def test_a_bad_policy_exits_1_with_located_diagnostics_on_stderr():
    bad = ROOT / "tests" / "compiler" / "bad" / "name_unknown_op.dsl"
    result = run("compile", str(EXAMPLES[0]), str(bad))
    assert result.exit_code == 1
    assert f"{bad}:3:17: error[N002]: unknown op 'rotat'" in result.stderr
    assert "did you mean 'rotate'?" in result.stderr
    assert f"{EXAMPLES[0]}: ok" in result.stdout  # the good one is still reported
    assert "1 of 2 policies failed to compile" in result.stderr


@pytest.mark.parametrize("args", [[], ["compile"], ["compile", "--emit", "bogus", "x.dsl"],
                                  ["compile", "missing.dsl"], ["compile", "."], ["nope"]])
def test_usage_errors_exit_2(args):
    assert run(*args).exit_code == 2


def test_standard_input():
    result = run("compile", "-", input="policy p\nper sample:\n    flip_lr\n")
    assert result.exit_code == 0 and "<stdin>: ok" in result.stdout


def test_canonical_output_is_idempotent_through_the_cli():
    first = run("compile", "--emit", "canonical", str(ROOT / "examples" / "policies" / "doda.dsl"))
    second = run("compile", "--emit", "canonical", "-", input=first.stdout)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout


def test_json_output_is_machine_readable_for_good_and_bad():
    bad = BAD[0]
    result = run("compile", "--emit", "json", str(EXAMPLES[0]), str(bad))
    good, failed = json.loads(result.stdout)
    assert good["ok"] and good["plan"]["name"] == good["name"] and good["cost"]["per_sample"] > 0
    assert not failed["ok"] and failed["diagnostics"][0]["code"]
    assert result.exit_code == 1


@pytest.mark.parametrize("emit,marker", [("plan", "epoch program"), ("ast", "Policy name='cuda'")])
def test_plan_and_ast_emits(emit, marker):
    result = run("compile", "--emit", emit, str(ROOT / "examples" / "policies" / "cuda.dsl"))
    assert result.exit_code == 0 and marker in result.stdout


def test_every_bad_input_exits_1_without_a_traceback(tmp_path):
    huge = tmp_path / "huge.dsl"
    huge.write_text("policy p\n" + "x" * (1 << 20) + "\n")
    nested = tmp_path / "nested.dsl"
    nested.write_text("policy p\nevery epoch:\n    let x = " + "(" * 10_000 + ")" * 10_000 + "\n")
    files = [*map(str, BAD), str(huge), str(nested)]
    proc = subprocess.run([sys.executable, "-m", "autoda", "compile", *files], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{len(files)} of {len(files)} policies failed to compile" in proc.stderr


def test_preview_writes_a_grid_on_the_synthetic_set(tmp_path):
    out = tmp_path / "grid.png"
    result = run("preview", str(ROOT / "examples" / "policies" / "cuda.dsl"), "--samples", "4", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "head disc" in result.stdout and "tail frame (50 training images)" in result.stdout
    from PIL import Image
    with Image.open(out) as image:
        assert image.size == (150 + 5 * (96 + 4), 24 + 3 * (96 + 4))


def test_preview_errors_are_one_line(tmp_path):
    missing = run("preview", str(EXAMPLES[0]), "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "x.png"))
    assert missing.exit_code == 2 and "no such file or folder" in missing.stderr
    empty = run("preview", str(EXAMPLES[0]), "--data", str(tmp_path), "--out", str(tmp_path / "x.png"))
    assert empty.exit_code == 1 and empty.stderr.startswith("error: ") and "Traceback" not in empty.stderr
    bad = run("preview", str(BAD[0]), "--out", str(tmp_path / "x.png"))
    assert bad.exit_code == 1 and "error[" in bad.stderr


CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


@pytest.mark.slow
@pytest.mark.skipif(not CIFAR.exists(), reason=f"the CIFAR-10 archive is not at {CIFAR}")
def test_preview_on_the_cifar10_archive(tmp_path):
    out = tmp_path / "grid.png"
    result = run("preview", str(ROOT / "examples" / "policies" / "tail_curriculum.dsl"), "--data", str(CIFAR),
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "head airplane (5000 training images)" in result.stdout
    assert "tail truck (50 training images)" in result.stdout
    assert "simulated long-tailed training set at imbalance 100, images from the train split" in result.stdout
    test_split = run("preview", str(ROOT / "examples" / "policies" / "tail_curriculum.dsl"), "--data", str(CIFAR),
                     "--split", "test", "--out", str(out))
    assert test_split.exit_code == 0, test_split.output
    assert "tail truck (50 training images)" in test_split.stdout and "from the test split" in test_split.stdout
    assert out.stat().st_size > 10_000


def test_train_on_the_synthetic_set_writes_the_metrics_contract(tmp_path):
    out = tmp_path / "metrics.json"
    result = run("train", "--epochs", "3", "--batch-size", "64", "--method", "bs",
                 "--policy", str(ROOT / "examples" / "policies" / "rank_scaled.dsl"),
                 "--metrics-out", str(out), "--report-test", "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    assert "many" in result.stdout and "val" in result.stdout and "test" in result.stdout
    metrics = json.loads(out.read_text())
    for key in ("many", "medium", "few", "all", "per_class", "split", "seed", "device", "torch"):
        assert key in metrics, key
    assert metrics["split"] == "val" and len(metrics["per_class"]) == 10 and 0 <= metrics["all"] <= 1
    assert metrics["policy"]["name"] == "rank_scaled" and "test" in metrics


def test_train_bcl_on_the_paper_base_with_a_stateful_policy(tmp_path):
    """BCL's three views through the command: the paper's base on the first, CUDA's probe
    and levels driving all three."""
    out = tmp_path / "metrics.json"
    result = run("train", "--epochs", "2", "--batch-size", "64", "--method", "bcl", "--base", "paper",
                 "--policy", str(ROOT / "examples" / "policies" / "cuda.dsl"), "--metrics-out", str(out),
                 "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    assert "bcl on resnet8" in result.output
    metrics = json.loads(out.read_text())
    assert metrics["method"] == "bcl" and 0 <= metrics["all"] <= 1 and len(metrics["per_class"]) == 10


@pytest.mark.parametrize("args,code,message", [
    (["--method", "focal"], 2, "Invalid value for '--method'"),
    (["--dataset", "folder", "--data-root", "nowhere"], 2, "no such file or folder"),
    (["--dataset", "folder"], 1, "needs --data-root"),
    (["--policy", "tests/compiler/bad/name_unknown_op.dsl"], 1, "error[N002]"),
    (["--device", "tpu"], 2, "is not a device"),
])
def test_train_errors_are_one_clear_line(args, code, message):
    result = run("train", "--epochs", "1", *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.stderr


def test_search_runs_offline_on_the_synthetic_set_and_runs_list_and_show(tmp_path):
    out = tmp_path / "runs" / "first"
    result = run("search", "--out", str(out), "--population", "2", "--generations", "1", "--explore", "1",
                 "--mutations", "1", "--epochs", "4", "--e-ckp", "1", "--n-ft", "1", "--imb-ratio", "10",
                 "--baseline", "none", "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    assert "best:" in result.stdout and (out / "best.dsl").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["evaluations"] == 5 and summary["outcome"] == "done"
    assert summary["config"]["proposer"] == "offline" and "none" in summary["references"]
    autoda_check = run("compile", str(out / "best.dsl"))
    assert autoda_check.exit_code == 0  # the best policy is a policy
    listing = run("runs", "list", str(tmp_path / "runs"))
    assert listing.exit_code == 0 and "first" in listing.stdout and "offline" in listing.stdout
    shown = run("runs", "show", str(out))
    assert shown.exit_code == 0 and "rank" in shown.stdout and "baseline" in shown.stdout


@pytest.mark.parametrize("args,message", [
    (["--proposer", "llm"], "needs --llm-model"),
    (["--resume", "/nonexistent/run"], "no journal.sqlite there"),
    (["--baseline", "nope"], "neither an example policy"),
    (["--e-ckp", "5", "--epochs", "5"], "below --epochs"),
])
def test_search_usage_errors(args, message, monkeypatch):
    monkeypatch.delenv("AUTODA_MODEL", raising=False)
    result = run("search", *args)
    assert result.exit_code == 2 and message in result.stderr


PREVIEW = ["preview", "examples/policies/cuda.dsl", "--out", "unwritten.png"]


@pytest.mark.parametrize("args", [
    ["search", "--seed", str(10**30)], ["train", "--seed", str(2**63 - 1)], PREVIEW + ["--seed", str(-(2**63))],
    ["search", "--lr", "1e300"], ["train", "--lr", "1e300"],
    ["search", "--epochs", str(2 * 10**9)], ["train", "--epochs", str(2 * 10**9)],
    PREVIEW + ["--epoch", str(10**9 - 1), "--epochs", str(10**9)],
])
def test_numbers_past_what_training_takes_are_usage_errors(args, monkeypatch, tmp_path):
    """Each reached torch as it stood (an overflow, a learning rate float32 cannot hold, a
    schedule past the statistics' bound) or ran for days (preview's epochs, one at a time)."""
    monkeypatch.chdir(ROOT)
    result = run(*args)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "is not in the range" in result.stderr


def test_a_run_folder_is_never_overwritten(tmp_path):
    (tmp_path / "journal.sqlite").write_text("")
    result = run("search", "--out", str(tmp_path))
    assert result.exit_code == 2 and "--resume" in result.stderr


def test_experiment_writes_tables_and_cells(tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text('dataset = "synthetic"\nimb_ratio = 10\nmethods = ["ce", "bs"]\npolicies = ["none", "cuda"]\n'
                      'seeds = [0]\nepochs = 1\n')
    result = run("experiment", str(config))
    assert result.exit_code == 0, result.output
    out = tmp_path / "grid"
    assert len(list((out / "cells").glob("*.json"))) == 4
    table = (out / "table.md").read_text()
    assert "| bs | cuda | 1 |" in table and "gain" in table and "test split" in result.stdout
    assert (out / "table.csv").read_text().count("\n") == 5


def test_experiment_errors(tmp_path):
    assert run("experiment", str(tmp_path / "none.toml")).exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('dataset = "synthetic"\nmethods = ["ce"]\npolicies = ["cudaa"]\n')
    result = run("experiment", str(bad))
    assert result.exit_code == 1 and "neither an example" in result.stderr


def test_names_from_an_image_folder_reach_the_terminal_escaped(tmp_path):
    """Class folders and files are named by whoever made the data set: an OSC sequence in
    one would retitle (or worse) the terminal of whoever previews or trains on it."""
    from PIL import Image

    hostile = "\x1b]0;owned\x07\u202e"
    for name in ("plain", "other", f"tail{hostile}"):
        (tmp_path / "data" / "train" / name).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (40 * i, 90, 10)).save(tmp_path / "data" / "train" / name / f"{i}.png")
    policy = str(ROOT / "examples/policies/cuda.dsl")
    good = run("preview", policy, "--data", str(tmp_path / "data"), "--out", str(tmp_path / "grid.png"))
    assert good.exit_code == 0, good.output
    (tmp_path / "data" / "train" / "plain" / f"{hostile}bad.png").write_bytes(b"not an image")  # read first
    bad = run("preview", policy, "--data", str(tmp_path / "data"), "--out", str(tmp_path / "grid.png"))
    assert bad.exit_code == 1 and "cannot decode" in bad.stderr
    for result in (good, bad):
        assert "\x1b" not in result.output and "\u202e" not in result.output and "\\x1b]0;owned" in result.output


def test_runs_show_a_candidate_says_what_it_is_and_why_it_failed(tmp_path):
    from autoda.search.journal import Journal

    folder = tmp_path / "run"
    folder.mkdir()
    journal = Journal(folder / "journal.sqlite")
    good = journal.add(0, 0, 0, "initialise", [], "llm", policy_text="policy tail\nper sample:\n    rotate(0.3)\n",
                       policy_name="tail", idea="rotate the rare classes")
    journal.update(good, status="evaluated")
    record = journal.start_evaluation(good, 4, 0, "rung")
    journal.finish_evaluation(record, type("R", (), {"ok": True, "fitness": 0.4125, "seconds": 3.0, "failure": None,
                                                     "message": None, "validation": {"many": 0.6, "medium": 0.4,
                                                                                     "few": 0.2, "all": 0.4125,
                                                                                     "per_class": [0.7, 0.3, 0.2]}})())
    bad = journal.add(1, 0, 0, "mutate", [good], "llm", policy_text="policy p\nper sample:\n    rotat(0.3)\n",
                      idea="a typo\x1b[31m")
    journal.update(bad, status="failed", failure="compile", message="error[N002]: unknown op 'rotat'\n  hint: rotate")
    journal.close()
    shown = run("runs", "show", str(folder), "--candidate", str(good))
    assert shown.exit_code == 0, shown.output
    assert f"candidate {good}: tail" in shown.stdout and "idea: rotate the rare classes" in shown.stdout
    assert "41.25 (1) at 4 fine-tune epochs" in shown.stdout and "rung     4 epochs, seed 0: 41.25, 3 s" in shown.stdout
    assert "many 60.00, medium 40.00, few 20.00" in shown.stdout and "head to tail: 70.00 30.00 20.00" in shown.stdout
    assert "    rotate(0.3)" in shown.stdout
    failed = run("runs", "show", str(folder), "--candidate", str(bad))
    assert failed.exit_code == 0 and f"parents: #{good} tail" in failed.stdout
    assert "failure: compile" in failed.stdout and "unknown op 'rotat'" in failed.stdout and "hint: rotate" in failed.stdout
    assert "\x1b" not in failed.stdout  # an LLM's control characters are escaped
    missing = run("runs", "show", str(folder), "--candidate", "9")
    assert missing.exit_code == 2 and "no candidate 9 (the run has 2 candidates)" in missing.stderr


def test_counts_of_one_are_singular_in_what_autoda_prints(tmp_path):
    result = run("preview", str(ROOT / "examples" / "policies" / "cuda.dsl"), "--imb-ratio", "5000", "--samples", "1",
                 "--out", str(tmp_path / "grid.png"))
    assert result.exit_code == 0, result.output
    assert "tail frame (1 training image)" in result.stdout and "head disc (5000 training images)" in result.stdout
    from autoda.words import counted, with_article

    assert (counted(1, "epoch"), counted(2, "policy", "policies")) == ("1 epoch", "2 policies")
    assert [with_article(op) for op in ("edge_enhance", "invert", "rotate")] == \
        ["an edge_enhance", "an invert", "a rotate"]
