"""Image folders: ``[split/]class/image`` trees, as directories or .tar/.tar.gz archives,
or a directory with a split file of ``relative/path label`` lines (ImageNet-LT's
ImageNet_LT_train.txt, for one).

The CIFAR-10 JPEGs in ../shared/data use the tree layout. Images of mixed sizes need
``size``: each is resized (shorter side) and centre-cropped to size x size when decoded. A
full load decodes every image once and caches the uint8 tensors in ``cache_dir`` (written
atomically), so the next load of the same data reads one file; a split larger than memory
is decoded into a memory-mapped file instead (mapped.py), which the trainer streams from.

Every input is read in bounded memory and time (see decode.py): an image is read only from
a regular file (a symlink to a file elsewhere is fine: folders of links are a common way to
build a subset; a link to /dev/zero or a FIFO is refused), at most MAX_IMAGE_BYTES of it;
archive members with absolute or '..' names are refused; a cache file that does not load
or does not hold what a cache holds is rebuilt.
"""
from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import torch

from ....errors import AutodaError
from ....files import FileTooLarge, NotARegularFile, read_limited, write_atomic
from .decode import IMAGE_SUFFIXES, MAX_IMAGE_BYTES, ImageError, decode_image
from .imageset import ImageSet
from .mapped import load_mapped, write_mapped

MAX_LIST_BYTES = 256 * 2**20  # iNaturalist 2018's training list, the longest we know, is about 40 MiB

Member = tuple[str, str, Callable[[], bytes]]  # class name, file name, how to read its bytes


class DataError(AutodaError, ValueError):
    """A data set that cannot be read as asked."""


def _read_image_file(path: Path) -> bytes:
    return read_limited(path, MAX_IMAGE_BYTES)


def _directory_members(root: Path, split: str) -> Iterator[Member]:
    base = root / split if (root / split).is_dir() else root
    try:
        for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() in IMAGE_SUFFIXES:
                    yield class_dir.name, file.name, lambda file=file: _read_image_file(file)
    except OSError as error:  # a folder that cannot be listed (permissions, a vanished mount)
        raise DataError(f"{root}: cannot list {error.filename or base} ({error.strerror or error})") from None


