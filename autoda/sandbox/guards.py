"""What restricted code may touch, inside the worker process.

A strategy function is compiled by RestrictedPython, which refuses names and attributes
that start with an underscore, exec/eval, and other dangerous syntax at compile time, and
routes every attribute access, item write, iteration and import through the guards here:

- builtins: a short allow-list (no getattr, setattr, type, vars, dir, globals, open,
  compile, exec, eval, input, __build_class__);
- imports: only `math`, `random` and `numpy`, the last two as proxies that expose array
  math and seeded random draws, nothing that reads or writes files;
- numpy: an allow-list of functions, none of which builds an array over a buffer, an
  offset or a pointer (`np.ndarray` is a stand-in that only answers isinstance; no
  `frombuffer`, `view`, `ctypes`, `stride_tricks`, `__array_interface__`); every array
  that comes back from numpy holds numbers, booleans or text, never objects or raw bytes,
  and `np.empty` gives zeros (uninitialised memory would show the heap);
- attributes: an allow-list per type (array methods, list and dict methods, the proxies'
  names); everything else, exception and generator attributes among it, is refused;
- writes: items of arrays, lists, dicts and sets only; no attribute is ever written
  (`a.shape = ...`, `a.strides = ...`, `math.pi = ...`).
"""
from __future__ import annotations

import math
import operator
import random as _random
import sys

import numpy as _np
from RestrictedPython import PrintCollector
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from ..errors import AutodaError, FailureKind
from .restricted import INPLACE_ITEM


class GuardViolation(AutodaError):
    """Restricted code reached for something it may not have."""

    kind = FailureKind.GUARD


class _Proxy:
    """The base of module stand-ins (their attributes are what they were built with)."""

    __slots__ = ()


def _namespace(name: str, items: dict):
    """A module stand-in that has exactly these attributes and nothing else."""
    cls = type(name, (_Proxy,), {"__slots__": (), "__repr__": lambda self: f"<sandboxed {name}>"})
    for key, value in items.items():
        setattr(cls, key, staticmethod(value) if callable(value) and not isinstance(value, type) else value)
    return cls()


_ARRAY_KINDS = set("biufcU")  # booleans, integers, floats, complex, text: no objects, bytes or records


def _check_value(value):
    """Refuse arrays (and numpy scalars) of object, void, bytes or time dtypes, and of
    dtypes with fields: a union dtype such as ('f8', {'s': ('S8', 0)}) has a float's kind,
    but indexing its field gives raw bytes."""
    if isinstance(value, (_np.ndarray, _np.generic)) and (value.dtype.kind not in _ARRAY_KINDS
                                                          or value.dtype.fields is not None):
        raise GuardViolation(f"arrays of dtype {value.dtype} are not allowed (numbers, booleans or text only)")
    if isinstance(value, tuple):  # np.unique(..., return_counts=True), np.nonzero, ...
        for item in value:
            _check_value(item)
    return value


def _checked(function, out_position: int | None = None):
    """``function`` whose arguments and results pass _check_value: numpy infers object
    arrays from anything (np.array([f])), dtype= arguments can name any type, and arithmetic
    (ACCs + [10 ** 30]) makes object arrays, which the guards can only stop where they next
    meet them (here, and in _getattr_, _getitem_, _write_ and _getiter_).

    ``out_position``: for an elementwise function (a ufunc, clip), the index of its
    positional ``out``. Called with where= and no out, it leaves the elements where is
    false as whatever memory held (heap addresses, like np.empty would): refused."""

    def call(*args, **kwargs):
        for value in (*args, *kwargs.values()):
            _check_value(value)
        if (out_position is not None and kwargs.get("where", True) is not True and kwargs.get("out") is None
                and len(args) <= out_position):
            raise GuardViolation(f"{call.__name__}(..., where=...) without out= leaves uninitialised memory: "
                                 "pass out= (np.zeros_like(x), say)")
        return _check_value(function(*args, **kwargs))

    call.__name__ = getattr(function, "__name__", "function")
    return call


def _out_position(function) -> int | None:
    """Where a numpy function takes a positional out, if it is elementwise (see _checked)."""
    if isinstance(function, _np.ufunc):
        return function.nin
    return 3 if function is _np.clip else None


