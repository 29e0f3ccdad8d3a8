"""kornia's functional layer against autoda's own ops: speed, agreement with PIL, host syncs.

For every op family (the composed affine warp and its matrices; the colour ops; the filter
kernels and their one convolution; cutout) this runs autoda's implementation and the
nearest kornia function (kornia.geometry.transform, kornia.enhance, kornia.color,
kornia.filters, kornia.geometry.bbox as kornia.augmentation's erasing uses it) in the form
the pipeline needs: a batch with one parameter per sample, drawn as the graph draws them
(each op applied with probability 0.5, magnitude uniform in [0, 1], a random sign for signed
ops, the identity parameter where not applied), masked per sample (an op exact at its
identity parameter runs unmasked, any other is blended in only where applied), no Python
loop over samples.

(a) Speed: milliseconds per batch (--batch 256 of --size 32 images), each candidate timed
    over --iters calls, candidates interleaved (ours, kornia, ours, ... with the order
    reversed every other round, so load drift hits both), --repeats rounds after a warm-up,
    --runs whole runs one after another; the figures are medians over all rounds, the speed
    ratio the median of the ratio within a round (each run's median is kept too).
(b) Agreement with PIL (ImageOps, ImageEnhance, ImageFilter, Image.transform, ImageDraw on
    uint8 images, one image at a time: the reference semantics of the paper's, CUDA's and
    DODA's code): every sample applies the op with its drawn parameter; outputs are rounded
    to uint8 as the graph rounds them; max and mean absolute difference in uint8 levels over
    all values (filters also without the one-pixel border, where PIL copies the source).
(c) Host syncs: each candidate runs once under the tests' no-host-sync guard
    (tests/engine/augment/sync_guard.py); on CUDA also under
    torch.cuda.set_sync_debug_mode("error").

Images are the first --batch CIFAR-10 training images spread over the classes, read from
../shared/data/cifar10-jpg.tar.gz, or, where that archive is absent, smooth synthetic images
(said in the output). Writes JSON with torch, kornia and Pillow versions and the device.

    python benchmarks/kornia_ops.py [--device cpu|cuda] [--runs 3] [--repeats 25] [--iters 5] [--ops warp hue ...]
"""
from __future__ import annotations

import argparse
import io
import math
import os
import platform
import statistics
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import kornia
import kornia.augmentation as KA
import kornia.enhance as KE
import kornia.filters as KF
import kornia.geometry.bbox as KB
import kornia.geometry.conversions as KG
import kornia.geometry.transform as KT
import numpy as np
import PIL
import torch
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "engine" / "augment"))

from autoda.engine.augment import colour, erase, filters, geometric  # noqa: E402
from autoda.engine.augment.pipeline import from_unit, to_unit  # noqa: E402
from autoda.files import write_json  # noqa: E402
from autoda.ops import OPS  # noqa: E402
from sync_guard import HostSyncError, NoHostSync  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


# --- images and parameters -----------------------------------------------------------------