def _archive_members(root: Path, split: str) -> Iterator[Member]:
    try:
        archive = tarfile.open(root, "r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error):  # tarfile's message lists every method it tried
        hint = "; .zip is not read: extract it, or pack it as .tar.gz" if root.suffix.lower() == ".zip" else ""
        raise DataError(f"{root}: not a directory or a readable tar archive "
                        f"(.tar, .tar.gz, .tar.bz2, .tar.xz){hint}") from None
    with archive:
        try:
            for member in archive:
                name = PurePosixPath(member.name)
                if not member.isfile() or name.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                if name.is_absolute() or ".." in name.parts:  # never read, but a class named '..' is a lie
                    raise DataError(f"{root}: member {member.name!r} has an absolute or '..' path")
                parts = name.parts
                # [prefix/]split/class/file or [prefix/]class/file
                if split in parts[:-2]:
                    parts = parts[parts.index(split) + 1:]
                elif any(p in ("train", "test", "val") for p in parts[:-2]):
                    continue  # another split
                if len(parts) < 2:
                    continue
                if member.size > MAX_IMAGE_BYTES:
                    raise DataError(f"{root}: {member.name} is {member.size:,} bytes; the limit for an image is "
                                    f"{MAX_IMAGE_BYTES:,}")
                # read only if the caller wants it: skipped members are never copied out
                yield parts[-2], parts[-1], (lambda m=member: archive.extractfile(m).read())
        except (tarfile.TarError, EOFError, zlib.error) as error:  # truncated or corrupt past its first member
            raise DataError(f"{root}: the archive is damaged ({type(error).__name__}: {error})") from None


def _members(root: Path, split: str) -> Iterator[Member]:
    """(class name, file name, reader) for every image under [split/]class/."""
    if root.is_dir():
        return _directory_members(root, split)
    mode = root.stat().st_mode
    if not stat.S_ISREG(mode):  # opening a FIFO would wait for a writer, a device read forever
        raise DataError(f"{root}: not a directory or an archive file")
    return _archive_members(root, split)


def _list_file(root: Path, split: str) -> Path | None:
    """A split given as a file of ``relative/path label`` lines, or None."""
    if not split.endswith(".txt"):
        return None
    for candidate in (Path(split), root / split):
        if candidate.is_file():
            return candidate
        if candidate.exists():
            raise DataError(f"split file {candidate}: not a regular file")
    raise DataError(f"no such split file: {split}")


def _listed(root: Path, list_file: Path) -> tuple[list[Member], dict[str, int]]:
    """Members of a split file; a class is named by its folder and ordered by its label."""
    try:
        text = read_limited(list_file, MAX_LIST_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{list_file}: not a readable split file of 'relative/path label' lines ({error})") from None
    entries, labels = [], {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            path, label = line.rsplit(maxsplit=1)
            labels.setdefault(PurePosixPath(path).parent.name, int(label))
        except ValueError:
            raise DataError(f"{list_file}:{number}: expected 'relative/path label'") from None
        where = PurePosixPath(path)
        if where.is_absolute() or ".." in where.parts:
            raise DataError(f"{list_file}:{number}: {path!r} must be a path inside {root}")
        entries.append((where.parent.name, where.name, lambda path=root / path: _read_image_file(path)))
    return entries, labels


def _cache_path(root: Path, split: str, list_file: Path | None, size: int | None, cache_dir: Path) -> Path:
    """The cache file for a split: keyed by the root and the split file (as resolved, so
    one given relative to the root counts too), their sizes and modification times."""
    stats = [root.stat()] + ([list_file.stat()] if list_file is not None else [])
    fingerprint = "|".join([str(root.resolve()), split, str(size)] + [f"{s.st_size}:{s.st_mtime_ns}" for s in stats])
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    return cache_dir / f"{root.name}.{Path(split).stem}.{key}.pt"


def _load_cache(cache: Path) -> ImageSet | None:
    """The cached split, or None when the file is missing, truncated, garbage or not what a
    cache holds (it is rebuilt). weights_only: a cache folder may be shared, and a pickle
    that is not plain tensors and lists is never run."""
    try:
        saved = torch.load(cache, map_location="cpu", weights_only=True)
        images, labels, names = saved["images"], saved["labels"], tuple(saved["class_names"])
        if not (images.dtype == torch.uint8 and images.dim() == 4 and images.shape[1] == 3
                and labels.dtype == torch.long and labels.shape == images.shape[:1]
                and names and all(isinstance(n, str) for n in names)
                and 0 <= int(labels.min()) and int(labels.max()) < len(names)):
            return None
    except Exception:  # noqa: BLE001 -- whatever a missing or damaged file raises, the cure is a rebuild
        return None
    return ImageSet(images, labels, names)


def _decoded(root: Path, class_name: str, file_name: str, read: Callable[[], bytes], size: int | None) -> torch.Tensor:
    """One member read and decoded, or the DataError that says which and why."""
    where = f"{root}: {class_name}/{file_name}"
    try:
        data = read()
    except (NotARegularFile, FileTooLarge) as error:
        raise DataError(f"{where}: {error.reason}") from None
    except (OSError, tarfile.TarError, EOFError, zlib.error) as error:
        raise DataError(f"{where}: cannot read it ({getattr(error, 'strerror', None) or error})") from None
    try:
        return decode_image(data, size)
    except ImageError as error:
        raise DataError(f"{where}: cannot decode it ({error})") from None


def _mixed_sizes(root: Path, sizes: set[tuple[int, ...]]) -> DataError:
    return DataError(f"{root}: images have different sizes ({', '.join(map(str, sorted(sizes)[:3]))}...); "
                     "give an image size to resize them")


def _no_images(root: Path, split: str, list_file: Path | None) -> DataError:
    where = f"listed in {list_file}" if list_file is not None else f"found under {split}/<class>/ or <class>/"
    return DataError(f"{root}: no images {where}")


def _available_memory() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system that says: assume it fits
        return 1 << 62


def load_image_folder(root: str | os.PathLike, split: str = "train", per_class_limit: int | None = None,
                      cache_dir: str | os.PathLike | None = None, size: int | None = None,
                      mapped: bool | None = None) -> ImageSet:
    """Load every image of ``split`` (a folder name, or a split file ending in .txt), or the
    first ``per_class_limit`` of each class.

    Images are converted to RGB and must share one size unless ``size`` is given. Classes
    are sorted by name, or by label for a split file. ``mapped`` keeps the decoded split on
    disk in the cache folder, memory-mapped (mapped.py), instead of in memory; by default
    only a split larger than half the memory available is.
    """
    if not Path(root).exists():
        raise DataError(f"no such data set: {root}")  # as given (a --data-root exactly as typed)
    root = Path(root)
    list_file = _list_file(root, split)
    cache = (_cache_path(root, split, list_file, size, Path(cache_dir))
             if cache_dir and per_class_limit is None else None)
    if cache is not None:
        cached = _load_cache(cache) or load_mapped(cache)
        if cached is not None:
            return cached

    # a split file is read once; a folder or archive is walked anew by each pass
    entries, order = _listed(root, list_file) if list_file is not None else (None, None)

    def members() -> Iterator[Member]:
        return iter(entries) if entries is not None else _members(root, split)

    if mapped or mapped is None and cache is not None:
        counts: dict[str, int] = {}
        first = None
        for class_name, file_name, read in members():  # a first pass that reads no image but one
            if per_class_limit is None or counts.get(class_name, 0) < per_class_limit:
                counts[class_name] = counts.get(class_name, 0) + 1
                if first is None:
                    first = _decoded(root, class_name, file_name, read, size)
        if first is None:
            raise _no_images(root, split, list_file)
        if mapped is None:
            mapped = sum(counts.values()) * first.numel() > _available_memory() // 2
        if mapped:
            if cache is None:
                raise DataError(f"{root}: a split kept on disk needs a cache folder (and no per-class limit)")
            return _mapped(root, cache, members(), counts, order, tuple(first.shape), per_class_limit, size)
    by_class: dict[str, list[torch.Tensor]] = {}
    for class_name, file_name, read in members():
        images = by_class.setdefault(class_name, [])
        if per_class_limit is not None and len(images) >= per_class_limit:
            continue
        images.append(_decoded(root, class_name, file_name, read, size))
    if not by_class:
        raise _no_images(root, split, list_file)
    sizes = {tuple(t.shape) for images in by_class.values() for t in images}
    if len(sizes) > 1:
        raise _mixed_sizes(root, sizes)
    names = tuple(sorted(by_class, key=(lambda n: order[n]) if order else None))
    images = torch.stack([t for name in names for t in by_class[name]])
    labels = torch.cat([torch.full((len(by_class[name]),), i, dtype=torch.long) for i, name in enumerate(names)])
    result = ImageSet(images, labels, names)
    if cache is not None:
        try:
            write_atomic(cache, lambda tmp: torch.save({"images": images, "labels": labels,
                                                        "class_names": list(names)}, tmp))
        except OSError:  # a read-only or full cache folder costs the next load a decode, not this one its data
            pass
    return result


def _mapped(root: Path, cache: Path, members: Iterator[Member], counts: dict[str, int], order: dict[str, int] | None,
            shape: tuple[int, ...], per_class_limit: int | None, size: int | None) -> ImageSet:
    """The split decoded straight into a memory-mapped file, each image where the in-memory
    load would put it (classes in order, a class's images in the order read)."""
    names = tuple(sorted(counts, key=(lambda n: order[n]) if order else None))
    start, total = {}, 0
    for name in names:
        start[name], total = total, total + counts[name]
    labels = torch.cat([torch.full((counts[name],), i, dtype=torch.long) for i, name in enumerate(names)])

    def placed() -> Iterator[tuple[int, torch.Tensor]]:
        seen: dict[str, int] = {}
        for class_name, file_name, read in members:
            k = seen.get(class_name, 0)
            if per_class_limit is not None and k >= per_class_limit:
                continue
            seen[class_name] = k + 1
            image = _decoded(root, class_name, file_name, read, size)
            if tuple(image.shape) != shape:
                raise _mixed_sizes(root, {tuple(image.shape), shape})
            yield start[class_name] + k, image

    try:
        return write_mapped(cache, (total, *shape), placed(), labels, names)
    except OSError as error:
        raise DataError(f"{root}: cannot keep the decoded split in {cache.parent} ({error})") from None
