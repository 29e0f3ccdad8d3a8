"""`autoda verify RUN_DIR...`: a search's best policy retrained from scratch on the full
schedule beside the hand-designed policies, with several seeds, on the run's data (the same
long-tailed subset and validation/test halves the search used; the search never read the
test half), and the verdict on the test split.

Each run is an experiment (autoda.experiment) built from its stored configuration, so it
resumes cell by cell; runs of different methods (a CE search and a BS search of one regime)
share one folder and one verdict, in which each run's best is the row named "searched".
The verdict (autoda.report.verdict) is written as verdict.json, verdict.md and verdict.csv
beside the cells, with the tables and the HTML report.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

from .errors import AutodaError
from .experiment import Experiment
from .files import write_atomic, write_json
from .presets import HAND_DESIGNED
from .report import build_report
from .report.verdict import csv_text as verdict_csv
from .report.verdict import markdown as verdict_markdown
from .report.verdict import verdict
from .search.config import RunConfig
from .search.journal import Journal, JournalError
from .search.summary import best_file, stored_language


class VerifyError(AutodaError, ValueError):
    """A run folder that cannot be verified (no journal, no best policy yet)."""


SEARCHED = "searched"  # a run's best, as the verdict's rows name it


@dataclass(frozen=True)
class Verification:
    experiments: tuple[Experiment, ...]  # one a run: its method, the hand-designed policies and its best
    runs: tuple[Path, ...]
    out: Path

    def searched_policies(self) -> dict[str, dict]:
        """method -> the run its best came from and the policy's text."""
        return {e.methods[0]: {"run": str(run_dir), "text": e.policy_text(e.policies[-1])[1]}
                for e, run_dir in zip(self.experiments, self.runs)}


def plan(run_dirs: Sequence[Path], out: Path | None = None, seeds: tuple[int, ...] = (0, 1, 2),
         policies: tuple[str, ...] = HAND_DESIGNED, preset: bool = False, **overrides) -> Verification:
    """The experiments that verify each run's best: the run's data, method, network and
    schedule (``overrides``: experiment fields given instead, e.g. by a preset; with
    ``preset``, they are a whole regime, so a head cap it does not set is not the run's).
    Runs verified together (one verdict, each run's method in its own rows) must share the
    data and schedule and differ in method. Each best is copied into ``out`` (the policy the
    verdict is about, though the run may go on and change its best); nothing is written
    before every check has passed."""
    if not run_dirs:
        raise VerifyError("name at least one search run")
    if len(run_dirs) > 1 and out is None:
        raise VerifyError("several runs make one verdict: say where with --out")
    if SEARCHED in policies:
        raise VerifyError(f"{SEARCHED!r} names the runs' best in the verdict: leave it out of --policies")
    out = out or run_dirs[0] / "verify"
    found = [_baselines(run_dir, seeds, policies, preset, overrides) for run_dir in run_dirs]
    methods: dict[str, Path] = {}
    for run_dir, _, experiment in found:
        method = experiment.methods[0]
        if method in methods:
            raise VerifyError(f"{methods[method]} and {run_dir} both searched for {method}: verify them apart")
        methods[method] = run_dir
        if experiment.fingerprint() != found[0][2].fingerprint():
            differ = [k for k, v in asdict(experiment).items()
                      if k not in ("methods", "policies", "folder", "device") and v != getattr(found[0][2], k)]
            raise VerifyError(f"{found[0][0]} and {run_dir} differ in {', '.join(differ)}: one verdict needs "
                              "the same data and schedule (give them, or a --preset)")
    experiments = []
    for run_dir, best, experiment in found:
        snapshot = out / "policies" / experiment.methods[0] / f"{SEARCHED}{best.suffix}"
        text = best.read_text(encoding="utf-8")
        write_atomic(snapshot, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        experiments.append(replace(experiment, policies=experiment.policies + (str(snapshot.resolve()),)))
    return Verification(tuple(experiments), tuple(run_dirs), out)


def _baselines(run_dir: Path, seeds: tuple[int, ...], policies: tuple[str, ...], preset: bool,
               overrides: dict) -> tuple[Path, Path, Experiment]:
    """A run's best policy file and the experiment of its hand-designed policies, checked."""
    config = _stored_config(run_dir)
    best = run_dir / best_file(stored_language(config.to_dict()))
    if not best.is_file():
        raise VerifyError(f"{run_dir}: no {best.name} yet (the search has evaluated no policy)")
    d, t = config.data, config.training
    settings = {"dataset": d.dataset, "data_root": d.data_root, "imb_ratio": d.imb_ratio,
                "max_per_class": d.max_per_class, "net": t.net, "epochs": t.epochs, "batch_size": t.batch_size,
                "lr": t.lr, "device": t.device, "data_seed": t.seed, "base": t.base,
                "select": "last", **d.split_files()}  # the last model: the test split chooses nothing
    settings.update({k: v for k, v in overrides.items() if v is not None})
    if preset and overrides.get("max_per_class") is None:  # the preset's data, uncapped (cifar10-lt)
        settings["max_per_class"] = None
    experiment = Experiment(methods=(t.method,), policies=tuple(policies), seeds=tuple(seeds), **settings)
    experiment.validate()
    return run_dir, best, experiment


def _stored_config(run_dir: Path) -> RunConfig:
    path = run_dir / "journal.sqlite"
    if not path.is_file():
        raise VerifyError(f"{run_dir}: not a search run (no journal.sqlite)")
    try:
        journal = Journal(path, read_only=True)
    except JournalError as error:
        raise VerifyError(str(error)) from None
    try:
        config = RunConfig.read(journal.meta("config"))
    finally:
        journal.close()
    if config is None:
        raise VerifyError(f"{run_dir}: the journal holds no readable run configuration")
    return config


def write_verdict(verification: Verification, results: list[dict]) -> dict:
    """verdict.json/.md/.csv, experiment.json (every run's grid in one) and report.html in
    the verification's folder."""
    out, searched = verification.out, verification.searched_policies()
    first = verification.experiments[0]
    write_json(out / "experiment.json", {
        **{k: v for k, v in asdict(first).items() if k != "folder"},
        "methods": [e.methods[0] for e in verification.experiments], "policies": list(first.policies[:-1]),
        "policy_texts": dict(first.policy_text(p) for p in first.policies[:-1]),
        "searched_texts": {method: found["text"] for method, found in searched.items()}})
    result = {**verdict(results, SEARCHED), "searched_policies": searched}
    write_json(out / "verdict.json", result)
    write_atomic(out / "verdict.md", lambda tmp: tmp.write_text(verdict_markdown(result), encoding="utf-8"))
    write_atomic(out / "verdict.csv", lambda tmp: tmp.write_text(verdict_csv(result), encoding="utf-8"))
    build_report(out)
    return result
