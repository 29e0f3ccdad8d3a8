"""`autoda verify RUN_DIR...`: a search's best retrained beside hand-designed policies on the
run's data, several seeds, the verdict on the test split; a CE and a BS run in one verdict;
resumable, and one line for a folder it cannot verify."""
import json
import shutil

import pytest
from click.testing import CliRunner

from autoda.cli import cli
from autoda.engine.train.data import longtail_counts
from autoda.search.journal import Journal

VERIFY = ["--seeds", "0,1", "--epochs", "1", "--policies", "none,randaugment", "--net", "resnet8"]


def run(*args):
    return CliRunner().invoke(cli, list(args))


def small_search(root, name, *extra):
    """Two evaluations on a small synthetic subset (head capped at 30, IR 10)."""
    result = run("search", "--out", str(root / name), "--population", "2", "--generations", "0", "--max-evals", "2",
                 "--epochs", "2", "--e-ckp", "1", "--n-ft", "1", "--imb-ratio", "10", "--max-per-class", "30",
                 "--no-baselines", "--cache-dir", str(root / "cache"), *extra)
    assert result.exit_code == 0, result.output
    assert (root / name / "best.dsl").is_file()
    return root / name


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    return small_search(tmp_path_factory.mktemp("verify"), "run")


@pytest.fixture(scope="module")
def verified(search_run):
    result = run("verify", str(search_run), *VERIFY)
    assert result.exit_code == 0, result.output
    return search_run / "verify", result


def test_the_verdict_has_every_policy_and_seed_and_pairs_them(verified):
    out, result = verified
    found = json.loads((out / "verdict.json").read_text())
    searched = found["searched"]
    assert searched == "searched"  # the run's best, whatever its own name
    assert found["searched_policies"]["ce"] == {"run": str(out.parent), "text": (out.parent / "best.dsl").read_text()}
    rows = {r["policy"]: r for r in found["rows"]}
    assert set(rows) == {"none", "randaugment", searched}
    for row in rows.values():
        assert row["method"] == "ce" and row["seeds"] == [0, 1] and len(row["test_all"]) == 2
        assert all(0 <= v <= 100 for v in row["test_all"])
        assert row["all"] == pytest.approx(sum(row["test_all"]) / 2, abs=1e-3)
    (comparison,) = found["comparisons"]
    best = max(("none", "randaugment"), key=lambda p: sum(rows[p]["test_all"]))  # max() keeps the first of a tie
    assert comparison["best_baseline"] == best
    mine, theirs = rows[searched]["test_all"], rows[best]["test_all"]
    assert comparison["paired_difference"] == pytest.approx([a - b for a, b in zip(mine, theirs)], abs=1e-3)
    assert comparison["positive_seeds"] == sum(a > b for a, b in zip(mine, theirs))
    assert comparison["difference_of_means"] == pytest.approx((sum(mine) - sum(theirs)) / 2, abs=1e-3)
    assert f"ce: {searched} against the best hand-designed policy ({best})" in result.stdout
    assert (out / "verdict.csv").read_text().count("\n") == 1 + 3 * 2
    assert "| ce | randaugment | 2 |" in (out / "verdict.md").read_text()
    assert (out / "table.md").is_file() and (out / "table.csv").is_file()
    page = (out / "report.html").read_text()
    assert "<h2>verdict</h2>" in page and "against the best hand-designed policy" in page
    assert "policy searched for ce" in page  # its figures: the op use of each class group


def test_the_cells_train_on_the_runs_data_for_the_whole_schedule(verified):
    out, _ = verified
    cells = sorted((out / "cells").glob("*.json"))
    assert len(cells) == 6
    for path in cells:
        cell = json.loads(path.read_text())
        assert cell["train_counts"] == longtail_counts(10, 30, 10)  # the search's subset, capped at 30
        assert cell["max_per_class"] == 30 and cell["imb_ratio"] == 10 and cell["dataset"] == "synthetic"
        assert cell["net"] == "resnet8" and cell["epochs"] == 1 and cell["selection"] == "last"


def test_verifying_again_reuses_every_cell(verified, search_run):
    out, _ = verified
    before = (out / "verdict.json").read_text()
    again = run("verify", str(search_run), *VERIFY)
    assert again.exit_code == 0, again.output
    assert again.stderr.count(": done before") == 6 and ": running" not in again.stderr
    assert (out / "verdict.json").read_text() == before


