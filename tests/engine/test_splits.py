import pytest
import torch

from autoda.engine.data import DataError, ImageSet, load_dataset, longtail_counts, longtail_subset, split_per_class


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
