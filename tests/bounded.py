"""Run code where an unbounded read or an endless wait fails instead of passing or hanging."""
from __future__ import annotations

import subprocess
import sys


def run_bounded(code: str, imports: str = "autoda", memory: int = 512 * 2**20,
                seconds: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that may grow by at most ``memory`` bytes of
    address space after importing ``imports`` (an unbounded read fails with MemoryError)
    and must end within ``seconds`` (a read that waits on a FIFO fails the timeout)."""
    limit = (f"import resource, {imports}\n"
             "size = int(open('/proc/self/status').read().split('VmSize:')[1].split()[0]) * 1024\n"
             f"resource.setrlimit(resource.RLIMIT_AS, (size + {memory}, resource.RLIM_INFINITY))\n")
    return subprocess.run([sys.executable, "-c", limit + code], capture_output=True, text=True, timeout=seconds)
