"""The sandbox worker: `python -m autoda.sandbox.worker LIMITS_JSON`, started by
SandboxClient in a session of its own.

It imports what restricted code may use, then limits itself (address space, no file
writes, few file descriptors, no child processes) and answers one JSON line per request on
stdout: compile the source with RestrictedPython (cached by hash), run it in a fresh
namespace, call `get_aug_type`, validate the result. Before each call the CPU-time limit
is moved to (CPU used so far + the per-call allowance), so a runaway call is killed by
SIGXCPU even inside one C call where no Python-level check could stop it; the parent's
wall-clock timeout covers the rest (sleeping, blocking).
"""
from __future__ import annotations

import importlib
import json
import resource
import sys
import warnings


def _address_space() -> int:
    """This process's virtual size in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _set(limit: int, soft: int, hard: int | None = None) -> None:
    try:
        resource.setrlimit(limit, (soft, soft if hard is None else hard))
    except (ValueError, OSError):  # a limit this platform or user cannot set is skipped
        pass


def _limit_process(memory_bytes: int) -> None:
    size = _address_space()
    if size:
        _set(resource.RLIMIT_AS, size + memory_bytes)
    _set(resource.RLIMIT_FSIZE, 0)  # a write to any file is refused (pipes are not files)
    _set(resource.RLIMIT_NPROC, 0)
    _set(resource.RLIMIT_CORE, 0)
    _set(resource.RLIMIT_NOFILE, 16)  # stdin, stdout, stderr and a few more; no code here opens any


def _allow_cpu(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _set(resource.RLIMIT_CPU, int(used + seconds) + 1, resource.RLIM_INFINITY)


def main() -> None:
    import numpy as np
    from RestrictedPython import compile_restricted_exec

    from .guards import _INTERNAL, GuardViolation, restricted_globals
    from .validate import ResultError, validate_result
    from .wire import decode, encode

    limits = json.loads(sys.argv[1])
    for name in _INTERNAL:  # loaded now, so no import from a policy's frame loads anything
        try:
            importlib.import_module(name)
        except ImportError:  # names differ between numpy versions
            pass
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    sys.setrecursionlimit(500)
    _limit_process(int(limits["memory_mb"]) << 20)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    codes: dict[str, object] = {}

    def answer(message: dict) -> None:
        stdout.write(json.dumps(message).encode() + b"\n")
        stdout.flush()

    answer({"ready": True})
    for line in stdin:
        request = json.loads(line)
        _allow_cpu(float(limits["cpu_seconds"]))
        try:
            code = codes.get(request["hash"])
            if code is None:
                compiled = compile_restricted_exec(request["source"], "<policy>")
                if compiled.errors:
                    answer({"ok": False, "kind": "syntax", "message": "; ".join(compiled.errors)})
                    continue
                code = codes[request["hash"]] = compiled.code
            namespace = restricted_globals(int(request["seed"]))
            exec(code, namespace)
            function = namespace.get("get_aug_type")
            if not callable(function):
                answer({"ok": False, "kind": "bad_result", "message": "the source defines no get_aug_type"})
                continue
            aug_weight = decode(request["aug_weight"])
            accs = decode(request["accs"])
            result = function(aug_weight, accs.copy(), decode(request["history"]), decode(request["chose"]),
                              decode(request["exts"]), int(request["epoch"]))  # fresh arrays: it may write
            chose, exts, weight = validate_result(result, aug_weight)
            # the host's bookkeeping, as in the paper: a chosen op records the class's accuracy now
            history = np.where(chose, accs[:, None], decode(request["history"]))
            answer({"ok": True, "chose": encode(chose), "exts": encode(exts), "aug_weight": encode(weight),
                    "history": encode(history)})
        except GuardViolation as error:
            answer({"ok": False, "kind": "guard", "message": str(error)})
        except ResultError as error:
            answer({"ok": False, "kind": "bad_result", "message": str(error)})
        except MemoryError:
            answer({"ok": False, "kind": "memory",
                    "message": f"the function ran out of its {limits['memory_mb']} MiB of memory"})
        except NameError as error:  # a builtin that is not there (open, exec, type, ...)
            answer({"ok": False, "kind": "guard", "message": f"{error} (not available in the sandbox)"})
        except ImportError as error:
            answer({"ok": False, "kind": "guard", "message": str(error)})
        except BaseException as error:  # noqa: BLE001 - any other failure of the function is its own
            answer({"ok": False, "kind": "exception", "message": f"{type(error).__name__}: {error}"[:2000]})


if __name__ == "__main__":
    main()
