"""Fitness of a policy, after the paper's Algorithm 1: train the base method to epoch e_ckp
once and cache that checkpoint; for each candidate, load it, fine-tune N_ft epochs with
the candidate's compiled graph, and return the balanced validation accuracy with per-class
and many/medium/few accuracies (averaged over the fine-tune's last epochs when the setup's
``tail`` asks for it). A "fine-tune" of the schedule's whole length is the schedule from
scratch, initialised with the evaluation's seed: what a search's from-scratch confirmation
(autoda.search.loop) measures on validation, where the verdict measures on test.

The checkpoint is keyed by a hash of everything that determines it (the data and its
splits, method, model, recipe, seed, the base augmentation, the device type and the torch
version) and written atomically. A candidate that does not compile, whose statistics or
state go wrong, or whose loss turns NaN gets a recorded failure, never an exception and
never a fitness.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch

from ...compiler import CheckedPolicy, PolicyError, check_policy
from ...errors import FailureKind, python_failure
from ...files import write_atomic
from ..augment.compiled import CompiledPolicy, PolicyRuntimeError, PythonPolicyError
from ..augment.level_probe import reads_level_probe
from ..augment.standard import training_policy
from ..augment.statistics import StatsError
from .data import DataSplits
from .metrics import summary
from .models import CifarResNet
from .packed import CANDIDATE_ERRORS, PackedTrainer
from .trainer import Diverged, EpochLog, Recipe, Trainer, build_network, build_trainer


def default_cache_dir() -> Path:
    return Path(os.environ.get("AUTODA_CACHE", Path.home() / ".cache" / "autoda"))


@dataclass(frozen=True)
class FitnessSetup:
    method: str = "ce"
    model: str = "resnet32"
    recipe: Recipe = field(default_factory=Recipe)
    seed: int = 0
    e_ckp: int = 50
    n_ft: int = 20
    base: str = "standard"  # the augmentation around every policy (catalog.BASES)
    device: str = "cpu"
    # the policy the shared checkpoint trains with (policy text; None: the base augmentation
    # alone), for benchmarks/fitness_fidelity.py, which measures what that does to the
    # fitness (for CE on cifar10-lt-small: nothing good, docs/benchmarks.md)
    checkpoint_policy: str | None = None
    # the validation accuracy averaged over the fine-tune's last ``tail`` epochs, for
    # benchmarks/fitness_fidelity.py, which measures whether that takes the luck of one epoch
    # out of the fitness (for CE on cifar10-lt-small it did not, docs/benchmarks.md)
    tail: int = 1


@dataclass
class FitnessResult:
    ok: bool
    fitness: float | None  # balanced validation accuracy in [0, 1]
    validation: dict | None  # many / medium / few / all / per_class
    failure: str | None  # a FailureKind's value (compile, runtime, nan, error) or python_<kind> (python_failure)
    message: str | None
    seconds: float
    policy_hash: str | None = None
    epochs: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class FitnessEvaluator:
    def __init__(self, data: DataSplits, setup: FitnessSetup, cache_dir: str | os.PathLike | None = None,
                 on_epoch: Callable[[str, EpochLog], None] | None = None, checkpoint: dict | None = None,
                 check: Callable[[str | bytes | os.PathLike], CheckedPolicy] = check_policy) -> None:
        """``checkpoint``: the e_ckp state, when another process trained it (a worker's case).
        ``check`` reads a candidate given as a path, text or bytes: by default the compiler's
        (the policy language); the search passes autoda.policies.check_policy, the front door
        that reads Python policies too (the engine does not import it: it sits above)."""
        if not 0 <= setup.e_ckp < setup.recipe.epochs or setup.n_ft < 1 or setup.tail < 1:
            raise ValueError("need 0 <= e_ckp < recipe epochs, n_ft >= 1 and tail >= 1")
        self.data, self.setup = data, setup
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.on_epoch = on_epoch
        self.check = check
        # the policy the checkpoint trains with (None: the base alone), and with its base merged in
        self.checkpoint_policy = None if setup.checkpoint_policy is None else self.check(setup.checkpoint_policy)
        self.base = training_policy(self.checkpoint_policy, setup.base, data.train.images.shape[-1])
        self._checkpoint: dict | None = checkpoint

    # --- the shared checkpoint -----------------------------------------------------------

    def checkpoint_key(self) -> str:
        s = self.setup
        spec = {"data": self.data.fingerprint(), "method": s.method, "model": s.model, "recipe": s.recipe.to_dict(),
                "seed": s.seed, "e_ckp": s.e_ckp, "base": self.base.hash,
                "device": torch.device(s.device).type, "torch": torch.__version__}
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]

    def checkpoint_path(self) -> Path:
        return self.cache_dir / "checkpoints" / f"{self.checkpoint_key()}.pt"

    def _trainer(self, checked: CheckedPolicy | None, seed: int | None = None) -> Trainer:
        """A trainer of ``checked`` on the setup's base, seeded with ``seed`` (the setup's by
        default: the checkpoint's is always that)."""
        s = self.setup
        seed = s.seed if seed is None else seed
        return build_trainer(self.data, checked, s.method, s.model, s.recipe, s.device, seed, s.base)

    def checkpoint(self) -> dict:
        """The base method trained to e_ckp: from the cache, or trained now and cached."""
        if self._checkpoint is None:
            path = self.checkpoint_path()
            self._checkpoint = self._cached(path)
            if self._checkpoint is None:
                trainer = self._trainer(self.checkpoint_policy)
                trainer.train(self.setup.e_ckp, lambda log: self.on_epoch and self.on_epoch("checkpoint", log))
                self._checkpoint = trainer.state_dict()
                try:
                    write_atomic(path, lambda tmp: torch.save(self._checkpoint, tmp))
                except OSError:  # a read-only or full cache costs the next run this training, not this run
                    pass
        return self._checkpoint

    def _cached(self, path: Path) -> dict | None:
        """The cached checkpoint, or None when it is missing, truncated, garbage or does not
        fit this setup (it is then trained again and replaced). weights_only: a cache
        folder may be shared, and a pickle that is not plain state is never run."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if state["epoch"] != self.setup.e_ckp:
                return None
            self._trainer(self.checkpoint_policy).load_state_dict(state)  # every key and shape in place
        except Exception:  # noqa: BLE001 -- whatever a missing or damaged file raises, the cure is to train
            return None
        return state

    # --- one candidate -------------------------------------------------------------------

    def evaluate(self, source: str | bytes | os.PathLike | CheckedPolicy, n_ft: int | None = None,
                 seed: int | None = None) -> FitnessResult:
        """Fine-tune ``n_ft`` epochs (the setup's by default) from the shared checkpoint, with
        the fine-tune's randomness (the model's RNG, the policy's draws, the batch order) from
        ``seed`` (the setup's by default). The checkpoint is the one trained with the setup's
        seed whatever ``seed`` is: a search compares candidates from one starting point and
        draws fresh luck only for the fine-tune. ``n_ft`` the schedule's length: the schedule
        from scratch, the network initialised from ``seed`` too (from_scratch)."""
        n_ft = self._fine_tune_epochs(n_ft)
        start = time.perf_counter()
        try:
            candidate = source if isinstance(source, CheckedPolicy) else self.check(source)
        except PolicyError as error:
            return _failed(error, start)
        scratch = self.from_scratch(n_ft)
        waited = time.perf_counter()
        checkpoint = None if scratch else self.checkpoint()
        start += time.perf_counter() - waited  # training the shared checkpoint is no candidate's cost
        try:
            trainer = self._trainer(candidate, seed)
            if checkpoint is not None:
                trainer.load_state_dict(checkpoint)

            def train(until: int) -> None:
                trainer.train(until, lambda log: self.on_epoch and self.on_epoch("fine-tune", log))

            tail = self._tail_validations(train, trainer.evaluate, n_ft, 0 if scratch else self.setup.e_ckp)
        except CANDIDATE_FAILURES as error:  # recorded, so one bad candidate never stops a search
            return _failed(error, start, candidate.hash)
        validation = _tail_mean(tail, trainer.counts)
        return FitnessResult(True, validation["all"], validation, None, None, time.perf_counter() - start,
                             candidate.hash, [asdict(e) for e in trainer.log])

    def _tail_validations(self, train: Callable[[int], None], evaluate: Callable, n_ft: int, begin: int) -> list:
        """Train from epoch ``begin`` for ``n_ft`` epochs, evaluating on validation after each of
        the last ``tail`` epochs (all of them when the training is shorter)."""
        end = begin + n_ft
        validations = []
        for until in range(end - min(self.setup.tail, n_ft) + 1, end + 1):
            train(until)
            validations.append(evaluate(self.data.val))
        return validations

    def default_eval_batch(self) -> int:
        """How many candidates to pack into one fine-tune when the user does not say: on a GPU
        one CIFAR ResNet's batch leaves most of the device idle, so GPU_EVAL_BATCH; on a CPU
        packing measured slower than one at a time (docs/search.md), and networks that do
        not pack (ResNet-50, RIDE's experts, BCL's heads) train alone: 1."""
        s = self.setup
        if torch.device(s.device).type != "cuda":
            return 1
        model, _ = build_network(self.data, s.method, s.model, s.recipe, "cpu")
        return GPU_EVAL_BATCH if _packs(model) else 1

    def from_scratch(self, n_ft: int) -> bool:
        """Whether a fine-tune of ``n_ft`` epochs is the whole schedule from scratch (from the
        checkpoint it would run past the schedule's end, or, at e_ckp 0, is that training)."""
        return n_ft == self.setup.recipe.epochs

    def _fine_tune_epochs(self, n_ft: int | None) -> int:
        n_ft = self.setup.n_ft if n_ft is None else n_ft
        if isinstance(n_ft, bool) or not isinstance(n_ft, int) or n_ft < 1:
            raise ValueError(f"n_ft must be a whole number of epochs >= 1, not {n_ft!r}")
        return n_ft

    # --- several candidates at once ------------------------------------------------------

    def evaluate_many(self, sources: list, n_ft: int | None = None, seed: int | None = None,
                      retry_alone: bool = True) -> list[FitnessResult]:
        """What ``evaluate`` gives each source (to float tolerance), the candidates
        fine-tuned side by side as one packed network (autoda.engine.train.packed); one at a
        time where the model does not pack. Each result's seconds are its share of the
        wall time; a candidate that fails fails alone. When the packed run fails as a whole
        (out of memory, say), each candidate is fine-tuned alone, or, without
        ``retry_alone`` (a benchmark timing packing), each is failed with that error."""
        n_ft = self._fine_tune_epochs(n_ft)
        start = time.perf_counter()
        results: list[FitnessResult | None] = [None] * len(sources)
        live: dict[int, CheckedPolicy] = {}
        for i, source in enumerate(sources):
            try:
                live[i] = source if isinstance(source, CheckedPolicy) else self.check(source)
            except PolicyError as error:
                results[i] = _failed(error, start)
        # CUDA's probe classifies with one model: a candidate that calls lol_pass trains alone
        alone = {i: live.pop(i) for i in list(live) if reads_level_probe(live[i].lower())}
        s = self.setup
        model, method = build_network(self.data, s.method, s.model, s.recipe, s.device)  # the shape to pack
        if len(live) < 2 or not _packs(model) or self.from_scratch(n_ft):  # packed copies share one checkpoint
            return [result or self.evaluate({**live, **alone}[i], n_ft, seed) for i, result in enumerate(results)]
        waited = time.perf_counter()
        checkpoint = self.checkpoint()
        start += time.perf_counter() - waited
        seed = s.seed if seed is None else seed
        compiled: dict[int, CompiledPolicy] = {}
        for i, candidate in live.items():
            try:
                compiled[i] = CompiledPolicy(training_policy(candidate, s.base, self.data.train.images.shape[-1]),
                                             self.data.num_classes, seed=seed)
            except CANDIDATE_FAILURES as error:
                results[i] = _failed(error, start, candidate.hash)
        order = list(compiled)
        try:
            trainer = PackedTrainer(model, method, self.data, [compiled[i] for i in order],
                                    s.recipe, s.device, seed)
            trainer.load_state_dict(checkpoint)
            # per epoch: one summary a copy
            tail = self._tail_validations(trainer.train, trainer.evaluate, n_ft, s.e_ckp)
        except (RuntimeError, ValueError) as error:  # the packed run as a whole (out of memory, say)
            trainer, whole = None, error
        if trainer is None and not retry_alone:
            for i in order:
                results[i] = _failed(whole, start, live[i].hash)
        elif trainer is None:  # one at a time, after the packed run's memory is let go (its
            model = whole = None  # traceback holds the packed run's tensors)
            if torch.device(s.device).type == "cuda":
                torch.cuda.empty_cache()
            for i in order:
                results[i] = self.evaluate(live[i], n_ft, seed)
        else:
            share = (time.perf_counter() - start) / max(1, len(order))
            for j, i in enumerate(order):
                error = trainer.failures[j]
                if error is not None:
                    results[i] = replace(_failed(error, start, live[i].hash), seconds=share)
                else:
                    copy = [epoch[j] for epoch in tail]
                    validation = _tail_mean(copy, trainer.counts)
                    results[i] = FitnessResult(True, validation["all"], validation, None, None, share,
                                               live[i].hash, [asdict(e) for e in trainer.logs[j]])
        for i, candidate in alone.items():
            results[i] = self.evaluate(candidate, n_ft, seed)
        return results


# Candidates packed into one fine-tune on a GPU by default (FitnessEvaluator.default_eval_batch):
# enough copies of a CIFAR ResNet to fill a large GPU's batch; the GPU suite's sweep of
# K = 1 to 32 measures where packing pays on a given device (docs/benchmarks.md)
GPU_EVAL_BATCH = 16


def _packs(model: torch.nn.Module) -> bool:
    """Whether PackedTrainer can pack K copies of ``model`` (a plain CIFAR ResNet)."""
    return isinstance(model, CifarResNet)


# What a candidate's fine-tune may raise, each recorded as its kind of failure (_failed):
# what its policy may raise (which a packed fine-tune catches copy by copy), or a NaN loss
CANDIDATE_FAILURES = CANDIDATE_ERRORS + (Diverged,)


def _tail_mean(validations: list[dict], train_counts: torch.Tensor) -> dict:
    """One validation summary of several epochs': each class's accuracy averaged over them,
    and under "tail" each epoch's balanced accuracy (what the journal keeps of them)."""
    if len(validations) == 1:
        return validations[0]
    per_class = torch.tensor([[math.nan if a is None else a for a in v["per_class"]] for v in validations],
                             dtype=torch.float64).mean(dim=0)
    return {**summary(per_class, train_counts), "tail": [v["all"] for v in validations]}


def _failed(error: Exception, start: float, policy_hash: str | None = None) -> FitnessResult:
    """The recorded failure for what a candidate raised."""
    if isinstance(error, PolicyError):  # it does not check, or the merged policy is over budget
        kind, message = FailureKind.COMPILE.value, error.render()
    elif isinstance(error, PythonPolicyError):  # a sandboxed Python policy: its own kinds (timeout, guard, ...)
        kind, message = python_failure(error.kind), str(error)
    elif isinstance(error, (PolicyRuntimeError, StatsError)):
        kind, message = FailureKind.RUNTIME.value, str(error)
    elif isinstance(error, Diverged):
        kind, message = FailureKind.NAN.value, str(error)
    else:
        kind, message = FailureKind.ERROR.value, f"{type(error).__name__}: {error}"
    return FitnessResult(False, None, None, kind, message, time.perf_counter() - start, policy_hash)
