"""Reading the file store's block files: loads through a read-ahead cache, scans through mmap.

`BlockReader` keeps a few descriptors open (least recently used closed first) and the bytes of
the last read, so a consumer walking a stream costs one `pread` per `READ_AHEAD` bytes.
`mapped()` gives a whole block for a recovery scan without copying it into memory.

May import: the standard library only.
"""

from __future__ import annotations

import mmap
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

READ_AHEAD = 64 * 1024  # bytes read at once for loads, so sequential reads cost few syscalls
READ_FDS = 8  # open descriptors kept for older blocks


class BlockReader:
    def __init__(self, path_of: Callable[[int], str]) -> None:
        self._path_of = path_of
        self._fds: OrderedDict[int, int] = OrderedDict()
        self._cache = (-1, 0, b"")  # (block, offset, bytes) of the last read

    def read(self, num: int, off: int, size: int, fd: int = -1) -> tuple[bytes, int]:
        """A buffer holding `size` bytes of block `num` from `off`, and where they start in it.

        The buffer is shorter than asked when the file is; `fd` reads through that descriptor.
        """
        cnum, coff, cbuf = self._cache
        if cnum == num and coff <= off and off + size <= coff + len(cbuf):
            return cbuf, off - coff
        buf = os.pread(fd if fd >= 0 else self._fd(num), max(READ_AHEAD, size), off)
        self._cache = (num, off, buf)
        return buf, 0

    def _fd(self, num: int) -> int:
        fd = self._fds.get(num)
        if fd is None:
            if len(self._fds) >= READ_FDS:
                os.close(self._fds.popitem(last=False)[1])
            fd = self._fds[num] = os.open(self._path_of(num), os.O_RDONLY)
        else:
            self._fds.move_to_end(num)
        return fd

    def forget(self, num: int) -> None:
        """Block `num` was rewritten or deleted: drop what is cached or open for it."""
        fd = self._fds.pop(num, None)
        if fd is not None:
            os.close(fd)
        if self._cache[0] == num:
            self._cache = (-1, 0, b"")

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._cache = (-1, 0, b"")


@contextmanager
def mapped(path: str) -> Iterator[bytes | mmap.mmap]:
    """A block file's bytes, mapped rather than read so scanning leaves no memory behind."""
    with open(path, "rb") as f:
        if not os.fstat(f.fileno()).st_size:
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
            view.madvise(mmap.MADV_SEQUENTIAL)
            yield view
