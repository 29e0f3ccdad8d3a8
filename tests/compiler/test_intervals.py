"""Interval arithmetic is sound: f(x) lies in F(X) for every x in X."""
import math

from hypothesis import assume, given, strategies as st

from autoda.compiler import intervals as iv
from autoda.compiler.intervals import Interval

finite = st.floats(-1e6, 1e6, allow_nan=False)


@st.composite
def interval_and_point(draw, lo_min=-1e6):
    a, b = sorted((draw(st.floats(lo_min, 1e6)), draw(st.floats(lo_min, 1e6))))
    x = draw(st.floats(a, b))
    return Interval(a, b), x


def inside(x: float, box: Interval) -> bool:
    slack = 1e-9 * max(1.0, abs(x))
    return box.lo - slack <= x <= box.hi + slack


@given(interval_and_point(), interval_and_point())
def test_arithmetic_is_sound(ax, by):
    (a, x), (b, y) = ax, by
    assert inside(x + y, a + b)
    assert inside(x - y, a - b)
    assert inside(x * y, a * b)
    assert inside(-x, a.neg())
    assert inside(abs(x), a.abs())
    assert inside(min(x, y), iv.minimum(a, b))
    assert inside(max(x, y), iv.maximum(a, b))
    if not b.contains_zero():
        assert inside(x / y, a.div(b))
        assert inside(x % y, a.mod(b))  # Python's % is torch.remainder: the divisor's sign


@given(interval_and_point(), interval_and_point(), interval_and_point())
def test_clip_is_sound(ax, lo, hi):
    (a, x), (l, lv), (h, hv) = ax, lo, hi
    assert inside(min(max(x, lv), hv), iv.clip(a, l, h))


@given(interval_and_point(lo_min=1e-9))
def test_functions_on_their_domains_are_sound(ax):
    a, x = ax
    assert inside(math.log(x), a.log())
    assert inside(math.sqrt(x), a.sqrt())
    assert inside(math.exp(min(x, 700)), a.exp()) or x > 700
    for f in (round, math.floor, math.ceil):
        assert inside(f(x), a.rounded(f))


@given(interval_and_point(), st.sampled_from([0, 1, 2, 3, 4, -1, -2, 0.5, 1.5, -0.5]))
def test_literal_powers_are_sound(ax, p):
    a, x = ax
    whole = float(p).is_integer()
    assume(whole or a.lo >= 0)  # the range checker refuses a fractional power of a negative
    assume(p >= 0 or not a.contains_zero())  # and a negative power of something that may be 0
    try:
        value = x ** p
    except OverflowError:
        return
    assert inside(value, a.power(p))


def test_sum_over_an_unknown_number_of_classes():
    assert iv.total(Interval(0, 1), math.inf) == Interval(0, math.inf)
    assert iv.total(Interval(-1, 1), math.inf) == Interval(-math.inf, math.inf)
    assert iv.total(Interval(1, 2), 3) == Interval(3, 6)


def test_infinities_never_make_nan_bounds():
    whole = Interval(-math.inf, math.inf)
    for box in (whole + whole, whole - whole, whole * Interval(0, 0), whole.exp(), whole.abs()):
        assert not (math.isnan(box.lo) or math.isnan(box.hi))
