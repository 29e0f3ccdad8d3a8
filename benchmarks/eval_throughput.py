"""Fitness evaluations per minute on the synthetic set with each executor: in this process
(1 worker, all cores), local worker processes (2 workers), and Ray tasks (1 and 2 workers),
plus Ray with fractional GPUs when a GPU is present.

Each configuration starts its executor, warms it up with one evaluation per worker (so
process start-up and imports are not counted), then times --evals evaluations of the
example policies, submitted as the search submits them; median of --repeats.
The checkpoint (e_ckp) is trained once before anything is timed.

    python benchmarks/eval_throughput.py [--evals 6] [--repeats 3] [--out benchmarks/results/eval_throughput.json]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from autoda.compiler import check_policy
from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.trainer import Recipe
from autoda.files import write_json
from autoda.search.executors import EvaluationSpec, LocalExecutor, ProcessExecutor
from autoda.policies import example_policies

ROOT = Path(__file__).resolve().parents[1]


def timed(executor, policies, workers: int, repeats: int) -> list[float]:
    """Seconds for all the policies, per repeat, after a warm-up."""
    row = 0

    def run(batch):
        nonlocal row
        for policy in batch:
            executor.submit(row, policy)
            row += 1
        finished = executor.results(wait=True)
        assert all(result.ok for _, result in finished), [r.message for _, r in finished if not r.ok]

    run(policies[:workers])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(policies)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", default=str(ROOT / ".bench-cache"))
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/eval_throughput.json"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    gpu = torch.cuda.is_available()
    data_args = {"name": "synthetic", "imb_ratio": 100, "seed": 0, "cache_dir": args.cache}
    data = load_dataset(**data_args)
    # `autoda search`'s defaults for the synthetic set: 20-epoch recipe, e_ckp 10, n_ft 4
    setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(20, batch_size=128, lr=0.1), 0, e_ckp=10, n_ft=4,
                         device="cuda" if gpu else "cpu")
    evaluator = FitnessEvaluator(data, setup, args.cache)
    checkpoint = evaluator.checkpoint()
    texts = list(example_policies().values())
    policies = [check_policy(texts[i % len(texts)]) for i in range(args.evals)]

    def spec(threads: int) -> EvaluationSpec:
        return EvaluationSpec(data_args, setup, args.cache, threads)

    configurations = {"local, 1 worker": (lambda: LocalExecutor(evaluator.evaluate, cores), 1, cores)}
    if not gpu:
        configurations["local processes, 2 workers"] = (lambda: ProcessExecutor(spec(max(1, cores // 2)), 2),
                                                        2, max(1, cores // 2))
    try:
        import ray

        from autoda.search.ray_executor import RayExecutor

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=max(2, cores), include_dashboard=False, log_to_driver=False, configure_logging=False)
        gpus = 0.5 if gpu else 0.0  # two small-model evaluations share one GPU
        for workers in (1, 2):
            configurations[f"ray, {workers} worker{'s' if workers > 1 else ''}" + (", 0.5 GPU each" if gpu else "")] = (
                lambda workers=workers: RayExecutor(spec(1), data, checkpoint, workers=workers, gpus_per_eval=gpus),
                workers, 1)
    except ImportError:
        print("ray is not installed: its rows are skipped (pip install 'autoda[ray]')")

    rows = {}
    for name, (make, workers, threads) in configurations.items():
        executor = make()
        try:
            seconds = statistics.median(timed(executor, policies, workers, args.repeats))
        finally:
            executor.close()
        rows[name] = {"workers": workers, "threads_per_eval": threads, "seconds": round(seconds, 2),
                      "evals_per_minute": round(60 * len(policies) / seconds, 2)}
        print(f"  {name:<34} {rows[name]['evals_per_minute']:7.2f} evaluations/min "
              f"({workers} x {threads} threads, {seconds:.1f} s for {len(policies)})")
    base = rows["local, 1 worker"]["evals_per_minute"]
    for row in rows.values():
        row["ratio_vs_local_1"] = round(row["evals_per_minute"] / base, 2)
    device = torch.cuda.get_device_name(0) if gpu else f"cpu: {platform.processor() or platform.machine()}"
    results = {"device": f"{device}, {cores} logical cores", "torch": torch.__version__,
               "python": platform.python_version(), "evals": len(policies), "repeats": args.repeats,
               "task": "synthetic (imbalance 100), resnet8, 20-epoch recipe, e_ckp 10, n_ft 4, batch 128", "rows": rows}
    print(f"device {results['device']}; torch {results['torch']}; median of {args.repeats}; ratios against "
          f"local, 1 worker: " + ", ".join(f"{k} {v['ratio_vs_local_1']}x" for k, v in rows.items()))
    write_json(args.out, results)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
