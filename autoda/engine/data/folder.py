"""Image folders: ``[split/]class/image`` trees, as directories or .tar/.tar.gz archives,
or a directory with a split file of ``relative/path label`` lines (ImageNet-LT's
ImageNet_LT_train.txt, for one).

The CIFAR-10 JPEGs in ../shared/data use the tree layout. Images of mixed sizes need
``size``: each is resized (shorter side) and centre-cropped to size x size when decoded. A
full load decodes every image once and caches the uint8 tensors in ``cache_dir`` (written
atomically), so the next load of the same data reads one file.
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

from ...files import write_atomic
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


def _list_file(root: Path, split: str) -> Path | None:
    """A split given as a file of ``relative/path label`` lines, or None."""
    if not split.endswith(".txt"):
        return None
    for candidate in (Path(split), root / split):
        if candidate.is_file():
            return candidate
    raise DataError(f"no such split file: {split}")


def _listed(root: Path, list_file: Path) -> tuple[Iterator[tuple[str, str, object]], dict[str, int]]:
    """Members of a split file; a class is named by its folder and ordered by its label."""
    entries, labels = [], {}
    for number, line in enumerate(list_file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            path, label = line.rsplit(maxsplit=1)
            labels.setdefault(Path(path).parent.name, int(label))
        except ValueError:
            raise DataError(f"{list_file}:{number}: expected 'relative/path label'") from None
        entries.append((Path(path).parent.name, Path(path).name, (root / path).read_bytes))
    return iter(entries), labels


def _cache_path(root: Path, split: str, list_file: Path | None, size: int | None, cache_dir: Path) -> Path:
    """The cache file for a split: keyed by the root and the split file (as resolved, so
    one given relative to the root counts too), their sizes and modification times."""
    stats = [root.stat()] + ([list_file.stat()] if list_file is not None else [])
    fingerprint = "|".join([str(root.resolve()), split, str(size)] + [f"{s.st_size}:{s.st_mtime_ns}" for s in stats])
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    return cache_dir / f"{root.name}.{Path(split).stem}.{key}.pt"


def _decode(data: bytes, size: int | None) -> torch.Tensor:
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
        if size is not None:
            scale = size / min(img.size)
            img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))),
                             Image.BILINEAR)
            left, top = (img.width - size) // 2, (img.height - size) // 2
            img = img.crop((left, top, left + size, top + size))
        array = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        return array.view(img.height, img.width, 3).permute(2, 0, 1)


def load_image_folder(root: str | os.PathLike, split: str = "train", per_class_limit: int | None = None,
                      cache_dir: str | os.PathLike | None = None, size: int | None = None) -> ImageSet:
    """Load every image of ``split`` (a folder name, or a split file ending in .txt), or the
    first ``per_class_limit`` of each class.

    Images are converted to RGB and must share one size unless ``size`` is given. Classes
    are sorted by name, or by label for a split file.
    """
    if not Path(root).exists():
        raise DataError(f"no such data set: {root}")  # as given (a --data-root exactly as typed)
    root = Path(root)
    list_file = _list_file(root, split)
    cache = (_cache_path(root, split, list_file, size, Path(cache_dir))
             if cache_dir and per_class_limit is None else None)
    if cache is not None and cache.exists():
        saved = torch.load(cache)
        return ImageSet(saved["images"], saved["labels"], tuple(saved["class_names"]))
    members, order = _listed(root, list_file) if list_file is not None else (_members(root, split), None)
    by_class: dict[str, list[torch.Tensor]] = {}
    for class_name, file_name, read in members:
        images = by_class.setdefault(class_name, [])
        if per_class_limit is not None and len(images) >= per_class_limit:
            continue
        try:
            images.append(_decode(read(), size))
        except (UnidentifiedImageError, OSError) as error:
            raise DataError(f"{root}: cannot decode {class_name}/{file_name} ({error})") from None
    if not by_class:
        raise DataError(f"{root}: no images found under {split}/<class>/ or <class>/")
    sizes = {tuple(t.shape) for images in by_class.values() for t in images}
    if len(sizes) > 1:
        raise DataError(f"{root}: images have different sizes ({', '.join(map(str, sorted(sizes)[:3]))}...); "
                        "give an image size to resize them")
    names = tuple(sorted(by_class, key=(lambda n: order[n]) if order else None))
    images = torch.stack([t for name in names for t in by_class[name]])
    labels = torch.cat([torch.full((len(by_class[name]),), i, dtype=torch.long) for i, name in enumerate(names)])
    result = ImageSet(images, labels, names)
    if cache is not None:
        write_atomic(cache, lambda tmp: torch.save({"images": images, "labels": labels, "class_names": list(names)}, tmp))
    return result
