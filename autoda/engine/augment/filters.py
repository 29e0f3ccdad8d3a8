"""Filter ops as per-sample kernels, composed into one kernel per sample and applied as
one grouped convolution over the batch.

Each function maps ``value`` (the op's parameter per sample) to [B, k, k] kernels; an op's
identity parameter gives the unit impulse, so an undrawn filter changes nothing. Filters
are linear, so a sample's filters compose into one kernel (their convolution): the image
is padded once (edge pixels repeated) and convolved once. The kernels are PIL's, so
smooth, detail, edge_enhance and sharpness match ImageFilter and ImageEnhance away from
the image border; gaussian_blur is cut at a radius of 3 pixels (1.5 sigma at its strongest).
All kernels are symmetric under a half turn, so correlation (conv2d) is convolution.

kornia's filter2d is the same grouped convolution and its gaussian kernel the same kernel,
both slower; kornia.enhance.sharpness is a pass of its own (docs/engine.md, "Which code
runs each op: ours or kornia's").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .opmeta import constant, radius

GAUSSIAN_RADIUS = 3

_SMOOTH = ((1, 1, 1), (1, 5, 1), (1, 1, 1)), 13
_DETAIL = ((0, -1, 0), (-1, 10, -1), (0, -1, 0)), 6
_EDGE_ENHANCE = ((-1, -1, -1), (-1, 10, -1), (-1, -1, -1)), 2


def _kernel(spec, like: torch.Tensor) -> torch.Tensor:
    rows, scale = spec
    return constant(tuple(tuple(v / scale for v in row) for row in rows), like)


def _impulse(r: int, like: torch.Tensor) -> torch.Tensor:
    k = torch.zeros(2 * r + 1, 2 * r + 1, dtype=like.dtype, device=like.device)
    k[r, r] = 1
    return k


def _towards(spec, blend: torch.Tensor) -> torch.Tensor:
    """(1 - blend) * impulse + blend * kernel, per sample."""
    delta, kernel = _impulse(1, blend), _kernel(spec, blend)
    return delta + blend.view(-1, 1, 1) * (kernel - delta)


@radius(1)
def smooth(value):
    return _towards(_SMOOTH, value)


@radius(1)
def detail(value):
    return _towards(_DETAIL, value)


@radius(1)
def edge_enhance(value):
    return _towards(_EDGE_ENHANCE, value)


@radius(1)
def sharpness(value):
    """PIL's ImageEnhance.Sharpness: blend from the SMOOTH-filtered image by the factor."""
    return _towards(_SMOOTH, 1 - value)


@radius(GAUSSIAN_RADIUS)
def gaussian_blur(value):
    r = GAUSSIAN_RADIUS
    x = torch.arange(-r, r + 1, dtype=value.dtype, device=value.device)
    sigma = value.clamp(min=1e-6).view(-1, 1)
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    g = g / g.sum(dim=1, keepdim=True)  # sigma -> 0 leaves the impulse
    return g.unsqueeze(2) * g.unsqueeze(1)


def compose(kernels: list[torch.Tensor]) -> torch.Tensor:
    """The per-sample convolution of [B, k_i, k_i] kernels: [B, K, K], K = sum(k_i) - n + 1."""
    total = kernels[0]
    for kernel in kernels[1:]:
        b, k = kernel.shape[0], kernel.shape[-1]
        padded = F.pad(total.unsqueeze(0), (k - 1,) * 4)
        total = F.conv2d(padded, kernel.flip(-1, -2).unsqueeze(1), groups=b).squeeze(0)
    return total


def add(kernels: list[torch.Tensor]) -> torch.Tensor:
    """The impulse plus each kernel's departure from the impulse: the same as composing
    them for a sample on which at most one is not the impulse, and never wider than the
    widest."""
    r = max(k.shape[-1] for k in kernels) // 2
    total = _impulse(r, kernels[0]).expand_as(F.pad(kernels[0], (r - kernels[0].shape[-1] // 2,) * 4)).clone()
    for kernel in kernels:
        pad = r - kernel.shape[-1] // 2
        total += F.pad(kernel - _impulse(kernel.shape[-1] // 2, kernel), (pad,) * 4)
    return total


def convolve(images: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolve each image with its own [K, K] kernel, edges repeated; one grouped conv."""
    b, c, h, w = images.shape
    r = kernels.shape[-1] // 2
    padded = F.pad(images, (r, r, r, r), mode="replicate").view(1, b * c, h + 2 * r, w + 2 * r)
    weight = kernels.repeat_interleave(c, dim=0).unsqueeze(1)
    return F.conv2d(padded, weight, groups=b * c).view(b, c, h, w).clamp_(0, 1)
