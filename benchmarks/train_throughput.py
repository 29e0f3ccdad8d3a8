"""Training throughput on CIFAR-10-LT (IR 100, from ../shared/data/cifar10-jpg.tar.gz) with
ResNet-32 and the six-op policy (benchmarks/policies/six_ops.dsl), in one run:

(a) autoda's on-device pipeline: uint8 images on the device, device-side permutation, the
    compiled policy (after the standard crop and flip), normalisation on the device;
(b) a torchvision DataLoader (--workers processes) whose dataset applies the same ops per
    image with transforms.v2 (random crop with padding 4, flip, two of the six ops at
    magnitude 0.3), feeding the same model, optimiser and loss;
(c) the wall time of one fitness evaluation (fine-tune --n-ft epochs from a cached
    --e-ckp checkpoint, then validation), autoda's unit of search work, and of the
    checkpoint's training (once per search);
(d) (a) with no policy but the standard crop and flip: the policy's share of a training
    step is 1 - (a)/(d).

Each throughput figure is the median over --repeats runs of --batches training batches
(after one warm-up run). On a GPU the trainer runs in bf16 autocast with channels_last.
Prints a table, writes JSON, and ends with `speedup_vs_dataloader=<a/b>`.
--dataset synthetic (no archive needed) and a small --net are for a toy-sized run.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms.v2 as v2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import autoda  # noqa: E402
from autoda.files import write_json  # noqa: E402
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup  # noqa: E402
from autoda.engine.train.models import build_model  # noqa: E402
from autoda.engine.train.trainer import Recipe, Trainer, build_trainer  # noqa: E402
from autoda.policies import example_policies  # noqa: E402
from aug_throughput import per_sample_op  # noqa: E402
import lt_data  # noqa: E402

SIX = ROOT / "benchmarks" / "policies" / "six_ops.dsl"


class PerSampleDataset(torch.utils.data.Dataset):
    """The reference implementations' way: augment one image at a time in a worker."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, ops: list[str], magnitude: float) -> None:
        self.images, self.labels, self.ops = images, labels, ops
        self.values = {op: autoda.ops.OPS[op].parameter(magnitude) if autoda.ops.OPS[op].param else 1.0
                       for op in ops}
        self.base = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        img = self.base(self.images[i])
        for op in random.sample(self.ops, 2):
            spec = autoda.ops.OPS[op]
            value = self.values[op]
            if spec.param is not None and spec.param.signed and random.random() < 0.5:
                value = 2 * spec.param.identity - value
            img = per_sample_op(img, op, value, None)
        return img, self.labels[i]


def loader_epoch(model, optimizer, loader, mean, std, device, batches: int) -> float:
    """Images per second for ``batches`` batches of a standard DataLoader training loop."""
    model.train()
    seen, start = 0, time.perf_counter()
    for step, (images, labels) in enumerate(loader):
        if step == batches:
            break
        x = (images.to(device).float().div_(255) - mean) / std
        loss = F.cross_entropy(model(x), labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(labels)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return seen / (time.perf_counter() - start)


def autoda_epoch(trainer: Trainer, batches: int) -> float:
    """Images per second for ``batches`` batches of autoda's trainer (an epoch cut short)."""
    if trainer.device.type == "cuda":
        torch.cuda.synchronize(trainer.device)
    return trainer.run_epoch(max_batches=batches).images_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    lt_data.add_options(parser)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--e-ckp", type=int, default=1)
    parser.add_argument("--n-ft", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "train_throughput.json")
    args = parser.parse_args()
    data, cache, where = lt_data.load(args)
    device = torch.device(args.device)
    name = "CIFAR-10-LT IR 100" if args.dataset == "folder" else "synthetic, IR 100"
    print(f"device {where}; torch {torch.__version__}; torchvision {torchvision.__version__}; {name}: "
          f"{data.sizes()}; {args.net}, batch 128; median of {args.repeats} runs of {args.batches} batches "
          f"after one warm-up; DataLoader with {args.workers} workers")

    six = autoda.check_policy(SIX)
    trainer = build_trainer(data, six, "ce", args.net, Recipe(batch_size=128), device)
    plain = build_trainer(data, autoda.check_policy(example_policies()["none"]), "ce", args.net,
                          Recipe(batch_size=128), device)

    torch.manual_seed(0)
    model = build_model(args.net, data.num_classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    ops = list(six.lower().stages[0].ops)
    dataset = PerSampleDataset(data.train.images, data.train.labels, ops, 0.3)
    loader = torch.utils.data.DataLoader(dataset, batch_size=128, shuffle=True, num_workers=args.workers,
                                         persistent_workers=args.workers > 0, drop_last=True)

    rates: dict[str, list[float]] = {"autoda": [], "dataloader": [], "autoda_no_policy": []}
    for round_ in range(args.repeats + 1):
        a = autoda_epoch(trainer, args.batches)
        b = loader_epoch(model, optimizer, loader, trainer.mean, trainer.std, device, args.batches)
        d = autoda_epoch(plain, args.batches)
        if round_ > 0:
            rates["autoda"].append(a)
            rates["dataloader"].append(b)
            rates["autoda_no_policy"].append(d)
    median = {k: statistics.median(v) for k, v in rates.items()}
    share = 1 - median["autoda"] / median["autoda_no_policy"]

    evaluator = FitnessEvaluator(data, FitnessSetup("ce", args.net, Recipe(), 0, args.e_ckp, args.n_ft,
                                                    device=args.device), cache)
    started = time.perf_counter()
    evaluator.checkpoint()  # trained (or read) before the clock starts: it is shared by every candidate
    checkpoint_seconds = time.perf_counter() - started
    fitness = evaluator.evaluate(SIX)
    print(f"{'pipeline':<36} {'images/s':>10}")
    print(f"{'(a) autoda on-device':<36} {median['autoda']:>10,.0f}")
    print(f"{'(b) DataLoader + transforms.v2':<36} {median['dataloader']:>10,.0f}")
    print(f"{'(d) autoda, crop and flip only':<36} {median['autoda_no_policy']:>10,.0f}")
    print(f"the six-op policy's share of a training step: {100 * share:.1f}%")
    print(f"(c) one fitness evaluation (e_ckp {args.e_ckp}, n_ft {args.n_ft}): {fitness.seconds:.1f} s, "
          f"balanced validation accuracy {fitness.fitness:.4f}; the checkpoint: {checkpoint_seconds:.1f} s")
    results = {"benchmark": "train_throughput", "device": where, "torch": torch.__version__,
               "data": f"{name} ({args.dataset})", "split_sizes": data.sizes(), "model": args.net,
               "bf16_channels_last": device.type == "cuda", "policy_share_of_step": round(share, 4),
               "batch_size": 128, "batches": args.batches, "repeats": args.repeats, "workers": args.workers,
               "images_per_second": {k: {"median": round(median[k], 1), "runs": [round(r, 1) for r in v]}
                                     for k, v in rates.items()},
               "speedup_vs_dataloader": round(median["autoda"] / median["dataloader"], 2),
               "fitness_evaluation": {"e_ckp": args.e_ckp, "n_ft": args.n_ft, "seconds": round(fitness.seconds, 2),
                                      "checkpoint_seconds": round(checkpoint_seconds, 2),
                                      "evaluations_per_hour": round(3600 / fitness.seconds, 1),
                                      "fitness": fitness.fitness, "ok": fitness.ok}}
    write_json(args.out, results)
    print(f"written {args.out}")
    print(f"speedup_vs_dataloader={median['autoda'] / median['dataloader']:.2f}")


if __name__ == "__main__":
    main()
