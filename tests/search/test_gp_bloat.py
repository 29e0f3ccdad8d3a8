"""Bloat control for genetic programming: a size, a ranking with parsimony pressure, and a
simplification that drops what does nothing, checked and behaving as before."""
import dataclasses

import pytest
import torch
from hypothesis import given, settings, strategies as st

import autoda
from autoda.compiler import format_policy
from autoda.engine import ClassStats
from autoda.search.gp import GeneticProgramming
from autoda.search.parsimony import parsimonious_order, simplify, size_of
from autoda.policies import example_policies, seed_policies
from strategies import policies

SEEDS = [autoda.check_policy(text) for text in seed_policies().values()]
COUNTS = torch.tensor([500, 200, 90, 40, 15, 5])

BLOATED = """policy bloated "kept as it is"
state a: float in [0, 1] = 0.5
state dead: int in [0, 5] = 0
state drawn: float in [0, 1] = 0
every epoch:
    let unused = where(true, train_acc, freq)
    dead = clip(dead + 1, 0, 5)
    drawn = uniform(0, 1)
    a = clip(--(a * 1 + 0), 0, 1)
per sample:
    rotate(abs(abs(a)) ** 1) with probability 1
    apply 2 of [shear_x, flip_lr, cutout]
        magnitude clip(clip(a, 0, 1), 0, 1)
        weight 3
        probability 1
"""
SIMPLE = """policy bloated "kept as it is"

state a: float in [0, 1] = 0.5
state drawn: float in [0, 1] = 0

every epoch:
    drawn = uniform(0, 1)
    a = clip(a, 0, 1)

per sample:
    rotate(abs(a))
    apply 2 of [shear_x, flip_lr, cutout]
        magnitude clip(a, 0, 1)
"""


def outputs(checked, epochs=3):
    """What a policy does: its images for three epochs of one batch, with one seed."""
    policy = autoda.compile_policy(checked, num_classes=len(COUNTS), seed=11)
    stats = ClassStats.initial(COUNTS, total_epochs=10)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (12, 3, 8, 8), generator=g, dtype=torch.uint8)
    labels = torch.arange(12) % len(COUNTS)
    seen = []
    for epoch in range(epochs):
        acc = (torch.linspace(0.9, 0.3, len(COUNTS)) + 0.1 * epoch).clamp(0, 1)
        policy.update_epoch(dataclasses.replace(stats, train_acc=acc, epoch=epoch) if epoch else stats)
        seen.append(policy(images, labels))
    return torch.stack(seen)


def test_size_counts_syntax_tree_nodes():
    tiny = autoda.check_policy("policy p\nper sample:\n    cutout(0.5)\n")
    assert size_of(tiny) == 2  # the stage and its magnitude
    assert size_of(tiny.canonical) == size_of(tiny.ast) == 2
    assert size_of(BLOATED) > size_of(SIMPLE)
    assert size_of("def get_aug_type(w, acc):\n    return w\n") == 5  # not the language: its words


def test_simplify_drops_what_does_nothing_and_behaves_the_same():
    bloated = autoda.check_policy(BLOATED)
    simple = simplify(bloated, 64)
    assert simple.canonical == SIMPLE
    assert size_of(simple) < size_of(bloated)
    assert torch.equal(outputs(simple), outputs(bloated))  # no stage dropped: the very same images


def test_simplify_drops_stages_that_change_no_image():
    text = ("policy p\nper sample:\n    identity with probability 0.3\n    rotate(0) with probability 0.5\n"
            "    cutout(0.4) with probability 0\n    apply 0 of [invert, flip_lr]\n    solarize(0.2)\n")
    assert simplify(autoda.check_policy(text), 64).canonical == "policy p\n\nper sample:\n    solarize(0.2)\n"
    only = autoda.check_policy("policy p\nper sample:\n    identity\n")
    assert simplify(only, 64) is only  # a policy keeps a stage


@pytest.mark.parametrize("text", [
    "policy p\nper sample:\n    brightness(0)\n    cutout(0.3) with probability 0\n",
    "policy p\nper sample:\n    posterize(clip(train_loss, 0, 1)) with probability clip(rank - rank, 0, 1)\n",
    "policy p\nstate s: float in [0, 1] = 0\nevery epoch:\n    s = clip(s + 0.1, 0, 1)\n"
    "per sample:\n    rotate(clip(s - s, 0, 1))\n",
])
def test_a_policy_that_changes_no_image_simplifies_to_none(text):
    """Such offspring were evaluated as new candidates, to score exactly as `none` does."""
    none = autoda.check_policy(example_policies()["none"])
    simple = simplify(autoda.check_policy(text), 64)
    assert simple.canonical == "policy p\n\nper sample:\n    identity\n" and simple.hash == none.hash


