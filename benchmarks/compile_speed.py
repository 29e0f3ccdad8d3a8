"""Compile speed: policies per second through parse, check (names, types, ranges, cost) and
lowering, for the example policies and for random well-typed policies.

Baselines measured in the same run: Lark parsing alone (what any Lark-based front end pays)
and CPython's own compile() of a paper-style Python strategy function, the representation
the LLM-AutoDA reference code hands to exec() with no checks at all.

    python benchmarks/compile_speed.py [--repeats 7] [--random 200] [--out benchmarks/results/compile_speed.json]

Prints a table and writes the figures (median of the repeats) as JSON.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the random-policy strategy lives with the tests

from hypothesis import HealthCheck, given, settings  # noqa: E402

import autoda  # noqa: E402
from autoda.files import write_json  # noqa: E402
from autoda.compiler import format_policy  # noqa: E402
from autoda.compiler.parser import parse  # noqa: E402
from autoda.compiler.source import read_source  # noqa: E402

# A strategy function in the paper's representation (per-class x per-op arrays), of about
# the size of the example policies; written for this benchmark.
PAPER_STYLE = '''
import numpy as np

def get_aug_type(aug_weight, accs, history_accs, last_chosen, last_ext, epoch):
    change = np.where(accs > history_accs, 1, np.where(accs < history_accs, -1, 0))
    aug_weight = np.clip(aug_weight + last_chosen * change[:, None], 1, 1000)
    probs = aug_weight / aug_weight.sum(axis=1, keepdims=True)
    chosen = np.zeros_like(aug_weight)
    for c in range(aug_weight.shape[0]):
        chosen[c, np.random.choice(aug_weight.shape[1], p=probs[c])] = 1
    ext = np.random.rand(aug_weight.shape[0])
    return chosen, ext
'''


def random_policies(n: int) -> list[str]:
    texts: list[str] = []
    from strategies import policies

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(policies())
    def collect(policy):
        texts.append(format_policy(policy))

    collect()
    return texts


def rate(work, items: list, repeats: int) -> tuple[float, list[float]]:
    """Median items per second over ``repeats`` timed passes (after one warm-up pass)."""
    for item in items:
        work(item)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            work(item)
        rates.append(len(items) / (time.perf_counter() - start))
    return statistics.median(rates), rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--random", type=int, default=200, help="number of random policies")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "compile_speed.json")
    args = parser.parse_args()

    examples = [p.read_text() for p in sorted((ROOT / "examples" / "policies").glob("*.dsl"))]
    workloads = {"examples": examples, "random": random_policies(args.random)}
    stages = {
        "lark parse only (baseline)": lambda text: parse(read_source(text)),
        "parse + check": lambda text: autoda.check_policy(text),
        "parse + check + lower": lambda text: autoda.check_policy(text).lower(),
    }
    python_compile = lambda text: compile(text, "<strategy>", "exec")  # noqa: E731

    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    results = {
        "benchmark": "compile_speed",
        "device": f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores",
        "python": platform.python_version(),
        "torch": torch_version,
        "repeats": args.repeats,
        "unit": "policies per second (median of repeats, single thread)",
        "workloads": {},
    }
    py_rate, py_runs = rate(python_compile, [PAPER_STYLE] * 50, args.repeats)
    print(f"device {results['device']}; python {results['python']}; torch {torch_version}; "
          f"median of {args.repeats} runs")
    print(f"baseline: CPython compile() of a paper-style strategy function: {py_rate:,.0f}/s")
    for name, texts in workloads.items():
        mean_len = statistics.mean(len(t) for t in texts)
        print(f"\n{name}: {len(texts)} policies, {mean_len:.0f} characters on average")
        entry = {"policies": len(texts), "mean_chars": round(mean_len, 1), "stages": {}}
        parse_rate = None
        for stage, work in stages.items():
            median, runs = rate(work, texts, args.repeats)
            parse_rate = parse_rate or median
            entry["stages"][stage] = {"median": round(median, 1), "runs": [round(r, 1) for r in runs],
                                      "vs_parse_only": round(median / parse_rate, 3),
                                      "vs_python_compile": round(median / py_rate, 3)}
            print(f"  {stage:<28} {median:>9,.0f}/s   x{median / parse_rate:.2f} of parse-only   "
                  f"x{median / py_rate:.2f} of python compile()")
        results["workloads"][name] = entry
    results["python_compile_baseline"] = {"median": round(py_rate, 1), "runs": [round(r, 1) for r in py_runs]}
    write_json(args.out, results)
    print(f"\nwritten {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
