"""Colour ops: point-wise passes over a whole batch of float images in [0, 1].

Each function takes [B, 3, H, W] images, ``value`` (the op's parameter per sample) and
``aux`` (its extra random numbers, when marked with ``draws``), and returns the changed
batch, clipped to [0, 1]. An op marked ``exact_identity`` returns its input bit for bit at
its identity parameter, so the graph runs it on every sample unmasked; for the others the
graph keeps the old pixels of samples that did not draw it. The semantics follow PIL's
ImageOps and ImageEnhance, which the CUDA and LLM-AutoDA reference code call per image,
computed in float with the batch at once (equalize's histograms for every image and
channel in one scatter). Blends are written x * f + d * (1 - f), not d + f * (x - d),
because only the first gives x exactly at f = 1.

kornia's functional layer runs where it agrees with PIL and is not slower (the luma, so
grayscale and color, and invert); every other op here is ours because kornia's is slower
or follows another convention than PIL's (docs/engine.md, "Which code runs each op: ours
or kornia's", has the figures of benchmarks/kornia_ops.py).
"""
from __future__ import annotations

import kornia.color
import kornia.enhance
import torch

from .opmeta import constant, draws, exact_identity

_LUMA = (0.299, 0.587, 0.114)  # PIL's convert("L")

# The hue-rotate matrix is BASE + cos(angle) * COS + sin(angle) * SIN (W3C Filter Effects).
_HUE_ROTATE = (
    ((0.213, 0.715, 0.072), (0.213, 0.715, 0.072), (0.213, 0.715, 0.072)),
    ((0.787, -0.715, -0.072), (-0.213, 0.285, -0.072), (-0.213, -0.715, 0.928)),
    ((-0.213, -0.715, 0.928), (0.143, 0.140, -0.283), (-0.787, 0.715, 0.072)),
)


def _col(value: torch.Tensor) -> torch.Tensor:
    return value.view(-1, 1, 1, 1)


def _luma(images: torch.Tensor) -> torch.Tensor:
    """[B, 1, H, W] with PIL's convert("L") weights, given as a device constant: older
    kornia releases (the dependency's lower bound is 0.7) build their default weights
    from a host list on every call, a host-to-device copy per batch on a GPU."""
    return kornia.color.rgb_to_grayscale(images, constant(_LUMA, images))


def levels(images: torch.Tensor) -> torch.Tensor:
    """The 8-bit level of every pixel (int32), as a conversion to uint8 would round it."""
    return images.mul(255).add_(0.5).int()


def _blend(degenerate: torch.Tensor, images: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ImageEnhance blend, clipped: exactly the image at factor 1."""
    f = _col(factor)
    return (images * f).add_(degenerate * (1 - f)).clamp_(0, 1)


def autocontrast(images, value, aux):
    lo = images.amin(dim=(2, 3), keepdim=True)
    hi = images.amax(dim=(2, 3), keepdim=True)
    span = hi - lo
    stretched = (images - lo) / torch.where(span > 0, span, torch.ones_like(span))
    return torch.where(span > 0, stretched, images)


def equalize(images, value, aux):
    """PIL's ImageOps.equalize, per image and channel, without a loop over either."""
    b, c, h, w = images.shape
    level = levels(images).view(b * c, h * w).long()
    hist = torch.zeros(b * c, 256, dtype=images.dtype, device=images.device)
    hist.scatter_add_(1, level, torch.ones(b * c, h * w, dtype=images.dtype, device=images.device))
    bins = torch.arange(256, dtype=images.dtype, device=images.device)
    last = (hist.clamp(max=1) * bins).amax(dim=1, keepdim=True).long()  # highest level in use
    step = torch.floor((h * w - hist.gather(1, last)) / 255)
    below = torch.cumsum(hist, dim=1) - hist
    lut = torch.floor((below + torch.floor(step / 2)) / step.clamp(min=1)).clamp_(max=255).div_(255)
    equalised = lut.gather(1, level).view(b, c, h, w)
    # PIL leaves a channel alone when its step is 0 (one level, or nearly)
    return torch.lerp(images, equalised, (step > 0).to(images.dtype).view(b, c, 1, 1))


def invert(images, value, aux):
    # max_val on the device: kornia's default is a host tensor, copied every call
    return kornia.enhance.invert(images, constant((1.0,), images))


def posterize(images, value, aux):
    """Keep the top ``value`` bits (rounded, 1 to 8) of each 8-bit level."""
    drop = _col(torch.exp2(8 - torch.round(value).clamp(1, 8)))
    return torch.floor(levels(images).float().div_(drop)).mul_(drop / 255)


@exact_identity
def solarize(images, value, aux):
    """Invert the pixels above the threshold (so a threshold of 1 changes nothing):
    with s = 1 above it and 0 elsewhere, |x - s| is 1 - x or x. s comes from sign() in
    float, because a full-size bool mask and torch.where are several times slower on CPU."""
    above = (images - _col(value)).sign_().clamp_(min=0)
    return above.sub_(images).abs_()


@exact_identity
def solarize_add(images, value, aux):
    """Add ``value`` to the pixels below half the maximum, as AutoAugment's solarize_add."""
    return torch.where(images < 0.5, (images + _col(value)).clamp(0, 1), images)


@exact_identity
def brightness(images, value, aux):
    return (images * _col(value)).clamp_(0, 1)


@exact_identity
def contrast(images, value, aux):
    channel_means = images.mean(dim=(2, 3))  # the mean of the luma is the luma of the means
    mean = (channel_means * constant(_LUMA, channel_means)).sum(1)
    return _blend(_col(mean), images, value)


@exact_identity
def color(images, value, aux):
    return _blend(_luma(images), images, value)


def hue(images, value, aux):
    """Rotate hue by ``value`` of a turn: a rotation about the grey axis in YIQ space, one
    3x3 colour matrix per sample (the CSS hue-rotate filter), instead of a round trip
    through HSV that costs fifty times as much."""
    t = value * (2 * torch.pi)
    cos, sin = torch.cos(t).view(-1, 1, 1), torch.sin(t).view(-1, 1, 1)
    base, c, s = (constant(m, images).unsqueeze(0) for m in _HUE_ROTATE)
    matrix = base + cos * c + sin * s
    b, _, h, w = images.shape
    return torch.bmm(matrix, images.reshape(b, 3, h * w)).view(b, 3, h, w).clamp_(0, 1)


def grayscale(images, value, aux):
    return _luma(images).expand_as(images)


@exact_identity
@draws("noise")
def gaussian_noise(images, value, aux):
    return (images + _col(value) * aux).clamp_(0, 1)
