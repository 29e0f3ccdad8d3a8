"""CUDA's level-of-learning probe, which the language's ``lol_pass(level)`` runs.

CUDA (Ahn et al., ICLR 2023) moves a class's augmentation level by how well the model
still classifies the class's images augmented at the levels up to it (CUDA_LTR's
``update_score_base``): at the start of every epoch, in eval mode, for each class c at
level L_c and each s in 0..L_c, it draws 10 (s + 1) of c's training images with
replacement, augments each at level s (the base augmentation, then s of its 22 ops at
magnitude s / 30) and classifies them; the class passes when the accuracy exceeds 0.6 at
every level 0..L_c. Here every (class, level) draw of an epoch goes through the model in
batches on the device, and the decision is one tensor expression.

The model is the caller's: ``classify(images, labels)`` says which augmented uint8 images
it gets right (autoda's trainer gives its model in eval mode; a loop of your own gives its
own). A level draws distinct ops, as an apply stage does (CUDA draws with replacement).

>>> import torch
>>> probe = LevelProbe(torch.zeros(6, 3, 8, 8, dtype=torch.uint8), torch.tensor([0, 0, 0, 1, 1, 1]), 2,
...                    classify=lambda images, labels: labels == 0)
>>> probe(torch.tensor([3, 0])).tolist()  # class 0 is always right, class 1 never
[True, False]
"""
from __future__ import annotations

import functools
from typing import Callable

import torch

from ...class_stats import LEVEL_PROBE
from ...compiler import check_policy
from ...compiler.instructions import Instruction
from ...compiler.plan import Plan
from ...resources import resource_text
from .compiled import CompiledPolicy
from .standard import training_policy
from .statistics import ClassStats

_LEVELS = LEVEL_PROBE.max_level + 1



@functools.cache
def cuda_ops() -> tuple[str, ...]:
    """CUDA's 22 ops: the list examples/policies/cuda.dsl applies."""
    return tuple(ref.name for ref in check_policy(resource_text("autoda.examples", "cuda.dsl")).ast.apply_stage.ops)


def probe_policy() -> str:
    """The augmentation at level s, for "classes" that are the levels 0..10."""
    return (f'policy lol_probe "CUDA\'s augmentation at a level: level ops at magnitude level / {LEVEL_PROBE.max_d}"\n'
            f"state level: int in [0, {LEVEL_PROBE.max_level}] = 0\n"
            f"per sample:\n    apply level of [{', '.join(cuda_ops())}]\n        magnitude level / {LEVEL_PROBE.max_d}\n")


def reads_level_probe(plan: Plan) -> bool:
    """Whether a policy calls lol_pass (and so needs a probe in its statistics)."""
    return any(instr.op is Instruction.LOL_PASS for instr in plan.instrs)


def level_probe_decision(correct: torch.Tensor, classes: torch.Tensor, levels_drawn: torch.Tensor,
                         levels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """CUDA's rule on the probe's results: per class, whether the accuracy at every level
    0..levels[c] exceeds the threshold. ``correct``, ``classes`` and ``levels_drawn`` have
    one entry per classified image."""
    cell = classes * _LEVELS + levels_drawn
    right = torch.zeros(num_classes * _LEVELS, device=correct.device).index_add_(0, cell, correct.float())
    tried = torch.zeros(num_classes * _LEVELS, device=correct.device).index_add_(0, cell, torch.ones_like(right[cell]))
    accuracy = (right / tried).view(num_classes, _LEVELS)  # NaN where nothing was tried: no pass
    probed = torch.arange(_LEVELS, device=correct.device).view(1, -1) <= levels.view(-1, 1)
    return ((accuracy > LEVEL_PROBE.accept) | ~probed).all(dim=1)


class LevelProbe:
    def __init__(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                 classify: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], base: str = "standard",
                 seed: int = 0, batch: int = 1024) -> None:
        """``images`` (uint8) and ``labels``: the training set, the labels on the device the
        model is on, the images there too or on the host (a streamed set: the probe's draws
        are gathered there and moved); ``base``: the augmentation the training applies
        around the policy."""
        self.images, self.labels, self.num_classes = images, labels, num_classes
        self.device = labels.device
        self.classify, self.seed, self.batch = classify, seed, batch
        counts = torch.bincount(labels, minlength=num_classes)
        self.counts, self.start = counts, torch.cumsum(counts, 0) - counts
        self.by_class = torch.argsort(labels, stable=True)
        # image i of level block s within a class's draws: the sequence for level 10, whose
        # prefix of sum_{s <= L} per_level (s + 1) entries is the sequence for level L
        sizes = LEVEL_PROBE.per_level * torch.arange(1, _LEVELS + 1)
        self.level_sequence = torch.repeat_interleave(torch.arange(_LEVELS), sizes).to(self.device)
        self.draws_up_to = torch.cumsum(sizes, 0).to(self.device)  # draws per class at each level
        self.augment = CompiledPolicy(training_policy(check_policy(probe_policy()), base, images.shape[-1]), _LEVELS,
                                      seed=seed)
        self.augment.to(self.device)
        self.augment.state["level"].copy_(torch.arange(_LEVELS).view_as(self.augment.state["level"]))
        self.augment.update_epoch(ClassStats.initial(torch.ones(_LEVELS, dtype=torch.long)))

    def draws(self, levels: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """(image index, class, level) of every image the probe classifies for ``levels``."""
        device = self.device
        levels = levels.to(device).clamp(0, LEVEL_PROBE.max_level)
        per_class = torch.where(self.counts > 0, self.draws_up_to[levels], 0)
        classes = torch.repeat_interleave(torch.arange(self.num_classes, device=device), per_class)
        first = torch.cumsum(per_class, 0) - per_class
        position = torch.arange(len(classes), device=device) - first[classes]
        u = torch.rand(len(classes), generator=generator, device=device)
        pick = (u * self.counts[classes]).long().clamp_(max=(self.counts[classes] - 1).clamp(min=0))
        return self.by_class[self.start[classes] + pick], classes, self.level_sequence[position]

    @torch.no_grad()
    def __call__(self, levels: torch.Tensor, epoch: int = 0) -> torch.Tensor:
        """Per class, whether it passes at every level up to ``levels[c]``: new draws for
        each (seed, epoch)."""
        generator = torch.Generator(device=self.device).manual_seed(self.seed * 1_000_003 + epoch)
        index, classes, drawn = self.draws(levels, generator)
        correct = torch.zeros(len(index), dtype=torch.bool, device=self.device)
        pipeline, tables = self.augment.pipeline, self.augment.tables
        for begin in range(0, len(index), self.batch):
            part = slice(begin, begin + self.batch)
            images = self.images.index_select(0, index[part].to(self.images.device)).to(self.device)
            draw = pipeline.draw(tables, drawn[part], tuple(images.shape), generator)
            correct[part] = self.classify(pipeline.apply(images, draw), classes[part]).bool()
        return level_probe_decision(correct, classes, drawn, levels.to(correct.device), self.num_classes)
