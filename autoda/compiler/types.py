"""Value types: a dtype (int, float, bool) and a shape (scalar, per class, per class and op).

Shapes broadcast from smaller to larger: a scalar fits anywhere, a per-class value fits a
per-class-and-op one (the same number for every op of the class).
"""
from __future__ import annotations

from dataclasses import dataclass

SHAPES = ("scalar", "class", "class_op")
_SHAPE_WORDS = {"scalar": "scalar", "class": "per class", "class_op": "per class and op"}
_SHAPE_DIMS = {"scalar": "", "class": "[C]", "class_op": "[C,K]"}


@dataclass(frozen=True)
class Type:
    dtype: str  # "int", "float", "bool"; "error" after a reported fault
    shape: str  # one of SHAPES

    @property
    def is_error(self) -> bool:
        return self.dtype == "error"

    @property
    def is_numeric(self) -> bool:
        return self.dtype in ("int", "float")

    @property
    def dims(self) -> str:
        return _SHAPE_DIMS[self.shape]

    def __str__(self) -> str:
        if self.shape == "scalar":
            return self.dtype
        return f"{self.dtype} {_SHAPE_WORDS[self.shape]}"


ERROR = Type("error", "scalar")


def broadcast(*shapes: str) -> str:
    return max(shapes, key=SHAPES.index)


def fits(shape: str, into: str) -> bool:
    """Can a value of ``shape`` be stored where ``into`` is expected?"""
    return SHAPES.index(shape) <= SHAPES.index(into)


def numeric_dtype(*dtypes: str) -> str:
    return "int" if all(d == "int" for d in dtypes) else "float"


def shape_words(shape: str) -> str:
    return _SHAPE_WORDS[shape]
