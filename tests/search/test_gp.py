"""Genetic programming only ever yields programs that check."""
from hypothesis import given, settings, strategies as st

import autoda
from autoda.compiler import format_policy
from autoda.search.gp import GeneticProgramming
from autoda.search.programs import RandomChooser
from autoda.policies import example_policies
from strategies import policies

SEEDS = [autoda.check_policy(text) for text in example_policies().values()]
GP = GeneticProgramming(SEEDS, max_cost=64)


def rechecks(child) -> None:
    again = autoda.check_policy(child.canonical)  # the canonical text checks on its own
    assert again.hash == child.hash


@given(st.integers(0, 10 ** 6))
def test_initialise_yields_checked_programs(seed):
    child, idea = GP.initialise(seed)
    rechecks(child)
    assert idea.startswith("start from")


@settings(max_examples=60)
@given(policies(), st.integers(0, 10 ** 6))
def test_mutation_of_any_checked_policy_yields_a_checked_different_program(policy, seed):
    parent = autoda.check_policy(format_policy(policy))
    child, _ = GP.mutate(parent, seed)
    rechecks(child)
    assert child.hash != parent.hash


@settings(max_examples=60)
@given(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=3), policies(), st.integers(0, 10 ** 6))
def test_crossover_yields_checked_programs(parents, other, seed):
    parents = parents + [autoda.check_policy(format_policy(other))]
    child, idea = GP.crossover(parents, seed)
    rechecks(child)
    assert idea


def test_crossover_can_graft_a_parameter_with_the_state_it_needs():
    cuda, rank = example_policies()["cuda"], example_policies()["rank_scaled"]
    a, b = autoda.check_policy(rank), autoda.check_policy(cuda)
    grafted = [GP._graft(a, b, RandomChooser(s)) for s in range(200)]
    with_level = [g for g in grafted if g is not None and "level" in g[0].canonical]
    assert with_level, "no graft brought CUDA's level along"
    child = with_level[0][0]
    assert "state level: int in [0, 10] = 0" in child.canonical and "every epoch:" in child.canonical


def test_the_same_seed_gives_the_same_child():
    parent = SEEDS[0]
    assert GP.mutate(parent, 7)[0].hash == GP.mutate(parent, 7)[0].hash


def test_every_function_declared_for_the_generator_is_generated():
    from autoda.compiler import ast
    from autoda.compiler.functions import DRAWN
    from autoda.search.programs import random_policy

    seen = set()
    for seed in range(1500):
        policy = random_policy(RandomChooser(seed), max_depth=4)
        exprs = [s.value for s in policy.epoch or ()] + [e for st in policy.stages for _, e in ast.stage_exprs(st)]
        seen.update(n.func for e in exprs for n in ast.walk(e) if isinstance(n, ast.Call))
    assert {name for names in DRAWN.values() for name in names} <= seen


def test_offspring_get_their_own_names_saying_where_they_came_from():
    from autoda.search.tree import child_name

    cuda = next(s for s in SEEDS if s.name == "cuda")
    child, _ = GP.mutate(cuda, 3)
    assert child.name == child_name(["cuda"], child.hash) == f"cuda_h{child.hash[:6]}"
    assert child.ast.description.startswith("from cuda: ")
    grandchild, _ = GP.mutate(child, 4)  # the suffix is replaced, never stacked
    assert grandchild.name == f"cuda_h{grandchild.hash[:6]}" and f"from {child.name}" in grandchild.ast.description
    a, b = SEEDS[:2]
    crossed, _ = GP.crossover([a, b], 1)
    assert crossed.name not in (a.name, b.name) and crossed.name.endswith(crossed.hash[:6])


def test_an_unchanged_seed_keeps_its_name():
    unchanged = [GP.initialise(s)[0] for s in range(40)]
    by_hash = {s.hash: s.name for s in SEEDS}
    assert all(c.name == by_hash[c.hash] for c in unchanged if c.hash in by_hash)
    assert all(c.name not in by_hash.values() for c in unchanged if c.hash not in by_hash)


def test_child_names_are_valid_and_descriptions_one_clean_line():
    from autoda.compiler import ast
    from autoda.search.tree import with_lineage

    policy = autoda.check_policy("policy p\nper sample:\n    flip_lr\n").ast
    named = with_lineage(policy, ["x" * 90 + "_h0a1b2c", "other"], 'a "quoted"\nnote\t' + "y" * 300)
    again = autoda.check_policy(format_policy(named))
    assert again.name == "x" * 40 + "_h" + again.hash[:6]
    assert len(again.ast.description) <= 160 and '"' not in again.ast.description
    assert with_lineage(policy, [], "n").name.startswith("policy_h")
    assert isinstance(named, ast.Policy)
