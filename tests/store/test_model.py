"""Random operations on both stores, checked step by step against a plain dict model of the semantics.

The index's head trimming, column compaction and small-subject lists are made to kick in early,
and the file store is reopened now and then, cleanly or from a crash image, with tiny blocks.
"""

from __future__ import annotations

import random
import shutil

import pytest

from devserver import subjects
from devserver.store import FileStore, index

SUBJECTS = ["a.1", "a.2", "b.1", "b.2.x", "c"]
FILTERS = [None, ">", "a.*", "b.>", "*.1", "c", ["a.1", "c"], "zz", ["a.*", "b.>"]]


def matches(subject, filter):
    if not filter:
        return True
    if isinstance(filter, str):
        filter = [filter]
    return any(subjects.match(subject, f) for f in filter)


class Model:
    """nats-server's store semantics, written the slow and obvious way."""

    def __init__(self):
        self.msgs: dict[int, tuple[str, bytes, int]] = {}
        self.first = self.last = self.last_ts = 0

    def _settle(self):
        self.first = min(self.msgs) if self.msgs else self.last + 1

    def store_at(self, seq, subject, data, ts):
        self.msgs[seq] = (subject, data, ts)
        self.last, self.last_ts = seq, ts
        if len(self.msgs) == 1:
            self.first = seq

    def remove(self, seq):
        if seq not in self.msgs:
            return False
        del self.msgs[seq]
        self._settle()
        return True

    def compact(self, seq):
        seq = seq or self.last + 1
        if self.first > seq:
            return 0
        if seq > self.last:
            purged = len(self.msgs)
            self.msgs.clear()
            self.first, self.last = seq, seq - 1
            return purged
        doomed = [s for s in self.msgs if s < seq]
        for s in doomed:
            del self.msgs[s]
        if doomed:
            self._settle()
        return len(doomed)

    def purge(self, subject, seq, keep):
        if seq == 1:
            return 0
        if (not subject or subject == ">") and not keep:
            return self.compact(seq or self.last + 1)
        matching = sorted(s for s, m in self.msgs.items() if matches(m[0], subject))
        if not matching or keep >= len(matching):
            return 0
        limit = len(matching) - keep if keep else len(matching)
        doomed = [s for s in matching if not seq or s < seq][:limit]
        for s in doomed:
            del self.msgs[s]
        self._settle()
        return len(doomed)

    def expire(self, ts):
        doomed = []
        for s in sorted(self.msgs):
            if self.msgs[s][2] > ts:
                break
            doomed.append(s)
        if not doomed:
            return 0
        following = [s for s in sorted(self.msgs) if s > doomed[-1]]
        return self.compact(following[0] if following else self.last + 1)

    def skip(self, num):
        self.last += num
        if not self.msgs:
            self.first = self.last + 1

    def pending(self, start, filter, last_per_subject):
        hits = [(s, m[0]) for s, m in self.msgs.items() if s >= start and matches(m[0], filter)]
        if not last_per_subject:
            return len(hits)
        lasts = {}
        for s, m in self.msgs.items():
            if matches(m[0], filter):
                lasts[m[0]] = max(lasts.get(m[0], 0), s)
        return sum(1 for s in lasts.values() if s >= start)


def check(store, model, rng):
    state = store.state(deleted=True)
    assert state.msgs == len(model.msgs)
    assert (state.first_seq, state.last_seq, state.last_ts) == (model.first, model.last, model.last_ts)
    assert state.first_ts == (model.msgs[model.first][2] if model.msgs else 0)
    live = set(model.msgs)
    gaps = [s for s in range(model.first, model.last + 1) if s not in live] if live else []
    assert state.deleted == gaps
    counts: dict[str, int] = {}
    for subject, _, _ in model.msgs.values():
        counts[subject] = counts.get(subject, 0) + 1
    assert store.subjects() == counts
    for subject in SUBJECTS:
        seqs = [s for s, m in model.msgs.items() if m[0] == subject]
        assert store.subject_first(subject) == (min(seqs) if seqs else 0)
    for _ in range(4):
        filter = rng.choice(FILTERS)
        start = rng.randint(0, model.last + 2)
        hits = sorted(s for s, m in model.msgs.items() if s >= start and matches(m[0], filter))
        msg = store.load_next(start, filter)
        assert (msg.seq if msg else None) == (hits[0] if hits else None), (start, filter)
        if msg:
            assert (msg.subject, msg.data, msg.ts) == model.msgs[msg.seq]
        last = max((s for s, m in model.msgs.items() if matches(m[0], filter)), default=None)
        msg = store.load_last(filter)
        assert (msg.seq if msg else None) == last, filter
        lps = rng.random() < 0.3
        expected = model.pending(start, filter, lps)
        assert store.num_pending(start, filter, lps) == expected, (start, filter, lps)


def step(store, model, rng, ts):
    op = rng.random()
    if op < 0.55:
        subject = rng.choice(SUBJECTS)
        data = str(ts).encode()
        if rng.random() < 0.05:
            seq = model.last + rng.randint(1, 5)
            store.store_at(seq, subject, None, data, ts)
        else:
            seq, _ = store.store(subject, None, data, ts)
        model.store_at(seq, subject, data, ts)
    elif op < 0.75:
        seq = rng.randint(max(model.first - 1, 0), model.last + 1)
        assert store.remove(seq, erase=rng.random() < 0.2) == model.remove(seq)
    elif op < 0.83:
        subject = rng.choice([None, ">", "a.*", "b.1", "c", "*.1"])
        seq = rng.choice([0, 0, rng.randint(1, model.last + 2)])
        keep = 0 if seq else rng.choice([0, 0, 1, 3])
        assert store.purge(subject, seq, keep) == model.purge(subject, seq, keep)
    elif op < 0.87:
        seq = rng.randint(model.first, model.last + (10 if rng.random() < 0.1 else 1))
        assert store.compact(seq) == model.compact(seq)
    elif op < 0.93:
        cutoff = ts - rng.randint(0, 40)
        assert store.expire_before(cutoff) == model.expire(cutoff)
    else:
        num = rng.randint(1, 3)
        assert store.skip_msgs(num) == model.last + num
        model.skip(num)


@pytest.mark.parametrize("seed", range(6))
def test_random_operations_match_the_model(kind, make_store, tmp_path, seed, monkeypatch):
    monkeypatch.setattr(index, "_TIDY_MIN", 4)
    monkeypatch.setattr(index, "_SCAN_SUBJECTS", 1 if seed % 2 else 32)
    monkeypatch.setattr(index, "_SMALL", 3 if seed % 3 else 64)
    rng = random.Random(seed)
    store = make_store(block_size=600) if kind == "file" else make_store()
    model = Model()
    for i in range(600):
        step(store, model, rng, ts=1_000 + i)
        if i % 10 == 0:
            check(store, model, rng)
        if kind == "file" and i % 97 == 96:
            if rng.random() < 0.5:
                store.close()
                store = FileStore(store.directory, block_size=600)
            else:
                store.flush()
                image = tmp_path / f"crash{i}"
                shutil.copytree(store.directory, image)
                store.close()
                store = FileStore(image, block_size=600)
            assert store.warnings == []
            check(store, model, rng)
    check(store, model, rng)
    store.close()
