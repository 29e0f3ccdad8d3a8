import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from autoda.engine.data import DataError, load_image_folder, longtail_counts, make_synthetic

CIFAR = Path(__file__).parents[3] / "shared" / "data" / "cifar10-jpg.tar.gz"


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
