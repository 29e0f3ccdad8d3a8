"""Where fitness evaluations run. The search loop submits (journal key, checked policy, and
the fidelity: fine-tune epochs and seed) and collects (key, result) pairs as they finish;
it alone writes the journal and talks to the LLM, so proposing the next candidates
overlaps evaluating the last ones.

A fidelity left at None is not sent at all: the evaluator's own n_ft and seed apply, and an
evaluation function that takes neither (a test's stand-in, an older task) still serves a
search that uses only those.

- LocalExecutor: in this process, one at a time (the default; no extra dependency).
- BatchedLocalExecutor (`--eval-batch K`): in this process, K candidates packed into one
  fine-tune (autoda.engine.train.packed).
- ProcessExecutor (`--executor local --workers N`): N spawned processes on this machine,
  one device each (cuda:0, cuda:1, ... round robin, or the CPU); a worker that dies is
  replaced and its jobs retried a bounded number of times, then recorded as `worker_lost`.
- RayExecutor (autoda.search.ray_executor): Ray tasks on a cluster.

Every evaluation runs with the same number of torch threads (`threads`) and the same seeds,
so a candidate's fitness does not depend on which executor or worker ran it.

Workers never hold the driver's secrets: multiprocessing's spawn starts a child with the
parent's environment, so worker processes are started with the API key, tokens and
proxies taken out of it for that moment (autoda.secrets.scrubbed_environ).
"""
from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import multiprocessing.context
import os
from dataclasses import dataclass
from typing import Callable

from ..compiler import CheckedPolicy
from ..errors import FailureKind
from ..policies import check_policy
from ..secrets import scrubbed_environ


@dataclass(frozen=True)
class EvaluationSpec:
    """Everything a worker needs to build the same fitness evaluator as the driver."""

    data: dict  # keyword arguments of autoda.engine.train.data.load_dataset
    setup: object  # autoda.engine.train.fitness.FitnessSetup
    cache_dir: str | None  # where the driver cached the e_ckp checkpoint
    threads: int  # torch intra-op threads per evaluation


def failed_evaluation(kind: FailureKind, message: str):
    """The result of an evaluation that never returned one (its worker died, say)."""
    from ..engine.train.fitness import FitnessResult

    return FitnessResult(False, None, None, FailureKind(kind).value, message, 0.0)


def fidelity_args(n_ft: int | None, seed: int | None) -> dict:
    """The keyword arguments an evaluation is sent: only the fidelity that is not the default."""
    return {name: value for name, value in (("n_ft", n_ft), ("seed", seed)) if value is not None}


def result_from(value: dict):
    from ..engine.train.fitness import FitnessResult

    return FitnessResult(**value)


class LocalExecutor:
    name = "local"
    workers = 1  # evaluations at once

    def __init__(self, evaluate: Callable[[CheckedPolicy], object], threads: int | None = None) -> None:
        self.evaluate, self.threads = evaluate, threads
        self.finished: list[tuple[int, object]] = []

    def pending(self) -> int:
        return 0

    def wait_for_worker(self) -> None:
        """Until an evaluation can start: at once, here (it runs in submit)."""

    def submit(self, row: int, checked: CheckedPolicy, n_ft: int | None = None, seed: int | None = None) -> None:
        if self.threads:
            import torch
            torch.set_num_threads(self.threads)
        self.finished.append((row, self.evaluate(checked, **fidelity_args(n_ft, seed))))

    def results(self, wait: bool = False) -> list[tuple[int, object]]:
        done, self.finished = self.finished, []
        return done

    def close(self) -> None:
        pass


class BatchedLocalExecutor:
    """In this process, K candidates at a time (`--eval-batch K`): submissions wait until K
    of one fidelity and seed are queued (or the loop waits for results), then run as one
    packed fine-tune (FitnessEvaluator.evaluate_many), whose results equal K separate
    evaluations. The search submits a generation's offspring before it waits, so a
    generation fills the batches."""

    name = "local"
    workers = 1  # one packed fine-tune at a time

    def __init__(self, evaluate_many: Callable[..., list], k: int, threads: int | None = None) -> None:
        self.evaluate_many, self.k, self.threads = evaluate_many, k, threads
        self.queue: list[tuple[int, CheckedPolicy, int | None, int | None]] = []
        self.finished: list[tuple[int, object]] = []

    def pending(self) -> int:
        return len(self.queue)

    def wait_for_worker(self) -> None:
        """Until an evaluation can start: at once (submissions queue until a batch is full)."""

    def submit(self, row: int, checked: CheckedPolicy, n_ft: int | None = None, seed: int | None = None) -> None:
        self.queue.append((row, checked, n_ft, seed))

    def results(self, wait: bool = False) -> list[tuple[int, object]]:
        while True:
            fidelities = {}
            for job in self.queue:
                fidelities.setdefault(job[2:], []).append(job)
            ready = next((jobs for jobs in fidelities.values() if len(jobs) >= self.k or wait), None)
            if ready is None:
                break
            self._run(ready[: self.k])
        done, self.finished = self.finished, []
        return done

    def _run(self, jobs: list) -> None:
        if self.threads:
            import torch
            torch.set_num_threads(self.threads)
        rows = {job[0] for job in jobs}
        self.queue = [job for job in self.queue if job[0] not in rows]
        _, _, n_ft, seed = jobs[0]
        results = self.evaluate_many([job[1] for job in jobs], **fidelity_args(n_ft, seed))
        self.finished += [(job[0], result) for job, result in zip(jobs, results)]

    def close(self) -> None:
        pass


