"""Streamed training data against the on-device path and a torchvision DataLoader.

Three ways to deliver augmented, normalised training batches to the device, on the same
images (CIFAR-10 JPEGs from the archive, as 32-pixel images, and upscaled to --large
pixels for an ImageNet-sized case):

(a) on-device: the decoded uint8 set on the device, a batch gathered by index, the
    compiled standard base applied there (what autoda does when the set fits);
(b) streamed: the decoded set memory-mapped from disk (the cache a set larger than memory
    gets), batches gathered on the host by a background thread, pinned and copied on a
    GPU, the same compiled base applied on the device;
(c) DataLoader: torchvision's ImageFolder over the JPEG files, decoded and augmented per
    sample by transforms.v2 (RandomCrop(pad 4) or RandomResizedCrop, flip, to float,
    normalise) in --workers worker processes, pinned on a GPU (the usual pipeline).

Each is timed over --batches batches of --batch images after one warm-up pass, runs
interleaved (a, b, c, a, ...), the median of --repeats. A training epoch of the trainer
itself, on-device and streamed, is timed too (resnet8w16 at 32 pixels). Prints a table,
writes JSON (device, torch, medians, ratios).

    python benchmarks/stream_throughput.py [--data ../shared/data/cifar10-jpg.tar.gz|synthetic] [--device cpu]
"""
from __future__ import annotations

import argparse
import io
import platform
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from PIL import Image
from torchvision.transforms import v2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoda.engine.augment.compiled import CompiledPolicy  # noqa: E402
from autoda.engine.augment.standard import training_policy  # noqa: E402
from autoda.engine.augment.statistics import ClassStats  # noqa: E402
from autoda.engine.train.data import load_dataset, load_image_folder, make_synthetic  # noqa: E402
from autoda.engine.train.streaming import HostBatches  # noqa: E402
from autoda.engine.train.trainer import Recipe, build_trainer  # noqa: E402
from autoda.files import write_json  # noqa: E402


def jpeg_folder(archive: str, out: Path, per_class: int, side: int) -> Path:
    """``per_class`` JPEGs of each class from the archive's train split (or of the synthetic
    set's), at ``side`` pixels."""
    if archive == "synthetic":
        data = make_synthetic(n_max=per_class, imb_ratio=1, size=32, seed=0)
        for i, (image, label) in enumerate(zip(data.images, data.labels)):
            target = out / "train" / data.class_names[label] / f"{i}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image.permute(1, 2, 0).numpy()).resize((side, side), Image.BICUBIC).save(target)
        return out
    seen: dict[str, int] = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = Path(member.name).parts
            if not member.isfile() or "train" not in parts or seen.get(parts[-2], 0) >= per_class:
                continue
            seen[parts[-2]] = seen.get(parts[-2], 0) + 1
            image = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB")
            if side != image.width:
                image = image.resize((side, side), Image.BICUBIC)
            target = out / "train" / parts[-2] / parts[-1]
            target.parent.mkdir(parents=True, exist_ok=True)
            image.save(target, quality=90)
    return out


