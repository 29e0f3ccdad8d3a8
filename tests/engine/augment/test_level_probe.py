"""CUDA's level-of-learning probe (lol_pass) against a direct implementation of CUDA's
procedure (CUDA_LTR, train/train_fn/base.py: update_score_base)."""
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import autoda
from autoda.class_stats import LEVEL_PROBE
from autoda.engine import ClassStats, LevelProbe, PolicyRuntimeError
from autoda.engine.augment.level_probe import cuda_ops, level_probe_decision

CUDA = Path(__file__).parents[3] / "examples" / "policies" / "cuda.dsl"
COUNTS = torch.tensor([40, 20, 9, 3])


def training_set(counts=COUNTS, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.repeat_interleave(torch.arange(len(counts)), counts)
    return torch.randint(0, 256, (len(labels), 3, 8, 8), generator=g, dtype=torch.uint8), labels


# --- CUDA's own procedure, written as its code reads --------------------------------------

def cuda_condition(correct, classes, levels_drawn, levels, num_classes):
    """update_score_base's arithmetic: per-image scores summed per class and level, then
    `ratio[:idx] > accept_rate` at every level up to the class's (idx = state + 1)."""
    score_tmp = np.zeros((num_classes, LEVEL_PROBE.max_level + 1))
    num_test = np.zeros_like(score_tmp)
    for ok, c, s in zip(correct, classes, levels_drawn):
        score_tmp[c, s] += ok
        num_test[c, s] += 1
    passed = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for c in range(num_classes):
            ratio = score_tmp[c] / num_test[c]
            idx = int(levels[c]) + 1
            passed.append(bool(np.sum(ratio[:idx] > LEVEL_PROBE.accept) == idx))
    return passed


def cuda_levels(pass_table, epochs, num_classes):
    """curr_state over epochs: +1 where the condition holds, else -1, clamped to [0, 10]."""
    state = np.zeros(num_classes, dtype=int)
    history = []
    for epoch in range(epochs):
        condition = pass_table(epoch, state)
        state = np.clip(state + np.where(condition, 1, -1), 0, LEVEL_PROBE.max_level)
        history.append(state.copy())
    return history


# --- the probe's draws ------------------------------------------------------------------

def test_each_class_draws_10_s_plus_1_of_its_own_images_at_each_level_up_to_its_own():
    images, labels = training_set()
    probe = LevelProbe(images, labels, len(COUNTS), classify=lambda x, y: torch.ones(len(y), dtype=torch.bool))
    levels = torch.tensor([0, 3, 10, 1])
    index, classes, drawn = probe.draws(levels, torch.Generator().manual_seed(0))
    assert torch.equal(labels[index], classes)  # a class's draws are its own images
    for c, top in enumerate(levels.tolist()):
        per_level = torch.bincount(drawn[classes == c], minlength=LEVEL_PROBE.max_level + 1)
        expected = [LEVEL_PROBE.per_level * (s + 1) if s <= top else 0 for s in range(LEVEL_PROBE.max_level + 1)]
        assert per_level.tolist() == expected
    # with replacement: class 3 has 3 images and draws 20 of them at level 1
    assert len(index[classes == 3]) == 30 and len(set(index[classes == 3].tolist())) <= 3


def test_at_level_s_an_image_gets_s_of_cudas_ops_at_magnitude_s_over_30():
    images, labels = training_set()
    probe = LevelProbe(images, labels, len(COUNTS), classify=lambda x, y: y == y, base="none")
    levels = torch.arange(LEVEL_PROBE.max_level + 1).repeat(20)
    draw = probe.augment.pipeline.draw(probe.augment.tables, levels, (len(levels), 3, 8, 8),
                                       torch.Generator().manual_seed(1))
    assert set(draw.ops) <= set(cuda_ops()) and len(cuda_ops()) == 22
    assert torch.equal(draw.applied.sum(1), levels)
    magnitudes = torch.where(draw.applied, draw.magnitude, float("nan"))
    for s in range(1, LEVEL_PROBE.max_level + 1):
        drawn = magnitudes[levels == s]
        assert torch.allclose(drawn[~drawn.isnan()], torch.tensor(s / LEVEL_PROBE.max_d))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, LEVEL_PROBE.max_level), min_size=1, max_size=5), st.integers(0, 2 ** 31))
