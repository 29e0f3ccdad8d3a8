"""Training and fitness on a CUDA device, where the trainer runs in bf16 autocast with
channels_last: an epoch with a policy that reads the class statistics, evaluation, and a
fitness evaluation from a checkpoint. Run by benchmarks/gpu_suite.sh; skipped without a GPU."""
import math

import pytest
import torch

import autoda
from autoda.engine.augment.standard import with_standard
from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.trainer import Recipe, build_trainer

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)


@pytest.mark.parametrize("method", ["ce", "bs"])
def test_an_epoch_on_cuda_is_bf16_channels_last_and_finite(data, method):
    policy = with_standard(autoda.check_policy("examples/policies/cuda.dsl"))
    trainer = build_trainer(data, policy, method, "resnet8", Recipe.for_epochs(2, batch_size=32), "cuda", seed=0)
    weights = [p for p in trainer.model.parameters() if p.dim() == 4]
    assert weights and all(p.is_cuda and p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    for _ in range(2):
        log = trainer.run_epoch()
        assert math.isfinite(log.loss) and 0 <= log.train_acc <= 1
    accuracy = trainer.evaluate(data.val)
    assert 0 <= accuracy["all"] <= 1 and len(accuracy["per_class"]) == data.num_classes


def test_a_fitness_evaluation_on_cuda(data, tmp_path):
    setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(3, batch_size=32, lr=0.05), seed=0, e_ckp=1, n_ft=1,
                         device="cuda")
    evaluator = FitnessEvaluator(data, setup, tmp_path)
    result = evaluator.evaluate("examples/policies/tail_curriculum.dsl")
    assert result.ok, result.message
    assert 0 <= result.fitness <= 1 and result.seconds > 0


def test_a_packed_fine_tune_on_cuda_matches_separate_ones(data, tmp_path):
    """bf16 autocast rounds differently in a grouped convolution: close, not equal."""
    setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(4, batch_size=32, lr=0.05), seed=0, e_ckp=2, n_ft=2,
                         device="cuda")
    evaluator = FitnessEvaluator(data, setup, tmp_path)
    policies = ["examples/policies/none.dsl", "examples/policies/rank_scaled.dsl", "examples/policies/cuda.dsl"]
    together = evaluator.evaluate_many(policies)
    for policy, packed in zip(policies, together):
        alone = evaluator.evaluate(policy)
        assert packed.ok and alone.ok, (packed.message, alone.message)
        assert packed.epochs[-1]["loss"] == pytest.approx(alone.epochs[-1]["loss"], rel=0.05)
        assert packed.fitness == pytest.approx(alone.fitness, abs=0.05)
