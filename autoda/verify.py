"""`autoda verify RUN_DIR`: a search's best policy retrained from scratch on the full
schedule beside the hand-designed policies, with several seeds, on the run's data (the same
long-tailed subset and validation/test halves the search used; the search never read the
test half), and the verdict on the test split.

It is an experiment (autoda.experiment) built from the run's stored configuration, so it
resumes cell by cell; the verdict (autoda.report.verdict) is written as verdict.json,
verdict.md and verdict.csv beside the cells, with the experiment's tables and HTML report.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import AutodaError
from .experiment import Experiment
from .files import write_atomic, write_json
from .presets import HAND_DESIGNED
from .report import build_report
from .report.tables import csv_text, markdown, rows
from .report.verdict import csv_text as verdict_csv
from .report.verdict import markdown as verdict_markdown
from .report.verdict import verdict
from .search.config import RunConfig
from .search.journal import Journal, JournalError
from .search.summary import best_file, stored_language


class VerifyError(AutodaError, ValueError):
    """A run folder that cannot be verified (no journal, no best policy yet)."""


@dataclass(frozen=True)
class Verification:
    experiment: Experiment
    searched: str  # the label of the run's best in the experiment's rows
    out: Path


def plan(run_dir: Path, out: Path | None = None, seeds: tuple[int, ...] = (0, 1, 2),
         policies: tuple[str, ...] = HAND_DESIGNED, preset: bool = False, **overrides) -> Verification:
    """The experiment that verifies ``run_dir``'s best: its data, method, network and
    schedule (``overrides``: experiment fields given instead, e.g. by a preset; with
    ``preset``, they are a whole regime, so a head cap it does not set is not the run's)."""
    config = _stored_config(run_dir)
    best = run_dir / best_file(stored_language(config.to_dict()))
    if not best.is_file():
        raise VerifyError(f"{run_dir}: no {best.name} yet (the search has evaluated no policy)")
    d, t = config.data, config.training
    settings = {"dataset": d.dataset, "data_root": d.data_root, "imb_ratio": d.imb_ratio,
                "max_per_class": d.max_per_class, "net": t.net, "epochs": t.epochs, "batch_size": t.batch_size,
                "lr": t.lr, "device": t.device, "data_seed": t.seed,
                "select": "last"}  # the model the full schedule ends with: the test split chooses nothing
    settings.update({k: v for k, v in overrides.items() if v is not None})
    if preset and overrides.get("max_per_class") is None:  # the preset's data, uncapped (cifar10-lt)
        settings["max_per_class"] = None
    experiment = Experiment(methods=(t.method,), policies=tuple(policies) + (str(best.resolve()),), seeds=tuple(seeds),
                            **settings)
    experiment.validate()
    searched = experiment.policy_text(str(best.resolve()))[0]
    if searched in policies:  # the run's best is named like a baseline (a search seeded with it)
        raise VerifyError(f"the run's best is named {searched!r}, like a baseline: leave it out of --policies")
    return Verification(experiment, searched, out or run_dir / "verify")


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
    """verdict.json/.md/.csv, table.md/.csv and report.html in the verification's folder."""
    out = verification.out
    result = verdict(results, verification.searched)
    write_json(out / "verdict.json", result)
    write_atomic(out / "verdict.md", lambda tmp: tmp.write_text(verdict_markdown(result), encoding="utf-8"))
    write_atomic(out / "verdict.csv", lambda tmp: tmp.write_text(verdict_csv(result), encoding="utf-8"))
    table = rows(results)
    write_atomic(out / "table.md", lambda tmp: tmp.write_text(markdown(table), encoding="utf-8"))
    write_atomic(out / "table.csv", lambda tmp: tmp.write_text(csv_text(table), encoding="utf-8"))
    build_report(out)
    return result

