"""Checkpoints of the index (nats-server's writeFullState): index.db at block seals and at close.

Owns `Checkpoints`, mixed into `FileStore`. When a block is sealed, index.db is rewritten for the
sealed blocks (not the new one) once the blocks sealed since the last one hold
`CHECKPOINT_SPACING` times its size. A crash then costs a scan of those blocks and the newest,
not of all; writing index.db costs a bounded share of the writes (a whole index is rewritten
each time, so checkpoints thin out as it grows).

May import: devserver.store.*.
"""

from __future__ import annotations

import os
from dataclasses import astuple

from devserver.store import fileindex
from devserver.store.layout import CHECKPOINT_SPACING, INDEX_ENTRY_BYTES, INDEX_FILE


class Checkpoints:
    """Saving the index as index.db."""

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