class _ArrayTypeCheck(type):
    def __instancecheck__(cls, value):
        return isinstance(value, _np.ndarray)

    def __subclasscheck__(cls, subclass):
        return isinstance(subclass, type) and issubclass(subclass, _np.ndarray)


class _ArrayType(metaclass=_ArrayTypeCheck):
    """np.ndarray as restricted code sees it: isinstance(x, np.ndarray) works; calling it
    (an array over any buffer, at any offset, of any dtype) does not."""

    def __new__(cls, *args, **kwargs):
        raise GuardViolation("np.ndarray(...) is not allowed: use np.array, np.zeros or np.asarray")


_NUMPY_FUNCTIONS = (
    "abs absolute all allclose amax amin any append arange arccos arcsin arctan argmax argmin argsort argwhere "
    "around array asarray average ceil clip concatenate copy cos count_nonzero cumprod cumsum diag diff divide dot "
    "empty equal exp expand_dims eye flatnonzero flip floor floor_divide full full_like greater greater_equal "
    "hstack isclose isfinite isin isinf isnan less less_equal linspace log log1p log2 logical_and logical_not "
    "logical_or logical_xor matmul max maximum mean median min minimum mod multiply nan_to_num nanmax nanmean "
    "nanmin nonzero not_equal ones ones_like outer percentile power prod quantile ravel repeat reshape roll round "
    "sign sin sort sqrt square squeeze stack std subtract sum take tanh tile transpose tril triu unique var vstack "
    "where zeros zeros_like"
).split()
# constants and scalar types (calling one converts a number: np.float32(0.5))
_NUMPY_VALUES = ("pi e inf nan newaxis float32 float64 int32 int64 bool_ uint8").split()
_RANDOM_FUNCTIONS = "rand random randint choice uniform normal permutation shuffle".split()


def numpy_proxy(rng: _np.random.Generator | _np.random.RandomState):
    random_part = _namespace("numpy.random", {name: _checked(getattr(rng, name)) for name in _RANDOM_FUNCTIONS
                                              if hasattr(rng, name)})
    items = {name: _checked(getattr(_np, name), _out_position(getattr(_np, name))) for name in _NUMPY_FUNCTIONS}
    items.update({name: getattr(_np, name) for name in _NUMPY_VALUES})
    items.update(ndarray=_ArrayType, empty=_checked(_np.zeros), random=random_part)
    return _namespace("numpy", items)


def random_proxy(rng: _random.Random):
    names = "random uniform randint randrange choice choices sample shuffle gauss".split()
    return _namespace("random", {name: getattr(rng, name) for name in names})


_ARRAY_ATTRIBUTES = set((
    "shape ndim size dtype T astype copy sum mean std var max min argmax argmin argsort sort any all tolist "
    "reshape ravel flatten clip cumsum nonzero round item fill transpose squeeze dot prod real imag"
).split())
_ALLOWED = {
    list: set("append extend insert pop remove index count sort reverse copy clear".split()),
    dict: set("keys values items get update pop setdefault copy clear".split()),
    set: set("add discard remove pop union intersection difference copy clear update".split()),
    str: set("join split strip lower upper startswith endswith replace isdigit".split()),
    tuple: {"index", "count"},
}


def guarded_getattr(obj, name, default=None):
    if not isinstance(name, str) or name.startswith("_"):
        raise GuardViolation(f"attribute {name!r} is not allowed")
    if isinstance(obj, (_np.ndarray, _np.generic)):
        if name in _ARRAY_ATTRIBUTES:
            value = getattr(_check_value(obj), name)  # an object array from arithmetic: refused
            if callable(value):  # a.astype(object), a.sum(dtype=...), a.clip(0, 1, where=m)
                return _checked(value, 2 if name == "clip" else None)
            return value
    elif isinstance(obj, _Proxy):
        if hasattr(type(obj), name):  # only what it was built with
            return getattr(obj, name)
    elif obj is math:
        if hasattr(math, name):
            return getattr(math, name)
    else:
        for kind, names in _ALLOWED.items():
            if isinstance(obj, kind) and name in names:
                return getattr(obj, name)
    raise GuardViolation(f"attribute {name!r} of {type(obj).__name__} is not allowed")


