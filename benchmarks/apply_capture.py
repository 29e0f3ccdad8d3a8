"""Does capturing the compiled policy's apply pay? Images per second of one augmented batch:

- eager: a batch's draw, then its apply, as the trainer runs them (a few hundred small
  kernels for a six-op policy);
- graph: the draw eager, the apply replayed from a CUDA graph (static input and draw
  buffers refilled each batch; apply is deterministic given a draw, so the replay is the
  same augmentation), CUDA only;
- compile: the draw eager, apply through torch.compile (inductor; on a GPU its
  "reduce-overhead" mode, which also replays CUDA graphs).

Each capture is checked against eager apply on the same draw (max abs difference printed
and saved) before it is timed. The modes run interleaved; each figure is the median of
--repeats runs of --batches batches after a warm-up. A mode that cannot run here is
recorded with its reason, not timed.

    python benchmarks/apply_capture.py [--device cuda] [--size 32] [--batch 1024] [--out FILE]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import autoda  # noqa: E402
from autoda.engine.augment.pipeline import Draw  # noqa: E402
from autoda.files import write_json  # noqa: E402
import lt_data  # noqa: E402

SIX = ROOT / "benchmarks" / "policies" / "six_ops.dsl"
NUM_CLASSES = 10


def _tensors(draw: Draw) -> list[torch.Tensor]:
    return [draw.applied, draw.magnitude, draw.value, *(a for a in draw.aux if a is not None)]


class GraphedApply:
    """apply(images, draw) replayed from one CUDA graph captured for this batch shape."""

    def __init__(self, policy: autoda.CompiledPolicy, images: torch.Tensor, draw: Draw) -> None:
        self.images = images.clone()
        self.draw = Draw(draw.ops, *(t.clone() for t in (draw.applied, draw.magnitude, draw.value)),
                         tuple(None if a is None else a.clone() for a in draw.aux))
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up on a side stream, as torch.cuda.graphs asks
            for _ in range(2):
                policy.apply(self.images, self.draw)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = policy.apply(self.images, self.draw)

    def __call__(self, images: torch.Tensor, draw: Draw) -> torch.Tensor:
        self.images.copy_(images)
        for static, fresh in zip(_tensors(self.draw), _tensors(draw)):
            static.copy_(fresh)
        self.graph.replay()
        return self.out


def runners(policy: autoda.CompiledPolicy, images: torch.Tensor, labels: torch.Tensor, modes: list[str]):
    """{mode: (a batch function, its max abs difference from eager on one draw)} and
    {mode: why it cannot run here}."""
    cuda = images.device.type == "cuda"
    draw = policy.draw(labels, images.shape)
    reference = policy.apply(images, draw).float()
    ready, skipped = {}, {}
    for mode in modes:
        if mode == "eager":
            ready[mode] = (lambda: policy.apply(images, policy.draw(labels, images.shape)), 0.0)
            continue
        try:
            if mode == "graph":
                if not cuda:
                    raise RuntimeError("CUDA graphs need a CUDA device")
                apply = GraphedApply(policy, images, draw)
            elif mode == "compile":
                apply = torch.compile(policy.apply, mode="reduce-overhead" if cuda else "default", dynamic=False)
            else:
                raise ValueError(f"unknown mode {mode!r}")
            difference = (apply(images, draw).float() - reference).abs().max().item()
        except Exception as error:  # noqa: BLE001 -- recorded: a mode that fails here is a finding
            skipped[mode] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            continue
        ready[mode] = ((lambda apply: lambda: apply(images, policy.draw(labels, images.shape)))(apply), difference)
    return ready, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=20, help="batches a timed run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--modes", default="eager,graph,compile")
    parser.add_argument("--policies", nargs="*", type=Path, default=[SIX])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "apply_capture.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync, where = lt_data.synchronizer(device), lt_data.device_name(device)
    modes = args.modes.split(",")
    print(f"device {where}; torch {torch.__version__}; batch {args.batch} of {args.size}x{args.size} uint8; "
          f"{args.batches} batches a run, median of {args.repeats} runs after one warm-up")
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.batch, 3, args.size, args.size), generator=g, dtype=torch.uint8).to(device)
    labels = torch.randint(0, NUM_CLASSES, (args.batch,), generator=g).to(device)
    results = {"benchmark": "apply_capture", "device": where, "torch": torch.__version__, "size": args.size,
               "batch": args.batch, "batches": args.batches, "repeats": args.repeats, "unit": "images per second",
               "policies": {}}
    for path in args.policies:
        policy = lt_data.prepared_policy(path, args.device)
        ready, skipped = runners(policy, images, labels, modes)
        times: dict[str, list[float]] = {mode: [] for mode in ready}
        for round_ in range(1 + args.repeats):  # the first round warms up (and compiles)
            for mode, (fn, _) in ready.items():
                sync()
                start = time.perf_counter()
                for _ in range(args.batches):
                    fn()
                sync()
                if round_:
                    times[mode].append(time.perf_counter() - start)
        rate = {mode: args.batch * args.batches / statistics.median(ts) for mode, ts in times.items()}
        entry = {"modes": {mode: {"median": round(rate[mode], 1), "max_abs_difference": ready[mode][1],
                                  "runs": [round(args.batch * args.batches / t, 1) for t in times[mode]]}
                           for mode in ready}, "skipped": skipped}
        for mode in ready:
            entry["modes"][mode]["ratio_vs_eager"] = round(rate[mode] / rate["eager"], 2) if "eager" in rate else None
        results["policies"][path.stem] = entry
        shown = ", ".join(f"{mode} {rate[mode]:,.0f}/s ({entry['modes'][mode]['ratio_vs_eager']}x, differs from eager "
                          f"by {ready[mode][1]:.2g})" for mode in ready)
        print(f"{path.stem}: {shown}" + "".join(f"; {mode}: {why}" for mode, why in skipped.items()))
    write_json(args.out, results)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
