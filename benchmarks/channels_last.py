"""Does channels_last pay on this device? One SGD step (forward, cross-entropy, backward,
update) and one evaluation forward of a CIFAR ResNet, with the network and the images in
the contiguous (NCHW) layout against channels_last (NHWC), the layout the trainer uses on
every device. The two layouts run interleaved, each figure the median of --repeats runs of
--steps steps after a warm-up; prints a table and writes JSON with the ratios.

    python benchmarks/channels_last.py [--device cpu] [--nets resnet8,resnet8w16,resnet32]
        [--threads 1,2] [--out FILE]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autoda.engine.train.models import build_model  # noqa: E402
from autoda.files import write_json  # noqa: E402
import lt_data  # noqa: E402

NUM_CLASSES = 10
LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def steps_for(net: str, layout: torch.memory_format, batch: int, eval_batch: int, device: torch.device):
    """(train step, evaluation forward) of a fresh network in ``layout``."""
    torch.manual_seed(0)
    model = build_model(net, NUM_CLASSES).to(device, memory_format=layout)
    images = torch.randn(batch, 3, 32, 32, device=device).contiguous(memory_format=layout)
    labels = torch.randint(0, NUM_CLASSES, (batch,), device=device)
    held_out = torch.randn(eval_batch, 3, 32, 32, device=device).contiguous(memory_format=layout)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()

    def evaluate():
        model.eval()
        with torch.no_grad():
            model(held_out)
    return train, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--nets", default="resnet8,resnet8w16,resnet32")
    parser.add_argument("--threads", default="1,2", help="torch threads to try, on a CPU")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--eval-batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "channels_last.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = lt_data.synchronizer(device)
    threads = [int(t) for t in args.threads.split(",")] if device.type == "cpu" else [torch.get_num_threads()]
    print(f"torch {torch.__version__}; batch {args.batch} (train), {args.eval_batch} (eval) of 32x32; "
          f"{args.steps} steps a run, median of {args.repeats} runs after a warm-up (fp32)")
    results = {"benchmark": "channels_last", "torch": torch.__version__, "batch": args.batch,
               "eval_batch": args.eval_batch, "steps": args.steps, "repeats": args.repeats,
               "unit": "images per second", "rows": []}
    print(f"{'net':<11} {'device':<40} {'train NCHW':>11} {'train NHWC':>11} {'ratio':>6} "
          f"{'eval NCHW':>10} {'eval NHWC':>10} {'ratio':>6}")
    for net in args.nets.split(","):
        for count in threads:
            torch.set_num_threads(count)
            where = lt_data.device_name(device)
            runs = {name: steps_for(net, layout, args.batch, args.eval_batch, device)
                    for name, layout in LAYOUTS.items()}
            for train, evaluate in runs.values():
                train(), evaluate()  # the warm-up
            times = {(name, part): [] for name in runs for part in ("train", "eval")}
            for _ in range(args.repeats):
                for name, (train, evaluate) in runs.items():
                    times[name, "train"].append(lt_data.timed(train, sync, args.steps))
                    times[name, "eval"].append(lt_data.timed(evaluate, sync, args.steps))
            rate = {key: (args.batch if key[1] == "train" else args.eval_batch) * args.steps / statistics.median(ts)
                    for key, ts in times.items()}
            row = {"net": net, "device": where,
                   "images_per_second": {f"{part}_{name}": round(v, 1) for (name, part), v in rate.items()},
                   "train_ratio": round(rate["channels_last", "train"] / rate["contiguous", "train"], 2),
                   "eval_ratio": round(rate["channels_last", "eval"] / rate["contiguous", "eval"], 2)}
            results["rows"].append(row)
            train = f"{rate['contiguous', 'train']:>11,.0f} {rate['channels_last', 'train']:>11,.0f}"
            held_out = f"{rate['contiguous', 'eval']:>10,.0f} {rate['channels_last', 'eval']:>10,.0f}"
            print(f"{net:<11} {where:<40} {train} {row['train_ratio']:>6} {held_out} {row['eval_ratio']:>6}",
                  flush=True)
    write_json(args.out, results)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
