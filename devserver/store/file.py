"""The file store: append-only block files with a checksum per record, and an index beside them.

The store owns one directory (a stream passes `<stream dir>/msgs`):

    <n>.blk      blocks of records (records.py), appended in order and rotated at `block_size`
    <n>.idx      a sealed block's index, written once when it was sealed (checkpoint.py)
    index.db     the in-memory index as of the last clean close
    meta.json    the format version

`FileStore` is put together from one module per concept, named as nats-server's filestore.go
names them: writer.py (appends, rotation, flush and sync), removal.py (markers, erasure, empty
blocks), checkpoint.py (block indexes, index.db), recovery.py (the indexes and block scans at
open); layout.py
holds the on-disk names and sizes. This module keeps reads and the store's lifecycle.

Reading: the messages written last are kept decoded in memory (cache.py, about `cache_bytes` of
them: 16 MiB hold some 48,000 messages of 128 bytes), so consumers reading fresh messages never
touch the blocks. Older ones are read through `BlockReader`, checksum checked; a reader
walking them in order has the rest of each read-ahead buffer decoded at once (one run is kept).
A record found damaged when read is logged (`devserver.store`) and reported lost.

May import: devserver.store.*.
"""

from __future__ import annotations

import logging
import os
import shutil
from array import array
from bisect import bisect_right
from zlib import crc32

from devserver.store import records
from devserver.store.base import Filter, LostData, StoredMsg, StoreError
from devserver.store.blocks import BlockReader
from devserver.store.cache import GAP, MsgWindow, new_msg
from devserver.store.checkpoint import Checkpoints
from devserver.store.index import DEAD, top_bytes
from devserver.store.indexed import IndexedStore
from devserver.store.layout import (
    BLOCK_INDEX_SUFFIX,
    BLOCK_SUFFIX,
    DEFAULT_BLOCK_SIZE,
    DEFAULT_CACHE_BYTES,
    DEFAULT_SYNC_INTERVAL_NS,
    HAS_HEADERS,
    INDEX_FILE,
    MAX_BLOCK_SIZE,
    META_FILE,
    WRITE_BUFFER,
    Block,
)
from devserver.store.recovery import Recovery
from devserver.store.removal import Removals
from devserver.store.writer import BlockWriter

__all__ = [
    "BLOCK_INDEX_SUFFIX",
    "BLOCK_SUFFIX",
    "HAS_HEADERS",
    "INDEX_FILE",
    "MAX_BLOCK_SIZE",
    "META_FILE",
    "WRITE_BUFFER",
    "FileStore",
]

_HEADERS_SCAN = 4096  # offset column entries looked at in one piece for the headers bit

log = logging.getLogger("devserver.store")


