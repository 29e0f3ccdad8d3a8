"""ClassStats: the class statistics a policy's epoch update reads (names from
autoda.class_stats), as tensors over classes on the policy's device.

The trainer fills one from each epoch's training pass (through ClassStatsTracker, which a
loop of your own can use too); ``ClassStats.initial`` gives the statistics before the first
epoch (training statistics 0: no pass has run yet). After epoch 0 a training statistic the
caller did not give is listed in ``missing`` and held as 0; a policy that reads it is refused
(``require``), never run on a 0 that means nothing.

>>> import torch
>>> stats = ClassStats.initial(torch.tensor([500, 50, 5]), total_epochs=200)
>>> stats.freq.tolist(), stats.rank.tolist()
([1.0, 0.10000000149011612, 0.009999999776482582], [0.0, 0.5, 1.0])
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field, fields, replace
from typing import Callable, Iterable, Mapping

import torch

from ...class_stats import LEVEL_PROBE, STATS
from ...errors import AutodaError, FailureKind

# the statistics of a training pass (the others follow from the counts and the epoch)
TRAINING_STATS = ("train_acc", "prev_train_acc", "train_loss", "w_norm", "feat_norm")

# where a loop of your own gets each training statistic from (said in StatsError)
HOW_TO_GIVE = {
    "train_acc": "pass the logits to ClassStatsTracker.update, or give 'train_acc'",
    "prev_train_acc": "give train_acc the epoch before (ClassStatsTracker keeps it), or 'prev_train_acc'",
    "train_loss": "pass the per-sample loss to ClassStatsTracker.update, or give 'train_loss'",
    "w_norm": "pass the classifier's weight to ClassStatsTracker.end_epoch, or give 'w_norm'",
    "feat_norm": "pass the penultimate features to ClassStatsTracker.update, or give 'feat_norm'",
}

# Bounds no real run reaches, so that the values a policy computes from them stay finite:
# with at most a billion images in a class, freq = count / max count >= 1e-9, the bound
# autoda.class_stats promises the range checker; a million classes keep [C, K] tables small.
MAX_COUNT = 10**9
MAX_CLASSES = 10**6
MAX_EPOCHS = 10**9


class StatsError(AutodaError, ValueError):
    """Class statistics that a policy cannot run on (wrong shape, out of range, NaN)."""

    kind = FailureKind.RUNTIME


def _vector(name: str, value: object, device: torch.device | None = None) -> torch.Tensor:
    """A statistic given as a tensor, list or array -> a tensor, or StatsError."""
    try:
        tensor = torch.as_tensor(value, device=device)
    except (TypeError, ValueError, RuntimeError):
        raise StatsError(f"'{name}' must be numbers, one per class, got {type(value).__name__}") from None
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise StatsError(f"'{name}' must be real numbers, got {tensor.dtype}")
    return tensor


def _whole(name: str, value: object) -> int:
    """An epoch count as an int (a float that is a whole number is accepted), or StatsError."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise StatsError(f"'{name}' must be a whole number, got {value!r}") from None


