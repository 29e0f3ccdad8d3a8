"""How a policy uses its ops over training: per epoch, the share of samples that apply
each op and the mean magnitude they apply it at, from a large drawn batch, with the
epoch section running on simulated statistics of a long-tailed set; for all classes, or
for the head, medium and tail classes apart (the paper's Figure 9)."""
from __future__ import annotations

import torch

from ..compiler import CheckedPolicy
from ..engine import ClassStats, CompiledPolicy
from ..engine.train.metrics import group_of


def op_usage(checked: CheckedPolicy, counts: list[int], epochs: int, samples: int = 4096, seed: int = 0,
             group: str | None = None):
    """(ops, frequency [ops, epochs], magnitude [ops, epochs]), samples drawn by class counts
    (from the classes of ``group`` only: many, medium or few, when given)."""
    policy = CompiledPolicy(checked, len(counts), seed=seed)
    counts_t = torch.tensor(counts)
    weights = counts_t.float()
    if group is not None:
        weights = weights * torch.tensor([group_of(n) == group for n in counts], dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    labels = torch.multinomial(weights, samples, replacement=True, generator=generator)
    ops = list(dict.fromkeys(e.op for e in policy.pipeline.entries))
    frequency = torch.zeros(len(ops), epochs)
    magnitude = torch.zeros(len(ops), epochs)
    for epoch in range(epochs):
        policy.update_epoch(ClassStats.simulated(counts_t, epoch, epochs))
        draw = policy.draw(labels, (samples, 3, 8, 8))
        for column, op in enumerate(draw.ops):
            row = ops.index(op)
            applied = draw.applied[:, column]
            frequency[row, epoch] += applied.float().mean()
            if applied.any():
                magnitude[row, epoch] = torch.maximum(magnitude[row, epoch], draw.magnitude[applied, column].mean())
    return ops, frequency.clamp(0, 1).numpy(), magnitude.numpy()
