"""benchmarks/gpu_suite.sh --dry-run: every step of the GPU suite on the CPU at toy sizes,
so the suite cannot rot between GPU runs. Each step must succeed and leave its figures in
the summary."""
import importlib.util
import json
import math
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_dry_run_runs_every_step_and_summarises_it(tmp_path):
    out = tmp_path / "suite"
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_suite.sh"), "--dry-run", "--out", str(out),
                           "--budget", "400"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dry_run"] is True and summary["environment"]["torch"]
    steps = summary["steps"]
    assert set(steps) == {"cuda_tests", "aug_throughput_32px_batch16", "aug_throughput_64px_batch8",
                          "apply_capture", "train_step_and_fitness", "packing_styles", "packed_fitness",
                          "stream_throughput", "baselines"}
    assert all(step["status"] == 0 for step in steps.values()), {n: s["status"] for n, s in steps.items()}
    assert "skipped" in (out / steps["cuda_tests"]["log"]).read_text()  # collected, and skipped without a GPU
    headline = summary["headline"]
    for name in ("aug_throughput_32px_batch16", "aug_throughput_64px_batch8"):
        assert headline[name]["six_ops_ratio_vs_kornia"] > 0 and headline[name]["six_ops_images_per_second"] > 0
    capture = headline["six_ops_apply_capture"]  # eager timed; no CUDA graph without CUDA, and why
    assert capture["eager"]["ratio_vs_eager"] == 1.0
    assert capture["graph"] == "skipped: RuntimeError: CUDA graphs need a CUDA device"
    assert math.isfinite(headline["policy_share_of_step"])
    fitness = headline["fitness_evaluation"]
    assert fitness["ok"] and fitness["seconds"] > 0 and fitness["checkpoint_seconds"] > 0
    assert set(headline["evaluations_per_hour_by_k"]) == {"1", "2"}  # JSON keys
    assert all(rate > 0 for rate in headline["evaluations_per_hour_by_k"].values())
    styles = headline["packing_styles_vs_separate_by_k"]
    assert set(styles) == {"1", "2"} and all(r > 0 for row in styles.values() for r in row.values())
    feeds = headline["stream_images_per_second_by_size"]
    assert set(feeds) == {"32", "64"} and all(v > 0 for row in feeds.values() for v in row.values())
    cells = {c["cell"] for c in steps["baselines"]["cells"]}
    assert cells == {f"{m}__{p}__seed0" for m in ("ce", "bs") for p in ("none", "randaugment")}
    page = (out / "summary.md").read_text()
    assert "dry run" in page and "policy_share_of_step" in page and "baseline bs__randaugment__seed0" in page


def test_without_wheels_or_packages_it_says_how_to_prepare_them(tmp_path):
    """A Python that lacks the packages and a wheels folder that is empty: one line, exit 2."""
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\nexit 1\n")  # every import fails
    fake.chmod(0o755)
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_suite.sh"), "--dry-run", "--out", str(tmp_path),
                           "--wheels", str(tmp_path / "none")], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake)})
    assert done.returncode == 2 and "benchmarks/gpu_wheels.sh" in done.stderr


def test_no_step_is_handed_an_api_key(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("gpu_suite", ROOT / "benchmarks" / "gpu_suite.py")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-suite-test-0123456789abcdef")
    monkeypatch.setenv("AUTODA_TEST_PLAIN", "kept")
    seen = {}

    def run(argv, **kwargs):
        seen.update(kwargs["env"])
        return subprocess.CompletedProcess(argv, 0)
    monkeypatch.setattr(suite.subprocess, "run", run)
    assert suite.Suite(tmp_path, 60, True).run("step", ["true"], 5)["status"] == 0
    assert "OPENAI_API_KEY" not in seen and seen["AUTODA_TEST_PLAIN"] == "kept"
    assert str(ROOT) in seen["PYTHONPATH"]