def cifar_images(n: int, path: Path) -> torch.Tensor | None:
    """The first training images of each class, n in all, as [n, 3, 32, 32] uint8."""
    if not path.is_file():
        return None
    per_class: dict[str, list[np.ndarray]] = {}
    quota = math.ceil(n / 10)
    with tarfile.open(path) as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) != 3 or parts[0] != "train" or not member.isfile():
                continue
            got = per_class.setdefault(parts[1], [])
            if len(got) < quota:
                got.append(np.array(Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB")))
            if len(per_class) == 10 and all(len(v) >= quota for v in per_class.values()):
                break
    images = [img for k in sorted(per_class) for img in per_class[k]]
    images = [images[i] for i in sorted(range(len(images)), key=lambda i: (i % quota, i))][:n]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def synthetic_images(n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """Smooth colour gradients with texture, so histogram ops and filters have work to do."""
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    a = torch.rand(n, 3, 3, 1, 1, generator=gen)
    base = a[:, 0] * xs + a[:, 1] * ys + a[:, 2] * torch.sin(6 * xs * ys)
    base = base / base.amax(dim=(2, 3), keepdim=True).clamp(min=1e-6)
    noisy = base * 0.85 + 0.15 * torch.rand(n, 3, size, size, generator=gen)
    return (noisy.clamp(0, 1) * 255).round().to(torch.uint8)


@dataclass
class Drawn:
    """One op's per-sample parameters, as the graph draws them."""

    value: torch.Tensor  # [B] the op's parameter (its identity where not applied)
    applied: torch.Tensor  # [B] float, 1 where applied
    aux: torch.Tensor | None = None  # [B, 2] uniforms (cutout's centre)
    extra: dict = field(default_factory=dict)  # per-op values of a multi-op case (geometric)


def draw(op: str, b: int, gen: torch.Generator, everywhere: bool = False) -> Drawn:
    p = OPS[op].param
    applied = torch.ones(b) if everywhere else (torch.rand(b, generator=gen) < 0.5).float()
    if p is None:
        return Drawn(applied.clone(), applied)
    m = torch.rand(b, generator=gen)
    sign = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0) if p.signed else torch.ones(b)
    value = p.at_zero + applied * sign * m * (p.at_one - p.at_zero)
    return Drawn(value, applied)


GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y", "scale")


def draw_geometric(b: int, gen: torch.Generator, everywhere: bool) -> Drawn:
    per_op = {op: draw(op, b, gen) for op in GEOMETRIC}  # each op applied with probability 0.5
    applied = torch.stack([d.applied for d in per_op.values()]).amax(0)
    if everywhere:  # every sample moves: a sample that drew nothing gets a rotation
        r = per_op["rotate"]
        r.value = torch.where(applied > 0, r.value, 12.5)
        applied = torch.ones(b)
    return Drawn(applied, applied, extra={op: d.value for op, d in per_op.items()})


# --- candidates ------------------------------------------------------------------------------

def _col(t: torch.Tensor) -> torch.Tensor:
    return t.view(-1, 1, 1, 1)


def masked(op_out: torch.Tensor, x: torch.Tensor, d: Drawn) -> torch.Tensor:
    """The pipeline's mask for an op that is not exact at its identity parameter."""
    return torch.lerp(x, op_out, _col(d.applied))


# autoda's hand-written code for the ops that now run kornia's (as it was before they did), so
# the comparison stays a comparison after the switch
_LUMA = (0.299, 0.587, 0.114)


def hand_luma(images: torch.Tensor) -> torch.Tensor:
    return (_LUMA[0] * images[:, 0] + _LUMA[1] * images[:, 1] + _LUMA[2] * images[:, 2]).unsqueeze(1)


def hand_blend(degenerate, images, factor):
    f = _col(factor)
    return (images * f).add_(degenerate * (1 - f)).clamp_(0, 1)


HAND_WRITTEN = {
    "invert": lambda x, d: masked(1 - x, x, d),
    "grayscale": lambda x, d: masked(hand_luma(x).expand_as(x), x, d),
    "color": lambda x, d: hand_blend(hand_luma(x), x, d.value),
}


def ours_colour(name: str) -> Callable:
    fn = getattr(colour, name)
    if getattr(fn, "exact_identity", False):
        return lambda x, d: fn(x, d.value, None)
    return lambda x, d: masked(fn(x, d.value, None), x, d)


def ours_filter(*names: str) -> Callable:
    def run(x, d):
        kernels = [getattr(filters, n)(d.extra.get(n, d.value)) for n in names]
        return filters.convolve(x, filters.compose(kernels))
    return run


def _ours_matrices(d: Drawn, h: int, w: int) -> torch.Tensor:
    m = None
    for op in GEOMETRIC:
        mo = getattr(geometric, op)(d.extra[op], None, h, w)
        m = mo if m is None else mo @ m
    return m


def _kornia_matrices(d: Drawn, h: int, w: int) -> torch.Tensor:
    """The same per-op matrices from kornia's builders, composed in the same order."""
    v = d.extra
    b = v["rotate"].shape[0]
    center = _center(v["rotate"], h, w)
    ones = torch.ones(b, 2, device=center.device)
    zero = torch.zeros(b, device=center.device)
    rot = KT.get_rotation_matrix2d(center, v["rotate"], ones)
    shx = KT.get_shear_matrix2d(center, sx=-torch.atan(v["shear_x"]), sy=zero)
    shy = KT.get_shear_matrix2d(center, sx=zero, sy=-torch.atan(v["shear_y"]))
    tx = KT.get_translation_matrix2d(torch.stack([v["translate_x"] * w, zero], 1))
    ty = KT.get_translation_matrix2d(torch.stack([zero, v["translate_y"] * h], 1))
    sc = KT.get_rotation_matrix2d(center, zero, v["scale"].unsqueeze(1).expand(b, 2))
    m = _as3x3(rot)
    for mo in (shx, shy, tx, ty, sc):
        m = _as3x3(mo) @ m
    return m


def _center(like: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """[B, 2] image centres, filled on the device (a tensor from a list would be a host copy)."""
    return torch.stack([torch.full_like(like, (w - 1) / 2), torch.full_like(like, (h - 1) / 2)], 1)


def _as3x3(m: torch.Tensor) -> torch.Tensor:
    return KG.convert_affinematrix_to_homography(m) if m.shape[-2] == 2 else m


def kornia_warp(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return KT.warp_affine(x, m[:, :2], (x.shape[-2], x.shape[-1]), mode="bilinear",
                          padding_mode="zeros", align_corners=True)


def geometric_cases():
    def ours_matrix(x, d):
        return _ours_matrices(d, *x.shape[-2:])

    def kornia_matrix(x, d):
        return _kornia_matrices(d, *x.shape[-2:])

    def kornia_affine2d(x, d):  # one call, but a fixed order: translate . rotate+scale . shear
        v, (h, w) = d.extra, x.shape[-2:]
        b = v["rotate"].shape[0]
        center = _center(v["rotate"], h, w)
        shift = torch.stack([v["translate_x"] * w, v["translate_y"] * h], 1)
        return KT.get_affine_matrix2d(shift, center, v["scale"].unsqueeze(1).expand(b, 2), v["rotate"],
                                      -torch.atan(v["shear_x"]), -torch.atan(v["shear_y"]))

    def ours_warp(x, d):
        return masked(geometric.warp(x, d.extra["matrix"]), x, d)

    def k_warp(x, d):
        return masked(kornia_warp(x, d.extra["matrix"]), x, d)

    # the matrices are timed on their own; their agreement is that of the warped images
    return [
        Case("affine matrices (rotate, shear_x/y, translate_x/y, scale; composed)", "geometric",
             ours_matrix, {"get_rotation/shear/translation_matrix2d": kornia_matrix,
                           "get_affine_matrix2d (fixed order)": kornia_affine2d},
             pil_affine, geometric_matrix=True, timing_only=("get_affine_matrix2d (fixed order)",)),
        Case("warp (one bilinear warp of the composed matrix, zeros outside)", "geometric",
             ours_warp, {"warp_affine": k_warp}, pil_affine, geometric_matrix=False),
    ]


def pil_affine(img: Image.Image, d: dict) -> Image.Image:
    """PIL's Image.transform with the exact (float64) inverse of the composed matrix, moved from
    pixel centres at integers (ours) to PIL's pixel centres at +0.5."""
    inv = np.linalg.inv(d["matrix64"])
    a, b, c, dd, e, f = inv[0, 0], inv[0, 1], inv[0, 2], inv[1, 0], inv[1, 1], inv[1, 2]
    data = (a, b, c + 0.5 - 0.5 * (a + b), dd, e, f + 0.5 - 0.5 * (dd + e))
    return img.transform(img.size, Image.AFFINE, data, resample=Image.BILINEAR)


def _brightness_add(x, d):
    return KE.adjust_brightness(x, d.value - 1)


def _solarize_add_kornia(x, d):
    # kornia adds to every pixel, then inverts at or above the threshold (2: none)
    return KE.solarize(x, 2.0, d.value)


def colour_cases():
    inf = float("inf")

    def k_solarize(x, d):  # strictly above the threshold, as ours: invert where x >= nextafter(v)
        return KE.solarize(x, torch.nextafter(d.value, torch.full_like(d.value, inf)))

    def k_posterize(x, d):
        return masked(KE.posterize(x, torch.round(d.value).clamp(1, 8).long()), x, d)

    noise_module = KA.RandomGaussianNoise(mean=0.0, std=1.0, p=1.0)

    def k_noise(x, d):  # kornia's module body with our drawn noise scaled per sample, clamped as ours
        return noise_module.apply_transform(x, {"gaussian_noise": _col(d.value) * d.aux}, {}).clamp_(0, 1)

    return [
        Case("brightness", "colour", ours_colour("brightness"),
             {"adjust_brightness_accumulative": lambda x, d: KE.adjust_brightness_accumulative(x, d.value),
              "adjust_brightness (additive, factor - 1)": _brightness_add},
             lambda im, p: ImageEnhance.Brightness(im).enhance(p["value"])),
        Case("contrast", "colour", ours_colour("contrast"),
             {"adjust_contrast_with_mean_subtraction":
              lambda x, d: KE.adjust_contrast_with_mean_subtraction(x, d.value),
              "adjust_contrast (multiplicative)": lambda x, d: KE.adjust_contrast(x, d.value)},
             lambda im, p: ImageEnhance.Contrast(im).enhance(p["value"])),
        Case("color", "colour", HAND_WRITTEN["color"],
             {"our blend over rgb_to_grayscale": ours_colour("color"),
              "adjust_saturation_with_gray_subtraction":
              lambda x, d: KE.adjust_saturation_with_gray_subtraction(x, d.value),
              "adjust_saturation (HSV)": lambda x, d: KE.adjust_saturation(x, d.value)},
             lambda im, p: ImageEnhance.Color(im).enhance(p["value"]), runs="our blend over rgb_to_grayscale"),
        Case("hue", "colour", ours_colour("hue"),
             {"adjust_hue (HSV)": lambda x, d: masked(KE.adjust_hue(x, d.value * (2 * math.pi)), x, d)},
             pil_hue),
        Case("solarize", "colour", ours_colour("solarize"), {"solarize": k_solarize},
             lambda im, p: ImageOps.solarize(im, math.floor(255 * p["value"]) + 1)),
        Case("solarize_add", "colour", ours_colour("solarize_add"),
             {"solarize (additions=v, no threshold)": _solarize_add_kornia}, pil_solarize_add),
        Case("posterize", "colour", ours_colour("posterize"), {"posterize": k_posterize},
             lambda im, p: ImageOps.posterize(im, int(min(8, max(1, round(p["value"])))))),
        Case("equalize", "colour", ours_colour("equalize"),
             {"equalize": lambda x, d: masked(KE.equalize(x), x, d)}, lambda im, p: ImageOps.equalize(im)),
        Case("autocontrast", "colour", ours_colour("autocontrast"),
             {"normalize_min_max (RandomAutoContrast)": lambda x, d: masked(KE.normalize_min_max(x), x, d)},
             lambda im, p: ImageOps.autocontrast(im)),
        # where autoda runs kornia's function, the kornia candidate is autoda's op as it runs
        Case("invert", "colour", HAND_WRITTEN["invert"], {"invert": ours_colour("invert")},
             lambda im, p: ImageOps.invert(im), runs="invert"),
        Case("grayscale", "colour", HAND_WRITTEN["grayscale"], {"rgb_to_grayscale": ours_colour("grayscale")},
             lambda im, p: im.convert("L").convert("RGB"), runs="rgb_to_grayscale"),
        Case("gaussian_noise", "noise", lambda x, d: colour.gaussian_noise(x, d.value, d.aux),
             {"RandomGaussianNoise.apply_transform + clamp": k_noise}, None,
             pil_note="PIL has no gaussian-noise op; kornia has no functional one"),
    ]


def pil_hue(img: Image.Image, p: dict) -> Image.Image:
    """A hue shift by a fraction of a turn in PIL's HSV, as torchvision does it on PIL images."""
    h, s, v = img.convert("HSV").split()
    shift = int(round(p["value"] * 255)) % 256
    h = Image.fromarray(((np.array(h, dtype=np.int32) + shift) % 256).astype(np.uint8), "L")
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def pil_solarize_add(img: Image.Image, p: dict) -> Image.Image:
    """AutoAugment's solarize_add: add below 128, clipped."""
    add = math.floor(255 * p["value"] + 0.5)
    return img.point([min(255, i + add) if i < 128 else i for i in range(256)] * 3)


_PIL_FILTERS = {"smooth": ImageFilter.SMOOTH, "detail": ImageFilter.DETAIL, "edge_enhance": ImageFilter.EDGE_ENHANCE}


def pil_filter(name: str):
    def run(img: Image.Image, p: dict) -> Image.Image:
        v = p["value"]
        if name == "sharpness":
            return ImageEnhance.Sharpness(img).enhance(v)
        if name == "gaussian_blur":
            return img.filter(ImageFilter.GaussianBlur(v))
        return Image.blend(img, img.filter(_PIL_FILTERS[name]), v)
    return run


def pil_blur_then_sharpen(img: Image.Image, p: dict) -> Image.Image:
    return ImageEnhance.Sharpness(img.filter(ImageFilter.GaussianBlur(p["sigma"]))).enhance(p["factor"])


def filter_cases():
    def k_filter2d(*names):
        def run(x, d):
            kernels = [getattr(filters, n)(d.extra.get(n, d.value)) for n in names]
            return KF.filter2d(x, filters.compose(kernels), border_type="replicate").clamp_(0, 1)
        return run

    def k_sharpness(x, d):
        return masked(KE.sharpness(x, d.value), x, d)

    def k_gauss_kernel(x, d):
        sigma = d.value.unsqueeze(1).expand(-1, 2)
        k = KF.get_gaussian_kernel2d(2 * filters.GAUSSIAN_RADIUS + 1, sigma)
        return filters.convolve(x, k)

    def k_gauss_blur(x, d):
        sigma = d.value.clamp(min=1e-3).unsqueeze(1).expand(-1, 2)  # it refuses sigma 0
        k = 2 * filters.GAUSSIAN_RADIUS + 1
        return masked(KF.gaussian_blur2d(x, (k, k), sigma, border_type="replicate").clamp_(0, 1), x, d)

    cases = [
        Case("sharpness", "filter", ours_filter("sharpness"),
             {"enhance.sharpness": k_sharpness, "filter2d (our kernel)": k_filter2d("sharpness")},
             pil_filter("sharpness"), border=True),
        Case("gaussian_blur", "filter", ours_filter("gaussian_blur"),
             {"get_gaussian_kernel2d + our conv": k_gauss_kernel, "gaussian_blur2d": k_gauss_blur,
              "filter2d (our kernel)": k_filter2d("gaussian_blur")},
             pil_filter("gaussian_blur"), border=True),
    ]
    for name in ("smooth", "detail", "edge_enhance"):
        cases.append(Case(name, "filter", ours_filter(name), {"filter2d (our kernel)": k_filter2d(name)},
                          pil_filter(name), border=True))
    cases.append(Case("composed filter stage (gaussian_blur then sharpness, one 9x9 kernel)", "filter",
                      ours_filter("gaussian_blur", "sharpness"),
                      {"filter2d (our kernel)": k_filter2d("gaussian_blur", "sharpness")},
                      pil_blur_then_sharpen, border=True, composed=True))
    return cases


def erase_cases():
    def k_cutout(x, d):
        b, _, h, w = x.shape
        half = d.value * min(h, w) / 2
        cx, cy = d.aux[:, 0] * w, d.aux[:, 1] * h
        x0, x1, y0, y1 = cx - half - 0.5, cx + half - 0.5, cy - half - 0.5, cy + half - 0.5
        boxes = torch.stack([torch.stack([x0, y0], 1), torch.stack([x1, y0], 1),
                             torch.stack([x1, y1], 1), torch.stack([x0, y1], 1)], 1)
        mask = KB.bbox_to_mask(boxes, w, h).unsqueeze(1)
        return torch.where(mask == 1.0, erase.FILL, x)

    return [Case("cutout", "erase", lambda x, d: erase.cutout(x, d.value, d.aux), {"bbox_to_mask + where": k_cutout},
                 pil_cutout)]


def pil_cutout(img: Image.Image, p: dict) -> Image.Image:
    """A side x side grey square (level 128) at whole-pixel centre (cx, cy), clipped at the edges."""
    side, cx, cy = p["side"], p["cx"], p["cy"]
    out = img.copy()
    ImageDraw.Draw(out).rectangle((cx - side // 2, cy - side // 2, cx + side // 2 - 1, cy + side // 2 - 1),
                                  fill=(128, 128, 128))
    return out


@dataclass
class Case:
    op: str
    family: str
    ours: Callable
    kornia: dict[str, Callable]
    pil: Callable | None
    runs: str = "ours"  # the candidate autoda runs now
    geometric_matrix: bool | None = None  # None: not geometric; True: times the matrices
    border: bool = False  # also report agreement without the one-pixel border
    composed: bool = False
    timing_only: tuple[str, ...] = ()  # candidates that are not the same op (no agreement figure)
    pil_note: str = ""


# --- drawing per case ------------------------------------------------------------------------

def case_draw(case: Case, b: int, size: int, gen: torch.Generator, everywhere: bool) -> Drawn:
    if case.geometric_matrix is not None:
        d = draw_geometric(b, gen, everywhere)
        m64 = _ours_matrices(Drawn(d.value, d.applied, extra={k: v.double() for k, v in d.extra.items()}), size, size)
        d.extra["matrix64"] = m64
        d.extra["matrix"] = m64.float()
        return d
    if case.composed:
        g, s = draw("gaussian_blur", b, gen, everywhere), draw("sharpness", b, gen, everywhere)
        applied = torch.maximum(g.applied, s.applied)
        return Drawn(applied, applied, extra={"gaussian_blur": g.value, "sharpness": s.value})
    name = case.op
    d = draw(name, b, gen, everywhere)
    if name == "gaussian_noise":
        d.aux = torch.randn(b, 3, size, size, generator=gen)
    if name == "cutout":
        if everywhere:  # whole-pixel centres and even sides, so PIL's rectangle is the same square
            side = 2 * torch.randint(1, size // 4 + 1, (b,), generator=gen).float()
            d.value = side / size
            d.aux = torch.randint(0, size, (b, 2), generator=gen).float() / size
        else:
            d.aux = torch.rand(b, 2, generator=gen)
    return d


def to_device(d: Drawn, device: torch.device) -> Drawn:
    mv = lambda t: t.to(device) if isinstance(t, torch.Tensor) else t  # noqa: E731
    return Drawn(mv(d.value), mv(d.applied), mv(d.aux),
                 {k: (v if k == "matrix64" else mv(v)) for k, v in d.extra.items()})


def pil_params(case: Case, d: Drawn, i: int, size: int) -> dict:
    if case.geometric_matrix is not None:
        return {"matrix64": d.extra["matrix64"][i].numpy()}
    if case.composed:
        return {"sigma": float(d.extra["gaussian_blur"][i]), "factor": float(d.extra["sharpness"][i])}
    if case.op == "cutout":
        return {"side": round(float(d.value[i]) * size), "cx": round(float(d.aux[i, 0]) * size),
                "cy": round(float(d.aux[i, 1]) * size)}
    return {"value": float(d.value[i])}


# --- measuring -------------------------------------------------------------------------------

def timed(fn: Callable[[], object], iters: int, sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - start) / iters * 1000


def agreement(out: torch.Tensor, ref: torch.Tensor, border: bool, inside: torch.Tensor | None = None) -> dict:
    diff = (out.int() - ref.int()).abs().float()
    result = {"max": int(diff.max()), "mean": round(float(diff.mean()), 4)}
    if border:
        inner = diff[..., 1:-1, 1:-1]
        result.update(max_inner=int(inner.max()), mean_inner=round(float(inner.mean()), 4))
    if inside is not None:  # a warp: where every sample it reads lies inside the image
        within = diff[inside.expand_as(diff)]
        result.update(max_inside=int(within.max()), mean_inside=round(float(within.mean()), 4),
                      share_inside=round(float(inside.float().mean()), 3))
    return result


def read_inside(matrix64: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """[B, 1, H, W]: output pixels whose source point is at least half a pixel inside the
    image, so bilinear sampling reads no pixel outside (PIL and grid_sample differ there)."""
    inv = torch.linalg.inv(matrix64)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=inv.dtype), torch.arange(w, dtype=inv.dtype), indexing="ij")
    sx = inv[:, 0, 0, None, None] * xs + inv[:, 0, 1, None, None] * ys + inv[:, 0, 2, None, None]
    sy = inv[:, 1, 0, None, None] * xs + inv[:, 1, 1, None, None] * ys + inv[:, 1, 2, None, None]
    return ((sx >= 0.5) & (sx <= w - 1.5) & (sy >= 0.5) & (sy <= h - 1.5)).unsqueeze(1)


def sync_check(fn: Callable[[], object], device: torch.device) -> str:
    try:
        with NoHostSync():
            fn()
    except HostSyncError as e:
        return f"host sync: {e}"
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            fn()
        except RuntimeError as e:
            return f"cuda sync: {str(e).splitlines()[0]}"
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return "none"


def time_case(case: Case, images_u8: torch.Tensor, device: torch.device, args) -> tuple[dict, dict]:
    """One run: every candidate timed over --repeats interleaved rounds; and its host-sync check."""
    b, size = images_u8.shape[0], images_u8.shape[-1]
    timing_draw = to_device(case_draw(case, b, size, torch.Generator().manual_seed(args.seed), False), device)
    x = to_unit(images_u8.to(device))
    candidates = {"ours": case.ours, **case.kornia}
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    calls = {name: (lambda fn=fn: fn(x, timing_draw)) for name, fn in candidates.items()}
    for call in calls.values():
        for _ in range(args.warmup):
            call()
    runs: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(args.repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            runs[name].append(timed(calls[name], args.iters, sync))
    return runs, {name: sync_check(call, device) for name, call in calls.items()}


def agree_case(case: Case, images_u8: torch.Tensor, args) -> dict:
    """Each candidate's agreement with PIL, every sample applying the op, on the CPU."""
    b, size = images_u8.shape[0], images_u8.shape[-1]
    d = case_draw(case, b, size, torch.Generator().manual_seed(args.seed + 1), everywhere=True)
    if case.pil is None:
        return {}
    refs = []
    for i in range(b):
        img = Image.fromarray(images_u8[i].permute(1, 2, 0).numpy())
        refs.append(np.array(case.pil(img, pil_params(case, d, i, size)).convert("RGB")))
    ref = torch.from_numpy(np.stack(refs)).permute(0, 3, 1, 2)
    x = to_unit(images_u8)
    inside = read_inside(d.extra["matrix64"], size, size) if case.geometric_matrix is not None else None
    found = {}
    for name, fn in {"ours": case.ours, **case.kornia}.items():
        if name in case.timing_only:
            found[name] = "not the same op: timing only"
        elif case.geometric_matrix:
            m = fn(x, d)
            found[name] = agreement(from_unit(geometric.warp(x, m), torch.uint8), ref, case.border, inside)
            found[name]["matrix_max_abs_error_vs_float64"] = float((m.double() - d.extra["matrix64"]).abs().max())
        else:
            found[name] = agreement(from_unit(fn(x, d), torch.uint8), ref, case.border, inside)
    return found


def summarise(case: Case, runs: list[dict], syncs: dict, pil: dict, b: int) -> dict:
    """Per candidate: the median over every round of every run (ms, and the within-round ratio
    to ours, with its quartiles), each run's median ratio, the sync check and the agreement."""
    results = {}
    for name in runs[0]:
        pooled = [v for run in runs for v in run[name]]
        ms = statistics.median(pooled)
        entry = {"ms_median": round(ms, 4), "images_per_s": round(b / ms * 1000, 1), "host_sync": syncs[name]}
        if name != "ours":
            # each round times ours and this candidate back to back, so the ratio within a round
            # is what load drift disturbs least
            pairs = [[o / c for o, c in zip(run["ours"], run[name])] for run in runs]
            flat = [p for pair in pairs for p in pair]
            q = statistics.quantiles(flat, n=4) if len(flat) > 1 else [flat[0]] * 3
            entry.update(images_per_s_vs_ours=round(statistics.median(flat), 3),
                         vs_ours_quartiles=[round(q[0], 3), round(q[2], 3)],
                         vs_ours_per_run=[round(statistics.median(p), 3) for p in pairs])
        entry["runs_ms"] = [[round(v, 4) for v in run[name]] for run in runs]
        if name in pil:
            entry["pil"] = pil[name]
        results[name] = entry
    out = {"op": case.op, "family": case.family, "runs": case.runs, "candidates": results}
    if case.pil_note:
        out["pil_note"] = case.pil_note
    return out


def all_cases() -> list[Case]:
    return geometric_cases() + colour_cases() + filter_cases() + erase_cases()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="whole runs, one after another")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--ops", nargs="*", help="only cases whose name starts with one of these")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "kornia_ops.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    images = cifar_images(args.batch, args.data) if args.size == 32 else None
    source = f"CIFAR-10 train, first {args.batch} images over the 10 classes ({args.data.name})"
    if images is None:
        images = synthetic_images(args.batch, args.size, torch.Generator().manual_seed(args.seed))
        source = "synthetic (smooth gradients with texture; the CIFAR-10 archive was not found)"
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    cases = [c for c in all_cases() if not args.ops or any(c.op.startswith(o) for o in args.ops)]
    results = {"benchmark": "kornia_ops", "device": where + load, "cpu_count": os.cpu_count(),
               "torch": torch.__version__,
               "kornia": kornia.__version__, "pillow": PIL.__version__, "batch": args.batch,
               "size": args.size, "runs": args.runs, "repeats": args.repeats, "iters": args.iters,
               "images": source,
               "timing": "ms per batch call (mean of iters calls), median over the rounds of all runs "
                         "(runs x repeats); candidates interleaved within a round, order reversed every "
                         "other round; images_per_s_vs_ours is the median over all rounds of ours_ms / "
                         "candidate_ms within the round (quartiles, and each run's median, beside it)",
               "agreement": "uint8 levels vs PIL, every sample applying the op with its drawn parameter",
               "cases": []}
    print(f"{where}{load}; torch {torch.__version__}, kornia {kornia.__version__}, Pillow {PIL.__version__}; "
          f"batch {args.batch} of {args.size}x{args.size}; median of {args.runs} runs x {args.repeats} rounds "
          f"x {args.iters} calls")
    print("'ours' is autoda's hand-written code; * marks what autoda runs now; k/ours: images/s ratio; "
          "PIL max/mean in uint8 levels (inner: filters without the one-pixel border; warps where no "
          "sample reads outside the image)")
    print(f"{'op':<28} {'candidate':<44} {'ms':>8} {'k/ours':>7} {'quartiles':>11} {'per run':>15} {'PIL max':>8} "
          f"{'mean':>7} {'inner':>11}  sync")
    timings: dict[int, list[dict]] = {i: [] for i in range(len(cases))}
    syncs: dict[int, dict] = {}
    for _ in range(args.runs):  # whole runs one after another, so each case meets other moments
        for i, case in enumerate(cases):
            runs, syncs[i] = time_case(case, images, device, args)
            timings[i].append(runs)
    for i, case in enumerate(cases):
        r = summarise(case, timings[i], syncs[i], agree_case(case, images, args), images.shape[0])
        results["cases"].append(r)
        for name, e in r["candidates"].items():
            pil = e.get("pil", {}) if isinstance(e.get("pil"), dict) else {}
            q = e.get("vs_ours_quartiles")
            quart = f"{q[0]:.2f}-{q[1]:.2f}" if q else ""
            per_run = "/".join(f"{v:.2f}" for v in e.get("vs_ours_per_run", []))
            name = ("* " if name == case.runs else "  ") + name
            inner = f"{pil['max_inner']}/{pil['mean_inner']:.3f}" if "max_inner" in pil else ""
            inner = f"{pil['max_inside']}/{pil['mean_inside']:.3f}" if "max_inside" in pil else inner
            print(f"{case.op[:28]:<28} {name[:44]:<44} {e['ms_median']:>8.3f} "
                  f"{e.get('images_per_s_vs_ours', 1.0):>7.2f} {quart:>11} {per_run:>15} {pil.get('max', ''):>8} "
                  f"{pil.get('mean', float('nan')):>7.3f} {inner:>11}  {e['host_sync']}", flush=True)
    write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
