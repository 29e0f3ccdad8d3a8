"""Several views of each image from one policy, for a method that learns from them (BCL).

BCL's batch holds, for every image, the view its classifier learns from (the trainer's base,
then the policy) and two views for its contrastive loss (SimCLR's CIFAR augmentation, then
the policy: standard.contrastive_policy), each view its own draw.

The contrastive views run the same policy on another base: a second compiled policy whose
epoch updates follow the first's. It starts from the same state and runs the same epoch
section on the same statistics with the same random numbers (the same seed: its batches
draw from counters far from the first's), so both hold the same state, each with its own
table of the epoch's parameters. What must not run twice runs once: a Python policy's
epoch step (the follower repeats its answer) and CUDA's probe (both updates get its one
answer).
"""
from __future__ import annotations

from dataclasses import replace

import torch

from ...compiler import CheckedPolicy
from .compiled import CompiledPolicy
from .epoch_step import EpochStep
from .statistics import ClassStats

# the follower's first batch counter: the first policy would need 2**39 batches to reach it
_FOLLOWER_STREAM = 1 << 39


class _Recorded:
    """An epoch step that keeps its last answer, for a follower to repeat."""

    def __init__(self, step: EpochStep) -> None:
        self.step, self.last = step, None

    def __call__(self, *args, **kwargs):
        self.last = self.step(*args, **kwargs)
        return self.last


class _Repeated:
    """The leader's last epoch-step answer, as the follower's own."""

    def __init__(self, recorded: _Recorded) -> None:
        self.recorded = recorded

    def __call__(self, *args, **kwargs):
        return {name: value.copy() for name, value in self.recorded.last.items()}


class _Once:
    """CUDA's probe asked twice for the same levels answers once: the model is the same."""

    def __init__(self, probe) -> None:
        self.probe, self.asked, self.answer = probe, None, None

    def __call__(self, levels: torch.Tensor) -> torch.Tensor:
        if self.asked is None or not torch.equal(self.asked, levels):  # once per epoch: a host read is fine
            self.asked, self.answer = levels.clone(), self.probe(levels)
        return self.answer


class PolicyViews:
    """``views`` views of a batch: the first from ``leader``, the others from ``checked``
    (the same policy on another base), compiled to follow the leader's epoch updates."""

    def __init__(self, leader: CompiledPolicy, checked: CheckedPolicy, views: int) -> None:
        if views < 2:
            raise ValueError(f"views are two or more, not {views}")
        self.leader, self.views = leader, views
        step = None
        if leader.epoch_step is not None:
            if not isinstance(leader.epoch_step, _Recorded):
                leader.epoch_step = _Recorded(leader.epoch_step)
            step = _Repeated(leader.epoch_step)
        self.follower = CompiledPolicy(checked, leader.num_classes, seed=leader.seed, epoch_step=step)
        self.follower.step = _FOLLOWER_STREAM
        self.follower.to(leader.tables.device)

    def update_epoch(self, stats: ClassStats) -> None:
        if stats.probe is not None:
            stats = replace(stats, probe=_Once(stats.probe))
        self.leader.update_epoch(stats)
        self.follower.update_epoch(stats)

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> list[torch.Tensor]:
        return [self.leader(images, labels)] + [self.follower(images, labels) for _ in range(self.views - 1)]
