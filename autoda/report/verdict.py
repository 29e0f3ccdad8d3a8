"""A searched policy's verdict: retrained from scratch beside the hand-designed policies,
is it better on the test split, and by how much on each seed?

For each method, the searched policy is set against the best hand-designed policy of the
same method (by mean balanced test accuracy): the difference of the means, and the paired
difference seed by seed (the same seed gives both the same initialisation and batch
order, so the pairing removes most of the seed-to-seed noise). `verdict.json` keeps, for
every row, the balanced test accuracy of each seed in %, so anyone can recompute it.
"""
from __future__ import annotations

import csv
import io
import statistics

from .tables import COLUMNS, rows


def _percent(value: float) -> float:
    return round(100 * value, 4)


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def verdict(results: list[dict], searched: str) -> dict:
    """The verdict of the cells in ``results`` (experiment cell results) for the policy
    labelled ``searched``: its rows (per seed, in %) and, per method, the comparison with
    that method's best other policy."""
    by_seed: dict[tuple[str, str], dict[int, float]] = {}
    for r in results:
        by_seed.setdefault((r["method"], r["policy"]), {})[r["seed"]] = _percent(r["test"]["all"])
    table = rows(results)
    out_rows = []
    for row in table:
        seeds = sorted(by_seed[(row["method"], row["policy"])])
        out_rows.append({"method": row["method"], "policy": row["policy"], "seeds": seeds,
                         "test_all": [by_seed[(row["method"], row["policy"])][s] for s in seeds],
                         **{c: None if row[c] is None else _percent(row[c]) for c in COLUMNS},
                         **{f"{c}_std": None if row[f"{c}_std"] is None else _percent(row[f"{c}_std"])
                            for c in COLUMNS}})
    comparisons = [c for c in (_compare(out_rows, method, searched) for method in dict.fromkeys(r["method"] for r in out_rows))
                   if c is not None]
    return {"split": "test", "metric": "balanced accuracy (%)", "searched": searched, "rows": out_rows,
            "comparisons": comparisons}


def _compare(out_rows: list[dict], method: str, searched: str) -> dict | None:
    mine = next((r for r in out_rows if r["method"] == method and r["policy"] == searched), None)
    others = [r for r in out_rows if r["method"] == method and r["policy"] != searched]
    if mine is None or not others:
        return None
    best = max(others, key=lambda r: statistics.mean(r["test_all"]))
    theirs = dict(zip(best["seeds"], best["test_all"]))
    paired = [round(a - theirs[s], 4) for s, a in zip(mine["seeds"], mine["test_all"]) if s in theirs]
    mean_diff = statistics.mean(mine["test_all"]) - statistics.mean(best["test_all"])
    diff_mean, diff_std = _mean_std(paired) if paired else (None, None)
    return {"method": method, "searched": searched, "best_baseline": best["policy"],
            "difference_of_means": round(mean_diff, 4), "paired_seeds": [s for s in mine["seeds"] if s in theirs],
            "paired_difference": paired, "paired_mean": None if diff_mean is None else round(diff_mean, 4),
            "paired_std": None if diff_std is None else round(diff_std, 4),
            "positive_seeds": sum(d > 0 for d in paired)}


def sentence(comparison: dict) -> str:
    """One line a reader can act on: the margin over the best baseline and how many seeds agree."""
    c = comparison
    n = len(c["paired_difference"])
    if not n:
        return f"{c['method']}: no seed in common with {c['best_baseline']}"
    return (f"{c['method']}: {c['searched']} against the best hand-designed policy ({c['best_baseline']}): "
            f"{c['difference_of_means']:+.2f} points on the mean; paired by seed {c['paired_mean']:+.2f} ± "
            f"{c['paired_std']:.2f}, better on {c['positive_seeds']} of {n} seeds")


def markdown(result: dict) -> str:
    header = ["method", "policy", "seeds", *COLUMNS, "test_all per seed"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in result["rows"]:
        cells = ["-" if r[c] is None else f"{r[c]:.2f} ± {r[f'{c}_std']:.2f}" for c in COLUMNS]
        per_seed = ", ".join(f"{v:.2f}" for v in r["test_all"])
        lines.append("| " + " | ".join([r["method"], r["policy"], str(len(r["seeds"])), *cells, per_seed]) + " |")
    notes = "\n".join(f"- {sentence(c)}" for c in result["comparisons"])
    return ("Balanced accuracy (%) on the test split, mean ± std over seeds; many/medium/few by training "
            "images per class (> 100, 20-100, < 20).\n\n" + "\n".join(lines) + "\n\n" + notes + "\n")


def csv_text(result: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["method", "policy", "seed", "test_all"])
    for r in result["rows"]:
        for seed, value in zip(r["seeds"], r["test_all"]):
            writer.writerow([r["method"], r["policy"], seed, value])
    return buffer.getvalue()
