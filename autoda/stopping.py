"""SIGTERM stops autoda as Ctrl-C does. A cluster scheduler (Slurm, Kubernetes, a batch
system's time limit) ends a job with SIGTERM, and Python's default for it is to die on the
spot: a search would leave no summary.json nor best.dsl, and evaluation workers running.
With ``sigterm_as_interrupt`` the main thread gets a KeyboardInterrupt instead, so every
`except KeyboardInterrupt` and every cleanup on the way out (the journal's summary, the
executors' workers, the sandbox's) runs as it does for Ctrl-C; ``exit_code`` then tells the
two apart, as a shell does: 130 for SIGINT, 143 for SIGTERM.

Python runs signal handlers in the main thread only, between bytecodes (a blocking wait on
a lock, a pipe or a child wakes up for them), so this is for the command line's process.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

_received: int | None = None  # the first stopping signal this process got, if any


def _interrupt(signum: int, frame: object) -> None:
    global _received
    _received = _received or signum
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside: SIGTERM raises KeyboardInterrupt in the main thread (elsewhere, a
    thread cannot take signals: nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_code() -> int:
    """The exit status for an interrupted command: 128 + the signal that stopped it (SIGINT,
    Ctrl-C, when none was recorded: a KeyboardInterrupt Python raised itself)."""
    return 128 + (_received or signal.SIGINT)
