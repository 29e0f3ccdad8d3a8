"""SandboxClient: the parent's side of the worker. It starts `autoda.sandbox.worker` in a
new session (so a kill reaches everything the worker is), sends one JSON line per call and
waits for the answer with a wall-clock deadline. A call that runs past it, a worker that
dies (SIGXCPU at its CPU limit, a crash) and an answer that reports a failure all become
a SandboxError with a kind; after any of them the worker is replaced, so no call sees what
an earlier one left behind.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import asdict, dataclass

KINDS = ("syntax", "guard", "timeout", "memory", "bad_result", "exception", "crash")
MAX_ANSWER_BYTES = 64 << 20


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: float = 10.0  # CPU time per call
    wall_seconds: float = 30.0  # per call, and for the worker to start
    memory_mb: int = 1024  # address space the worker may add to what it has after its imports


class SandboxError(RuntimeError):
    """A sandboxed call failed; ``kind`` is one of KINDS."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


def _worker_environment() -> dict[str, str]:
    keep = ("PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    # one BLAS thread: the worker's arrays are small, and threads would count against its limits
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    return env


class SandboxClient:
    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._process: subprocess.Popen | None = None
        self._finalizer = None

    # --- the worker ----------------------------------------------------------------------

    def _start(self) -> None:
        command = [sys.executable, "-m", "autoda.sandbox.worker", json.dumps(asdict(self.limits))]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, start_new_session=True,
                                         env=_worker_environment(), close_fds=True)
        self._finalizer = weakref.finalize(self, _kill, self._process)
        ready = self._read(time.monotonic() + max(self.limits.wall_seconds, 30.0))
        if not ready.get("ready"):
            self.close()
            raise SandboxError("crash", "the sandbox worker did not start")

    def close(self) -> None:
        """Stop the worker (the next call starts a new one)."""
        if self._finalizer is not None:
            self._finalizer()
        self._process, self._finalizer = None, None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # --- one call ------------------------------------------------------------------------

    def _died(self) -> SandboxError:
        process = self._process
        code = process.wait()
        self.close()
        if code == -signal.SIGXCPU:
            return SandboxError("timeout", f"the function ran past its CPU limit of {self.limits.cpu_seconds:g} s")
        if code == -signal.SIGXFSZ:
            return SandboxError("guard", "the function tried to write a file")
        if code in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGBUS):
            return SandboxError("crash", f"the sandbox worker was killed by signal {-code} "
                                         "(out of memory or out of stack)")
        return SandboxError("crash", f"the sandbox worker exited with status {code}")

    def _read(self, deadline: float) -> dict:
        """One answer line from the worker, before the deadline."""
        stream = self._process.stdout
        buffer = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while not buffer.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.close()
                    raise SandboxError("timeout", f"the function ran past its wall-clock limit of "
                                                  f"{self.limits.wall_seconds:g} s and was killed")
                chunk = os.read(stream.fileno(), 1 << 16)
                if not chunk:
                    raise self._died()
                buffer += chunk
                if len(buffer) > MAX_ANSWER_BYTES:
                    self.close()
                    raise SandboxError("crash", "the sandbox worker's answer is too large")
        return json.loads(buffer)

    def call(self, request: dict) -> dict:
        """Send one request; return the worker's answer, or raise SandboxError."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        try:
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._died() from None
        answer = self._read(time.monotonic() + self.limits.wall_seconds)
        if not answer.get("ok"):
            self.close()  # a fresh worker for the next call
            raise SandboxError(answer.get("kind", "crash"), answer.get("message", "no message"))
        return answer
