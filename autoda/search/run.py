"""A search run from its configuration: the run folder, the journal, the data, the fitness
evaluator, the proposer and the loop, wired once for a new run and again, from the
journal's stored configuration, for `--resume`."""
from __future__ import annotations

import contextlib
import errno
import sqlite3
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Iterator

from ..compiler import PolicyError, check_policy
from ..errors import AutodaError
from ..policies import PolicyNotFound, resolve_policy, seed_policies
from .executors import BatchedLocalExecutor, EvaluationSpec, LocalExecutor, ProcessExecutor, default_threads
from .gp import GeneticProgramming
from .journal import LOCK, Journal, JournalError
from .config import ConfigError, ExecutorConfig, RunConfig, SearchConfig
from .estimate import search_estimate
from .llm import LLMClient, LLMError, LLMSettings, LLMSetupError
from .loop import Progress, Search
from .prompting import TaskContext
from .proposers import LLMProposer, OfflineProposer
from .summary import summarise

JOURNAL = "journal.sqlite"
# every file a search writes in its run folder: the journal and SQLite's files beside it,
# the folder's lock, the summary and the best policy
RUN_FILES = (JOURNAL, f"{JOURNAL}-wal", f"{JOURNAL}-shm", f"{JOURNAL}-journal", LOCK, "summary.json", "best.dsl",
             "best.py")


class RunError(AutodaError, ValueError):
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


def open_run(run_dir: Path, config: RunConfig | None) -> tuple[Journal, RunConfig]:
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
    journal.set_meta("config", config.to_dict())
    return journal, config


class Footprint:
    """What a new search adds to the file system: its run folder (and the folders above it
    that were not there), the journal, the lock, summary.json. A search that stops with an
    error before it journals anything (the LLM endpoint cannot be reached, the data cannot
    be read, the checkpoint's training diverges) takes them back, so that `autoda runs list`
    never shows a run that never ran. Nothing that was there before is touched: not a folder, not a
    file, not a resumed run's (a resumed run's footprint is empty)."""

    def __init__(self, run_dir: Path, new: bool = True) -> None:
        self.run_dir, self.new = run_dir, new
        self.made_folders: list[Path] = []  # deepest first: what mkdir(parents=True) will make
        for folder in (run_dir, *run_dir.parents) if new else ():
            try:
                there = folder.exists() or folder.is_symlink()
            except OSError:  # cannot tell (a folder above that may not be read): never removed
                there = True
            if there:
                break
            self.made_folders.append(folder)
        self.found: set[str] = set()  # names in the run folder before the search
        with contextlib.suppress(OSError):
            if new and run_dir.is_dir():
                self.found = {p.name for p in run_dir.iterdir()}

    def remove_made_folders(self) -> None:
        """The folders this search made, where they are empty (anything in one stays, and so do they)."""
        for folder in self.made_folders:
            try:
                folder.rmdir()
            except OSError:
                return

    @contextlib.contextmanager
    def folders_taken_back_on_error(self) -> Iterator[None]:
        """Around opening the journal: the folders made for it, if it could not be opened (a
        lock file that cannot be made, say); what another search put there meanwhile stays."""
        try:
            yield
        except BaseException:
            self.remove_made_folders()
            raise

    @contextlib.contextmanager
    def taken_back_unless_journaled(self, journal: Journal) -> Iterator[None]:
        """Around a new search: an error that ends it before it journaled anything takes back
        its files, while it still holds the folder's lock (no other search can have opened
        the folder meanwhile), then its folders. An interrupt keeps them: the journal holds
        the run's configuration, and --resume starts it where it stood."""
        try:
            yield
        except KeyboardInterrupt:
            raise
        except BaseException:
            if self.new and not _journaled(journal):
                self._take_back(journal)
            raise

    def _take_back(self, journal: Journal) -> None:
        lock, journal.lock = journal.lock, None
        journal.close()  # the connection; the lock stays held until the files are gone
        try:
            for name in RUN_FILES:
                if name not in self.found:
                    with contextlib.suppress(OSError):
                        (self.run_dir / name).unlink(missing_ok=True)
        finally:
            if lock is not None:
                lock.release()
        self.remove_made_folders()


def _journaled(journal: Journal) -> bool:
    """Whether a run journaled anything (true when that cannot be read: keep, do not guess)."""
    try:
        return journal.db is None or journal.has_candidates()
    except sqlite3.Error:
        return True


def stored_config(journal: Journal) -> RunConfig:
    """A resumed run's configuration, checked: a journal may be damaged or from another
    version, and a bad value must stop the resume with one line, not a traceback later."""
    try:
        return RunConfig.from_dict(journal.meta("config"))
    except ConfigError as error:
        raise RunError(f"--resume {journal.path.parent}: {error}") from None


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


