"""A small synthetic image set, generated in code: learnable, long-tailed, no download.

Each class is a shape (disc, square, ring, cross, stripes, ...) in a class colour on a
noisy background of another colour, at a random position and size, so a small network
learns it well above chance in a few epochs and augmentation visibly matters.
"""
from __future__ import annotations

import torch

from .imageset import ImageSet
from .longtail import longtail_counts

_SHAPES = ("disc", "square", "ring", "cross", "hstripes", "vstripes", "triangle", "diamond", "dots", "frame")


def _mask(shape: str, ys: torch.Tensor, xs: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    ay, ax = ys.abs(), xs.abs()
    if shape == "disc":
        return ys ** 2 + xs ** 2 < r ** 2
    if shape == "square":
        return (ay < r) & (ax < r)
    if shape == "ring":
        d = (ys ** 2 + xs ** 2).sqrt()
        return (d < r) & (d > 0.6 * r)
    if shape == "cross":
        return ((ay < 0.3 * r) & (ax < r)) | ((ax < 0.3 * r) & (ay < r))
    if shape == "hstripes":
        return (ay < r) & (ax < r) & (torch.remainder(ys, 4) < 2)
    if shape == "vstripes":
        return (ay < r) & (ax < r) & (torch.remainder(xs, 4) < 2)
    if shape == "triangle":
        return (ys < r) & (ys > -r) & (ax < (ys + r) / 2)
    if shape == "diamond":
        return ay + ax < r
    if shape == "dots":
        return (ay < r) & (ax < r) & (torch.remainder(ys, 4) < 2) & (torch.remainder(xs, 4) < 2)
    return (ay < r) & (ax < r) & ((ay > 0.7 * r) | (ax > 0.7 * r))


def make_synthetic(num_classes: int = 10, n_max: int = 100, imb_ratio: float = 10, size: int = 32,
                   seed: int = 0) -> ImageSet:
    """A long-tailed synthetic set: class i has longtail_counts(...)[i] images."""
    if not 2 <= num_classes <= 100:
        raise ValueError("the synthetic set has 2 to 100 classes")
    counts = longtail_counts(num_classes, n_max, imb_ratio)
    # what a class looks like is fixed; the seed only draws its images
    palette = torch.rand(num_classes, 2, 3, generator=torch.Generator().manual_seed(1234)) * 0.8 + 0.1
    g = torch.Generator().manual_seed(seed)
    images, labels = [], []
    coords = torch.arange(size, dtype=torch.float32)
    for label, n in enumerate(counts):
        cy = torch.rand(n, 1, 1, generator=g) * size * 0.5 + size * 0.25
        cx = torch.rand(n, 1, 1, generator=g) * size * 0.5 + size * 0.25
        r = torch.rand(n, 1, 1, generator=g) * size * 0.15 + size * 0.15
        inside = _mask(_SHAPES[label % len(_SHAPES)], coords.view(1, -1, 1) - cy, coords.view(1, 1, -1) - cx, r)
        fg, bg = palette[label, 0].view(1, 3, 1, 1), palette[(label + 1 + label // len(_SHAPES)) % num_classes, 1].view(1, 3, 1, 1)
        img = torch.where(inside.unsqueeze(1), fg, bg) + 0.08 * torch.randn(n, 3, size, size, generator=g)
        images.append((img.clamp(0, 1) * 255).round().to(torch.uint8))
        labels.append(torch.full((n,), label, dtype=torch.long))
    names = tuple(f"{_SHAPES[i % len(_SHAPES)]}{'' if i < len(_SHAPES) else i // len(_SHAPES)}"
                  for i in range(num_classes))
    return ImageSet(torch.cat(images), torch.cat(labels), names)
