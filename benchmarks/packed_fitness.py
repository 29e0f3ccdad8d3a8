"""Fitness evaluations per hour with K candidates packed into one fine-tune (`autoda search
--eval-batch K`), against K = 1 in the same run.

From one cached checkpoint (--e-ckp epochs of CE), K candidates (the example policies in
turn) are fine-tuned --sweep-epochs epochs as one packed network
(FitnessEvaluator.evaluate_many; K = 1 is a plain evaluation), then validated. The time
of a fine-tune epoch gives evaluations per hour at --n-ft epochs (the paper's 20):
3600 * K / (seconds per epoch * n_ft), validation left out (it is one pass of the
validation split per candidate, small beside 20 epochs). Median of --repeats runs after a
warm-up run at each K. Prints a table and writes JSON.

    python benchmarks/packed_fitness.py --device cuda --k 1,4,8,16,32 --out packed.json
    python benchmarks/packed_fitness.py --dataset synthetic --net resnet8 --e-ckp 1 --k 1,2  # toy, CPU
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import autoda
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.trainer import Recipe
from autoda.files import write_json
from autoda.policies import example_policies
import lt_data

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    lt_data.add_options(parser)
    parser.add_argument("--e-ckp", type=int, default=50)
    parser.add_argument("--n-ft", type=int, default=20, help="the fine-tune length evaluations per hour are for")
    parser.add_argument("--sweep-epochs", type=int, default=1, help="fine-tune epochs timed at each K")
    parser.add_argument("--k", default="1,4,8,16,32")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "packed_fitness.json")
    args = parser.parse_args()
    sizes = [int(k) for k in args.k.split(",")]
    device = torch.device(args.device)
    data, cache, where = lt_data.load(args)
    setup = FitnessSetup("ce", args.net, Recipe(), 0, args.e_ckp, args.sweep_epochs, device=args.device)
    evaluator = FitnessEvaluator(data, setup, cache)
    evaluator.checkpoint()  # shared by every candidate: not timed
    texts = list(example_policies().values())
    print(f"device {where}; torch {torch.__version__}; {args.net}, {data.sizes()}; fine-tune of "
          f"{args.sweep_epochs} epoch(s) from epoch {args.e_ckp}; median of {args.repeats} after a warm-up")
    rows = []
    for k in sizes:
        policies = [autoda.check_policy(texts[i % len(texts)]) for i in range(k)]
        times = []
        for round_ in range(args.repeats + 1):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            results = evaluator.evaluate_many(policies, retry_alone=False)  # a K that does not fit fails
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if round_ > 0:
                times.append(time.perf_counter() - start)
        failed = [r.message for r in results if not r.ok]
        seconds = statistics.median(times)
        per_hour = 3600 * k / (seconds / args.sweep_epochs * args.n_ft)
        rows.append({"k": k, "seconds": round(seconds, 3), "runs": [round(t, 3) for t in times],
                     "evaluations_per_hour": round(per_hour, 1), "failed": failed})
        print(f"  K={k:<3} {seconds:8.2f} s for {args.sweep_epochs} epoch(s) + validation; "
              f"{per_hour:9.1f} evaluations/hour at n_ft {args.n_ft}" + (f"; failed: {failed}" if failed else ""))
    base = rows[0]["evaluations_per_hour"]
    for row in rows:
        row["ratio_vs_k1"] = round(row["evaluations_per_hour"] / base, 2) if sizes[0] == 1 else None
    write_json(args.out, {"benchmark": "packed_fitness", "device": where, "torch": torch.__version__,
                          "model": args.net, "data": args.dataset, "e_ckp": args.e_ckp, "n_ft": args.n_ft,
                          "sweep_epochs": args.sweep_epochs, "repeats": args.repeats, "rows": rows})
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
