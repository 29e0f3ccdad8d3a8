"""Several views of a batch (BCL's): each view its own draw, the contrastive views on
SimCLR's base, one epoch update for all views (the follower's state is the leader's)."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from autoda.compiler import check_policy
from autoda.engine import ClassStats, CompiledPolicy
from autoda.engine.augment.standard import contrastive_policy, training_policy
from autoda.engine.augment.views import PolicyViews

EXAMPLES = Path(__file__).parents[3] / "examples" / "policies"
COUNTS = torch.tensor([60, 20, 6])
IMAGES = torch.randint(0, 256, (48, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
LABELS = torch.arange(48) % 3


def views_of(checked, epoch_step=None):
    leader = CompiledPolicy(training_policy(checked), 3, seed=7, epoch_step=epoch_step)
    return PolicyViews(leader, contrastive_policy(checked), 3)


def stats(epoch):
    return ClassStats.simulated(COUNTS, epoch, 10)


def test_each_view_is_its_own_draw_and_the_first_is_the_policy_alone():
    doda = check_policy(EXAMPLES / "doda.dsl")  # its epoch section draws (sample_one)
    views = views_of(doda)
    alone = CompiledPolicy(training_policy(doda), 3, seed=7)
    for epoch in range(4):
        views.update_epoch(stats(epoch))
        alone.update_epoch(stats(epoch))
        for name, value in views.leader.state.items():
            assert torch.equal(views.follower.state[name], value)
        first, second, third = views(IMAGES, LABELS)
        assert torch.equal(first, alone(IMAGES, LABELS))
        assert not torch.equal(second, third) and not torch.equal(first, second)


class Counting:
    """An epoch step (a Python policy's, in the sandbox) that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, state, accs, epoch, seed, correct):
        self.calls += 1
        return {"w": np.full(state["w"].shape, 0.1 * epoch + 0.1, dtype=np.float32)}


def test_an_epoch_step_runs_once_for_all_views():
    stepped = check_policy("policy stepped\nstate w: float per op in [0, 1] = 0\n\nper sample:\n"
                           "    apply 1 of [rotate, invert]\n        magnitude w\n")
    step = Counting()
    views = views_of(stepped, epoch_step=step)
    for epoch in range(3):
        views.update_epoch(stats(epoch))
    assert step.calls == 3
    assert torch.equal(views.follower.state["w"], views.leader.state["w"])
    assert torch.allclose(views.leader.state["w"], torch.full((3, 2), 0.3))


def test_cudas_probe_is_asked_once_per_epoch():
    asked = []

    def probe(levels):
        asked.append(levels.clone())
        return torch.tensor([True, False, True])

    views = views_of(check_policy(EXAMPLES / "cuda.dsl"))
    for epoch in range(3):
        views.update_epoch(replace(stats(epoch), probe=probe))
    assert len(asked) == 3
    assert torch.equal(views.follower.state["level"], views.leader.state["level"])
    assert views.leader.state["level"].flatten().tolist() == [3, 0, 3]  # up every epoch, held at 0 below


def test_the_contrastive_base_is_simclrs_then_the_policy():
    rotate = check_policy("policy mine\nper sample:\n    rotate(0.5) with probability 0.5\n")
    stages = contrastive_policy(rotate).ast.stages
    names = [getattr(getattr(s, "op", None), "name", type(s).__name__) for s in stages]
    assert names == ["resized_crop", "flip_lr", "OneOf", "grayscale", "gaussian_blur", "rotate"]
    policy = CompiledPolicy(contrastive_policy(None), 3, seed=0)
    policy.update_epoch(ClassStats.initial(COUNTS))
    n = 20000
    draw = policy.draw(torch.zeros(n, dtype=torch.long), (n, 3, 32, 32))
    applied = {op: draw.applied[:, i] for i, op in enumerate(draw.ops)}
    share = {op: a.float().mean().item() for op, a in applied.items()}
    assert share["resized_crop"] == 1
    area = draw.value[:, draw.ops.index("resized_crop")]
    assert torch.allclose(area, torch.full((n,), 0.2), atol=1e-4)  # boxes of 0.2 to 1 of the area
    assert share["flip_lr"] == pytest.approx(0.5, abs=0.015)
    assert share["grayscale"] == pytest.approx(0.2, abs=0.015)
    assert share["gaussian_blur"] == pytest.approx(0.5, abs=0.015)
    # colour jitter: one coin of 0.8 for its four ops together
    assert share["brightness"] == pytest.approx(0.8, abs=0.015)
    assert torch.equal(applied["brightness"], applied["hue"]) and torch.equal(applied["contrast"], applied["color"])
    assert torch.equal(applied["brightness"], applied["contrast"])
    factor = draw.value[:, draw.ops.index("brightness")][applied["brightness"]]
    assert factor.min() >= 0.6 - 1e-4 and factor.max() <= 1.4 + 1e-4
    hue = draw.value[:, draw.ops.index("hue")][applied["hue"]]
    assert hue.abs().max() <= 0.1 + 1e-4 and hue.abs().max() > 0.09


def test_views_are_two_or_more():
    with pytest.raises(ValueError, match="two or more"):
        PolicyViews(CompiledPolicy(training_policy(None), 3, seed=0), contrastive_policy(None), 1)
