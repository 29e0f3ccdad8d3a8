"""What the training benchmarks share: the CIFAR-10-LT data options (the JPEG archive in
../shared/data, or the synthetic set for a toy run), the device option, its name and its synchronisation."""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from autoda.engine.train.data import DataSplits, load_dataset
from autoda.engine.train.fitness import default_cache_dir

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def add_options(parser: argparse.ArgumentParser) -> None:
    """--data, --dataset, --net, --device and --cache-dir."""
    parser.add_argument("--data", type=Path, default=ARCHIVE)
    parser.add_argument("--dataset", choices=("folder", "synthetic"), default="folder")
    parser.add_argument("--net", default="resnet32")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--cache-dir", type=Path, default=None)


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's and the threads torch uses: what a figure was measured on."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def synchronizer(device: torch.device):
    """A function that waits for the device's queued work (a timer's edge); nothing on a CPU."""
    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)


def timed(fn, sync, times: int = 1) -> float:
    """Seconds for ``times`` calls of ``fn``, the device's queued work waited for at both edges
    (``sync``: synchronizer's)."""
    sync()
    start = time.perf_counter()
    for _ in range(times):
        fn()
    sync()
    return time.perf_counter() - start


def prepared_policy(path: Path, device: str, num_classes: int = 10):
    """A policy at epoch 10 of 20 of simulated CIFAR-10-LT statistics (IR 100), so a
    stateful one has moved: what the augmentation benchmarks time."""
    import autoda
    from autoda.engine import ClassStats

    policy = autoda.compile_policy(path, num_classes=num_classes, seed=0, device=device)
    counts = torch.tensor([int(5000 * 100 ** (-i / (num_classes - 1))) for i in range(num_classes)])
    for epoch in range(11):
        policy.update_epoch(ClassStats.simulated(counts, epoch, 20).to(device))
    return policy


def load(args: argparse.Namespace) -> tuple[DataSplits, Path, str]:
    """(CIFAR-10-LT at IR 100 or the synthetic set, the cache folder, the device's name);
    one line and exit 1 when the archive is missing."""
    if args.dataset == "folder" and not args.data.exists():
        sys.exit(f"error: no data at {args.data} (the CIFAR-10 JPEG archive); pass --data")
    where = device_name(torch.device(args.device))
    cache = args.cache_dir or default_cache_dir()
    data = load_dataset(args.dataset, str(args.data), imb_ratio=100, seed=0, cache_dir=str(cache / "data"))
    return data, cache, where
