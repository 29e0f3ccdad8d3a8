import io
import os
import re
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from autoda.engine.train.data import DataError, load_image_folder, longtail_counts, make_synthetic
from bounded import run_bounded

CIFAR = Path(__file__).parents[4] / "shared" / "data" / "cifar10-jpg.tar.gz"


def test_longtail_profile():
    assert sum(longtail_counts(100, 500, 100)) == 10_847  # CIFAR-100-LT, IR 100
    assert longtail_counts(10, 5000, 100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert longtail_counts(1, 7, 10) == [7]


def test_synthetic_set_is_long_tailed_and_reproducible():
    a, b = make_synthetic(seed=3), make_synthetic(seed=3)
    assert torch.equal(a.images, b.images) and a.images.dtype == torch.uint8
    assert a.counts().tolist() == longtail_counts(10, 100, 10)
    assert not torch.equal(a.images, make_synthetic(seed=4).images)
    means = torch.stack([a.images[a.labels == c].float().mean(0) for c in range(10)])
    assert torch.cdist(means.flatten(1), means.flatten(1)).fill_diagonal_(1e9).min() > 100  # classes differ


def _png(colour, size=(6, 5)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), colour, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _tree(root: Path, split="train", classes=("b_cat", "a_dog"), per_class=3, size=(6, 5)) -> None:
    for c, name in enumerate(classes):
        folder = root / split / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            (folder / f"{i}.png").write_bytes(_png(10 * c + i, size))


def test_image_folder_from_a_directory(tmp_path):
    _tree(tmp_path)
    data = load_image_folder(tmp_path)
    assert data.class_names == ("a_dog", "b_cat") and data.images.shape == (6, 3, 5, 6)
    assert data.counts().tolist() == [3, 3]
    assert data.images[data.labels == 0][:, 0, 0, 0].tolist() == [10, 11, 12]  # a_dog's own pixels
    assert len(load_image_folder(tmp_path, per_class_limit=2).labels) == 4


def test_image_folder_from_an_archive_with_a_cache(tmp_path):
    _tree(tmp_path / "src")
    _tree(tmp_path / "src", split="test", per_class=1)
    archive = tmp_path / "set.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src", arcname="set")
    cache = tmp_path / "cache"
    first = load_image_folder(archive, cache_dir=cache)
    assert len(list(cache.glob("*.pt"))) == 1
    second = load_image_folder(archive, cache_dir=cache)
    assert torch.equal(first.images, second.images) and first.class_names == second.class_names
    assert load_image_folder(archive, split="test").counts().tolist() == [1, 1]


def test_bad_data_sets_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no such data set"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(DataError, match="no images"):
        load_image_folder(tmp_path)
    _tree(tmp_path / "mixed", classes=("a",), size=(6, 5))
    (tmp_path / "mixed" / "train" / "a" / "big.png").write_bytes(_png(0, (8, 8)))
    with pytest.raises(DataError, match="different sizes"):
        load_image_folder(tmp_path / "mixed")
    (tmp_path / "notes.txt").write_text("not an archive")
    with pytest.raises(DataError, match="not a directory or a readable tar archive"):
        load_image_folder(tmp_path / "notes.txt")


@pytest.mark.skipif(not CIFAR.exists(), reason=f"the CIFAR-10 archive is not at {CIFAR}")
def test_the_cifar10_jpeg_archive_reads_as_ten_classes():
    data = load_image_folder(CIFAR, split="test", per_class_limit=2)
    assert data.class_names[0] == "airplane" and data.num_classes == 10
    assert data.images.shape == (20, 3, 32, 32)


def test_split_files_and_resizing_to_one_size(tmp_path):
    for label, name in ((1, "zebra"), (0, "ant")):  # label order differs from name order
        folder = tmp_path / "images" / name
        folder.mkdir(parents=True)
        for i, size in enumerate(((8, 6), (5, 9))):
            (folder / f"{i}.png").write_bytes(_png(100 * label + i, size))
    (tmp_path / "train.txt").write_text("images/zebra/0.png 1\nimages/ant/0.png 0\nimages/ant/1.png 0\n\n")
    with pytest.raises(DataError, match="different sizes"):
        load_image_folder(tmp_path, "train.txt")
    data = load_image_folder(tmp_path, "train.txt", size=4)
    assert data.class_names == ("ant", "zebra") and data.images.shape == (3, 3, 4, 4)
    assert data.counts().tolist() == [2, 1]
    (tmp_path / "bad.txt").write_text("images/ant/0.png\n")
    with pytest.raises(DataError, match="bad.txt:1"):
        load_image_folder(tmp_path, "bad.txt")


