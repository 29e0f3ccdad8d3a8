"""Colour ops against PIL, which the CUDA and LLM-AutoDA reference code call per image."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageOps

from autoda.engine.augment import colour
from autoda.engine.augment.pipeline import from_unit, to_unit
from autoda.ops import OPS

torch.manual_seed(0)
IMAGES = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8)
IMAGES[1] = IMAGES[1] // 4 + 60  # a low-contrast image, so autocontrast and equalize matter
IMAGES[2, :, :8] = 255  # a saturated patch


def ours(name: str, value: float) -> torch.Tensor:
    fn = getattr(colour, name)
    v = torch.full((IMAGES.shape[0],), float(value))
    return from_unit(fn(to_unit(IMAGES), v, None), torch.uint8)


def pil(fn) -> torch.Tensor:
    out = []
    for img in IMAGES:
        result = fn(Image.fromarray(img.permute(1, 2, 0).numpy()))
        out.append(torch.from_numpy(np.array(result.convert("RGB"))).permute(2, 0, 1))
    return torch.stack(out)


def close(a: torch.Tensor, b: torch.Tensor, levels: int) -> None:
    diff = (a.int() - b.int()).abs()
    assert diff.max() <= levels, f"max difference {diff.max()} levels"


@pytest.mark.parametrize("factor", [0.1, 0.6, 1.4, 1.9])
def test_enhancers_match_pil(factor):
    close(ours("brightness", factor), pil(lambda im: ImageEnhance.Brightness(im).enhance(factor)), 1)
    close(ours("color", factor), pil(lambda im: ImageEnhance.Color(im).enhance(factor)), 2)
    # PIL rounds the mean grey to a whole level first; we keep it exact
    close(ours("contrast", factor), pil(lambda im: ImageEnhance.Contrast(im).enhance(factor)), 2)


def test_equalize_matches_pil_exactly():
    close(ours("equalize", 0), pil(ImageOps.equalize), 0)


def test_autocontrast_invert_grayscale_match_pil():
    close(ours("autocontrast", 0), pil(ImageOps.autocontrast), 1)
    close(ours("invert", 0), pil(ImageOps.invert), 0)
    close(ours("grayscale", 0), pil(lambda im: im.convert("L")), 1)


@pytest.mark.parametrize("bits", [8, 6, 4, 2])
def test_posterize_matches_pil(bits):
    close(ours("posterize", bits), pil(lambda im: ImageOps.posterize(im, bits)), 0)


@pytest.mark.parametrize("threshold", [0, 64, 128, 200])
def test_solarize_inverts_strictly_above_the_threshold(threshold):
    # PIL inverts at and above its threshold; at t + 1 it is the same rule as "strictly above t"
    close(ours("solarize", threshold / 255), pil(lambda im: ImageOps.solarize(im, threshold + 1)), 0)


def test_solarize_add_adds_below_half():
    out = ours("solarize_add", 50 / 255).int()
    src = IMAGES.int()
    expected = torch.where(src < 128, (src + 50).clamp(max=255), src)
    assert torch.equal(out, expected)


def test_hue_rotation_keeps_greys_and_a_full_turn():
    grey = torch.full((2, 3, 4, 4), 0.4)
    assert torch.allclose(colour.hue(grey, torch.tensor([0.25, -0.4]), None), grey, atol=1e-3)
    x = to_unit(IMAGES)
    assert torch.allclose(colour.hue(x, torch.zeros(6), None), x, atol=2e-3)
    moved = colour.hue(x, torch.full((6,), 0.3), None)
    assert (moved - x).abs().mean() > 0.05


EXACT = [n for n, op in OPS.items() if op.kind == "colour" and getattr(getattr(colour, n), "exact_identity", False)]


def test_the_cheap_blends_are_marked_exact():
    assert {"brightness", "contrast", "color", "solarize", "solarize_add", "gaussian_noise"} <= set(EXACT)


@pytest.mark.parametrize("name", EXACT)
def test_ops_marked_exact_are_exact_at_their_identity(name):
    fn = getattr(colour, name)
    x = torch.rand(4, 3, 8, 8)
    identity = torch.full((4,), OPS[name].param.identity)
    aux = torch.randn(4, 3, 8, 8)
    assert torch.equal(fn(x, identity, aux), x)
