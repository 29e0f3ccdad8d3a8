"""Geometric ops: matrices in pixel coordinates, one warp, against exact shifts and PIL."""
import math

import numpy as np
import pytest
import torch
from PIL import Image

from autoda.engine.augment import geometric
from autoda.ops import OPS

GEOMETRIC = [n for n, op in OPS.items() if op.kind == "geometric"]


def image(b=2, h=8, w=10):
    return torch.arange(b * 3 * h * w, dtype=torch.float32).view(b, 3, h, w) / (b * 3 * h * w)


def matrix(name, value, b=2, h=8, w=10, aux=None):
    return getattr(geometric, name)(torch.full((b,), float(value)), aux, h, w)


def test_flips_are_exact():
    x = image()
    assert torch.allclose(geometric.warp(x, matrix("flip_lr", 1)), x.flip(-1), atol=1e-6)
    assert torch.allclose(geometric.warp(x, matrix("flip_ud", 1)), x.flip(-2), atol=1e-6)


def test_whole_pixel_translation_shifts_content_and_fills_zeros():
    x = image()
    out = geometric.warp(x, matrix("translate_x", 0.2))  # 2 of 10 pixels, to the right
    assert torch.allclose(out[..., 2:], x[..., :-2], atol=1e-6)
    assert out[..., :2].abs().max() < 1e-6  # zeros, up to float rounding of the shift
    out = geometric.warp(x, matrix("translate_y", -0.25))  # 2 of 8 pixels, up
    assert torch.allclose(out[..., :-2, :], x[..., 2:, :], atol=1e-6)


def test_crop_offsets_are_whole_pixels_spread_evenly_over_the_pad():
    aux = torch.rand(9000, 2, generator=torch.Generator().manual_seed(0))
    m = geometric.crop(torch.full((9000,), 0.125), aux, 32, 32)  # pad 4: RandomCrop(32, padding=4)
    shifts = m[:, :2, 2]
    assert torch.equal(shifts, shifts.round())
    share = torch.bincount((shifts[:, 0] + 4).long(), minlength=9) / 9000
    assert share.numel() == 9 and torch.allclose(share, torch.full((9,), 1 / 9), atol=0.015)


def test_resized_crop_resizes_its_box_as_torchvision_does():
    """An aligned 16 x 16 box in the middle (area 0.25, ratio 1): inside a pixel of its
    edges (where torchvision clamps to the box and the warp reads the pixels beyond),
    the same image as torchvision's resized_crop, bilinear without antialiasing."""
    from torchvision.transforms.v2 import functional as TF

    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    m = geometric.resized_crop(torch.tensor([0.25]), torch.tensor([[0.0, 0.5, 0.5, 0.5]]), 32, 32)
    ours = geometric.warp(x, m)
    theirs = TF.resized_crop(x, 8, 8, 16, 16, [32, 32], antialias=False)
    inner = (..., slice(2, 30), slice(2, 30))
    assert torch.allclose(ours[inner], theirs[inner], atol=1e-5)


def test_resized_crop_boxes_fit_and_span_torchvisions_area_and_ratio():
    n, w, h = 20000, 40, 30
    aux = torch.rand(n, 4, generator=torch.Generator().manual_seed(1))
    m = geometric.resized_crop(torch.full((n,), 0.08), aux, h, w)  # magnitude 1: RandomResizedCrop's defaults
    fw, fh = 1 / m[:, 0, 0], 1 / m[:, 1, 1]
    left, top = (-0.5 - m[:, 0, 2]) * fw, (-0.5 - m[:, 1, 2]) * fh
    assert torch.all(left >= -0.5 - 1e-4) and torch.all(left + fw * w <= w - 0.5 + 1e-3)
    assert torch.all(top >= -0.5 - 1e-4) and torch.all(top + fh * h <= h - 0.5 + 1e-3)
    assert m[:, 0, 1].abs().max() == 0 and m[:, 1, 0].abs().max() == 0  # no rotation or shear
    area, log_ratio = fw * fh, torch.log(fw / fh)
    assert area.min() >= 0.08 - 1e-5 and area.min() < 0.09 and area.max() > 0.99
    inside = (fw < 1) & (fh < 1)  # boxes not cut to the side keep their drawn ratio
    assert log_ratio[inside].abs().max() <= math.log(4 / 3) + 1e-5
    assert log_ratio[inside].abs().max() > 0.95 * math.log(4 / 3)
    half = geometric.resized_crop(torch.full((n,), 0.54), aux, h, w)  # magnitude 0.5: half the log ratio
    assert torch.log(half[:, 1, 1] / half[:, 0, 0]).abs().max() <= 0.5 * math.log(4 / 3) + 1e-5


@pytest.mark.parametrize("name", GEOMETRIC)
def test_identity_parameter_gives_the_identity_matrix(name):
    op = OPS[name]
    value = op.param.identity if op.param else 0.0
    m = matrix(name, value, aux=torch.rand(2, 4))  # crop reads two, resized_crop four
    assert torch.allclose(m, torch.eye(3).expand(2, 3, 3), atol=1e-6)


@pytest.mark.parametrize("name", [n for n in GEOMETRIC if OPS[n].param is not None])
def test_every_matrix_is_invertible_at_any_magnitude(name):
    p = OPS[name].param
    values = torch.tensor([p.value(m) for m in (0, 0.5, 1)] + [2 * p.at_zero - p.value(1)])
    m = getattr(geometric, name)(values, torch.rand(4, 4), 32, 32)
    assert torch.all(torch.linalg.det(m) > 0.1)


def test_rotation_matches_pil_inside_the_image():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
    ours = geometric.warp(x.float(), matrix("rotate", 20, b=1, h=32, w=32))
    pil = Image.fromarray(x[0].permute(1, 2, 0).numpy()).rotate(20, resample=Image.BILINEAR)
    theirs = torch.from_numpy(np.array(pil)).permute(2, 0, 1).float()
    inner = (slice(None), slice(8, 24), slice(8, 24))
    assert (ours[0][inner] - theirs[inner]).abs().mean() < 3  # of 255: both bilinear, same direction


def test_composition_applies_the_first_op_first():
    x = image(b=1, h=8, w=8)
    shift, flip = matrix("translate_x", 0.25, b=1, h=8, w=8), matrix("flip_lr", 1, b=1, h=8, w=8)
    shifted_then_flipped = geometric.warp(x, flip @ shift)
    expected = geometric.warp(geometric.warp(x, shift), flip)
    assert torch.allclose(shifted_then_flipped, expected, atol=1e-6)
