"""Bulk copies of a file store's messages, for stream snapshots and restores.

Owns `Batch` and the file store's two fast paths of `devserver/jetstream/snapshot.py` and
`restore.py`. A batch is a run of messages as records (records.py) together with their index
columns: sequences, record length words (length | F_HDR) and subject ids, with the names of
those ids. `raw_batch` reads the records of live messages as they lie in the block files, whole
runs at once, and slices the columns out of the index; `store_batch` appends a batch's records
to the blocks and its columns to the index in one piece each, so a restore does no work per
message in Python. A record's own checksum is checked when it is read, as for every block;
here the batch is checked for shape (lengths add up, sequences ascend, first and last record
agree with their columns). Any store can do the same slowly through `load_next` / `store_at`;
these work on `FileStore` internals and live beside it.

May import: devserver.store.*.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate, compress, islice, repeat
from operator import and_, lt, or_
from typing import NamedTuple

from devserver.store import records
from devserver.store.base import SequenceMismatch, StoreError
from devserver.store.file import HAS_HEADERS, MAX_BLOCK_SIZE, WRITE_BUFFER, FileStore
from devserver.store.index import DEAD, top_bytes

_NO_FLAGS = bytes(range(records.F_LAST >> 24))  # top bytes of length words without flags


class Batch(NamedTuple):
    seqs: array  # "Q": ascending sequences
    words: array  # "I": each record's first word, its length | F_HDR
    sids: array  # "I": subject ids, the sender's
    names: dict[int, str]  # the ids named differently, or not at all, in the batches before
    records: bytes  # the records, one after the other


@dataclass
class Subjects:
    """The sender's subject ids over a run of batches: their names, and, receiving, ours."""

    names: dict[int, str] = field(default_factory=dict)
    made: int = -1  # sending from a file store: its subjects made when it sent its whole table
    ours: dict[int, int] = field(default_factory=dict)  # their ids met in a batch -> ours
    moved: dict[int, int] = field(default_factory=dict)  # ... those that differ

    def news(self, present: dict[int, str]) -> dict[int, str]:
        """Sending: the names in `present` the receiver does not know yet (now noted as sent)."""
        fresh = dict(present.items() - self.names.items())
        self.names.update(fresh)
        return fresh


def raw_batch(store: FileStore, start: int, stop: int, max_bytes: int, sent: Subjects) -> tuple[Batch, int]:
    """The live messages from `start` to `stop` as stored, about `max_bytes` of them; and the
    sequence to go on from (past `stop` when done). `sent` is what earlier batches named."""
    store.flush()
    seqs, sids, sizes, offs = store._seqs, store._sids, store._sizes, store._extra
    n = len(seqs)
    lo = p = store._pos_ge(start)
    out: list[bytes] = []
    total, num, run_off, run_end, blk = 0, -1, 0, 0, None
    while p < n and total < max_bytes:
        seq = seqs[p]
        if seq > stop:
            break
        if sids[p] != DEAD:
            if blk is None or seq > blk.hi:
                blk = store._block_of(seq)
            off, size = offs[p] & ~HAS_HEADERS, sizes[p]
            if blk.num != num or off != run_end:  # a new run: the last one is read whole
                if num >= 0:
                    out.append(_span(store, num, run_off, run_end))
                num, run_off, run_end = blk.num, off, off
            run_end += size
            total += size
        p += 1
    if num >= 0:
        out.append(_span(store, num, run_off, run_end))
    nxt = seqs[p] if p < n else store.last_seq + 1
    return _columns(store, lo, p, b"".join(out), sent), min(nxt, stop + 1)


def _span(store: FileStore, num: int, start: int, end: int) -> bytes:
    fd = store._fd if num == store._active.num else -1
    buf, at = store._reader.read(num, start, end - start, fd)
    return buf[at : at + end - start]


def _columns(store: FileStore, lo: int, hi: int, data: bytes, sent: Subjects) -> Batch:
    """The batch of the live entries at positions [lo, hi), each column sliced in one piece."""
    sids = store._sids[lo:hi]
    cols = [store._seqs[lo:hi], store._sizes[lo:hi], store._extra[lo:hi]]
    if b"\xff" in top_bytes(sids):  # removed ones among them
        live = list(map(DEAD.__ne__, sids))
        sids = array("I", compress(sids, live))
        cols = [array(col.typecode, compress(col, live)) for col in cols]
    seqs, words, extra = cols
    if not top_bytes(extra).isascii():  # some have headers: their length words say so
        words = array("I", map(or_, words, map(and_, extra, repeat(HAS_HEADERS))))
    return Batch(seqs, words, sids, _names(store, sids, sent), data)


def _names(store: FileStore, sids: array, sent: Subjects) -> dict[int, str]:
    """The first batch names every subject; later ones none, unless subjects were made since
    (then those of the batch the receiver does not know by that name)."""
    subj = store._subj
    if sent.made < 0:
        sent.made = store._subjects_made
        return sent.news({sid: name for sid, name in enumerate(subj) if name is not None})
    if store._subjects_made == sent.made:
        return {}
    present = set(sids)
    return sent.news(dict(zip(present, map(subj.__getitem__, present), strict=True)))


