"""Per-epoch cost of a sandboxed Python policy step against the policy language's epoch
step, for 100 classes x CUDA's 22 ops (the issue's setting).

Each figure is one `CompiledPolicy.update_epoch(stats)`: for the DSL, the epoch program in
torch; for Python, the round trip to the sandbox worker (statistics and [C, K] state out as
JSON, RestrictedPython-compiled get_aug_type run in a fresh namespace, its result
validated, the next state back) followed by the carrier's epoch program. Three Python
functions: a trivial one (the sandbox's floor), DODA's rule written as the paper's seed
writes it (Python loops over classes x ops, every access guarded), and the same rule
vectorised with numpy. Median of --repeats updates after --warmup, on the same statistics.

Also the cost of starting a worker (once per compiled policy, and after any failure): with
every OS isolation layer the machine gives, against the same worker with none (the
baseline, measured in the same run); median of --starts starts.

    python benchmarks/python_epoch_step.py [--repeats 25] [--out benchmarks/results/python_epoch_step.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time
from pathlib import Path

import torch

import autoda
from autoda.engine import ClassStats
from autoda.files import write_json

ROOT = Path(__file__).resolve().parents[1]
CLASSES = 100
CUDA_OPS = ["flip_ud", "flip_lr", "edge_enhance", "detail", "smooth", "autocontrast", "equalize", "invert",
            "gaussian_blur", "scale", "rotate", "posterize", "solarize", "solarize_add", "color", "contrast",
            "brightness", "sharpness", "shear_x", "shear_y", "translate_x", "translate_y"]
OPS_LINE = f"OPS = {CUDA_OPS!r}\n"
SIGNATURE = "def get_aug_type(aug_weight, ACCs, History_ACCs, lats_chose_matix, lats_chose_exts, epoch):\n"

DSL_DODA = (ROOT / "examples/policies/doda.dsl").read_text().replace(
    "[flip_ud, flip_lr, edge_enhance, detail, smooth, autocontrast, equalize, invert,\n"
    "                gaussian_blur, rotate]", "[" + ", ".join(CUDA_OPS) + "]")
PYTHON = {
    "trivial": "import numpy as np\n" + OPS_LINE + SIGNATURE + "    return lats_chose_matix, lats_chose_exts\n",
    "paper_doda_loops": (ROOT / "examples/policies/paper_doda.py").read_text().replace(
        'OPS = ["flip_ud"', "OPS = " + repr(CUDA_OPS) + '\nTEN_OPS = ["flip_ud"'),
    "doda_vectorised": "import numpy as np\n" + OPS_LINE + SIGNATURE + """\
    change = np.where(ACCs[:, None] > History_ACCs, 1, np.where(ACCs[:, None] < History_ACCs, -1, 0))
    weight = np.clip(aug_weight + lats_chose_matix * change, 1, 1000)
    cumulative = np.cumsum(weight, axis=1)
    pick = (np.random.rand(weight.shape[0], 1) * cumulative[:, -1:] < cumulative).argmax(axis=1)
    chose = np.arange(weight.shape[1])[None, :] == pick[:, None]
    return chose, np.random.rand(weight.shape[0], weight.shape[1]), weight
""",
}


def time_updates(policy, stats: ClassStats, repeats: int, warmup: int) -> float:
    """Median seconds of one epoch update."""
    times = []
    for i in range(warmup + repeats):
        step = dataclasses.replace(stats, epoch=i + 1, train_acc=torch.rand(CLASSES), prev_train_acc=stats.train_acc)
        start = time.perf_counter()
        policy.update_epoch(step)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
    return statistics.median(times)


def _layers() -> dict[str, dict]:
    from autoda.doctor import sandbox_layers

    return sandbox_layers()


def time_worker_starts(starts: int) -> dict[str, float]:
    """Median seconds to start a worker and have its first answer line, per isolation setting."""
    from autoda.sandbox import SandboxClient, SandboxLimits

    settings = {"worker_start_isolated": SandboxLimits(),
                "worker_start_no_layers": SandboxLimits(layers=(), allow_weak=True)}
    times: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(starts):
        for name, limits in settings.items():  # interleaved, so drift in the machine's load hits both
            client = SandboxClient(limits)
            start = time.perf_counter()
            client.start()
            times[name].append(time.perf_counter() - start)
            client.close()
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--starts", type=int, default=9)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/python_epoch_step.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    counts = torch.tensor([max(1, int(500 * 0.01 ** (c / (CLASSES - 1)))) for c in range(CLASSES)])
    stats = ClassStats.simulated(counts, epoch=10, total_epochs=200)
    dsl = autoda.compile_policy(DSL_DODA, num_classes=CLASSES, seed=0)
    assert dsl.plan.num_ops == len(CUDA_OPS)
    figures = {"dsl_doda": time_updates(dsl, stats, args.repeats, args.warmup)}
    for name, text in PYTHON.items():
        policy = autoda.compile_policy(autoda.check_policy(text, lang="python"), num_classes=CLASSES, seed=0)
        figures[f"python_{name}"] = time_updates(policy, stats, args.repeats, args.warmup)
        policy.python_step.close()
    starts = time_worker_starts(args.starts)
    results = {
        "device": f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
        "python": platform.python_version(), "torch": torch.__version__, "torch_threads": 1,
        "classes": CLASSES, "ops": len(CUDA_OPS), "repeats": args.repeats, "warmup": args.warmup,
        "median_ms": {k: round(v * 1e3, 3) for k, v in figures.items()},
        "ratio_vs_dsl": {k: round(v / figures["dsl_doda"], 2) for k, v in figures.items() if k != "dsl_doda"},
        "starts": args.starts, "worker_start_ms": {k: round(v * 1e3, 1) for k, v in starts.items()},
        "isolation_layers": [name for name, layer in _layers().items() if layer["active"]],
    }
    print(f"device {results['device']}; python {results['python']}; torch {results['torch']}; "
          f"{CLASSES} classes x {len(CUDA_OPS)} ops; median of {args.repeats} epoch updates")
    for name, ms in results["median_ms"].items():
        ratio = results["ratio_vs_dsl"].get(name)
        print(f"  {name:<24} {ms:9.3f} ms" + (f"   {ratio:6.1f}x the DSL step" if ratio else ""))
    for name, ms in results["worker_start_ms"].items():
        print(f"  {name:<24} {ms:9.1f} ms   (median of {args.starts} starts)")
    print(f"  isolation layers here: {', '.join(results['isolation_layers']) or 'none'}")
    write_json(args.out, results)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
