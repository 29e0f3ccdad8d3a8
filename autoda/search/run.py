"""A search run from its configuration: the run folder, the journal, the data, the fitness
evaluator, the proposer and the loop, wired once for a new run and again, from the
journal's stored configuration, for `--resume`."""
from __future__ import annotations

import contextlib
import errno
import math
import re
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from ..catalog import DATASETS, MAX_EPOCHS, MAX_LR, METHODS, MODELS, SEED_RANGE
from ..compiler import PolicyError, check_policy
from ..policies import PolicyNotFound, example_policies, resolve_policy
from .executors import EvaluationSpec, LocalExecutor, ProcessExecutor, default_threads
from .gp import GeneticProgramming
from .journal import Journal, JournalError
from .llm import LLMClient, LLMSettings, LLMSetupError
from .loop import Progress, Search, SearchConfig
from .prompting import TaskContext
from .proposers import LLMProposer, OfflineProposer
from .summary import summarise

JOURNAL = "journal.sqlite"


class RunError(ValueError):
    """A run that cannot start as asked (a missing run folder, a bad baseline, no model)."""


def baseline_text(name_or_path: str) -> tuple[str, str]:
    """A reference policy: an example's name, or a file (read as `autoda compile` reads it)."""
    try:
        label, text, _ = resolve_policy(name_or_path)
    except PolicyNotFound as error:
        raise RunError(f"--baseline {error}") from None
    except PolicyError as error:
        raise RunError(f"--baseline {name_or_path!r}: {error.render()}") from None
    return label, text


def open_run(run_dir: Path, config: dict | None) -> tuple[Journal, dict]:
    """A new run (config given) or a resumed one (config from its journal). The journal
    holds the run folder's lock until it is closed, so two searches never share a folder.
    RunError for a folder that is not what was asked for; JournalError for one that is
    busy, damaged or cannot be written."""
    path = run_dir / JOURNAL
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir} is a file, not a run folder")
    if config is None:
        if not path.is_file():
            raise RunError(f"--resume {run_dir}: no {JOURNAL} there" if not path.exists() else
                           f"--resume {run_dir}: {JOURNAL} there is not a file")
        journal = Journal(path, lock=True)
        try:
            return journal, stored_config(journal)
        except RunError:
            journal.close()
            raise
    if path.exists():
        raise RunError(f"{run_dir} already holds a search; resume it with --resume {run_dir}, or choose --out")
    journal = Journal(path, lock=True)
    if journal.meta("config") is not None:  # another search started here since the check above
        journal.close()
        raise RunError(f"{run_dir} already holds a search; resume it with --resume {run_dir}, or choose --out")
    journal.set_meta("config", config)
    return journal, config


def _whole(low: int, high: int | None = None) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v and (high is None or v <= high)


def _number(low: float, high: float = math.inf, above: bool = False) -> Callable[[object], bool]:
    return lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                      and (v > low if above else v >= low) and v <= high)