class _ItemWriter:
    """What `x[i] = v`, `del x[i]` and `x.a = v` write through (RestrictedPython turns each
    into a write on _write_(x)): items pass, attributes never (`a.shape = ...` would let the
    function change what the host reads back, `a.strides = ...` how numpy reads memory)."""

    __slots__ = ("_target",)

    def __init__(self, target) -> None:
        object.__setattr__(self, "_target", target)

    def __setitem__(self, key, value) -> None:
        self._target[key] = value

    def __delitem__(self, key) -> None:
        del self._target[key]

    def __setattr__(self, name, value) -> None:
        raise GuardViolation(f"setting attribute {name!r} of {type(self._target).__name__} is not allowed")

    def __delattr__(self, name) -> None:
        raise GuardViolation(f"deleting attribute {name!r} of {type(self._target).__name__} is not allowed")


def guarded_write(obj):
    if isinstance(obj, (_np.ndarray, list, dict, set)):
        return _ItemWriter(_check_value(obj))
    raise GuardViolation(f"writing into {type(obj).__name__} is not allowed")


def guarded_getitem(obj, index):
    """obj[index]; neither may be an array of a refused dtype (a field of a union, an
    object array from arithmetic)."""
    return _check_value(_check_value(obj)[_check_value(index)])


def guarded_iter(obj):
    return iter(_check_value(obj))


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "&=": operator.iand,
            "|=": operator.ior, "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift}


def inplace(op, x, y):
    return _INPLACE[op](x, y)


def inplace_item(obj, index, op, value) -> None:
    """`obj[index] op= value` (restricted.py): read through the read guard, combined in place
    as Python does (a view of an array changes where it points), written back through the
    write guard. `obj` and `index` are evaluated once, before `value`."""
    current = guarded_getitem(obj, index)
    guarded_write(obj)[index] = _check_value(_INPLACE[op](current, value))


_BUILTINS = {name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
             for name in ("abs all any bool dict divmod enumerate filter float int isinstance len list map max min "
                          "range reversed round set sorted str sum tuple zip frozenset slice ArithmeticError "
                          "AssertionError Exception IndexError KeyError LookupError MemoryError OverflowError "
                          "RuntimeError StopIteration TypeError ValueError ZeroDivisionError").split()}
_BUILTINS.update({"True": True, "False": False, "None": None})

# numpy modules its methods import lazily; the worker imports them before it runs anything
_INTERNAL = ("numpy._core._methods", "numpy.core._methods", "numpy._core._internal", "numpy._core._exceptions",
             "numpy._core._dtype", "numpy._core.arrayprint")

# what the worker imports before it cuts the filesystem: the helpers above, and modules
# numpy loads on first use (np.random is loaded lazily by numpy 2, numpy.ma by percentile
# and quantile)
PRELOAD = _INTERNAL + ("numpy.random", "numpy.ma")

FORBIDDEN_NAMES = set("open exec eval compile getattr setattr delattr type vars dir globals locals input "
                      "breakpoint help memoryview object super classmethod staticmethod property".split())


def restricted_globals(seed: int) -> dict:
    """A fresh namespace for one call: builtins, guards and the allowed modules."""
    rng = _random.Random(seed)
    modules = {"math": math, "random": random_proxy(rng), "numpy": numpy_proxy(_np.random.RandomState(seed))}

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        root = name.split(".")[0]
        if name in _INTERNAL and name in sys.modules and level == 0:
            # numpy's own C code imports helpers lazily through the calling frame's
            # __import__ (ndarray.sum does); restricted source cannot name these (the static
            # check allows only math, random, numpy and numpy.random), so this is numpy asking
            return sys.modules[name]
        if level != 0 or root not in modules or (name != root and name != "numpy.random"):
            raise GuardViolation(f"import of {name!r} is not allowed (only math, random and numpy)")
        module = modules[root]
        return module if name == root or not fromlist else getattr(module, "random")

    builtins = dict(_BUILTINS)
    builtins["__import__"] = guarded_import
    return {"__builtins__": builtins, "__name__": "policy", "_getattr_": guarded_getattr,
            "_getitem_": guarded_getitem, "_write_": guarded_write, "_getiter_": guarded_iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
            "_inplacevar_": inplace, INPLACE_ITEM: inplace_item, "_print_": PrintCollector,
            "_apply_": lambda f, *a, **k: f(*a, **k)}
