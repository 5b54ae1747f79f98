"""The StreamStore contract: every test runs on the memory store and on the file store.

Where a file store must also keep the result across a restart, the test reopens it (`reopen`
returns a memory store unchanged).
"""

from __future__ import annotations

import os

import pytest

from devserver.store import SequenceMismatch, StoredMsg, file_msg_size, memory_msg_size

HDR = b"NATS/1.0\r\nA: b\r\n\r\n"


def fill(store, subjects, data=b"x", ts0=1_000):
    """Store one message per subject in order; returns their sequences."""
    return [store.store(subject, None, data, ts0 + i)[0] for i, subject in enumerate(subjects)]


def live(store):
    """Every stored (seq, subject), walking with load_next."""
    out, seq = [], 1
    while (msg := store.load_next(seq)) is not None:
        out.append((msg.seq, msg.subject))
        seq = msg.seq + 1
    return out


def test_empty_store(store):
    state = store.state()
    assert (state.msgs, state.bytes, state.first_seq, state.last_seq) == (0, 0, 0, 0)
    assert (state.first_ts, state.last_ts, state.num_deleted, state.num_subjects) == (0, 0, 0, 0)
    assert state.lost is None
    assert store.load(1) is None
    assert store.load_next(1) is None
    assert store.load_last() is None
    assert store.num_pending(1) == 0
    assert store.subjects() == {}


def test_store_and_load(store, reopen, kind):
    assert store.store("orders.new", None, b"one", 10) == (1, 10)
    assert store.store("orders.new", HDR, b"two", 20) == (2, 20)
    assert store.store("orders.old", b"", b"", 30) == (3, 30)
    store = reopen(store)
    assert store.load(1) == StoredMsg(1, "orders.new", None, b"one", 10)
    assert store.load(2) == StoredMsg(2, "orders.new", HDR, b"two", 20)
    assert store.load(3) == StoredMsg(3, "orders.old", None, b"", 30)
    assert store.load(4) is None
    size = file_msg_size if kind == "file" else memory_msg_size
    state = store.state()
    assert state.bytes == size(10, 0, 3) + size(10, len(HDR), 3) + size(10, 0, 0)
    assert (state.msgs, state.first_seq, state.last_seq, state.first_ts, state.last_ts) == (3, 1, 3, 10, 30)
    assert state.num_subjects == 2


def test_accounted_sizes_match_nats_server(kind, store):
    # Observed on nats-server 2.15.1: "file.abc" + 10 bytes = 48, with an 18-byte header 70;
    # "memory.abc" + 10 bytes = 36, with the header 54.
    subject = "file.abc" if kind == "file" else "memory.abc"
    store.store(subject, None, b"x" * 10, 1)
    first = store.bytes
    store.store(subject, HDR, b"x" * 10, 2)
    assert (first, store.bytes - first) == ((48, 70) if kind == "file" else (36, 54))


def test_unicode_subject_counts_bytes(store, reopen):
    store.store("grüße.ä", None, b"x", 1)
    size = store.bytes
    store = reopen(store)
    assert store.load(1).subject == "grüße.ä"
    assert store.bytes == size
    assert store.subjects("grüße.*") == {"grüße.ä": 1}


def test_store_at_leaves_gaps(store, reopen):
    store.store_at(5, "a", None, b"5", 1)
    assert (store.first_seq, store.last_seq, store.msgs) == (5, 5, 1)
    store.store_at(9, "a", None, b"9", 2)
    with pytest.raises(SequenceMismatch):
        store.store_at(9, "a", None, b"again", 3)
    assert store.store("a", None, b"10", 4) == (10, 4)
    store = reopen(store)
    state = store.state(deleted=True)
    assert (state.first_seq, state.last_seq, state.msgs) == (5, 10, 3)
    assert (state.num_deleted, state.deleted) == (3, [6, 7, 8])
    assert [seq for seq, _ in live(store)] == [5, 9, 10]


