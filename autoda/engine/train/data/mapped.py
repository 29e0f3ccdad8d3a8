"""A decoded split kept on disk and memory-mapped: for sets larger than memory (ImageNet-LT
and iNaturalist at 224 pixels are tens of GB of uint8).

Two files beside each other: ``<key>.u8``, the images as raw uint8 [N, 3, H, W], and
``<key>.u8.pt``, their labels, class names and shape. The images are written into a
temporary file, image by image as they are decoded, and renamed into place when complete;
the index is written (atomically) last, so a split whose index loads is whole. Loading maps
the images copy-on-write: pages are read when a batch gathers them, and nothing written to
the tensor reaches the file.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable

import torch

from ....files import write_atomic
from .imageset import ImageSet


def mapped_paths(cache: Path) -> tuple[Path, Path]:
    """(images, index) for a cache key's path."""
    images = cache.with_suffix(".u8")
    return images, images.with_name(images.name + ".pt")


def load_mapped(cache: Path) -> ImageSet | None:
    """The mapped split, or None when either file is missing or they do not agree (it is
    then built again). weights_only: a cache folder may be shared."""
    images_path, index_path = mapped_paths(cache)
    try:
        index = torch.load(index_path, map_location="cpu", weights_only=True)
        shape, labels, names = tuple(index["shape"]), index["labels"], tuple(index["class_names"])
        n = math.prod(shape)
        if not (len(shape) == 4 and shape[1] == 3 and labels.dtype == torch.long and labels.shape == shape[:1]
                and names and all(isinstance(name, str) for name in names)
                and 0 <= int(labels.min()) and int(labels.max()) < len(names)
                and images_path.stat().st_size == n):
            return None
        images = torch.from_file(str(images_path), shared=False, size=n, dtype=torch.uint8).view(shape)
    except Exception:  # noqa: BLE001 -- whatever a missing or damaged file raises, the cure is a rebuild
        return None
    return ImageSet(images, labels, names)


def write_mapped(cache: Path, shape: tuple[int, int, int, int], placed: Iterable[tuple[int, torch.Tensor]],
                 labels: torch.Tensor, class_names: tuple[str, ...]) -> ImageSet:
    """Write ``placed`` (position, [3, H, W] uint8 image), which fills every position of
    ``shape`` once, and return the split mapped from disk."""
    images_path, index_path = mapped_paths(cache)
    images_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = images_path.with_name(f".{images_path.name}.{os.getpid()}.tmp")
    n = math.prod(shape)
    try:
        with open(tmp, "wb") as f:
            f.truncate(n)
        target = torch.from_file(str(tmp), shared=True, size=n, dtype=torch.uint8).view(shape)
        for position, image in placed:
            target[position] = image
        del target  # unmapped: what was written is in the file
        os.replace(tmp, images_path)
    finally:
        tmp.unlink(missing_ok=True)
    write_atomic(index_path, lambda path: torch.save({"shape": list(shape), "labels": labels,
                                                      "class_names": list(class_names)}, path))
    loaded = load_mapped(cache)
    if loaded is None:
        raise OSError(f"{images_path}: the mapped images did not read back")
    return loaded
