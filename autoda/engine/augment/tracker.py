"""ClassStatsTracker: the class statistics of a training pass, summed on the device batch by
batch, for ``CompiledPolicy.update_epoch``. The trainer keeps its statistics with one, and a
training loop of your own can too:

    tracker = ClassStatsTracker(class_counts, total_epochs=epochs)
    for epoch in range(epochs):
        policy.update_epoch(tracker.stats)           # ClassStats.initial(...) before epoch 0
        for images, labels in batches:
            features = backbone(policy(images, labels))
            logits = head(features)
            loss = F.cross_entropy(logits, labels, reduction="none")
            ...                                      # loss.mean().backward(), optimizer.step()
            tracker.update(logits, labels, loss, features)
        tracker.end_epoch(head.weight)               # the next epoch's statistics

``update`` reads no value back to the host (a test holds it to that), so it never waits for
the device; ``end_epoch`` reads nothing back either. The epoch update that reads the
statistics checks them with its one host read. What the loop does not give (a loss, features, the classifier's
weight) is listed in ``ClassStats.missing``, and a policy that reads it is refused by name.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from .compiled import labels_outside
from .statistics import ClassStats, StatsError


def class_sums(labels: torch.Tensor, values: torch.Tensor, classes: int) -> torch.Tensor:
    """Per-class sums of ``values`` (..., N; the samples last) over the samples' ``labels``
    (N): (..., C). A one-hot product, not torch.bincount, which on CUDA reads the largest
    label back to the host: a synchronisation in every batch."""
    return values @ F.one_hot(labels, classes).to(values.dtype)


def _argmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.argmax(dim=1)


class ClassStatsTracker:
    """Per-class sums of one epoch's training batches (samples, correct predictions, loss,
    feature norm) on the batches' device, and the ClassStats they make.

    ``stats`` is what the next ``update_epoch`` reads: ``ClassStats.initial`` until the first
    ``end_epoch``. ``predict`` turns logits into predicted classes (argmax by default).

    >>> import torch
    >>> tracker = ClassStatsTracker(torch.tensor([3, 1]), total_epochs=10)
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [3.0, 0.0]])
    >>> tracker.update(logits, torch.tensor([0, 1, 0, 1]))
    >>> stats = tracker.end_epoch()
    >>> stats.epoch, stats.train_acc.tolist(), stats.missing
    (1, [1.0, 0.5], ('train_loss', 'w_norm', 'feat_norm'))
    """

    def __init__(self, class_counts: torch.Tensor | Sequence[int], total_epochs: int = 1, *,
                 predict: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.stats = ClassStats.initial(class_counts, total_epochs)
        self.stats.validate()  # once, here: a bad count is named now, not at the first epoch update
        self.num_classes = self.stats.num_classes
        self.predict = predict or _argmax
        self._sums: torch.Tensor | None = None  # [4, C] float64: samples, correct, loss, feature norm
        self._gives: tuple[bool, bool] | None = None  # whether this epoch's batches give a loss, features

    def update(self, logits: torch.Tensor, labels: torch.Tensor, loss: torch.Tensor | None = None,
               features: torch.Tensor | None = None) -> None:
        """Add one training batch: ``logits`` [B, C], ``labels`` [B], optionally the
        per-sample ``loss`` [B] (reduction="none") and the penultimate ``features`` [B, ...].
        Give the same of loss and features in every batch of an epoch."""
        c = self.num_classes
        self._check(logits, labels, loss, features)
        gives = (loss is not None, features is not None)
        if self._sums is None:
            self._sums = torch.zeros(4, c, dtype=torch.float64, device=labels.device)
            self._gives = gives
        elif gives != self._gives:
            given = [name for name, g in zip(("loss", "features"), self._gives) if g] or ["neither loss nor features"]
            raise StatsError(f"this epoch's first batch gave {' and '.join(given)}; give the same in every batch")
        if labels.device != self._sums.device:
            raise StatsError(f"this batch is on {labels.device}, the epoch's earlier batches on {self._sums.device}")
        with torch.no_grad():
            if labels.device.type == "cpu":
                outside = labels_outside(labels, c)
                if outside:
                    raise StatsError(f"labels must lie in [0, {c}) for {c} classes, {outside}")
            else:  # a check would be a host sync per batch (see CompiledPolicy._check_values)
                labels = labels.clamp(0, c - 1)
            hit = (self.predict(logits.detach()) == labels).double()
            absent = torch.zeros_like(hit)
            per_sample = loss.detach().double() if loss is not None else absent
            norms = features.detach().float().flatten(1).norm(dim=1).double() if features is not None else absent
            self._sums += class_sums(labels, torch.stack([torch.ones_like(hit), hit, per_sample, norms]), c)

    def _check(self, logits, labels, loss, features) -> None:
        """Types, shapes and devices: known on the host, so free to check every batch."""
        for name, value in (("logits", logits), ("labels", labels), ("loss", loss), ("features", features)):
            if value is not None and not isinstance(value, torch.Tensor):
                raise StatsError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if labels.dim() != 1 or labels.dtype not in (torch.int64, torch.int32):
            raise StatsError(f"labels must be an int64 vector, got {labels.dtype} {tuple(labels.shape)}")
        b = labels.shape[0]
        if logits.shape != (b, self.num_classes):
            raise StatsError(f"logits must be [B, C] = [{b}, {self.num_classes}], got {tuple(logits.shape)}")
        if loss is not None and loss.shape != (b,):
            raise StatsError(f"loss must be the per-sample loss [{b}] (reduction='none'), got {tuple(loss.shape)}")
        if features is not None and (features.dim() < 2 or features.shape[0] != b):
            raise StatsError(f"features must be [B, ...] with B = {b}, got {tuple(features.shape)}")
        for name, value in (("logits", logits), ("loss", loss), ("features", features)):
            if value is not None and value.device != labels.device:
                raise StatsError(f"{name} ({value.device}) and labels ({labels.device}) must be on one device")

    def reset(self) -> None:
        """Drop the sums of an epoch that will not end (a loop that failed or restarts it)."""
        self._sums = self._gives = None

    def totals(self) -> tuple[float, float, float]:
        """(samples, correct predictions, summed loss) of the epoch so far: one host read."""
        if self._sums is None:
            return 0.0, 0.0, 0.0
        samples, correct, loss = torch.stack([row.sum() for row in self._sums[:3]]).tolist()
        return samples, correct, loss if self._gives[0] else float("nan")

    def end_epoch(self, classifier_weight: torch.Tensor | None = None) -> ClassStats:
        """The statistics of the epoch just tracked, for the next ``update_epoch``; the sums
        start again. ``classifier_weight`` [C, D] (the last layer's weight) gives w_norm. An
        epoch with no batch tracked gives only the epoch (a policy that reads no training
        statistic needs no more)."""
        tracked, c = self._sums is not None, self.num_classes
        before = self.stats
        sums = self._sums if tracked else torch.zeros(4, c, dtype=torch.float64, device=before.count.device)
        seen, correct, loss_sum, feat_sum = sums
        device = seen.device
        n = seen.clamp(min=1)  # a class with no sample this epoch reads 0
        if classifier_weight is None:
            w_norm = torch.zeros(c, device=device)
        elif not isinstance(classifier_weight, torch.Tensor) or classifier_weight.dim() != 2 \
                or classifier_weight.shape[0] != c:
            shape = tuple(classifier_weight.shape) if isinstance(classifier_weight, torch.Tensor) else None
            raise StatsError(f"classifier_weight must be the last layer's weight [C, D] with C = {c}, "
                             f"got {shape or type(classifier_weight).__name__}")
        else:
            w_norm = classifier_weight.detach().float().norm(dim=1).to(device)
        loss_given, features_given = self._gives if tracked else (False, False)
        absent = {"train_acc": not tracked, "prev_train_acc": before.epoch > 0 and "train_acc" in before.missing,
                  "train_loss": not loss_given, "w_norm": classifier_weight is None, "feat_norm": not features_given}
        missing = tuple(name for name, is_absent in absent.items() if is_absent)
        self.stats = ClassStats(before.count.to(device), (correct / n).float().clamp(0, 1),
                                before.train_acc.to(device), (loss_sum / n).float().clamp(min=0), w_norm,
                                (feat_sum / n).float(), before.epoch + 1, before.total_epochs, missing)
        self.reset()
        return self.stats