def test_remove_interior_first_and_all(store, reopen):
    fill(store, ["a", "b", "a", "b"])
    assert store.remove(2)
    assert not store.remove(2)
    assert not store.remove(99)
    state = store.state(deleted=True)
    assert (state.msgs, state.first_seq, state.num_deleted, state.deleted) == (3, 1, 1, [2])
    assert store.remove(1)
    assert (store.first_seq, store.first_ts, store.state().num_deleted) == (3, 1_002, 0)
    store = reopen(store)
    assert (store.first_seq, store.msgs) == (3, 2)
    assert store.remove(3) and store.remove(4)
    store = reopen(store)
    state = store.state()
    assert (state.msgs, state.bytes, state.first_seq, state.last_seq, state.first_ts) == (0, 0, 5, 4, 0)
    assert state.last_ts == 1_003
    assert store.store("c", None, b"", 9) == (5, 9)


def test_erase_removes_message(store, reopen):
    fill(store, ["a", "a", "a"])
    assert store.remove(2, erase=True)
    store = reopen(store)
    assert store.load(2) is None
    assert [seq for seq, _ in live(store)] == [1, 3]


def test_purge_everything(store, reopen):
    fill(store, ["a", "b", "c"])
    assert store.purge() == 3
    store = reopen(store)
    state = store.state()
    assert (state.msgs, state.first_seq, state.last_seq, state.num_subjects) == (0, 4, 3, 0)
    assert store.store("a", None, b"", 1) == (4, 1)
    assert store.purge(">") == 1
    assert store.purge() == 0
    assert (store.first_seq, store.last_seq) == (5, 4)


def test_purge_on_never_used_store(store, reopen):
    assert store.purge() == 0
    store = reopen(store)
    assert (store.first_seq, store.last_seq) == (1, 0)


def test_purge_filter(store, reopen):
    fill(store, ["a.1", "b.1", "a.2", "a.1", "b.2"])
    assert store.purge("a.*") == 3
    store = reopen(store)
    assert live(store) == [(2, "b.1"), (5, "b.2")]
    assert store.purge("nothing.here") == 0
    assert store.first_seq == 2


def test_purge_filter_keep_counts_all_matching_subjects_together(store, reopen):
    fill(store, ["a.1", "a.2", "b", "a.1", "a.2", "a.3"])
    assert store.purge("a.*", keep=2) == 3
    store = reopen(store)
    assert live(store) == [(3, "b"), (5, "a.2"), (6, "a.3")]
    assert store.purge("a.*", keep=5) == 0


def test_purge_keep_without_filter(store, reopen):
    fill(store, ["a", "b", "c", "d", "e"])
    store.remove(4)
    assert store.purge(keep=2) == 2
    store = reopen(store)
    assert live(store) == [(3, "c"), (5, "e")]
    assert store.first_seq == 3


def test_purge_below_sequence(store, reopen):
    fill(store, ["a", "b", "c", "d"])
    assert store.purge(seq=1) == 0
    assert store.purge(seq=3) == 2
    store = reopen(store)
    assert (store.first_seq, store.msgs) == (3, 2)


def test_purge_filter_below_sequence(store, reopen):
    fill(store, ["a", "b", "a", "b", "a"])
    assert store.purge("a", seq=5) == 2
    store = reopen(store)
    assert live(store) == [(2, "b"), (4, "b"), (5, "a")]


def test_purge_beyond_last_sets_next_sequence(store, reopen):
    fill(store, ["a", "b"])
    assert store.purge(seq=10) == 2
    store = reopen(store)
    assert (store.first_seq, store.last_seq, store.msgs) == (10, 9, 0)
    assert store.store("a", None, b"", 1)[0] == 10


def test_compact(store, reopen):
    fill(store, ["a", "b", "c", "d"])
    store.remove(3)
    assert store.compact(3) == 2
    assert store.first_seq == 4
    assert store.compact(2) == 0
    store = reopen(store)
    assert (store.first_seq, store.msgs) == (4, 1)


