"""Paper-style Python policies (DODA's rule as the paper's seed writes it, a CUDA-like level
rule) run sandboxed and match the DSL versions of the same rules on scripted statistics."""
import dataclasses
import random

import torch

import autoda
from autoda.engine import ClassStats

EPOCHS, CLASSES = 12, 5
COUNTS = torch.tensor([500, 200, 80, 30, 10])


def scripted(seed: int) -> list[torch.Tensor]:
    rng = random.Random(seed)
    return [torch.zeros(CLASSES)] + [torch.tensor([round(rng.random(), 2) for _ in range(CLASSES)])
                                     for _ in range(EPOCHS)]


def epochs(accuracies):
    stats = ClassStats.initial(COUNTS, total_epochs=EPOCHS + 1)
    previous = torch.zeros(CLASSES)
    for epoch, acc in enumerate(accuracies):
        yield dataclasses.replace(stats, train_acc=acc, prev_train_acc=previous, epoch=epoch)
        previous = acc


def test_paper_style_doda_moves_weights_exactly_like_the_dsl_doda():
    python = autoda.compile_policy("examples/policies/paper_doda.py", num_classes=CLASSES, seed=0)
    dsl = autoda.compile_policy("examples/policies/doda.dsl", num_classes=CLASSES, seed=0)
    assert python.checked.python.ops == dsl.plan.ops
    moved = 0
    for stats in epochs(scripted(2)):
        dsl.state_picked.copy_(python.state["chose"])  # the same picks (each draws its own)
        python.update_epoch(stats)
        dsl.update_epoch(stats)
        assert python.state["aug_weight"].tolist() == dsl.state["w"].tolist()
        chose = python.state["chose"]
        assert chose.sum(dim=1).tolist() == [1] * CLASSES  # one op per class, as DODA
        moved += int((python.state["aug_weight"] != 1).sum())
    assert moved > 0  # the scripted accuracies did move weights


def test_paper_style_cuda_levels_follow_the_dsl_cuda():
    python = autoda.compile_policy("examples/policies/paper_cuda.py", num_classes=CLASSES, seed=0)
    dsl = autoda.compile_policy("examples/policies/cuda.dsl", num_classes=CLASSES, seed=0)
    assert python.checked.python.ops == dsl.plan.ops
    levels = set()
    for stats in epochs(scripted(1)):
        python.update_epoch(stats)
        dsl.update_epoch(stats)
        level = dsl.state["level"].flatten()
        assert python.state["chose"].sum(dim=1).tolist() == level.tolist()
        expected = torch.where(python.state["chose"], level[:, None] / 30, torch.zeros(()))
        assert torch.allclose(python.state["ext"], expected)
        levels.update(level.tolist())
    assert len(levels) > 2  # the levels went up and down


def test_a_python_policy_applies_exactly_each_class_s_chosen_ops_at_their_intensities():
    python = autoda.compile_policy("examples/policies/paper_cuda.py", num_classes=CLASSES, seed=0)
    stats = next(epochs([torch.tensor([0.9, 0.9, 0.9, 0.1, 0.1])]))
    python.update_epoch(stats)  # three classes at level 1 (one op each), two at level 0
    labels = torch.arange(CLASSES).repeat(20)
    draw = python.draw(labels, (len(labels), 3, 32, 32))
    order = [python.checked.python.ops.index(op) for op in draw.ops]
    chosen = python.state["chose"][labels][:, order]
    assert chosen.sum().item() == 3 * 20
    assert torch.equal(draw.applied, chosen)
    ext = python.state["ext"][labels][:, order]
    assert torch.allclose(draw.magnitude, torch.where(chosen, ext, torch.zeros(())))
