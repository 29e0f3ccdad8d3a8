"""Niches: keep a population diverse, so it does not collapse onto one parent's family.

A policy's niche is what kinds of op it uses (geometric, colour, filter, erase: the op
registry's kinds, identity left out) and how hard it pushes them (a coarse strength bin
of its magnitudes). Two policies that differ only in constants share a niche; CUDA-like
curricula over every kind and a cutout-only policy do not.

- ``diverse_population``: the N to keep from candidates ranked best first: the best of
  each niche first (in rank order, up to N), then the rest by rank. With N at least the
  number of niches every niche keeps its champion; the result is in rank order.
- ``choose_parents``: parents drawn by rank, as EoH draws them (probability proportional
  to 1 / (rank + N)), each after the first from a niche not yet chosen while one is left,
  so a crossover mixes different families.

Both are generic over the candidate type: the caller says how to get a candidate's niche
(``niche_of`` for a checked policy, ``niche_of_text`` for journaled text).
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Callable, Hashable, Sequence, TypeVar

from ..compiler import CheckedPolicy, PolicyError, ast, check_policy
from ..compiler.cost import DEFAULT_BUDGET
from ..ops import OP_KINDS, OPS

T = TypeVar("T")

STRENGTHS = ("none", "low", "mid", "high")  # no op takes a magnitude; mean magnitude < 1/3, < 2/3, above


@dataclass(frozen=True, order=True)
class Niche:
    kinds: tuple[str, ...]  # op kinds the stages use, in the registry's order (identity left out)
    strength: str  # one of STRENGTHS

    def __str__(self) -> str:
        return f"{'+'.join(self.kinds) or 'nothing'}/{self.strength}"


UNKNOWN = Niche((), "unknown")  # text that is not a policy in the language (a Python policy, a damaged row)


def _magnitudes(policy: ast.Policy) -> list[ast.Expr]:
    """Every stage magnitude (an apply stage's one magnitude stands for all its ops)."""
    found = []
    for stage in ast.single_stages(policy.stages):
        value = stage.clause("magnitude") if isinstance(stage, ast.Apply) else stage.magnitude
        if value is not None:
            found.append(value)
    return found


def strength_of(checked: CheckedPolicy) -> float | None:
    """The mean, over stages with a magnitude, of the middle of the range the checker
    proved for it (a uniform draw's range is its bounds' union); None when no stage has a
    magnitude. A static guess of how hard a policy pushes, not a measurement: a
    curriculum that may reach 1 but starts at 0 counts as the middle of [0, 1]."""
    middles = []
    for expr in _magnitudes(checked.ast):
        proven = checked.ranges.of(expr)
        if proven is not None:
            lo, hi = max(0.0, min(1.0, proven.lo)), max(0.0, min(1.0, proven.hi))
            middles.append((lo + hi) / 2)
    return sum(middles) / len(middles) if middles else None


def _bin(strength: float | None) -> str:
    if strength is None:
        return "none"
    return "low" if strength < 1 / 3 else "mid" if strength < 2 / 3 else "high"


def niche_of(checked: CheckedPolicy) -> Niche:
    """The niche of a checked policy: its op kinds and its strength bin.

    >>> niche_of(check_policy("policy p\\nper sample:\\n    cutout(0.9)\\n    flip_lr\\n"))
    Niche(kinds=('geometric', 'erase'), strength='high')
    """
    names = {r.name for s in ast.single_stages(checked.ast.stages)
             for r in (s.ops if isinstance(s, ast.Apply) else (s.op,))}
    used = {OPS[n].kind for n in names} - {"identity"}
    return Niche(tuple(k for k in OP_KINDS if k in used), _bin(strength_of(checked)))


@functools.lru_cache(maxsize=4096)
def niche_of_text(text: str, max_cost: float = DEFAULT_BUDGET) -> Niche:
    """The niche of policy text (a journal's canonical text), or UNKNOWN for text that is
    not the policy language: every Python policy shares one niche."""
    try:
        return niche_of(check_policy(text, max_cost=max_cost))
    except PolicyError:
        return UNKNOWN


def diverse_population(ranked: Sequence[T], n: int, niche: Callable[[T], Hashable]) -> list[T]:
    """The ``n`` to keep of ``ranked`` (best first): the best of each niche, best niches
    first, up to n; then the best of the rest. Returned in rank order, so a caller that
    draws parents by rank keeps doing so."""
    champions: list[int] = []
    seen: set[Hashable] = set()
    for i, candidate in enumerate(ranked):
        key = niche(candidate)
        if key not in seen and len(champions) < n:
            seen.add(key)
            champions.append(i)
    taken = set(champions)
    rest = [i for i in range(len(ranked)) if i not in taken]
    kept = sorted(champions + rest[:max(0, n - len(champions))])
    return [ranked[i] for i in kept]


def choose_parents(population: Sequence[T], k: int, rng: random.Random, niche: Callable[[T], Hashable]) -> list[T]:
    """``k`` distinct parents from ``population`` (best first), by rank: each draw has
    probability proportional to 1 / (rank + N) among those left, restricted, after the
    first, to niches not chosen yet while any is left. Deterministic for ``rng``'s state."""
    n = len(population)
    pool = [(candidate, 1 / (rank + n), niche(candidate)) for rank, candidate in enumerate(population)]
    chosen: list[T] = []
    taken: set[Hashable] = set()
    while pool and len(chosen) < k:
        fresh = [i for i, (_, _, key) in enumerate(pool) if key not in taken] or list(range(len(pool)))
        pick = fresh[rng.choices(range(len(fresh)), weights=[pool[i][1] for i in fresh])[0]]
        candidate, _, key = pool.pop(pick)
        chosen.append(candidate)
        taken.add(key)
    return chosen
