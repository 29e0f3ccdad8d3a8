import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageFilter

from autoda.engine.augment import erase, filters
from autoda.engine.augment.pipeline import from_unit, to_unit
from autoda.ops import OPS

FILTERS = [n for n, op in OPS.items() if op.kind == "filter"]
torch.manual_seed(0)
IMAGES = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8)


def kernel(name, value, b=3):
    return getattr(filters, name)(torch.full((b,), float(value)))


def apply(name, value):
    return from_unit(filters.convolve(to_unit(IMAGES), kernel(name, value)), torch.uint8)


def pil(fn):
    out = [np.array(fn(Image.fromarray(i.permute(1, 2, 0).numpy()))) for i in IMAGES]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)


@pytest.mark.parametrize("name,fn", [("smooth", lambda im: im.filter(ImageFilter.SMOOTH)),
                                     ("detail", lambda im: im.filter(ImageFilter.DETAIL)),
                                     ("edge_enhance", lambda im: im.filter(ImageFilter.EDGE_ENHANCE)),
                                     ("sharpness", lambda im: ImageEnhance.Sharpness(im).enhance(1.9))])
def test_pil_filters_match_away_from_the_border(name, fn):
    value = 1.9 if name == "sharpness" else 1.0
    diff = (apply(name, value).int() - pil(fn).int())[..., 1:-1, 1:-1].abs()
    assert diff.max() <= 1


@pytest.mark.parametrize("name", FILTERS)
def test_kernels_are_symmetric_and_the_identity_is_the_impulse(name):
    p = OPS[name].param
    k = kernel(name, p.value(0.7))
    assert torch.allclose(k, k.flip(-1, -2))  # so conv2d's correlation is convolution
    assert torch.allclose(k.sum((1, 2)), torch.ones(3), atol=1e-5)  # brightness preserved
    impulse = kernel(name, p.identity)
    r = impulse.shape[-1] // 2
    assert impulse[:, r, r].eq(1).all() and impulse.abs().sum() == 3


def test_composed_kernel_equals_filtering_in_turn():
    x = torch.rand(3, 3, 12, 12) * 0.5 + 0.25  # no clipping in between
    a, b = kernel("gaussian_blur", 1.2), kernel("detail", 0.5)
    composed = filters.convolve(x, filters.compose([a, b]))
    r = (a.shape[-1] + b.shape[-1] - 2) // 2
    padded = torch.nn.functional.pad(x, (r,) * 4, mode="replicate")
    step = torch.nn.functional.conv2d(padded.view(1, 9, *padded.shape[-2:]), a.repeat_interleave(3, 0)[:, None], groups=9)
    step = torch.nn.functional.conv2d(step, b.repeat_interleave(3, 0)[:, None], groups=9).view_as(x)
    assert torch.allclose(composed, step.clamp(0, 1), atol=1e-5)


def test_cutout_greys_a_square_of_the_given_side():
    x = torch.zeros(2, 3, 32, 32)
    out = erase.cutout(x, torch.tensor([0.25, 0.0]), torch.tensor([[0.5, 0.5], [0.5, 0.5]]))
    assert (out[0, 0] == erase.FILL).sum() == 8 * 8
    assert torch.equal(out[1], x[1])  # side 0: nothing erased
    edge = erase.cutout(x[:1], torch.tensor([0.5]), torch.tensor([[0.0, 0.0]]))
    assert (edge[0, 0] == erase.FILL).sum() == 8 * 8  # a square over the corner erases a quarter
