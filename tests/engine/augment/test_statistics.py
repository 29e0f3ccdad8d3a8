"""ClassStats: what an epoch update accepts, and a clear error for what it cannot run on."""
import dataclasses

import pytest
import torch

import autoda
from autoda.engine import ClassStats

COUNTS = torch.tensor([500, 200, 90, 40, 15, 5])


def policy():
    return autoda.compile_policy("examples/policies/tail_curriculum.dsl", num_classes=len(COUNTS), seed=0)


@pytest.mark.parametrize("count,message", [
    ([1e30] * 6, r"'count' has values in \[1e\+30, 1e\+30\]; it must lie in \[1, 1e\+09\]"),
    ([2**62] * 6, r"'count' has values in"),
    ([0] * 6, r"'count' has values in \[0, 0\]"),
    ([5, 4, 3, 2, 1, -1], r"'count' has values in \[-1, 5\]"),
    ([5, 4, 3, 2, 1, float("nan")], r"'count' has values in \[nan"),
    ([5, 4, 3, 2, 1, 1.5], "whole numbers"),
    ([5, 4, 3, 2, 1], "statistics are for 5 classes; the policy has 6"),
    ([], "non-empty vector"),
    ([[5] * 6], "non-empty vector"),
    (["a"] * 6, "'count' must be numbers"),
    ([True] * 6, "real numbers"),
])
def test_bad_counts_are_refused_clearly(count, message):
    with pytest.raises(autoda.PolicyRuntimeError, match=message):
        policy().update_epoch(ClassStats.initial(count) if count and isinstance(count[0], (int, float, list))
                              and not isinstance(count[0], bool) else {"count": count})


@pytest.mark.parametrize("change,message", [
    ({"train_acc": torch.full((6,), float("nan"))}, "'train_acc' has values in"),
    ({"train_acc": [0.5] * 6}, "'train_acc' must be a tensor, got list"),
    ({"train_loss": -torch.ones(6)}, "'train_loss' has values in"),
    ({"epoch": 2.5}, "'epoch' must be a whole number"),
    ({"epoch": 10**30}, "'epoch' is 10+; it must lie in"),
    ({"total_epochs": -1}, "'total_epochs' is -1"),
])
def test_bad_training_statistics_are_refused_clearly(change, message):
    stats = dataclasses.replace(ClassStats.initial(COUNTS, total_epochs=10), **change)
    with pytest.raises(autoda.PolicyRuntimeError, match=message):
        policy().update_epoch(stats)


@pytest.mark.parametrize("values,message", [
    ({"count": None}, "'count' must be numbers"),
    ({"count": [5] * 6, "train_acc": "high"}, "'train_acc' must be numbers"),
    ({"count": [5] * 6, "epoch": "x"}, "'epoch' must be a whole number"),
    ({"count": [5] * 6, "epoch": float("nan")}, "'epoch' must be a whole number"),
])
def test_bad_mappings_are_refused_clearly(values, message):
    with pytest.raises(autoda.PolicyRuntimeError, match=message):
        policy().update_epoch(values)


def test_statistics_of_the_wrong_type_are_refused_clearly():
    with pytest.raises(autoda.PolicyRuntimeError, match="ClassStats or a dict"):
        policy().update_epoch(5)


def test_whole_float_epochs_and_a_run_past_its_last_epoch_are_accepted():
    p = policy()
    p.update_epoch({"count": COUNTS.tolist(), "train_acc": [0.5] * 6, "epoch": 3.0, "total_epochs": 10.0})
    late = ClassStats.initial(COUNTS, total_epochs=10, epoch=15)  # a fine-tune past the recipe
    assert late.progress == 1.0  # the range the compiler assumes
    p.update_epoch(late)
