"""Data that need not fit on the device: a split decoded into a memory-mapped file, batches
streamed from the host in the on-device path's order (the same training), the
random-resized crop base for large images, and split files taken as they list."""
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import autoda
from autoda.engine.augment.standard import training_policy
from autoda.engine.train.data import DataError, load_dataset, load_image_folder
from autoda.engine.train.data.mapped import mapped_paths
from autoda.engine.train.streaming import HostBatches
from autoda.engine.train.trainer import Recipe, build_trainer

EXAMPLES = Path(__file__).parents[3] / "examples" / "policies"


def _png(seed: int, size: tuple[int, int]) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _listed_set(root: Path, counts: dict[str, list[int]], size=(12, 10), pattern="LT_{}.txt") -> None:
    """An ImageNet-LT-style folder: images under train/<wnid>/ and val/<wnid>/, and split
    files of 'relative/path label' lines; counts maps a split to its images per class."""
    for split, per_class in counts.items():
        lines = []
        for label, n in enumerate(per_class):
            folder = root / ("train" if split == "train" else "val") / f"n0{label}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                name = f"n0{label}_{split}_{i}.png"
                (folder / name).write_bytes(_png(hash((split, label, i)) % 2**32, size))
                lines.append(f"{folder.relative_to(root)}/{name} {label}")
        (root / pattern.format(split)).write_text("\n".join(lines[::-1]) + "\n")  # not in class order


def test_a_mapped_split_is_the_in_memory_split_and_is_read_back_from_disk(tmp_path):
    _listed_set(tmp_path, {"train": [7, 3, 1]})
    in_memory = load_image_folder(tmp_path, "LT_train.txt", cache_dir=tmp_path / "a", mapped=False)
    mapped = load_image_folder(tmp_path, "LT_train.txt", cache_dir=tmp_path / "b", mapped=True)
    assert mapped.class_names == in_memory.class_names == ("n00", "n01", "n02")
    assert torch.equal(mapped.labels, in_memory.labels) and torch.equal(mapped.images, in_memory.images)
    files = list((tmp_path / "b").glob("*.u8"))
    assert len(files) == 1 and files[0].stat().st_size == in_memory.images.numel()
    again = load_image_folder(tmp_path, "LT_train.txt", cache_dir=tmp_path / "b")  # the mapped cache, not a decode
    assert torch.equal(again.images, in_memory.images)
    again.images[0].zero_()  # copy-on-write: the file keeps its pixels
    assert torch.equal(load_image_folder(tmp_path, "LT_train.txt", cache_dir=tmp_path / "b").images,
                       in_memory.images)


@pytest.mark.parametrize("damage", ["truncate", "index"])
def test_a_damaged_mapped_split_is_built_again(tmp_path, damage):
    _listed_set(tmp_path, {"train": [4, 2]})
    first = load_image_folder(tmp_path, "LT_train.txt", cache_dir=tmp_path / "c", mapped=True)
    expected = first.images.clone()  # the mapping would show the damage done to its file in place
    images_path = next((tmp_path / "c").glob("*.u8"))
    _, index_path = mapped_paths(images_path)
    if damage == "truncate":
        images_path.write_bytes(images_path.read_bytes()[:100])
    else:
        index_path.write_bytes(b"garbage")
    rebuilt = load_image_folder(tmp_path, "LT_train.txt", cache_dir=tmp_path / "c", mapped=True)
    assert torch.equal(rebuilt.images, expected) and torch.equal(rebuilt.labels, first.labels)


def test_a_mapped_split_needs_a_cache_folder(tmp_path):
    _listed_set(tmp_path, {"train": [2, 1]})
    with pytest.raises(DataError, match="needs a cache folder"):
        load_image_folder(tmp_path, "LT_train.txt", mapped=True)


def test_host_batches_follow_the_order_they_are_given():
    images = torch.arange(10 * 3 * 2 * 2, dtype=torch.uint8).view(10, 3, 2, 2)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    batches = list(HostBatches(images, torch.device("cpu"), 4).epoch(order))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert torch.equal(torch.cat(batches), images[order])


def _trained(data, stream, policy="cuda.dsl", method="ce"):
    recipe = Recipe.for_epochs(3, batch_size=32, lr=0.05)
    trainer = build_trainer(data, autoda.check_policy(EXAMPLES / policy), method, "resnet8", recipe, "cpu",
                            seed=3, stream=stream)
    trainer.train(3)
    return trainer


@pytest.mark.parametrize("method,policy", [("ce", "cuda.dsl"), ("bcl", "doda.dsl")])
def test_streamed_training_is_the_on_device_training(method, policy):
    """The same seed gives the same model, statistics and losses whether the training
    images sit on the device or are gathered from the host batch by batch (CUDA's probe
    gathers its draws there too)."""
    data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
    on_device, streamed = _trained(data, False, policy, method), _trained(data, True, policy, method)
    assert streamed.streamed and not on_device.streamed
    assert [e.loss for e in streamed.log] == [e.loss for e in on_device.log]
    for name, value in on_device.model.state_dict().items():
        assert torch.equal(streamed.model.state_dict()[name], value), name
    assert torch.equal(streamed.stats.train_acc, on_device.stats.train_acc)
    assert streamed.evaluate(data.val) == on_device.evaluate(data.val)


