"""Does the search's fitness keep what augmentation does? For each fitness setting (the
checkpoint epoch, the fine-tune's length, the policy the checkpoint trains with), the
fine-tuned validation accuracy of reference policies against `none`, over fresh fine-tune
seeds, beside their from-scratch gain on the test split when a verdict is given.

A fitness that keeps a fifth of a policy's effect and half the seed-to-seed noise cannot
tell RandAugment from `none`; a search on it drifts to whatever is lucky. This measures
the keep ratio (fitness gain / from-scratch gain) and the noise (std over seeds) of each
setting, so a preset's choice rests on a measurement.

    python benchmarks/fitness_fidelity.py --preset cifar10-lt-small --method ce \\
        --setting 140:25 --setting 140:25:randaugment --setting 120:45 \\
        --verdict benchmarks/results/cifar10_lt_small/verdict.json \\
        --out benchmarks/results/cifar10_lt_small/fidelity_ce.json

A setting is E_CKP:N_FT[:POLICY][@EPOCHS] (POLICY: an example's name or a file; the
checkpoint trains with it on top of the base augmentation; EPOCHS: the schedule's length,
the preset's by default, so 0:60@60 is a whole 60-epoch schedule trained from scratch).
Each setting's checkpoint is cached as the search caches it, so a setting the search used
costs only its fine-tunes.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from autoda.engine.train.data import load_dataset
from autoda.engine.train.fitness import FitnessEvaluator, FitnessSetup
from autoda.engine.train.trainer import Recipe
from autoda.files import write_json
from autoda.policies import check_policy, resolve_policy
from autoda.presets import PRESETS


def parse_setting(text: str) -> tuple[int, int, str | None, int | None]:
    head, _, epochs = text.partition("@")
    parts = head.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        return int(parts[0]), int(parts[1]), parts[2] if len(parts) == 3 else None, int(epochs) if epochs else None
    except ValueError:
        raise argparse.ArgumentTypeError(f"a setting is E_CKP:N_FT[:POLICY][@EPOCHS], not {text!r}") from None


def scratch_gains(verdict_path: str | None, method: str) -> dict[str, float]:
    """Each policy's from-scratch test gain over `none` (mean over seeds), from a verdict."""
    if verdict_path is None:
        return {}
    rows = [r for r in json.loads(Path(verdict_path).read_text())["rows"] if r["method"] == method]
    means = {r["policy"]: r["all"] for r in rows}
    return {p: means[p] - means["none"] for p in means if "none" in means}


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def judged(fitness: dict[str, list[float]], scratch: dict[str, float], policies: list[str], label: str) -> dict:
    """The seed-to-seed noise of one fitness and each policy's paired gain over `none`,
    beside its from-scratch gain (the keep ratio); printed as well."""
    noise = statistics.mean(mean_std(vs)[1] for vs in fitness.values())
    print(f"  {label + ': ' if label else ''}seed std {noise:.2f}")
    out: dict = {"seed_std": round(noise, 2), "policies": {}}
    for name in policies[1:]:
        paired = [a - b for a, b in zip(fitness[name], fitness["none"])]
        gain, spread = mean_std(paired)
        keep = gain / scratch[name] if scratch.get(name) else None
        out["policies"][name] = {"gain": round(gain, 2), "gain_std": round(spread, 2),
                                 "gain_over_noise": round(gain / noise, 2) if noise else None,
                                 "keep": None if keep is None else round(keep, 2)}
        print(f"  {name:<16} fitness gain {gain:+.2f} +- {spread:.2f} over none (paired, n={len(paired)})"
              + (f"; from scratch {scratch[name]:+.2f}, kept {keep:.0%}" if keep is not None else ""))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cifar10-lt-small", choices=sorted(PRESETS))
    parser.add_argument("--method", default="ce")
    parser.add_argument("--setting", dest="settings", action="append", type=parse_setting, required=True)
    parser.add_argument("--policy", dest="policies", action="append",
                        help="a reference policy measured against none [randaugment, trivialaugment]")
    parser.add_argument("--seeds", default="0,1,2", help="fine-tune seeds (the checkpoint's is 0)")
    parser.add_argument("--data-root", help="the CIFAR-10 archive [the preset's]")
    parser.add_argument("--verdict", help="a verdict.json whose from-scratch gains to set beside the fitness's")
    parser.add_argument("--cache", help="the checkpoint cache [autoda's]")
    parser.add_argument("--tail", type=int, default=1,
                        help="the fitness averages validation over the last TAIL fine-tune epochs; above 1 the "
                             "last epoch alone is judged from the same fine-tunes too [1]")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    preset = PRESETS[args.preset]
    options = preset.options("search")
    policies = ["none"] + (args.policies or ["randaugment", "trivialaugment"])
    seeds = [int(s) for s in args.seeds.split(",")]
    data = load_dataset(options["dataset"], args.data_root or options["data_root"], options["imb_ratio"], seed=0,
                        max_per_class=options.get("max_per_class"))
    scratch = scratch_gains(args.verdict, args.method)
    texts = {name: resolve_policy(name)[1] for name in policies}
    results = {"device": f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
               "torch": torch.__version__, "python": platform.python_version(), "preset": args.preset,
               "method": args.method, "net": options["net"], "epochs": options["epochs"], "seeds": seeds,
               "scratch_gain": scratch, "settings": []}
    for e_ckp, n_ft, ckp_policy, epochs in args.settings:
        recipe = Recipe.for_epochs(epochs or options["epochs"], batch_size=options["batch_size"], lr=options["lr"])
        label = f"{e_ckp}:{n_ft}" + (f":{ckp_policy}" if ckp_policy else "") + (f"@{epochs}" if epochs else "")
        ckp_text = None if ckp_policy is None else resolve_policy(ckp_policy)[1]
        setup = FitnessSetup(args.method, options["net"], recipe, 0, e_ckp, n_ft, checkpoint_policy=ckp_text,
                             tail=args.tail)
        evaluator = FitnessEvaluator(data, setup, args.cache, check=check_policy)
        start = time.perf_counter()
        evaluator.checkpoint()
        checkpoint_seconds = time.perf_counter() - start
        print(f"{label}: checkpoint ready ({checkpoint_seconds:.0f} s)", flush=True)
        fitness: dict[str, list[float]] = {}
        last: dict[str, list[float]] = {}  # the last epoch's alone, when the fitness averages several
        seconds: list[float] = []
        for seed in seeds:
            for name in policies:
                result = evaluator.evaluate(texts[name], seed=seed)
                if not result.ok:
                    raise SystemExit(f"{name} at {label} failed: {result.message}")
                fitness.setdefault(name, []).append(100 * result.fitness)
                last.setdefault(name, []).append(100 * result.validation.get("tail", [result.fitness])[-1])
                seconds.append(result.seconds)
                print(f"  {label} seed {seed} {name}: {100 * result.fitness:.2f} ({result.seconds:.0f} s)", flush=True)
        row = {"setting": label, "e_ckp": e_ckp, "n_ft": n_ft, "checkpoint_policy": ckp_policy, "epochs": recipe.epochs,
               "checkpoint_seconds": round(checkpoint_seconds, 1), "fine_tune_seconds": round(statistics.median(seconds), 1),
               "tail": args.tail, "fitness": {p: [round(v, 2) for v in vs] for p, vs in fitness.items()}}
        print(f"{label}: fine-tune {row['fine_tune_seconds']} s (median)")
        row.update(judged(fitness, scratch, policies, f"mean of the last {args.tail} epochs" if args.tail > 1 else ""))
        if args.tail > 1:
            row["last_epoch"] = {"fitness": {p: [round(v, 2) for v in vs] for p, vs in last.items()},
                                 **judged(last, scratch, policies, "the last epoch alone")}
        results["settings"].append(row)
        write_json(args.out, results)  # after each setting: a stopped run keeps what it measured
    print(f"torch {torch.__version__}; written to {args.out}")


if __name__ == "__main__":
    main()
