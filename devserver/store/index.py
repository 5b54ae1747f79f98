"""The in-memory message index both stores share: columns in sequence order and a subject table.

Owns `MsgIndex`: parallel `array` columns (a few bytes a message) and the per-subject table
(count, first, last), with the position arithmetic every query needs: find a sequence, walk the
live entries matching a filter, drop entries, move the head, compact. indexed.py puts nats-server's
store semantics on top; nothing here does I/O.

Columns (position p): `_seqs[p]` sequence, `_sids[p]` subject id (DEAD once removed),
`_sizes[p]` accounted size, `_extra[p]` the subclass's body or location (timestamps live with
the bodies). Removed entries stay as DEAD until the head moves past them or the columns are
compacted. Per-subject first/last are kept as bounds (first may be low, last may be high) and
made exact on demand, so removals never scan; subjects with few messages (KV keys) also keep
their sequences in a small array, so their first and last stay exact.

May import: devserver.subjects, devserver.store.base.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from itertools import compress, islice
from typing import Any

from devserver import subjects
from devserver.store.base import Filter

DEAD = 0xFFFFFFFF
_TIDY_MIN = 4096  # dead entries tolerated before the columns are trimmed or compacted
_MAX_FILTERS = 128  # wildcard filters whose matching subject ids are cached
_SCAN_SUBJECTS = 32  # above this many matching subjects, walk the columns instead
_SMALL = 64  # subjects with 2 to this many messages keep them in an array (KV history is <= 64)
_TOP = 3 if sys.byteorder == "little" else 0  # where a u32's most significant byte lies


def top_bytes(column: array) -> bytes:
    """The most significant byte of each entry of a u32 column, copied in C: DEAD's is 0xff and
    a headers flag in bit 31 makes it non-ASCII, so whole runs are tested without a loop."""
    with memoryview(column) as view, view.cast("B") as raw:
        return bytes(raw[_TOP::4])


class MsgIndex:
    """Columns, subject table and positions; subclasses keep the bodies."""

    def __init__(self) -> None:
        self.msgs = 0
        self.bytes = 0
        self.first_seq = 0
        self.last_seq = 0
        self.last_ts = 0
        self._seqs = array("Q")
        self._sids = array("I")
        self._sizes = array("I")
        self._extra = self._extra_column()
        self._start = 0  # position of the first live entry (when msgs > 0)
        self._dead = 0  # DEAD entries at or after _start
        self._subj: list[str | None] = []
        self._sid_of: dict[str, int] = {}
        self._count: list[int] = []
        self._sfirst: list[int] = []  # lower bound of the subject's first sequence
        self._slast: list[int] = []  # upper bound of the subject's last sequence
        self._free: list[int] = []
        self._small: dict[int, array] = {}  # subject id -> its sequences, for small subjects
        self._filters: dict[str, set[int]] = {}
        self._subjects_made = 0  # subjects made so far (a sender of batches sees none came)

    # -- subclass hooks

    def _extra_column(self) -> Any:
        """An empty column for bodies or locations (a list or an array)."""
        raise NotImplementedError

    def _dropped(self, pos: int) -> None:
        """The entry at `pos` leaves the index (still readable during the call)."""

    def _cleared(self) -> None:
        """Every entry left the index at once."""

    # -- columns

    def _columns(self) -> list[Any]:
        return [self._seqs, self._sids, self._sizes, self._extra]

    def _pos_ge(self, seq: int) -> int:
        """First position at or after _start whose sequence is >= seq (len if none)."""
        seqs, s = self._seqs, self._start
        n = len(seqs)
        if s < n:
            first = seqs[s]
            if seq <= first:
                return s
            p = s + seq - first
            if p < n and seqs[p] == seq:
                return p
        return bisect_left(seqs, seq, s)

    def _pos_le(self, seq: int) -> int:
        """Last position whose sequence is <= seq (_start - 1 if none)."""
        seqs, s = self._seqs, self._start
        n = len(seqs)
        if s < n:
            p = s + seq - seqs[s]
            if s <= p < n and seqs[p] == seq:
                return p
        return bisect_right(seqs, seq, s) - 1

    def _pos(self, seq: int) -> int:
        """Position of a live sequence, or -1."""
        p = self._pos_ge(seq)
        if p < len(self._seqs) and self._seqs[p] == seq and self._sids[p] != DEAD:
            return p
        return -1

    def _append(self, seq: int, subject: str, ts: int, size: int, extra: Any) -> None:
        sid = self._sid_of.get(subject)
        if sid is None:
            sid = self._new_subject(subject, seq)
        else:
            count = self._count[sid]
            if count == 1:
                self._small[sid] = array("Q", (self._seqs[self._first_pos(sid)], seq))
            elif (small := self._small.get(sid)) is not None:
                if count < _SMALL:
                    small.append(seq)
                else:
                    del self._small[sid]
            self._count[sid] = count + 1
            self._slast[sid] = seq
        if not self.msgs:
            self.first_seq = seq
        self._seqs.append(seq)
        self._sids.append(sid)
        self._sizes.append(size)
        self._extra.append(extra)
        self.msgs += 1
        self.bytes += size
        self.last_seq = seq
        self.last_ts = ts

    def _extend(
        self, seqs: array, sids: array, sizes: array, extra: Any, last_ts: int, counts: Counter[int]
    ) -> None:
        """Append a run of entries at once (restores): ascending sequences above last_seq, of
        subjects that exist, `counts` messages of each. Columns are copied whole and the subject
        table touched once per subject, not per entry, so subject first/last are left as bounds
        (exact for small subjects, as `_append` keeps them)."""
        self._count_run(counts, seqs, sids)
        if not self.msgs:
            self.first_seq = seqs[0]
        for column, new in zip(self._columns(), (seqs, sids, sizes, extra), strict=True):
            column.extend(new)
        self.msgs += len(seqs)
        self.bytes += sum(sizes)
        self.last_seq = seqs[-1]
        self.last_ts = last_ts

    def _subject_id(self, subject: str, seq: int, want: int) -> int:
        """The subject's id, made (as `want` when that is free) with no messages yet when new."""
        sid = self._sid_of.get(subject)
        if sid is None:
            sid = self._new_subject(subject, seq, want)
            self._count[sid] = 0
        return sid

    def _count_run(self, counts: Counter[int], seqs: array, sids: array) -> None:
        """Subject counts and bounds for a run being appended; small subjects get their sequences."""
        count, slast, first, last = self._count, self._slast, seqs[0], seqs[-1]
        wanted: dict[int, array] = {}
        for sid, n in counts.items():
            old = count[sid]
            count[sid] = old + n
            slast[sid] = last
            if old <= _SMALL:  # new, or small until now
                self._few_more(sid, old, n, first, wanted)
        if not wanted:
            return
        for seq, sid in zip(seqs, sids, strict=True):
            if sid in wanted:
                wanted[sid].append(seq)
        for sid, seqs_of in wanted.items():
            self._small[sid] = seqs_of
            self._sfirst[sid], self._slast[sid] = seqs_of[0], seqs_of[-1]

    def _few_more(self, sid: int, old: int, n: int, first: int, wanted: dict[int, array]) -> None:
        """A subject that had `old` <= _SMALL messages gets `n` more in a run starting at `first`;
        those still small want their sequences collected."""
        if not old:
            self._sfirst[sid] = first
        known = self._small.pop(sid, None)
        if old + n > _SMALL:
            return
        if known is None:  # none or one message so far
            known = array("Q", [self._seqs[self._first_pos(sid)]] if old else [])
        wanted[sid] = known

    def _clear_columns(self) -> None:
        for col in self._columns():
            del col[:]
        self._start = self._dead = 0

    def _drop(self, pos: int) -> None:
        """Remove a live entry; call `_tidy()` once the caller is done with positions."""
        sids = self._sids
        sid = sids[pos]
        self._dropped(pos)
        sids[pos] = DEAD
        self.msgs -= 1
        self.bytes -= self._sizes[pos]
        self._dead += 1
        count = self._count[sid] - 1
        if not count:
            self._free_subject(sid)
            return
        self._count[sid] = count
        small = self._small.get(sid)
        if small is not None:
            small.remove(self._seqs[pos])
            self._sfirst[sid], self._slast[sid] = small[0], small[-1]
            if count == 1:
                del self._small[sid]

    def _tidy(self) -> None:
        """Move the head past removed entries; trim or compact the columns when worth it."""
        if not self.msgs:
            if self._seqs:
                self._clear_columns()
            self.first_seq = self.last_seq + 1
            return
        sids, s = self._sids, self._start
        while sids[s] == DEAD:
            s += 1
        self._dead -= s - self._start
        self._start = s
        self.first_seq = self._seqs[s]
        n = len(sids)
        if s >= _TIDY_MIN and 2 * s >= n:
            for col in self._columns():
                del col[:s]
            self._start = 0
        elif self._dead >= _TIDY_MIN and 2 * self._dead >= n - s:
            keep = [sid != DEAD for sid in islice(sids, s, None)]
            self._seqs, self._sids, self._sizes, self._extra = (
                _rebuilt(col, s, keep) for col in self._columns()
            )
            self._start = self._dead = 0

    # -- subjects

    def _new_subject(self, subject: str, seq: int, want: int = -1) -> int:
        """A subject id for a new subject: `want` if it is free, else a free one or the next."""
        subj, free = self._subj, self._free
        if want >= len(subj):
            grow = want + 1 - len(subj)
            free.extend(range(len(subj), want + 1))
            subj.extend([None] * grow)
            for column in (self._count, self._sfirst, self._slast):
                column.extend([0] * grow)
        if want >= 0 and subj[want] is None:
            free.remove(want)
            free.append(want)  # the one popped below
        if self._free:
            sid = self._free.pop()
            self._subj[sid] = subject
            self._count[sid] = 1
            self._sfirst[sid] = self._slast[sid] = seq
        else:
            sid = len(self._subj)
            self._subj.append(subject)
            self._count.append(1)
            self._sfirst.append(seq)
            self._slast.append(seq)
        self._sid_of[subject] = sid
        self._subjects_made += 1
        for pattern, sids in self._filters.items():
            if subjects.match(subject, pattern):
                sids.add(sid)
        return sid

    def _free_subject(self, sid: int) -> None:
        self._small.pop(sid, None)
        del self._sid_of[self._subj[sid]]
        self._subj[sid] = None
        self._count[sid] = 0
        self._free.append(sid)
        for sids in self._filters.values():
            sids.discard(sid)

    def _reset_subjects(self) -> None:
        self._subj.clear()
        self._sid_of.clear()
        self._count.clear()
        self._sfirst.clear()
        self._slast.clear()
        self._free.clear()
        self._small.clear()
        for sids in self._filters.values():
            sids.clear()

    def _track_small_subjects(self) -> None:
        """Collect the sequences of small subjects (after loading the columns)."""
        count, small = self._count, self._small
        if not any(1 < c <= _SMALL for c in count):
            return
        start = self._start
        for seq, sid in zip(islice(self._seqs, start, None), islice(self._sids, start, None), strict=True):
            if sid != DEAD and 1 < count[sid] <= _SMALL:
                if sid not in small:
                    small[sid] = array("Q")
                small[sid].append(seq)

    def _first_pos(self, sid: int) -> int:
        """Position of the subject's first live message (the subject must be live)."""
        sids = self._sids
        if self._count[sid] == 1:
            p = self._pos_le(self._slast[sid])
            if p >= self._start and sids[p] == sid:
                self._sfirst[sid] = self._seqs[p]
                return p
        p = self._pos_ge(self._sfirst[sid])
        if sids[p] != sid:
            p = sids.index(sid, p)
        self._sfirst[sid] = self._seqs[p]
        return p

    def _last_pos(self, sid: int) -> int:
        """Position of the subject's last live message (the subject must be live)."""
        sids = self._sids
        p = self._pos_le(self._slast[sid])
        if sids[p] != sid:
            end, step = p + 1, 64
            while True:
                lo = max(self._start, end - step)
                chunk = sids[lo:end]
                chunk.reverse()
                if sid in chunk:
                    p = end - 1 - chunk.index(sid)
                    break
                end, step = lo, step * 4
        self._slast[sid] = self._seqs[p]
        return p

    def _resolve(self, filter: Filter) -> set[int] | None:
        """Subject ids matching the filter, or None when it matches every subject."""
        if not filter or filter == ">":
            return None
        if isinstance(filter, str):
            found = self._match(filter)
        else:
            if any(not f or f == ">" for f in filter):
                return None
            found = set().union(*(self._match(f) for f in filter))
        if found and len(found) == len(self._sid_of):
            return None
        return found

    def _match(self, pattern: str) -> set[int]:
        if subjects.is_literal(pattern):
            sid = self._sid_of.get(pattern)
            return set() if sid is None else {sid}
        found = self._filters.get(pattern)
        if found is None:
            if len(self._filters) >= _MAX_FILTERS:
                self._filters.clear()
            found = {sid for subject, sid in self._sid_of.items() if subjects.match(subject, pattern)}
            self._filters[pattern] = found
        return found

    def _positions(self, match: set[int] | None, lo: int, hi: int) -> Iterator[int]:
        """Live positions in [lo, hi) whose subject matches (stable while entries are dropped)."""
        sids = self._sids
        if match is None:
            for p in range(lo, hi):
                if sids[p] != DEAD:
                    yield p
        elif len(match) == 1:
            (sid,) = match
            while True:
                try:
                    lo = sids.index(sid, lo, hi)
                except ValueError:
                    return
                yield lo
                lo += 1
        else:
            for p in range(lo, hi):
                if sids[p] in match:
                    yield p

    def _next_pos(self, start: int, match: set[int] | None) -> int:
        """Position of the first live message at or after `start` that matches, or -1."""
        if not self.msgs or start > self.last_seq:
            return -1
        sids, n = self._sids, len(self._sids)
        if match is None or len(match) > _SCAN_SUBJECTS:
            p = self._pos_ge(start)
            if match is None and p < n and sids[p] != DEAD:
                return p
            return next(self._positions(match, p, n), -1)
        best, partial = n, []
        for sid in match:
            if self._slast[sid] < start:
                continue
            p = self._first_pos(sid)
            if self._seqs[p] >= start:
                best = min(best, p)
            else:
                partial.append(sid)
        lo = self._pos_ge(start)
        for sid in partial:
            try:
                best = sids.index(sid, lo, best)
            except ValueError:
                continue
        return -1 if best == n else best

    def _last_live_pos(self, match: set[int] | None) -> int:
        if not self.msgs:
            return -1
        if match is None:
            sids, p = self._sids, len(self._sids) - 1
            while sids[p] == DEAD:
                p -= 1
            return p
        return max((self._last_pos(sid) for sid in match), default=-1)

    def _skip_index(self, num: int, ts: int | None) -> None:
        self.last_seq += num
        if ts is not None:
            self.last_ts = ts
        if not self.msgs:
            self.first_seq = self.last_seq + 1

    def _compact_index(self, seq: int) -> int | None:
        """compact() without persisting; None when nothing changed."""
        if self.first_seq > seq:
            return None
        purged = self.msgs
        if seq > self.last_seq:
            self.msgs = self.bytes = 0
            self.first_seq, self.last_seq = seq, seq - 1
            self._clear_columns()
            self._reset_subjects()
            self._cleared()
            return purged
        for p in self._positions(None, self._start, self._pos_ge(seq)):
            self._drop(p)
        purged -= self.msgs
        if not purged:
            return None
        self._tidy()
        return purged


def _rebuilt(col: Any, start: int, keep: list[bool]) -> Any:
    """The entries of `col` from `start` whose `keep` flag is set, in a column of the same kind."""
    kept = compress(islice(col, start, None), keep)
    return array(col.typecode, kept) if isinstance(col, array) else list(kept)
