"""CompiledPolicy: the public module, its state, its randomness and its errors."""
import dataclasses
from pathlib import Path

import pytest
import torch

import autoda
from autoda.engine import ClassStats
from autoda.engine.augment.reference_interpreter import reference_apply
from level_probes import probed
from sync_guard import NoHostSync

EXAMPLES = sorted((Path(__file__).parents[3] / "examples" / "policies").glob("*.dsl"))
COUNTS = torch.tensor([500, 200, 90, 40, 15, 5])


def ready(source, seed=0, epochs=3):
    policy = autoda.compile_policy(source, num_classes=len(COUNTS), seed=seed)
    stats = ClassStats.initial(COUNTS, total_epochs=10)
    policy.update_epoch(probed(stats))
    for epoch in range(1, epochs):  # some history, so stateful policies have moved
        acc = torch.linspace(0.9, 0.4, len(COUNTS)) + 0.05 * epoch
        policy.update_epoch(probed(dataclasses.replace(stats, train_acc=acc.clamp(0, 1), epoch=epoch)))
    return policy


def batch(b=16, dtype=torch.uint8, h=16, w=20):
    g = torch.Generator().manual_seed(b)
    images = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, len(COUNTS), (b,), generator=g)
    return (images if dtype == torch.uint8 else images.to(dtype) / 255), labels


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_run_replay_and_match_the_reference(path):
    policy = ready(path)
    images, labels = batch()
    out, draw = policy(images, labels, return_draw=True)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert torch.equal(policy.apply(images, draw), out)  # a draw replays exactly
    assert torch.equal(reference_apply(policy.pipeline, images, draw), out)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_float_images_keep_dtype_and_range(dtype):
    images, labels = batch(dtype=dtype)
    out = ready(EXAMPLES[0])(images, labels)
    assert out.dtype == dtype and out.min() >= 0 and out.max() <= 1


def test_same_seed_same_batches_other_seed_other_batches():
    images, labels = batch()
    a, b, c = ready("examples/policies/randaugment.dsl", seed=7), ready("examples/policies/randaugment.dsl", seed=7), \
        ready("examples/policies/randaugment.dsl", seed=8)
    first = a(images, labels)
    assert torch.equal(first, b(images, labels)) and not torch.equal(first, c(images, labels))
    assert not torch.equal(first, a(images, labels))  # the next batch draws anew


def test_global_seed_before_compiling_makes_a_run_reproducible():
    images, labels = batch()
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        policy = autoda.compile_policy("examples/policies/trivialaugment.dsl", num_classes=len(COUNTS))
        policy.update_epoch(ClassStats.initial(COUNTS))
        runs.append(policy(images, labels))
    assert torch.equal(*runs)


def test_state_dict_round_trip_resumes_the_same_stream(tmp_path):
    policy = ready("examples/policies/doda.dsl", seed=3)
    images, labels = batch()
    policy(images, labels)
    torch.save(policy.state_dict(), tmp_path / "policy.pt")
    expected = policy(images, labels)
    fresh = autoda.compile_policy("examples/policies/doda.dsl", seed=99)  # no num_classes yet
    fresh.load_state_dict(torch.load(tmp_path / "policy.pt"))
    assert torch.equal(fresh.state["w"], policy.state["w"])
    assert torch.equal(fresh(images, labels), expected)


def test_state_of_another_policy_is_refused():
    state = ready("examples/policies/doda.dsl").state_dict()
    with pytest.raises(autoda.PolicyRuntimeError, match="different policy"):
        autoda.compile_policy("examples/policies/cuda.dsl").load_state_dict(state, strict=False)


def test_forward_before_the_first_epoch_update_says_what_to_do():
    # rank_scaled reads rank: num_classes alone cannot give its first epoch update
    policy = autoda.compile_policy("examples/policies/rank_scaled.dsl", num_classes=len(COUNTS))
    with pytest.raises(autoda.PolicyRuntimeError, match=r"reads rank, which need the class counts.*class_counts="):
        policy(*batch())