def test_simplify_writes_an_expression_that_is_always_one_number_as_that_number():
    """What a search's offspring look like after GP's constant mutations: bounds that pin an
    expression, a probability that is always 0 (so its stage goes)."""
    text = ("policy p\nper sample:\n"
            "    smooth(clip(206.06, 0, 1)) with probability clip(prev_train_acc - 40, 0, 1)\n"
            "    rotate(clip(feat_norm + 54.99, 0, 1)) with probability clip(prev_train_acc, 0, 1)\n"
            "    brightness(clip(floor(-20), 0.558, 0.559)) with probability clip(train_loss ** 0, 0.887, 0.618)\n"
            "    cutout(uniform(0.2, 0.3))\n")
    checked = autoda.check_policy(text)
    simple = simplify(checked, 64)
    assert simple.canonical == ("policy p\n\nper sample:\n    rotate(1) with probability clip(prev_train_acc, 0, 1)\n"
                                "    brightness(0.558) with probability 0.618\n    cutout(uniform(0.2, 0.3))\n")
    kept = autoda.check_policy(text.replace("    smooth(clip(206.06, 0, 1)) with probability "
                                            "clip(prev_train_acc - 40, 0, 1)\n", ""))
    assert torch.equal(outputs(simplify(kept, 64)), outputs(kept))  # every stage kept: the very same images


def test_per_op_state_keeps_its_apply_stage():
    """Dropping the apply stage would leave per-op state without one: the step is skipped."""
    text = ("policy p\nstate w: float per op in [0, 1] = 1\nper sample:\n    apply 0 of [rotate, invert]\n"
            "        magnitude 0.2\n        weight w\n    cutout(0.3)\n")
    assert "apply 0 of [rotate, invert]" in simplify(autoda.check_policy(text), 64).canonical


@settings(max_examples=40)
@given(policies())
def test_simplified_random_programs_check_and_behave_the_same(policy):
    checked = autoda.check_policy(format_policy(policy))
    simple = simplify(checked, 64)
    assert autoda.check_policy(simple.canonical).hash == simple.hash
    assert size_of(simple) <= size_of(checked) and simple.name == checked.name
    if len(simple.ast.stages) == len(checked.ast.stages):  # each stage draws its own numbers
        assert torch.equal(outputs(simple, epochs=2), outputs(checked, epochs=2))


@pytest.mark.parametrize("tolerance,expected", [
    (0.0, ["small_best", "big_best", "mid", "tiny_low", "unrated"]),  # size breaks exact ties only
    (0.02, ["small_best", "mid", "big_best", "tiny_low", "unrated"]),  # within 0.02 of 0.80: a tie
    (1.0, ["tiny_low", "small_best", "mid", "big_best", "unrated"]),
])
def test_parsimonious_order(tolerance, expected):
    items = [("big_best", 0.80, 30), ("unrated", None, 1), ("mid", 0.79, 20), ("small_best", 0.80, 10),
             ("tiny_low", 0.70, 5)]
    ordered = parsimonious_order(items, fitness=lambda x: x[1], size=lambda x: x[2], tolerance=tolerance)
    assert [name for name, _, _ in ordered] == expected


def test_groups_are_formed_from_the_top():
    """0.80 opens a group that takes 0.79 (within 0.015) but not 0.78, which opens its own."""
    items = [("a", 0.80, 9), ("b", 0.79, 1), ("c", 0.78, 0)]
    ordered = parsimonious_order(items, lambda x: x[1], lambda x: x[2], tolerance=0.015)
    assert [name for name, _, _ in ordered] == ["b", "a", "c"]


@settings(max_examples=30)
@given(st.integers(0, 10 ** 6))
def test_gp_with_bloat_control_yields_small_checked_offspring(seed):
    gp = GeneticProgramming(SEEDS, 64, simplify=True, max_size=60)
    for child, _ in (gp.initialise(seed), gp.mutate(SEEDS[seed % len(SEEDS)], seed),
                     gp.crossover(SEEDS[:3], seed)):
        assert autoda.check_policy(child.canonical).hash == child.hash
        assert simplify(child, 64).hash == child.hash  # already as simple as it gets
        assert size_of(child) <= 60 or child.hash in {s.hash for s in SEEDS}


def test_bloat_control_is_off_by_default():
    """A seed's offspring stay what they were: the default leaves in what simplify drops."""
    gp = GeneticProgramming(SEEDS, 64)
    children = [gp.mutate(parent, s)[0] for parent in SEEDS for s in range(3)]
    assert any(simplify(child, 64).hash != child.hash for child in children)
