"""The file store: append-only block files with a checksum per record, and an index beside them.

The store owns one directory (a stream passes `<stream dir>/msgs`):

    <n>.blk      blocks of records (records.py), appended in order and rotated at `block_size`
    index.db     the in-memory index as of the last clean close or checkpoint (a cache: blocks
                 are the truth)
    meta.json    the format version

Writing: `store()` encodes a record into a write buffer; `flush()` hands the buffer to the OS
(and, with `sync_always`, fsyncs it). The server appends a batch, calls `flush()` once, then sends
the PubAcks for the whole batch: that is the group commit, one write (and one fsync) shared by
every publish in the batch. With the default policy the server calls `maybe_sync(now_ns)` from
a timer and the store fsyncs every `sync_interval_ns` (2 minutes, as nats-server).

Reading: the messages written last are kept decoded in memory (cache.py, about `cache_bytes` of
them: 16 MiB hold some 48,000 messages of 128 bytes), so consumers reading fresh messages never
touch the blocks. Older ones are read through `BlockReader`, checksum checked; a reader
walking them in order has the rest of each read-ahead buffer decoded at once (one run is kept).

Removals append markers (F_DEL per message, F_FLOOR for compact/purge/expiry, F_LAST for skipped
sequences) to the newest block; a block whose messages are all gone is deleted, after copying any
F_DEL it holds that older blocks still need. `erase` also overwrites the record in place.

Checkpoints: when a block is sealed, index.db is rewritten for the sealed blocks (not the new
one) once the blocks sealed since the last one hold `CHECKPOINT_SPACING` times its size. A crash
then costs a scan of those blocks and the newest, not of all; writing index.db costs a bounded
share of the writes (a whole index is rewritten each time, so checkpoints thin out as it grows).

Opening: index.db is used when every block it lists is still there with the checksum it
recorded, or gone (deleted once its messages were: the replay removes them again; any it still
holds are reported lost); records written after it are replayed. Otherwise every block is
scanned. A damaged
record is skipped, reported in `warnings` (for the server's log) and in `state().lost`, and the
rest is served; damage at the very end of the newest block is a torn write and is cut off. A
stale index.db still says how far the store went: messages it lists past the end of the scanned
blocks are reported lost, and their sequences are not used again. A record found damaged when
read is logged (`devserver.store`) and reported lost too.

May import: devserver.store.*.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
from array import array
from bisect import bisect_right
from dataclasses import astuple, dataclass
from zlib import crc32

from devserver.store import fileindex, records
from devserver.store.atomic import fsync_dir, write_atomic
from devserver.store.base import Filter, LostData, StoredMsg, StoreError
from devserver.store.blocks import BlockReader, mapped
from devserver.store.cache import GAP, MsgWindow, new_msg
from devserver.store.index import DEAD, top_bytes
from devserver.store.indexed import IndexedStore

BLOCK_SUFFIX = ".blk"
INDEX_FILE = "index.db"
META_FILE = "meta.json"
FORMAT = 1
DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024
DEFAULT_SYNC_INTERVAL_NS = 120 * 1_000_000_000
WRITE_BUFFER = 1024 * 1024  # pending bytes handed to the OS without waiting for flush()
MAX_BLOCK_SIZE = 1 << 30  # offsets in a block are kept in 31 bits
HAS_HEADERS = records.F_HDR  # ... and the top bit of the offset column, as in the record, says it has headers
_LOST_RANGE = 100_000  # report at most this many sequences for one damaged region
DEFAULT_CACHE_BYTES = 16 * 1024 * 1024  # the newest messages kept decoded in memory
_HEADERS_SCAN = 4096  # offset column entries looked at in one piece for the headers bit
CHECKPOINT_SPACING = 2  # index.db is rewritten after sealed blocks of twice its size
INDEX_ENTRY_BYTES = 20  # one message in index.db's columns (QIII)

log = logging.getLogger("devserver.store")


@dataclass(slots=True)
class _Block:
    num: int
    size: int = 0  # bytes in the file, plus pending ones for the newest block
    live: int = 0  # messages still in the stream
    lo: int = 0  # lowest and highest message sequence written to it
    hi: int = 0
    dels: int = 0  # F_DEL markers it holds
    crc: int | None = None  # crc32 of the whole file, when known


class FileStore(IndexedStore):
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
        self._blocks: dict[int, _Block] = {}
        self._block_los: list[int] = []  # first message sequence of each block holding messages
        self._block_ids: list[int] = []  # ... and its number
        self._active = _Block(0)
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
        self._unchecked = 0  # bytes of sealed blocks that index.db does not cover
        self._open()

    # -- layout

    def _path(self, num: int) -> str:
        return os.path.join(self.directory, f"{num}{BLOCK_SUFFIX}")

    def _block_nums(self) -> list[int]:
        nums = []
        for name in os.listdir(self.directory):
            stem, dot, ext = name.partition(".")
            if dot and f".{ext}" == BLOCK_SUFFIX and stem.isdigit():
                nums.append(int(stem))
        return sorted(nums)

    # -- opening

    def _open(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        meta_path = os.path.join(self.directory, META_FILE)
        if os.path.exists(meta_path):
            with open(meta_path, "rb") as f:
                meta = json.loads(f.read())
            if meta.get("format") != FORMAT:
                raise StoreError(f"{self.directory}: unsupported store format {meta.get('format')!r}")
        else:
            write_atomic(meta_path, json.dumps({"format": FORMAT}).encode())
        nums = self._block_nums()
        if not self._load_index(nums):
            for num in nums:
                self._blocks[num] = blk = _Block(num)
                self._replay(blk, 0, num == nums[-1])
        self._settle_damage(None)
        if nums:
            self._active = self._blocks[nums[-1]]
            self._fd = os.open(self._path(self._active.num), os.O_RDWR)
            self._flushed = self._active.size
        else:
            self._new_block(1)
        self._lost_past_end()
        self._mutated()

    def _replay(self, blk: _Block, start: int, newest: bool) -> None:
        """Apply the records of a block from `start`; cut a torn tail of the newest block."""
        with mapped(self._path(blk.num)) as buf:
            size = len(buf)
            blk.size = self._apply(blk, buf, start, newest)
        if not newest:
            self._unchecked += blk.size - start
        if blk.size < size:
            self.warnings.append(
                f"{self._path(blk.num)}: cut {size - blk.size} bytes of torn or damaged tail"
            )
            with open(self._path(blk.num), "r+b") as f:
                f.truncate(blk.size)
                f.flush()
                os.fsync(f.fileno())

    def _apply(self, blk: _Block, buf: bytes | mmap.mmap, start: int, newest: bool) -> int:
        """Apply the records in `buf` from `start` to the index; returns where the good ones end."""
        names: dict[bytes, str] = {}
        append = self._append
        end = start
        for off, flags, seq, ts, slen in records.scan(buf, start):
            if flags == records.DAMAGED:
                if seq == len(buf) and newest:
                    break
                self._note_damage(blk, off, seq, ts)
                end = seq
                continue
            end = off + (flags & records.LEN_MASK)
            if not flags & records.NOT_MSG:
                if seq <= self.last_seq:
                    self.warnings.append(f"{self._path(blk.num)}: record for seq {seq} out of order, skipped")
                    continue
                if self._damage is not None:
                    self._settle_damage(seq)
                h0 = off + records.HEAD_LEN + (4 if flags & records.F_HDR else 0)
                subject = buf[h0 : h0 + slen]
                name = names.get(subject)
                if name is None:
                    name = names[subject] = subject.decode()
                if not blk.lo:
                    self._first_in_block(blk, seq)
                append(
                    seq,
                    name,
                    ts,
                    flags & records.LEN_MASK,
                    off | (HAS_HEADERS if flags & records.F_HDR else 0),
                )
                blk.live += 1
                blk.hi = seq
            elif flags & records.F_DEL:
                blk.dels += 1
                self._replay_delete(seq)
            elif flags & records.F_FLOOR:
                self._compact_index(seq)
                self.last_ts = ts
            elif flags & records.F_LAST:
                if seq > self.last_seq:
                    self._skip_index(seq - self.last_seq, ts)
            elif seq > self.last_seq:  # an erased message still used its sequence
                self._skip_index(seq - self.last_seq, ts)
        return end

    def _replay_delete(self, seq: int) -> None:
        p = self._pos(seq)
        if p >= 0:
            self._drop(p)
            self._tidy()
        elif seq in self._lost:
            self._lost.remove(seq)

    def _note_damage(self, blk: _Block, off: int, end: int, claimed: int) -> None:
        """A damaged region [off, end) that good records follow (or that ends an older block)."""
        self.warnings.append(
            f"{self._path(blk.num)}: {end - off} damaged bytes at offset {off} skipped (checksum mismatch)"
        )
        self._lost_bytes += end - off
        if self._damage is None:
            self._damage = (self.last_seq, claimed)

    def _settle_damage(self, next_seq: int | None) -> None:
        """Name the sequences lost in the damaged region, now that the next good one is known."""
        if self._damage is None:
            return
        prev, claimed = self._damage
        self._damage = None
        if next_seq is not None:
            lost = list(range(prev + 1, min(next_seq, prev + 1 + _LOST_RANGE)))
        elif prev < claimed <= prev + _LOST_RANGE:
            lost = [claimed]
        else:
            lost = []
        self._lost.extend(lost)
        if lost:
            self.warnings.append(f"lost messages {lost[0]}..{lost[-1]} ({len(lost)})")
            if lost[-1] > self.last_seq:
                self._skip_index(lost[-1] - self.last_seq, None)

    # -- the index file

    def _load_index(self, nums: list[int]) -> bool:
        path = os.path.join(self.directory, INDEX_FILE)
        if not os.path.exists(path):
            return False
        try:
            meta, columns = fileindex.load(path)
            listed = [_Block(*b) for b in meta["blocks"]]
            kept = [b for b in listed if b.num in set(nums)]
            newer = nums[len(kept) :]
            if [b.num for b in kept] != nums[: len(kept)] or (newer and newer[0] <= listed[-1].num):
                raise fileindex.Stale("blocks were added or removed")
            for blk in kept:
                if fileindex.file_crc(self._path(blk.num), blk.size) != blk.crc:
                    raise fileindex.Stale(f"block {blk.num} changed")
            state = [meta[key] for key in ("msgs", "bytes", "first_seq", "last_seq", "last_ts")]
            table = meta["subjects"]
            lost, lost_bytes = meta["lost"]
        except fileindex.Stale:
            # blocks changed since (a crash, or damage the scan will report); what it recorded
            # still tells how far they went
            self._recorded = (meta["last_seq"], columns)
            return False
        except (ValueError, KeyError, TypeError, OSError) as exc:
            self.warnings.append(f"{path}: not usable ({exc}), rebuilding the index from the blocks")
            return False
        self.msgs, self.bytes, self.first_seq, self.last_seq, self.last_ts = state
        self._seqs, self._sids, self._sizes, self._extra = columns
        self._dead = self._sids.count(DEAD)
        for sid, entry in enumerate(table):
            name, count, first, last = entry or (None, 0, 0, 0)
            self._subj.append(name)
            self._count.append(count)
            self._sfirst.append(first)
            self._slast.append(last)
            if name is None:
                self._free.append(sid)
            else:
                self._sid_of[name] = sid
        self._track_small_subjects()
        self._lost, self._lost_bytes = lost, lost_bytes
        if lost:
            self.warnings.append(f"lost messages {lost[0]}..{lost[-1]} ({len(lost)}), found earlier")
        self._blocks = {blk.num: blk for blk in listed}  # gone ones too, until the replay is done
        self._index_blocks()
        for blk in kept:
            if os.path.getsize(self._path(blk.num)) > blk.size:
                blk.crc = None
                self._replay(blk, blk.size, blk.num == nums[-1])
        for num in newer:
            self._blocks[num] = blk = _Block(num)
            self._replay(blk, 0, num == nums[-1])
        self._forget_gone([b for b in listed if b not in kept])
        return True

    def _forget_gone(self, gone: list[_Block]) -> None:
        """Drop the blocks index.db listed that are no longer there. A block is deleted once its
        messages are, and the replay has removed those again; any it still holds went missing."""
        for blk in gone:
            if blk.live:
                first, last = self._pos_ge(blk.lo), self._pos_le(blk.hi)
                held = [p for p in range(first, last + 1) if self._sids[p] != DEAD]
                lost = [self._seqs[p] for p in held]
                self._lost.extend(lost)
                self._lost_bytes += sum(self._sizes[p] for p in held)
                self.warnings.append(
                    f"{self._path(blk.num)} is missing: lost messages {lost[0]}..{lost[-1]} ({len(lost)})"
                )
                for p in held:
                    self._drop(p)
                self._tidy()
            del self._blocks[blk.num]
        if gone:
            self._index_blocks()

    def _lost_past_end(self) -> None:
        """After a scan that a stale index.db preceded: the messages it listed beyond the last
        sequence the blocks hold were cut off or damaged at the end; report them lost and keep
        their sequences used (a torn write after a crash is never below what index.db saw)."""
        if self._recorded is None:
            return
        (last_seq, (seqs, sids, sizes, _)), self._recorded = self._recorded, None
        if last_seq <= self.last_seq:
            return
        gone = [p for p in range(bisect_right(seqs, self.last_seq), len(seqs)) if sids[p] != DEAD]
        lost = [seqs[p] for p in gone[:_LOST_RANGE]]
        self._lost.extend(lost)
        self._lost_bytes += sum(sizes[p] for p in gone)
        text = f"the blocks end at sequence {self.last_seq}, index.db recorded {last_seq}"
        if lost:
            text += f": lost messages {lost[0]}..{lost[-1]} ({len(lost)})"
        self.warnings.append(text)
        self._skip_index(last_seq - self.last_seq, None)
        self._persist_skip()

    def _write_index(self, sealed_only: bool = False) -> None:
        """Save the index; `sealed_only` leaves out the newest block (a checkpoint: the index
        must not list bytes that are not yet written out)."""
        blocks = [b for b in self._blocks.values() if not (sealed_only and b is self._active)]
        for blk in blocks:
            if blk.crc is None or blk is self._active:
                blk.crc = fileindex.file_crc(self._path(blk.num), blk.size)
        meta = {
            "msgs": self.msgs,
            "bytes": self.bytes,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "last_ts": self.last_ts,
            "blocks": [astuple(b) for b in blocks],
            "subjects": [
                None if name is None else [name, self._count[i], self._sfirst[i], self._slast[i]]
                for i, name in enumerate(self._subj)
            ],
            "lost": [self._lost, self._lost_bytes],
        }
        columns = [memoryview(col)[self._start :] for col in self._columns()]
        fileindex.save(os.path.join(self.directory, INDEX_FILE), meta, columns)
        for view in columns:
            view.release()
        self._unchecked = 0

    def _maybe_checkpoint(self) -> None:
        """After a block was sealed: save the index when enough was sealed since it last was."""
        size = (len(self._seqs) - self._start) * INDEX_ENTRY_BYTES
        if self._unchecked >= size * CHECKPOINT_SPACING:
            self._write_index(sealed_only=True)

    # -- blocks

    def _index_blocks(self) -> None:
        """Rebuild the sequence -> block lookup after blocks were loaded or deleted."""
        holding = [blk for blk in self._blocks.values() if blk.lo]
        self._block_los = [blk.lo for blk in holding]
        self._block_ids = [blk.num for blk in holding]

    def _first_in_block(self, blk: _Block, seq: int) -> None:
        blk.lo = seq
        self._block_los.append(seq)
        self._block_ids.append(blk.num)

    def _block_of(self, seq: int) -> _Block:
        active = self._active
        if active.lo and seq >= active.lo:
            return active
        return self._blocks[self._block_ids[bisect_right(self._block_los, seq) - 1]]

    # -- writing

    def _extra_column(self) -> array:
        return array("I")  # the record's offset in its block, | HAS_HEADERS

    def _new_block(self, num: int) -> None:
        self._fd = os.open(self._path(num), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self._active = self._blocks[num] = _Block(num)
        self._flushed = 0
        self._dir_dirty = True

    def _rotate(self) -> None:
        """Seal the newest block and start the next one, which first records the sequence bounds."""
        old = self._active
        self._write_out()
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        os.close(self._fd)
        old.crc = None
        self._unchecked += old.size
        self._new_block(old.num + 1)
        if self.first_seq:
            self._marker(records.F_FLOOR, self.first_seq)
        if self.last_seq:
            self._marker(records.F_LAST, self.last_seq)
        if not old.live:
            self._reap(old)

    def _marker(self, flag: int, seq: int) -> None:
        self._wbuf += records.pack_marker(flag, seq, self.last_ts)
        self._active.size += records.MARKER_LEN

    def _persist_msg(
        self, seq: int, subject: str, headers: bytes | None, data: bytes, ts: int
    ) -> tuple[int, int]:
        try:
            rec = records.pack_msg(seq, ts, subject.encode(), headers, data)
        except ValueError as exc:
            raise StoreError(str(exc)) from None
        size, extra = self._persist_record(rec, seq, bool(headers))
        if type(data) is not bytes:
            data = bytes(data)  # a view of a buffer the caller may reuse
        if headers is not None and type(headers) is not bytes:
            headers = bytes(headers)
        sid = self._sid_of.get(subject)
        if sid is not None:
            subject = self._subj[sid]  # the index's str, rather than one more per message
        self._recent.put(seq, (seq, subject, headers, data, ts), size)
        return size, extra

    def _persist_record(self, rec: bytes, seq: int, headers: bool) -> tuple[int, int]:
        """Append a packed message record to the newest block: its size and `_extra` value."""
        blk = self._active
        if blk.size + len(rec) > self._block_size and blk.size:
            self._rotate()
            self._maybe_checkpoint()  # here the index holds exactly what the sealed blocks do
            blk = self._active
        off = blk.size
        self._wbuf += rec
        blk.size = off + len(rec)
        blk.live += 1
        blk.hi = seq
        if not blk.lo:
            self._first_in_block(blk, seq)
        if len(self._wbuf) >= WRITE_BUFFER:
            self._write_out()
        return len(rec), off | HAS_HEADERS if headers else off

    def _persist_delete(self, pos: int, erase: bool) -> None:
        self._marker(records.F_DEL, self._seqs[pos])
        self._active.dels += 1
        if erase:
            self._erase(pos)

    def _persist_floor(self) -> None:
        self._marker(records.F_FLOOR, self.first_seq)

    def _persist_skip(self) -> None:
        self._marker(records.F_LAST, self.last_seq)

    def _erase(self, pos: int) -> None:
        """Overwrite the record in place: same length, F_ERASED, random body, fresh checksum."""
        num, off = self._block_of(self._seqs[pos]).num, self._extra[pos] & ~HAS_HEADERS
        buf, start = self._span(pos, self._sizes[pos])
        rec = records.erased(buf[start : start + self._sizes[pos]])
        self._reader.forget(num)
        if num == self._active.num and off >= self._flushed:
            start = off - self._flushed
            self._wbuf[start : start + len(rec)] = rec
            return
        self._write_out()  # the F_DEL first: a torn overwrite is then known to be a deletion
        if num == self._active.num:
            os.pwrite(self._fd, rec, off)
            self._dirty = True
        else:
            fd = os.open(self._path(num), os.O_WRONLY)
            try:
                os.pwrite(fd, rec, off)
                os.fsync(fd)
            finally:
                os.close(fd)
        self._blocks[num].crc = None

    def _dropped(self, pos: int) -> None:
        seq = self._seqs[pos]
        self._recent.discard(seq)
        self._ahead.pop(seq, None)
        blk = self._block_of(seq)
        blk.live -= 1
        if not blk.live and blk is not self._active:
            self._empty.append(blk.num)

    def _cleared(self) -> None:
        self._recent.clear()
        self._ahead.clear()
        for blk in self._blocks.values():
            blk.live = 0
        if self._active.size:
            self._rotate()
        self._empty = [num for num in self._blocks if num != self._active.num]

    def _mutated(self) -> None:
        empty, self._empty = self._empty, []
        for num in empty:
            blk = self._blocks.get(num)
            if blk is not None and not blk.live and blk is not self._active:
                self._reap(blk)

    def _reap(self, blk: _Block) -> None:
        """Delete a block with no messages left, keeping the F_DEL markers older blocks need."""
        if blk.dels:
            older = [b for b in self._blocks.values() if b.num < blk.num and b.live]
            with mapped(self._path(blk.num)) as buf:
                needed = [
                    seq
                    for _off, flags, seq, _ts, _slen in records.scan(buf)
                    if flags & records.F_DEL and any(b.lo <= seq <= b.hi for b in older)
                ]
            for seq in needed:
                self._marker(records.F_DEL, seq)
                self._active.dels += 1
        self.flush()  # the markers that make this block unnecessary are written before it goes
        self._reader.forget(blk.num)
        os.unlink(self._path(blk.num))
        del self._blocks[blk.num]
        self._index_blocks()
        self._dir_dirty = True

    def _write_out(self) -> None:
        """Hand the write buffer to the OS."""
        if not self._wbuf:
            return
        with memoryview(self._wbuf) as view:
            done = 0
            while done < len(view):
                done += os.pwrite(self._fd, view[done:], self._flushed + done)
        self._flushed += done
        self._wbuf.clear()
        self._dirty = True

    def _fsync(self) -> None:
        if self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        if self._dir_dirty:
            fsync_dir(self.directory)
            self._dir_dirty = False

    def flush(self) -> None:
        """Hand everything stored so far to the OS (and fsync it with `sync_always`).

        Call once per batch of stores, before sending their PubAcks.
        """
        self._write_out()
        if self._sync_always:
            self._fsync()

    def sync(self) -> None:
        """Flush and fsync now."""
        self._write_out()
        self._fsync()

    def maybe_sync(self, now_ns: int) -> bool:
        """Sync when `sync_interval_ns` has passed since the last sync (the first call starts the clock)."""
        if self._last_sync_ns is None:
            self._last_sync_ns = now_ns
        if now_ns - self._last_sync_ns < self._sync_interval_ns:
            return False
        self.sync()
        self._last_sync_ns = now_ns
        return True

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