@pytest.mark.parametrize("images,labels,message", [
    (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.zeros(4, dtype=torch.long), r"\[B, 3, H, W\]"),
    (torch.zeros(4, 3, 8, 8, dtype=torch.int32), torch.zeros(4, dtype=torch.long), "uint8 or floating"),
    (torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.zeros(3, dtype=torch.long), "length 4"),
    (torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.zeros(4), "int64 vector"),
])
def test_bad_batches_are_refused_clearly(images, labels, message):
    with pytest.raises(autoda.PolicyRuntimeError, match=message):
        ready("examples/policies/randaugment.dsl")(images, labels)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_no_host_sync_and_no_work_per_sample(path):
    policy = ready(path)
    counts = []
    for b in (4, 64):
        images, labels = batch(b)
        with NoHostSync() as guard:
            policy(images, labels)
        counts.append(guard.calls)
    assert counts[0] == counts[1]  # the same torch calls for 4 samples as for 64


def test_epoch_update_does_no_work_per_class():
    calls = []
    for c in (3, 40):
        policy = autoda.compile_policy("examples/policies/fit_gap.dsl", num_classes=c, seed=0)
        stats = ClassStats.initial(torch.arange(c, 0, -1) * 10)
        policy.update_epoch(stats)
        with NoHostSync() as guard:
            from autoda.engine.augment.epoch import run_epoch_program
            run_epoch_program(policy.plan, policy.state, stats, torch.Generator().manual_seed(0))
        calls.append(guard.calls)
    assert calls[0] == calls[1]


@pytest.mark.cuda  # torch.cuda.set_sync_debug_mode
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_no_cuda_sync_in_the_per_batch_path(path):
    policy = ready(path).to("cuda")
    images, labels = (t.cuda() for t in batch(64))
    policy(images, labels)  # warm-up: constants are built on first use
    torch.cuda.set_sync_debug_mode("error")
    try:
        policy(images, labels)
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_an_empty_batch_gives_an_empty_batch():
    images, labels = batch()
    for dtype in (torch.uint8, torch.float32):
        out = ready("examples/policies/randaugment.dsl")(images[:0].to(dtype), labels[:0])
        assert out.shape == (0, 3, 16, 20) and out.dtype == dtype


@pytest.mark.parametrize("layout", ["channels_last", "permuted"])
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_any_memory_layout_gives_the_contiguous_result(path, layout):
    images, labels = batch(h=16, w=16)
    if layout == "channels_last":
        strided = images.contiguous(memory_format=torch.channels_last)
    else:  # a transposed view of the transposed images: the same values, other strides
        strided = images.transpose(2, 3).contiguous().transpose(2, 3)
    assert not strided.is_contiguous() and torch.equal(strided, images)
    expected = ready(path)(images, labels)
    assert torch.equal(ready(path)(strided, labels), expected)


@pytest.mark.parametrize("images,labels,message", [
    (torch.zeros(4, 3, 8, 8), torch.tensor([0, 1, 2, -28]), r"labels must lie in \[0, 6\).*-28"),
    (torch.zeros(4, 3, 8, 8), torch.tensor([0, 1, 2, 6]), r"labels must lie in \[0, 6\)"),
    (torch.full((4, 3, 8, 8), 255.0), torch.zeros(4, dtype=torch.long), r"must lie in \[0, 1\].*255"),
    (torch.full((4, 3, 8, 8), -0.5), torch.zeros(4, dtype=torch.long), r"must lie in \[0, 1\]"),
    (torch.full((4, 3, 8, 8), float("nan")), torch.zeros(4, dtype=torch.long), "NaN"),
    (torch.zeros(4, 3, 0, 8), torch.zeros(4, dtype=torch.long), "at least 1 x 1"),
    (torch.zeros(4, 3, 8, 8).numpy(), torch.zeros(4, dtype=torch.long), "images must be a torch.Tensor"),
    (torch.zeros(4, 3, 8, 8), [0, 0, 0, 0], "labels must be a torch.Tensor"),
    (torch.zeros(4, 3, 8, 8, dtype=torch.bool), torch.zeros(4, dtype=torch.long), "uint8 or floating"),
    (torch.zeros(4, 3, 8, 8), torch.zeros(4, dtype=torch.long, device="meta"), "policy's device"),
])
def test_bad_values_on_the_cpu_are_refused_clearly(images, labels, message):
    with pytest.raises(autoda.PolicyRuntimeError, match=message):
        ready("examples/policies/randaugment.dsl")(images, labels)


