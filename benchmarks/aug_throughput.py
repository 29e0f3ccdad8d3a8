"""Augmentation throughput: images per second for batches of 256 32x32 uint8 images.

(a) autoda's compiled graph (CompiledPolicy.forward: draw and apply, on the device);
(b) the same ops as kornia.augmentation modules in one AugmentationSequential, each module
    applied with the probability and at the mean magnitude the policy gives it;
(c) per-sample torchvision.transforms.v2 functional calls, one image at a time, the way the
    CUDA and LLM-AutoDA reference code augments (on the CPU, as in their data loaders),
    doing exactly the ops and parameters that (a) drew.

Each policy runs at epoch 10 of 20 of simulated CIFAR-10-LT statistics (IR 100), so the
stateful policies have moved. Runs are interleaved (a, b, c, a, b, c, ...); the figure is
the median of --repeats runs after --warmup. Prints a table, writes JSON, and ends with
`ratio_vs_kornia=<a/b> ratio_vs_per_sample=<a/c>` for the six-op policy.

    python benchmarks/aug_throughput.py [--device cpu|cuda] [--repeats 7] [--policies ...]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import kornia
import kornia.augmentation as K
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms.v2.functional as TF

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import autoda  # noqa: E402
from autoda.files import write_json  # noqa: E402
from autoda.engine.augment import filters  # noqa: E402
from autoda.ops import OPS  # noqa: E402
import lt_data  # noqa: E402

SIX = ROOT / "benchmarks" / "policies" / "six_ops.dsl"
NUM_CLASSES = 10


# --- (b) kornia: one module per op, with the policy's probability and mean magnitude ------

def kornia_module(op: str, m: float, p: float, size: int):
    spec = OPS[op]
    v = spec.parameter(m) if spec.param else None
    dev = abs(v - spec.param.identity) if spec.param else None
    deg = math.degrees(math.atan(dev)) if op in ("shear_x", "shear_y") else None
    table = {
        "flip_lr": lambda: K.RandomHorizontalFlip(p=p), "flip_ud": lambda: K.RandomVerticalFlip(p=p),
        "rotate": lambda: K.RandomRotation(degrees=dev, p=p),
        "shear_x": lambda: K.RandomShear((-deg, deg, 0.0, 0.0), p=p),
        "shear_y": lambda: K.RandomShear((0.0, 0.0, -deg, deg), p=p),
        "translate_x": lambda: K.RandomTranslate(translate_x=(-dev, dev), translate_y=(0.0, 0.0), p=p),
        "translate_y": lambda: K.RandomTranslate(translate_x=(0.0, 0.0), translate_y=(-dev, dev), p=p),
        "scale": lambda: K.RandomAffine(degrees=0.0, scale=(1 - dev, 1 + dev), p=p),
        "crop": lambda: K.RandomCrop((size, size), padding=max(1, round(v * size)), p=p),
        "autocontrast": lambda: K.RandomAutoContrast(p=p), "equalize": lambda: K.RandomEqualize(p=p),
        "invert": lambda: K.RandomInvert(p=p), "posterize": lambda: K.RandomPosterize(bits=max(1.0, v), p=p),
        "solarize": lambda: K.RandomSolarize(thresholds=0.0, additions=0.0, p=p),
        "solarize_add": lambda: K.RandomSolarize(thresholds=0.0, additions=(0.0, v), p=p),
        "brightness": lambda: K.RandomBrightness(brightness=(1 - dev, 1 + dev), p=p),
        "contrast": lambda: K.RandomContrast(contrast=(1 - dev, 1 + dev), p=p),
        "color": lambda: K.RandomSaturation(saturation=(1 - dev, 1 + dev), p=p),
        "hue": lambda: K.RandomHue(hue=(-dev, dev), p=p),
        "grayscale": lambda: K.RandomGrayscale(p=p),
        "gaussian_noise": lambda: K.RandomGaussianNoise(std=max(v, 1e-3), p=p),
        "sharpness": lambda: K.RandomSharpness(sharpness=max(dev, 1e-3), p=p),
        "gaussian_blur": lambda: K.RandomGaussianBlur(7, (0.1, max(v, 0.1)), p=p),
        # kornia has no SMOOTH, DETAIL or EDGE_ENHANCE: the nearest 3x3 filter stands in
        "smooth": lambda: K.RandomBoxBlur((3, 3), p=p), "detail": lambda: K.RandomSharpness(0.5, p=p),
        "edge_enhance": lambda: K.RandomSharpness(1.0, p=p),
        "cutout": lambda: K.RandomErasing(scale=(max(v, 1e-3) ** 2,) * 2, ratio=(1.0, 1.0), value=0.5, p=p),
    }
    return table[op]()


def kornia_pipeline(policy: autoda.CompiledPolicy, labels: torch.Tensor, size: int):
    """The policy's ops as kornia modules, at the rates and mean magnitudes it draws."""
    draws = [policy.draw(labels, (len(labels), 3, size, size), step=10_000 + i) for i in range(8)]
    applied = torch.cat([d.applied for d in draws]).float()
    magnitude = torch.cat([d.magnitude for d in draws])
    modules = []
    for i, op in enumerate(draws[0].ops):
        p = applied[:, i].mean().item()
        if p == 0:
            continue
        m = (magnitude[:, i].sum() / applied[:, i].sum()).item()
        modules.append(kornia_module(op, m, min(p, 1.0), size))
    seq = K.AugmentationSequential(*modules) if modules else None

    def run(images: torch.Tensor) -> torch.Tensor:
        x = images.float().div_(255)
        if seq is not None:
            x = seq(x)
        return x.mul(255).round_().clamp_(0, 255).to(torch.uint8)
    return run