def test_a_preset_replaces_the_runs_data_and_options_still_win(search_run, tmp_path):
    """The run was searched at IR 10 with the head capped at 30: a preset's regime replaces
    all of that (cifar10-lt has no cap, so none is kept from the run either)."""
    out = tmp_path / "preset"
    result = run("verify", str(search_run), "--preset", "cifar10-lt", "--dataset", "synthetic",
                 "--data-root", str(tmp_path), "--epochs", "1", "--net", "resnet8", "--seeds", "0",
                 "--policies", "none", "--out", str(out))
    assert result.exit_code == 0, result.output
    cell = json.loads((out / "cells" / "ce__none__seed0.json").read_text())
    assert cell["imb_ratio"] == 100 and cell["max_per_class"] is None  # the preset's, not the run's 10 and 30
    assert cell["train_counts"] == longtail_counts(10, 100, 100)  # synthetic holds 100 a class
    assert cell["epochs"] == 1 and cell["net"] == "resnet8"  # given, over the preset's


def test_a_folder_that_is_not_a_search_run_is_one_line(tmp_path):
    result = run("verify", str(tmp_path), *VERIFY)
    assert result.exit_code == 1 and "not a search run (no journal.sqlite)" in result.stderr
    assert "Traceback" not in result.output
    (tmp_path / "journal.sqlite").write_text("not a database")
    damaged = run("verify", str(tmp_path), *VERIFY)
    assert damaged.exit_code == 1 and "damaged or not a journal" in damaged.stderr
    assert not (tmp_path / "verify").exists()


def test_a_journal_without_a_configuration_is_one_line(tmp_path):
    Journal(tmp_path / "journal.sqlite").close()
    result = run("verify", str(tmp_path), *VERIFY)
    assert result.exit_code == 1 and "no readable run configuration" in result.stderr


def test_a_run_without_a_best_policy_is_one_line(search_run, tmp_path):
    copy = tmp_path / "early"
    shutil.copytree(search_run, copy, ignore=shutil.ignore_patterns("best.dsl", "verify", "run.lock"))
    result = run("verify", str(copy), *VERIFY)
    assert result.exit_code == 1 and "no best.dsl yet" in result.stderr, result.output
    assert not (copy / "verify").exists()


def test_a_ce_and_a_bs_run_make_one_verdict(search_run, tmp_path):
    bs_run = small_search(search_run.parent, "bs-run", "--method", "bs")
    out = tmp_path / "both"
    result = run("verify", str(search_run), str(bs_run), "--seeds", "0", "--epochs", "1", "--policies", "none",
                 "--net", "resnet8", "--out", str(out))
    assert result.exit_code == 0, result.output
    found = json.loads((out / "verdict.json").read_text())
    assert sorted((r["method"], r["policy"]) for r in found["rows"]) == [
        ("bs", "none"), ("bs", "searched"), ("ce", "none"), ("ce", "searched")]
    assert [c["method"] for c in found["comparisons"]] == ["ce", "bs"]
    assert found["searched_policies"]["bs"]["text"] == (bs_run / "best.dsl").read_text()
    assert found["searched_policies"]["ce"]["run"] == str(search_run)
    assert sorted(p.name for p in (out / "cells").glob("*.json")) == [
        "bs__none__seed0.json", "bs__searched__seed0.json", "ce__none__seed0.json", "ce__searched__seed0.json"]
    config = json.loads((out / "experiment.json").read_text())
    assert config["methods"] == ["ce", "bs"] and set(config["searched_texts"]) == {"ce", "bs"}
    page = (out / "report.html").read_text()
    assert "policy searched for ce" in page and "policy searched for bs" in page
    assert result.stdout.count("against the best hand-designed policy (none)") == 2


def test_runs_verified_together_need_one_regime_and_an_out_folder(search_run, tmp_path):
    other = small_search(search_run.parent, "ir20", "--method", "bs", "--imb-ratio", "20")
    cases = [((str(search_run), str(other)), "say where with --out"),
             ((str(search_run), str(search_run), "--out", str(tmp_path / "a")), "both searched for ce"),
             ((str(search_run), str(other), "--out", str(tmp_path / "b")), "differ in imb_ratio")]
    for args, message in cases:
        result = run("verify", *args, "--seeds", "0", "--epochs", "1", "--policies", "none")
        assert result.exit_code == 1 and message in result.stderr, result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("args,code,message", [
    (["--seeds", "0,a"], 2, "--seeds takes whole numbers"),
    (["--seeds", "0,0"], 2, "distinct whole numbers"),
    (["--seeds", ","], 2, "distinct whole numbers"),
    (["--policies", " , "], 2, "--policies: give at least one name"),
    (["--policies", "none,nope"], 1, "neither an example"),
    (["--policies", "none,searched"], 1, "names the runs' best in the verdict"),
])
def test_bad_seeds_or_policies_are_one_line(search_run, tmp_path, args, code, message):
    result = run("verify", str(search_run), "--epochs", "1", "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # refused before any cell trains
