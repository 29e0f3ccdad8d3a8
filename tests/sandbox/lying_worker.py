"""A sandbox worker that lies, as one running a policy that escaped into native code could:
it starts and locks itself down as autoda's worker does (through `worker.serve`), then
answers every call as its mode (argv[1]) says, with a valid step unless the mode spoils it.
test_lying_worker.py checks that the parent takes none of it: no traceback, no hang past
the call's deadline, and nothing outside the carrier's declared state reaches the engine."""
import base64
import json
import os
import sys
import time

import numpy as np

from autoda.sandbox import worker

# Set from argv[1] when run as a worker; importing this file (pytest collects it) reads no argv.
MODE = ""


def array(values: np.ndarray) -> dict:
    values = np.ascontiguousarray(values)
    return {"shape": list(values.shape), "dtype": "b1" if values.dtype == np.bool_ else "f8",
            "data": base64.b64encode(values.tobytes()).decode("ascii")}


def say(line: bytes) -> None:
    sys.stdout.buffer.write(line + b"\n")
    sys.stdout.buffer.flush()


def handle(request: dict) -> dict:
    c, k = request["aug_weight"]["shape"]
    answer = {"ok": True, "chose": array(np.ones((c, k), bool)), "exts": array(np.full((c, k), 0.5)),
              "aug_weight": array(np.ones((c, k)))}
    if MODE in ("deaf", "closed"):  # answer this call, then never read (or close both pipes)
        say(json.dumps(answer).encode())
        if MODE == "closed":
            os.close(0)
            os.close(1)
        time.sleep(3600)
    spoilt = {
        "honest": lambda: None,
        "nested": lambda: say(b"[" * 100_000),  # deeper than the parent's JSON decoder can go
        "too many classes": lambda: answer.update(exts=array(np.full((c + 3, k), 0.5))),
        "one row to broadcast": lambda: answer.update(exts=array(np.full((1, k), 0.5))),
        "nan intensities": lambda: answer.update(exts=array(np.full((c, k), np.nan))),
        "intensities of 1e300": lambda: answer.update(exts=array(np.full((c, k), 1e300))),
        "weights as text": lambda: answer.update(aug_weight="ones"),
        "kind and message of its choosing": lambda: answer.update(
            ok=False, kind=["../x"], message="\x1b]0;owned\x07" + "m" * 5_000_000),
    }
    spoilt[MODE]()
    return answer


if __name__ == "__main__":
    MODE = sys.argv.pop(1)
    worker.serve(json.loads(sys.argv[1]), handle)
