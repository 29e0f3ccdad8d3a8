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
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from .catalog import BASES, DATASETS, MAX_EPOCHS, MAX_LR, METHODS, MODELS, SEED_RANGE, SPLIT_FILE_KEYS, default_net
from .compiler import CheckedPolicy
from .errors import AutodaError
from .files import FileTooLarge, NotARegularFile, read_limited, write_json
from .policies import check_policy  # either language: a config may name a .py policy

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


class ExperimentError(AutodaError, ValueError):
    """A configuration that cannot run."""


_LABEL = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a row's label in ``label=file``
MAX_CONFIG_BYTES = 1 << 20  # a grid of a few dozen lines; far more is not a configuration
_SEEDS = f"[{SEED_RANGE[0]}, {SEED_RANGE[1]}]"

# What each key of a configuration holds: (a check, what to say when it fails)
_KINDS = {
    "dataset": (lambda v: isinstance(v, str), "a string"),
    "methods": (lambda v: _list_of(v, str), "a list of strings"),
    "policies": (lambda v: _list_of(v, str), "a list of strings"),
    "seeds": (lambda v: _list_of(v, int) and all(_seed(s) for s in v), f"a list of whole numbers in {_SEEDS}"),
    "imb_ratio": (lambda v: _number(v) and v >= 1, "a number >= 1"),
    "data_root": (lambda v: isinstance(v, str), "a string (a path)"),
    "epochs": (lambda v: _whole(v) and 1 <= v <= MAX_EPOCHS, f"a whole number >= 1 and <= {MAX_EPOCHS}"),
    "net": (lambda v: isinstance(v, str), "a string"),
    "batch_size": (lambda v: _whole(v) and v >= 1, "a whole number >= 1"),
    "lr": (lambda v: _number(v) and 0 < v <= MAX_LR, f"a number > 0 and <= {MAX_LR:g}"),
    "device": (lambda v: isinstance(v, str), "a string"),
    "select": (lambda v: isinstance(v, str), "a string"),
    "data_seed": (lambda v: _seed(v), f"a whole number in {_SEEDS}"),
    "max_per_class": (lambda v: _whole(v) and v >= 1, "a whole number >= 1"),
    "base": (lambda v: v in BASES, f"one of {', '.join(BASES)}"),
    **{key: (lambda v: isinstance(v, str), "a string (a split file)") for key in SPLIT_FILE_KEYS[:3]},
    "image_size": (lambda v: _whole(v) and v >= 8, "a whole number >= 8"),
    "published": (lambda v: isinstance(v, dict) and all(isinstance(k, str) and k.count("/") == 1 and _number(x)
                                                        for k, x in v.items()),
                  'a table of "method/policy" = a published accuracy in %'),
}


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seed(value: object) -> bool:
    return _whole(value) and SEED_RANGE[0] <= value <= SEED_RANGE[1]


def _number(value: object) -> bool:
    return (_whole(value) or isinstance(value, float)) and value == value and abs(value) != float("inf")


def _list_of(value: object, kind: type) -> bool:
    return isinstance(value, list) and all(_whole(v) if kind is int else isinstance(v, kind) for v in value)


