"""`autoda report`: a self-contained page whose every figure renders, checked in a real
headless Chromium (the page records on <body> how many images it has and how many broke)."""
import base64
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from autoda.cli import cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def run(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    result = run("search", "--out", str(root / "run"), "--population", "2", "--generations", "1", "--explore", "1",
                 "--mutations", "1", "--epochs", "4", "--e-ckp", "1", "--n-ft", "1", "--imb-ratio", "10",
                 "--baseline", "none", "--cache-dir", str(root / "cache"))
    assert result.exit_code == 0, result.output
    return root / "run"


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("experiment")
    config = root / "grid.toml"
    config.write_text('dataset = "synthetic"\nimb_ratio = 10\nmethods = ["ce"]\npolicies = ["none", "cuda"]\n'
                      'seeds = [0, 1]\nepochs = 2\n')
    assert run("experiment", str(config)).exit_code == 0
    return root / "grid"


def images_of(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_search_report_is_self_contained_with_every_figure(search_run):
    result = run("report", str(search_run))
    assert result.exit_code == 0, result.output
    page = (search_run / "report.html").read_text()
    for heading in ("summary", "fitness", "leaderboard", "per-class accuracy", "the best policy"):
        assert f"<h2>{heading}" in page
    pictures = images_of(page)
    # fitness, per-class, op heat maps for each class group there is (synthetic: medium and few), sample grid
    assert len(pictures) == 5
    assert all(p.startswith(b"\x89PNG") and len(p) > 2000 for p in pictures)
    assert "http" not in page.replace("http-equiv", "")  # nothing to fetch


def test_experiment_report_has_the_table_and_per_class_figures(experiment_dir):
    out = experiment_dir / "page.html"
    assert run("report", str(experiment_dir), "--out", str(out)).exit_code == 0
    page = out.read_text()
    assert "test accuracy (mean ± std over seeds)" in page and "<td class=\"l\">cuda</td>" in page
    # per-class for ce and cuda's samples; cuda applies no op in its first 2 simulated epochs, so its op use
    # is a sentence for each class group, not a blank map
    assert len(images_of(page)) == 2
    assert 'alt="op use of cuda' not in page
    for group in ("medium", "few"):
        assert f"cuda: no op was applied to the {group} classes in 2 simulated epochs." in page


def test_outside_text_on_the_page_is_escaped_and_redacted(search_run, tmp_path, monkeypatch):
    """An LLM's idea or policy name with markup, terminal controls, bidi overrides or the
    API key reaches the page as inert text."""
    import shutil
    import sqlite3

    from autoda import secrets

    key = "sk-report-0123456789abcdef"
    monkeypatch.setattr(secrets, "_active", secrets.Redactor([key]))
    folder = tmp_path / "run"
    shutil.copytree(search_run, folder)
    hostile = f"<script>alert(1)</script>\x1b]8;;http://evil\x07\u202egnp.exe $\\frac{{ {key}"
    with sqlite3.connect(folder / "journal.sqlite") as db:
        db.execute("UPDATE candidates SET idea = ?, operator = ? WHERE status = 'evaluated'", (hostile, hostile))
    result = run("report", str(folder))
    assert result.exit_code == 0, result.output
    page = (folder / "report.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\u202e" not in page and key not in page
    assert "\\x1b]8;;" in page and "\\u202e" in page


def test_an_experiment_report_leaves_damaged_cells_out(experiment_dir, tmp_path):
    import json
    import shutil

    folder = tmp_path / "grid"
    shutil.copytree(experiment_dir, folder)
    good = json.loads(next((folder / "cells").glob("*.json")).read_text())
    bad = {"garbage": "{bad", "list": "[]", "deep": "[" * 100_000,
           "strings": json.dumps({**good, "seed": "one", "test": {**good["test"], "all": "high"}}),
           "short": json.dumps({**good, "test": {**good["test"], "per_class": [0.5]}}),
           "counts": json.dumps({**good, "train_counts": [1, 2]})}
    for name, text in bad.items():
        (folder / "cells" / f"zz-{name}.json").write_text(text)
    (folder / "experiment.json").write_text('{"policy_texts": ["x"], "methods": "ce", "epochs": "many"}')
    result = run("report", str(folder))
    assert result.exit_code == 0, result.output
    assert f"{len(bad)} of {len(bad) + 4} result files could not be read" in (folder / "report.html").read_text()
    for cell in (folder / "cells").glob("*.json"):
        cell.write_text("{bad")
    result = run("report", str(folder))
    assert result.exit_code == 1 and "is a readable result" in result.stderr and "Traceback" not in result.output


def test_report_of_a_folder_that_is_neither(tmp_path):
    result = run("report", str(tmp_path))
    assert result.exit_code == 1 and "neither a search run" in result.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
@pytest.mark.parametrize("which", ["search", "experiment"])
def test_every_image_loads_in_headless_chromium(which, search_run, experiment_dir, tmp_path):
    folder = search_run if which == "search" else experiment_dir
    page = tmp_path / "report.html"
    assert run("report", str(folder), "--out", str(page)).exit_code == 0
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run(flags + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    counted = re.search(r'data-images="(\d+)" data-broken="(\d+)"', dom)
    assert counted, "the page's self-check did not run"
    assert int(counted.group(1)) == len(images_of(page.read_text())) > 0 and counted.group(2) == "0"
    shot = tmp_path / "screenshot.png"
    subprocess.run(flags + ["--window-size=1200,2400", "--hide-scrollbars", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
