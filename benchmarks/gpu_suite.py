"""Everything autoda measures on a GPU, in one run: `benchmarks/gpu_suite.sh` calls this
after making sure the packages are there.

Steps, each a child process with its own time limit (a step that fails or runs out of time
is recorded and the next one runs):

1. the CUDA-only tests (`pytest -m cuda`);
2. augmentation throughput, the compiled graph against kornia's AugmentationSequential and
   per-sample torchvision v2, for the example policies: 32x32 at batch 256 and 1024, 224x224
   at batch 128 (benchmarks/aug_throughput.py);
3. whether capturing the policy's apply pays: eager against a CUDA graph replay and
   torch.compile, six-op policy, 32x32 at batch 1024 (benchmarks/apply_capture.py);
4. the six-op policy's share of a ResNet-32 training step (bf16 and channels_last on a GPU),
   and one fitness evaluation at the paper's settings (CIFAR-10-LT IR 100, e_ckp 50,
   N_ft 20), timed apart from the checkpoint's training (benchmarks/train_throughput.py);
5. fitness evaluations per hour with K = 1, 4, 8, 16, 32 candidates packed into one
   fine-tune (`--eval-batch K`; benchmarks/packed_fitness.py), and one training step of K
   ResNet-32s as K separate networks, one grouped-convolution network and a vmap over
   stacked parameters (benchmarks/packing_styles.py);
6. streamed training data against the on-device path and a torchvision DataLoader at 32
   and 224 pixels, and a trainer epoch streamed and not (benchmarks/stream_throughput.py);
7. with the time left, the full-schedule CE and BS baselines (none and RandAugment, ResNet-32,
   200 epochs, seed 0), as an `autoda experiment` that a later run resumes.

It writes summary.json and summary.md (device, driver, torch, each step's figures with n
and medians) and each step's own JSON and log under --out. --dry-run runs the same steps on
the CPU at toy sizes (synthetic data, a small network, a few batches) in about a minute: a
test runs it, so the suite cannot rot between GPU runs.

    python benchmarks/gpu_suite.py --out DIR [--data ARCHIVE] [--budget SECONDS] [--dry-run]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoda.secrets import is_secret  # noqa: E402

BENCH = ROOT / "benchmarks"
SIX = BENCH / "policies" / "six_ops.dsl"
EXAMPLES = sorted((ROOT / "examples" / "policies").glob("*.dsl"))

# (image size, batch) of the augmentation throughput, full and toy
AUG_SIZES = [(32, 256), (32, 1024), (224, 128)]
AUG_SIZES_DRY = [(32, 16), (64, 8)]


def environment() -> dict:
    import torch

    found = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
             "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else
             f"cpu: {platform.machine()}, {os.cpu_count()} cores", "driver": None}
    try:
        found["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                         capture_output=True, text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return found


class Suite:
    def __init__(self, out: Path, budget: float, dry_run: bool) -> None:
        self.out, self.dry_run = out, dry_run
        self.deadline = time.monotonic() + budget
        self.steps: dict[str, dict] = {}
        (out / "logs").mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, name: str, argv: list[str], limit: float, result: Path | None = None) -> dict:
        """One step: its exit status, seconds, log file, and the JSON it wrote (if any)."""
        limit = max(1.0, min(limit, self.left()))
        log = self.out / "logs" / f"{name}.log"
        # no step needs a key: API keys, tokens and proxies stay out of the children
        env = {k: v for k, v in os.environ.items() if not is_secret(k, v)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        started = time.monotonic()
        print(f"[suite] {name}: up to {limit:.0f} s", flush=True)
        with open(log, "w") as sink:
            try:
                status = subprocess.run(argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                        timeout=limit).returncode
            except subprocess.TimeoutExpired:
                status = "timeout"
        step = {"status": status, "seconds": round(time.monotonic() - started, 1), "log": str(log.relative_to(self.out))}
        if result is not None and result.is_file():
            step["result"] = json.loads(result.read_text())
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        print(f"[suite] {name}: {status} in {step['seconds']} s; {tail[0][:160]}", flush=True)
        self.steps[name] = step
        return step


def cuda_test_files() -> list[str]:
    """The test files that mark tests `cuda`: collecting only those (not the whole suite, a
    quarter of a minute of imports) selects the same tests."""
    return sorted(str(path) for path in (ROOT / "tests").rglob("test_*.py") if "mark.cuda" in path.read_text())


def run_suite(out: Path, data: Path | None, budget: float, dry_run: bool) -> dict:
    py = sys.executable
    suite = Suite(out, budget, dry_run)
    device = "cpu" if dry_run else "cuda"

    suite.run("cuda_tests", [py, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", *cuda_test_files()], 150)

    policies = [str(SIX)] if dry_run else [str(p) for p in EXAMPLES] + [str(SIX)]
    repeats = ["--repeats", "1", "--warmup", "0"] if dry_run else ["--repeats", "7", "--warmup", "2"]
    for size, batch in AUG_SIZES_DRY if dry_run else AUG_SIZES:
        name = f"aug_throughput_{size}px_batch{batch}"
        suite.run(name, [py, str(BENCH / "aug_throughput.py"), "--device", device, "--size", str(size),
                         "--batch", str(batch), *repeats, "--policies", *policies, "--out", str(out / f"{name}.json")],
                  60 if dry_run else 90, out / f"{name}.json")

    capture = ["--size", "32", "--batch", "16", "--batches", "2", "--repeats", "1", "--modes", "eager,graph"] \
        if dry_run else ["--size", "32", "--batch", "1024", "--batches", "20", "--repeats", "5"]
    suite.run("apply_capture", [py, str(BENCH / "apply_capture.py"), "--device", device, *capture,
                                "--out", str(out / "apply_capture.json")], 60 if dry_run else 120,
              out / "apply_capture.json")

    cache = out / "cache"
    data_args = ["--dataset", "synthetic", "--net", "resnet8"] if dry_run or data is None else ["--data", str(data)]
    fidelity = ["--e-ckp", "1", "--n-ft", "1", "--batches", "2", "--repeats", "1", "--workers", "0"] if dry_run else \
        ["--e-ckp", "50", "--n-ft", "20", "--batches", "50", "--repeats", "5"]
    suite.run("train_step_and_fitness", [py, str(BENCH / "train_throughput.py"), "--device", device, *data_args,
                                         *fidelity, "--cache-dir", str(cache), "--out", str(out / "train.json")],
              90 if dry_run else 240, out / "train.json")

    packed = ["--dataset", "synthetic", "--net", "resnet8", "--e-ckp", "1", "--k", "1,2", "--repeats", "1"] \
        if dry_run else [*data_args, "--e-ckp", "50", "--n-ft", "20", "--k", "1,4,8,16,32", "--repeats", "2"]
    suite.run("packed_fitness", [py, str(BENCH / "packed_fitness.py"), "--device", device, *packed,
                                 "--cache-dir", str(cache), "--out", str(out / "packed.json")],
              60 if dry_run else 150, out / "packed.json")

    styles = ["--net", "resnet8", "--batch", "8", "--size", "16", "--k", "1,2", "--steps", "1", "--repeats", "1"] \
        if dry_run else ["--net", "resnet32", "--batch", "128", "--k", "1,4,16", "--steps", "10", "--repeats", "3"]
    suite.run("packing_styles", [py, str(BENCH / "packing_styles.py"), "--device", device, *styles,
                                 "--out", str(out / "packing_styles.json")], 60 if dry_run else 90,
              out / "packing_styles.json")

    stream = ["--data", "synthetic", "--per-class", "8", "--large", "64", "--batch", "16", "--batches", "1",
              "--repeats", "1", "--workers", "0"] if dry_run or data is None else \
        ["--data", str(data), "--per-class", "500", "--large", "224", "--batch", "256", "--batches", "8",
         "--repeats", "3", "--workers", "8"]
    suite.run("stream_throughput", [py, str(BENCH / "stream_throughput.py"), "--device", device, *stream,
                                    "--out", str(out / "stream.json")], 60 if dry_run else 120, out / "stream.json")

    grid = out / "baselines.toml"
    grid.write_text(_baselines_config(data, dry_run))
    margin = 10 if dry_run else 20  # for the summary
    if suite.left() > margin + 5:
        suite.run("baselines", [py, "-m", "autoda", "experiment", str(grid), "--device", device, "--cache-dir",
                                str(cache / "data"), "--out", str(out / "baselines")], suite.left() - margin)
        suite.steps["baselines"]["cells"] = _cells(out / "baselines" / "cells")

    summary = {"suite": "gpu_suite", "dry_run": dry_run, "budget_seconds": budget,
               "environment": environment(), "steps": suite.steps, "headline": headline(suite.steps)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(markdown(summary))
    return summary


def _baselines_config(data: Path | None, dry_run: bool) -> str:
    if dry_run or data is None:
        source = 'dataset = "synthetic"\nnet = "resnet8"\nepochs = 2\n'
    else:
        source = f'dataset = "folder"\ndata_root = {json.dumps(str(data))}\nnet = "resnet32"\nepochs = 200\n'
    return (source + 'imb_ratio = 100\nmethods = ["ce", "bs"]\npolicies = ["none", "randaugment"]\nseeds = [0]\n'
            'select = "last"\n')


def _cells(folder: Path) -> list[dict]:
    found = []
    for path in sorted(folder.glob("*.json")):
        cell = json.loads(path.read_text())
        found.append({"cell": path.stem, "test_all": round(100 * cell["test"]["all"], 2),
                      "seconds": round(cell["seconds"], 1)})
    return found


def headline(steps: dict) -> dict:
    """The figures the targets are stated in, where their steps produced them."""
    found: dict = {}
    for name, step in steps.items():
        six = step.get("result", {}).get("policies", {}).get(SIX.stem) if name.startswith("aug_") else None
        if six:
            found[name] = {"six_ops_ratio_vs_kornia": six["ratio_vs_kornia"],
                           "six_ops_ratio_vs_per_sample": six["ratio_vs_per_sample"],
                           "six_ops_images_per_second": six["autoda"]["median"]}
    capture = steps.get("apply_capture", {}).get("result", {}).get("policies", {}).get(SIX.stem)
    if capture:
        found["six_ops_apply_capture"] = {**{mode: {k: row[k] for k in ("ratio_vs_eager", "max_abs_difference")}
                                             for mode, row in capture["modes"].items()},
                                          **{mode: f"skipped: {why}" for mode, why in capture["skipped"].items()}}
    train = steps.get("train_step_and_fitness", {}).get("result")
    if train:
        found["policy_share_of_step"] = train["policy_share_of_step"]
        found["fitness_evaluation"] = train["fitness_evaluation"]
    packed = steps.get("packed_fitness", {}).get("result")
    if packed:
        found["evaluations_per_hour_by_k"] = {row["k"]: row["evaluations_per_hour"] for row in packed["rows"]}
    styles = steps.get("packing_styles", {}).get("result")
    if styles:
        found["packing_styles_vs_separate_by_k"] = {
            row["k"]: {name: row[f"{name}_vs_separate"] for name in ("grouped", "vmap", "separate_bf16")
                       if f"{name}_vs_separate" in row} for row in styles["rows"]}
    stream = steps.get("stream_throughput", {}).get("result")
    if stream:
        found["stream_images_per_second_by_size"] = {size: row["images_per_second"]
                                                     for size, row in stream["sizes"].items()}
        found["stream_trainer_epoch"] = {k: stream["trainer_epoch"][k] for k in ("on_device", "streamed")}
    return found


def markdown(summary: dict) -> str:
    env = summary["environment"]
    lines = [f"# gpu_suite{' (dry run: CPU, toy sizes)' if summary['dry_run'] else ''}", "",
             f"device {env['device']}; driver {env['driver']}; torch {env['torch']} (CUDA {env['cuda']}); "
             f"Python {env['python']}", "", "| step | status | seconds |", "|---|---|---|"]
    lines += [f"| {name} | {step['status']} | {step['seconds']} |" for name, step in summary["steps"].items()]
    lines += ["", "## Figures (medians)", ""]
    for name, value in summary["headline"].items():
        lines.append(f"- {name}: {json.dumps(value)}")
    for cell in summary["steps"].get("baselines", {}).get("cells", []):
        lines.append(f"- baseline {cell['cell']}: test balanced accuracy {cell['test_all']}% in {cell['seconds']} s")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, help="the CIFAR-10 JPEG archive (cifar10-jpg.tar.gz) or its folder")
    parser.add_argument("--budget", type=float, default=450, help="seconds for every step together [450]")
    parser.add_argument("--dry-run", action="store_true", help="the same steps on the CPU at toy sizes")
    args = parser.parse_args()
    if not args.dry_run and (args.data is None or not args.data.exists()):
        sys.exit(f"error: --data must name the CIFAR-10 JPEG archive (got {args.data})")
    summary = run_suite(args.out, args.data, args.budget, args.dry_run)
    print((args.out / "summary.md").read_text())
    failed = [n for n, s in summary["steps"].items() if s["status"] not in (0, "timeout") or
              (s["status"] == "timeout" and n != "baselines")]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
