"""A search run from its configuration: the run folder, the journal, the data, the fitness
evaluator, the proposer and the loop, wired once for a new run and again, from the
journal's stored configuration, for `--resume`."""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from ..compiler import check_policy
from ..resources import resource_names, resource_text
from .executors import EvaluationSpec, LocalExecutor, ProcessExecutor, default_threads
from .gp import GeneticProgramming
from .journal import Journal
from .llm import LLMClient, LLMSettings
from .loop import Progress, Search, SearchConfig
from .prompts import TaskContext
from .proposers import LLMProposer, OfflineProposer
from .report import summarise

JOURNAL = "journal.sqlite"


class RunError(ValueError):
    """A run that cannot start as asked (a missing run folder, a bad baseline, no model)."""


def example_policies() -> dict[str, str]:
    return {name.removesuffix(".dsl"): resource_text("autoda.examples", name)
            for name in resource_names("autoda.examples", ".dsl")}


def baseline_text(name_or_path: str) -> tuple[str, str]:
    """A reference policy: an example's name, or a file."""
    examples = example_policies()
    if name_or_path in examples:
        return name_or_path, examples[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise RunError(f"--baseline {name_or_path!r} is neither an example policy ({', '.join(examples)}) nor a file")
    return path.stem, path.read_text(encoding="utf-8")


def open_run(run_dir: Path, config: dict | None) -> tuple[Journal, dict]:
    """A new run (config given) or a resumed one (config from its journal)."""
    path = run_dir / JOURNAL
    if config is None:
        if not path.exists():
            raise RunError(f"--resume {run_dir}: no {JOURNAL} there")
        journal = Journal(path)
        return journal, journal.meta("config")
    if path.exists():
        raise RunError(f"{run_dir} already holds a search; resume it with --resume {run_dir}, or choose --out")
    journal = Journal(path)
    journal.set_meta("config", config)
    return journal, config


def task_line(data) -> str:
    counts = data.train.counts().tolist()
    return (f"{data.name} with {data.num_classes} classes at imbalance ratio {data.imb_ratio:g}; training images "
            f"per class, head to tail: {', '.join(map(str, counts))}")


def run_search(run_dir: Path, config: dict, journal: Journal, llm: LLMSettings | None,
               on_progress: Callable[[Progress, str], None], on_epoch=None) -> tuple[str, dict]:
    """Run to the end or a budget; write best.dsl and summary.json; return (outcome, summary)."""
    from ..engine.data import load_dataset
    from ..engine.fitness import FitnessEvaluator, FitnessSetup
    from ..engine.trainer import Recipe

    started = time.perf_counter()
    outcome = "interrupted"
    try:
        # load_dataset's arguments, for the workers too (download aside: this process fetches the data)
        data_args = {"name": config["dataset"], "data_root": config.get("data_root"),
                     "imb_ratio": config["imb_ratio"], "seed": config["seed"], "cache_dir": config.get("cache_dir")}
        data = load_dataset(**data_args, download=config.get("download", False))
        recipe = Recipe.for_epochs(config["epochs"], batch_size=config["batch_size"], lr=config["lr"])
        setup = FitnessSetup(config["method"], config["net"], recipe, config["seed"], config["e_ckp"], config["n_ft"],
                             device=config["device"])
        evaluator = FitnessEvaluator(data, setup, config.get("fitness_cache"), on_epoch=on_epoch)
        journal.set_meta("train_counts", data.train.counts().tolist())  # for reports
        journal.set_meta("class_names", list(data.train.class_names))
        search_config = SearchConfig(**{k: (tuple(tuple(b) for b in v) if k == "baselines" else v)
                                        for k, v in config["search"].items()})
        if config["proposer"] == "llm":
            if llm is None:
                raise RunError("this search uses an LLM: give --model (or AUTODA_MODEL), and --base-url and "
                               "--api-key as the endpoint needs")
            task = TaskContext(task_line(data), config["net"], config["method"], config["e_ckp"], config["n_ft"],
                               search_config.policy_lang)
            proposer = LLMProposer(LLMClient(llm), task)
        else:
            if search_config.policy_lang != "dsl":
                raise RunError("the offline proposer writes policy-language programs; "
                               "--policy-lang python needs an LLM (--proposer llm)")
            seeds = [check_policy(text) for text in example_policies().values()]
            proposer = OfflineProposer(GeneticProgramming(seeds, search_config.max_cost))
        executor = make_executor(config, data_args, data, evaluator)
        try:
            outcome = Search(journal, executor, proposer, search_config, on_progress).run()
        finally:
            executor.close()
    finally:
        summary = summarise(journal, run_dir, time.perf_counter() - started, outcome)
    return outcome, summary


def make_executor(config: dict, data_args: dict, data, evaluator):
    """Where evaluations run, from the run's `executor` settings (in this process by default);
    ``data_args`` are the keyword arguments of load_dataset that gave ``data``."""
    settings = {"kind": "local", "workers": 1, "cpus_per_eval": None, "gpus_per_eval": 0.0, "ray_address": None,
                "retries": 2, **(config.get("executor") or {})}
    workers = settings["workers"]
    if settings["kind"] == "local" and workers == 1:
        return LocalExecutor(evaluator.evaluate, settings["cpus_per_eval"])
    threads = settings["cpus_per_eval"] or (1 if settings["kind"] == "ray" else default_threads(workers))
    spec = EvaluationSpec(data_args, evaluator.setup, str(evaluator.cache_dir), threads)
    checkpoint = evaluator.checkpoint()  # trained (or loaded) once, here, before any worker needs it
    if settings["kind"] == "ray":
        from .ray_executor import RayExecutor, RayUnavailable

        try:
            return RayExecutor(spec, data, checkpoint, address=settings["ray_address"], workers=workers,
                               gpus_per_eval=settings["gpus_per_eval"], retries=settings["retries"])
        except RayUnavailable as error:
            raise RunError(str(error)) from None
    return ProcessExecutor(spec, workers, settings["retries"])


def new_config(**options) -> dict:
    """The stored configuration of a new run (never the API key)."""
    search = SearchConfig(**options.pop("search"))
    return {**options, "search": asdict(search)}
