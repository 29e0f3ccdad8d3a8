"""Fitness with a fidelity and a seed: evaluate(source, n_ft, seed) fine-tunes n_ft epochs
from the shared checkpoint with the fine-tune's randomness from seed; the defaults are
exactly a plain evaluate(), and the checkpoint is the setup's whatever the seed."""
import pytest
import torch

from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.trainer import Recipe

POLICY = "examples/policies/rank_scaled.dsl"


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory):
    data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
    setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(5, batch_size=32, lr=0.05), seed=0, e_ckp=2, n_ft=1)
    evaluator = FitnessEvaluator(data, setup, tmp_path_factory.mktemp("fitness"))
    evaluator.checkpoint()
    return evaluator


@pytest.fixture(scope="module")
def plain(evaluator):
    return figures(evaluator.evaluate(POLICY))


def figures(result):
    assert result.ok, result.message
    return result.validation, [e["loss"] for e in result.epochs]


def test_the_defaults_are_a_plain_evaluation(evaluator, plain):
    assert figures(evaluator.evaluate(POLICY, n_ft=1, seed=0)) == plain


def test_another_seed_draws_other_luck_reproducibly(evaluator, plain):
    other = figures(evaluator.evaluate(POLICY, seed=7))
    assert other != plain  # batch order, the policy's draws: not the same fine-tune
    assert figures(evaluator.evaluate(POLICY, seed=7)) == other  # and the same again for the same seed


def test_the_fidelity_is_the_fine_tune_length(evaluator, plain):
    longer = evaluator.evaluate(POLICY, n_ft=2)
    assert len(longer.epochs) == 2 and [e["epoch"] for e in longer.epochs] == [2, 3]
    assert figures(longer) != plain
    assert figures(evaluator.evaluate(POLICY, n_ft=2)) == figures(longer)


def test_the_checkpoint_is_the_setups_whatever_the_seed(evaluator):
    key = evaluator.checkpoint_key()
    before = {k: v.clone() for k, v in evaluator.checkpoint()["model"].items()}
    evaluator.evaluate(POLICY, n_ft=2, seed=3)
    assert evaluator.checkpoint_key() == key
    after = evaluator.checkpoint()["model"]
    assert all(torch.equal(before[k], after[k]) for k in before)  # fine-tunes never write into it


def test_a_fine_tune_of_the_whole_schedule_is_the_schedule_from_scratch(evaluator, tmp_path):
    """What a search's from-scratch confirmation asks for: every epoch from the first, the network
    initialised from the evaluation's seed (not the checkpoint's weights), no checkpoint read
    or trained, the same again for the same seed."""
    from autoda.engine.train.trainer import build_trainer

    fresh = FitnessEvaluator(evaluator.data, evaluator.setup, tmp_path)
    scratch = fresh.evaluate(POLICY, n_ft=5, seed=3)
    assert [e["epoch"] for e in scratch.epochs] == [0, 1, 2, 3, 4]
    assert not fresh.checkpoint_path().exists() and fresh._checkpoint is None
    assert figures(fresh.evaluate(POLICY, n_ft=5, seed=3)) == figures(scratch)
    assert figures(fresh.evaluate(POLICY, n_ft=5, seed=4)) != figures(scratch)
    s = evaluator.setup  # the first epoch's loss is the seed's initialisation's, not the checkpoint's
    trainer = build_trainer(evaluator.data, fresh.check(POLICY), s.method, s.model, s.recipe, s.device, 3, s.base)
    trainer.train(1)
    assert trainer.log[0].loss == pytest.approx(scratch.epochs[0]["loss"])


@pytest.mark.parametrize("n_ft", [0, -1, 1.5, True])
def test_a_fidelity_that_is_not_a_number_of_epochs_is_refused(evaluator, n_ft):
    with pytest.raises(ValueError, match="n_ft"):
        evaluator.evaluate(POLICY, n_ft=n_ft)


def test_training_the_shared_checkpoint_is_not_the_first_candidates_cost(tmp_path, monkeypatch):
    """The search reads a fine-tune epoch's cost from the evaluations' seconds (to keep time
    back for its confirmation): the first one trains the checkpoint, which must not count.
    The clock jumps 1,000 s while the checkpoint trains."""
    import autoda.engine.train.fitness as fitness

    data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
    setup = FitnessSetup("ce", "resnet8", Recipe.for_epochs(3, batch_size=32, lr=0.05), seed=0, e_ckp=1, n_ft=1)
    evaluator = FitnessEvaluator(data, setup, tmp_path)
    jump, real = [0.0], fitness.time.perf_counter
    monkeypatch.setattr(fitness.time, "perf_counter", lambda: real() + jump[0])
    train_checkpoint = evaluator.checkpoint

    def slow_checkpoint():
        jump[0] += 1000.0
        return train_checkpoint()
    monkeypatch.setattr(evaluator, "checkpoint", slow_checkpoint)
    result = evaluator.evaluate(POLICY)
    assert result.ok, result.message
    assert jump[0] == 1000.0 and result.seconds < 1000.0


@pytest.mark.parametrize("method", ["ride", "bcl"])
def test_a_method_whose_network_does_not_pack_evaluates_a_population_one_at_a_time(tmp_path, method):
    """RIDE's experts and BCL's views and heads: evaluate_many gives what evaluate gives, and
    BCL's fine-tune reaches its checkpoint's keys (the heads) from the cache."""
    data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=8)
    setup = FitnessSetup(method, "resnet8", Recipe.for_epochs(3, batch_size=32, lr=0.05), seed=0, e_ckp=1, n_ft=1)
    evaluator = FitnessEvaluator(data, setup, tmp_path)
    sources = [POLICY, "examples/policies/cuda.dsl", "policy broken\nper sample:\n    rotate(2)\n"]
    many = evaluator.evaluate_many(sources)
    assert [r.ok for r in many] == [True, True, False] and many[2].failure == "compile"
    fresh = FitnessEvaluator(data, setup, tmp_path)  # the checkpoint from the cache
    assert [figures(fresh.evaluate(s)) for s in sources[:2]] == [figures(r) for r in many[:2]]


def test_a_tail_averages_each_class_over_the_last_epochs(evaluator):
    """tail=3 of a 3-epoch fine-tune: the accuracies after epochs 1, 2 and 3 are those of
    fine-tunes 1, 2 and 3 epochs long (evaluating does not move the training), and the
    fitness is their mean, class by class."""
    from dataclasses import replace

    tailed = FitnessEvaluator(evaluator.data, replace(evaluator.setup, tail=3), evaluator.cache_dir)
    result = tailed.evaluate(POLICY, n_ft=3, seed=4)
    shorter = [evaluator.evaluate(POLICY, n_ft=n, seed=4).validation for n in (1, 2, 3)]
    assert result.validation["tail"] == [v["all"] for v in shorter]
    per_class = [sum(v["per_class"][c] for v in shorter) / 3 for c in range(len(shorter[0]["per_class"]))]
    assert result.validation["per_class"] == pytest.approx(per_class)
    assert result.fitness == pytest.approx(sum(result.validation["tail"]) / 3)
    assert [e["epoch"] for e in result.epochs] == [2, 3, 4]
    longer_than_fine_tune = tailed.evaluate(POLICY, n_ft=2, seed=4)  # a tail past the fine-tune: all of it
    assert len(longer_than_fine_tune.validation["tail"]) == 2


def test_a_tail_below_one_epoch_is_refused(evaluator):
    from dataclasses import replace

    with pytest.raises(ValueError, match="tail >= 1"):
        FitnessEvaluator(evaluator.data, replace(evaluator.setup, tail=0), evaluator.cache_dir)
