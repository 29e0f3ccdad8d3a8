"""The DODA example policy against a direct implementation of its published update rule,
driven through scripted per-class training accuracies (CUDA's, which reads its probe
rather than training accuracy, is tested in test_level_probe.py)."""
import dataclasses
import random

import torch

import autoda
from autoda.engine import ClassStats

EPOCHS, CLASSES = 12, 5


def scripted_accuracies(seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[round(rng.random(), 2) for _ in range(CLASSES)] for _ in range(EPOCHS)]


def drive(policy_name: str, accuracies: list[list[float]], seed: int = 0):
    """Run the compiled policy's epoch updates; yield its state after each."""
    policy = autoda.compile_policy(f"examples/policies/{policy_name}.dsl", num_classes=CLASSES, seed=seed)
    stats = ClassStats.initial(torch.tensor([500, 200, 80, 30, 10]), total_epochs=EPOCHS)
    previous = [0.0] * CLASSES
    for epoch, acc in enumerate([[0.0] * CLASSES] + accuracies):
        policy.update_epoch(dataclasses.replace(stats, train_acc=torch.tensor(acc), prev_train_acc=torch.tensor(previous),
                                                epoch=epoch))
        previous = acc
        yield policy, {k: v.clone() for k, v in policy.state.items()}


def test_doda_weights_follow_the_published_rule():
    """DODA (2024, its train/train_fn/base.py): each class uses one op per epoch, drawn in
    proportion to its weights; past the first eighth of training (its epoch > 50 of 400) the
    op in use gains 1 when the class's correct predictions rose over the epoch and loses 1
    when they fell, never below 1."""
    accuracies = scripted_accuracies(2)
    weights = [[1.0] * 10 for _ in range(CLASSES)]
    in_use = None
    previous = [0.0] * CLASSES
    for epoch, ((policy, state), acc) in enumerate(zip(drive("doda", accuracies), [[0.0] * CLASSES] + accuracies)):
        if in_use is not None and epoch / EPOCHS > 1 / 8:  # the epoch about to start, as `progress` reads it
            for c in range(CLASSES):
                op = in_use[c]
                change = 1 if acc[c] > previous[c] else -1 if acc[c] < previous[c] else 0
                weights[c][op] = min(1000.0, max(1.0, weights[c][op] + change))
        previous = acc
        assert state["w"].tolist() == weights
        picked = state["picked"]
        assert picked.sum(1).tolist() == [1] * CLASSES  # one op per class
        in_use = picked.int().argmax(1).tolist()
    assert any(w != 1.0 for row in weights for w in row) and any(w == 1.0 for row in weights for w in row)
    # and half the samples (DODA's aug_prob) apply exactly their class's op
    labels = torch.arange(CLASSES).repeat(400)
    draw = policy.draw(labels, (len(labels), 3, 8, 8))
    ops = [policy.pipeline.sources.index(op) for op in draw.ops]
    applied_ops = [{ops[i] for i in range(len(ops)) if draw.applied[b, i]} for b in range(len(labels))]
    for b, label in enumerate(labels.tolist()):
        assert applied_ops[b] in ({in_use[label]}, set())
    assert abs(sum(bool(a) for a in applied_ops) / len(labels) - 0.5) < 0.05


def test_doda_draws_ops_in_proportion_to_the_weights():
    policy = autoda.compile_policy("examples/policies/doda.dsl", num_classes=1, seed=0)
    policy.state_w.copy_(torch.tensor([[1.0] * 9 + [91.0]]))  # one op ten times as likely as the rest together
    counts = torch.zeros(10)
    stats = ClassStats.initial(torch.tensor([100]))
    for epoch in range(300):
        policy.update_epoch(dataclasses.replace(stats, epoch=epoch))
        counts += policy.state["picked"][0].float()
        policy.state_w.copy_(torch.tensor([[1.0] * 9 + [91.0]]))
    assert 0.85 < counts[9].item() / 300 < 0.97  # expected 0.91
