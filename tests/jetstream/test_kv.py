"""nats-py's Key-Value and Object Store on both servers: the client conventions on top of streams,
ordered push consumers with heartbeats, last-per-subject delivery, rollups and direct gets."""

from __future__ import annotations

import asyncio

import nats.js.errors
import pytest

from tests.jetstream.consumer_support import connect


async def keys(kv) -> list[str]:
    """kv.keys(), again if nats-py's watcher raced: under load it can miss a message the server
    has sent but the client has not read yet when it asks for the consumer's pending count."""
    for _ in range(2):
        try:
            return sorted(await kv.keys())
        except nats.js.errors.NoKeysError:
            await asyncio.sleep(0.1)
    return sorted(await kv.keys())


async def test_kv_put_get_update_delete_purge(server):
    nc = await connect(server)
    js = nc.jetstream()
    kv = await js.create_key_value(bucket="CFG", history=5)
    rev1 = await kv.put("color", b"red")
    rev2 = await kv.put("color", b"blue")
    assert (rev1, rev2) == (1, 2)
    entry = await kv.get("color")
    assert (entry.value, entry.revision) == (b"blue", 2)
    assert await kv.update("color", b"green", last=2) == 3
    with pytest.raises(nats.js.errors.KeyWrongLastSequenceError):
        await kv.update("color", b"black", last=2)
    with pytest.raises(nats.js.errors.KeyWrongLastSequenceError):
        await kv.create("color", b"again")
    await kv.put("size", b"L")
    history = await kv.history("color")
    assert [(e.value, e.revision) for e in history] == [(b"red", 1), (b"blue", 2), (b"green", 3)]
    await kv.delete("color")
    with pytest.raises(nats.js.errors.KeyNotFoundError):  # nats-py reports a delete marker so
        await kv.get("color")
    assert await kv.create("color", b"new") == 6  # create over a delete marker
    await kv.purge("size")
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        await kv.get("size")
    assert await keys(kv) == ["color"]
    status = await kv.status()
    assert status.bucket == "CFG" and status.history == 5
    await nc.close()


async def test_kv_keys_and_watch(server):
    nc = await connect(server)
    js = nc.jetstream()
    kv = await js.create_key_value(bucket="WATCH")
    for i in range(5):
        await kv.put(f"k{i}", b"v%d" % i)
    await kv.put("k0", b"v0-again")
    assert await keys(kv) == [f"k{i}" for i in range(5)]
    watcher = await kv.watchall()
    initial = []
    while True:
        entry = await watcher.updates(timeout=2)
        if entry is None:  # the initial values are done
            break
        initial.append((entry.key, entry.value))
    assert sorted(initial) == [("k0", b"v0-again")] + [(f"k{i}", b"v%d" % i) for i in range(1, 5)]
    await kv.put("k9", b"live")
    entry = await watcher.updates(timeout=2)
    assert (entry.key, entry.value, entry.operation) == ("k9", b"live", None)
    await kv.delete("k1")
    entry = await watcher.updates(timeout=2)
    assert (entry.key, entry.operation) == ("k1", "DEL")
    await watcher.stop()
    await nc.close()


async def test_kv_empty_bucket_keys_and_watch(server):
    nc = await connect(server)
    js = nc.jetstream()
    kv = await js.create_key_value(bucket="EMPTY")
    with pytest.raises(nats.js.errors.NoKeysError):
        await kv.keys()
    watcher = await kv.watch("a.*")
    assert await watcher.updates(timeout=2) is None
    await kv.put("a.b", b"1")
    entry = await watcher.updates(timeout=2)
    assert (entry.key, entry.value) == ("a.b", b"1")
    await watcher.stop()
    await nc.close()


async def test_object_store_put_get_list_delete(server):
    nc = await connect(server)
    js = nc.jetstream()
    obs = await js.create_object_store(bucket="FILES")
    big = bytes(range(256)) * 2000  # several chunks
    info = await obs.put("big.bin", big)
    assert info.size == len(big)
    await obs.put("small.txt", b"hello")
    result = await obs.get("big.bin")
    assert result.data == big
    assert (await obs.get("small.txt")).data == b"hello"
    names = sorted(i.name for i in await obs.list())
    assert names == ["big.bin", "small.txt"]
    await obs.put("small.txt", b"replaced")
    assert (await obs.get("small.txt")).data == b"replaced"
    await obs.delete("big.bin")
    with pytest.raises(nats.js.errors.ObjectNotFoundError):
        await obs.get("big.bin")
    assert [i.name for i in await obs.list(ignore_deletes=True)] == ["small.txt"]
    await nc.close()


async def test_ordered_consumer_resumes_after_a_gap(server):
    """An ordered consumer recreates itself when it misses a message (heartbeat gap check)."""
    nc = await connect(server)
    js = nc.jetstream()
    kv = await js.create_key_value(bucket="ORD")
    for i in range(50):
        await kv.put("k", b"%d" % i)
    watcher = await kv.watch("k", include_history=True)
    seen = []
    while True:
        entry = await watcher.updates(timeout=2)
        if entry is None:
            break
        seen.append(entry.value)
    assert seen == [b"49"]  # history 1: only the last revision is kept
    await asyncio.wait_for(watcher.stop(), 2)
    await nc.close()