class FileStore(Recovery, Checkpoints, BlockWriter, Removals, IndexedStore):
    """A stream store on disk (`storage: file`)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        sync_always: bool = False,
        sync_interval_ns: int = DEFAULT_SYNC_INTERVAL_NS,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if not 0 < block_size <= MAX_BLOCK_SIZE:
            raise StoreError(f"block size {block_size} is not between 1 and {MAX_BLOCK_SIZE}")
        super().__init__()
        self.directory = os.fspath(directory)
        self._block_size = block_size
        self._sync_always = sync_always
        self._sync_interval_ns = sync_interval_ns
        self._last_sync_ns: int | None = None
        self._blocks: dict[int, Block] = {}
        self._block_los: list[int] = []  # first message sequence of each block holding messages
        self._block_ids: list[int] = []  # ... and its number
        self._active = Block(0)
        self._fd = -1
        self._wbuf = bytearray()
        self._flushed = 0  # bytes of the newest block already handed to the OS
        self._dirty = False  # written but not fsynced
        self._dir_dirty = False  # block files created or removed since the last fsync
        self._empty: list[int] = []  # blocks whose last message went away, to delete
        self._reader = BlockReader(self._path)
        self._recent = MsgWindow(cache_bytes)  # the messages written last
        self._ahead: dict[int, StoredMsg] = {}  # decoded past the last read from the blocks
        self._last_miss = 0  # the last sequence read from the blocks
        self._lost: list[int] = []
        self._lost_bytes = 0
        self._damage: tuple[int, int] | None = None  # (last_seq before it, seq it claimed)
        self._recorded: tuple[int, list[array]] | None = None  # a stale index.db's last_seq, columns
        self._wcrc: int | None = None  # crc32 of the newest block's bytes handed to the OS, if known
        self._dels = array("Q")  # F_DEL sequences in the newest block, for its index
        self._unindexed: set[int] = set()  # blocks to seal without an index (damage, F_DELs unknown)
        self._open()

    # -- layout

    def _path(self, num: int) -> str:
        return os.path.join(self.directory, f"{num}{BLOCK_SUFFIX}")

    def _idx_path(self, num: int) -> str:
        return os.path.join(self.directory, f"{num}{BLOCK_INDEX_SUFFIX}")

    def _listing(self) -> tuple[list[int], set[int]]:
        """The numbers of the block files there are, in order, and of the block indexes."""
        nums, indexed = [], set()
        for name in os.listdir(self.directory):
            stem, dot, ext = name.partition(".")
            if not (dot and stem.isdigit()):
                continue
            if f".{ext}" == BLOCK_SUFFIX:
                nums.append(int(stem))
            elif f".{ext}" == BLOCK_INDEX_SUFFIX:
                indexed.add(int(stem))
        return sorted(nums), indexed

    # -- blocks

    def _index_blocks(self) -> None:
        """Rebuild the sequence -> block lookup after blocks were loaded or deleted."""
        holding = [blk for blk in self._blocks.values() if blk.lo]
        self._block_los = [blk.lo for blk in holding]
        self._block_ids = [blk.num for blk in holding]

    def _first_in_block(self, blk: Block, seq: int) -> None:
        blk.lo = seq
        self._block_los.append(seq)
        self._block_ids.append(blk.num)

    def _block_of(self, seq: int) -> Block:
        active = self._active
        if active.lo and seq >= active.lo:
            return active
        return self._blocks[self._block_ids[bisect_right(self._block_los, seq) - 1]]

    # -- writing

    def _extra_column(self) -> array:
        return array("I")  # the record's offset in its block, | HAS_HEADERS

    # -- reading

    def _span(self, pos: int, size: int) -> tuple[bytes, int]:
        """A buffer holding the first `size` bytes of the record at `pos`, and where they start."""
        num = self._block_of(self._seqs[pos]).num
        off = self._extra[pos] & ~HAS_HEADERS
        if num != self._active.num:
            return self._reader.read(num, off, size)
        if off >= self._flushed:
            start = off - self._flushed
            return bytes(self._wbuf[start : start + size]), 0
        return self._reader.read(num, off, size, self._fd)

    def _has_headers(self, pos: int) -> bool:
        return self._extra[pos] >= HAS_HEADERS

    def _with_headers(self, lo: int) -> int:
        """Stretches of the offset column without the headers bit are passed over in C (a stream
        of messages without headers is read through in milliseconds at each start)."""
        extra, sids, n = self._extra, self._sids, len(self._extra)
        while lo < n:
            hi = min(n, lo + _HEADERS_SCAN)
            if not top_bytes(extra[lo:hi]).isascii():
                for p in range(lo, hi):
                    if extra[p] >= HAS_HEADERS and sids[p] != DEAD:
                        return p
            lo = hi
        return -1

    def load(self, seq: int) -> StoredMsg | None:
        """The message with sequence `seq`: from memory when held, else from its block."""
        msg = self._recent.get(seq)
        if msg is None:
            msg = self._ahead.get(seq)
            if msg is None:
                p = self._pos(seq)
                return None if p < 0 else self._read_blocks(p)
        return msg

    def load_next(self, start: int, filter: Filter = None) -> StoredMsg | None:
        """The first message at or after `start` matching the filter; without a filter, a
        message held in memory at `start` is the answer without a look at the index."""
        if not filter or filter == ">":
            msg = self._recent.get(start)
            if msg is None:
                msg = self._ahead.get(start)
            if msg is not None:
                return msg
        return super().load_next(start, filter)

    def _read(self, pos: int) -> StoredMsg | None:
        seq = self._seqs[pos]
        msg = self._recent.get(seq)
        if msg is None:
            msg = self._ahead.get(seq)
            if msg is None:
                msg = self._read_blocks(pos)
        return msg

    def _read_blocks(self, pos: int) -> StoredMsg | None:
        """Read the message at `pos` from its block, checksum checked.

        A reader walking the stream in order (this read comes at most `GAP` sequences after the
        last one from the blocks) also gets the live messages after it that the same read-ahead
        buffer holds, checked and decoded into `_ahead` in place of the last run; a damaged one
        ends the run, and is reported when it is read itself.
        """
        seqs, sids, sizes, offsets, names = self._seqs, self._sids, self._sizes, self._extra, self._subj
        seq = seqs[pos]
        in_order = 0 < seq - self._last_miss <= GAP
        self._last_miss = seq
        buf, at = self._span(pos, sizes[pos])
        base = (offsets[pos] & ~HAS_HEADERS) - at  # where buf starts in the block
        last, n, first = self._block_of(seq).hi, len(buf), None
        head, hlen, trailer = records.HEAD.unpack_from, records.HLEN.unpack_from, records.TRAILER.unpack_from
        magic = records.MAGIC
        with memoryview(buf) as view:
            for p in range(pos, len(seqs)):
                sid = sids[p]
                if sid == DEAD:
                    continue
                if seqs[p] > last:
                    break
                start = (offsets[p] & ~HAS_HEADERS) - base
                end = start + sizes[p]
                if end > n or trailer(buf, end - 8) != (crc32(view[start : end - 8]), magic):
                    if first is None:
                        self._damaged_at_read(pos)
                    break
                flags, s, ts, slen = head(buf, start)
                if s != seqs[p]:  # an intact record, but not the one the index names
                    if first is None:
                        self._damaged_at_read(pos)
                    break
                if flags & records.F_HDR:
                    h0 = start + records.HEAD_LEN + 4 + slen
                    d0 = h0 + hlen(buf, start + records.HEAD_LEN)[0]
                    headers = buf[h0:d0]
                else:
                    d0 = start + records.HEAD_LEN + slen
                    headers = None
                msg = new_msg(StoredMsg, (s, names[sid], headers, buf[d0 : end - 8], ts))
                if first is None:
                    first = msg
                    if not in_order:
                        break
                    ahead = self._ahead = {}
                else:
                    ahead[s] = msg
                    self._last_miss = s
        return first

    def _ts_at(self, pos: int) -> int:
        msg = self._recent.get(self._seqs[pos])
        if msg is not None:
            return msg.ts
        buf, start = self._span(pos, records.HEAD_LEN)
        return records.HEAD.unpack_from(buf, start)[2]

    def _damaged_at_read(self, pos: int) -> None:
        """A record that no longer matches its checksum: report it lost and stop serving it."""
        seq, size = self._seqs[pos], self._sizes[pos]
        where = self._path(self._block_of(seq).num)
        text = f"{where}: message {seq} failed its checksum on read; reported lost"
        self.warnings.append(text)
        log.warning(text)
        self._lost.append(seq)
        self._lost_bytes += size
        self._drop(pos)
        self._tidy()
        self._mutated()

    def _lost_data(self) -> LostData | None:
        if not self._lost:
            return None
        return LostData(sorted(self._lost), self._lost_bytes)

    # -- lifecycle

    def _close_fds(self) -> None:
        self._recent.clear()
        self._ahead.clear()
        self._reader.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def close(self) -> None:
        """Flush, fsync and save the index; the store is unusable afterwards."""
        if self._fd < 0:
            return
        self.sync()
        self._write_index()
        self._close_fds()

    def moved(self, directory: str | os.PathLike[str]) -> None:
        """The store's directory was renamed to `directory` while open (a restore moving in)."""
        self.directory = os.fspath(directory)

    def delete(self) -> None:
        """Remove the store's directory and everything in it."""
        self._close_fds()
        shutil.rmtree(self.directory, ignore_errors=True)