@pytest.mark.cuda
def test_streamed_training_through_pinned_memory_is_the_on_device_training_on_cuda():
    data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
    recipe = Recipe.for_epochs(2, batch_size=32, lr=0.05)
    runs = []
    for stream in (False, True):
        trainer = build_trainer(data, autoda.check_policy(EXAMPLES / "cuda.dsl"), "ce", "resnet8", recipe, "cuda",
                                seed=3, stream=stream)
        trainer.train(2)
        runs.append(trainer)
    assert runs[1].batches.pinned and runs[1].images.device.type == "cpu"
    assert [e.loss for e in runs[1].log] == [e.loss for e in runs[0].log]


def test_images_above_64_pixels_get_a_random_resized_crop_and_flip():
    large = [getattr(s.op, "name", None) for s in training_policy(None, "standard", 224).ast.stages]
    small = [getattr(s.op, "name", None) for s in training_policy(None, "standard", 32).ast.stages]
    assert large == ["resized_crop", "flip_lr"] and small == ["crop", "flip_lr"]
    stage = training_policy(None, "standard", 96).ast.stages[0]
    assert stage.magnitude.value == 1  # torchvision's defaults: 0.08 to 1 of the area


def test_imagenet_lt_split_files_are_taken_as_listed(tmp_path):
    """Train, val and test split files (ImageNet-LT's three): each split whole, the train
    file's long tail its own."""
    _listed_set(tmp_path, {"train": [9, 3, 1], "val": [2, 2, 2], "test": [3, 3, 3]})
    data = load_dataset("folder", str(tmp_path), train_list="LT_train.txt", val_list="LT_val.txt",
                        test_list="LT_test.txt", image_size=8, cache_dir=str(tmp_path / "cache"))
    assert data.train.counts().tolist() == [9, 3, 1] and data.imb_ratio == 9
    assert data.val.counts().tolist() == [2, 2, 2] and data.test.counts().tolist() == [3, 3, 3]
    assert data.train.images.shape[1:] == (3, 8, 8)


def test_inaturalist_split_files_halve_the_held_out_list(tmp_path):
    """A train and a val file (iNaturalist 2018's two): train whole, the val file's images
    halved per class into validation and test."""
    _listed_set(tmp_path, {"train": [6, 2, 2], "val": [4, 4, 4]})
    data = load_dataset("folder", str(tmp_path), train_list="LT_train.txt", test_list="LT_val.txt", image_size=8,
                        cache_dir=str(tmp_path / "cache"))
    assert data.train.counts().tolist() == [6, 2, 2] and data.imb_ratio == 3
    assert data.val.counts().tolist() == [2, 2, 2] and data.test.counts().tolist() == [2, 2, 2]
    with pytest.raises(DataError, match="goes with a training and a test split file"):
        load_dataset("folder", str(tmp_path), val_list="LT_val.txt", image_size=8)


def test_the_imagenet_lt_preset_trains_from_its_split_files_streamed(tmp_path):
    """`autoda train --preset imagenet-lt` on a folder in ImageNet-LT's layout (a toy
    network, size and schedule given): its three split files, the images kept on disk."""
    import json

    from click.testing import CliRunner

    from autoda.cli import cli

    _listed_set(tmp_path / "imagenet", {"train": [6, 3, 2], "val": [2, 2, 2], "test": [2, 2, 2]}, size=(80, 72),
                pattern="ImageNet_LT_{}.txt")
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(cli, ["train", "--preset", "imagenet-lt", "--data-root", str(tmp_path / "imagenet"),
                                      "--net", "resnet8", "--epochs", "1", "--batch-size", "4", "--stream",
                                      "--cache-dir", str(tmp_path / "cache"), "--metrics-out", str(out),
                                      "--report-test", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["train_counts"] == [6, 3, 2] and metrics["split_sizes"] == {"train": 11, "val": 6, "test": 6}
    assert metrics["imb_ratio"] == 3 and metrics["recipe"]["batch_size"] == 4
    assert len(list((tmp_path / "cache").glob("*.u8"))) == 3  # each split decoded once, on disk


def test_a_search_run_stores_its_split_files_and_its_workers_load_them():
    from autoda.search.config import DataConfig, RunConfig, SearchConfig, TrainingConfig

    data = DataConfig(dataset="folder", data_root="imagenet", train_list="ImageNet_LT_train.txt",
                      val_list="ImageNet_LT_val.txt", test_list="ImageNet_LT_test.txt", image_size=224)
    config = RunConfig("offline", data, TrainingConfig(net="resnet50"), SearchConfig())
    stored = config.to_dict()
    assert RunConfig.from_dict(stored).data == data
    assert {k: config.data_args()[k] for k in ("train_list", "val_list", "test_list", "image_size")} == {
        "train_list": "ImageNet_LT_train.txt", "val_list": "ImageNet_LT_val.txt",
        "test_list": "ImageNet_LT_test.txt", "image_size": 224}
    plain = RunConfig("offline", DataConfig(), TrainingConfig(), SearchConfig()).to_dict()
    assert not {"train_list", "val_list", "test_list", "image_size"} & set(plain)  # a run without them: as before
