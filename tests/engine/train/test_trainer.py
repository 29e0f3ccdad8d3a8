
import pytest
import torch

import autoda
from autoda.engine import CompiledPolicy
from autoda.engine.augment.standard import with_standard
from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.packed import PackedTrainer, pack
from autoda.engine.train.trainer import Recipe, build_trainer
from sync_guard import NoHostSync


@pytest.fixture(scope="module")
def data():
    return load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)


def trainer(data, method="ce", epochs=6, policy="examples/policies/none.dsl", lr=0.05):
    recipe = Recipe.for_epochs(epochs, batch_size=32, lr=lr)
    return build_trainer(data, autoda.check_policy(policy), method, "resnet8", recipe, "cpu", seed=0)


def test_recipe_schedule():
    r = Recipe()
    assert [r.lr_at(e) for e in (0, 4, 5, 159, 160, 179, 180)] == pytest.approx([0.02, 0.1, 0.1, 0.1, 1e-3, 1e-3, 1e-5])
    short = Recipe.for_epochs(20)
    assert (short.warmup_epochs, short.milestones, short.drw_epoch) == (0, (16, 18), 16)


def test_the_network_trains_in_channels_last_on_a_cpu_too(data):
    """channels_last trains a CIFAR ResNet faster on a CPU as well (benchmarks/channels_last.py)."""
    t = trainer(data, epochs=1)
    assert t.normalise(data.train.images[:4]).is_contiguous(memory_format=torch.channels_last)
    t.run_epoch(max_batches=2)
    convolutions = [m for m in t.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convolutions and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convolutions)


@pytest.mark.parametrize("method", ["ce", "ride", "bcl"])
def test_a_short_cpu_run_learns_the_synthetic_set(data, method):
    t = trainer(data, method, epochs=6)
    t.train(6)
    result = t.evaluate(data.val)
    assert result["all"] > 0.4  # chance is 0.1
    assert all(log.loss > 0 for log in t.log) and t.log[-1].loss < t.log[0].loss


def test_epoch_statistics_match_a_slow_reference(data):
    t = trainer(data, epochs=3)
    seen = {"labels": [], "hits": [], "losses": [], "norms": []}
    loss, embed = t.method.loss, t.model.embed

    def recording_loss(logits, labels, epoch):
        per_sample, mean = loss(logits, labels, epoch)
        seen["labels"] += labels.tolist()
        seen["hits"] += (logits.argmax(1) == labels).tolist()
        seen["losses"] += per_sample.tolist()
        return per_sample, mean

    def recording_embed(x):
        features = embed(x)
        seen["norms"] += features.norm(dim=1).tolist()
        return features

    t.method.loss, t.model.embed = recording_loss, recording_embed
    before = t.model.classifier.weight.detach().clone()
    t.run_epoch()
    stats = t.stats
    for c in range(data.num_classes):
        mine = [i for i, label in enumerate(seen["labels"]) if label == c]
        assert stats.train_acc[c].item() == pytest.approx(sum(seen["hits"][i] for i in mine) / len(mine))
        assert stats.train_loss[c].item() == pytest.approx(sum(seen["losses"][i] for i in mine) / len(mine), rel=1e-5)
        assert stats.feat_norm[c].item() == pytest.approx(sum(seen["norms"][i] for i in mine) / len(mine), rel=1e-5)
        assert stats.w_norm[c].item() == pytest.approx(t.model.classifier.weight[c].norm().item(), rel=1e-5)
    assert not torch.equal(before, t.model.classifier.weight)
    assert stats.epoch == 1 and stats.prev_train_acc.eq(0).all()  # epoch 0 had no statistics yet
    stats.validate(data.num_classes)


def test_divergence_is_detected(data):
    t = trainer(data, epochs=3, lr=1e12)
    with pytest.raises(autoda.engine.train.trainer.Diverged):
        t.train(3)


def small_setup(**changes):
    base = dict(method="ce", model="resnet8", recipe=Recipe.for_epochs(4, batch_size=32, lr=0.05), seed=0,
                e_ckp=2, n_ft=1, device="cpu")
    return FitnessSetup(**{**base, **changes})


def test_checkpoint_is_cached_and_keyed_by_what_determines_it(data, tmp_path):
    evaluator = FitnessEvaluator(data, small_setup(), tmp_path)
    path = evaluator.checkpoint_path()
    assert not path.exists()
    first = evaluator.evaluate("examples/policies/rank_scaled.dsl")
    assert first.ok and 0 <= first.fitness <= 1 and path.exists()
    stamp = path.stat().st_mtime_ns
    phases = []  # a new process would do the same
    again = FitnessEvaluator(data, small_setup(), tmp_path, on_epoch=lambda phase, log: phases.append(phase))
    second = again.evaluate("examples/policies/rank_scaled.dsl")
    assert path.stat().st_mtime_ns == stamp and phases == ["fine-tune"]  # no checkpoint epoch: a cache hit
    assert second.fitness == first.fitness  # seeded: the same number
    for change in ({"seed": 1}, {"method": "bs"}, {"e_ckp": 1}):
        assert FitnessEvaluator(data, small_setup(**change), tmp_path).checkpoint_key() != evaluator.checkpoint_key()


