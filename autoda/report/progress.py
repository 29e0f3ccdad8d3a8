"""Progress on stderr, with rich: a bar (or a line per epoch when stderr is not a terminal)
for training, and one for a search's evaluations; both with the time left, and training
with what the whole run will take, said once a few batches in."""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..words import counted, duration

SETTLE = 2  # batches before the pace is timed: the first ones allocate and pick kernels
PACED = 5  # batches the pace is timed over
WORTH_SAYING = 60  # seconds: a shorter run's estimate is not printed
LONG_ON_CPU = 2 * 3600  # seconds: a training this long on a CPU is pointed at the preset sized for one


class _Pace:
    """What a training of ``total`` epochs will take, from the pace of its first batches
    (after SETTLE, over PACED of them), or of its first epoch when an epoch has fewer."""

    def __init__(self, total: int, device: str, say: Callable[[str], None]) -> None:
        self.total, self.device, self.say = total, device, say
        self.timed_from: float | None = None
        self.said = False

    def batch(self, done: int, of: int) -> None:
        if self.said or done < SETTLE:
            return
        if done == SETTLE:
            self.timed_from = time.perf_counter()
        elif done == SETTLE + PACED and self.timed_from is not None:
            self._estimate((time.perf_counter() - self.timed_from) / PACED * of * self.total,
                           f"the pace of {counted(PACED, 'batch', 'batches')}")

    def epoch(self, seconds: float) -> None:
        if not self.said:
            self._estimate(seconds * self.total, "the first epoch")

    def _estimate(self, seconds: float, source: str) -> None:
        self.said = True
        if seconds < WORTH_SAYING:
            return
        line = f"estimated: about {duration(seconds)} for {counted(self.total, 'epoch')} on {self.device} ({source})"
        if self.device == "cpu" and seconds > LONG_ON_CPU:
            line += "; --preset cifar10-lt-small is sized for a CPU: a full schedule in 6 to 10 minutes"
        self.say(line)


@contextlib.contextmanager
def progress_bar(total: int, what: str, device: str = "cpu") -> Iterator[tuple[Callable, Callable]]:
    """Training progress on stderr: a bar over every batch with its rate and the time left
    when stderr is a terminal, else a line per epoch (so a log file shows progress too).
    Yields (on_epoch, on_batch) for Trainer.train."""
    console = Console(stderr=True)
    pace = _Pace(total, device, lambda line: console.print(line, highlight=False, soft_wrap=True))
    epoch_seconds: list[float] = []

    def status(log) -> str:
        return (f"loss {log.loss:.4f}, train acc {log.train_acc:.4f}, lr {log.lr:g}, "
                f"{log.images_per_second:,.0f} img/s")

    if not console.is_terminal:
        def line(log) -> None:
            epoch_seconds.append(log.seconds)
            pace.epoch(log.seconds)
            left = (total - log.epoch - 1) * sum(epoch_seconds) / len(epoch_seconds)
            console.print(f"{what} epoch {log.epoch + 1}/{total}: {status(log)}, {log.seconds:.1f} s"
                          f"{f', {duration(left)} left' if left > 0 else ''}", highlight=False, soft_wrap=True)
        yield line, pace.batch
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[epoch]}"),
                  TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("left"),
                  TimeRemainingColumn(), console=console, transient=False) as bar:
        task = bar.add_task(what, total=None, epoch=f"epoch 1/{total}", status="")
        epochs_done = 0

        def advance(log) -> None:
            nonlocal epochs_done
            epochs_done += 1
            pace.epoch(log.seconds)
            bar.update(task, epoch=f"epoch {min(log.epoch + 2, total)}/{total}", status=status(log))

        def batch(done: int, of: int) -> None:
            pace.batch(done, of)
            if bar.tasks[0].total is None:
                bar.update(task, total=total * of)
            bar.update(task, completed=epochs_done * of + done)
        yield advance, batch


class _SearchClock:
    """A search's time left: by --max-time, and at the pace of its evaluations so far."""

    def __init__(self, planned: int, max_time: float | None) -> None:
        self.planned, self.max_time = planned, max_time
        self.started: float | None = None
        self.first = 0  # evaluations journaled when this process started: a resumed run's

    def left(self, evaluations: int) -> str:
        now = time.monotonic()
        if self.started is None:
            self.started, self.first = now, evaluations
        parts, eta = [], None
        done = evaluations - self.first
        if done > 0 and evaluations < self.planned:
            eta = (now - self.started) / done * (self.planned - evaluations)
        if self.max_time is not None:
            time_left = max(self.max_time - (now - self.started), 0.0)
            parts.append(f"time left {duration(time_left)}")
            eta = None if eta is None else min(eta, time_left)
        if eta is not None:
            parts.append(f"eta {duration(eta)}")
        return ", ".join(parts)


@contextlib.contextmanager
def search_progress(config) -> Iterator[tuple[Callable, Callable, Callable]]:
    """Progress of a search (an autoda.search.config.RunConfig) on stderr: evaluations
    against the plan, generation, best so far, failures, the time left; a line per epoch
    while the shared checkpoint is trained. Yields (on_progress, on_epoch, on_note): on_note
    prints a line that stays (the estimated cost)."""
    console = Console(stderr=True)
    planned = config.search.planned() + len(config.search.baselines)
    clock = _SearchClock(planned, config.search.max_time)

    def epoch_line(phase: str, log) -> None:
        if phase == "checkpoint":
            console.print(f"checkpoint epoch {log.epoch + 1}/{config.training.e_ckp}: loss {log.loss:.3f}, "
                          f"{log.images_per_second:,.0f} img/s", highlight=False)

    def note(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    def status(progress) -> str:
        best = "-" if progress.best is None else f"{100 * progress.best:.2f}%"
        left = clock.left(progress.evaluations)
        return f"generation {progress.generation}  best {best}  failures {progress.failures}" + (
            f"  {left}" if left else "")

    if not console.is_terminal:
        def line(progress, event: str) -> None:
            console.print(f"[{progress.evaluations}/{planned}] {status(progress)}: {event}", highlight=False,
                          soft_wrap=True)
        yield line, epoch_line, note
        return
    with Progress(TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("search", total=planned, status="")

        def update(progress, event: str) -> None:
            bar.update(task, completed=progress.evaluations, status=f"{status(progress)}  {event}")
        yield update, epoch_line, note
