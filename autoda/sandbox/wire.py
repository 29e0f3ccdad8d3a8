"""Arrays between the parent and the worker: raw bytes in base64 inside the JSON line, about
half the size of a list of decimal floats and without parsing one number at a time."""
from __future__ import annotations

import base64
import math

import numpy as np

_DTYPES = {"f8": np.float64, "b1": np.bool_, "i8": np.int64}


def encode(array) -> dict:
    array = np.ascontiguousarray(array)
    code = "b1" if array.dtype == np.bool_ else "i8" if array.dtype.kind in "iu" else "f8"
    data = array.astype(_DTYPES[code], copy=False).tobytes()
    return {"shape": list(array.shape), "dtype": code, "data": base64.b64encode(data).decode("ascii")}


def decode(message: dict) -> np.ndarray:
    """A writable array (a strategy function may change what it is given in place)."""
    dtype = _DTYPES[message["dtype"]]
    shape = tuple(int(n) for n in message["shape"])
    data = base64.b64decode(message["data"])
    # booleans are read as bytes and compared with 0: a byte of 2 read as np.bool_ would be
    # a boolean that is neither True nor False to whatever reads its memory (torch)
    array = np.frombuffer(data, dtype=np.uint8) != 0 if dtype is np.bool_ else np.frombuffer(data, dtype=dtype)
    if array.size != math.prod(shape) or min(shape, default=0) < 0:  # exact: np.prod wraps around
        raise ValueError(f"an array of shape {list(shape)} cannot hold {array.size} values")
    return array.reshape(shape).copy()