AUGMENTING = [p for p in EXAMPLES if p.stem != "none"]  # `none` returns its input untouched


@pytest.mark.parametrize("path", AUGMENTING, ids=[p.stem for p in AUGMENTING])
def test_bad_values_where_they_are_not_checked_are_clamped_not_a_device_fault(path):
    # What an accelerator batch goes through (no per-batch check there): every value in range.
    policy = ready(path)
    images = torch.tensor([255.0, -3.0, float("nan"), float("inf")]).view(4, 1, 1, 1).expand(4, 3, 8, 8)
    labels = torch.tensor([-28, 0, 6, 1000])
    out = policy.apply(images, policy.draw(labels, images.shape))
    assert out.shape == images.shape and bool(((out >= 0) & (out <= 1)).all())
    clean = images.nan_to_num(0, 1, 0).clamp(0, 1)
    assert torch.equal(policy.apply(clean, policy.draw(labels.clamp(0, 5), images.shape, step=policy.step - 1)), out)


@pytest.mark.parametrize("num_classes,message", [
    (0, "1 to 1,000,000 classes"), (10**12, "1 to 1,000,000 classes"), (1.5, "whole number"), ("a", "whole number"),
])
def test_bad_class_numbers_are_refused_clearly(num_classes, message):
    with pytest.raises(autoda.PolicyRuntimeError, match=message):
        autoda.compile_policy("examples/policies/randaugment.dsl", num_classes=num_classes)


def test_drawing_before_the_first_epoch_update_says_what_to_do():
    policy = autoda.compile_policy("examples/policies/randaugment.dsl")
    with pytest.raises(autoda.PolicyRuntimeError, match="update_epoch"):
        policy.draw(torch.zeros(4, dtype=torch.long), (4, 3, 8, 8))


def test_policy_runtime_error_is_exported():
    assert "PolicyRuntimeError" in autoda.__all__ and issubclass(autoda.PolicyRuntimeError, RuntimeError)


def test_a_python_policy_refuses_bad_statistics_and_batches_the_same_way():
    policy = autoda.compile_policy("examples/policies/paper_doda.py", num_classes=3, seed=0)
    with pytest.raises(autoda.PolicyRuntimeError, match="'count' has values in"):
        policy.update_epoch({"count": [5, 4, 0]})  # refused before the sandboxed step runs
    policy.update_epoch(ClassStats.initial(torch.tensor([5, 4, 3])))
    with pytest.raises(autoda.PolicyRuntimeError, match=r"labels must lie in \[0, 3\)"):
        policy(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 9]))


@pytest.mark.cuda  # bad values are clamped there
def test_bad_values_on_cuda_are_clamped_without_a_sync_or_a_device_assert():
    policy = ready("examples/policies/randaugment.dsl").to("cuda")
    images = torch.tensor([255.0, -3.0, float("nan"), float("inf")], device="cuda").view(4, 1, 1, 1).expand(4, 3, 8, 8)
    labels = torch.tensor([-28, 0, 6, 1000], device="cuda")
    policy(images[:1].clamp(0, 1), labels[1:2])  # warm-up: constants are built on first use
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = policy(images.contiguous(memory_format=torch.channels_last), labels)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    torch.cuda.synchronize()  # a device-side assert would surface here
    assert out.shape == images.shape and bool(((out >= 0) & (out <= 1)).all())