def run_search(run_dir: Path, config: RunConfig, journal: Journal, llm: LLMSettings | None,
               on_progress: Callable[[Progress, str], None], on_epoch=None,
               on_note: Callable[[str], None] | None = None) -> tuple[str, dict]:
    """Run to the end or a budget; write best.dsl and summary.json; return (outcome, summary).
    ``llm``: the settings the LLM proposer calls with (the key among them), for an LLM run.
    ``on_note`` is told, once, what the search will cost on a CPU (autoda.search.estimate)."""
    from ..engine.train.data import load_dataset

    started = time.monotonic()
    outcome = "interrupted"
    try:
        _check_device(config.training.device)
        data = load_dataset(**config.data_args(), download=config.data.download)
        evaluator = _evaluator(config, data, on_epoch)
        journal.set_meta("train_counts", data.train.counts().tolist())  # for reports
        journal.set_meta("class_names", list(data.train.class_names))
        proposer = _proposer(config, data, llm)
        note = _settle_constraint(proposer, journal)  # an endpoint that cannot be used stops the run first
        if on_note is not None:
            cost = search_estimate(config, len(data.train.labels), data.num_classes, data.train.images.shape[-1],
                                   evaluator.checkpoint_path().is_file())
            if cost:
                on_note(cost)
        executor = make_executor(config.executor, config.data_args(), data, evaluator)
        try:
            search = Search(journal, executor, proposer, config.search, on_progress, n_ft=config.training.n_ft,
                            seed=config.training.seed, schedule=config.training.epochs)
            if note and on_progress:
                on_progress(search.progress, note)
            outcome = search.run()
        finally:
            executor.close()
    except BaseException:
        # best.dsl and summary.json for what is journaled, if the disk takes them; the
        # error that stopped the run is the one to tell. With nothing journaled there is
        # nothing to sum up (and a new run's folder is then taken back: Footprint).
        with contextlib.suppress(sqlite3.Error, OSError):
            if journal.has_candidates():
                summarise(journal, run_dir, time.monotonic() - started, outcome)
        raise
    return outcome, summarise(journal, run_dir, time.monotonic() - started, outcome)


def _evaluator(config: RunConfig, data, on_epoch):
    from ..engine.train.fitness import FitnessEvaluator, FitnessSetup
    from ..engine.train.trainer import Recipe

    t = config.training
    recipe = Recipe.for_epochs(t.epochs, batch_size=t.batch_size, lr=t.lr)
    setup = FitnessSetup(t.method, t.net, recipe, t.seed, t.e_ckp, t.n_ft, base=t.base, device=t.device)
    return FitnessEvaluator(data, setup, t.fitness_cache, on_epoch=on_epoch)


def _proposer(config: RunConfig, data, llm: LLMSettings | None):
    """The run's proposer: the LLM (with the task described to it) or genetic programming."""
    t, search = config.training, config.search
    if config.proposer == "llm":
        if llm is None:
            raise RunError("this search uses an LLM: give --llm-model (or AUTODA_MODEL), and --base-url and "
                           "--api-key as the endpoint needs")
        task = TaskContext(task_line(data), t.net, t.method, t.e_ckp, t.n_ft, search.policy_lang)
        try:
            # the grammar is the policy language's: Python answers are never constrained
            return LLMProposer(LLMClient(replace(llm, constrain="none") if search.policy_lang == "python" else llm), task)
        except LLMSetupError as error:
            raise RunError(str(error)) from None
    if search.policy_lang != "dsl":
        raise RunError("the offline proposer writes policy-language programs; "
                       "--policy-lang python needs an LLM (--proposer llm)")
    seeds = [check_policy(text) for text in seed_policies().values()]
    # with --diversity, offspring are simplified and held to about twice the largest example's size (bloat)
    bounded = {"simplify": True, "max_size": 120} if search.diversity else {}
    return OfflineProposer(GeneticProgramming(seeds, search.max_cost, **bounded))


def _settle_constraint(proposer, journal: Journal) -> str | None:
    """Before the first candidate: which grammar the LLM endpoint takes (--constrain; a
    probe or a few), journaled, and a line saying so. An endpoint that cannot be reached
    or refuses every request stops the run here, with its reason, not once per candidate."""
    if not isinstance(proposer, LLMProposer):
        return None
    try:
        note = proposer.client.settle()
    except (LLMError, LLMSetupError) as error:
        raise RunError(f"the LLM endpoint cannot be used: {error}") from None
    journal.set_meta("constrained", proposer.client.form or "none")
    return note


def _check_device(device: str) -> None:
    """RunError when this machine lacks the device a (resumed) run trains on."""
    import torch

    kind, _, index = device.partition(":")
    if kind == "cuda" and int(index or 0) >= torch.cuda.device_count():
        raise RunError(f"this run trains on {device}, and this machine has {torch.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise RunError(f"this run trains on {device}, and this machine has no MPS device")


def make_executor(settings: ExecutorConfig, data_args: dict, data, evaluator):
    """Where evaluations run (in this process by default); ``data_args`` are the keyword
    arguments of load_dataset that gave ``data``."""
    workers = settings.workers
    if settings.kind == "local" and workers == 1:
        k = settings.eval_batch or evaluator.default_eval_batch()
        if k > 1:
            return BatchedLocalExecutor(evaluator.evaluate_many, k, settings.cpus_per_eval)
        return LocalExecutor(evaluator.evaluate, settings.cpus_per_eval)
    threads = settings.cpus_per_eval or (1 if settings.kind == "ray" else default_threads(workers))
    spec = EvaluationSpec(data_args, evaluator.setup, str(evaluator.cache_dir), threads)
    checkpoint = evaluator.checkpoint()  # trained (or loaded) once, here, before any worker needs it
    if settings.kind == "ray":
        from .ray_executor import RayExecutor, RayUnavailable

        try:
            return RayExecutor(spec, data, checkpoint, address=settings.ray_address, workers=workers,
                               gpus_per_eval=settings.gpus_per_eval, retries=settings.retries)
        except RayUnavailable as error:
            raise RunError(str(error)) from None
    return ProcessExecutor(spec, workers, settings.retries)


def new_config(**options) -> RunConfig:
    """A new run's configuration from the stored form's keys (``search`` as SearchConfig's
    keyword arguments), held to the same bounds as a stored one: for tests and scripts."""
    search = SearchConfig(**options.pop("search"))
    try:
        return RunConfig.from_dict({**options, "search": asdict(search)})
    except ConfigError as error:
        raise RunError(str(error)) from None
