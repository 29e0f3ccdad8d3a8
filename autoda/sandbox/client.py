"""SandboxClient: the parent's side of the worker. It starts `autoda.sandbox.worker` in a
new session (so a kill reaches everything the worker is) with an empty environment, reads
which isolation layers the worker could put up, refuses to go on without the environment
scrubbed and the filesystem and network cut (unless weak isolation is allowed explicitly),
sends one JSON line per call and waits for the answer with a wall-clock deadline. A call
that runs past it, a worker that dies (SIGXCPU at its CPU limit, a crash) and an answer
that reports a failure all become a SandboxError with a kind; after any of them the worker
is replaced, so no call sees what an earlier one left behind.

Nothing the worker sends is trusted (the policy may run native code there): requests are
written and answers read against the deadline (a worker that stops reading cannot block the
parent on a full pipe), an answer that is not a small JSON object is a crash, and a
failure's kind must be one of FAILURE_KINDS (autoda.errors.SANDBOX_FAILURES) and its message
is shown as one printable line.
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
from pathlib import Path

from ..errors import SANDBOX_FAILURES, AutodaError, FailureKind
from ..secrets import printable
from .isolation import LAYERS, missing_cuts

FAILURE_KINDS = SANDBOX_FAILURES  # the kinds a sandboxed call fails with (str enums: == "timeout" holds)
MAX_ANSWER_BYTES = 64 << 20
MAX_MESSAGE = 2000  # characters of a failure's message that reach journals, prompts and terminals
ALLOW_WEAK_ENV = "AUTODA_ALLOW_WEAK_SANDBOX"  # "1": run without the OS isolation this machine lacks
WORKER = ("-m", "autoda.sandbox.worker")


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: float = 10.0  # CPU time per call
    wall_seconds: float = 30.0  # per call, and for the worker to start
    memory_mb: int = 1024  # address space the worker may add to what it has after its imports
    layers: tuple[str, ...] = LAYERS  # the isolation layers to put up (fewer: to see a machine without them)
    allow_weak: bool = False  # run even where the filesystem or network cannot be cut (also ALLOW_WEAK_ENV=1)


def weak_isolation_allowed(limits: SandboxLimits) -> bool:
    return limits.allow_weak or os.environ.get(ALLOW_WEAK_ENV) == "1"


class SandboxError(AutodaError, RuntimeError):
    """A sandboxed call failed; ``kind`` is one of FAILURE_KINDS."""

    def __init__(self, kind: FailureKind | str, message: str) -> None:
        super().__init__(message)
        self.kind = FailureKind(kind)


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


def worker_environment() -> dict[str, str]:
    """All the worker starts with: where to import from, and one thread. Nothing of the
    parent's environment (API keys, proxies, tokens) goes along; the worker clears even
    this once it has started."""
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    # one BLAS thread: the arrays are small, threads count against the limits, and the
    # isolation layers are put up on the worker's one thread
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)), "PYTHONHASHSEED": "0",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def missing_isolation_message(layers: dict[str, dict], missing: list[str]) -> str:
    reasons = {"environment": "the environment could not be cleared",
               "filesystem": "no file-system cut (Landlock: {landlock}; seccomp: {seccomp})",
               "network": "no network cut (seccomp: {seccomp}; network namespace: {network_namespace})"}
    details = {name: layers.get(name, {}).get("detail", "unknown") for name in LAYERS}
    said = "; ".join(reasons[name].format(**details) for name in missing)
    return (f"this machine does not give Python policies their OS isolation: {said}. `autoda doctor` lists the "
            f"layers; --allow-weak-sandbox (or {ALLOW_WEAK_ENV}=1) runs them on the language guards and "
            f"resource limits alone")


class SandboxClient:
    def __init__(self, limits: SandboxLimits | None = None, worker: tuple[str, ...] = WORKER) -> None:
        self.limits = limits or SandboxLimits()
        self.worker = worker  # what python runs: the worker module (tests run a probe built on it)
        self.layers: dict[str, dict] = {}  # the isolation layers the last worker reported
        self._process: subprocess.Popen | None = None
        self._finalizer = None

    # --- the worker ----------------------------------------------------------------------

    def _start(self) -> None:
        command = [sys.executable, *self.worker, json.dumps(asdict(self.limits))]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, start_new_session=True,
                                         env=worker_environment(), close_fds=True)
        self._finalizer = weakref.finalize(self, _kill, self._process)
        ready = self._read(time.monotonic() + max(self.limits.wall_seconds, 30.0))
        if not ready.get("ready") or not isinstance(ready.get("layers"), dict):
            self.close()
            raise SandboxError(FailureKind.CRASH, "the sandbox worker did not start")
        self.layers = ready["layers"]
        missing = missing_cuts(self.layers)
        if missing and not weak_isolation_allowed(self.limits):
            self.close()
            raise SandboxError(FailureKind.ISOLATION, missing_isolation_message(self.layers, missing))

    def start(self) -> dict[str, dict]:
        """Start a worker now (if none runs); the isolation layers it reports."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        return self.layers

    def close(self) -> None:
        """Stop the worker (the next call starts a new one)."""
        if self._finalizer is not None:
            self._finalizer()
        self._process, self._finalizer = None, None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # --- one call ------------------------------------------------------------------------

    def _died(self, deadline: float) -> SandboxError:
        """What ended the worker, once its pipe closed; one that closed the pipe but lives on
        is killed at the deadline."""
        process = self._process
        try:
            code = process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.close()
            return SandboxError(FailureKind.CRASH, "the sandbox worker closed its pipe and was killed")
        self.close()
        if code == -signal.SIGXCPU:
            return SandboxError(FailureKind.TIMEOUT,
                                f"the function ran past its CPU limit of {self.limits.cpu_seconds:g} s")
        if code == -signal.SIGXFSZ:
            return SandboxError(FailureKind.GUARD, "the function tried to write a file")
        if code in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGBUS):
            return SandboxError(FailureKind.CRASH, f"the sandbox worker was killed by signal {-code} "
                                                   "(out of memory or out of stack)")
        return SandboxError(FailureKind.CRASH, f"the sandbox worker exited with status {code}")

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
                    raise SandboxError(FailureKind.TIMEOUT, f"the function ran past its wall-clock limit of "
                                                            f"{self.limits.wall_seconds:g} s and was killed")
                chunk = os.read(stream.fileno(), 1 << 16)
                if not chunk:
                    raise self._died(deadline)
                buffer += chunk
                if len(buffer) > MAX_ANSWER_BYTES:
                    self.close()
                    raise SandboxError(FailureKind.CRASH, "the sandbox worker's answer is too large")
        try:
            answer = json.loads(buffer)
        except (ValueError, RecursionError):  # not JSON; or nested deeper than the decoder's stack
            answer = None
        if not isinstance(answer, dict):
            self.close()
            raise SandboxError(FailureKind.CRASH, "the sandbox worker's answer is malformed")
        return answer

    def _write(self, data: bytes, deadline: float) -> None:
        """Send data before the deadline: a request is larger than a pipe holds (100 classes x
        22 ops is about 120 kB), and a worker that stops reading must not block the parent."""
        stream = self._process.stdin
        os.set_blocking(stream.fileno(), False)
        view = memoryview(data)
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_WRITE)
            while view:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.close()
                    raise SandboxError(FailureKind.TIMEOUT, f"the sandbox worker took no request for "
                                                            f"{self.limits.wall_seconds:g} s and was killed")
                try:
                    view = view[os.write(stream.fileno(), view):]
                except BlockingIOError:
                    continue
                except OSError:  # BrokenPipeError: it died, or closed its end
                    raise self._died(deadline) from None

    def call(self, request: dict) -> dict:
        """Send one request; return the worker's answer, or raise SandboxError."""
        self.start()
        deadline = time.monotonic() + self.limits.wall_seconds
        self._write(json.dumps(request).encode() + b"\n", deadline)
        answer = self._read(deadline)
        if answer.get("ok") is not True:
            self.close()  # a fresh worker for the next call
            raise failure_of(answer)
        return answer


def failure_of(answer: dict) -> SandboxError:
    """The SandboxError a failure answer stands for: a kind of FAILURE_KINDS (else crash) and the
    message as one printable line (the function chose its text: it may carry terminal
    controls, or lines that look like autoda's own)."""
    kind = answer.get("kind")
    message = answer.get("message")
    message = message if isinstance(message, str) else "no message"
    message = printable(message[:MAX_MESSAGE]).replace("\n", "\\n")
    return SandboxError(kind if isinstance(kind, str) and kind in FAILURE_KINDS else FailureKind.CRASH, message)
