"""Population-batched fitness: K candidates fine-tuned as one packed network give what K
separate fine-tunes give, and a candidate that fails fails alone."""
import pytest
import torch

import autoda
from autoda.engine import CompiledPolicy
from autoda.engine.augment.compiled import PolicyRuntimeError
from autoda.engine.augment.standard import with_standard
from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.methods import make_method
from autoda.engine.train.models import build_model
from autoda.engine.train.packed import PackedCifarResNet, PackedTrainer, pack, unpack
from autoda.engine.train.trainer import Recipe

POLICIES = ["examples/policies/none.dsl", "examples/policies/randaugment.dsl", "examples/policies/rank_scaled.dsl",
            "examples/policies/cuda.dsl"]


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)


def setup(**changes):
    base = dict(method="ce", model="resnet8", recipe=Recipe.for_epochs(5, batch_size=32, lr=0.05), seed=0,
                e_ckp=2, n_ft=2, device="cpu")
    return FitnessSetup(**{**base, **changes})


@pytest.mark.parametrize("normed", [False, True], ids=["linear", "cosine"])
def test_a_packed_network_computes_each_copy_as_its_own_network(normed):
    torch.manual_seed(0)
    models = [build_model("resnet8", 10, normed=normed) for _ in range(3)]
    packed = PackedCifarResNet.like(models[0], 3)
    packed.load_state_dict(pack([m.state_dict() for m in models]))
    for i, model in enumerate(models):
        assert all(torch.equal(a, b) for a, b in zip(unpack(packed.state_dict(), 3, i).values(),
                                                      model.state_dict().values()))
    images = [torch.randn(4, 3, 16, 16) for _ in models]
    for train in (True, False):  # batch statistics, then running ones
        packed.train(train)
        for m in models:
            m.train(train)
        logits = packed(torch.cat(images, dim=1))
        for i, (model, x) in enumerate(zip(models, images)):
            torch.testing.assert_close(logits[:, i], model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", ["ce", "ldam-drw", "bs"])
def test_a_packed_fine_tune_equals_separate_ones(data, tmp_path, method):
    evaluator = FitnessEvaluator(data, setup(method=method), tmp_path)
    together = evaluator.evaluate_many(POLICIES, seed=3)
    for policy, packed in zip(POLICIES, together):
        alone = evaluator.evaluate(policy, seed=3)
        assert packed.ok and alone.ok and packed.policy_hash == alone.policy_hash
        assert [e["epoch"] for e in packed.epochs] == [e["epoch"] for e in alone.epochs] == [2, 3]
        for a, b in zip(packed.epochs, alone.epochs):
            assert a["loss"] == pytest.approx(b["loss"], rel=5e-3)  # float sums in another order, 16 steps on
            assert a["train_acc"] == pytest.approx(b["train_acc"], abs=0.01)  # a near tie may flip a sample or two
        # a validation class has 20 images here: a near tie flips 0.05 of one class
        assert packed.validation["per_class"] == pytest.approx(alone.validation["per_class"], abs=0.1)
        assert packed.fitness == pytest.approx(alone.fitness, abs=0.01)


def test_a_candidate_that_fails_fails_alone(data, tmp_path, monkeypatch):
    evaluator = FitnessEvaluator(data, setup(), tmp_path)
    broken = "policy broken\nper sample:\n    rotat(0.2)\n"
    expected = [evaluator.evaluate(p) for p in POLICIES[:2]]
    calls = {"n": 0}
    original = CompiledPolicy.__call__

    def failing_third(self, images, labels):  # the third copy's policy breaks in its second batch
        if self.checked.ast.name == "rank_scaled":
            calls["n"] += 1
            if calls["n"] == 2:
                raise PolicyRuntimeError("the policy broke")
        return original(self, images, labels)

    monkeypatch.setattr(CompiledPolicy, "__call__", failing_third)
    results = evaluator.evaluate_many([POLICIES[0], broken, POLICIES[2], POLICIES[1]])
    assert [r.ok for r in results] == [True, False, False, True]
    assert (results[1].failure, "N002" in results[1].message) == ("compile", True)
    assert (results[2].failure, results[2].message) == ("runtime", "the policy broke")
    for got, alone in zip((results[0], results[3]), expected):
        assert got.fitness == pytest.approx(alone.fitness, abs=0.01)
        # float sums in another order (grouped convolutions, threads): as close as packed and separate runs are
        assert [e["loss"] for e in got.epochs] == pytest.approx([e["loss"] for e in alone.epochs], rel=5e-3)


def test_a_copy_whose_loss_turns_nan_fails_alone(data):
    recipe = Recipe.for_epochs(3, batch_size=32, lr=0.05)
    torch.manual_seed(0)
    method = make_method("ce", data.train.counts(), recipe.drw_epoch)
    model = build_model("resnet8", data.num_classes)

    def packed(paths):
        policies = [CompiledPolicy(with_standard(autoda.check_policy(p)), data.num_classes, seed=0) for p in paths]
        trainer = PackedTrainer(model, method, data, policies, recipe, torch.device("cpu"))
        trainer.model.load_state_dict(pack([model.state_dict()] * len(paths)))
        return trainer

    poisoned = packed(POLICIES[:3])
    with torch.no_grad():
        poisoned.model.conv1.weight[8:16] = float("nan")  # copy 1's first convolution (8 channels a copy)
    poisoned.train(2)
    assert [type(f).__name__ if f else None for f in poisoned.failures] == [None, "Diverged", None]
    assert "the training loss is nan in epoch 0" in str(poisoned.failures[1])
    clean = packed([POLICIES[0], POLICIES[2]])
    clean.train(2)
    for i, j in ((0, 0), (2, 1)):  # the others trained as if the poisoned copy were not there
        assert [e.loss for e in poisoned.logs[i]] == pytest.approx([e.loss for e in clean.logs[j]], rel=1e-3)
        assert all(torch.isfinite(v.float()).all() for v in unpack(poisoned.model.state_dict(), 3, i).values())


def test_a_packed_run_that_fails_as_a_whole_evaluates_one_at_a_time(data, tmp_path, monkeypatch):
    """Out of memory (say) for the packed network: each candidate is fine-tuned alone and
    scored as evaluate scores it, not failed."""
    evaluator = FitnessEvaluator(data, setup(), tmp_path)
    alone = [evaluator.evaluate(p, seed=1) for p in POLICIES[:3]]

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr("autoda.engine.train.fitness.PackedTrainer", out_of_memory)
    results = evaluator.evaluate_many(POLICIES[:3], seed=1)
    assert [r.ok for r in results] == [True, True, True]
    assert [r.fitness for r in results] == [r.fitness for r in alone]  # the same fine-tunes, run the same way
    timed = evaluator.evaluate_many(POLICIES[:3], seed=1, retry_alone=False)  # a benchmark of packing: no retry
    assert [(r.ok, r.failure) for r in timed] == [(False, "error")] * 3
    assert all("CUDA out of memory" in r.message for r in timed)


def test_a_packed_fine_tune_averages_the_same_tail_as_separate_ones(data, tmp_path):
    evaluator = FitnessEvaluator(data, setup(n_ft=3, tail=2), tmp_path)
    together = evaluator.evaluate_many(POLICIES[:2], seed=2)
    for policy, packed in zip(POLICIES, together):
        alone = evaluator.evaluate(policy, seed=2)
        assert len(packed.validation["tail"]) == len(alone.validation["tail"]) == 2
        assert packed.validation["tail"] == pytest.approx(alone.validation["tail"], abs=0.01)
        assert packed.fitness == pytest.approx(alone.fitness, abs=0.01)


@pytest.mark.parametrize(("device", "method", "model", "k"), [
    ("cpu", "ce", "resnet8", 1),  # packing measured slower on a CPU
    ("cuda", "ce", "resnet8", 16), ("cuda:1", "bs", "resnet32", 16),
    ("cuda", "ride", "resnet32", 1), ("cuda", "bcl", "resnet32", 1),  # experts and heads do not pack
    ("cuda", "ce", "resnet50", 1)])
def test_the_default_eval_batch_follows_the_device_and_the_network(data, tmp_path, device, method, model, k):
    evaluator = FitnessEvaluator(data, setup(device=device, method=method, model=model), tmp_path)
    assert evaluator.default_eval_batch() == k
