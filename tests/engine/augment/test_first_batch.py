"""A compiled policy from its first batch: compile_policy(..., class_counts=) runs the epoch
update of epoch 0 itself, a policy that reads no class counts needs only num_classes, and
what is missing is named; images outside the expected range are refused saying which."""
from pathlib import Path

import pytest
import torch

import autoda
from autoda.engine import ClassStats

# cuda.dsl asks the model (CUDA's probe), which a first batch without a training loop has not
EXAMPLES = sorted(p for p in (Path(__file__).parents[3] / "examples" / "policies").glob("*.dsl") if p.stem != "cuda")
COUNTS = torch.tensor([40, 500, 5, 200, 15, 90])  # not in rank order: ranks by class index are wrong
BY_COUNT = {"count", "freq", "rank"}


def batch(b=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (b, 3, 12, 12), generator=g, dtype=torch.uint8),
            torch.randint(0, len(COUNTS), (b,), generator=g))


def explicitly_updated(path, seed=0):
    policy = autoda.compile_policy(path, num_classes=len(COUNTS), seed=seed)
    policy.update_epoch(ClassStats.initial(COUNTS))
    return policy


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_class_counts_make_the_first_batch_work_as_an_explicit_epoch_update_does(path):
    policy = autoda.compile_policy(path, class_counts=COUNTS, seed=3)
    images, labels = batch()
    assert torch.equal(policy(images, labels), explicitly_updated(path, seed=3)(images, labels))
    assert policy.epochs == 1 and policy.num_classes == len(COUNTS)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_num_classes_suffice_for_a_policy_that_reads_no_class_counts(path):
    policy = autoda.compile_policy(path, num_classes=len(COUNTS), seed=3)
    images, labels = batch()
    reads_counts = sorted(BY_COUNT & set(policy.reads))
    if reads_counts:
        with pytest.raises(autoda.PolicyRuntimeError, match=f"reads {reads_counts[0]}.*class_counts="):
            policy(images, labels)
    else:  # the same as with the real counts: at epoch 0 it reads nothing that depends on them
        assert torch.equal(policy(images, labels), explicitly_updated(path, seed=3)(images, labels))


def test_a_policy_that_asks_the_model_says_so_at_its_first_batch_without_one():
    policy = autoda.compile_policy(Path(__file__).parents[3] / "examples" / "policies" / "cuda.dsl",
                                   class_counts=COUNTS, seed=0)
    with pytest.raises(autoda.PolicyRuntimeError, match="lol_pass.*give ClassStats a probe"):
        policy(*batch())


def test_an_explicit_epoch_update_before_the_first_batch_is_the_only_one():
    policy = autoda.compile_policy("examples/policies/tail_curriculum.dsl", class_counts=COUNTS, seed=0)
    stats = ClassStats.initial(COUNTS, total_epochs=10)
    policy.update_epoch(stats)
    policy(*batch())
    assert policy.epochs == 1


def test_a_policy_with_neither_classes_nor_counts_says_what_to_pass():
    policy = autoda.compile_policy("examples/policies/randaugment.dsl")
    with pytest.raises(autoda.PolicyRuntimeError, match="class_counts=.*num_classes=.*update_epoch"):
        policy(*batch())


@pytest.mark.parametrize("kwargs,message", [
    ({"class_counts": [5, 0, 3]}, "bad class_counts: 'count' has values in"),
    ({"class_counts": [[5, 3]]}, "bad class_counts: 'count' must be a non-empty vector"),
    ({"class_counts": "many"}, "bad class_counts: 'count' must be numbers"),
    ({"class_counts": [5, 3], "num_classes": 3}, "class_counts has 2 classes; num_classes is 3"),
])
def test_bad_class_counts_are_refused_when_compiling(kwargs, message):
    with pytest.raises(autoda.PolicyRuntimeError, match=message):
        autoda.compile_policy("examples/policies/tail_curriculum.dsl", **kwargs)


# --- images in the wrong range -----------------------------------------------------------
# randaugment draws equalize and posterize, which index 256-entry lookup tables by pixel
# level: out-of-range floats reaching them once gave "index -28 is out of bounds".

IMAGENET_MEAN, IMAGENET_STD = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])


def normalised(images):
    return (images.float() / 255 - IMAGENET_MEAN.view(1, 3, 1, 1)) / IMAGENET_STD.view(1, 3, 1, 1)


@pytest.mark.parametrize("kind,message", [
    ("normalised", r"float images must lie in \[0, 1\].*look normalised .*: augment before normalising"),
    ("0..255 floats", r"float images must lie in \[0, 1\].*pixel values in \[0, 255\]: pass them as uint8"),
])
def test_images_in_the_wrong_range_are_refused_on_the_cpu_saying_what_is_expected(kind, message):
    images, labels = batch()
    wrong = normalised(images) if kind == "normalised" else images.float()
    policy = autoda.compile_policy("examples/policies/randaugment.dsl", class_counts=COUNTS, seed=0)
    with pytest.raises(autoda.PolicyRuntimeError, match=message):
        policy(wrong, labels)


@pytest.mark.parametrize("kind", ["normalised", "0..255 floats"])
def test_images_in_the_wrong_range_are_clamped_where_they_are_not_checked(kind):
    # an accelerator's path (no per-batch host read): draw and apply clamp into [0, 1]
    images, labels = batch()
    wrong = normalised(images) if kind == "normalised" else images.float()
    policy = autoda.compile_policy("examples/policies/randaugment.dsl", class_counts=COUNTS, seed=0)
    draw = policy.draw(labels, wrong.shape)
    out = policy.apply(wrong, draw)
    assert torch.equal(out, policy.apply(wrong.clamp(0, 1), draw))
    assert bool(((out >= 0) & (out <= 1)).all())
