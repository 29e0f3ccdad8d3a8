"""ClassStatsTracker: the trainer's statistics from a loop of one's own, summed on the device
without a host sync, and a statistic nobody gave refused by name, never read as 0."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F

import autoda
from autoda.engine import ClassStats, ClassStatsTracker, CompiledPolicy, StatsError
from autoda.engine.augment.standard import with_standard
from autoda.engine.train.data import load_dataset
from autoda.engine.train.methods import make_method
from autoda.engine.train.models import build_model
from autoda.engine.train.trainer import Recipe, Trainer
from sync_guard import NoHostSync

COUNTS = torch.tensor([50, 20, 9, 4])


def batch(b, c=len(COUNTS), d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, c, generator=g)
    labels = torch.randint(0, c, (b,), generator=g)
    return logits, labels, F.cross_entropy(logits, labels, reduction="none"), torch.randn(b, d, generator=g)


def slow_stats(batches, weight, c=len(COUNTS)):
    """Per-class means by a loop over samples: accuracy, loss, feature norm; and row norms."""
    rows = {k: [[] for _ in range(c)] for k in ("hit", "loss", "norm")}
    for logits, labels, loss, features in batches:
        for i, label in enumerate(labels.tolist()):
            rows["hit"][label].append(float(logits[i].argmax() == label))
            rows["loss"][label].append(float(loss[i]))
            rows["norm"][label].append(float(features[i].norm()))
    mean = {k: [sum(v) / len(v) if v else 0.0 for v in per_class] for k, per_class in rows.items()}
    return mean["hit"], mean["loss"], mean["norm"], [float(row.norm()) for row in weight]


def test_the_tracker_matches_a_per_sample_reference_over_epochs():
    tracker = ClassStatsTracker(COUNTS, total_epochs=5)
    assert tracker.stats.epoch == 0 and tracker.stats.train_acc.eq(0).all()
    accuracies = []
    for epoch in range(2):
        batches = [batch(b, seed=10 * epoch + b) for b in (7, 16, 3)]
        weight = torch.randn(len(COUNTS), 5, generator=torch.Generator().manual_seed(epoch))
        for logits, labels, loss, features in batches:
            tracker.update(logits, labels, loss, features)
        stats = tracker.end_epoch(weight)
        acc, loss, norm, w_norm = slow_stats(batches, weight)
        assert stats.train_acc.tolist() == pytest.approx(acc)
        assert stats.train_loss.tolist() == pytest.approx(loss, rel=1e-6)
        assert stats.feat_norm.tolist() == pytest.approx(norm, rel=1e-6)
        assert stats.w_norm.tolist() == pytest.approx(w_norm, rel=1e-6)
        assert stats.prev_train_acc.tolist() == pytest.approx(accuracies[-1] if accuracies else [0.0] * len(COUNTS))
        assert (stats.epoch, stats.total_epochs, stats.missing) == (epoch + 1, 5, ())
        assert torch.equal(stats.count, COUNTS)
        stats.validate(len(COUNTS))
        accuracies.append(acc)


def test_a_class_seen_once_reads_its_sample_and_a_class_not_seen_reads_0():
    logits, _, _, features = batch(3)
    labels = torch.tensor([0, 0, 1])  # class 1 once, classes 2 and 3 never
    loss = F.cross_entropy(logits, labels, reduction="none")
    tracker = ClassStatsTracker(COUNTS)
    tracker.update(logits, labels, loss, features)
    stats = tracker.end_epoch(torch.ones(len(COUNTS), 2))
    acc, mean_loss, norm, _ = slow_stats([(logits, labels, loss, features)], torch.ones(len(COUNTS), 2))
    assert stats.train_loss.tolist() == pytest.approx(mean_loss, rel=1e-6) and mean_loss[2:] == [0.0, 0.0]
    assert stats.feat_norm.tolist() == pytest.approx(norm, rel=1e-6) and stats.train_acc.tolist() == acc


def test_the_tracker_gives_the_trainers_own_statistics_on_the_same_batches():
    data = load_dataset("synthetic", imb_ratio=10, seed=0, synthetic_size=16)
    torch.manual_seed(0)
    recipe = Recipe.for_epochs(3, batch_size=32, lr=0.05)
    fitted = make_method("ldam-drw", data.train.counts(), recipe.drw_epoch)
    model = build_model("resnet8", data.num_classes, normed=fitted.normed_classifier)
    policy = CompiledPolicy(with_standard(autoda.check_policy("examples/policies/doda.dsl")), data.num_classes, seed=0)
    trainer = Trainer(model, fitted, data, policy, recipe, torch.device("cpu"), seed=0)
    seen = []  # each batch as the trainer computed it: features, logits, labels, per-sample loss
    loss, embed = trainer.method.loss, trainer.model.embed

    def recording_embed(images):
        features = embed(images)
        seen.append([features.detach().clone()])
        return features

    def recording_loss(logits, labels, epoch):
        per_sample, mean = loss(logits, labels, epoch)
        seen[-1] += [logits.detach().clone(), labels.clone(), per_sample.detach().clone()]
        return per_sample, mean

    trainer.method.loss, trainer.model.embed = recording_loss, recording_embed
    mine = ClassStatsTracker(data.train.counts(), recipe.epochs)  # argmax: LDAM predicts with the plain logits
    for _ in range(2):
        seen.clear()
        trainer.run_epoch()
        for features, logits, labels, per_sample in seen:
            mine.update(logits, labels, per_sample, features)
        ours = mine.end_epoch(trainer.model.classifier.weight)
        for name in ("count", "train_acc", "prev_train_acc", "train_loss", "w_norm", "feat_norm"):
            assert torch.equal(getattr(ours, name), getattr(trainer.stats, name)), name
        assert (ours.epoch, ours.total_epochs, ours.missing) == (trainer.stats.epoch, recipe.epochs, ())


@pytest.mark.parametrize("gives", ["everything", "logits only"])
def test_an_update_waits_for_nothing_and_its_work_does_not_grow_with_the_batch(gives):
    calls = []
    for b in (4, 64):
        tracker = ClassStatsTracker(COUNTS)
        logits, labels, loss, features = batch(b)
        args = (logits, labels, loss, features) if gives == "everything" else (logits, labels)
        tracker.update(*args)  # the first update of an epoch allocates the sums
        with NoHostSync() as guard:
            tracker.update(*args)
        calls.append(guard.calls)
    assert calls[0] == calls[1]


def test_what_a_loop_did_not_give_is_missing_and_a_policy_reading_it_is_refused_by_name():
    tracker = ClassStatsTracker(COUNTS)
    logits, labels, loss, _ = batch(16)
    tracker.update(logits, labels, loss)  # no features
    stats = tracker.end_epoch()  # no classifier weight
    assert stats.missing == ("w_norm", "feat_norm")
    policy = autoda.compile_policy("examples/policies/norm_balance.dsl", class_counts=COUNTS, seed=0)
    policy.update_epoch(ClassStats.initial(COUNTS))
    with pytest.raises(autoda.PolicyRuntimeError, match=r"'norm_balance' reads w_norm.*ClassStatsTracker.end_epoch"):
        policy.update_epoch(stats)
    assert policy.epochs == 1  # refused before anything ran
    autoda.compile_policy("examples/policies/tail_curriculum.dsl", class_counts=COUNTS).update_epoch(stats)  # reads train_acc

    tracker.update(logits, labels, loss)
    weight = torch.randn(len(COUNTS), 3)
    given = tracker.end_epoch(weight)
    assert given.missing == ("feat_norm",)
    policy.update_epoch(given)
    assert torch.equal(given.w_norm, weight.norm(dim=1))


def test_a_dict_without_a_statistic_the_policy_reads_is_refused_after_epoch_0_only():
    policy = autoda.compile_policy("examples/policies/norm_balance.dsl", num_classes=len(COUNTS), seed=0)
    policy.update_epoch({"count": COUNTS, "epoch": 0})  # before any pass, 0 is the value
    with pytest.raises(autoda.PolicyRuntimeError, match=r"reads w_norm, which the statistics of epoch 2 do not give"):
        policy.update_epoch({"count": COUNTS, "epoch": 2, "train_acc": [0.5] * 4})
    policy.update_epoch({"count": COUNTS, "epoch": 2, "w_norm": [1.0, 0.5, 0.4, 0.2]})
    assert ClassStats.from_mapping({"count": COUNTS, "w_norm": [1.0] * 4}).missing == (
        "train_acc", "prev_train_acc", "train_loss", "feat_norm")


def test_a_python_policy_reads_train_acc_through_its_step():
    policy = autoda.compile_policy("examples/policies/paper_doda.py", class_counts=COUNTS, seed=0)
    assert policy.reads == ("train_acc",)
    late = dataclasses.replace(ClassStats.initial(COUNTS, 10, epoch=3), missing=("train_acc",))
    with pytest.raises(autoda.PolicyRuntimeError, match="reads train_acc"):
        policy.update_epoch(late)


def test_an_epoch_with_no_batch_tracked_gives_only_the_epoch():
    tracker = ClassStatsTracker(COUNTS, total_epochs=4)
    stats = tracker.end_epoch()
    assert stats.epoch == 1 and set(stats.missing) == {"train_acc", "train_loss", "w_norm", "feat_norm"}
    reads_nothing = autoda.compile_policy("examples/policies/randaugment.dsl", class_counts=COUNTS)
    reads_nothing.update_epoch(stats)
    with pytest.raises(autoda.PolicyRuntimeError, match="reads train_acc"):
        autoda.compile_policy("examples/policies/tail_curriculum.dsl", class_counts=COUNTS).update_epoch(stats)
    assert "prev_train_acc" in tracker.end_epoch().missing  # the epoch before gave no train_acc either


def test_giving_a_loss_in_some_batches_only_is_refused():
    tracker = ClassStatsTracker(COUNTS)
    logits, labels, loss, features = batch(8)
    tracker.update(logits, labels, loss)
    with pytest.raises(StatsError, match="first batch gave loss; give the same in every batch"):
        tracker.update(logits, labels, loss, features)
    tracker.reset()
    tracker.update(logits, labels, loss, features)  # a new epoch may give more


@pytest.mark.parametrize("change,message", [
    ({"labels": torch.tensor([0, 1, 2, -28])}, r"labels must lie in \[0, 4\).*-28"),
    ({"labels": torch.tensor([0, 1, 2, 4])}, r"labels must lie in \[0, 4\)"),
    ({"labels": torch.zeros(4)}, "int64 vector"),
    ({"logits": torch.zeros(4, 3)}, r"logits must be \[B, C\] = \[4, 4\]"),
    ({"loss": torch.zeros(())}, "per-sample loss"),
    ({"features": torch.zeros(3, 2)}, "features must be"),
    ({"logits": [[0.0] * 4] * 4}, "logits must be a torch.Tensor"),
    ({"loss": torch.zeros(4, device="meta")}, "one device"),
])
def test_bad_batches_are_refused_clearly(change, message):
    logits, labels, loss, features = batch(4)
    args = {"logits": logits, "labels": labels, "loss": loss, "features": features, **change}
    with pytest.raises(StatsError, match=message):
        ClassStatsTracker(COUNTS).update(**args)


@pytest.mark.parametrize("counts,message", [([5, 0], "'count' has values in"), ([], "non-empty"), ("ab", "numbers")])
def test_bad_class_counts_are_refused_when_the_tracker_is_made(counts, message):
    with pytest.raises(StatsError, match=message):
        ClassStatsTracker(counts)


def test_a_classifier_weight_of_the_wrong_shape_is_refused():
    tracker = ClassStatsTracker(COUNTS)
    tracker.update(*batch(4)[:2])
    with pytest.raises(StatsError, match=r"classifier_weight must be the last layer's weight \[C, D\] with C = 4"):
        tracker.end_epoch(torch.zeros(3, 8))


def test_the_tracker_is_exported_lazily():
    assert autoda.ClassStatsTracker is ClassStatsTracker and "ClassStatsTracker" in autoda.__all__


@pytest.mark.cuda  # the CPU guard above stands in for this where there is no GPU
def test_an_update_on_cuda_makes_no_sync_and_clamps_bad_labels():
    tracker = ClassStatsTracker(COUNTS)
    logits, labels, loss, features = (t.cuda() for t in batch(16))
    tracker.update(logits, labels, loss, features)  # warm-up: the sums are allocated on first use
    bad = torch.tensor([-28, 0, 1, 9] * 4, device="cuda")
    torch.cuda.set_sync_debug_mode("error")
    try:
        tracker.update(logits, labels, loss, features)
        tracker.update(logits, bad, loss, features)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    stats = tracker.end_epoch(torch.ones(len(COUNTS), 2, device="cuda"))  # once an epoch: may copy the counts over
    expected = ClassStatsTracker(COUNTS)
    for chunk in (labels, labels, bad.clamp(0, len(COUNTS) - 1)):
        expected.update(logits.cpu(), chunk.cpu(), loss.cpu(), features.cpu())
    assert torch.allclose(stats.train_acc.cpu(), expected.end_epoch(torch.ones(len(COUNTS), 2)).train_acc)