def test_editing_a_split_file_given_relative_to_the_root_refreshes_the_cache(tmp_path, monkeypatch):
    root = tmp_path / "set"
    _tree(root, split="images")
    (root / "train.txt").write_text("images/a_dog/0.png 0\nimages/b_cat/0.png 1\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the split file resolves under the root only
    cache = tmp_path / "cache"
    assert load_image_folder(root, "train.txt", cache_dir=cache).counts().tolist() == [1, 1]
    assert len(list(cache.glob("*.pt"))) == 1
    (root / "train.txt").write_text("images/a_dog/0.png 0\nimages/a_dog/1.png 0\nimages/b_cat/0.png 1\n")
    assert load_image_folder(root, "train.txt", cache_dir=cache).counts().tolist() == [2, 1]


# --- hostile inputs: one clear DataError naming the file, in bounded memory and time ----------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header that declares width x height pixels, with a few bytes of data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 100))
            + _chunk(b"IEND", b""))


def _bmp_declaring(width: int, height: int) -> bytes:
    dib = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54) + dib + b"\0" * 16


def _with_bad_checksum(png: bytes) -> bytes:
    data = bytearray(png)
    data[29] ^= 0xFF  # the IHDR chunk's CRC
    return bytes(data)


def _folder_with(root: Path, name: str, make) -> Path:
    _tree(root, classes=("a",), per_class=2)
    make(root / "train" / "a" / name)
    return root


@pytest.mark.parametrize("name,content,message", [
    ("bomb.png", _png_declaring(100_000, 100_000), "decompression bomb"),
    ("bomb.bmp", _bmp_declaring(100_000, 100_000), "decompression bomb"),
    ("big.png", _png_declaring(8_000, 6_000), r"8000 x 6000 pixels; the limit is 40,000,000"),
    ("crc.png", _with_bad_checksum(_png(3)), "not a JPEG, PNG, BMP or WebP image, or a damaged one"),
    ("cut.png", _png(3, (64, 64))[:60], "cannot decode it"),
    ("empty.png", b"", "cannot decode it"),
    ("ghostscript.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n", "not a JPEG, PNG"),
])
def test_broken_and_hostile_images_are_one_clear_error(tmp_path, name, content, message):
    root = _folder_with(tmp_path, name, lambda path: path.write_bytes(content))
    for source in (root, _archive_of(root, tmp_path / "set.tar.gz")):
        with pytest.raises(DataError, match=message) as error:
            load_image_folder(source)
        text = str(error.value)
        assert f"a/{name}" in text and "\n" not in text and "BytesIO" not in text


def _archive_of(root: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="set")
    return archive


@pytest.mark.parametrize("kind,make,message", [
    ("a link to /dev/zero", lambda path: path.symlink_to("/dev/zero"), "a character device, not a regular file"),
    ("a FIFO", os.mkfifo, r"a named pipe \(FIFO\), not a regular file"),
    ("a folder", Path.mkdir, "a directory, not a regular file"),
    ("a dangling link", lambda path: path.symlink_to("/no/such/file"), "cannot read it"),
])
def test_an_image_name_on_something_that_is_not_a_file_is_refused(tmp_path, kind, make, message):
    root = _folder_with(tmp_path, "x.png", make)
    code = f"from autoda.engine.train.data import load_image_folder\nload_image_folder({str(root)!r})"
    result = run_bounded(code, imports="autoda.engine.train.data")  # before the fix: /dev/zero read without end, a FIFO waited forever
    assert result.returncode == 1 and "DataError" in result.stderr, result.stderr[-2000:]
    assert re.search(f"a/x.png: {message}", result.stderr), result.stderr[-2000:]


def test_a_data_root_that_is_a_fifo_or_a_device_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    code = ("from autoda.engine.train.data import DataError, load_image_folder\n"
            f"for root in ({str(tmp_path / 'fifo')!r}, '/dev/zero'):\n"
            "    try:\n        load_image_folder(root)\n    except DataError as error:\n        print(error)\n")
    result = run_bounded(code, imports="autoda.engine.train.data")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == [f"{tmp_path / 'fifo'}: not a directory or an archive file",
                                          "/dev/zero: not a directory or an archive file"]


