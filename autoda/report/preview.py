"""A picture of what a policy does: for a head, a medium and a tail class, one image and
several augmented draws of it, side by side.

Stateful policies depend on training statistics, so the policy first runs its epoch
section up to ``epoch`` on simulated statistics of a long-tailed set
(``ClassStats.simulated``); the picture says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image, ImageDraw

from ..engine.augment.compiled import CompiledPolicy
from ..engine.augment.statistics import ClassStats
from ..engine.train.data import ImageSet, longtail_counts
from ..words import counted

_LABEL_WIDTH = 150
_GAP = 4


@dataclass(frozen=True)
class PreviewRow:
    group: str  # head, medium or tail
    class_name: str
    count: int  # training images the simulated long-tailed set gives the class


def preview(policy: CompiledPolicy, data: ImageSet, imb_ratio: float = 100, n_max: int = 5000,
            epoch: int = 10, total_epochs: int = 20, samples: int = 8, scale: int = 3,
            counts: list[int] | None = None) -> tuple[Image.Image, list[PreviewRow]]:
    """Render the grid: a row per class group, the original first. The statistics simulate
    a long-tailed set: ``counts`` per class, or the profile at ``imb_ratio`` from ``n_max``."""
    c = data.num_classes
    counts = torch.tensor(counts if counts is not None else longtail_counts(c, n_max, imb_ratio))
    imb_ratio = float(counts.max() / counts.min())
    for e in range(epoch + 1):
        policy.update_epoch(ClassStats.simulated(counts, e, total_epochs))
    groups = [("head", 0), ("medium", c // 2), ("tail", c - 1)] if c >= 3 else [("head", 0), ("tail", c - 1)]
    rows, tiles = [], []
    for group, label in groups:
        original = data.first_of(label)
        batch = original.unsqueeze(0).expand(samples, -1, -1, -1).contiguous()
        augmented = policy(batch, torch.full((samples,), label, dtype=torch.long))
        tiles.append([original] + list(augmented))
        rows.append(PreviewRow(group, data.class_names[label], int(counts[label])))
    h, w = data.images.shape[-2:]
    th, tw = h * scale, w * scale
    title = 24
    canvas = Image.new("RGB", (_LABEL_WIDTH + (samples + 1) * (tw + _GAP), title + len(rows) * (th + _GAP)), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 4), f"{policy.plan.name}: original, then {samples} draws at epoch {epoch} of {total_epochs} "
                      f"(simulated statistics, imbalance {imb_ratio:g})", fill="black")
    for r, (row, images) in enumerate(zip(rows, tiles)):
        y = title + r * (th + _GAP)
        draw.text((4, y + 4), f"{row.group}: {row.class_name}", fill="black")
        draw.text((4, y + 20), counted(row.count, "training image"), fill="gray")
        for i, image in enumerate(images):
            tile = Image.fromarray(image.permute(1, 2, 0).cpu().numpy()).resize((tw, th), Image.NEAREST)
            x = _LABEL_WIDTH + i * (tw + _GAP) + (_GAP if i > 0 else 0)
            canvas.paste(tile, (x, y))
    return canvas, rows
