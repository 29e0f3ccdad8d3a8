"""Image folders: ``[split/]class/image`` trees, as directories or .tar/.tar.gz archives.

ImageNet-LT, iNaturalist and the CIFAR-10 JPEGs in ../shared/data share this layout. A
full load decodes every image once and caches the uint8 tensors in ``cache_dir`` (written
atomically), so the next load of the same archive reads one file.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import Iterator

import torch
from PIL import Image, UnidentifiedImageError

from .imageset import ImageSet

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class DataError(ValueError):
    """A data set that cannot be read as asked."""


def _members(root: Path, split: str) -> Iterator[tuple[str, str, object]]:
    """(class name, file name, opener) for every image under [split/]class/."""
    if root.is_dir():
        base = root / split if (root / split).is_dir() else root
        for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() in IMAGE_SUFFIXES:
                    yield class_dir.name, file.name, file.read_bytes
        return
    try:
        archive = tarfile.open(root, "r:*")
    except (tarfile.TarError, OSError) as error:
        raise DataError(f"{root}: not a directory or a readable tar archive ({error})") from None
    with archive:
        for member in archive:
            parts = Path(member.name).parts
            if not member.isfile() or Path(member.name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            # [prefix/]split/class/file or [prefix/]class/file
            if split in parts[:-2]:
                parts = parts[parts.index(split) + 1:]
            elif any(p in ("train", "test", "val") for p in parts[:-2]):
                continue  # another split
            if len(parts) < 2:
                continue
            # read only if the caller wants it: skipped members are never copied out
            yield parts[-2], parts[-1], (lambda m=member: archive.extractfile(m).read())


def _cache_path(root: Path, split: str, cache_dir: Path) -> Path:
    stat = root.stat()
    key = hashlib.sha256(f"{root.resolve()}|{split}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir / f"{root.name}.{split}.{key}.pt"


def load_image_folder(root: str | os.PathLike, split: str = "train", per_class_limit: int | None = None,
                      cache_dir: str | os.PathLike | None = None) -> ImageSet:
    """Load every image of ``split`` (or the first ``per_class_limit`` of each class).

    Images must share one size; they are converted to RGB. Classes are sorted by name.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"no such data set: {root}")
    cache = _cache_path(root, split, Path(cache_dir)) if cache_dir and per_class_limit is None else None
    if cache is not None and cache.exists():
        saved = torch.load(cache)
        return ImageSet(saved["images"], saved["labels"], tuple(saved["class_names"]))
    by_class: dict[str, list[torch.Tensor]] = {}
    for class_name, file_name, read in _members(root, split):
        images = by_class.setdefault(class_name, [])
        if per_class_limit is not None and len(images) >= per_class_limit:
            continue
        try:
            with Image.open(io.BytesIO(read())) as img:
                array = torch.frombuffer(bytearray(img.convert("RGB").tobytes()), dtype=torch.uint8)
                images.append(array.view(img.height, img.width, 3).permute(2, 0, 1))
        except (UnidentifiedImageError, OSError) as error:
            raise DataError(f"{root}: cannot decode {class_name}/{file_name} ({error})") from None
    if not by_class:
        raise DataError(f"{root}: no images found under {split}/<class>/ or <class>/")
    sizes = {tuple(t.shape) for images in by_class.values() for t in images}
    if len(sizes) > 1:
        raise DataError(f"{root}: images have different sizes ({', '.join(map(str, sorted(sizes)[:3]))}...)")
    names = tuple(sorted(by_class))
    images = torch.stack([t for name in names for t in by_class[name]])
    labels = torch.cat([torch.full((len(by_class[name]),), i, dtype=torch.long) for i, name in enumerate(names)])
    result = ImageSet(images, labels, names)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save({"images": images, "labels": labels, "class_names": list(names)}, tmp)
        os.replace(tmp, cache)
    return result
