"""The sandbox worker: `python -m autoda.sandbox.worker LIMITS_JSON`, started by
SandboxClient in a session of its own, with an empty environment.

It imports what restricted code may use, then locks itself down (isolation.py: network
namespace, nobody's uid, resource limits, no_new_privs, Landlock, seccomp; each where the
OS gives it), says which layers hold in its first line, and answers one JSON line per
request on stdout: compile the source with RestrictedPython (cached by hash), run it in a
fresh namespace, call `get_aug_type`, validate the result. Before each call the CPU-time
limit is moved to (CPU used so far + the per-call allowance), so a runaway call is killed
by SIGXCPU even inside one C call where no Python-level check could stop it; the parent's
wall-clock timeout covers the rest (sleeping, blocking).
"""
from __future__ import annotations

import importlib
import json
import resource
import sys
import warnings
from typing import Callable

from ..errors import FailureKind
from .isolation import LAYERS, lock_down


def _allow_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (int(used + seconds) + 1, resource.RLIM_INFINITY))
    except (ValueError, OSError):  # a platform that cannot set it keeps the parent's wall clock
        pass


def message_of(error: BaseException) -> str:
    """str(error), whatever formatting its arguments does (an int too long to print, say)."""
    try:
        return str(error)[:2000]
    except BaseException:  # noqa: BLE001
        return "(its message cannot be printed)"


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {message_of(error)}"


def _prepare(limits: dict) -> dict:
    """Import everything restricted code can reach, then lock the process down."""
    import numpy as np

    from . import guards, validate, wire  # noqa: F401 - loaded before the filesystem is cut

    for name in guards.PRELOAD:  # no import can load anything once the filesystem is cut
        try:
            importlib.import_module(name)
        except ImportError:  # names differ between numpy versions
            pass
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    sys.setrecursionlimit(500)
    return lock_down(int(limits["memory_mb"]) << 20, tuple(limits.get("layers") or LAYERS))


def serve(limits: dict, handle: Callable[[dict], dict]) -> None:
    """Lock down, announce the layers, then answer each request line with handle(request)."""
    from .guards import GuardViolation
    from .validate import ResultError

    layers = _prepare(limits)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def answer(message: dict) -> None:
        stdout.write(json.dumps(message).encode() + b"\n")
        stdout.flush()

    def fail(kind: FailureKind, message: str) -> None:
        answer({"ok": False, "kind": kind.value, "message": message})

    answer({"ready": True, "layers": layers})
    for line in stdin:
        _allow_cpu(float(limits["cpu_seconds"]))
        try:
            answer(handle(json.loads(line)))
        except GuardViolation as error:  # kinds named here, not read from what the function could touch
            fail(FailureKind.GUARD, message_of(error))
        except ResultError as error:
            fail(FailureKind.BAD_RESULT, message_of(error))
        except MemoryError:
            fail(FailureKind.MEMORY, f"the function ran out of its {limits['memory_mb']} MiB of memory")
        except (NameError, ImportError) as error:  # a builtin that is not there (open, exec, type, ...)
            fail(FailureKind.GUARD, f"{describe(error)} (not available in the sandbox)")
        except BaseException as error:  # noqa: BLE001 - any other failure of the function is its own
            fail(FailureKind.EXCEPTION, describe(error))


def policy_handler() -> Callable[[dict], dict]:
    """The worker's one job: run a restricted get_aug_type on the request's arrays."""
    from .guards import restricted_globals
    from .restricted import compile_restricted
    from .validate import validate_result
    from .wire import decode, encode

    codes: dict[str, object] = {}

    def handle(request: dict) -> dict:
        code = codes.get(request["hash"])
        if code is None:
            compiled = compile_restricted(request["source"], "<policy>")
            if compiled.errors:
                return {"ok": False, "kind": FailureKind.SYNTAX.value, "message": "; ".join(compiled.errors)}
            code = codes[request["hash"]] = compiled.code
        namespace = restricted_globals(int(request["seed"]))
        exec(code, namespace)
        function = namespace.get("get_aug_type")
        if not callable(function):
            return {"ok": False, "kind": FailureKind.BAD_RESULT.value, "message": "the source defines no get_aug_type"}
        aug_weight, history = decode(request["aug_weight"]), decode(request["history"])
        accs = decode(request["accs"]).astype("int32")  # counts, as the paper's torch .int() arrays
        shape = aug_weight.shape  # what the host expects back, whatever the function does to its arguments
        result = function(aug_weight, accs.copy(), history.copy(), decode(request["chose"]),
                          decode(request["exts"]), int(request["epoch"]))  # fresh arrays: it may write
        chose, exts, weight = validate_result(result, aug_weight, shape)
        return {"ok": True, "chose": encode(chose), "exts": encode(exts), "aug_weight": encode(weight)}

    return handle


def main() -> None:
    limits = json.loads(sys.argv[1])
    serve(limits, policy_handler())


if __name__ == "__main__":
    main()
