"""Three disjoint splits for every data set: a long-tailed train split, a balanced
validation split (fitness and model selection) and a balanced test split (final reports
only; the search never reads it).

Train follows the standard long-tail profile over the data set's training images, so
CIFAR-100-LT at IR 100 has its 10,847 images. Validation and test are the two halves
(seeded, per class) of the data set's own test split, so neither shares an image with
train. A folder without a test split gives up a fifth of each class's training images
for them first.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import torch

from ....catalog import DATASETS
from .folder import DataError, load_image_folder
from .imageset import ImageSet
from .longtail import longtail_counts
from .synthetic import make_synthetic
from ....words import counted



@dataclass(frozen=True)
class DataSplits:
    name: str
    train: ImageSet
    val: ImageSet
    test: ImageSet
    imb_ratio: float
    seed: int

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train.labels), "val": len(self.val.labels), "test": len(self.test.labels)}

    def fingerprint(self) -> str:
        """A hash of the train and validation data: what a checkpoint's training saw."""
        # the ratio as a float however it came (100 from a script, 100.0 from the command
        # line): one data set, one checkpoint key
        h = hashlib.sha256(json.dumps([self.name, float(self.imb_ratio), self.seed, self.train.class_names]).encode())
        for part in (self.train, self.val):
            h.update(part.images.contiguous().cpu().numpy().tobytes())
            h.update(part.labels.cpu().numpy().tobytes())
        return h.hexdigest()


def _take(data: ImageSet, index: torch.Tensor) -> ImageSet:
    index = index.sort().values
    return ImageSet(data.images[index], data.labels[index], data.class_names)


def longtail_subset(data: ImageSet, imb_ratio: float, seed: int, n_max: int | None = None) -> ImageSet:
    """The long-tail profile over ``data``: class i keeps n_max * IR^(-i/(C-1)) images,
    chosen at random (seeded); class 0 is the head."""
    available = data.counts()
    n_max = int(available.max()) if n_max is None else n_max
    target = longtail_counts(data.num_classes, n_max, imb_ratio)
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c, n in enumerate(target):
        pool = (data.labels == c).nonzero().flatten()
        if len(pool) < n:
            raise DataError(f"class {data.class_names[c]!r} has {counted(len(pool), 'image')}; the long-tail profile "
                            f"asks for {n}")
        chosen.append(pool[torch.randperm(len(pool), generator=g)[:n]])
    return _take(data, torch.cat(chosen))


def split_per_class(data: ImageSet, fraction: float, seed: int) -> tuple[ImageSet, ImageSet]:
    """Two disjoint parts; the first has ``fraction`` of every class (seeded)."""
    g = torch.Generator().manual_seed(seed)
    first, second = [], []
    for c in range(data.num_classes):
        pool = (data.labels == c).nonzero().flatten()
        pool = pool[torch.randperm(len(pool), generator=g)]
        k = int(round(len(pool) * fraction))
        first.append(pool[:k])
        second.append(pool[k:])
    return _take(data, torch.cat(first)), _take(data, torch.cat(second))


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"class{'es' if len(names) > 1 else ''} {shown}"


def _require_every_class(where: str, train: ImageSet, val: ImageSet, test: ImageSet, imb_ratio: float,
                         held_from_train: bool) -> None:
    """Every class needs a training, a validation and a test image: a class with none would
    be read later as a policy's failure (a count of 0) or an accuracy of nothing."""
    # the held-out splits first: no imbalance ratio gives a class held-out images
    for split, part in (("validation", val), ("test", test), ("training", train)):
        missing = [n for n, k in zip(part.class_names, part.counts().tolist()) if k == 0]
        if not missing:
            continue
        if split == "training":
            head = int(train.counts().max())
            why = (f"the long-tail profile at imbalance ratio {imb_ratio:g} gives the rarest class 1/{imb_ratio:g} "
                   f"of the head class's {head} images; lower the imbalance ratio (--imb-ratio) to at most "
                   f"{head}, or give every class more images")
        elif held_from_train:
            why = ("with no test (or val) split, a fifth of each class's images is held out for validation and "
                   "test, half each, so every class needs at least 8 images; or add a test/ split")
        else:
            why = "the held-out split (test/ or val/) needs at least 2 images of every class"
        raise DataError(f"{where}: {_names(missing)} {'have' if len(missing) > 1 else 'has'} no image in the "
                        f"{split} split: {why}")


def _cifar(name: str, root: str | None, download: bool) -> tuple[ImageSet, ImageSet]:
    import torchvision  # only this data set needs it at load time

    cls = torchvision.datasets.CIFAR10 if name == "cifar10-lt" else torchvision.datasets.CIFAR100
    root = root or os.environ.get("AUTODA_DATA", "data")
    try:
        parts = [cls(root, train=train, download=download) for train in (True, False)]
    except RuntimeError as error:
        raise DataError(f"{name}: {error} (looked in {root}; pass --download to fetch it, or use "
                        f"--dataset folder with an image folder or archive)") from None
    return tuple(ImageSet(torch.from_numpy(p.data).permute(0, 3, 1, 2).contiguous(),
                          torch.tensor(p.targets, dtype=torch.long), tuple(p.classes)) for p in parts)


