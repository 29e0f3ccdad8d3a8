"""Evaluation tasks that kill their own worker process, for the executors' retry tests.
Shipped to Ray workers by value (cloudpickle), imported by spawned local workers."""
import os
import signal
from pathlib import Path

from autoda.search.ray_executor import evaluate_task

SECRET = "sk-test-9f8e7d6c5b4a39281706"  # the driver's API key in the secrets tests


def crash_first_time(marker: Path):
    """A task that dies mid-evaluation on its first attempt (the marker file counts
    attempts), then evaluates. A closure: Ray workers started before the test get the
    marker's path with the function, not from their environment."""
    def task(spec, data, checkpoint, text, gpus):
        attempts = int(marker.read_text()) if marker.exists() else 0
        marker.write_text(str(attempts + 1))
        if attempts == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return evaluate_task(spec, data, checkpoint, text, gpus)
    return task


def always_crash(spec, data, checkpoint, text, gpus):
    os.kill(os.getpid(), signal.SIGKILL)


def crash_first_time_local(text):
    """The local workers' version: the same, around the worker's own evaluator."""
    from autoda.search.executors import _evaluate_in_worker

    marker = Path(os.environ["AUTODA_TEST_MARKER"])
    attempts = int(marker.read_text()) if marker.exists() else 0
    marker.write_text(str(attempts + 1))
    if attempts == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return _evaluate_in_worker(text)


def report_environment(text):
    """A task that reports what secrets its worker process holds: in os.environ, in the
    environment block the process was started with (/proc/self/environ), and in sys.argv
    (spawn hands a child the parent's)."""
    import json
    import sys

    key = SECRET[3:]  # not from the environment: the driver scrubs every value that holds the key
    names = sorted(n for n, v in os.environ.items() if v and (n.endswith(("_API_KEY", "_TOKEN")) or
                                                              n.upper().endswith("PROXY")))
    started_with = Path("/proc/self/environ").read_bytes() if Path("/proc/self/environ").exists() else b""
    found = {"names": names, "key_in_environ": any(key and key in v for v in os.environ.values()),
             "key_at_start": bool(key) and key.encode() in started_with,
             "key_in_argv": bool(key) and any(key in arg for arg in sys.argv)}
    return {"ok": True, "fitness": 0.5, "validation": None, "failure": None, "message": json.dumps(found),
            "seconds": 0.0}


def sleep_in_worker(text):
    """An evaluation that never ends by itself: it writes its worker's pid to the marker
    file, then sleeps (for the test that closing the executor ends it)."""
    Path(os.environ["AUTODA_TEST_MARKER"]).write_text(str(os.getpid()))
    import time
    time.sleep(300)
