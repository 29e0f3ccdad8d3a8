"""Erasing ops as coordinate masks: no crop, no scatter, one comparison per pixel.

kornia's way (bbox_to_mask and a where, as its RandomErasing) erases the same pixels, slower.
"""
from __future__ import annotations

import torch

from .opmeta import constant, draws, exact_identity

FILL = 0.5  # mid grey, as AutoAugment's cutout


@exact_identity  # a square of side 0 erases nothing
@draws("uniform2")  # the square's centre, as fractions of width and height
def cutout(images, value, aux):
    """Grey out a square of side ``value`` x the shorter side, centred at ``aux``; the square
    may reach over the edge (then less is erased), as DeVries and Taylor's cutout."""
    b, _, h, w = images.shape
    half = (value * min(h, w) / 2).view(b, 1, 1, 1)
    cx, cy = (aux[:, 0] * w).view(b, 1, 1, 1), (aux[:, 1] * h).view(b, 1, 1, 1)
    xs = torch.arange(w, dtype=images.dtype, device=images.device).view(1, 1, 1, w) + 0.5
    ys = torch.arange(h, dtype=images.dtype, device=images.device).view(1, 1, h, 1) + 0.5
    # the square is a product of a row mask and a column mask, both small
    inside = ((xs - cx).abs() < half).to(images.dtype) * ((ys - cy).abs() < half).to(images.dtype)
    return torch.lerp(images, constant((FILL,), images).view(1, 1, 1, 1), inside)
