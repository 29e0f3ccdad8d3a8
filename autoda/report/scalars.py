"""TensorBoard scalars (`--tensorboard DIR` on `autoda train` and `autoda search`; the
`tensorboard` extra: pip install 'autoda[tensorboard]').

- training, per epoch: `train/loss`, `train/accuracy` (on the augmented training samples),
  `train/lr`, `train/images_per_second`; once the validation split is evaluated (at the
  end): `val/accuracy` (balanced: the mean over classes) and `val/many`, `val/medium`,
  `val/few`, at the last epoch;
- a search, per finished evaluation (the step is the journal's count of evaluations, so a
  resumed run goes on where it stood): `search/fitness` (a failed evaluation has none),
  `search/best` (the best so far, references aside) and `search/failures`.

torch.utils.tensorboard writes the event files and needs the `tensorboard` package; it is
imported only when asked for, so autoda runs without it.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from ..errors import AutodaError

INSTALL = "pip install 'autoda[tensorboard]'"


class TensorBoardMissing(AutodaError, ImportError):
    """--tensorboard was given, and the tensorboard package is not installed."""


def _writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch's module imports tensorboard at once, and says so
        raise TensorBoardMissing(f"--tensorboard needs the tensorboard package: {INSTALL}") from None
    return SummaryWriter


def require_tensorboard() -> None:
    """TensorBoardMissing now, before any work, unless the event files can be written."""
    _writer_class()


@contextlib.contextmanager
def _writer(log_dir: str) -> Iterator[object]:
    writer = _writer_class()(log_dir=log_dir)
    try:
        yield writer
    finally:
        writer.close()  # flushes: an interrupted run keeps what it logged


@contextlib.contextmanager
def training_scalars(log_dir: str | None) -> Iterator[tuple[Callable, Callable]]:
    """(on_epoch, on_validation): on_epoch takes a trainer's EpochLog, on_validation a split's
    accuracies (autoda.engine.train.metrics.summary) and the epochs trained. Without a
    ``log_dir`` both do nothing."""
    if log_dir is None:
        yield (lambda log: None), (lambda accuracies, epochs: None)
        return
    with _writer(log_dir) as writer:
        def on_epoch(log) -> None:
            step = log.epoch + 1  # epochs trained
            for name, value in (("loss", log.loss), ("accuracy", log.train_acc), ("lr", log.lr),
                                ("images_per_second", log.images_per_second)):
                writer.add_scalar(f"train/{name}", value, step)

        def on_validation(accuracies: dict, epochs: int) -> None:
            for name, key in (("accuracy", "all"), ("many", "many"), ("medium", "medium"), ("few", "few")):
                if accuracies.get(key) is not None:  # a group the split has no class of
                    writer.add_scalar(f"val/{name}", accuracies[key], epochs)
        yield on_epoch, on_validation


@contextlib.contextmanager
def search_scalars(log_dir: str | None, on_progress: Callable) -> Iterator[Callable]:
    """A search's progress callback that does what ``on_progress`` does and, with a
    ``log_dir``, writes each finished evaluation's scalars (Progress.evaluation says which
    event reports one)."""
    if log_dir is None:
        yield on_progress
        return
    with _writer(log_dir) as writer:
        def record(progress, event: str) -> None:
            on_progress(progress, event)
            evaluation = getattr(progress, "evaluation", None)
            if evaluation is None:
                return
            step = progress.evaluations
            if evaluation.ok:
                writer.add_scalar("search/fitness", evaluation.fitness, step)
            if progress.best is not None:
                writer.add_scalar("search/best", progress.best, step)
            writer.add_scalar("search/failures", progress.failures, step)
        yield record
