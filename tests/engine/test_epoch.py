"""The epoch section in torch, against a class-at-a-time reference, on random policies."""

import pytest
import torch
from hypothesis import assume, given, strategies as st

import autoda
from autoda.compiler import ast, format_policy
from autoda.engine import ClassStats
from autoda.engine.epoch import run_epoch
from epoch_reference import EpochReference
from strategies import policies


def uses_randomness(policy: ast.Policy) -> bool:
    return any(isinstance(n, ast.Call) and n.func in ("uniform", "sample_one")
               for s in policy.epoch or () for n in ast.walk(s.value))


@st.composite
def class_stats(draw, num_classes: int) -> ClassStats:
    quarter = st.integers(0, 4).map(lambda q: q / 4)  # exact in float32: comparisons cannot flip
    vector = lambda elements: torch.tensor(draw(st.lists(elements, min_size=num_classes, max_size=num_classes)),  # noqa: E731
                                           dtype=torch.float32)
    return ClassStats(torch.tensor(draw(st.lists(st.integers(1, 500), min_size=num_classes, max_size=num_classes))),
                      vector(quarter), vector(quarter), vector(st.integers(0, 12).map(lambda q: q / 4)),
                      vector(st.integers(0, 12).map(lambda q: q / 4)), vector(st.integers(0, 12).map(lambda q: q / 4)),
                      draw(st.integers(0, 30)), 30)


@given(policies(), st.integers(1, 5).flatmap(class_stats))
def test_vectorised_epoch_matches_the_class_at_a_time_reference(policy, stats):
    assume(policy.epoch and not uses_randomness(policy))
    checked = autoda.check_policy(format_policy(policy))
    compiled = autoda.compile_policy(checked, num_classes=stats.num_classes, seed=0)
    state = {k: v.clone() for k, v in compiled.state.items()}
    new, _ = run_epoch(compiled.plan, state, stats, torch.Generator().manual_seed(0))
    expected = EpochReference(checked, stats, state).run()
    for name, value in new.items():
        want = expected[name].to(value.dtype)
        if value.is_floating_point():
            assert torch.allclose(value, want, rtol=1e-5, atol=1e-5), name
        else:
            assert torch.equal(value, want), name


def test_epoch_randomness_is_seeded_and_sample_one_draws_one_op_per_class():
    def picks(seed):
        policy = autoda.compile_policy("examples/policies/doda.dsl", num_classes=4, seed=seed)
        policy.update_epoch(ClassStats.initial(torch.tensor([40, 30, 20, 10])))
        return policy.state["picked"].clone()
    a, b = picks(1), picks(1)
    assert torch.equal(a, b) and a.sum(1).tolist() == [1, 1, 1, 1]
    assert any(not torch.equal(a, picks(s)) for s in range(2, 6))


def test_bad_statistics_are_refused_with_a_clear_error():
    policy = autoda.compile_policy("examples/policies/cuda.dsl", num_classes=3)
    with pytest.raises(autoda.PolicyRuntimeError, match="train_acc"):
        policy.update_epoch({"count": [5, 4, 3], "train_acc": [0.5, float("nan"), 0.2]})
    with pytest.raises(autoda.PolicyRuntimeError, match="the policy has 3"):
        policy.update_epoch({"count": [5, 4]})
    with pytest.raises(autoda.PolicyRuntimeError, match="unknown class statistics: val_acc"):
        policy.update_epoch({"count": [5, 4, 3], "val_acc": [1, 1, 1]})
