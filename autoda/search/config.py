"""A search run's configuration, typed.

RunConfig has a section per concern: what the run trains on (DataConfig), how each
candidate is trained and scored (TrainingConfig), how the search goes (SearchConfig),
where evaluations run (ExecutorConfig), and the LLM that proposes (LLMSettings as the
journal records it: never the key). The command line maps its options onto one and calls
`validate()`; the journal stores it as JSON (`to_dict`); `--resume` reads it back
(`from_dict`, which holds every value to the command line's bounds: anyone who could write
the run folder chose them) and applies what the command line gives again
(`with_overrides`).

The stored form is the flat layout every version so far wrote (the data and training keys
at the top, beside `search`, `llm` and, when not the defaults, `executor`), so journals
made before resume, and older versions can read newer run folders.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Iterator

from ..catalog import BASES, DATASETS, MAX_EPOCHS, MAX_LR, METHODS, MODELS, SEED_RANGE, SPLIT_FILE_KEYS
from ..errors import AutodaError
from .constrain import MODES
from .llm import LLMSettings


class ConfigError(AutodaError, ValueError):
    """A configuration that cannot run as asked (bad usage): the message names the option,
    or the stored key, to change."""

    kind = "config"


class UntrustedEndpoint(AutodaError):
    """A resumed run whose journal names an LLM server or a Ray cluster that the command
    line did not name again."""

    kind = "config"


# --- the bounds every value is held to (the command line's) --------------------------------

def _whole(low: int, high: int | None = None) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v and (high is None or v <= high)


def _number(low: float, high: float = math.inf, above: bool = False) -> Callable[[object], bool]:
    return lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                      and (v > low if above else v >= low) and v <= high)


def _optional(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or check(v)


def _one_of(*names: str) -> Callable[[object], bool]:
    return lambda v: isinstance(v, str) and v in names


_text = _optional(lambda v: isinstance(v, str))
_DEVICE = re.compile(r"cpu|cuda(:\d{1,2})?|mps")

# The stored top-level keys, in the order the stored form has always listed the damaged ones
_TOP = {"proposer": _one_of("llm", "offline"), "dataset": _one_of(*DATASETS), "imb_ratio": _number(1),
        "method": _one_of(*METHODS), "net": _one_of(*MODELS), "seed": _whole(*SEED_RANGE),
        "epochs": _whole(1, MAX_EPOCHS), "e_ckp": _whole(0, MAX_EPOCHS), "n_ft": _whole(1, MAX_EPOCHS),
        "batch_size": _whole(1), "lr": _number(0, MAX_LR, above=True),
        "device": lambda v: isinstance(v, str) and _DEVICE.fullmatch(v) is not None,
        "search": lambda v: isinstance(v, dict), "data_root": _text, "cache_dir": _text, "fitness_cache": _text,
        "download": _optional(lambda v: isinstance(v, bool)), "max_per_class": _optional(_whole(1)),
        "base": _optional(_one_of(*BASES)), "train_list": _text, "val_list": _text, "test_list": _text,
        "image_size": _optional(_whole(8))}
_EXECUTOR = {"kind": _one_of("local", "ray"), "workers": _whole(1), "cpus_per_eval": _optional(_whole(1)),
             "gpus_per_eval": _optional(_number(0)), "ray_address": _text, "retries": _whole(0),
             "eval_batch": _optional(_whole(1))}
# a stored LLM record: the model, and (optional) what LLMSettings.public() wrote beside it
_LLM = {"model": lambda v: isinstance(v, str), "base_url": _text, "timeout": _number(0, above=True),
        "retries": _whole(0), "temperature": _number(0), "max_tokens": _whole(1), "constrain": _one_of(*MODES)}


def _problems(stored: dict) -> list[str]:
    """The stored keys whose values are missing or out of bounds."""
    executor = stored.get("executor") if isinstance(stored.get("executor"), dict) else {}
    bad = [key for key, check in _TOP.items() if not check(stored.get(key))]
    bad += [f"executor.{key}" for key, check in _EXECUTOR.items() if key in executor and not check(executor[key])]
    if "e_ckp" not in bad and "epochs" not in bad and stored["e_ckp"] >= stored["epochs"]:
        bad.append("e_ckp (not below epochs)")
    llm = stored.get("llm")
    if llm is not None and not (isinstance(llm, dict) and "model" in llm
                                and all(check(llm[key]) for key, check in _LLM.items() if key in llm)):
        bad.append("llm")
    return bad


# --- the sections ----------------------------------------------------------------------------

# The training schedule a new run gets when the command line names none: under a minute on
# a CPU for the synthetic set, the paper's otherwise.
SCHEDULES = {"synthetic": {"epochs": 20, "e_ckp": 10, "n_ft": 4}, "other": {"epochs": 200, "e_ckp": 50, "n_ft": 20}}


def default_schedule(dataset: str) -> dict[str, int]:
    return SCHEDULES["synthetic" if dataset == "synthetic" else "other"]


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "synthetic"
    data_root: str | None = None
    download: bool = False  # this process may fetch CIFAR into data_root (workers never do)
    imb_ratio: float = 100.0
    cache_dir: str | None = None  # decoded image folders
    max_per_class: int | None = None  # caps the head class (n_max) of the long-tailed subset
    # a folder's split files and the side its images are resized to (ImageNet-LT, iNaturalist)
    train_list: str | None = None
    val_list: str | None = None
    test_list: str | None = None
    image_size: int | None = None

    def split_files(self) -> dict:
        """The split files and image size that are set, as load_dataset takes them."""
        return {key: getattr(self, key) for key in SPLIT_FILE_KEYS if getattr(self, key) is not None}


@dataclass(frozen=True)
class TrainingConfig:
    method: str = "ce"
    net: str = "resnet8"
    epochs: int = 20  # the recipe's length, which scales its milestones
    e_ckp: int = 10  # the shared checkpoint's epoch
    n_ft: int = 4  # fine-tuning epochs per candidate
    batch_size: int = 128
    lr: float = 0.1
    seed: int = 0  # the data split's and the training's
    device: str = "cpu"
    fitness_cache: str | None = None  # where the e_ckp checkpoint is cached
    base: str = "standard"  # the augmentation around every candidate (catalog.BASES)


@dataclass(frozen=True)
class SearchConfig:
    strategy: str = "evolve"  # or "simple"
    population: int = 4  # N
    parents: int = 2  # N_p, for crossover
    explore: int = 2  # N_e crossover offspring per generation
    mutations: int = 2  # N_m mutate offspring per generation
    generations: int = 2  # after the initial population
    repair_tries: int = 2
    max_evals: int | None = None
    max_time: float | None = None  # seconds of this process
    max_tokens: int | None = None
    seed: int = 0
    max_cost: float = 64.0
    policy_lang: str = "dsl"  # what proposers write: "dsl" or "python" (the paper's get_aug_type)
    baselines: tuple[tuple[str, str], ...] = ()  # (name, policy text), evaluated as references
    # noisy fitness (docs/search.md): successive-halving rungs, then fresh seeds for the leaders
    rungs: tuple[int, ...] = ()  # fine-tune epochs of each rung, increasing [one rung: the training n_ft]
    promote: int = 3  # eta: the top 1/eta (at least 1) of a generation's cohort at a rung go up one
    confirm_seeds: int = 0  # fresh seeds per leader and reference at the top rung, at the end
    confirm_top: int = 3  # the leaders that get them
    # then the scratch_top leaders and the best reference trained from scratch (the whole
    # schedule, scored on validation) with scratch_seeds seeds each: what the verdict measures
    scratch_seeds: int = 0
    scratch_top: int = 2
    max_epochs: int | None = None  # budget: fine-tune epochs summed over every evaluation
    # operators (docs/search.md): niches and smaller offspring; the leader's constants tuned by Optuna
    diversity: bool = False  # population and parents kept across niches; GP offspring simplified, size-bounded
    tune: int = 0  # offspring per generation whose constants Optuna tunes in the leader's structure
    build_on_references: bool = False  # the evaluated references join the population: parents, leaders to tune

    @classmethod
    def from_dict(cls, values: dict) -> "SearchConfig":
        """Stored settings, checked (a journal may be damaged or from another version):
        ValueError names the first bad one; settings this version does not know are left out."""
        known = {f.name: f for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        for name, value in values.items():
            if value is None and name in _BUDGETS:
                continue
            if name == "rungs":
                values[name] = _rungs(value)
            elif name == "baselines":
                if not (isinstance(value, (list, tuple)) and all(
                        isinstance(b, (list, tuple)) and len(b) == 2 and all(isinstance(x, str) for x in b)
                        for b in value)):
                    raise ValueError("baselines is not a list of (name, policy) pairs")
                values[name] = tuple(tuple(b) for b in value)
            elif isinstance(known[name].default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} is {value!r}")
            elif isinstance(known[name].default, str):
                if value not in _CHOICES.get(name, (value,)) or not isinstance(value, str):
                    raise ValueError(f"{name} is {value!r}")
            elif not _search_number(name, value, known[name].default):
                raise ValueError(f"{name} is {value!r}")
        return cls(**values)

    def _cohorts_at_rungs(self) -> Iterator[tuple[int, int]]:
        """(evaluations, rung index) of each planned cohort at each rung it reaches: all of
        it at the first, the top 1/promote (at least one) of what reached a rung at the next."""
        offspring = self.explore + self.mutations + self.tune
        for size in [1] if self.strategy == "simple" else [self.population] + [offspring] * self.generations:
            yield size, 0
            for rung in range(1, len(self.rungs)):
                size = min(size, max(1, size // self.promote))
                yield size, rung

    def planned(self) -> int:
        """Evaluations the strategy plans (besides the references' first): each cohort's
        rungs, and the confirmation of the leaders and the references."""
        return sum(size for size, _ in self._cohorts_at_rungs()) + self.confirmation_cost(0, 0)[0]

    def planned_epochs(self, n_ft: int, schedule: int) -> int:
        """Epochs of the planned evaluations (as ``planned`` counts them) and of the
        references' first, each at its rung (one rung: ``n_ft``); ``schedule``: the epochs of
        a training from scratch."""
        rungs = self.rungs or (n_ft,)
        cohorts = sum(size * rungs[rung] for size, rung in self._cohorts_at_rungs())
        return cohorts + len(self.baselines) * rungs[-1] + self.confirmation_cost(n_ft, schedule)[1]

    def scratch_count(self) -> int:
        """Trainings from scratch the confirmation ends with: scratch_seeds for each of the
        scratch_top leaders and for the best reference."""
        return self.scratch_seeds * (self.scratch_top + (1 if self.baselines else 0))

    def confirmation_cost(self, n_ft: int, schedule: int) -> tuple[int, int]:
        """Evaluations and epochs the confirmation needs: its fresh seeds for the leaders and
        the references at the top rung (the last of ``rungs``, else ``n_ft``), and its
        trainings from scratch (``schedule`` epochs each)."""
        fine_tunes = self.confirm_seeds * (self.confirm_top + len(self.baselines))
        scratch = self.scratch_count()
        return fine_tunes + scratch, fine_tunes * (self.rungs[-1] if self.rungs else n_ft) + scratch * schedule

    def check_budgets(self, n_ft: int, schedule: int) -> None:
        """ConfigError when --max-evals or --max-epochs would be spent by the confirmation alone."""
        evaluations, epochs = self.confirmation_cost(n_ft, schedule)
        for option, budget, needed in (("--max-evals", self.max_evals, evaluations),
                                       ("--max-epochs", self.max_epochs, epochs)):
            if budget is not None and needed and budget <= needed:
                raise ConfigError(f"{option} {budget} leaves nothing to search with: the confirmation alone takes "
                                  f"{needed} (--confirm-seeds x (--confirm-top + references), and --scratch-seeds "
                                  "x (--scratch-top + the best reference) trainings from scratch)")

    def stored(self) -> dict:
        """The stored form: the noisy-fitness and operator settings only where they are not the defaults,
        so a run that does not use them stores what earlier versions stored."""
        stored = asdict(self)
        for name in _OPTIONAL_SETTINGS:
            if stored[name] == _OPTIONAL_DEFAULTS[name]:
                del stored[name]
        return stored


_BUDGETS = ("max_evals", "max_time", "max_tokens", "max_epochs")
_CHOICES = {"strategy": ("evolve", "simple"), "policy_lang": ("dsl", "python")}
_AT_LEAST = {"promote": 1, "confirm_top": 1, "scratch_top": 1}  # the other counts may be 0
_OPTIONAL_SETTINGS = ("rungs", "promote", "confirm_seeds", "confirm_top", "scratch_seeds", "scratch_top",
                      "max_epochs", "diversity", "tune", "build_on_references")
_OPTIONAL_DEFAULTS = {f.name: f.default for f in fields(SearchConfig) if f.name in _OPTIONAL_SETTINGS}


def _rungs(value: object) -> tuple[int, ...]:
    """Stored rungs, checked: increasing whole numbers of fine-tune epochs."""
    whole = _whole(1, MAX_EPOCHS)
    if not (isinstance(value, (list, tuple)) and all(whole(n) for n in value)
            and all(a < b for a, b in zip(value, value[1:]))):
        raise ValueError(f"rungs is {value!r}, not increasing fine-tune epochs")
    return tuple(value)


def parse_rungs(text: str) -> tuple[int, ...]:
    """--rungs as the command line gives it ("2,5,10"); ValueError says what is wrong."""
    try:
        rungs = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{text!r} is not a list of whole numbers such as 2,5,10") from None
    if any(n < 1 or n > MAX_EPOCHS for n in rungs):
        raise ValueError(f"{text!r}: each rung is 1 to {MAX_EPOCHS} fine-tune epochs")
    if any(a >= b for a, b in zip(rungs, rungs[1:])):
        raise ValueError(f"{text!r}: the rungs must increase (the top rung is the last)")
    return rungs


def _search_number(name: str, value: object, default: object) -> bool:
    """Whether a stored search number is one: whole where the setting counts, finite (but
    max_time, which may be unbounded), not negative (but the seed, in its range)."""
    kinds = (int,) if isinstance(default, int) or name in ("max_evals", "max_tokens", "max_epochs") else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or math.isnan(value):
        return False
    if math.isinf(value) and name != "max_time":
        return False
    if name == "seed":
        return SEED_RANGE[0] <= value <= SEED_RANGE[1]
    return value >= _AT_LEAST.get(name, 0)


@dataclass(frozen=True)
class ExecutorConfig:
    kind: str = "local"  # or "ray"
    workers: int = 1  # evaluations at once
    cpus_per_eval: int | None = None  # torch threads per evaluation [local: cores / workers; ray: 1]
    gpus_per_eval: float = 0.0  # Ray only
    ray_address: str | None = None  # Ray only: the cluster to join [start a local one]
    retries: int = 2  # of an evaluation whose worker died
    # candidates fine-tuned at once as one packed network [None: FitnessEvaluator.default_eval_batch,
    # 16 on a GPU for a network that packs, else 1]
    eval_batch: int | None = None


# --- the run -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RunConfig:
    proposer: str  # "llm" or "offline"
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    llm: LLMSettings | None = None  # as recorded: api_key is always None here

    def __post_init__(self) -> None:
        if self.llm is not None and self.llm.api_key is not None:  # the key lives in the caller's settings only
            object.__setattr__(self, "llm", replace(self.llm, api_key=None))

    def data_args(self) -> dict:
        """load_dataset's keyword arguments for this run's data (but download: only the
        driver fetches data), for the driver and every evaluation worker."""
        d = self.data
        return {"name": d.dataset, "data_root": d.data_root, "imb_ratio": d.imb_ratio, "seed": self.training.seed,
                "cache_dir": d.cache_dir, "max_per_class": d.max_per_class, **d.split_files()}

    # --- checks ------------------------------------------------------------------------

    def validate(self) -> None:
        """ConfigError, worded as the command line's options, when a new run cannot start so."""
        t, d = self.training, self.data
        if self.proposer == "llm" and self.llm is None:
            raise ConfigError("--proposer llm needs --llm-model (or AUTODA_MODEL)")
        if self.search.tune and self.search.policy_lang == "python":
            raise ConfigError("--tune moves the constants of policy-language programs; a Python search cannot use it")
        if self.proposer == "offline" and self.search.policy_lang == "python":
            raise ConfigError("--policy-lang python needs an LLM: give --llm-model (or AUTODA_MODEL); "
                              "the offline proposer writes the policy language")
        if d.data_root and d.dataset == "folder" and not Path(d.data_root).exists():
            raise ConfigError(f"--data-root {d.data_root!r}: no such file or folder")
        if isinstance(t.e_ckp, int) and isinstance(t.epochs, int) and t.e_ckp >= t.epochs:
            raise ConfigError("--e-ckp must be below --epochs")
        bad = _problems(self.to_dict())  # what --resume would refuse (a device torch takes but a run does not)
        if bad:
            raise ConfigError(f"bad settings: {', '.join(bad)} (out of the bounds a stored run is held to)")
        try:
            SearchConfig.from_dict(asdict(self.search))
        except ValueError as error:
            raise ConfigError(f"the search settings are not usable ({error})") from None

    # --- the stored form -----------------------------------------------------------------

    def to_dict(self) -> dict:
        """The stored form (JSON-ready; the flat layout of every earlier version)."""
        d, t = self.data, self.training
        stored = {"proposer": self.proposer, "dataset": d.dataset, "data_root": d.data_root, "download": d.download,
                  "imb_ratio": d.imb_ratio, "method": t.method, "net": t.net, "batch_size": t.batch_size,
                  "lr": t.lr, "seed": t.seed, "device": t.device, "cache_dir": d.cache_dir,
                  "fitness_cache": t.fitness_cache, "llm": None if self.llm is None else self.llm.public(),
                  "epochs": t.epochs, "e_ckp": t.e_ckp, "n_ft": t.n_ft, "search": self.search.stored()}
        if d.max_per_class is not None:  # written only when set: a run without it stores what it always did
            stored["max_per_class"] = d.max_per_class
        stored.update(d.split_files())  # the same
        if t.base != "standard":  # the same
            stored["base"] = t.base
        if self.executor != ExecutorConfig():  # left out as before executors: a default run's file is unchanged
            stored["executor"] = asdict(self.executor)
        return stored

    @classmethod
    def from_dict(cls, stored: object) -> "RunConfig":
        """A stored configuration, checked: ConfigError (one line) when it is not one, or
        holds a value the command line would not take. Keys an earlier version did not
        write get their defaults; keys this version does not know are left out."""
        if not isinstance(stored, dict):
            raise ConfigError("the journal holds no readable run configuration (not a run, or damaged)")
        bad = _problems(stored)
        if bad:
            raise ConfigError(f"the stored configuration is damaged or from another version "
                              f"(missing or bad: {', '.join(bad)})")
        try:
            search = SearchConfig.from_dict(stored["search"])
        except ValueError as error:
            raise ConfigError(f"the stored search settings are damaged ({error})") from None
        return cls(stored["proposer"], _section(DataConfig, stored), _section(TrainingConfig, stored), search,
                   _section(ExecutorConfig, stored.get("executor")), _llm_record(stored.get("llm")))

    @classmethod
    def read(cls, stored: object) -> "RunConfig | None":
        """For what only shows a run (reports, `runs list`): its configuration, or None
        when there is none or it is damaged."""
        try:
            return cls.from_dict(stored)
        except ConfigError:
            return None

    # --- a resumed run -------------------------------------------------------------------

    def with_overrides(self, *, budgets: dict | None = None, executor: dict | None = None,
                       base_url: str | None = None, has_key: bool = False) -> "RunConfig":
        """This configuration with what a command line gives again: budgets (max_evals,
        max_time, max_tokens) and executor options replace the stored ones (None: not
        given). ``base_url`` is the LLM server the command line names (--base-url or
        OPENAI_BASE_URL), ``has_key`` whether an API key is set.

        A stored configuration is read without trust: a stored LLM server would be sent the
        API key, and a stored Ray cluster's results are unpickled (run) in this process, so
        each is used only when named again; UntrustedEndpoint says which to name."""
        given = {k: v for k, v in (executor or {}).items() if v is not None}
        merged = replace(self, search=replace(self.search, **{k: v for k, v in (budgets or {}).items()
                                                              if v is not None}),
                         executor=replace(self.executor, **given))
        if merged.executor.kind == "local" and (given.get("gpus_per_eval") or given.get("ray_address")):
            raise ConfigError("--gpus-per-eval and --ray-address are for --executor ray")
        if (merged.executor.eval_batch or 1) > 1 and (merged.executor.kind != "local" or merged.executor.workers > 1):
            raise ConfigError("--eval-batch packs candidates in this process: it is for --executor local with one "
                              "worker")
        stored_url = self.llm.base_url if self.llm is not None and self.proposer == "llm" else None
        if stored_url and has_key and not base_url:
            raise UntrustedEndpoint(
                f"this run's LLM server is {stored_url!r}, as its journal says; the API key goes only to a server "
                f"named here: resume with --base-url (or OPENAI_BASE_URL)")
        ray = merged.executor
        if ray.kind == "ray" and ray.ray_address and not given.get("ray_address"):
            raise UntrustedEndpoint(
                f"this run evaluated on the Ray cluster at {ray.ray_address!r}, as its journal says; a cluster's "
                f"results run as code here, so it is joined only when named: resume with --ray-address")
        return merged

    def llm_settings(self, given: LLMSettings | None, *, base_url: str | None,
                     api_key: str | None) -> LLMSettings | None:
        """The LLM this run calls: the one the command line gives, else (an LLM run resumed
        without one) the recorded model at the server named now, or at the recorded one
        (with_overrides allowed it: no key goes there). LLMSetupError for a recorded URL
        that is not one."""
        if given is not None or self.proposer != "llm" or self.llm is None:
            return given
        return LLMSettings.resolve(self.llm.model, base_url or self.llm.base_url, api_key, constrain=self.llm.constrain)


def _section(kind: type, values: object):
    """A section from the stored keys it knows (defaults for those an earlier version did
    not write; a stored null where the section has a default reads as that default)."""
    values = values if isinstance(values, dict) else {}
    known = {f.name: f.default for f in fields(kind)}
    return kind(**{k: (v if v is not None or known[k] is None else known[k])
                   for k, v in values.items() if k in known})


def _llm_record(stored: dict | None) -> LLMSettings | None:
    """The recorded LLM (never a key: one in a journal is not read)."""
    if stored is None:
        return None
    return LLMSettings(**{k: v for k, v in stored.items() if k in _LLM})