def _optional(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or check(v)


def _one_of(*names: str) -> Callable[[object], bool]:
    return lambda v: isinstance(v, str) and v in names


_text = _optional(lambda v: isinstance(v, str))
_DEVICE = re.compile(r"cpu|cuda(:\d{1,2})?|mps")
# What run_search and the command line read from a stored configuration: the bounds the
# command line puts on each, since anyone who could write the run folder chose the values
_CONFIG = {"proposer": _one_of("llm", "offline"), "dataset": _one_of(*DATASETS), "imb_ratio": _number(1),
           "method": _one_of(*METHODS), "net": _one_of(*MODELS), "seed": _whole(*SEED_RANGE),
           "epochs": _whole(1, MAX_EPOCHS), "e_ckp": _whole(0, MAX_EPOCHS), "n_ft": _whole(1, MAX_EPOCHS),
           "batch_size": _whole(1), "lr": _number(0, MAX_LR, above=True),
           "device": lambda v: isinstance(v, str) and _DEVICE.fullmatch(v) is not None,
           "search": lambda v: isinstance(v, dict), "data_root": _text, "cache_dir": _text, "fitness_cache": _text,
           "download": _optional(lambda v: isinstance(v, bool))}
_EXECUTOR = {"kind": _one_of("local", "ray"), "workers": _whole(1), "cpus_per_eval": _optional(_whole(1)),
             "gpus_per_eval": _optional(_number(0)), "ray_address": _text, "retries": _whole(0)}


def stored_config(journal: Journal) -> dict:
    """A resumed run's configuration, checked: a journal may be damaged or from another
    version, and a bad value must stop the resume with one line, not a traceback later."""
    config = journal.meta("config")
    where = f"--resume {journal.path.parent}"
    if not isinstance(config, dict):
        raise RunError(f"{where}: the journal holds no readable run configuration (not a run, or damaged)")
    if not isinstance(config.get("executor"), dict):
        config["executor"] = {}
    bad = [k for k, check in _CONFIG.items() if not check(config.get(k))]
    bad += [f"executor.{k}" for k, check in _EXECUTOR.items() if k in config["executor"]
            and not check(config["executor"][k])]
    if "e_ckp" not in bad and "epochs" not in bad and config["e_ckp"] >= config["epochs"]:
        bad.append("e_ckp (not below epochs)")
    if config.get("llm") is not None and not (isinstance(config["llm"], dict) and isinstance(config["llm"].get("model"), str)):
        bad.append("llm")
    if bad:
        raise RunError(f"{where}: the stored configuration is damaged or from another version "
                       f"(missing or bad: {', '.join(bad)})")
    try:
        config["search"] = asdict(SearchConfig.from_dict(config["search"]))
    except ValueError as error:
        raise RunError(f"{where}: the stored search settings are damaged ({error})") from None
    return config


def explain(error: BaseException, run_dir: Path) -> str:
    """One line for what stopped a run or a look at one: a damaged, busy or unwritable
    journal, a full disk, a file that could not be written. Every committed journal row
    stays: each was its own transaction."""
    text = str(error)
    full = (isinstance(error, sqlite3.OperationalError) and "full" in text) or \
        (isinstance(error, OSError) and error.errno == errno.ENOSPC)
    if full:
        where = f" writing {error.filename}" if isinstance(error, OSError) and error.filename else ""
        return (f"the disk is full{where}; every journal row written before is kept: free some space and "
                f"continue with --resume {run_dir}")
    if isinstance(error, JournalError):
        return text
    if isinstance(error, sqlite3.Error):
        return f"the journal {run_dir / JOURNAL} failed: {text}"
    if isinstance(error, OSError):
        return f"cannot write {error.filename or run_dir}: {error.strerror or text}"
    return text


def task_line(data) -> str:
    counts = data.train.counts().tolist()
    return (f"{data.name} with {data.num_classes} classes at imbalance ratio {data.imb_ratio:g}; training images "
            f"per class, head to tail: {', '.join(map(str, counts))}")


def run_search(run_dir: Path, config: dict, journal: Journal, llm: LLMSettings | None,
               on_progress: Callable[[Progress, str], None], on_epoch=None) -> tuple[str, dict]:
    """Run to the end or a budget; write best.dsl and summary.json; return (outcome, summary)."""
    from ..engine.train.data import load_dataset
    from ..engine.train.fitness import FitnessEvaluator, FitnessSetup
    from ..engine.train.trainer import Recipe

    started = time.monotonic()
    outcome = "interrupted"
    try:
        # load_dataset's arguments, for the workers too (download aside: this process fetches the data)
        data_args = {"name": config["dataset"], "data_root": config.get("data_root"),
                     "imb_ratio": config["imb_ratio"], "seed": config["seed"], "cache_dir": config.get("cache_dir")}
        _check_device(config["device"])
        data = load_dataset(**data_args, download=config.get("download", False))
        recipe = Recipe.for_epochs(config["epochs"], batch_size=config["batch_size"], lr=config["lr"])
        setup = FitnessSetup(config["method"], config["net"], recipe, config["seed"], config["e_ckp"], config["n_ft"],
                             device=config["device"])
        evaluator = FitnessEvaluator(data, setup, config.get("fitness_cache"), on_epoch=on_epoch)
        journal.set_meta("train_counts", data.train.counts().tolist())  # for reports
        journal.set_meta("class_names", list(data.train.class_names))
        try:
            search_config = SearchConfig.from_dict(config["search"])
        except ValueError as error:
            raise RunError(f"the search settings are not usable ({error})") from None
        if config["proposer"] == "llm":
            if llm is None:
                raise RunError("this search uses an LLM: give --model (or AUTODA_MODEL), and --base-url and "
                               "--api-key as the endpoint needs")
            task = TaskContext(task_line(data), config["net"], config["method"], config["e_ckp"], config["n_ft"],
                               search_config.policy_lang)
            try:
                proposer = LLMProposer(LLMClient(llm), task)
            except LLMSetupError as error:
                raise RunError(str(error)) from None
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
    except BaseException:
        # best.dsl and summary.json for what is journaled, if the disk takes them; the
        # error that stopped the run is the one to tell
        with contextlib.suppress(sqlite3.Error, OSError):
            summarise(journal, run_dir, time.monotonic() - started, outcome)
        raise
    return outcome, summarise(journal, run_dir, time.monotonic() - started, outcome)


def _check_device(device: str) -> None:
    """RunError when this machine lacks the device a (resumed) run trains on."""
    import torch

    kind, _, index = device.partition(":")
    if kind == "cuda" and int(index or 0) >= torch.cuda.device_count():
        raise RunError(f"this run trains on {device}, and this machine has {torch.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise RunError(f"this run trains on {device}, and this machine has no MPS device")


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
