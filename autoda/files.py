"""Files: atomic writes (a temporary file beside the target, then os.replace, so a killed
run leaves the old file or the new one, never half of one), and bounded reads of input
files (policies, split files, images) that a user or an attacker may point anywhere."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Callable

from .errors import AutodaError


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)``, then move the result into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, data: object) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


class NotARegularFile(AutodaError, OSError):
    """A path that names a directory, device, FIFO or socket where a file's bytes are wanted;
    ``what`` it is ("a directory")."""

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.what, self.reason = what, f"{what}, not a regular file"
        super().__init__(f"{path}: {self.reason}")


class FileTooLarge(AutodaError, OSError):
    """A file over the size limit of what reads it."""

    def __init__(self, path: str | os.PathLike, limit: int, size: int | None) -> None:
        self.limit, self.size = limit, size
        self.reason = f"{f'{size:,}' if size is not None else f'over {limit:,}'} bytes; the limit is {limit:,}"
        super().__init__(f"{path}: {self.reason}")


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def _refuse_unless_regular(path: str | os.PathLike, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise NotARegularFile(path, next((kind for test, kind in _KINDS if test(mode)), "a special file"))


def read_limited(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, read with at most limit + 1
    bytes in memory: a stat'ed size can lie (/dev/zero says 0, a file may grow), so the read
    itself is bounded. A FIFO or device is refused before it is opened (opening a FIFO
    waits for a writer; opening some devices acts on them); O_NONBLOCK covers one that
    replaces the file between the check and the open, and fstat checks what was opened.
    Raises NotARegularFile, FileTooLarge or the OSError of the failed read."""
    _refuse_unless_regular(path, os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with open(fd, "rb", closefd=True) as file:
        info = os.fstat(fd)
        _refuse_unless_regular(path, info.st_mode)
        if info.st_size > limit:
            raise FileTooLarge(path, limit, info.st_size)
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit, None)
    return data