def _check_type(path: Path, key: str, value: object) -> None:
    check, kind = _KINDS[key]
    if not check(value):
        raise ExperimentError(f"{path}: '{key}' must be {kind}, got {value!r}")


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
    max_per_class: int | None = None  # caps the head class of the long-tailed subset
    base: str = "standard"  # the augmentation around each policy: standard, paper or none (catalog.BASES)
    # a folder's split files and image size (catalog.SPLIT_FILE_KEYS: ImageNet-LT, iNaturalist)
    train_list: str | None = None
    val_list: str | None = None
    test_list: str | None = None
    image_size: int | None = None
    # "method/policy label" -> a published test accuracy in % (the paper's), shown beside the measured
    published: dict = field(default_factory=dict, compare=False)
    folder: Path = field(default=Path("."), compare=False)  # policy files are relative to the config

    @classmethod
    def load(cls, path: str | Path) -> "Experiment":
        path = Path(path)
        try:
            raw = tomllib.loads(read_limited(path, MAX_CONFIG_BYTES).decode("utf-8"))
        except (FileTooLarge, NotARegularFile) as error:
            raise ExperimentError(f"cannot read {path}: {error.reason}") from None
        except OSError as error:
            raise ExperimentError(f"cannot read {path}: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise ExperimentError(f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
                                  f"{error.start})") from None
        except tomllib.TOMLDecodeError as error:
            raise ExperimentError(f"{path}: not valid TOML ({error})") from None
        return cls.from_dict(raw, path)

    @classmethod
    def from_dict(cls, raw: dict, path: str | Path = "the experiment") -> "Experiment":
        """An experiment from a configuration's keys (a TOML file's, or a preset's), checked;
        policy files are relative to ``path``'s folder."""
        path = Path(path)
        known = {f for f in cls.__dataclass_fields__ if f != "folder"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ExperimentError(f"{path}: unknown keys {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key in ("dataset", "methods", "policies"):
            if key not in raw:
                raise ExperimentError(f"{path}: '{key}' is required")
        for key, value in raw.items():
            _check_type(path, key, value)
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        experiment = cls(**values, folder=path.parent)
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
        if self.base not in BASES:
            raise ExperimentError(f"base {self.base!r}: choose from {', '.join(BASES)}")
        if self.select not in ("best-val", "last"):
            raise ExperimentError("select: 'best-val' or 'last'")
        if not self.seeds or not self.methods or not self.policies:
            raise ExperimentError("methods, policies and seeds must not be empty")
        labels = [self.policy_text(policy)[0] for policy in self.policies]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ExperimentError(f"policies: two rows are labelled {', '.join(map(repr, twice))} (name one label=file)")

    def with_changes(self, **changes) -> "Experiment":
        """This experiment with the given values (None: keep), checked again."""
        changed = replace(self, **{k: v for k, v in changes.items() if v is not None})
        changed.validate()
        return changed

    def policy_text(self, policy: str) -> tuple[str, str]:
        """(label, text) of a policy: an example's name, or a file relative to the config
        (or to where the command runs); ``label=file`` names its row. A file that cannot be
        read as a policy raises PolicyError, as `autoda compile` reports it."""
        from .policies import PolicyNotFound, resolve_policy

        label, named, target = policy.partition("=")
        named = named and _LABEL.fullmatch(label) is not None  # else '=' is part of a file's name
        try:
            found, text, _ = resolve_policy(target if named else policy, self.folder)
        except PolicyNotFound as error:
            raise ExperimentError(f"policy {error}") from None
        return (label if named else found), text

    def cells(self) -> list[tuple[str, str, int]]:
        return [(m, p, s) for m in self.methods for p in self.policies for s in self.seeds]

    def fingerprint(self) -> str:
        """What a cell's result depends on, besides its own method, policy and seed."""
        spec = {k: v for k, v in asdict(self).items()
                if k not in ("methods", "policies", "seeds", "folder", "device", "published")}
        for key, unset in (("max_per_class", None), ("base", "standard"), *((k, None) for k in SPLIT_FILE_KEYS)):
            if spec[key] == unset:  # left out when unset: results made before the key still count
                del spec[key]
        # a whole number is one however it came (100 from a TOML file, 100.0 from an option)
        spec = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in spec.items()}
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cell_name(method: str, label: str, seed: int) -> str:
    return f"{method}__{label}__seed{seed}"


def run_cell(experiment: Experiment, data, method: str, label: str, checked: CheckedPolicy, seed: int,
             device: str, on_epoch: Callable | None = None) -> dict:
    from .engine.train.metrics import training_record
    from .engine.train.trainer import Recipe, build_trainer

    recipe = Recipe.for_epochs(experiment.epochs, batch_size=experiment.batch_size, lr=experiment.lr)
    net = experiment.net if experiment.net != "auto" else default_net(experiment.dataset, experiment.image_size)
    trainer = build_trainer(data, checked, method, net, recipe, device, seed, experiment.base)
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
    accuracies = {"val": trainer.evaluate(data.val), "test": trainer.evaluate(data.test)}
    made = training_record(data, trainer.recipe, dataset=experiment.dataset, imb_ratio=experiment.imb_ratio,
                           method=method, net=net, epochs=experiment.epochs, seed=seed, device=device,
                           seconds=time.perf_counter() - started, max_per_class=experiment.max_per_class)
    result = {"policy": label, "policy_hash": checked.hash, "selected_epoch": best_epoch,
              "selection": experiment.select, **accuracies, **made, "fingerprint": experiment.fingerprint()}
    return json.loads(json.dumps(result))  # as a resumed run reads it back: lists, not tuples


def run_experiment(experiment: Experiment, out: Path, device: str, cache_dir: str | None = None,
                   on_cell: Callable[[str, str], None] | None = None, on_epoch: Callable | None = None) -> list[dict]:
    """Run every cell whose result is missing (or was made with another configuration or
    another version of its policy)."""
    from .engine.train.data import load_dataset

    say = on_cell or (lambda name, status: None)
    cells_dir = out / "cells"
    resolved = {policy: experiment.policy_text(policy) for policy in experiment.policies}  # (label, text)
    write_json(out / "experiment.json", {**{k: v for k, v in asdict(experiment).items() if k != "folder"},
                                        "policy_texts": dict(resolved.values())})
    fingerprint = experiment.fingerprint()
    # every policy checked before the first cell trains, so a bad one stops the run at once;
    # diagnostics name the policy as the config does
    checked = {policy: check_policy(text, file=policy) for policy, (label, text) in resolved.items()}
    results, data = [], None
    for method, policy, seed in experiment.cells():
        label, text = resolved[policy]
        name = cell_name(method, label, seed)
        path = cells_dir / f"{name}.json"
        existing = _finished(path)
        if existing is not None:
            # the same configuration and the same policy (a file may have changed since)
            if existing.get("fingerprint") == fingerprint and existing.get("policy_hash") == checked[policy].hash:
                results.append(existing)
                say(name, "done before")
                continue
        if data is None:  # one split for every cell, so rows differ only by method, policy and seed
            data = load_dataset(experiment.dataset, experiment.data_root, experiment.imb_ratio, experiment.data_seed,
                                cache_dir=cache_dir, max_per_class=experiment.max_per_class,
                                **{k: getattr(experiment, k) for k in SPLIT_FILE_KEYS})
        say(name, "running")
        result = run_cell(experiment, data, method, label, checked[policy], seed, device, on_epoch)
        write_json(path, result)
        results.append(result)
        say(name, f"test {100 * result['test']['all']:.2f}%")
    return results


def _finished(path: Path) -> dict | None:
    """A cell's stored result, or None when there is none or it is damaged (truncated,
    edited into something else): the cell then runs again and its file is replaced."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
        return None
    return result if isinstance(result, dict) else None