def test_a_checkpoint_policy_trains_the_checkpoint_and_keys_it(data, tmp_path):
    plain = FitnessEvaluator(data, small_setup(), tmp_path)
    text = open("examples/policies/randaugment.dsl").read()
    augmented = FitnessEvaluator(data, small_setup(checkpoint_policy=text), tmp_path)
    assert augmented.checkpoint_key() != plain.checkpoint_key()
    a, b = plain.checkpoint()["model"], augmented.checkpoint()["model"]
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)  # the policy changed the training
    assert augmented.evaluate("examples/policies/none.dsl").ok


def test_failures_are_recorded_not_raised(data, tmp_path):
    evaluator = FitnessEvaluator(data, small_setup(), tmp_path)
    bad = evaluator.evaluate("policy p\nper sample:\n    rotat(0.2)\n")
    assert (bad.ok, bad.failure, bad.fitness) == (False, "compile", None) and "N002" in bad.message
    # the learning rate explodes only after the checkpoint, so the candidate's fine-tune diverges
    exploding = Recipe.for_epochs(4, batch_size=32, lr=0.05, milestones=(2, 3), decays=(1e12, 1e12))
    nan = FitnessEvaluator(data, small_setup(recipe=exploding), tmp_path).evaluate("examples/policies/none.dsl")
    assert (nan.ok, nan.failure) == (False, "nan") and nan.fitness is None


def test_an_evaluation_does_not_depend_on_what_the_evaluator_ran_before(data, tmp_path):
    """The cached checkpoint serves every candidate unchanged: evaluating one policy after
    another gives the same figures as evaluating it first in a fresh evaluator."""
    first = FitnessEvaluator(data, small_setup(), tmp_path)
    first.evaluate("examples/policies/tail_curriculum.dsl")
    after = first.evaluate("examples/policies/rank_scaled.dsl")
    fresh = FitnessEvaluator(data, small_setup(), tmp_path).evaluate("examples/policies/rank_scaled.dsl")
    assert after.validation == fresh.validation
    assert [e["loss"] for e in after.epochs] == [e["loss"] for e in fresh.epochs]


@pytest.mark.parametrize("damage", [
    lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    lambda path: path.write_bytes(b"not a checkpoint"),
    lambda path: torch.save({"epoch": 2}, path),
    lambda path: torch.save({**torch.load(path), "model": {"conv.weight": torch.zeros(1)}}, path),
], ids=["truncated", "garbage", "missing keys", "another model"])
def test_a_damaged_cached_checkpoint_is_trained_again(data, tmp_path, damage):
    first = FitnessEvaluator(data, small_setup(), tmp_path)
    expected = first.evaluate("examples/policies/none.dsl")
    path = first.checkpoint_path()
    damage(path)
    again = FitnessEvaluator(data, small_setup(), tmp_path).evaluate("examples/policies/none.dsl")
    assert again.ok and again.fitness == expected.fitness
    assert torch.load(path, weights_only=True)["epoch"] == 2  # replaced by a good one


def test_a_cached_checkpoint_is_never_unpickled_as_code(data, tmp_path):
    evaluator = FitnessEvaluator(data, small_setup(), tmp_path)
    marker = tmp_path / "ran"
    evaluator.checkpoint_path().parent.mkdir(parents=True)
    torch.save({"epoch": 2, "payload": _RunsOnLoad(str(marker))}, evaluator.checkpoint_path())
    assert evaluator.checkpoint()["epoch"] == 2 and not marker.exists()


class _RunsOnLoad:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("method,packed", [(m, p) for m in ("ce", "ldam-drw", "bs") for p in (False, True)]
                         + [("ride", False), ("bcl", False)],
                         ids=lambda v: v if isinstance(v, str) else "packed" if v else "one")
def test_a_training_batch_waits_for_nothing(data, method, packed):
    """Trainer.step and PackedTrainer.step: no value read back to the host, no bincount
    (which reads one back on CUDA); the per-class sums still add up."""
    one = trainer(data, method, policy="examples/policies/rank_scaled.dsl")
    one.update_policy()
    if packed:
        policies = [CompiledPolicy(with_standard(autoda.check_policy(p)), data.num_classes, seed=0)
                    for p in ("examples/policies/rank_scaled.dsl", "examples/policies/tail_curriculum.dsl")]
        for p in policies:
            p.update_epoch(one.stats)
        run = PackedTrainer(one.model, one.method, data, policies, one.recipe, torch.device("cpu"))
        run.model.load_state_dict(pack([one.model.state_dict()] * 2))
        sums = torch.zeros(2, 3, data.num_classes, dtype=torch.float64)
    else:
        run = one
    run.normalise(data.train.images[:1])  # the channel moments, computed once before training
    index = torch.arange(32)
    with NoHostSync():
        if packed:
            run.step(index, 0, sums)
        else:
            run.step(index, 0)
    labels = data.train.labels[index]
    per_class = torch.bincount(labels, minlength=data.num_classes)
    if not packed:  # the tracker's sums: samples, then correct predictions, loss, feature norm
        sums = one.tracker._sums[1:]
        assert torch.equal(one.tracker._sums[0], per_class.double())
    counted = sums[..., 0, :] if packed else sums[0]
    assert torch.all(counted <= per_class) and torch.all(sums >= 0)