def _folder(root: str | None, cache_dir: str | None, splits: tuple[str, ...],
            size: int | None, mapped: bool | None) -> tuple[ImageSet, ImageSet | None]:
    if root is None:
        raise DataError("--dataset folder needs --data-root (a folder or a .tar/.tar.gz archive)")
    train = load_image_folder(root, splits[0], cache_dir=cache_dir, size=size, mapped=mapped)
    for split in splits[1:]:
        try:
            return train, load_image_folder(root, split, cache_dir=cache_dir, size=size, mapped=mapped)
        except DataError:
            if split.endswith(".txt"):
                raise
    return train, None


def _listed_splits(where: str, train: ImageSet, val: ImageSet, test: ImageSet, seed: int) -> DataSplits:
    """Splits a training split file gives, whole: the long tail it lists."""
    for part in (val, test):
        if part.class_names != train.class_names:
            only = sorted(set(part.class_names) ^ set(train.class_names))
            raise DataError(f"{where}: the split files have different classes ({_names(only)} in only some)")
    counts = train.counts()
    imb_ratio = float(counts.max()) / max(1, int(counts.min()))
    _require_every_class(where, train, val, test, imb_ratio, False)
    return DataSplits("folder", train, val, test, imb_ratio, seed)


def load_dataset(name: str, data_root: str | None = None, imb_ratio: float = 100, seed: int = 0,
                 download: bool = False, cache_dir: str | None = None, synthetic_size: int = 32,
                 train_list: str | None = None, test_list: str | None = None,
                 image_size: int | None = None, max_per_class: int | None = None,
                 val_list: str | None = None, mapped: bool | None = None) -> DataSplits:
    """Load a data set as long-tailed train, balanced validation and balanced test splits.

    A folder's splits are its ``train`` and ``test`` (or ``val``) folders, or the split
    files ``train_list`` and ``test_list``; ``image_size`` resizes mixed-size images.
    ``max_per_class`` caps the head class (n_max) below what the data set holds, so a small
    long-tailed subset keeps the profile: 500 at IR 100 gives CIFAR-10 500 ... 5 images.
    A training split file is long-tailed as it lists (ImageNet-LT's, iNaturalist's): it
    is taken whole, and ``imb_ratio`` becomes its own (the head's images over the rarest
    class's). With ``val_list`` too, the validation split is that file and the test split
    ``test_list``, each whole (ImageNet-LT's three files); otherwise the held-out images
    are halved. ``mapped``: keep the decoded folder splits on disk (folder.py); by default
    those larger than half the memory.
    """
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    if imb_ratio < 1:
        raise DataError(f"the imbalance ratio must be >= 1, got {imb_ratio:g}")
    if max_per_class is not None and max_per_class < 1:
        raise DataError(f"the head class's cap (--max-per-class) must be >= 1, got {max_per_class}")
    where, held_from_train = data_root or name, False
    if name == "synthetic":
        train = make_synthetic(n_max=min(100, max_per_class or 100), imb_ratio=imb_ratio, size=synthetic_size,
                               seed=seed)
        held_out = make_synthetic(n_max=40, imb_ratio=1, size=synthetic_size, seed=seed + 1)
    else:
        if name.startswith("cifar"):
            pool, held_out = _cifar(name, data_root, download)
        else:
            if val_list is not None and (train_list is None or test_list is None):
                raise DataError("a validation split file (--val-list) goes with a training and a test split file")
            splits = (train_list or "train",) + ((test_list,) if test_list else ("test", "val"))
            pool, held_out = _folder(data_root, cache_dir, splits, image_size, mapped)
            if val_list is not None:
                val = load_image_folder(data_root, val_list, cache_dir=cache_dir, size=image_size, mapped=mapped)
                return _listed_splits(where, pool, val, held_out, seed)
        if train_list is not None and held_out is not None:
            val, test = split_per_class(held_out, 0.5, seed)
            return _listed_splits(where, pool, val, test, seed)
        if held_out is None:
            held_out, pool = split_per_class(pool, 0.2, seed)
            held_from_train = True
        elif pool.class_names != held_out.class_names:
            only = sorted(set(pool.class_names) ^ set(held_out.class_names))
            raise DataError(f"{where}: the training and held-out (test) splits have different classes "
                            f"({_names(only)} in only one of them)")
        try:
            head = int(pool.counts().max())
            train = longtail_subset(pool, imb_ratio, seed, None if max_per_class is None else min(head, max_per_class))
        except DataError as error:
            raise DataError(f"{where}: {error}") from None
    val, test = split_per_class(held_out, 0.5, seed)
    _require_every_class(where, train, val, test, imb_ratio, held_from_train)
    return DataSplits(name, train, val, test, imb_ratio, seed)
