"""Progress on stderr, with rich: a bar (or a line per epoch when stderr is not a terminal)
for training, and one for a search's evaluations."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextlib.contextmanager
def progress_bar(total: int, what: str) -> Iterator[Callable]:
    """A progress bar on stderr (a line per epoch when stderr is not a terminal, so a log
    file shows progress too); yields a callback for trainer epoch logs."""
    console = Console(stderr=True)
    if not console.is_terminal:
        def line(log) -> None:
            console.print(f"{what} epoch {log.epoch + 1}/{total}: loss {log.loss:.4f}, train acc "
                          f"{log.train_acc:.4f}, lr {log.lr:g}, {log.images_per_second:,.0f} img/s, "
                          f"{log.seconds:.1f} s", highlight=False, soft_wrap=True)
        yield line
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as progress:
        task = progress.add_task(what, total=total, status="")

        def advance(log) -> None:
            progress.update(task, advance=1, status=f"loss {log.loss:.3f}  train acc {log.train_acc:.3f}  "
                                                     f"{log.images_per_second:,.0f} img/s")
        yield advance


@contextlib.contextmanager
def search_progress(config) -> Iterator[tuple[Callable, Callable]]:
    """Progress of a search (an autoda.search.config.RunConfig) on stderr: evaluations
    against the plan, generation, best so far, failures; and a line per epoch while the
    shared checkpoint is trained."""
    console = Console(stderr=True)
    planned = config.search.planned() + len(config.search.baselines)

    def epoch_line(phase: str, log) -> None:
        if phase == "checkpoint":
            console.print(f"checkpoint epoch {log.epoch + 1}/{config.training.e_ckp}: loss {log.loss:.3f}, "
                          f"{log.images_per_second:,.0f} img/s", highlight=False)

    def status(progress) -> str:
        best = "-" if progress.best is None else f"{100 * progress.best:.2f}%"
        return f"generation {progress.generation}  best {best}  failures {progress.failures}"

    if not console.is_terminal:
        def line(progress, event: str) -> None:
            console.print(f"[{progress.evaluations}/{planned}] {status(progress)}: {event}", highlight=False,
                          soft_wrap=True)
        yield line, epoch_line
        return
    with Progress(TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("search", total=planned, status="")

        def update(progress, event: str) -> None:
            bar.update(task, completed=progress.evaluations, status=f"{status(progress)}  {event}")
        yield update, epoch_line
