"""Numeric constants tuned inside a policy's structure, by Optuna.

A search proposes a structure (which ops, which statistics, which state) and its numbers
together; this module keeps the structure and moves the numbers. A *constant* is a
number literal the tuner may change; the *structure* is the policy with its constants
left blank (``structure_key``), so every policy tuned from one structure shares its key,
and the journal's evaluated rows of that key are the structure's history.

Which literals are constants: by group, then in text order, at most ``max_constants``
(MAX_CONSTANTS), and with the box each may move in:

1. a whole stage parameter, a bound of a per-sample ``uniform`` magnitude, or a bound of
   a ``clip`` that is a whole stage parameter: the range the checker admits there ([0, 1]
   for magnitudes and probabilities, a float; [0, number of ops] for a count, an int);
2. a state's initial value: its declared range, in the state's type;
3. any other literal of the per-sample section, then 4. of the epoch section ("free"
   literals): within a factor FACTOR of its value, of the same sign (a log scale for a
   positive float), its type kept (the checker's types may need an int there).

Never constants: state ranges (the proofs everything else rests on), exponents of ``**``
(the type checker wants a literal there: a power is structure), a whole weight (a
constant weight treats every op alike, whatever its value), and a free 0 (no factor moves
it). So which literals are constants does not depend on their values, except for a free
0, which no tuning makes: a tuned policy has its structure's key. Each box is then
tightened by the checker itself, the other constants at their values: an edge that does
not check is bisected towards the value. A box is a search space, not a proof (two
constants may each fit alone and not together): every proposal is checked, and one that
does not check is dropped. Floats are rounded to 3 significant digits, so the policies
stay readable and a journaled value is what was proposed.

``propose`` is an ask-and-tell tuner with no state of its own: it rebuilds an Optuna study
from the history of (values, fitness) pairs it is given (``optuna.trial.create_trial``,
``study.add_trial``), asks with a sampler seeded by ``seed``, and returns checked
policies; so a resumed search, giving the same history and seed, gets the same proposals.
The sampler is TPE, or CMA-ES (``sampler="cmaes"``, needs ``pip install 'autoda[cmaes]'``)
where every constant is a float; as no optimiser state outlives a call, CMA-ES is
warm-started from the history (Optuna's ``source_trials``, WS-CMA-ES) once it holds ten
results, and samples around the middle of the box before. Optuna is imported when first
used, and says nothing on stderr.
"""
from __future__ import annotations

import contextlib
import functools
import math
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import Iterator, Mapping, Sequence

from ..compiler import CheckedPolicy, PolicyError, ast, canonical_hash, check_policy, format_policy
from ..compiler.cost import DEFAULT_BUDGET
from ..compiler.functions import is_per_sample_draw
from . import tree

MAX_CONSTANTS = 8  # constants tuned per structure: TPE and CMA-ES need few evaluations per dimension
FACTOR = 4.0  # a free literal moves within [value / FACTOR, value * FACTOR]
DIGITS = 3  # significant digits of a tuned float
BISECTIONS = 8  # checks per box edge that does not check
STARTUP = 5  # TPE samples at random until this many results: a structure gets few evaluations
TRIES = 10  # asks per wanted proposal before giving up (duplicates and proposals that do not check)
SAMPLERS = ("tpe", "cmaes")

Number = int | float
History = Sequence[tuple[Mapping[str, Number], float | None]]


@dataclass(frozen=True)
class Constant:
    """A tunable number literal: its name (``c<i>``, i its index among all the policy's
    number literals in canonical text order), value, box and where it stands."""

    name: str
    value: Number
    lo: Number
    hi: Number
    integer: bool
    log: bool
    where: str

    def admits(self, x: object) -> bool:
        """Whether ``x`` (a journaled value) is a value of this constant's box."""
        return (isinstance(x, (int, float)) and not isinstance(x, bool) and self.lo <= x <= self.hi
                and (not self.integer or float(x).is_integer()))

    def snap(self, x: float) -> Number:
        """A sampled value as the policy writes it: an int, or a float of DIGITS
        significant digits, inside the box."""
        if self.integer:
            return int(min(max(round(x), self.lo), self.hi))
        return min(max(_significant(x), self.lo), self.hi)


@dataclass(frozen=True)
class Tuned:
    """A proposal: the checked policy (named after the structure's policy), its canonical
    text and the constants' values (``Constant.name`` -> value), to journal with it."""

    text: str
    params: dict[str, Number]
    checked: CheckedPolicy = field(repr=False)


# --- which literals are constants ------------------------------------------------------

