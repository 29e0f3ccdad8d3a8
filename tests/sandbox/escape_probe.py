"""A sandbox worker whose language guards are gone: it starts and locks itself down exactly
as autoda's worker does (same environment, same imports, same isolation layers, through
`worker.serve`), then runs each request's Python with the real builtins, os, socket and
ctypes in reach, as code that had escaped RestrictedPython would. test_isolation.py sends
it attacks and checks that the OS layers alone stop each one."""
import ctypes
import encodings.idna  # noqa: F401 - so the attacks below meet the OS layers, not a missing codec
import json
import os
import socket
import sys

from autoda.sandbox import worker


def handle(request: dict) -> dict:
    namespace = {"os": os, "socket": socket, "ctypes": ctypes, "libc": ctypes.CDLL(None, use_errno=True)}
    exec(request["code"], namespace)
    return {"ok": True, "result": namespace.get("result")}


if __name__ == "__main__":
    worker.serve(json.loads(sys.argv[1]), handle)
