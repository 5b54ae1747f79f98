"""The stream's view of its store: the operations streams and consumers call, in one place.

Owns `MemoryStore`, an in-memory message store with nats-server's memstore semantics (sequence
numbering, per-subject state, purge/compact rules, accounted sizes), used for every stream until
devserver/store lands; then this module becomes a thin adapter over those stores and nothing
else in jetstream/ changes. Accounted sizes follow nats-server: memory streams count
`subject + headers + payload + 16`, file streams `subject + payload + 30` (+4 + headers).

Interface (what streams.py, publish.py, direct.py and the consumers use):
    store(subject, hdr, data, ts) -> seq      skip(ts) -> seq (a sequence used, nothing stored)
    load(seq) / load_next(filter, start) / load_last(filter) -> Msg | None
    remove(seq) -> bool     purge(filter, seq, keep) -> int     compact(seq) -> int
    msgs, bytes, first_seq, last_seq, last_ts, first_ts   subject_count(subject)
    subjects(filter) -> {subject: count}   num_pending(start, filter) -> int   deleted() -> [seq]
    flush(), sync(), close(), delete()
May import: devserver.subjects.
"""

from __future__ import annotations

from typing import NamedTuple

from devserver import subjects as subj


class Msg(NamedTuple):
    subject: str
    hdr: bytes | None
    data: bytes
    ts: int
    seq: int


def _matcher(filter_subject: str | None):
    if not filter_subject or filter_subject == ">":
        return None
    if subj.is_literal(filter_subject):
        return filter_subject.__eq__
    return lambda s: subj.match(s, filter_subject)


