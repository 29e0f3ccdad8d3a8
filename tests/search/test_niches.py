"""Niches: what family a policy belongs to, a population that keeps every family's best,
and parents drawn from different families."""
import random
from collections import Counter

import pytest

import autoda
from autoda.search.niches import UNKNOWN, Niche, choose_parents, diverse_population, niche_of, niche_of_text
from autoda.policies import example_policies

EXAMPLES = example_policies()


def niche(text):
    return niche_of(autoda.check_policy(text))


@pytest.mark.parametrize("name,expected", [
    ("none", Niche((), "none")),  # identity only: no kind, no magnitude
    ("cuda", Niche(("geometric", "colour", "filter"), "low")),  # level / 30: in [0, 1/3]
    ("trivialaugment", Niche(("geometric", "colour", "filter"), "mid")),  # uniform(0, 1)
])
def test_examples_niches(name, expected):
    assert niche(EXAMPLES[name]) == expected


def test_strength_bins_and_kinds():
    assert niche("policy p\nper sample:\n    cutout(0.9)\n") == Niche(("erase",), "high")
    mixed = "policy p\nper sample:\n    cutout(0.5 * rank)\n    flip_lr\n"
    assert niche(mixed) == Niche(("geometric", "erase"), "low")
    assert niche("policy p\nper sample:\n    invert\n") == Niche(("colour",), "none")
    # constants alone never change the kinds
    assert niche("policy p\nper sample:\n    rotate(0.2)\n").kinds == niche("policy p\nper sample:\n    rotate(0.9)\n").kinds


def test_text_that_is_not_the_language_has_the_unknown_niche():
    assert niche_of_text("def get_aug_type(w, acc, epoch):\n    return w\n") == UNKNOWN
    assert niche_of_text(EXAMPLES["cuda"]) == niche(EXAMPLES["cuda"])
    assert str(niche(EXAMPLES["cuda"])) == "geometric+colour+filter/low"


RANKED = [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("a4", "A"), ("c1", "C"), ("b2", "B")]


def key(item):
    return item[1]


@pytest.mark.parametrize("n,expected", [
    (3, ["a1", "b1", "c1"]),  # every niche's best before a second of any
    (5, ["a1", "a2", "a3", "b1", "c1"]),  # then the rest by rank, returned in rank order
    (2, ["a1", "b1"]),  # fewer places than niches: the best niches' champions
    (10, [name for name, _ in RANKED]),
])
def test_diverse_population_keeps_each_niches_best(n, expected):
    assert [name for name, _ in diverse_population(RANKED, n, key)] == expected


def test_parents_come_from_different_niches_while_any_is_left():
    for seed in range(200):
        parents = choose_parents(RANKED, 3, random.Random(seed), key)
        assert sorted(key(p) for p in parents) == ["A", "B", "C"]
        assert len(set(choose_parents(RANKED, 5, random.Random(seed), key))) == 5  # then any, never twice
    assert choose_parents(RANKED, 2, random.Random(1), key) == choose_parents(RANKED, 2, random.Random(1), key)


def test_one_niche_draws_as_the_loop_always_has():
    """With one niche, the draws are EoH's by rank (p ~ 1 / (rank + N)), as the loop's own."""
    population = [(f"p{i}", "same") for i in range(6)]

    def by_rank(rng, k):  # the loop's _choose_parents
        pool = [(c, 1 / (r + len(population))) for r, c in enumerate(population)]
        chosen = []
        while pool and len(chosen) < k:
            chosen.append(pool.pop(rng.choices(range(len(pool)), weights=[w for _, w in pool])[0])[0])
        return chosen

    for seed in range(50):
        assert choose_parents(population, 2, random.Random(seed), key) == by_rank(random.Random(seed), 2)


def test_the_best_is_drawn_first_most_often():
    firsts = Counter(choose_parents(RANKED, 1, random.Random(s), key)[0][0] for s in range(2000))
    assert firsts.most_common(1)[0][0] == "a1"
