"""Which way of training K copies of a CIFAR ResNet side by side is fastest here? One SGD
step (forward, cross-entropy, backward, update) of K copies on K batches:

- separate: K networks, one after another (what one-at-a-time fitness does);
- grouped: one packed network whose convolutions are grouped K ways, as in
  Packed-Ensembles (autoda.engine.train.packed, what `--eval-batch K` runs);
- separate_bf16: separate in bf16 autocast with channels_last, as the trainer runs on a
  GPU (whether they help there; CUDA only);
- vmap: K networks' parameters stacked (torch.func.stack_module_state) and the forward
  vmapped over them (torch.func.functional_call). Batch norm is in training mode without
  running statistics (vmap cannot update them in place), so this times the step's
  arithmetic; it is not a fitness evaluation.

Images per second over all K copies (K x batch per step); the styles run interleaved,
each figure the median of --repeats runs of --steps steps after a warm-up. Prints a table
and writes JSON with the ratios against separate.

    python benchmarks/packing_styles.py [--device cuda] [--net resnet32] [--k 1,4,16] [--out FILE]
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoda.engine.train.models import build_model  # noqa: E402
from autoda.engine.train.packed import PackedCifarResNet, pack  # noqa: E402
from autoda.files import write_json  # noqa: E402
import lt_data  # noqa: E402

NUM_CLASSES = 10


def separate(models, images, labels, mixed: bool = False):
    """``mixed``: bf16 autocast and channels_last, as the trainer runs on a GPU."""
    if mixed:
        if images[0].device.type != "cuda":
            raise RuntimeError("the trainer uses bf16 and channels_last on a GPU only")
        models = [m.to(memory_format=torch.channels_last) for m in models]
        images = [x.contiguous(memory_format=torch.channels_last) for x in images]
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for m in models]

    def step():
        for model, optimizer, x, y in zip(models, optimizers, images, labels):
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=mixed):
                logits = model(x)
            F.cross_entropy(logits.float(), y).backward()
            optimizer.step()
    return step


def grouped(models, images, labels):
    k = len(models)
    packed = PackedCifarResNet.like(models[0], k).to(images[0].device)
    packed.load_state_dict(pack([m.state_dict() for m in models]))
    optimizer = torch.optim.SGD(packed.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.cat(images, dim=1), torch.stack(labels, dim=1)  # (B, K*3, H, W), (B, K)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = packed(x)  # (B, K, C)
        F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").div(len(x)).backward()
        optimizer.step()
    return step


def vmapped(models, images, labels):
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    base = copy.deepcopy(models[0]).to("meta")
    for module in base.modules():  # batch statistics only: vmap cannot update running ones in place
        if isinstance(module, torch.nn.BatchNorm2d):
            module.track_running_stats, module.running_mean, module.running_var = False, None, None
    params, _ = stack_module_state(models)
    params = {name: p.detach().clone() for name, p in params.items() if "running" not in name}
    momentum = {name: torch.zeros_like(p) for name, p in params.items()}
    x, y = torch.stack(images), torch.stack(labels)  # (K, B, 3, H, W), (K, B)

    def loss(p, xi, yi):
        return F.cross_entropy(functional_call(base, p, (xi,)), yi)

    gradient = vmap(grad_and_value(loss))

    def step():
        grads, _ = gradient(params, x, y)
        with torch.no_grad():
            for name, g in grads.items():
                momentum[name].mul_(0.9).add_(g)
                params[name].sub_(0.01 * momentum[name])
    return step


STYLES = {"separate": separate, "grouped": grouped, "vmap": vmapped,
          "separate_bf16": lambda *args: separate(*args, mixed=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--net", default="resnet32")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--k", default="1,4,16")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "packing_styles.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync, where = lt_data.synchronizer(device), lt_data.device_name(device)
    print(f"device {where}; torch {torch.__version__}; {args.net}, batch {args.batch} of {args.size}x{args.size} "
          f"per copy; {args.steps} steps a run, median of {args.repeats} runs after a warm-up (fp32)")
    results = {"benchmark": "packing_styles", "device": where, "torch": torch.__version__, "net": args.net,
               "batch": args.batch, "size": args.size, "steps": args.steps, "repeats": args.repeats,
               "unit": "training images per second over all copies", "rows": []}
    print(f"{'K':>3} " + " ".join(f"{name:>13}" for name in STYLES) + "   grouped/separate  vmap/separate")
    for k in [int(v) for v in args.k.split(",")]:
        torch.manual_seed(k)
        models = [build_model(args.net, NUM_CLASSES).to(device) for _ in range(k)]
        images = [torch.randn(args.batch, 3, args.size, args.size, device=device) for _ in range(k)]
        labels = [torch.randint(0, NUM_CLASSES, (args.batch,), device=device) for _ in range(k)]
        steps, not_run = {}, {}
        for name, make in STYLES.items():
            try:
                steps[name] = make([copy.deepcopy(m) for m in models], images, labels)
                steps[name]()  # the warm-up, and a check that the style runs here
            except Exception as error:  # noqa: BLE001 -- recorded: a style that cannot run here is a finding
                steps.pop(name, None)
                not_run[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        times: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.repeats):
            for name, step in steps.items():
                sync()
                start = time.perf_counter()
                for _ in range(args.steps):
                    step()
                sync()
                times[name].append(time.perf_counter() - start)
        rate = {name: k * args.batch * args.steps / statistics.median(ts) for name, ts in times.items()}
        row = {"k": k, "images_per_second": {name: round(v, 1) for name, v in rate.items()}, "not_run": not_run}
        for name in ("grouped", "vmap", "separate_bf16"):
            if name in rate and "separate" in rate:
                row[f"{name}_vs_separate"] = round(rate[name] / rate["separate"], 2)
        results["rows"].append(row)
        cells = " ".join(f"{rate[name]:>13,.0f}" if name in rate else f"{'-':>13}" for name in STYLES)
        print(f"{k:>3} {cells}   {row.get('grouped_vs_separate', '-'):>16}  {row.get('vmap_vs_separate', '-'):>13}"
              + "".join(f"\n    {name} not run: {why}" for name, why in not_run.items()))
    write_json(args.out, results)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
