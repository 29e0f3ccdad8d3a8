"""What CUDA's level-of-learning probe (lol_pass in examples/policies/cuda.dsl) costs an
epoch, against the epoch's training pass, on the cifar10-lt-small preset's data and network.

For each level L given to every class, the probe classifies 5 (L + 1)(L + 2) images per
class (10 (s + 1) at each level s <= L, augmented at that level); the figure is the median
of --repeats probes, beside the median of --repeats training epochs of `none` (the
baseline, measured in the same run). Prints a table and writes JSON.

    python benchmarks/level_probe.py [--repeats 3] [--device cpu] [--out benchmarks/results/level_probe.json]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

import autoda
from autoda.engine.train.data import load_dataset
from autoda.engine.train.trainer import Recipe, build_trainer
from autoda.files import write_json
from autoda.presets import PRESETS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--levels", default="0,2,5,10")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "level_probe.json")
    args = parser.parse_args()
    preset = PRESETS["cifar10-lt-small"]
    data = load_dataset(preset.data["dataset"], str(ROOT / preset.data["data_root"]), preset.data["imb_ratio"], 0,
                        max_per_class=preset.data["max_per_class"])
    recipe = Recipe.for_epochs(200, batch_size=128, lr=0.1)
    cuda = autoda.check_policy(ROOT / "examples" / "policies" / "cuda.dsl")
    trainer = build_trainer(data, cuda, "ce", preset.training["net"], recipe, args.device, seed=0)
    plain = build_trainer(data, None, "ce", preset.training["net"], recipe, args.device, seed=0)
    plain.run_epoch()  # warm-up
    epochs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        plain.run_epoch()
        epochs.append(time.perf_counter() - start)
    epoch = statistics.median(epochs)
    rows = []
    for level in (int(x) for x in args.levels.split(",")):
        levels = torch.full((data.num_classes,), level, device=args.device)
        trainer.level_probe(levels)  # warm-up
        times = []
        for repeat in range(args.repeats):
            start = time.perf_counter()
            trainer.level_probe(levels, epoch=repeat)
            times.append(time.perf_counter() - start)
        images = data.num_classes * 5 * (level + 1) * (level + 2)
        rows.append({"level": level, "images": images, "seconds": statistics.median(times),
                     "of_an_epoch": statistics.median(times) / epoch})
    result = {"device": args.device, "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
              "torch": torch.__version__, "data": f"cifar10-lt-small ({len(data.train.labels)} training images)",
              "net": preset.training["net"], "repeats": args.repeats, "training_epoch_seconds": epoch, "probe": rows}
    print(f"{result['machine']}, torch {result['torch']}, {args.device}; median of {args.repeats}; "
          f"a training epoch of `none`: {epoch:.2f} s")
    print("level  images  probe s  of an epoch")
    for r in rows:
        print(f"{r['level']:>5}  {r['images']:>6}  {r['seconds']:>7.2f}  {r['of_an_epoch']:>10.2f}")
    write_json(args.out, result)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