class Feeds:
    """The three feeds over one folder, each giving ``batches`` device batches per call."""

    def __init__(self, folder: Path, cache: Path, device: torch.device, batch: int, workers: int) -> None:
        self.device, self.batch = device, batch
        on_host = load_image_folder(folder, "train", cache_dir=cache / "memory", mapped=False)
        self.mapped = load_image_folder(folder, "train", cache_dir=cache / "disk", mapped=True)
        self.on_device = on_host.images.to(device)
        side = on_host.images.shape[-1]
        self.policy = CompiledPolicy(training_policy(None, "standard", side), len(on_host.class_names), seed=0)
        self.policy.to(device).update_epoch(ClassStats.initial(on_host.counts().to(device)))
        self.labels = on_host.labels.to(device)
        self.mean = torch.tensor([0.49, 0.48, 0.45], device=device).view(1, 3, 1, 1)
        self.std = torch.tensor([0.25, 0.24, 0.26], device=device).view(1, 3, 1, 1)
        self.host = HostBatches(self.mapped.images, device, batch)
        crop = (v2.RandomResizedCrop(side, antialias=False) if side > 64 else v2.RandomCrop(side, padding=4))
        to_float = v2.ToDtype(torch.float32, scale=True)
        normalise = v2.Normalize(self.mean.flatten().tolist(), self.std.flatten().tolist())
        transform = v2.Compose([v2.PILToTensor(), crop, v2.RandomHorizontalFlip(), to_float, normalise])
        dataset = torchvision.datasets.ImageFolder(str(folder / "train"), transform=transform)
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                                             pin_memory=device.type == "cuda", drop_last=True)
        self.loader = iter(_endless(loader))  # one pipeline, its workers started once, as over a long run
        self.n = len(self.labels)

    def _finish(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (self.policy(images, labels).float().div_(255) - self.mean) / self.std

    def device_path(self, batches: int) -> None:
        order = torch.randperm(self.n, device=self.device)[: batches * self.batch]
        for begin in range(0, len(order), self.batch):
            index = order[begin:begin + self.batch]
            self._finish(self.on_device.index_select(0, index), self.labels[index])

    def streamed(self, batches: int) -> None:
        order = torch.randperm(self.n, device=self.device)[: batches * self.batch]
        for begin, images in zip(range(0, len(order), self.batch), self.host.epoch(order)):
            self._finish(images, self.labels[order[begin:begin + self.batch]])

    def dataloader(self, batches: int) -> None:
        for _ in range(batches):
            images, _ = next(self.loader)
            images.to(self.device, non_blocking=True)


def _endless(loader):
    while True:
        yield from loader


def timed(run, batches: int, batch: int, device: torch.device) -> float:
    start = time.perf_counter()
    run(batches)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * batch / (time.perf_counter() - start)


def trainer_epochs(archive: str, cache: Path, device: torch.device, repeats: int) -> dict:
    """Images per second of the trainer's epoch (resnet8w16, the cifar10-lt-small data),
    on-device and streamed, interleaved."""
    data = (load_dataset("synthetic", imb_ratio=10) if archive == "synthetic" else
            load_dataset("folder", archive, 100, 0, cache_dir=str(cache), max_per_class=500))
    trainers = {stream: build_trainer(data, None, "ce", "resnet8w16", Recipe(batch_size=128), device, stream=stream)
                for stream in (False, True)}
    figures = {False: [], True: []}
    for stream, trainer in trainers.items():
        trainer.run_epoch()  # warm-up
    for _ in range(repeats):
        for stream, trainer in trainers.items():
            figures[stream].append(trainer.run_epoch().images_per_second)
    on, off = statistics.median(figures[False]), statistics.median(figures[True])
    return {"on_device": on, "streamed": off, "streamed_over_on_device": off / on,
            "runs": {"on_device": figures[False], "streamed": figures[True]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"),
                        help="The CIFAR-10 JPEG archive, or 'synthetic'")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--per-class", type=int, default=300, help="JPEGs per class in the folder")
    parser.add_argument("--large", type=int, default=128, help="The side of the large-image case")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "stream_throughput.json"))
    args = parser.parse_args()
    device = torch.device(args.device)
    result = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or
              platform.machine(), "threads": torch.get_num_threads(), "torch": torch.__version__,
              "torchvision": torchvision.__version__, "batch": args.batch, "batches": args.batches,
              "repeats": args.repeats, "workers": args.workers, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for side in (32, args.large):
            folder = jpeg_folder(args.data, tmp / f"jpeg{side}", args.per_class, side)
            feeds = Feeds(folder, tmp / f"cache{side}", device, args.batch, args.workers)
            runs = {"on_device": feeds.device_path, "streamed": feeds.streamed, "dataloader": feeds.dataloader}
            for run in runs.values():
                run(2)  # warm-up: caches, workers, pages
            figures = {name: [] for name in runs}
            for _ in range(args.repeats):
                for name, run in runs.items():
                    figures[name].append(timed(run, args.batches, args.batch, device))
                    time.sleep(1)  # the DataLoader's workers prefetch on: not in the next feed's time
            medians = {name: statistics.median(v) for name, v in figures.items()}
            result["sizes"][str(side)] = {"images_per_second": medians, "runs": figures,
                                          "streamed_over_on_device": medians["streamed"] / medians["on_device"],
                                          "streamed_over_dataloader": medians["streamed"] / medians["dataloader"]}
            print(f"{side:>4} px  on-device {medians['on_device']:9.0f}  streamed {medians['streamed']:9.0f}  "
                  f"DataLoader ({args.workers} workers) {medians['dataloader']:9.0f} images/s   "
                  f"streamed/on-device {medians['streamed'] / medians['on_device']:.2f}  "
                  f"streamed/DataLoader {medians['streamed'] / medians['dataloader']:.2f}")
        result["trainer_epoch"] = trainer_epochs(args.data, tmp / "trainer", device, args.repeats)
        t = result["trainer_epoch"]
        print(f"trainer epoch (resnet8w16, {'synthetic' if args.data == 'synthetic' else 'cifar10-lt-small'}): "
              f"on-device {t['on_device']:.0f}, streamed "
              f"{t['streamed']:.0f} images/s ({t['streamed_over_on_device']:.2f})")
    print(f"device {result['device']}, torch {result['torch']}, {result['threads']} threads, median of {args.repeats}")
    write_json(args.out, result)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
