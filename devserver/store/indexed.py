"""nats-server's store semantics over the shared index: `IndexedStore`, the base of both stores.

Owns what a StreamStore does, answered from the index (index.py): storing with sequence rules,
removals (remove, PurgeEx, compact, expiry, skips), filtered next/last/pending, subject counts
and the state. Subclasses keep the bodies (`_read`, `_ts_at`, `_has_headers`) and persist changes
through the `_persist_*` hooks.

May import: devserver.store.base, devserver.store.index.
"""

from __future__ import annotations

from array import array
from collections import Counter
from itertools import islice
from typing import Any

from devserver.store.base import Filter, LostData, SequenceMismatch, StoredMsg, StreamState
from devserver.store.index import DEAD, MsgIndex


def subject_len(subject: str) -> int:
    """Length in bytes, as nats-server counts it."""
    return len(subject) if subject.isascii() else len(subject.encode())


class IndexedStore(MsgIndex):
    """Store semantics over the index; subclasses supply bodies and persistence."""

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []  # problems found (damaged records), for the server's log

    # -- subclass hooks

    def _persist_msg(
        self, seq: int, subject: str, headers: bytes | None, data: bytes, ts: int
    ) -> tuple[int, Any]:
        """Keep a new message; return its accounted size and its `_extra` value."""
        raise NotImplementedError

    def _read(self, pos: int) -> StoredMsg | None:
        """The message at a live position (None if it turned out to be unreadable)."""
        raise NotImplementedError

    def _ts_at(self, pos: int) -> int:
        """The timestamp of the message at a live position."""
        raise NotImplementedError

    def _has_headers(self, pos: int) -> bool:
        """Does the message at a live position carry headers?"""
        raise NotImplementedError

    def _persist_delete(self, pos: int, erase: bool) -> None:
        """A single message is about to be removed (remove, purge by subject)."""

    def _persist_floor(self) -> None:
        """Everything below `first_seq` is gone (compact, purge, expiry); state is updated."""

    def _persist_skip(self) -> None:
        """`last_seq` moved on without a message."""

    def _mutated(self) -> None:
        """End of a call that removed messages; positions may have moved."""

    # -- writes

    def store(self, subject: str, headers: bytes | None, data: bytes, ts: int) -> tuple[int, int]:
        seq = self.last_seq + 1
        size, extra = self._persist_msg(seq, subject, headers or None, data, ts)
        self._append(seq, subject, ts, size, extra)
        return seq, ts

    def store_at(self, seq: int, subject: str, headers: bytes | None, data: bytes, ts: int) -> None:
        if seq <= self.last_seq:
            raise SequenceMismatch(f"sequence {seq} is not above the last sequence {self.last_seq}")
        size, extra = self._persist_msg(seq, subject, headers or None, data, ts)
        self._append(seq, subject, ts, size, extra)

    def skip_msgs(self, num: int = 1, ts: int | None = None) -> int:
        self._skip_index(num, ts)
        self._persist_skip()
        return self.last_seq

    def remove(self, seq: int, erase: bool = False) -> bool:
        p = self._pos(seq)
        if p < 0:
            return False
        self._persist_delete(p, erase)
        self._drop(p)
        self._tidy()
        self._mutated()
        return True

    def purge(self, subject: str | None = None, seq: int = 0, keep: int = 0) -> int:
        """PurgeEx: matching messages below `seq` (0 = no bound), all but the `keep` newest."""
        if seq == 1:
            return 0
        everything = not subject or subject == ">"
        if everything and not keep:
            return self.compact(seq or self.last_seq + 1)
        match = None if everything else self._resolve(subject)
        total = self.msgs if match is None else sum(self._count[sid] for sid in match)
        if not total or keep >= total:
            return 0
        limit = total - keep if keep else total
        hi = self._pos_ge(seq) if seq else len(self._seqs)
        if match is None and keep and not seq:
            doomed = islice(self._positions(None, self._start, hi), limit, None)
            return self.compact(self._seqs[next(doomed)])
        purged = 0
        for p in self._positions(match, self._start, hi):
            self._persist_delete(p, False)
            self._drop(p)
            purged += 1
            if purged == limit:
                break
        self._tidy()
        self._mutated()
        return purged

    def compact(self, seq: int) -> int:
        """Remove everything below `seq` (0 = everything); past the end the next message gets `seq`."""
        purged = self._compact_index(seq or self.last_seq + 1)
        if purged is None:
            return 0
        self._persist_floor()
        self._mutated()
        return purged

    def expire_before(self, ts: int) -> int:
        """Remove messages from the head whose timestamp is at or before `ts` (max_age)."""
        if not self.msgs or self._ts_at(self._start) > ts:
            return 0
        sids, ts_at, p, n = self._sids, self._ts_at, self._start, len(self._sids)
        while p < n and (sids[p] == DEAD or ts_at(p) <= ts):
            p += 1
        return self.compact(self._seqs[p] if p < n else self.last_seq + 1)

    # -- reads

    def load(self, seq: int) -> StoredMsg | None:
        p = self._pos(seq)
        return None if p < 0 else self._read(p)

    def load_next(self, start: int, filter: Filter = None) -> StoredMsg | None:
        """The first message at or after `start` matching the filter, or None."""
        match = self._resolve(filter)
        while True:
            p = self._next_pos(max(start, self.first_seq), match)
            if p < 0:
                return None
            msg = self._read(p)
            if msg is not None:
                return msg

    def load_next_with_headers(self, start: int) -> StoredMsg | None:
        """The first message at or after `start` that has headers (to rebuild de-duplication)."""
        while True:
            p = self._with_headers(self._pos_ge(max(start, self.first_seq)))
            if p < 0:
                return None
            start = self._seqs[p] + 1
            msg = self._read(p)
            if msg is not None:
                return msg

    def _with_headers(self, lo: int) -> int:
        """Position of the first live message at or after position `lo` with headers, or -1."""
        has_headers = self._has_headers
        return next((p for p in self._positions(None, lo, len(self._seqs)) if has_headers(p)), -1)

    def load_last(self, filter: Filter = None) -> StoredMsg | None:
        """The newest message matching the filter, or None."""
        match = self._resolve(filter)
        while True:
            p = self._last_live_pos(match)
            if p < 0:
                return None
            msg = self._read(p)
            if msg is not None:
                return msg

    @property
    def first_ts(self) -> int:
        return self._ts_at(self._start) if self.msgs else 0

    def seq_for_time(self, ts: int) -> int:
        """First live sequence stored at or after `ts` (last_seq + 1 if none); timestamps ascend."""
        lo, hi, best = self._start, len(self._seqs), -1
        while lo < hi:
            mid = (lo + hi) // 2
            p = next(self._positions(None, mid, hi), -1)
            if p < 0:
                hi = mid
            elif self._ts_at(p) >= ts:
                best, hi = p, mid
            else:
                lo = p + 1
        return self.last_seq + 1 if best < 0 else self._seqs[best]

    def subject_count(self, subject: str) -> int:
        sid = self._sid_of.get(subject)
        return 0 if sid is None else self._count[sid]

    def subject_first(self, subject: str) -> int:
        """Sequence of the subject's oldest message (0 if none): the one per-subject limits drop."""
        sid = self._sid_of.get(subject)
        return 0 if sid is None else self._seqs[self._first_pos(sid)]

    def subjects(self, filter: Filter = None) -> dict[str, int]:
        """Message count per subject, for subjects matching the filter."""
        match = self._resolve(filter)
        count = self._count
        if match is None:
            return {subject: count[sid] for subject, sid in self._sid_of.items()}
        return {self._subj[sid]: count[sid] for sid in match}

    def last_seqs(self, filter: Filter = None) -> list[int]:
        """The newest sequence of each subject matching the filter, ascending (MultiLastSeqs)."""
        match = self._resolve(filter)
        sids = self._sid_of.values() if match is None else match
        return sorted(self._seqs[self._last_pos(sid)] for sid in sids)

    def num_subjects(self) -> int:
        return len(self._sid_of)

    def num_pending(self, start: int, filter: Filter = None, last_per_subject: bool = False) -> int:
        """Messages at or after `start` matching the filter (or subjects, with last_per_subject)."""
        if not self.msgs or start > self.last_seq:
            return 0
        start = max(start, self.first_seq)
        match = self._resolve(filter)
        sids = self._sid_of.values() if match is None else match
        if last_per_subject:
            slast = self._slast
            return sum(1 for sid in sids if slast[sid] >= start and self._seqs[self._last_pos(sid)] >= start)
        total = self.msgs if match is None else sum(self._count[sid] for sid in match)
        if start == self.first_seq:
            return total
        lo, p, n = self._start, self._pos_ge(start), len(self._seqs)
        if match is None and not self._dead:
            return n - p
        if p - lo <= n - p:
            return total - _count_in(self._sids, lo, p, match)
        return _count_in(self._sids, p, n, match)

    def deleted(self) -> list[int]:
        """Interior gaps between first_seq and last_seq (nats-server's `deleted`)."""
        if not self.msgs:
            return []
        gaps: list[int] = []
        prev = self.first_seq - 1
        for p in self._positions(None, self._start, len(self._seqs)):
            seq = self._seqs[p]
            if seq > prev + 1:
                gaps.extend(range(prev + 1, seq))
            prev = seq
        gaps.extend(range(prev + 1, self.last_seq + 1))
        return gaps

    def _lost_data(self) -> LostData | None:
        return None

    def state(self, deleted: bool = False) -> StreamState:
        num_deleted = self.last_seq - self.first_seq + 1 - self.msgs if self.msgs else 0
        return StreamState(
            msgs=self.msgs,
            bytes=self.bytes,
            first_seq=self.first_seq,
            first_ts=self.first_ts,
            last_seq=self.last_seq,
            last_ts=self.last_ts,
            num_deleted=num_deleted,
            num_subjects=len(self._sid_of),
            deleted=self.deleted() if deleted else None,
            lost=self._lost_data(),
        )


def _count_in(sids: array, lo: int, hi: int, match: set[int] | None) -> int:
    """Live entries in [lo, hi) whose subject matches."""
    if match is None:
        return hi - lo - sids[lo:hi].count(DEAD)
    if len(match) == 1:
        return sids[lo:hi].count(next(iter(match)))
    counts = Counter(sids[lo:hi])
    return sum(counts[sid] for sid in match)
