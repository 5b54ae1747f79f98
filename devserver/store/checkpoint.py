"""Checkpoints of the index: a `<n>.idx` per sealed block, and index.db at a clean close.

Owns `Checkpoints`, mixed into `FileStore`. When a block is sealed, its own index is written
once (fileindex.py's format, temp + fsync + rename): the columns of the messages it still holds,
the F_DEL sequences it carries, the stream's first and last sequence and time at the seal, the
names of its subject ids and the block's crc32. A crash then costs a read of those small files
and a scan of the newest block only; a seal costs about 20 bytes per message written, not a
rewrite of the whole index (what index.db checkpoints cost before, 15-25% of append time).
A clean close still writes index.db, the whole index in one file: the fastest next start.

May import: devserver.store.*.
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from dataclasses import astuple
from itertools import compress

from devserver.store import fileindex
from devserver.store.index import DEAD, top_bytes
from devserver.store.layout import INDEX_FILE, Block


class Checkpoints:
    """Saving the index: per sealed block, and whole at close."""

    def _seal_index(self, blk: Block) -> None:
        """Write `<n>.idx` for a block just sealed; the index holds exactly what the sealed
        blocks do (the next record is not in it yet). A block with damage found in it gets none
        (a scan will report that damage again), nor one whose F_DELs are not all known."""
        if blk.num in self._unindexed:
            return
        lo = self._pos_ge(blk.lo) if blk.lo else len(self._seqs)
        hi = max(lo, self._pos_le(blk.hi) + 1)
        columns = [col[lo:hi] for col in self._columns()]
        if b"\xff" in top_bytes(columns[1]):  # removed ones among them
            live = list(map(DEAD.__ne__, columns[1]))
            columns = [array(col.typecode, compress(col, live)) for col in columns]
        meta = {
            "block": astuple(blk),
            "state": [self.first_seq, self.last_seq, self.last_ts],
            "dels": self._dels.tolist(),
            "names": [[sid, self._subj[sid]] for sid in set(columns[1])],
        }
        fileindex.save(self._idx_path(blk.num), meta, [memoryview(col) for col in columns])

    def _load_block_index(self, num: int, present: bool) -> bool:
        """Recover block `num` from its index: False, having changed nothing, when the index is
        damaged or no longer describes the block (a scan then reports what changed)."""
        path = self._idx_path(num)
        try:
            meta, columns = fileindex.load(path)
            blk = Block(*meta["block"])
            state = meta["state"]
            dels = array("Q", meta["dels"])
            names = {sid: name for sid, name in meta["names"]}
            counts = _counts(columns[1], names)
            if blk.num != num or not names.keys() >= counts.keys():
                raise ValueError("it does not describe this block")
            if columns[0] and columns[0][0] <= self.last_seq:
                raise fileindex.Stale("out of order")
            if present and (
                os.path.getsize(self._path(num)) != blk.size
                or fileindex.file_crc(self._path(num), blk.size) != blk.crc
            ):
                raise fileindex.Stale("the block changed")
        except fileindex.Stale:
            return False
        except (ValueError, KeyError, TypeError, OSError) as exc:
            self.warnings.append(f"{path}: not usable ({exc}), scanning the block")
            return False
        self._apply_block_index(blk, state, dels, names, columns, counts)
        return True

    def _apply_block_index(
        self,
        blk: Block,
        state: list[int],
        dels: array,
        names: dict[int, str],
        columns: list[array],
        counts: Counter[int],
    ) -> None:
        """What a scan of the block would do: its messages, then its markers' effect."""
        first_seq, last_seq, last_ts = state
        seqs, sids, sizes, extra = columns
        self._blocks[blk.num] = blk
        blk.live = len(seqs)
        if blk.lo:
            self._block_los.append(blk.lo)
            self._block_ids.append(blk.num)
        if seqs:
            self._settle_damage(seqs[0])
            moved = {}
            for sid, name in names.items():
                ours = self._subject_id(name, seqs[0], sid)
                if ours != sid:
                    moved[sid] = ours
            if moved:
                sids = array("I", map(moved.get, sids, sids))
                counts = Counter({moved.get(sid, sid): n for sid, n in counts.items()})
            self._extend(seqs, sids, sizes, extra, last_ts, counts)
        for seq in dels:
            self._replay_delete(seq)
        self._compact_index(first_seq)
        if last_seq > self.last_seq:
            self._skip_index(last_seq - self.last_seq, None)
        self.last_ts = last_ts

    def _write_index(self) -> None:
        """Save the whole index as index.db (a clean close)."""
        for blk in self._blocks.values():
            if blk.crc is None or blk is self._active:
                blk.crc = fileindex.file_crc(self._path(blk.num), blk.size)
        meta = {
            "msgs": self.msgs,
            "bytes": self.bytes,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "last_ts": self.last_ts,
            "blocks": [astuple(b) for b in self._blocks.values()],
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


def _counts(sids: array, names: dict[int, str]) -> Counter[int]:
    """Messages per subject id; a block of one subject is counted in C without hashing each."""
    if len(names) == 1:
        (sid,) = names
        if sids.count(sid) == len(sids):
            return Counter({sid: len(sids)})
    return Counter(sids)
