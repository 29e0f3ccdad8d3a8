"""Experiments: a grid of methods x policies x seeds on one data set and imbalance ratio,
run cell by cell, each cell's result written atomically as JSON, so an interrupted
experiment continues where it stopped.

Each cell trains from scratch with the standard recipe (scaled to ``epochs``), picks the
epoch with the best balanced validation accuracy (validation only: the test split plays no
part in any choice), and reports that model's validation and test accuracy (many, medium,
few, all, per class), with its seed, device, torch version and split sizes.

    dataset = "folder"
    data_root = "../shared/data/cifar10-jpg.tar.gz"
    imb_ratio = 100
    methods = ["ce", "bs"]
    policies = ["none", "randaugment", "cuda", "doda", "runs/my-search/best.dsl"]
    seeds = [0, 1, 2]
    epochs = 30
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .catalog import DATASETS, METHODS, MODELS, default_net
from .compiler import CheckedPolicy, check_policy
from .files import write_json

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


class ExperimentError(ValueError):
    """A configuration that cannot run."""


@dataclass(frozen=True)
class Experiment:
    dataset: str
    methods: tuple[str, ...]
    policies: tuple[str, ...]  # example policy names or files
    seeds: tuple[int, ...] = (0, 1, 2)
    imb_ratio: float = 100
    data_root: str | None = None
    epochs: int = 200
    net: str = "auto"
    batch_size: int = 128
    lr: float = 0.1
    device: str = "auto"
    select: str = "best-val"  # or "last"
    data_seed: int = 0  # the long-tailed subset and the val/test halves; seeds vary the training
    base: Path = field(default=Path("."), compare=False)  # policy files are relative to the config

    @classmethod
    def load(cls, path: str | Path) -> "Experiment":
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ExperimentError(f"cannot read {path}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise ExperimentError(f"{path}: not valid TOML ({error})") from None
        known = {f for f in cls.__dataclass_fields__ if f != "base"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ExperimentError(f"{path}: unknown keys {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key in ("dataset", "methods", "policies"):
            if key not in raw:
                raise ExperimentError(f"{path}: '{key}' is required")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        experiment = cls(**values, base=path.parent)
        experiment.validate()
        return experiment

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise ExperimentError(f"dataset {self.dataset!r}: choose from {', '.join(DATASETS)}")
        for method in self.methods:
            if method not in METHODS:
                raise ExperimentError(f"method {method!r}: choose from {', '.join(METHODS)}")
        if self.net not in ("auto",) + MODELS:
            raise ExperimentError(f"net {self.net!r}: choose from auto, {', '.join(MODELS)}")
        if self.select not in ("best-val", "last"):
            raise ExperimentError("select: 'best-val' or 'last'")
        if not self.seeds or not self.methods or not self.policies:
            raise ExperimentError("methods, policies and seeds must not be empty")
        for policy in self.policies:
            self.policy_text(policy)

    def policy_text(self, policy: str) -> tuple[str, str]:
        """(label, text) of a policy: an example's name, or a file relative to the config."""
        from .search.run import example_policies

        examples = example_policies()
        if policy in examples:
            return policy, examples[policy]
        path = Path(policy) if Path(policy).is_absolute() else self.base / policy
        if not path.is_file() and Path(policy).is_file():  # relative to where it runs, failing the config
            path = Path(policy)
        if not path.is_file():
            raise ExperimentError(f"policy {policy!r} is neither an example ({', '.join(examples)}) nor a file")
        text = path.read_text(encoding="utf-8")
        return (path.parent.name if path.name in ("best.dsl", "best.py") else path.stem), text

    def cells(self) -> list[tuple[str, str, int]]:
        return [(m, p, s) for m in self.methods for p in self.policies for s in self.seeds]

    def fingerprint(self) -> str:
        """What a cell's result depends on, besides its own method, policy and seed."""
        spec = {k: v for k, v in asdict(self).items() if k not in ("methods", "policies", "seeds", "base", "device")}
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cell_name(method: str, label: str, seed: int) -> str:
    return f"{method}__{label}__seed{seed}"


def run_cell(experiment: Experiment, data, method: str, label: str, checked: CheckedPolicy, seed: int,
             device: str, on_epoch: Callable | None = None) -> dict:
    import torch

    from .engine.augment import training_policy
    from .engine.trainer import Recipe, build_trainer

    recipe = Recipe.for_epochs(experiment.epochs, batch_size=experiment.batch_size, lr=experiment.lr)
    net = experiment.net if experiment.net != "auto" else default_net(experiment.dataset)
    trainer = build_trainer(data, training_policy(checked), method, net, recipe, device, seed)
    started = time.perf_counter()
    best, best_epoch, best_state = None, None, None
    for epoch in range(experiment.epochs):
        log = trainer.run_epoch()
        if on_epoch is not None:
            on_epoch(log)
        if experiment.select == "best-val" or epoch == experiment.epochs - 1:
            score = trainer.evaluate(data.val)["all"]
            if experiment.select == "last" or best is None or score > best:
                best, best_epoch = score, epoch
                best_state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    trainer.model.load_state_dict(best_state)
    result = {"method": method, "policy": label, "policy_hash": checked.hash, "seed": seed, "net": net,
            "selected_epoch": best_epoch, "selection": experiment.select,
            "val": trainer.evaluate(data.val), "test": trainer.evaluate(data.test),
            "device": str(device), "torch": torch.__version__, "split_sizes": data.sizes(),
            "train_counts": data.train.counts().tolist(), "dataset": experiment.dataset,
            "imb_ratio": experiment.imb_ratio, "epochs": experiment.epochs, "recipe": recipe.to_dict(),
            "seconds": time.perf_counter() - started, "fingerprint": experiment.fingerprint()}
    return json.loads(json.dumps(result))  # as a resumed run reads it back: lists, not tuples


def run_experiment(experiment: Experiment, out: Path, device: str, cache_dir: str | None = None,
                   on_cell: Callable[[str, str], None] | None = None, on_epoch: Callable | None = None) -> list[dict]:
    """Run every cell whose result is missing (or was made with another configuration or
    another version of its policy)."""
    from .engine.data import load_dataset

    say = on_cell or (lambda name, status: None)
    cells_dir = out / "cells"
    resolved = {policy: experiment.policy_text(policy) for policy in experiment.policies}  # (label, text)
    write_json(out / "experiment.json", {**{k: v for k, v in asdict(experiment).items() if k != "base"},
                                        "policy_texts": dict(resolved.values())})
    fingerprint = experiment.fingerprint()
    checked: dict[str, CheckedPolicy] = {}  # checked when a cell first needs it, as the cells come
    results, data = [], None
    for method, policy, seed in experiment.cells():
        label, text = resolved[policy]
        if policy not in checked:
            checked[policy] = check_policy(text)
        name = cell_name(method, label, seed)
        path = cells_dir / f"{name}.json"
        if path.exists():
            existing = json.loads(path.read_text())
            # the same configuration and the same policy (a file may have changed since)
            if existing.get("fingerprint") == fingerprint and existing.get("policy_hash") == checked[policy].hash:
                results.append(existing)
                say(name, "done before")
                continue
        if data is None:  # one split for every cell, so rows differ only by method, policy and seed
            data = load_dataset(experiment.dataset, experiment.data_root, experiment.imb_ratio, experiment.data_seed,
                                cache_dir=cache_dir)
        say(name, "running")
        result = run_cell(experiment, data, method, label, checked[policy], seed, device, on_epoch)
        write_json(path, result)
        results.append(result)
        say(name, f"test {100 * result['test']['all']:.2f}%")
    return results