def store_batch(store: FileStore, batch: Batch, subjects: Subjects) -> None:
    """Append a batch with its own sequences, each above the last; StoreError when it does not
    hold together, SequenceMismatch when it does not follow the store's last sequence.
    `subjects` carries the sender's ids from one batch to the next."""
    if not batch.seqs:
        return
    sizes = _sizes(batch)
    subjects.names.update(batch.names)
    counts = Counter(batch.sids)
    _check(store, batch, sizes, counts, subjects.names)
    batch, counts = _our_ids(store, batch, counts, subjects)
    view = memoryview(batch.records)
    i, n, at, rotated = 0, len(sizes), 0, False
    while i < n:
        blk = store._active
        # where each record would start in the newest block; those ending within it go there
        offsets = array("I", accumulate(islice(sizes, i, None), initial=blk.size))
        fit = bisect_right(offsets, store._block_size) - 1
        if not fit:
            if blk.size and not rotated:
                store._rotate()
                rotated = True
                continue
            fit = 1
        rotated = False
        end = at + offsets[fit] - blk.size
        del offsets[fit:]
        _place(store, batch, sizes, i, offsets, view[at:end], counts if fit == n else None)
        i, at = i + fit, end
    view.release()


def _sizes(batch: Batch) -> array:
    """Record lengths from the length words; StoreError for a word that is not a message's."""
    words = batch.words
    if not top_bytes(words).translate(None, _NO_FLAGS):  # no flags at all: the words are the lengths
        return words
    if any(map(and_, words, repeat(records.NOT_MSG))):
        raise StoreError("batch holds a record that is not a message")
    return array("I", map(and_, words, repeat(records.LEN_MASK)))


def _check(store: FileStore, batch: Batch, sizes: array, counts: Counter[int], names: dict[int, str]) -> None:
    seqs, sids, data = batch.seqs, batch.sids, batch.records
    if not len(seqs) == len(sizes) == len(sids) or sum(sizes) != len(data):
        raise StoreError("batch columns do not match its records")
    if len(data) > MAX_BLOCK_SIZE:
        raise StoreError("batch too large")
    if min(sizes) < records.MARKER_LEN:
        raise StoreError("bad record length in batch")
    if seqs[0] <= store.last_seq:
        raise SequenceMismatch(f"message sequence {seqs[0]} out of order")
    if not all(map(lt, seqs, islice(seqs, 1, None))):
        raise StoreError("batch sequences do not ascend")
    if not counts.keys() <= names.keys():
        raise StoreError("batch holds a subject id it does not name")
    _agrees(data, 0, seqs[0], sizes[0], names[sids[0]])
    _agrees(data, len(data) - sizes[-1], seqs[-1], sizes[-1], names[sids[-1]])


def _our_ids(
    store: FileStore, batch: Batch, counts: Counter[int], subjects: Subjects
) -> tuple[Batch, Counter[int]]:
    """The batch and its subject counts with our subject ids: the sender's where they are free
    here (so a restore into an empty store keeps them all and copies the column as it is).
    A subject is made here when its first message comes (a named one may have none left)."""
    ours, moved, names = subjects.ours, subjects.moved, subjects.names
    for theirs in batch.names.keys() & ours.keys():  # the sender reused an id: look again
        del ours[theirs]
        moved.pop(theirs, None)
    for theirs in counts.keys() - ours.keys():
        sid = ours[theirs] = store._subject_id(names[theirs], batch.seqs[0], theirs)
        if sid != theirs:
            moved[theirs] = sid
    if not moved:
        return batch, counts
    sids = array("I", map(moved.get, batch.sids, batch.sids))
    return batch._replace(sids=sids), Counter({moved.get(sid, sid): n for sid, n in counts.items()})


def _agrees(data: bytes, off: int, seq: int, size: int, subject: str) -> None:
    """The record at `off` is intact and is the one the columns say."""
    flags, got, _ts, slen = records.HEAD.unpack_from(data, off)
    if got != seq or flags & records.LEN_MASK != size or not records.intact(data, off, off + size):
        raise StoreError(f"message sequence {seq} failed its checksum")
    at = off + records.HEAD_LEN + (records.HLEN.size if flags & records.F_HDR else 0)
    if data[at : at + slen] != subject.encode():
        raise StoreError(f"message sequence {seq} is not on the subject its batch names")


def _place(
    store: FileStore,
    batch: Batch,
    sizes: array,
    i: int,
    offsets: array,
    data: memoryview,
    counts: Counter[int] | None,
) -> None:
    """The batch's records from i on at `offsets` in the newest block: there and in the index."""
    blk = store._active
    j = i + len(offsets)
    seqs = batch.seqs[i:j]
    if sizes is not batch.words:
        offsets = array("I", map(or_, offsets, map(and_, islice(batch.words, i, j), repeat(HAS_HEADERS))))
    if not blk.lo:
        store._first_in_block(blk, seqs[0])
    blk.live += j - i
    blk.hi = seqs[-1]
    last_ts = records.HEAD.unpack_from(data, len(data) - sizes[j - 1])[2]
    sids = batch.sids[i:j]
    store._extend(seqs, sids, sizes[i:j], offsets, last_ts, counts or Counter(sids))
    store._wbuf += data
    blk.size += len(data)
    if len(store._wbuf) >= WRITE_BUFFER:
        store._write_out()