def test_the_decision_is_cudas_arithmetic(levels, seed):
    g = torch.Generator().manual_seed(seed)
    levels = torch.tensor(levels)
    classes = torch.repeat_interleave(torch.arange(len(levels)), 3 * (levels + 1))
    drawn = torch.cat([torch.arange(int(top) + 1).repeat_interleave(3) for top in levels])
    correct = torch.rand(len(classes), generator=g) < 0.75
    assert level_probe_decision(correct, classes, drawn, levels, len(levels)).tolist() == \
        cuda_condition(correct.numpy(), classes.numpy(), drawn.numpy(), levels.numpy(), len(levels))


def test_a_model_right_on_one_class_and_wrong_on_another():
    images, labels = training_set()
    probe = LevelProbe(images, labels, len(COUNTS), classify=lambda x, y: y % 2 == 0)
    assert probe(torch.tensor([10, 0, 4, 2]), epoch=3).tolist() == [True, False, True, False]


# --- cuda.dsl's levels over scripted epochs -------------------------------------------------

def test_cuda_dsl_moves_levels_as_cuda_does_over_scripted_epochs():
    """Each epoch a scripted accuracy per class and level; the probe passes as CUDA's rule
    says on it; cuda.dsl's levels follow CUDA's curr_state epoch by epoch."""
    rng = np.random.default_rng(0)
    num_classes, epochs = 6, 40
    # accuracy falls with the level and rises over the epochs, differently per class
    table = np.clip(rng.uniform(0.5, 1.0, (epochs, num_classes, 1))
                    - rng.uniform(0.0, 0.05, (1, num_classes, 1)) * np.arange(11), 0, 1)

    def passes(epoch, state):
        return [bool(np.all(table[epoch, c, :int(state[c]) + 1] > LEVEL_PROBE.accept)) for c in range(num_classes)]

    expected = cuda_levels(passes, epochs, num_classes)
    policy = autoda.compile_policy(CUDA, num_classes=num_classes, seed=0)
    stats = ClassStats.initial(torch.full((num_classes,), 50), total_epochs=epochs)
    for epoch in range(epochs):
        seen = {}

        def probe(levels, epoch=epoch):
            seen["levels"] = levels.clone()
            return torch.tensor(passes(epoch, levels.numpy()))

        policy.update_epoch(ClassStats(**{**vars(stats), "epoch": epoch, "probe": probe}))
        assert seen["levels"].tolist() == (expected[epoch - 1].tolist() if epoch else [0] * num_classes)
        assert policy.state["level"].view(-1).tolist() == expected[epoch].tolist()
    assert len({tuple(h) for h in expected}) > 5  # the script moves levels up and down


def test_without_a_probe_lol_pass_is_a_clear_error():
    policy = autoda.compile_policy(CUDA, num_classes=3, seed=0)
    with pytest.raises(PolicyRuntimeError, match="give ClassStats a probe"):
        policy.update_epoch(ClassStats.initial(torch.tensor([5, 3, 1])))


@pytest.mark.slow
def test_the_trainer_runs_cudas_probe_with_its_model_each_epoch():
    from autoda.engine.augment.standard import training_policy
    from autoda.engine.train.data import load_dataset
    from autoda.engine.train.trainer import Recipe, build_trainer

    data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
    trainer = build_trainer(data, training_policy(autoda.check_policy(CUDA)), "ce", "resnet8",
                            Recipe.for_epochs(4, batch_size=32), "cpu", seed=0)
    calls = []
    classify = trainer.level_probe.classify
    trainer.level_probe.classify = lambda x, y: (classify(x, y), calls.append(trainer.model.training))[0]
    trainer.train(4)
    assert calls and not any(calls)  # the model classified in eval mode ...
    assert trainer.model.training  # ... and trained in train mode
    assert int(trainer.policy.state["level"].max()) >= 1  # the synthetic set is easy: levels rise