def test_an_image_over_the_byte_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import autoda.engine.train.data.folder as folder
    monkeypatch.setattr(folder, "MAX_IMAGE_BYTES", 1000)
    root = _folder_with(tmp_path, "large.bmp", lambda path: path.write_bytes(b"BM" + b"\0" * 2000))
    with pytest.raises(DataError, match=r"a/large.bmp: 2,002 bytes; the limit is 1,000"):
        load_image_folder(root)
    with pytest.raises(DataError, match=r"large.bmp is 2,002 bytes; the limit for an image is 1,000"):
        load_image_folder(_archive_of(root, tmp_path / "set.tar.gz"))


@pytest.mark.parametrize("name", ["../x.png", "train/../../a/x.png", "/etc/a/x.png"])
def test_archive_members_with_escaping_names_are_refused(tmp_path, name):
    archive = tmp_path / "set.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for member in ("train/a/0.png", name):
            info = tarfile.TarInfo(member)
            data = _png(1)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DataError, match=f"member {re.escape(repr(name))} has an absolute or '..' path"):
        load_image_folder(archive)


def test_damaged_and_unsupported_archives_are_one_clear_error(tmp_path):
    _tree(tmp_path / "src", per_class=20, size=(64, 64))
    for image in (tmp_path / "src").rglob("*.png"):  # incompressible, so half the archive is half the images
        image.write_bytes(image.read_bytes() + os.urandom(4000))
    whole = _archive_of(tmp_path / "src", tmp_path / "whole.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cut.tar.gz: .*(cannot read it|damaged)") as error:
        load_image_folder(tmp_path / "cut.tar.gz")
    assert "\n" not in str(error.value)
    (tmp_path / "noise.tar.gz").write_bytes(b"\x1f\x8b" + os.urandom(3000))
    with pytest.raises(DataError, match="not a directory or a readable tar archive") as error:
        load_image_folder(tmp_path / "noise.tar.gz")
    assert "\n" not in str(error.value)
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as archive:
        archive.writestr("train/a/0.png", _png(1))
    with pytest.raises(DataError, match=r"\.zip is not read"):
        load_image_folder(tmp_path / "set.zip")


@pytest.mark.parametrize("content,message", [
    (np.random.default_rng(0).bytes(64) + b"\xff\xfe", "not a readable split file"),  # the same in every process
    (b"/etc/passwd 0\n", "must be a path inside"),
    (b"images/a/../../../etc/passwd 0\n", "must be a path inside"),
    (b"images/a/missing.png 0\n", "a/missing.png: cannot read it"),
    (b"\n\n", "no images listed in"),
])
def test_garbage_split_files_are_clear_errors(tmp_path, content, message):
    _tree(tmp_path, split="images", classes=("a",))
    (tmp_path / "train.txt").write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_image_folder(tmp_path, "train.txt")


def test_a_split_file_that_is_a_device_is_refused(tmp_path):
    _tree(tmp_path, split="images", classes=("a",))
    (tmp_path / "train.txt").symlink_to("/dev/zero")
    with pytest.raises(DataError, match="not a regular file"):
        load_image_folder(tmp_path, "train.txt")


@pytest.mark.parametrize("damage", [
    lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    lambda path: path.write_bytes(b"garbage"),
    lambda path: path.write_bytes(b""),
    lambda path: torch.save([1, 2, 3], path),
    lambda path: torch.save({"images": torch.zeros(2, 3, 5, 6, dtype=torch.uint8), "labels": torch.tensor([0, 7]),
                             "class_names": ["a_dog"]}, path),
], ids=["truncated", "garbage", "empty", "a list", "labels out of range"])
def test_a_damaged_cache_file_is_rebuilt(tmp_path, damage):
    _tree(tmp_path / "set")
    cache = tmp_path / "cache"
    first = load_image_folder(tmp_path / "set", cache_dir=cache)
    (path,) = cache.glob("*.pt")
    damage(path)
    again = load_image_folder(tmp_path / "set", cache_dir=cache)
    assert torch.equal(again.images, first.images) and again.class_names == first.class_names
    assert torch.equal(torch.load(path)["images"], first.images)  # written anew


def test_an_unwritable_cache_folder_does_not_fail_the_load(tmp_path):
    _tree(tmp_path / "set")
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    assert load_image_folder(tmp_path / "set", cache_dir=tmp_path / "cache").counts().tolist() == [3, 3]