def test_compact_sets_first_sequence_of_a_new_stream(store, reopen):
    # How a stream's `first_seq` config is applied.
    assert store.compact(100) == 0
    store = reopen(store)
    assert (store.first_seq, store.last_seq) == (100, 99)
    assert store.store("a", None, b"", 1)[0] == 100


def test_skip_msgs(store, reopen):
    assert store.skip_msgs() == 1
    assert (store.first_seq, store.last_seq) == (2, 1)
    fill(store, ["a"])
    assert store.skip_msgs(3, ts=77) == 5
    store = reopen(store)
    assert (store.first_seq, store.last_seq, store.last_ts, store.msgs) == (2, 5, 77, 1)
    assert store.store("a", None, b"", 1)[0] == 6
    assert store.state(deleted=True).deleted == [3, 4, 5]


def test_load_next_filters(store):
    fill(store, ["orders.eu.new", "orders.us.new", "billing.eu", "orders.eu.paid", "billing.us"])
    assert store.load_next(1, "orders.eu.paid").seq == 4
    assert store.load_next(5, "orders.eu.paid") is None
    assert store.load_next(2, "orders.eu.*").seq == 4
    assert store.load_next(1, "orders.*.new").seq == 1
    assert store.load_next(2, "orders.>").seq == 2
    assert store.load_next(3, "*.us").seq == 5
    assert store.load_next(2, ["billing.>", "orders.eu.new"]).seq == 3
    assert store.load_next(4, ">").seq == 4
    assert store.load_next(1, "unknown") is None
    assert store.load_next(6) is None
    store.remove(4)
    assert store.load_next(2, "orders.eu.*") is None
    assert store.load_next(0, "billing.us").seq == 5


def test_load_next_with_many_matching_subjects(store):
    subjects = [f"kv.k{i}" for i in range(100)] + ["other"]
    fill(store, subjects * 3)
    store.remove(1)
    assert store.load_next(1, "kv.*").seq == 2
    assert store.load_next(101, "kv.*").seq == 102
    assert store.load_next(101, ["kv.k5*", "other"]).seq == 101
    assert store.load_next(303, "kv.*") is None


def test_load_next_with_headers(store, reopen):
    store.store("a", None, b"1", 1)
    store.store("a", HDR, b"2", 2)
    store.store("b", b"", b"3", 3)
    store.store("b", HDR, b"4", 4)
    store = reopen(store)
    assert store.load_next_with_headers(0).seq == 2
    assert store.load_next_with_headers(3).seq == 4
    store.remove(4)
    assert store.load_next_with_headers(3) is None


def test_load_next_with_headers_far_apart(store, reopen):
    """Messages with headers thousands of positions apart, one of them removed."""
    for seq in range(1, 12_001):
        store.store("a", HDR if seq in (5000, 5001, 9000, 12_000) else None, b"x", seq)
    store.remove(5001)
    store = reopen(store)
    found, msg = [], store.load_next_with_headers(0)
    while msg is not None:
        found.append(msg.seq)
        msg = store.load_next_with_headers(msg.seq + 1)
    assert found == [5000, 9000, 12_000]


def test_load_last(store):
    fill(store, ["a.1", "a.2", "b", "a.1", "b"])
    assert store.load_last().seq == 5
    assert store.load_last("a.1").seq == 4
    assert store.load_last("a.*").seq == 4
    assert store.load_last(["a.2", "c"]).seq == 2
    assert store.load_last("c") is None
    store.remove(4)
    store.remove(5)
    assert store.load_last("a.1").seq == 1
    assert store.load_last().seq == 3


