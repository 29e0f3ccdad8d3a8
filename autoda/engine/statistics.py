"""ClassStats: the class statistics a policy's epoch update reads (names from
autoda.class_stats), as tensors over classes on the policy's device.

The trainer fills one from each epoch's training pass; ``ClassStats.initial`` gives the
statistics before the first epoch (training statistics 0).

>>> import torch
>>> stats = ClassStats.initial(torch.tensor([500, 50, 5]), total_epochs=200)
>>> stats.freq.tolist(), stats.rank.tolist()
([1.0, 0.10000000149011612, 0.009999999776482582], [0.0, 0.5, 1.0])
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Mapping

import torch

from ..class_stats import STATS

_TRAINING = ("train_acc", "prev_train_acc", "train_loss", "w_norm", "feat_norm")


class StatsError(ValueError):
    """Class statistics that a policy cannot run on (wrong shape, out of range, NaN)."""


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

    @classmethod
    def initial(cls, count: torch.Tensor, total_epochs: int = 1, epoch: int = 0) -> "ClassStats":
        count = torch.as_tensor(count)
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
        return replace(base, train_acc=acc, prev_train_acc=prev, train_loss=loss,
                       w_norm=(1 + base.freq) * (epoch > 0), feat_norm=(2 + acc) * (epoch > 0))

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> "ClassStats":
        """From a dict with the statistic names; missing training statistics are 0."""
        if "count" not in values:
            raise StatsError("class statistics need 'count'")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known - {"freq", "rank", "progress", "num_classes"})
        if unknown:
            raise StatsError(f"unknown class statistics: {', '.join(unknown)}")
        base = cls.initial(torch.as_tensor(values["count"]), int(values.get("total_epochs", 1)),
                           int(values.get("epoch", 0)))
        given = {k: torch.as_tensor(v, dtype=torch.float32, device=base.count.device)
                 for k, v in values.items() if k in _TRAINING}
        return replace(base, **given)

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
        return self.epoch / self.total_epochs if self.total_epochs > 0 else 0.0

    def value(self, name: str) -> torch.Tensor | float | int:
        if name == "num_classes":
            return self.num_classes
        return getattr(self, name)

    def to(self, device: torch.device | str) -> "ClassStats":
        return replace(self, **{n: getattr(self, n).to(device) for n in ("count", *_TRAINING)})

    def validate(self, num_classes: int | None = None) -> None:
        """Check shapes and the ranges the compiler's proofs assume (one host sync per epoch)."""
        c = self.num_classes
        if self.count.dim() != 1 or c < 1:
            raise StatsError(f"'count' must be a non-empty vector over classes, got shape {tuple(self.count.shape)}")
        if num_classes is not None and c != num_classes:
            raise StatsError(f"statistics are for {c} classes; the policy has {num_classes}")
        if self.epoch < 0 or self.total_epochs < 0:
            raise StatsError("epoch and total_epochs must be >= 0")
        for name in ("count", *_TRAINING):
            tensor = getattr(self, name)
            if tuple(tensor.shape) != (c,):
                raise StatsError(f"'{name}' has shape {tuple(tensor.shape)}; expected ({c},)")
            spec = STATS[name]
            lo, hi = tensor.double().min().item(), tensor.double().max().item()
            if math.isnan(lo) or math.isnan(hi) or lo < spec.lo or hi > spec.hi:
                raise StatsError(f"'{name}' has values in [{lo:g}, {hi:g}]; it must lie in "
                                 f"[{spec.lo:g}, {spec.hi:g}]")
