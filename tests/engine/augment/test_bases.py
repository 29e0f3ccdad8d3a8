"""The base augmentations around a policy: standard, the paper's, none."""
from pathlib import Path

import pytest
import torch

from autoda.compiler import check_policy
from autoda.engine import ClassStats, CompiledPolicy
from autoda.engine.augment.standard import training_policy

ROTATE = check_policy("policy mine\nper sample:\n    rotate(0.5) with probability 0.5\n")
AUTOAUGMENT = check_policy(Path(__file__).parents[3] / "examples" / "policies" / "autoaugment.dsl")


def test_the_paper_base_is_crop_flip_autoaugment_then_the_policy_then_cutout_16():
    stages = training_policy(ROTATE, "paper").ast.stages
    written = [type(s).__name__ + ":" + (getattr(s, "op", None).name if hasattr(s, "op") else "") for s in stages]
    assert written == ["Fixed:crop", "Fixed:flip_lr", "OneOf:", "Fixed:rotate", "Fixed:cutout"]
    assert stages[2] == AUTOAUGMENT.ast.stages[0]
    cutout = stages[-1]
    assert cutout.probability is None and cutout.magnitude.value == 1  # every image, a hole of half the side
    assert training_policy(None, "paper").ast.stages[:3] == stages[:3]  # `none` on the paper base: the base


def test_cutout_16_is_a_16_pixel_hole_on_every_image_and_runs_last():
    policy = CompiledPolicy(training_policy(ROTATE, "paper"), 2, seed=0)
    policy.update_epoch(ClassStats.initial(torch.tensor([20, 5])))
    draw = policy.draw(torch.zeros(64, dtype=torch.long), (64, 3, 32, 32))
    assert draw.ops[-1] == "cutout" and bool(draw.applied[:, -1].all())
    assert torch.equal(draw.value[:, -1], torch.full((64,), 0.5))  # a side of half of 32 pixels


@pytest.mark.parametrize("base,stages", [("standard", 3), ("none", 1), (True, 3), (False, 1)])
def test_the_other_bases(base, stages):
    assert len(training_policy(ROTATE, base).ast.stages) == stages


def test_an_unknown_base_is_refused():
    with pytest.raises(ValueError, match="unknown base 'papers'; the bases are standard, paper, none"):
        training_policy(ROTATE, "papers")


def test_the_paper_base_trains_a_policy_on_the_cpu(tmp_path):
    import json

    from click.testing import CliRunner

    from autoda.cli import cli

    out = tmp_path / "m.json"
    result = CliRunner().invoke(cli, ["train", "--epochs", "1", "--base", "paper", "--policy",
                                      str(Path(__file__).parents[3] / "examples" / "policies" / "cuda.dsl"),
                                      "--metrics-out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["base"] == "paper"
