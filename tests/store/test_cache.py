"""File store only: the messages it keeps in memory (store/cache.py) and its reads in order.

Fresh messages are served without reading a block; the memory they hold stays near the budget,
older ones come from the blocks; a reader walking the blocks in order reads each buffer once and
still meets damage where it is; removals reach what is held; and the random-operation model runs
with a cache of a few messages, so every read path meets every kind of change.
"""

from __future__ import annotations

import os
import random
import tracemalloc

import pytest

from devserver.store import FileStore, StoredMsg, index
from devserver.store.blocks import READ_AHEAD
from tests.store.test_file import HDR, damage, fill, payload
from tests.store.test_model import Model, check, step


@pytest.fixture
def directory(tmp_path):
    return tmp_path / "msgs"


@pytest.fixture
def preads(monkeypatch):
    """How many times a block was read (os.pread calls) since the test started."""
    calls = [0]
    real = os.pread

    def counting(fd: int, n: int, off: int) -> bytes:
        calls[0] += 1
        return real(fd, n, off)

    monkeypatch.setattr(os, "pread", counting)
    return calls


def walk(store):
    """Every message, through load_next from the start."""
    msgs, seq = [], 1
    while (msg := store.load_next(seq)) is not None:
        msgs.append(msg)
        seq = msg.seq + 1
    return msgs


def stored(count, first=1):
    return [
        StoredMsg(seq, f"s.{seq % 3}", HDR if seq % 4 == 0 else None, payload(seq), 1_000 + seq)
        for seq in range(first, first + count)
    ]


def test_fresh_messages_are_served_without_reading_blocks(directory, preads):
    store = FileStore(directory, block_size=4096)
    msgs = stored(2000)
    for m in msgs:
        store.store(m.subject, m.headers, m.data, m.ts)
    store.flush()
    preads[0] = 0
    assert [store.load(m.seq) for m in msgs] == msgs
    assert walk(store) == msgs
    assert store.load_last("s.1") == msgs[-2]
    assert preads[0] == 0
    store.close()


def test_memory_held_stays_near_the_budget(directory):
    budget = 256 * 1024
    store = FileStore(directory, cache_bytes=budget)
    fill(store, 100)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for first in range(101, 20_101, 100):  # about 7 MiB if every message were kept
            fill(store, 100, first=first)
            store.flush()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2 * budget + 20_000 * 32  # the budget, and the index's columns
    assert [m.data for m in walk(store)] == [payload(seq) for seq in range(1, 20_101)]
    store.close()


def test_reading_in_order_reads_each_buffer_once(directory, preads):
    store = FileStore(directory)
    fill(store, 5000)
    store.close()
    size = os.path.getsize(directory / "1.blk")
    store = FileStore(directory)
    preads[0] = 0
    assert [store.load(seq).data for seq in range(1, 5001)] == [payload(seq) for seq in range(1, 5001)]
    assert preads[0] <= size // (READ_AHEAD - 100) + 2
    store.close()


@pytest.mark.parametrize("walker", ["load", "load_next"])
def test_damage_met_in_the_middle_of_a_run_is_reported(directory, walker):
    store = FileStore(directory, block_size=2000)
    fill(store, 60)
    store.close()
    damage(directory, 20)
    damage(directory, 21)
    store = FileStore(directory, block_size=2000)
    if walker == "load":
        served = [seq for seq in range(1, 61) if store.load(seq) is not None]
    else:
        served = [m.seq for m in walk(store)]
    assert served == [seq for seq in range(1, 61) if seq not in (20, 21)]
    assert store.state().lost.msgs == [20, 21]
    assert [store.load(seq).data for seq in served] == [payload(seq) for seq in served]
    store.close()


def test_removed_messages_are_not_served(directory):
    store = FileStore(directory)
    for m in stored(40):
        store.store(m.subject, m.headers, m.data, m.ts)
    store.remove(5)
    store.remove(6, erase=True)
    store.purge("s.1", keep=2)
    store.compact(3)
    store.expire_before(1_003)
    gone = {1, 2, 3, 5, 6} | {seq for seq in range(1, 35) if seq % 3 == 1}
    kept = [m for m in stored(40) if m.seq not in gone]
    assert [store.load(seq) for seq in range(1, 41)] == [m if m.seq not in gone else None for m in stored(40)]
    assert walk(store) == kept
    assert [store.load_next(seq) for seq in (4, 5, 6)] == [kept[0]] * 3
    store.purge()
    assert store.load(40) is None and store.load_next(1) is None
    store.close()


def test_views_are_copied(directory):
    store = FileStore(directory)
    data, headers = bytearray(b"payload"), bytearray(HDR)
    store.store("s", memoryview(headers), memoryview(data), 1)
    data[0:1], headers[0:1] = b"X", b"X"
    msg = store.load(1)
    assert (msg.data, msg.headers) == (b"payload", HDR)
    assert type(msg.data) is bytes and type(msg.headers) is bytes
    store.close()


def test_gaps_and_new_runs(directory):
    store = FileStore(directory)
    store.store("s", None, b"1", 1)
    store.store_at(10, "s", None, b"10", 10)  # a short gap: holes
    store.skip_msgs(1_000)
    store.store("s", None, b"1011", 11)  # a long one: the window starts again
    assert [m.seq for m in walk(store)] == [1, 10, 1011]
    assert [store.load(seq).data for seq in (1, 10, 1011)] == [b"1", b"10", b"1011"]
    assert store.load(2) is None and store.load(1010) is None
    store.close()


@pytest.mark.parametrize("seed", range(4))
def test_random_operations_with_a_tiny_cache_match_the_model(directory, seed, monkeypatch):
    """test_model's operations with 2 or 3 messages held, and blocks (so read-ahead runs) of a few."""
    monkeypatch.setattr(index, "_TIDY_MIN", 4)
    rng = random.Random(seed)
    options = {"block_size": 600, "cache_bytes": 700}
    store = FileStore(directory, **options)
    model = Model()
    for i in range(600):
        step(store, model, rng, ts=1_000 + i)
        if i % 10 == 0:
            check(store, model, rng)
            start = rng.randint(model.first, model.last + 1)
            expected = [(s, *model.msgs[s]) for s in sorted(model.msgs) if s >= start]
            got = [store.load(s) for s in range(start, model.last + 1)]
            assert [(m.seq, m.subject, m.data, m.ts) for m in got if m] == expected
        if i % 97 == 96:
            store.close()
            store = FileStore(directory, **options)
    check(store, model, rng)
    store.close()