# --- (c) per-sample torchvision v2: the draw of (a), one image at a time ------------------

def _pil_filter(img: torch.Tensor, op: str, value: float) -> torch.Tensor:
    kernel = getattr(filters, op)(torch.tensor([value]))[0]
    x = img.float().unsqueeze(0)
    r = kernel.shape[-1] // 2
    y = F.conv2d(F.pad(x, (r,) * 4, mode="replicate"), kernel.expand(3, 1, -1, -1), groups=3)
    return y.clamp_(0, 255).round_().to(torch.uint8)[0]


def per_sample_op(img: torch.Tensor, op: str, v: float, aux) -> torch.Tensor:
    h, w = img.shape[-2:]
    bilinear = TF.InterpolationMode.BILINEAR
    if op == "flip_lr":
        return TF.horizontal_flip(img)
    if op == "flip_ud":
        return TF.vertical_flip(img)
    if op == "rotate":
        return TF.rotate(img, v, interpolation=bilinear)
    if op in ("shear_x", "shear_y"):
        deg = math.degrees(math.atan(v))
        return TF.affine(img, angle=0.0, translate=[0, 0], scale=1.0,
                         shear=[deg, 0.0] if op == "shear_x" else [0.0, deg], interpolation=bilinear)
    if op in ("translate_x", "translate_y"):
        shift = [round(v * w), 0] if op == "translate_x" else [0, round(v * h)]
        return TF.affine(img, angle=0.0, translate=shift, scale=1.0, shear=[0.0, 0.0])
    if op == "scale":
        return TF.affine(img, angle=0.0, translate=[0, 0], scale=v, shear=[0.0, 0.0], interpolation=bilinear)
    if op == "crop":
        pad = round(v * w)
        top, left = round(aux[1] * 2 * pad), round(aux[0] * 2 * pad)
        return TF.crop(TF.pad(img, [pad]), top, left, h, w)
    if op == "autocontrast":
        return TF.autocontrast(img)
    if op == "equalize":
        return TF.equalize(img)
    if op == "invert":
        return TF.invert(img)
    if op == "posterize":
        return TF.posterize(img, int(round(v)))
    if op == "solarize":
        return TF.solarize(img, v * 255)
    if op == "solarize_add":
        return torch.where(img < 128, (img.int() + round(v * 255)).clamp(0, 255).to(torch.uint8), img)
    if op == "brightness":
        return TF.adjust_brightness(img, v)
    if op == "contrast":
        return TF.adjust_contrast(img, v)
    if op == "color":
        return TF.adjust_saturation(img, v)
    if op == "hue":
        return TF.adjust_hue(img, (v + 0.5) % 1 - 0.5)
    if op == "grayscale":
        return TF.rgb_to_grayscale(img, num_output_channels=3)
    if op == "gaussian_noise":
        return (img.float() + aux * (255 * v)).clamp_(0, 255).to(torch.uint8)
    if op == "sharpness":
        return TF.adjust_sharpness(img, v)
    if op == "gaussian_blur":
        return TF.gaussian_blur(img, [7, 7], [max(v, 1e-3)] * 2)
    if op in ("smooth", "detail", "edge_enhance"):
        return _pil_filter(img, op, v)
    if op == "cutout":
        side = round(v * min(h, w))
        cy, cx = round(aux[1] * h), round(aux[0] * w)
        top, left = max(0, cy - side // 2), max(0, cx - side // 2)
        return TF.erase(img, top, left, min(side, h - top), min(side, w - left), torch.tensor(128, dtype=torch.uint8))
    raise KeyError(op)


def per_sample_pipeline(policy: autoda.CompiledPolicy):
    def run(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        draw = policy.draw(labels.to(policy.tables.device), images.shape)  # the same draw as (a)
        applied, values = draw.applied.cpu().tolist(), draw.value.cpu().tolist()
        aux = [a.cpu() if a is not None else None for a in draw.aux]
        out = []
        for b, img in enumerate(images):
            for i, op in enumerate(draw.ops):
                if applied[b][i]:
                    extra = None if aux[i] is None else (aux[i][b].tolist() if aux[i].dim() == 2 else aux[i][b])
                    img = per_sample_op(img, op, values[b][i], extra)
            out.append(img)
        return torch.stack(out)
    return run


# --- timing -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--policies", nargs="*", type=Path,
                        default=sorted((ROOT / "examples" / "policies").glob("*.dsl")) + [SIX])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "aug_throughput.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync, where = lt_data.synchronizer(device), lt_data.device_name(device)
    print(f"device {where}; torch {torch.__version__}; kornia {kornia.__version__}; torchvision "
          f"{torchvision.__version__}; batch {args.batch} of {args.size}x{args.size} uint8; "
          f"median of {args.repeats} runs after {args.warmup} warm-up")
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.batch, 3, args.size, args.size), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, NUM_CLASSES, (args.batch,), generator=g)
    images_dev, labels_dev = images.to(device), labels.to(device)
    results = {"benchmark": "aug_throughput", "device": where, "torch": torch.__version__,
               "kornia": kornia.__version__, "torchvision": torchvision.__version__, "batch": args.batch,
               "size": args.size, "repeats": args.repeats, "unit": "images per second", "policies": {}}
    header = f"{'policy':<16} {'autoda':>10} {'kornia':>10} {'per-sample':>11} {'x kornia':>9} {'x per-sample':>13}"
    print(header + "\n" + "-" * len(header))
    for path in args.policies:
        policy = lt_data.prepared_policy(path, args.device)
        runners = {
            "autoda": lambda: policy(images_dev, labels_dev),
            "kornia": (lambda run: lambda: run(images_dev))(kornia_pipeline(policy, labels_dev, args.size)),
            "per_sample": (lambda run: lambda: run(images, labels))(per_sample_pipeline(policy)),
        }
        times = {name: [] for name in runners}
        for round_ in range(args.warmup + args.repeats):
            for name, fn in runners.items():
                seconds = lt_data.timed(fn, sync)
                if round_ >= args.warmup:
                    times[name].append(seconds)
        rate = {name: args.batch / statistics.median(ts) for name, ts in times.items()}
        entry = {name: {"median": round(rate[name], 1), "runs": [round(args.batch / t, 1) for t in ts]}
                 for name, ts in times.items()}
        entry["ratio_vs_kornia"] = round(rate["autoda"] / rate["kornia"], 2)
        entry["ratio_vs_per_sample"] = round(rate["autoda"] / rate["per_sample"], 2)
        results["policies"][path.stem] = entry
        print(f"{path.stem:<16} {rate['autoda']:>10,.0f} {rate['kornia']:>10,.0f} {rate['per_sample']:>11,.0f} "
              f"{entry['ratio_vs_kornia']:>9.2f} {entry['ratio_vs_per_sample']:>13.2f}")
    write_json(args.out, results)
    print(f"written {args.out}")
    six = results["policies"].get(SIX.stem)
    if six is not None:
        print(f"ratio_vs_kornia={six['ratio_vs_kornia']:.2f} ratio_vs_per_sample={six['ratio_vs_per_sample']:.2f}")


if __name__ == "__main__":
    main()