@dataclass(frozen=True)
class _Site:
    node: ast.Num
    index: int
    priority: int | None  # the group, from 0: the first tuned first; None: never tuned
    box: tuple[Number, Number, bool] | None  # (lo, hi, integer) the position admits; None: a free literal
    where: str


def _with_parents(root: ast.Expr) -> Iterator[tuple[ast.Expr, ast.Expr | None]]:
    """Every node of ``root`` with its parent, in text order (iterative, as ast.walk)."""
    stack: list[tuple[ast.Expr, ast.Expr | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack.extend((child, node) for child in reversed(ast.children(node)))


def _bounds(role: str, root: ast.Expr) -> list[ast.Expr]:
    """The expressions of a stage parameter that take the parameter's own range (none of
    a weight's: a weight only needs to be >= 0)."""
    if role == "weight":
        return []
    if role == "magnitude" and is_per_sample_draw(root):
        return list(root.args)
    if isinstance(root, ast.Call) and root.func == "clip":
        return [root, *root.args[1:]]
    return [root]


def _expr_sites(root: ast.Expr, where: str, free: int, boxed: set[int] = frozenset(), box=None,
                never: set[int] = frozenset()) -> Iterator[tuple]:
    """(literal, priority, box, where) of each literal in ``root``: ``boxed`` ones (by id)
    get ``box`` and priority 0, ``never`` ones and exponents None, the others ``free``
    (None for a 0)."""
    for node, parent in _with_parents(root):
        if not isinstance(node, ast.Num):
            continue
        exponent = isinstance(parent, ast.Binary) and parent.op == "**" and node is parent.right
        if exponent or id(node) in never:
            yield node, None, None, where
        elif id(node) in boxed:
            yield node, 0, box, where
        else:
            yield node, free if node.value != 0 else None, None, where


def _stage_sites(stage: ast.Stage) -> Iterator[tuple]:
    label = "apply" if isinstance(stage, ast.Apply) else stage.op.name
    for role, root in ast.stage_exprs(stage):
        box = (0, len(stage.ops), True) if role == "count" else (0.0, 1.0, False)
        never = {id(root)} if role == "weight" else set()  # a constant weight treats every op alike
        yield from _expr_sites(root, f"{role} of {label}", 2, {id(e) for e in _bounds(role, root)}, box, never)


def _sites(policy: ast.Policy) -> list[_Site]:
    """Every number literal of the policy, in canonical text order, with its priority."""
    found: list[tuple] = []
    for decl in policy.states:
        found += [(x, None, None, f"range of {decl.name}") for x in (decl.lo, decl.hi) if x is not None]
        if isinstance(decl.init, ast.Num):
            found.append((decl.init, 1, (decl.lo.value, decl.hi.value, decl.type == "int"), f"initial {decl.name}"))
    for statement in policy.epoch or ():
        found += _expr_sites(statement.value, f"epoch: {statement.name}", 3)
    for stage in ast.single_stages(policy.stages):
        found += _stage_sites(stage)
    return [_Site(node, i, priority, box, where) for i, (node, priority, box, where) in enumerate(found)]


def _chosen(policy: ast.Policy, max_constants: int) -> list[_Site]:
    """The tuned sites: by priority, then text order, at most ``max_constants``."""
    tunable = [s for s in _sites(policy) if s.priority is not None]
    return sorted(sorted(tunable, key=lambda s: (s.priority, s.index))[:max_constants], key=lambda s: s.index)


def _policy(source: str | CheckedPolicy, max_cost: float) -> CheckedPolicy:
    return source if isinstance(source, CheckedPolicy) else _checked_text(source, max_cost)


@functools.lru_cache(maxsize=1024)
def _checked_text(text: str, max_cost: float) -> CheckedPolicy:
    """Journal rows are read again for every history: each text is checked once."""
    return check_policy(text, max_cost=max_cost)


def structure_key(source: str | CheckedPolicy, max_constants: int = MAX_CONSTANTS,
                  max_cost: float = DEFAULT_BUDGET) -> str:
    """The hash of the policy's structure: its canonical hash with the constants left
    blank, so every policy ``propose`` makes from a structure has the structure's key.
    Raises PolicyError for text that does not check."""
    policy = _policy(source, max_cost).ast
    blank = {id(s.node): ast.Name("_") for s in _chosen(policy, max_constants)}
    return canonical_hash(tree.replace_all(policy, blank))


def values_of(source: str | CheckedPolicy, max_constants: int = MAX_CONSTANTS,
              max_cost: float = DEFAULT_BUDGET) -> dict[str, Number]:
    """The constants' values in a policy (``c<i>`` -> value): with its fitness, what a
    history entry holds."""
    return {f"c{s.index}": s.node.value for s in _chosen(_policy(source, max_cost).ast, max_constants)}


def history_for(structure: str | CheckedPolicy, evaluated: Sequence[tuple[str, float | None]],
                max_constants: int = MAX_CONSTANTS,
                max_cost: float = DEFAULT_BUDGET) -> list[tuple[dict[str, Number], float | None]]:
    """The history ``propose`` takes, from (policy text, fitness) pairs such as a journal's
    evaluated rows: the values of those with the structure's key, in the order given."""
    key = structure_key(structure, max_constants, max_cost)
    history = []
    for text, fitness in evaluated:
        try:
            if structure_key(text, max_constants, max_cost) == key:
                history.append((values_of(text, max_constants, max_cost), fitness))
        except PolicyError:  # a Python policy, or a row an older compiler took
            continue
    return history


# --- boxes -----------------------------------------------------------------------------

def _significant(x: float, toward: float | None = None) -> float:
    """``x`` to DIGITS significant digits: the nearest, or, given ``toward``, the nearest
    such number between ``x`` and ``toward`` (a box edge rounded inwards)."""
    if x == 0 or not math.isfinite(x):
        return x
    exponent = math.floor(math.log10(abs(x))) - DIGITS + 1
    scaled = x / 10 ** exponent
    if toward is None:
        mantissa = round(scaled)
    else:
        mantissa = math.ceil(scaled) if toward > x else math.floor(scaled)
    value = float(f"{mantissa}e{exponent}")
    return value if toward is None or (value - x) * (value - toward) <= 0 else toward


def _free_box(value: Number) -> tuple[Number, Number]:
    """Within a factor FACTOR of ``value``, the same sign (an int stays a nonzero int)."""
    lo, hi = sorted((value / FACTOR, value * FACTOR))
    if isinstance(value, int):
        return (math.ceil(lo), min(math.floor(hi), -1)) if value < 0 else (max(math.ceil(lo), 1), math.floor(hi))
    return _significant(lo, value), _significant(hi, value)


class _Checker:
    """Checks the policy with some constants set, the others at their values."""

    def __init__(self, checked: CheckedPolicy, sites: list[_Site], max_cost: float) -> None:
        self.policy, self.sites, self.max_cost = checked.ast, {f"c{s.index}": s for s in sites}, max_cost

    def tree(self, values: Mapping[str, Number], parent: str | None = None) -> ast.Policy:
        """The policy with ``values``, named as a child of ``parent`` when given."""
        policy = tree.replace_all(self.policy, {id(self.sites[k].node): ast.Num(v) for k, v in values.items()})
        if parent is None:
            return policy
        return tree.with_lineage(policy, [parent], "constants " + ", ".join(f"{k}={v!r}" for k, v in values.items()))

    def check(self, values: Mapping[str, Number], parent: str | None = None) -> CheckedPolicy | None:
        try:
            return check_policy(format_policy(self.tree(values, parent)), max_cost=self.max_cost)
        except PolicyError:
            return None


def _edge(checker: _Checker, name: str, value: Number, edge: Number, integer: bool) -> Number:
    """The box edge ``edge`` if it checks, else the farthest point found towards it that
    does, by bisection between ``value`` (which checks) and ``edge``."""
    if checker.check({name: edge}) is not None:
        return edge
    good, bad = value, edge
    for _ in range(BISECTIONS):
        middle = (good + bad) // 2 if integer else (good + bad) / 2
        if middle in (good, bad):
            break
        good, bad = (middle, bad) if checker.check({name: middle}) is not None else (good, middle)
    return good if integer else _significant(good, value)


def _constant(checker: _Checker, site: _Site) -> Constant:
    value = site.node.value
    if site.box is None:
        (lo, hi), integer = _free_box(value), isinstance(value, int)
    else:
        lo, hi, integer = site.box
        lo, hi = (math.ceil(lo), math.floor(hi)) if integer else (lo, hi)
    name = f"c{site.index}"
    lo, hi = (_edge(checker, name, value, edge, integer) for edge in (lo, hi))
    return Constant(name, value, lo, hi, integer, not integer and site.box is None and lo > 0, site.where)


@dataclass(frozen=True)
class _Structure:
    checked: CheckedPolicy
    checker: _Checker
    constants: tuple[Constant, ...]


@functools.lru_cache(maxsize=64)
def _structure(text: str, max_constants: int, max_cost: float) -> _Structure:
    checked = check_policy(text, max_cost=max_cost)
    sites = _chosen(checked.ast, max_constants)
    checker = _Checker(checked, sites, max_cost)
    return _Structure(checked, checker, tuple(_constant(checker, s) for s in sites))


def constants(text: str, max_constants: int = MAX_CONSTANTS, max_cost: float = DEFAULT_BUDGET) -> tuple[Constant, ...]:
    """The constants of a policy with their boxes (cached per text). Raises PolicyError."""
    return _structure(text, max_constants, max_cost).constants


def substitute(text: str, values: Mapping[str, Number], *, max_constants: int = MAX_CONSTANTS,
               max_cost: float = DEFAULT_BUDGET, parent: str | None = None) -> CheckedPolicy:
    """The policy with its constants set to ``values`` (names from ``constants``; those
    left out keep their values; each snapped to its type and box), checked; named as a
    child of ``parent`` when given. Raises KeyError for a name that is no constant,
    PolicyError when the result does not check."""
    structure = _structure(text, max_constants, max_cost)
    known = {c.name: c for c in structure.constants}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise KeyError(f"not constants of this policy: {', '.join(unknown)}")
    snapped = {name: known[name].snap(v) for name, v in values.items()}
    return check_policy(format_policy(structure.checker.tree(snapped, parent)), max_cost=max_cost)


# --- the tuner -------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet() -> Iterator[ModuleType]:
    """Optuna, imported (it takes a fifth of a second), with its log and warnings off."""
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature and fallback warnings
            yield optuna
    finally:
        optuna.logging.set_verbosity(verbosity)


def _distribution(optuna, c: Constant):
    if c.integer:
        return optuna.distributions.IntDistribution(c.lo, c.hi)
    return optuna.distributions.FloatDistribution(c.lo, c.hi, log=c.log)


def _trials(optuna, history: History, constants: Sequence[Constant], space: dict) -> list:
    """The history as Optuna trials: a result as a complete trial, no result (a failed
    evaluation) as a failed one; entries without every constant, or outside the boxes
    (journaled from another policy of the structure, whose boxes differ), left out."""
    trials = []
    for values, fitness in history:
        if not all(c.admits(values.get(c.name)) for c in constants):
            continue
        params = {c.name: int(values[c.name]) if c.integer else values[c.name] for c in constants}
        ok = fitness is not None and math.isfinite(fitness)
        state = optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.FAIL
        trials.append(optuna.trial.create_trial(params=params, distributions=space, state=state,
                                                value=fitness if ok else None))
    return trials


def _sampler(optuna, name: str, constants: Sequence[Constant], trials: list, seed: int):
    if name not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {name!r}")
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if name == "cmaes" and not any(c.integer for c in constants):
        return optuna.samplers.CmaEsSampler(seed=seed, source_trials=complete if len(complete) >= 10 else None)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP, multivariate=True, constant_liar=True)


def propose(structure_text: str, history: History, seed: int, n: int, *, sampler: str = "tpe",
            max_constants: int = MAX_CONSTANTS, max_cost: float = DEFAULT_BUDGET) -> list[Tuned]:
    """Up to ``n`` new settings of the constants of ``structure_text``'s structure, each
    a checked policy named as a child of ``structure_text``'s policy.

    ``history``: (values, fitness) pairs already evaluated for the structure (values as
    ``values_of`` gives them; fitness None for a failed evaluation), in journal order;
    ``history_for`` builds it from (text, fitness) rows. Pass the same ``structure_text``
    (say, the structure's first evaluated policy) every time: the boxes are built around
    its values. Deterministic for (structure_text, history, seed, n). Settings already in
    the history, repeated, or that do not check are not returned: fewer than ``n`` come
    back when TRIES * n asks find no more (an empty list for a policy with no constants).
    Raises PolicyError when ``structure_text`` does not check."""
    structure = _structure(structure_text, max_constants, max_cost)
    if not structure.constants or n <= 0:
        return []
    seen = {tuple(values.get(c.name) for c in structure.constants) for values, _ in history}
    proposals: list[Tuned] = []
    with _quiet() as optuna:
        space = {c.name: _distribution(optuna, c) for c in structure.constants}
        trials = _trials(optuna, history, structure.constants, space)
        study = optuna.create_study(direction="maximize",
                                    sampler=_sampler(optuna, sampler, structure.constants, trials, seed))
        for trial in trials:
            study.add_trial(trial)
        for _ in range(TRIES * n):
            if len(proposals) == n:
                break
            trial = study.ask(space)
            values = {c.name: c.snap(trial.params[c.name]) for c in structure.constants}
            key = tuple(values.values())
            checked = None if key in seen else structure.checker.check(values, structure.checked.name)
            if checked is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            seen.add(key)  # the trial stays running: TPE's constant liar keeps later asks away from it
            proposals.append(Tuned(checked.canonical, values, checked))
    return proposals
