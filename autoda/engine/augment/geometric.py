"""Geometric ops as 3x3 matrices in pixel coordinates, and the one warp they share.

Each op maps per-sample parameters to a batch of matrices that send a source pixel to its
destination (x right, y down, pixel centres at integers, the centre at ((W-1)/2, (H-1)/2)).
A sample's geometric ops multiply into one matrix and the image is resampled once,
bilinearly, with zeros outside, so stacking ops never blurs twice. An op's identity
parameter gives the identity matrix, which is how an undrawn op takes part without a branch.

The function names are the op registry's names; every function takes ``value`` (the op's
parameter per sample, or for an op without a magnitude 1.0 where applied and 0.0 where not),
``aux`` (the op's extra random numbers, when marked with ``draws``) and the image height and width.

kornia's matrix builders and warp_affine give the same matrices and images, slower
(docs/engine.md, "Which code runs each op: ours or kornia's").
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...ops import OPS
from .opmeta import draws

def _affine(a, b, c, d, e, f) -> torch.Tensor:
    """Stack [[a, b, c], [d, e, f], [0, 0, 1]] from per-sample tensors or numbers (numbers
    become fills, not tensors copied from the host, so no transfer is queued per batch)."""
    ref = next(t for t in (a, b, c, d, e, f) if isinstance(t, torch.Tensor))
    rows = [v if isinstance(v, torch.Tensor) else torch.full_like(ref, v) for v in (a, b, c, d, e, f)]
    zero, one = torch.zeros_like(ref), torch.ones_like(ref)
    return torch.stack([*rows, zero, zero, one], dim=-1).view(*ref.shape, 3, 3)


def _about_centre(a, b, d, e, height: int, width: int) -> torch.Tensor:
    """The linear map [[a, b], [d, e]] acting about the image centre."""
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return _affine(a, b, cx - a * cx - b * cy, d, e, cy - d * cx - e * cy)


def flip_lr(value, aux, height, width):
    return _affine(1 - 2 * value, 0, value * (width - 1), 0, 1, 0)


def flip_ud(value, aux, height, width):
    return _affine(1, 0, 0, 0, 1 - 2 * value, value * (height - 1))


def rotate(value, aux, height, width):
    """Counter-clockwise on screen for a positive angle in degrees, as PIL's rotate."""
    t = value * (math.pi / 180)
    cos, sin = torch.cos(t), torch.sin(t)
    return _about_centre(cos, sin, -sin, cos, height, width)


def shear_x(value, aux, height, width):
    return _about_centre(1, value, 0, 1, height, width)


def shear_y(value, aux, height, width):
    return _about_centre(1, 0, value, 1, height, width)


def translate_x(value, aux, height, width):
    return _affine(1, 0, value * width, 0, 1, 0)


def translate_y(value, aux, height, width):
    return _affine(1, 0, 0, 0, 1, value * height)


def scale(value, aux, height, width):
    return _about_centre(value, 0, 0, value, height, width)


@draws("uniform2")
def crop(value, aux, height, width):
    """Pad by ``value`` of the side and crop back at a random whole-pixel offset, each of
    the 2p + 1 offsets equally likely, as torchvision's RandomCrop(padding=p)."""
    px, py = torch.round(value * width), torch.round(value * height)
    dx = torch.floor(aux[:, 0] * (2 * px + 1)) - px
    dy = torch.floor(aux[:, 1] * (2 * py + 1)) - py
    return _affine(1, 0, dx, 0, 1, dy)


@draws("uniform4")
def resized_crop(value, aux, height, width):
    """A random box resized to the whole image, as torchvision's RandomResizedCrop: its area
    a fraction of the image's drawn uniformly from [value, 1], its aspect ratio
    log-uniformly from [3/4, 4/3] narrowed in proportion to the magnitude (value 1 is the
    identity, value 0.08 torchvision's defaults), its place uniform where it fits. A box
    wider or taller than the image is cut to the side (torchvision draws again, up to ten
    times, then crops the centre)."""
    magnitude = (1 - value) / (1 - OPS["resized_crop"].param.at_one)
    area = value + aux[:, 0] * (1 - value)
    ratio = torch.exp((2 * aux[:, 1] - 1) * magnitude * math.log(4 / 3))
    fw, fh = torch.sqrt(area * ratio).clamp(max=1), torch.sqrt(area / ratio).clamp(max=1)
    # the box's left and top edges, in pixel coordinates (the image spans -0.5 to W - 0.5)
    left, top = aux[:, 2] * (1 - fw) * width - 0.5, aux[:, 3] * (1 - fh) * height - 0.5
    sx, sy = 1 / fw, 1 / fh
    return _affine(sx, 0, -0.5 - left * sx, 0, sy, -0.5 - top * sy)


def warp(images: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Resample [B, C, H, W] images through [B, 3, 3] source-to-destination matrices.

    The sampling grid comes from the matrices' analytic inverse by broadcasting, not from
    affine_grid and a general inverse: at 32x32 that is most of a warp's cost, and a
    general inverse would check for singular matrices with a host sync on CUDA.
    """
    b, _, h, w = images.shape
    m = matrices.to(images.dtype)
    a, bb, c = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    d, e, f = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    det = a * e - bb * d  # every op's matrix has a positive determinant, so no zero here
    ia, ib, id_, ie = e / det, -bb / det, -d / det, a / det
    ic, if_ = -(ia * c + ib * f), -(id_ * c + ie * f)
    # grid_sample wants source coordinates scaled to [-1, 1]: fold that into the inverse,
    # so each coordinate costs one full-size add of a row term and a column term
    sx_, sy_ = 2 / max(w - 1, 1), 2 / max(h - 1, 1)
    xs = torch.arange(w, dtype=images.dtype, device=images.device).view(1, 1, w)
    ys = torch.arange(h, dtype=images.dtype, device=images.device).view(1, h, 1)
    col = lambda t: t.view(b, 1, 1)  # noqa: E731
    grid = images.new_empty(b, h, w, 2)
    torch.add(col(ia * sx_) * xs, col(ib * sx_) * ys + col(ic * sx_ - 1), out=grid[..., 0])
    torch.add(col(id_ * sy_) * xs, col(ie * sy_) * ys + col(if_ * sy_ - 1), out=grid[..., 1])
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