# --- worker processes --------------------------------------------------------------------

class CleanSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned process started without the secrets in its environment: spawn execs the
    child with os.environ as it is at start(), so that is the moment to take them out."""

    def start(self) -> None:
        with scrubbed_environ():
            super().start()


class CleanSpawnContext(multiprocessing.context.SpawnContext):
    Process = CleanSpawnProcess


_worker_evaluator = None


def _start_worker(spec: EvaluationSpec, counter, devices: int) -> None:
    """A worker process's initializer: its device, its threads, the evaluator (data from the
    decoded-image cache, the checkpoint from the driver's checkpoint cache)."""
    global _worker_evaluator
    import dataclasses

    import torch

    from ..engine.train.data import load_dataset
    from ..engine.train.fitness import FitnessEvaluator

    with counter.get_lock():
        index = counter.value
        counter.value += 1
    setup = spec.setup
    if devices > 0:
        setup = dataclasses.replace(setup, device=f"cuda:{index % devices}")
    torch.set_num_threads(spec.threads)
    # the text it is sent is a checked policy's canonical text, in either language
    _worker_evaluator = FitnessEvaluator(load_dataset(**spec.data), setup, spec.cache_dir, check=check_policy)


def _evaluate_in_worker(text: str, **fidelity) -> dict:
    return _worker_evaluator.evaluate(text, **fidelity).to_dict()


class ProcessExecutor:
    name = "local"

    def __init__(self, spec: EvaluationSpec, workers: int, retries: int = 2,
                 task: Callable[[str], dict] | None = None) -> None:
        self.spec, self.workers, self.retries = spec, workers, retries
        self.task = task or _evaluate_in_worker  # a module-level function: workers import it
        self.context = CleanSpawnContext()  # spawn: torch and fork do not mix
        self.jobs: dict[futures.Future, tuple[int, str, dict, int]] = {}  # future -> (row, text, fidelity, attempt)
        self.finished: list[tuple[int, object]] = []
        self.pool = self._pool()

    def _pool(self) -> futures.ProcessPoolExecutor:
        import torch

        device = str(getattr(self.spec.setup, "device", "cpu"))
        devices = torch.cuda.device_count() if device.startswith("cuda") else 0
        return futures.ProcessPoolExecutor(self.workers, mp_context=self.context, initializer=_start_worker,
                                           initargs=(self.spec, self.context.Value("i", 0), devices))

    def pending(self) -> int:
        return len(self.jobs)

    def _send(self, row: int, text: str, fidelity: dict, attempt: int) -> None:
        self.jobs[self.pool.submit(self.task, text, **fidelity)] = (row, text, fidelity, attempt)

    def wait_for_worker(self) -> None:
        """Until a worker is free: N evaluations at once; the rest wait here, in order."""
        while len(self.jobs) >= self.workers:
            self._collect(futures.FIRST_COMPLETED)

    def submit(self, row: int, checked: CheckedPolicy, n_ft: int | None = None, seed: int | None = None) -> None:
        self.wait_for_worker()
        self._send(row, checked.canonical, fidelity_args(n_ft, seed), 0)

    def _collect(self, return_when: str, timeout: float | None = None) -> None:
        done, _ = futures.wait(list(self.jobs), timeout=timeout, return_when=return_when)
        broken: list[tuple[int, str, dict, int]] = []
        for future in done:
            job = self.jobs.pop(future)
            try:
                self.finished.append((job[0], result_from(future.result())))
            except futures.process.BrokenProcessPool:
                broken.append(job)
        if broken:  # a worker died: the pool is gone; jobs that were in it go round again
            broken += [self.jobs.pop(f) for f in list(self.jobs)]
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._pool()
            for row, text, fidelity, attempt in broken:
                if attempt < self.retries:
                    self._send(row, text, fidelity, attempt + 1)
                else:
                    self.finished.append((row, failed_evaluation(FailureKind.WORKER_LOST,
                                                                  f"the worker died {attempt + 1} times evaluating it")))

    def results(self, wait: bool = False) -> list[tuple[int, object]]:
        if self.jobs:
            self._collect(futures.ALL_COMPLETED if wait else futures.FIRST_COMPLETED, None if wait else 0)
            while wait and self.jobs:  # retried jobs
                self._collect(futures.ALL_COMPLETED)
        done, self.finished = self.finished, []
        return done

    def close(self) -> None:
        """Stop the workers, evaluating or not. At a normal end none is evaluating; when the
        search is stopped (Ctrl-C, SIGTERM, an error) an evaluation still running is in the
        journal as in flight, and --resume runs it again, so it is not waited for, nor left
        running on its own."""
        workers = list((self.pool._processes or {}).values())  # the pool offers no other way to reach them
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()
        for process in workers:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


def default_threads(workers: int) -> int:
    """Torch threads per evaluation when --cpus-per-eval is not given: this machine's cores
    shared among the workers."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))
