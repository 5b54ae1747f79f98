"""Recovery at open (nats-server's recoverMsgs/rebuildState): index.db, block indexes, scans.

Owns `Recovery`, mixed into `FileStore`: index.db is used when every block it lists is still
there with the checksum it recorded, or gone (deleted once its messages were: the replay removes
them again; any it still holds are reported lost); the blocks after it are recovered as after a
crash: a sealed block from its own index (checkpoint.py) when that is intact and the block still
has the checksum it records, else by a scan, which writes its index again; the newest block is
always scanned. An index left by a block that is gone tells what it held, reported lost unless
removed since. A damaged record is skipped, reported in `warnings` and in `state().lost`; damage
at the very end of the newest block is a torn write and is cut off. A stale index.db still says
how far the store went: messages it lists past the end of the scanned blocks are reported lost,
and their sequences are not used again.

May import: devserver.store.*.
"""

from __future__ import annotations

import json
import mmap
import os
from array import array
from bisect import bisect_right

from devserver.store import fileindex, records
from devserver.store.atomic import write_atomic
from devserver.store.base import StoreError
from devserver.store.blocks import mapped
from devserver.store.index import DEAD
from devserver.store.layout import FORMAT, HAS_HEADERS, INDEX_FILE, LOST_RANGE, META_FILE, Block


class Recovery:
    """Opening a file store: rebuild the index from index.db and the blocks."""

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
        nums, indexed = self._listing()
        if not self._load_index(nums, indexed):
            self._forget_gone(self._recover(nums, nums, indexed, 0))
        self._settle_damage(None)
        if nums:
            self._active = self._blocks[nums[-1]]
            self._fd = os.open(self._path(self._active.num), os.O_RDWR)
            self._flushed = self._active.size
        else:
            self._new_block(1)
        self._lost_past_end()
        self._mutated()

    def _replay(self, blk: Block, start: int, newest: bool) -> None:
        """Apply the records of a block from `start`; cut a torn tail of the newest block."""
        with mapped(self._path(blk.num)) as buf:
            size = len(buf)
            blk.size = self._apply(blk, buf, start, newest)
        if blk.size < size:
            self.warnings.append(
                f"{self._path(blk.num)}: cut {size - blk.size} bytes of torn or damaged tail"
            )
            with open(self._path(blk.num), "r+b") as f:
                f.truncate(blk.size)
                f.flush()
                os.fsync(f.fileno())

    def _apply(self, blk: Block, buf: bytes | mmap.mmap, start: int, newest: bool) -> int:
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
                self._dels.append(seq)
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

    def _note_damage(self, blk: Block, off: int, end: int, claimed: int) -> None:
        """A damaged region [off, end) that good records follow (or that ends an older block)."""
        self.warnings.append(
            f"{self._path(blk.num)}: {end - off} damaged bytes at offset {off} skipped (checksum mismatch)"
        )
        self._lost_bytes += end - off
        self._unindexed.add(blk.num)
        if self._damage is None:
            self._damage = (self.last_seq, claimed)

    def _settle_damage(self, next_seq: int | None) -> None:
        """Name the sequences lost in the damaged region, now that the next good one is known."""
        if self._damage is None:
            return
        prev, claimed = self._damage
        self._damage = None
        if next_seq is not None:
            lost = list(range(prev + 1, min(next_seq, prev + 1 + LOST_RANGE)))
        elif prev < claimed <= prev + LOST_RANGE:
            lost = [claimed]
        else:
            lost = []
        self._lost.extend(lost)
        if lost:
            self.warnings.append(f"lost messages {lost[0]}..{lost[-1]} ({len(lost)})")
            if lost[-1] > self.last_seq:
                self._skip_index(lost[-1] - self.last_seq, None)

    def _recover(self, nums: list[int], every: list[int], indexed: set[int], after: int) -> list[Block]:
        """Recover blocks `nums` of `every` block there is, and those numbered past `after` whose
        index outlived their file: each from its index when it has a good one, else by a scan;
        the newest is always scanned. Returns the blocks whose file is gone."""
        newest = every[-1] if every else 0
        gone = []
        for num in sorted({*nums, *(n for n in indexed if n > after)}):
            present = num in nums
            if num != newest and num in indexed and self._load_block_index(num, present):
                if not present:
                    gone.append(self._blocks[num])
            elif present:
                self._blocks[num] = blk = Block(num)
                self._dels = array("Q")  # the F_DELs it holds, for its index
                self._replay(blk, 0, num == newest)
                if num != newest:
                    self._reindex(blk)
        return gone

    def _reindex(self, blk: Block) -> None:
        """A sealed block just scanned gets its index again, so the next crash need not scan it;
        one with damage in it loses a stale one (a scan reports that damage each time)."""
        if blk.num in self._unindexed or not blk.live:
            self._drop_block_index(blk.num)
            return
        blk.crc = fileindex.file_crc(self._path(blk.num), blk.size)
        self._seal_index(blk)

    # -- index.db

    def _load_index(self, nums: list[int], indexed: set[int]) -> bool:
        path = os.path.join(self.directory, INDEX_FILE)
        if not os.path.exists(path):
            return False
        try:
            meta, columns = fileindex.load(path)
            listed = [Block(*b) for b in meta["blocks"]]
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
        if kept and kept[-1].num == nums[-1]:
            self._unindexed.add(nums[-1])  # the F_DELs it held before index.db are not known
        gone = [b for b in listed if b not in kept]
        self._forget_gone(gone + self._recover(newer, nums, indexed, listed[-1].num))
        return True

    def _forget_gone(self, gone: list[Block]) -> None:
        """Drop the blocks an index listed that are no longer there. A block is deleted once its
        messages are, and the replay has removed those again; any it still holds went missing."""
        for blk in gone:
            self._drop_block_index(blk.num)
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
        lost = [seqs[p] for p in gone[:LOST_RANGE]]
        self._lost.extend(lost)
        self._lost_bytes += sum(sizes[p] for p in gone)
        text = f"the blocks end at sequence {self.last_seq}, index.db recorded {last_seq}"
        if lost:
            text += f": lost messages {lost[0]}..{lost[-1]} ({len(lost)})"
        self.warnings.append(text)
        self._skip_index(last_seq - self.last_seq, None)
        self._persist_skip()
