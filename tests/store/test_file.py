"""File store only: restarts, crashes, damaged files, erasure, fsync policy, block housekeeping."""

from __future__ import annotations

import json
import os
import resource
import shutil

import pytest

from devserver.store import FileStore, StoreError, write_atomic
from devserver.store.file import INDEX_FILE, META_FILE

HDR = b"NATS/1.0\r\nA: b\r\n\r\n"


@pytest.fixture
def directory(tmp_path):
    return tmp_path / "msgs"


def block_files(directory):
    return sorted((p for p in directory.iterdir() if p.suffix == ".blk"), key=lambda p: int(p.stem))


def all_bytes(directory):
    return b"".join(p.read_bytes() for p in block_files(directory))


def snapshot(store):
    """Everything observable about a store's content."""
    msgs, seq = [], 1
    while (msg := store.load_next(seq)) is not None:
        msgs.append(msg)
        seq = msg.seq + 1
    return store.state(deleted=True), msgs, store.subjects()


def crash_image(store, where):
    """What a restart finds if the process dies now: the files as they are, no close()."""
    store.flush()
    shutil.copytree(store.directory, where)
    return where


def payload(seq):
    return f"payload-{seq:04d}-".encode() * 4


def fill(store, count, subject="s", first=1):
    for seq in range(first, first + count):
        store.store(subject, None, payload(seq), 1_000 + seq)


def busy_store(directory, **options):
    """A store that has seen every kind of change."""
    store = FileStore(directory, **options)
    store.compact(3)
    for i in range(40):
        store.store(f"orders.{i % 4}", HDR if i % 3 == 0 else None, payload(i), 1_000 + i)
    store.remove(5)
    store.remove(6, erase=True)
    store.purge("orders.1", keep=3)
    store.store_at(60, "late", None, b"late", 2_000)
    store.skip_msgs(2, ts=2_001)
    store.purge(seq=10)
    return store


@pytest.mark.parametrize("block_size", [256, 1 << 20])
def test_restart_keeps_everything(directory, tmp_path, block_size):
    store = busy_store(directory, block_size=block_size)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    for where in (directory, image):
        again = FileStore(where, block_size=block_size)
        assert again.warnings == []
        assert snapshot(again) == expected
        again.close()


