"""autoda.files: atomic writes and bounded reads."""
import os

import pytest

from autoda.files import FileTooLarge, NotARegularFile, read_limited


def test_read_limited_reads_a_regular_file(tmp_path):
    (tmp_path / "a").write_bytes(b"12345")
    assert read_limited(tmp_path / "a", 5) == b"12345"
    with pytest.raises(FileTooLarge, match="5 bytes; the limit is 4"):
        read_limited(tmp_path / "a", 4)


def test_read_limited_stops_after_limit_plus_one_bytes_whatever_stat_says(tmp_path, monkeypatch):
    # A file whose stat'ed size lies (a device, a file that grows): the read itself is bounded.
    (tmp_path / "a").write_bytes(b"x" * 1000)
    real_fstat = os.fstat

    class Small:
        def __init__(self, info):
            self.st_mode, self.st_size = info.st_mode, 0

    monkeypatch.setattr(os, "fstat", lambda fd: Small(real_fstat(fd)))
    with pytest.raises(FileTooLarge, match="over 10 bytes"):
        read_limited(tmp_path / "a", 10)


@pytest.mark.parametrize("make,kind", [
    (lambda path: path.symlink_to("/dev/zero"), "a character device"),
    (os.mkfifo, r"a named pipe \(FIFO\)"),
    (lambda path: path.mkdir(), "a directory"),
])
def test_read_limited_refuses_what_is_not_a_regular_file_without_opening_it(tmp_path, make, kind):
    make(tmp_path / "x")
    with pytest.raises(NotARegularFile, match=f"{kind}, not a regular file"):
        read_limited(tmp_path / "x", 10)  # a FIFO opened for reading would wait here for a writer