class MemoryStore:
    """Messages by sequence plus per-subject [count, first, last]."""

    def __init__(self, first_seq: int = 1, file_sizes: bool = False) -> None:
        self._msgs: dict[int, Msg] = {}
        self._fss: dict[str, list[int]] = {}
        self.first_seq = first_seq  # 0 until the first message, as nats-server reports it
        self.last_seq = max(first_seq - 1, 0)
        self.last_ts = 0
        self.msgs = 0
        self.bytes = 0
        self._file_sizes = file_sizes
        self.on_remove = None  # called with (seq, subject) after each single-message removal

    # -- sizes

    def size(self, subject: str, hdr: bytes | None, data: bytes) -> int:
        hlen = len(hdr) if hdr else 0
        if self._file_sizes:
            return len(subject) + len(data) + hlen + (34 if hlen else 30)
        return len(subject) + hlen + len(data) + 16

    # -- writes

    def store(self, subject: str, hdr: bytes | None, data: bytes, ts: int) -> int:
        seq = self.last_seq + 1
        self._msgs[seq] = Msg(subject, hdr, data, ts, seq)
        if not self.msgs:
            self.first_seq = seq
        self.msgs += 1
        self.bytes += self.size(subject, hdr, data)
        self.last_seq = seq
        self.last_ts = ts
        ss = self._fss.get(subject)
        if ss is None:
            self._fss[subject] = [1, seq, seq]
        else:
            ss[0] += 1
            ss[2] = seq
        return seq

    def skip(self, ts: int) -> int:
        """Use the next sequence without storing anything (interest retention, no interest)."""
        seq = self.last_seq = self.last_seq + 1
        self.last_ts = ts
        if not self.msgs:
            self.first_seq = seq + 1
        return seq

    def remove(self, seq: int) -> bool:
        msg = self._msgs.pop(seq, None)
        if msg is None:
            return False
        self.msgs -= 1
        self.bytes -= self.size(msg.subject, msg.hdr, msg.data)
        ss = self._fss[msg.subject]
        ss[0] -= 1
        if not ss[0]:
            del self._fss[msg.subject]
        else:
            if seq == ss[1]:
                ss[1] = self._scan(msg.subject, seq + 1, ss[2], 1)
            if seq == ss[2]:
                ss[2] = self._scan(msg.subject, seq - 1, ss[1], -1)
        if seq == self.first_seq:
            self._advance_first()
        if self.on_remove is not None:
            self.on_remove(seq, msg.subject)
        return True

    def _scan(self, subject: str, start: int, stop: int, step: int) -> int:
        msgs = self._msgs
        for seq in range(start, stop + step, step):
            m = msgs.get(seq)
            if m is not None and m.subject == subject:
                return seq
        return stop

    def _advance_first(self) -> None:
        if not self.msgs:
            self.first_seq = self.last_seq + 1
            return
        seq, msgs = self.first_seq, self._msgs
        while seq not in msgs:
            seq += 1
        self.first_seq = seq

    def purge(self, filter_subject: str | None = None, seq: int = 0, keep: int = 0) -> int:
        """nats-server's PurgeEx: matching messages below `seq` (0 = all), all but `keep` newest."""
        if seq == 1:
            return 0
        if not filter_subject or filter_subject == ">":
            if keep == 0 and seq == 0:
                return self._purge_all()
            if seq > 1:
                return self.compact(seq)
        match = _matcher(filter_subject)
        candidates = [
            s
            for s in self._seqs()
            if (match is None or match(self._msgs[s].subject)) and (not seq or s < seq)
        ]
        if keep:
            total = sum(1 for s in self._seqs() if match is None or match(self._msgs[s].subject))
            if keep >= total:
                return 0
            candidates = candidates[: total - keep]
        for s in candidates:
            self.remove(s)
        return len(candidates)

    def _purge_all(self) -> int:
        purged = self.msgs
        self._msgs.clear()
        self._fss.clear()
        self.msgs = self.bytes = 0
        self.first_seq = self.last_seq + 1
        return purged

    def compact(self, seq: int) -> int:
        """Remove everything below `seq`; past the end, the next message gets `seq`."""
        if seq == 0:
            return self._purge_all()
        if seq > self.last_seq:
            purged = self._purge_all()
            self.first_seq = seq
            self.last_seq = seq - 1
            return purged
        doomed = [s for s in self._seqs() if s < seq]
        for s in doomed:
            self.remove(s)
        if not self.msgs:
            self.first_seq = self.last_seq + 1
        return len(doomed)

    # -- reads

    def _seqs(self) -> list[int]:
        return sorted(self._msgs)

    def load(self, seq: int) -> Msg | None:
        return self._msgs.get(seq)

    def load_next(self, filter_subject: str | None, start: int) -> Msg | None:
        """The first message at or after `start` whose subject matches the filter."""
        msgs = self._msgs
        match = _matcher(filter_subject)
        if match is not None and subj.is_literal(filter_subject):
            ss = self._fss.get(filter_subject)
            if ss is None or ss[2] < start:
                return None
            start = max(start, ss[1])
        for seq in range(max(start, self.first_seq), self.last_seq + 1):
            m = msgs.get(seq)
            if m is not None and (match is None or match(m.subject)):
                return m
        return None

    def load_last(self, filter_subject: str | None) -> Msg | None:
        msgs = self._msgs
        if filter_subject and subj.is_literal(filter_subject):
            ss = self._fss.get(filter_subject)
            return msgs.get(ss[2]) if ss else None
        match = _matcher(filter_subject)
        for seq in range(self.last_seq, self.first_seq - 1, -1):
            m = msgs.get(seq)
            if m is not None and (match is None or match(m.subject)):
                return m
        return None

    @property
    def first_ts(self) -> int:
        m = self._msgs.get(self.first_seq)
        return m.ts if m is not None else 0

    def subject_count(self, subject: str) -> int:
        ss = self._fss.get(subject)
        return ss[0] if ss else 0

    def subject_first(self, subject: str) -> int:
        ss = self._fss.get(subject)
        return ss[1] if ss else 0

    def subjects(self, filter_subject: str | None = None) -> dict[str, int]:
        match = _matcher(filter_subject)
        return {s: ss[0] for s, ss in self._fss.items() if match is None or match(s)}

    def num_subjects(self) -> int:
        return len(self._fss)

    def num_pending(self, start: int, filter_subject: str | None = None) -> int:
        """Messages at or after `start` matching the filter."""
        if start <= self.first_seq and (not filter_subject or filter_subject == ">"):
            return self.msgs
        match = _matcher(filter_subject)
        return sum(1 for s, m in self._msgs.items() if s >= start and (match is None or match(m.subject)))

    def deleted(self) -> list[int]:
        """Interior gaps between first and last (nats-server's num_deleted / deleted)."""
        if not self.msgs:
            return []
        msgs = self._msgs
        return [s for s in range(self.first_seq, self.last_seq + 1) if s not in msgs]

    # -- lifecycle

    def flush(self) -> None:
        """Nothing buffered in memory."""

    def sync(self) -> None:
        """Nothing to sync in memory."""

    def close(self) -> None:
        """Nothing to release."""

    def delete(self) -> None:
        self._purge_all()