def test_subjects_and_counts(store, reopen):
    fill(store, ["a.1", "a.2", "b", "a.1", "a.1"])
    store.remove(4)
    store = reopen(store)
    assert store.subjects() == {"a.1": 2, "a.2": 1, "b": 1}
    assert store.subjects("a.*") == {"a.1": 2, "a.2": 1}
    assert store.subjects(["b", "zzz"]) == {"b": 1}
    assert store.subject_count("a.1") == 2
    assert store.subject_count("zzz") == 0
    assert store.subject_first("a.1") == 1
    assert store.num_subjects() == 3
    store.remove(1)
    assert store.subject_first("a.1") == 5
    assert store.subject_first("zzz") == 0
    store.remove(2)
    assert store.subjects("a.*") == {"a.1": 1}
    assert store.num_subjects() == 2


def test_last_seqs(store, reopen):
    fill(store, ["a.1", "a.2", "b", "a.1", "b", "c"])
    store.remove(5)
    store = reopen(store)
    assert store.last_seqs() == [2, 3, 4, 6]
    assert store.last_seqs("a.*") == [2, 4]
    assert store.last_seqs(["b", "c"]) == [3, 6]
    assert store.last_seqs("zzz") == []


def test_per_subject_limit_workflow(store, reopen):
    # What a stream does for max_msgs_per_subject=2: after each store drop the subject's oldest.
    for i in range(60):
        subject = f"kv.{i % 7}"
        store.store(subject, None, str(i).encode(), i)
        while store.subject_count(subject) > 2:
            assert store.remove(store.subject_first(subject))
    store = reopen(store)
    assert store.msgs == 14
    assert all(count == 2 for count in store.subjects().values())
    assert store.load_last("kv.3").data == b"59"
    assert [m.seq for m in (store.load(s) for s in range(1, 61)) if m] == list(range(47, 61))


def test_num_pending(store):
    fill(store, ["a", "b", "a", "c", "a", "b"])
    assert store.num_pending(1) == 6
    assert store.num_pending(4) == 3
    assert store.num_pending(0, "a") == 3
    assert store.num_pending(2, "a") == 2
    assert store.num_pending(6, "a") == 0
    assert store.num_pending(2, ["a", "c"]) == 3
    assert store.num_pending(7) == 0
    store.remove(5)
    assert store.num_pending(4) == 2
    assert store.num_pending(1, "a") == 2
    assert store.num_pending(4, ">") == 2


def test_num_pending_last_per_subject(store):
    fill(store, ["a", "b", "a", "c", "a", "b"])
    assert store.num_pending(1, last_per_subject=True) == 3
    assert store.num_pending(5, last_per_subject=True) == 2
    assert store.num_pending(1, "a", last_per_subject=True) == 1
    assert store.num_pending(1, ["b", "c"], last_per_subject=True) == 2
    store.remove(6)
    assert store.num_pending(5, last_per_subject=True) == 1


def test_expire_before(store, reopen):
    fill(store, ["a", "b", "c", "d"], ts0=100)
    assert store.expire_before(99) == 0
    assert store.expire_before(101) == 2
    store = reopen(store)
    assert (store.first_seq, store.first_ts, store.msgs) == (3, 102, 2)
    assert store.expire_before(1_000) == 2
    assert (store.first_seq, store.last_seq, store.msgs) == (5, 4, 0)
    assert store.expire_before(1_000) == 0


def test_seq_for_time(store):
    fill(store, ["a", "b", "c"], ts0=100)
    assert store.seq_for_time(0) == 1
    assert store.seq_for_time(101) == 2
    assert store.seq_for_time(500) == 4
    store.remove(2)
    assert store.seq_for_time(101) == 3


def test_state_after_interior_deletes(store, reopen):
    fill(store, ["a"] * 10)
    for seq in (2, 3, 7):
        store.remove(seq)
    store = reopen(store)
    state = store.state(deleted=True)
    assert (state.msgs, state.first_seq, state.last_seq) == (7, 1, 10)
    assert (state.num_deleted, state.deleted) == (3, [2, 3, 7])
    assert store.deleted() == [2, 3, 7]
    assert store.state().deleted is None


def test_delete_drops_everything(store, kind):
    fill(store, ["a", "b"])
    store.delete()
    if kind == "file":
        assert not os.path.exists(store.directory)
    else:
        assert store.msgs == 0