def test_index_is_reused_and_later_records_replayed(directory, tmp_path):
    store = busy_store(directory, block_size=512)
    store.close()
    store = FileStore(directory, block_size=512)
    fill(store, 5, subject="after", first=store.last_seq + 1)
    store.remove(store.last_seq - 1)
    expected = snapshot(store)
    again = FileStore(crash_image(store, tmp_path / "crash"), block_size=512)
    assert again.warnings == []
    assert snapshot(again) == expected
    again.close()
    store.close()


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_damaged_index_is_rebuilt(directory, damage):
    store = busy_store(directory)
    expected = snapshot(store)
    store.close()
    index = directory / INDEX_FILE
    raw = index.read_bytes()
    index.write_bytes(raw[: len(raw) // 2] if damage is None else damage)
    again = FileStore(directory)
    assert any(INDEX_FILE in w for w in again.warnings)
    assert snapshot(again) == expected
    again.close()


@pytest.mark.parametrize("field,bit", [("head", 30), ("column", 30), ("column", 40), ("column", 62)])
def test_damaged_lengths_in_the_index_cost_no_memory(directory, field, bit):
    """A flipped bit in a length of index.db is found before anything is allocated for it."""
    store = busy_store(directory)
    expected = snapshot(store)
    store.close()
    index = directory / INDEX_FILE
    raw = bytearray(index.read_bytes())
    at = 8 if field == "head" else 12 + int.from_bytes(raw[8:12], "little")
    raw[at + bit // 8] ^= 1 << (bit % 8)
    index.write_bytes(bytes(raw))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    again = FileStore(directory)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 100 * 1024  # KiB
    assert any(INDEX_FILE in w for w in again.warnings)
    assert snapshot(again) == expected
    again.close()


def test_torn_tail_is_cut(directory, tmp_path):
    store = FileStore(directory)
    fill(store, 10)
    image = crash_image(store, tmp_path / "crashed")  # no index.db: the process died
    store.close()
    last = block_files(image)[-1]
    size = last.stat().st_size
    with open(last, "r+b") as f:
        f.truncate(size - 5)
    store = FileStore(image)
    assert any("cut" in w for w in store.warnings)
    assert (store.msgs, store.last_seq, store.state().lost) == (9, 9, None)
    assert last.stat().st_size < size - 5
    assert store.store("s", None, b"again", 5_000)[0] == 10
    store.close()
    store = FileStore(image)
    assert store.warnings == []
    assert store.load(10).data == b"again"
    store.close()


def test_tail_cut_after_a_clean_close_is_lost(directory):
    """index.db knew the messages the blocks no longer end with: lost, their sequences kept used."""
    store = FileStore(directory)
    fill(store, 10)
    store.remove(10)
    store.close()
    last = block_files(directory)[-1]
    with open(last, "r+b") as f:
        f.truncate(record_start(directory, 8)[1] + 5)
    store = FileStore(directory)
    assert any("index.db recorded 10: lost messages 8..9 (2)" in w for w in store.warnings)
    assert (store.msgs, store.last_seq, store.state().lost.msgs) == (7, 10, [8, 9])
    assert store.store("s", None, b"again", 5_000)[0] == 11
    store.close()
    store = FileStore(directory)
    assert (store.last_seq, store.state().lost.msgs, store.load(11).data) == (11, [8, 9], b"again")
    store.close()


def test_garbage_appended_is_cut(directory):
    store = FileStore(directory)
    fill(store, 10)
    store.close()
    last = block_files(directory)[-1]
    size = last.stat().st_size
    with open(last, "ab") as f:
        f.write(os.urandom(100))
    store = FileStore(directory)
    assert any("cut 100 bytes" in w for w in store.warnings)
    assert store.msgs == 10
    assert last.stat().st_size == size
    store.close()


def damage(directory, seq, offset_in_payload=3, data=b"\xff"):
    """Overwrite bytes inside the payload of message `seq` in its block file."""
    for path in block_files(directory):
        raw = bytearray(path.read_bytes())
        at = raw.find(payload(seq))
        if at >= 0:
            raw[at + offset_in_payload : at + offset_in_payload + len(data)] = data
            path.write_bytes(bytes(raw))
            return
    raise AssertionError(f"message {seq} not found")


def record_start(directory, seq, subject=b"s"):
    """(block path, offset of the record) of message `seq`: 22-byte head, subject, payload."""
    for path in block_files(directory):
        at = path.read_bytes().find(subject + payload(seq))
        if at >= 0:
            return path, at - 22
    raise AssertionError(f"message {seq} not found")


def poke(path, offset, data):
    raw = bytearray(path.read_bytes())
    raw[offset : offset + len(data)] = data
    path.write_bytes(bytes(raw))


def assert_lost_only(store, lost, total):
    state = store.state()
    assert state.lost is not None and state.lost.msgs == lost and state.lost.bytes > 0
    assert any("lost messages" in w for w in store.warnings)
    served = [m.seq for m in snapshot(store)[1]]
    assert served == [s for s in range(1, total + 1) if s not in lost]
    for seq in served:
        assert store.load(seq).data == payload(seq)
    assert (state.first_seq, state.last_seq, state.num_deleted) == (1, total, len(lost))


@pytest.mark.parametrize("keep_index", [True, False])
@pytest.mark.parametrize("block_size", [400, 1 << 20])
def test_bit_flip_in_the_middle_is_reported_and_the_rest_served(directory, keep_index, block_size):
    store = FileStore(directory, block_size=block_size)
    fill(store, 30)
    store.close()
    if not keep_index:
        os.remove(directory / INDEX_FILE)
    damage(directory, 7)
    store = FileStore(directory, block_size=block_size)
    assert_lost_only(store, [7], 30)
    store.close()
    store = FileStore(directory, block_size=block_size)
    assert_lost_only(store, [7], 30)
    store.close()


@pytest.mark.parametrize(
    "field,value",
    [(0, b"\xff\xff\xff\x07"), (0, b"\x1e\x00\x00\x00"), (4, b"\x09\x09\x09\x09"), (12, b"\x00\x00")],
)
def test_damaged_record_head_is_skipped(directory, field, value):
    store = FileStore(directory)
    fill(store, 20)
    store.close()
    os.remove(directory / INDEX_FILE)
    path, start = record_start(directory, 11)
    poke(path, start + field, value)
    store = FileStore(directory)
    assert_lost_only(store, [11], 20)
    store.close()


def test_damage_across_several_records(directory):
    store = FileStore(directory)
    fill(store, 20)
    store.close()
    path, start = record_start(directory, 5)
    _, end = record_start(directory, 8)
    poke(path, start + 10, b"\x00" * (end - start))
    store = FileStore(directory)
    assert_lost_only(store, [5, 6, 7, 8], 20)
    store.close()


def test_damage_ending_an_older_block(directory):
    store = FileStore(directory, block_size=400)
    fill(store, 12)
    store.close()
    first = block_files(directory)[0]
    size = first.stat().st_size
    with open(first, "r+b") as f:
        f.seek(size - 4)
        f.write(b"\x00\x00\x00\x00")
    store = FileStore(directory, block_size=400)
    lost = store.state().lost.msgs
    assert len(lost) == 1
    assert store.msgs == 11
    assert first.stat().st_size == size
    store.close()


def test_deleted_message_in_damaged_record_is_not_lost(directory):
    store = FileStore(directory)
    fill(store, 10)
    store.remove(4)
    store.close()
    os.remove(directory / INDEX_FILE)
    damage(directory, 4)
    store = FileStore(directory)
    assert store.state().lost is None
    assert store.msgs == 9
    store.close()


def test_damage_found_when_reading(directory):
    store = FileStore(directory, block_size=400)
    fill(store, 12)
    store.close()
    store = FileStore(directory, block_size=400)
    damage(directory, 2)
    assert store.load(2) is None
    assert store.state().lost.msgs == [2]
    assert any("checksum" in w for w in store.warnings)
    assert store.load_next(1).seq == 1
    assert store.load_next(2).seq == 3
    assert store.msgs == 11
    store.close()


@pytest.mark.parametrize("flush_first", [True, False])
def test_erase_leaves_no_plaintext(directory, tmp_path, flush_first):
    store = FileStore(directory, block_size=400)
    fill(store, 12)
    secret = b"TOP-SECRET-" * 3
    seq, _ = store.store("s", None, secret, 9_000)
    fill(store, 3, first=seq + 1)
    if flush_first:
        store.flush()
    assert store.remove(seq, erase=True)
    assert store.remove(2, erase=True)
    store.flush()
    assert secret not in all_bytes(directory)
    assert payload(2) not in all_bytes(directory)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    for where in (directory, image):
        again = FileStore(where, block_size=400)
        assert again.warnings == []
        assert snapshot(again) == expected
        assert again.state().lost is None
        again.close()


def test_empty_blocks_are_deleted(directory):
    store = FileStore(directory, block_size=400)
    fill(store, 60)
    blocks = len(block_files(directory))
    assert blocks > 5
    store.purge(seq=40)
    assert len(block_files(directory)) < blocks / 2
    store.purge()
    store.flush()
    assert len(block_files(directory)) == 1
    store.close()
    store = FileStore(directory, block_size=400)
    assert (store.msgs, store.first_seq, store.last_seq) == (0, 61, 60)
    store.close()


def test_delete_markers_outlive_the_block_they_were_written_to(directory, tmp_path):
    # 95-byte records, 400-byte blocks: 1.blk holds 1-4, 2.blk 5-7, 3.blk 8.
    store = FileStore(directory, block_size=400)
    fill(store, 7)
    store.remove(3)  # the marker goes to 2.blk
    fill(store, 1, first=8)
    assert [p.name for p in block_files(directory)] == ["1.blk", "2.blk", "3.blk"]
    for seq in (5, 6, 7):
        store.remove(seq)
    store.flush()
    assert [p.name for p in block_files(directory)] == ["1.blk", "3.blk"]
    image = crash_image(store, tmp_path / "crash")
    store.close()
    for where in (directory, image):
        again = FileStore(where, block_size=400)
        assert [m.seq for m in snapshot(again)[1]] == [1, 2, 4, 8]
        again.close()


def test_sequences_survive_when_every_message_is_gone(directory, tmp_path):
    store = FileStore(directory, block_size=300)
    fill(store, 20)
    store.purge()
    store.skip_msgs(5)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    for where in (directory, image):
        again = FileStore(where, block_size=300)
        assert (again.msgs, again.first_seq, again.last_seq) == (0, 26, 25)
        assert again.store("s", None, b"", 1)[0] == 26
        again.close()


def count_fsyncs(monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    return calls


def test_sync_always_shares_one_fsync_per_flush(directory, monkeypatch):
    store = FileStore(directory, sync_always=True)
    store.store("s", None, b"first", 1)
    store.flush()
    calls = count_fsyncs(monkeypatch)
    for i in range(100):
        store.store("s", None, b"x", i)
    assert calls == []
    store.flush()
    assert len(calls) == 1
    store.flush()
    assert len(calls) == 1
    store.close()


def test_default_policy_syncs_on_an_interval(directory, monkeypatch):
    store = FileStore(directory, sync_interval_ns=1_000)
    calls = count_fsyncs(monkeypatch)
    store.store("s", None, b"x", 1)
    store.flush()
    assert calls == []
    assert not store.maybe_sync(5_000)
    assert not store.maybe_sync(5_999)
    assert store.maybe_sync(6_000)
    assert calls
    store.close()


def test_records_reach_the_os_at_flush(directory):
    store = FileStore(directory)
    store.store("s", None, b"hello-os", 1)
    assert b"hello-os" not in all_bytes(directory)
    store.flush()
    assert b"hello-os" in all_bytes(directory)
    store.close()


def test_unknown_format_is_refused(directory):
    FileStore(directory).close()
    (directory / META_FILE).write_text(json.dumps({"format": 99}))
    with pytest.raises(StoreError, match="format"):
        FileStore(directory)


def test_write_atomic(tmp_path):
    path = tmp_path / "meta.inf"
    write_atomic(path, b"one")
    write_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["meta.inf"]
