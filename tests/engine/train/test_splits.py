import pytest
import torch

from autoda.engine.train.data import DataError, ImageSet, load_dataset, longtail_counts, longtail_subset, split_per_class


def fake(per_class=50, classes=4):
    labels = torch.arange(classes).repeat_interleave(per_class)
    images = torch.arange(len(labels), dtype=torch.int64).view(-1, 1, 1, 1).expand(-1, 3, 2, 2) % 256
    ids = torch.arange(len(labels))
    return ImageSet(images.to(torch.uint8), labels, tuple("abcd"[:classes])), ids


def test_longtail_subset_follows_the_profile_and_is_seeded():
    data, _ = fake()
    subset = longtail_subset(data, imb_ratio=10, seed=1)
    assert subset.counts().tolist() == longtail_counts(4, 50, 10)
    assert torch.equal(subset.images, longtail_subset(data, 10, 1).images)
    assert not torch.equal(subset.images, longtail_subset(data, 10, 2).images)


def test_splits_are_disjoint_and_balanced():
    data = load_dataset("synthetic", imb_ratio=50, seed=0, synthetic_size=16)
    assert data.train.counts().tolist() == longtail_counts(10, 100, 50)
    assert data.val.counts().tolist() == data.test.counts().tolist() == [20] * 10
    seen = {}
    for name, split in (("train", data.train), ("val", data.val), ("test", data.test)):
        for image in split.images.flatten(1):
            key = bytes(image.numpy())
            assert key not in seen, f"an image of {name} is also in {seen.get(key)}"
            seen[key] = name


def test_split_per_class_partitions_each_class():
    data, _ = fake(per_class=10)
    first, second = split_per_class(data, 0.3, seed=0)
    assert first.counts().tolist() == [3] * 4 and second.counts().tolist() == [7] * 4
    together = sorted(first.images[:, 0, 0, 0].tolist() + second.images[:, 0, 0, 0].tolist())
    assert together == sorted(data.images[:, 0, 0, 0].tolist())


def test_unknown_or_missing_data_sets_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="unknown data set"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="needs --data-root"):
        load_dataset("folder")
    with pytest.raises(DataError, match="--download"):
        load_dataset("cifar10-lt", data_root=str(tmp_path))


def test_fingerprint_changes_with_the_data():
    a = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
    assert a.fingerprint() == load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16).fingerprint()
    assert a.fingerprint() != load_dataset("synthetic", imb_ratio=20, seed=0, synthetic_size=16).fingerprint()
    # the command line gives 10.0 where a script gives 10: the same data, the same checkpoint
    assert a.fingerprint() == load_dataset("synthetic", imb_ratio=10.0, seed=0, synthetic_size=16).fingerprint()


def _folder(root, per_class, classes=("a", "b", "c"), split="train"):
    import numpy as np
    from PIL import Image
    for c, name in enumerate(classes):
        (root / split / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((4, 4, 3), 20 * c + i, dtype=np.uint8)).save(root / split / name / f"{i}.png")
    return root


@pytest.mark.parametrize("per_class,imb_ratio,message", [
    (1, 100, r"classes 'a', 'b', 'c' have no image in the validation split: .* at least 8 images"),
    (7, 1, r"classes .* have no image in the validation split: .* at least 8 images"),
    (8, 10, r"class 'c' has no image in the training split: .* at most 6"),
])
def test_a_folder_too_small_for_its_splits_is_a_data_error_naming_it(tmp_path, per_class, imb_ratio, message):
    root = _folder(tmp_path / "set", per_class)
    with pytest.raises(DataError, match=f"^{tmp_path / 'set'}: {message}"):
        load_dataset("folder", str(root), imb_ratio=imb_ratio)


def test_the_smallest_folder_that_fits_loads(tmp_path):
    data = load_dataset("folder", str(_folder(tmp_path / "set", 8)), imb_ratio=1)
    assert data.train.counts().tolist() == [6] * 3 and data.val.counts().tolist() == data.test.counts().tolist() == [1] * 3


def test_a_held_out_split_too_small_or_with_other_classes_is_a_data_error(tmp_path):
    root = _folder(tmp_path / "set", 10)
    _folder(root, 1, split="test")
    with pytest.raises(DataError, match="held-out split .* needs at least 2 images of every class"):
        load_dataset("folder", str(root), imb_ratio=1)
    other = _folder(tmp_path / "other", 10)
    _folder(other, 2, classes=("a", "b", "z"), split="test")
    with pytest.raises(DataError, match=r"different classes \(classes 'c', 'z' in only one of them\)"):
        load_dataset("folder", str(other), imb_ratio=1)


def test_an_imbalance_ratio_that_leaves_the_synthetic_tail_empty_is_a_data_error():
    with pytest.raises(DataError, match="^synthetic: classes .* no image in the training split: .* at most 100"):
        load_dataset("synthetic", imb_ratio=1000, synthetic_size=8)


def test_max_per_class_caps_the_head_and_keeps_the_profile(tmp_path):
    root = _folder(tmp_path / "set", 20)  # no test split: a fifth held out, 16 a class to draw from
    assert load_dataset("folder", str(root), imb_ratio=10).train.counts().tolist() == longtail_counts(3, 16, 10)
    capped = load_dataset("folder", str(root), imb_ratio=10, max_per_class=10)
    assert capped.train.counts().tolist() == longtail_counts(3, 10, 10) == [10, 3, 1]
    # the cap leaves the held-out halves as they were
    assert capped.val.counts().tolist() == capped.test.counts().tolist() == [2] * 3
    above = load_dataset("folder", str(root), imb_ratio=10, max_per_class=1000)  # more than the data holds
    assert above.train.counts().tolist() == longtail_counts(3, 16, 10)


def test_max_per_class_caps_the_synthetic_head_at_most_at_100():
    capped = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=8, max_per_class=30)
    assert capped.train.counts().tolist() == longtail_counts(10, 30, 10)
    assert capped.val.counts().tolist() == [20] * 10  # the held-out halves keep their size
    above = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=8, max_per_class=500)
    assert above.train.counts().tolist() == longtail_counts(10, 100, 10)


@pytest.mark.parametrize("cap", [0, -3])
def test_a_max_per_class_below_one_is_a_data_error(cap):
    with pytest.raises(DataError, match=f"must be >= 1, got {cap}"):
        load_dataset("synthetic", imb_ratio=10, synthetic_size=8, max_per_class=cap)