@dataclass(frozen=True)
class ClassStats:
    count: torch.Tensor  # [C] training images per class
    train_acc: torch.Tensor  # [C] each from the previous epoch's training pass
    prev_train_acc: torch.Tensor
    train_loss: torch.Tensor
    w_norm: torch.Tensor
    feat_norm: torch.Tensor
    epoch: int  # the epoch about to start, from 0
    total_epochs: int
    # training statistics the caller did not give (0 in their place); dataclasses.replace
    # that gives one should take it out of here
    missing: tuple[str, ...] = ()
    # CUDA's level-of-learning probe for lol_pass(level): levels [C] (whole numbers) -> a pass
    # per class [C]; the training loop gives it (autoda.engine.LevelProbe), for one epoch
    probe: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def initial(cls, count: torch.Tensor, total_epochs: int = 1, epoch: int = 0) -> "ClassStats":
        count = _vector("count", count)
        zeros = torch.zeros(count.shape, dtype=torch.float32, device=count.device)
        return cls(count, zeros, zeros, zeros, zeros, zeros, epoch, total_epochs)

    @classmethod
    def simulated(cls, count: torch.Tensor, epoch: int, total_epochs: int) -> "ClassStats":
        """Plausible statistics for an epoch of a long-tailed run, for previews and
        benchmarks (never for results): training accuracy rises towards 0.95, the rarer
        the class the slower; loss, weight and feature norms follow it."""
        count = torch.as_tensor(count)
        base = cls.initial(count, total_epochs, epoch)
        rank = base.rank

        def accuracy(e: int) -> torch.Tensor:
            return (0.95 * (1 - torch.exp(-torch.tensor(float(e)) / (3 * (1 + 3 * rank))))).clamp(0, 1)

        acc = accuracy(epoch) if epoch > 0 else torch.zeros_like(rank)
        prev = accuracy(epoch - 1) if epoch > 1 else torch.zeros_like(rank)
        loss = -torch.log(acc.clamp(min=0.05)) if epoch > 0 else torch.zeros_like(rank)
        # the probe passes where the class's simulated accuracy does (augmentation aside)
        return replace(base, train_acc=acc, prev_train_acc=prev, train_loss=loss,
                       w_norm=(1 + base.freq) * (epoch > 0), feat_norm=(2 + acc) * (epoch > 0),
                       probe=lambda levels: acc.to(levels.device) > LEVEL_PROBE.accept)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "ClassStats":
        """From a dict with the statistic names; a missing training statistic is 0 and
        listed in ``missing`` (see ``require``)."""
        if "count" not in values:
            raise StatsError("class statistics need 'count'")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known - {"freq", "rank", "progress", "num_classes"})
        if unknown:
            raise StatsError(f"unknown class statistics: {', '.join(unknown)}")
        base = cls.initial(values["count"], _whole("total_epochs", values.get("total_epochs", 1)),
                           _whole("epoch", values.get("epoch", 0)))
        given = {k: _vector(k, v, base.count.device).float() for k, v in values.items() if k in TRAINING_STATS}
        probe = values.get("probe")
        if probe is not None and not callable(probe):
            raise StatsError(f"'probe' must be callable (levels -> a pass per class), got {type(probe).__name__}")
        return replace(base, **given, missing=tuple(k for k in TRAINING_STATS if k not in given), probe=probe)

    @property
    def num_classes(self) -> int:
        return int(self.count.shape[0])

    @property
    def freq(self) -> torch.Tensor:
        count = self.count.float()
        return count / count.max()

    @property
    def rank(self) -> torch.Tensor:
        """0 for the most frequent class, 1 for the rarest; ties keep class order."""
        c = self.num_classes
        order = torch.sort(-self.count.float(), stable=True).indices
        rank = torch.empty(c, dtype=torch.float32, device=self.count.device)
        rank[order] = torch.arange(c, dtype=torch.float32, device=self.count.device) / max(c - 1, 1)
        return rank

    @property
    def progress(self) -> float:
        """epoch / total_epochs, at most 1: a fine-tune may run past the recipe's last epoch,
        and the compiler's range checker takes progress to lie in [0, 1]."""
        return min(self.epoch / self.total_epochs, 1.0) if self.total_epochs > 0 else 0.0

    def value(self, name: str) -> torch.Tensor | float | int:
        if name == "num_classes":
            return self.num_classes
        return getattr(self, name)

    def require(self, reads: Iterable[str], policy: str) -> None:
        """Refuse, naming them, the training statistics in ``reads`` (what ``policy`` reads)
        that the caller did not give. Before epoch 0 every one is 0 because no pass has run
        yet, which is what a policy should read then."""
        absent = [name for name in reads if name in self.missing] if self.epoch != 0 else []
        if absent:
            raise StatsError(f"policy {policy!r} reads {', '.join(absent)}, which the statistics of epoch "
                             f"{self.epoch} do not give (a 0 for every class would mean nothing): "
                             + "; ".join(f"for {name}, {HOW_TO_GIVE[name]}" for name in absent))

    def to(self, device: torch.device | str) -> "ClassStats":
        return replace(self, **{n: getattr(self, n).to(device) for n in ("count", *TRAINING_STATS)})

    def validate(self, num_classes: int | None = None) -> None:
        """Check types, shapes and the ranges the compiler's proofs assume, with one host
        read for all of them (this runs once per epoch, never per batch)."""
        names = ("count", *TRAINING_STATS)
        tensors = [getattr(self, name) for name in names]
        for name, value in zip(names, tensors):
            if not isinstance(value, torch.Tensor):
                raise StatsError(f"'{name}' must be a tensor, got {type(value).__name__}")
            if value.dtype == torch.bool or value.is_complex():
                raise StatsError(f"'{name}' must be real numbers, got {value.dtype}")
        c = self.num_classes if self.count.dim() == 1 else 0
        if c < 1:
            raise StatsError(f"'count' must be a non-empty vector over classes, got shape {tuple(self.count.shape)}")
        if c > MAX_CLASSES:
            raise StatsError(f"statistics for {c:,} classes; the limit is {MAX_CLASSES:,}")
        if num_classes is not None and c != num_classes:
            raise StatsError(f"statistics are for {c} classes; the policy has {num_classes}")
        unknown = sorted(set(self.missing) - set(TRAINING_STATS))
        if unknown:
            raise StatsError(f"'missing' names {', '.join(map(repr, unknown))}, which are not training statistics")
        for name in ("epoch", "total_epochs"):
            value = _whole(name, getattr(self, name))
            if not 0 <= value <= MAX_EPOCHS:
                raise StatsError(f"'{name}' is {value}; it must lie in [0, {MAX_EPOCHS:,}]")
        for name, tensor in zip(names, tensors):
            if tuple(tensor.shape) != (c,):
                raise StatsError(f"'{name}' has shape {tuple(tensor.shape)}; expected ({c},)")
        count = self.count.double()
        parts = [torch.stack(torch.aminmax(t.double())).to(count.device) for t in tensors]
        parts.append((count - count.round()).abs().amax().view(1))  # counts are whole numbers
        values = torch.cat(parts).tolist()  # the one host read
        for k, name in enumerate(names):
            lo, hi = values[2 * k], values[2 * k + 1]
            floor, top = STATS[name].lo, MAX_COUNT if name == "count" else STATS[name].hi
            if math.isnan(lo) or math.isnan(hi) or lo < floor or hi > top:
                raise StatsError(f"'{name}' has values in [{lo:g}, {hi:g}]; it must lie in [{floor:g}, {top:g}]")
        if values[-1] != 0:
            raise StatsError("'count' must hold whole numbers of images")
