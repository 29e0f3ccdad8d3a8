"""Fitness evaluations as Ray tasks (`autoda search --executor ray`; `pip install
'autoda[ray]'`). The driver trains (or loads) the e_ckp checkpoint once and puts it, with
the data splits, into Ray's object store once; each task gets references to both, builds
the evaluator and returns the result as a dict. GPUs per task may be fractional, so small
models share a GPU. A task whose worker dies is retried by Ray up to `retries` times, then
recorded as `worker_lost`; an exception inside a task (not expected: evaluations record
their failures) is recorded as `error`.

Tasks never see the driver's secrets: a local cluster is started with the API key, tokens
and proxies taken out of the environment its processes copy, and every task's runtime
environment blanks the ones this process has (a joined cluster's own are its business).
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Callable

from ..compiler import CheckedPolicy
from ..errors import AutodaError, FailureKind
from ..policies import check_policy
from ..secrets import scrubbed_environ, secret_names
from .executors import EvaluationSpec, failed_evaluation, fidelity_args, result_from


class RayUnavailable(AutodaError, RuntimeError):
    """Ray is not installed, or the cluster cannot be reached."""


def evaluate_task(spec: EvaluationSpec, data, checkpoint: dict, text: str, gpus: float, **fidelity) -> dict:
    """One evaluation inside a Ray worker (data and checkpoint come from the object store);
    ``fidelity``: the fine-tune's n_ft and seed, where they are not the evaluator's own."""
    import dataclasses

    import torch

    from ..engine.train.fitness import FitnessEvaluator

    torch.set_num_threads(spec.threads)
    setup = dataclasses.replace(spec.setup, device="cuda" if gpus > 0 else "cpu")  # Ray picks the GPU
    evaluator = FitnessEvaluator(data, setup, spec.cache_dir, checkpoint=checkpoint, check=check_policy)
    return evaluator.evaluate(text, **fidelity).to_dict()  # a checked policy's canonical text, in either language


def _ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable("--executor ray needs Ray: pip install 'autoda[ray]'") from None
    return ray


class RayExecutor:
    name = "ray"

    def __init__(self, spec: EvaluationSpec, data, checkpoint: dict, *, address: str | None = None,
                 workers: int = 2, gpus_per_eval: float = 0.0, retries: int = 2,
                 task: Callable = evaluate_task) -> None:
        ray = self.ray = _ray()
        self.workers, self.gpus = workers, gpus_per_eval
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            options = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            # ray.init makes SIGTERM exit at once (sys.exit): the handler there was (the command
            # line's, which winds a search down as Ctrl-C does: autoda.stopping) is put back
            main_thread = threading.current_thread() is threading.main_thread()
            sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None
            try:
                if address:
                    ray.init(address=address, **options)
                else:  # a local cluster sized for the evaluations asked for, its processes without secrets
                    with scrubbed_environ():
                        ray.init(num_cpus=workers * spec.threads, num_gpus=None, **options)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise RayUnavailable(f"cannot start or reach Ray{f' at {address}' if address else ''}: {error}") from None
            finally:
                if sigterm is not None:
                    signal.signal(signal.SIGTERM, sigterm)
        self.spec = spec
        self.data_ref = ray.put(data)  # once: every task reads the same objects
        self.checkpoint_ref = ray.put(checkpoint)
        blank = {name: "" for name in secret_names()}
        self.remote = ray.remote(task).options(num_cpus=spec.threads, num_gpus=gpus_per_eval, max_retries=retries,
                                               retry_exceptions=False,
                                               **({"runtime_env": {"env_vars": blank}} if blank else {}))
        self.refs: dict = {}  # object ref -> journal row
        self.finished: list[tuple[int, object]] = []

    def pending(self) -> int:
        return len(self.refs)

    def wait_for_worker(self) -> None:
        """Until fewer than N are in flight."""
        while len(self.refs) >= self.workers:
            self._collect(1, None)

    def submit(self, row: int, checked: CheckedPolicy, n_ft: int | None = None, seed: int | None = None) -> None:
        self.wait_for_worker()
        ref = self.remote.remote(self.spec, self.data_ref, self.checkpoint_ref, checked.canonical, self.gpus,
                                 **fidelity_args(n_ft, seed))
        self.refs[ref] = row

    def _collect(self, count: int, timeout: float | None) -> None:
        ray = self.ray
        ready, _ = ray.wait(list(self.refs), num_returns=count, timeout=timeout)
        for ref in ready:
            row = self.refs.pop(ref)
            try:
                self.finished.append((row, result_from(ray.get(ref))))
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                    ray.exceptions.ObjectLostError) as error:
                self.finished.append((row, failed_evaluation(
                    FailureKind.WORKER_LOST, f"Ray lost the evaluation after its retries: {type(error).__name__}")))
            except ray.exceptions.RayError as error:
                self.finished.append((row, failed_evaluation(
                    FailureKind.ERROR, f"{type(error).__name__}: {str(error).splitlines()[0][:300]}")))

    def results(self, wait: bool = False) -> list[tuple[int, object]]:
        if self.refs:
            self._collect(len(self.refs), None if wait else 0)
        done, self.finished = self.finished, []
        return done

    def close(self) -> None:
        for ref in list(self.refs):
            self.ray.cancel(ref, force=True)
        self.refs.clear()
        if self.started_ray:
            self.ray.shutdown()
