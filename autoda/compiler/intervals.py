"""Interval arithmetic over the extended reals, for the range checker.

Every value a policy computes lies in a closed interval known at compile time; the checker
uses it to prove that state stays in its declared range, magnitudes and probabilities in
[0, 1], counts in [0, K] and weights non-negative, and that no log, sqrt or division leaves
its domain. The bounds are sound, not tight: ``x - x`` is [-1, 1] for x in [0, 1].

>>> Interval(0, 10) + Interval(1, 1)
Interval(lo=1.0, hi=11.0)
>>> Interval(0, 1).div(Interval(2, 4))
Interval(lo=0.0, hi=0.5)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

INF = math.inf
_SLACK = 1e-9  # float rounding in the bounds must not turn a true claim into an error


def _safe(value: float, if_nan: float) -> float:
    return if_nan if math.isnan(value) else value


def _mul(a: float, b: float) -> float:
    return 0.0 if a == 0 or b == 0 else a * b  # 0 * inf is 0 for bounds


def _guard(f, x: float, overflow: float) -> float:
    try:
        return f(x)
    except OverflowError:
        return overflow
    except ValueError:
        return math.nan


def _float(x: float) -> float:
    """A bound as a float: an int bound of a doubling chain (a = a + a, four thousand times)
    outgrows every float and becomes inf, where float(x) would raise."""
    try:
        return float(x)
    except OverflowError:
        return INF if x > 0 else -INF


def format_number(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float

    def __post_init__(self) -> None:  # bounds are floats, whatever the literals were
        object.__setattr__(self, "lo", _float(self.lo))
        object.__setattr__(self, "hi", _float(self.hi))

    def __str__(self) -> str:
        return f"[{format_number(self.lo)}, {format_number(self.hi)}]"

    def within(self, lo: float, hi: float) -> bool:
        return self.lo >= lo - _SLACK * max(1.0, abs(lo)) and self.hi <= hi + _SLACK * max(1.0, abs(hi))

    def contains_zero(self) -> bool:
        return self.lo <= 0 <= self.hi

    def __add__(self, other: Interval) -> Interval:
        return Interval(_safe(self.lo + other.lo, -INF), _safe(self.hi + other.hi, INF))

    def __sub__(self, other: Interval) -> Interval:
        return self + other.neg()

    def __mul__(self, other: Interval) -> Interval:
        products = [_mul(a, b) for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        return Interval(min(products), max(products))

    def neg(self) -> Interval:
        return Interval(-self.hi, -self.lo)

    def div(self, other: Interval) -> Interval:
        """Caller checks the divisor's zero first; a zero divisor gives the whole line."""
        if other.contains_zero():
            return FULL
        return self * Interval(1 / other.hi, 1 / other.lo)

    def mod(self, other: Interval) -> Interval:
        """torch.remainder: the result takes the divisor's sign and is smaller in size."""
        if other.lo > 0:
            return Interval(0, other.hi)
        if other.hi < 0:
            return Interval(other.lo, 0)
        return FULL

    def abs(self) -> Interval:
        if self.lo >= 0:
            return self
        if self.hi <= 0:
            return self.neg()
        return Interval(0, max(-self.lo, self.hi))

    def monotone(self, f, overflow: float = INF) -> Interval:
        """Image under an increasing function."""
        return Interval(_safe(_guard(f, self.lo, overflow), -INF), _safe(_guard(f, self.hi, overflow), INF))

    def exp(self) -> Interval:
        return self.monotone(math.exp)

    def log(self) -> Interval:
        return self.monotone(lambda x: -INF if x <= 0 else math.log(x))

    def sqrt(self) -> Interval:
        return self.monotone(lambda x: math.sqrt(max(x, 0.0)))

    def rounded(self, f) -> Interval:
        return Interval(*(x if math.isinf(x) else float(f(x)) for x in (self.lo, self.hi)))

    def power(self, p: float) -> Interval:
        """x ** p for a literal exponent; the caller has checked the domain (no negative base
        under a fractional exponent, no zero base under a negative one)."""
        def pw(x: float) -> float:
            try:
                return math.pow(x, p)
            except OverflowError:
                return INF if x > 0 or p % 2 == 0 else -INF
            except ValueError:
                return math.nan
        if p == 0:
            return Interval(1, 1)
        ends = (pw(self.lo), pw(self.hi))
        if p > 0 and p % 2 == 0 and self.lo < 0 < self.hi:  # an even power dips to 0 between
            return Interval(0, max(ends))
        return Interval(_safe(min(ends), -INF), _safe(max(ends), INF))

    def union(self, other: Interval) -> Interval:
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))


FULL = Interval(-INF, INF)


def minimum(*xs: Interval) -> Interval:
    return Interval(min(x.lo for x in xs), min(x.hi for x in xs))


def maximum(*xs: Interval) -> Interval:
    return Interval(max(x.lo for x in xs), max(x.hi for x in xs))


def clip(x: Interval, lo: Interval, hi: Interval) -> Interval:
    return minimum(maximum(x, lo), hi)


def total(x: Interval, n: float) -> Interval:
    """Sum of n >= 1 values in x; n may be inf (any number of classes)."""
    return Interval(x.lo if x.lo >= 0 and math.isinf(n) else _safe(_mul(x.lo, n), -INF),
                    x.hi if x.hi <= 0 and math.isinf(n) else _safe(_mul(x.hi, n), INF))
