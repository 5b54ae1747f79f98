"""Durable consumers of file streams survive restarts, and double acks survive kill -9.

nats-server 2.15.1 writes consumer state lazily: after a kill -9 it redelivers even messages
whose double ack it had confirmed (observed: all of them come back). devserver writes the state
before it confirms a double ack, so that test runs against devserver only.
"""

from __future__ import annotations

import pytest

from schemas import subjects
from tests.jetstream.consumer_support import Inbox, add_stream, api, connect, counters, create, info
from tests.servers import start_server

MS = 1_000_000


async def _deliver(nc, n: int, consumer: str = "d") -> list:
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", consumer, {"batch": n, "expires": 2_000 * MS})
        return await inbox.wait(n)


async def test_durable_config_and_state_survive_a_restart(server):
    nc = await connect(server)
    await add_stream(nc, storage="file")
    for i in range(4):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    config = {"durable_name": "d", "ack_policy": "explicit", "ack_wait": 60_000 * MS, "description": "kept"}
    await create(nc, "ORDERS", config)
    msgs = await _deliver(nc, 3)
    for msg in msgs[:2]:
        await nc.request(msg.reply, b"", timeout=2)
    before = await info(nc, "ORDERS", "d")
    assert counters(before) == ((3, 3), (2, 2), 1, 0, 0, 1)
    await nc.close()
    server.restart()
    nc = await connect(server)
    after = await info(nc, "ORDERS", "d")
    assert after["config"] == before["config"]
    assert after["created"] == before["created"]
    assert counters(after)[:4] == ((3, 3), (2, 2), 1, 0)
    assert (await api(nc, subjects.consumer_names("ORDERS")))["consumers"] == ["d"]
    await nc.close()


async def test_unacked_messages_come_back_after_a_restart(server):
    nc = await connect(server)
    await add_stream(nc, storage="file")
    for i in range(3):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", "ack_wait": 200 * MS})
    msgs = await _deliver(nc, 3)
    await nc.request(msgs[1].reply, b"", timeout=2)
    await nc.close()
    server.restart()
    nc = await connect(server)
    again = await _deliver(nc, 2)
    assert [m.data for m in again] == [b"0", b"2"]
    assert counters(await info(nc, "ORDERS", "d"))[2:4] == (2, 2)
    await nc.close()


@pytest.fixture
def killable(tmp_path):
    """devserver as a child process, so it can be killed (see the module docstring)."""
    srv = start_server("dev-proc", tmp_path)
    yield srv
    srv.stop()


@pytest.mark.parametrize("acked", [3, 7])
async def test_double_acked_messages_are_never_delivered_again_after_kill_9(killable, acked):
    nc = await connect(killable)
    await add_stream(nc, storage="file")
    for i in range(10):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", "ack_wait": 300 * MS})
    msgs = await _deliver(nc, 10)
    for msg in msgs[:acked]:
        await nc.request(msg.reply, b"+ACK", timeout=2)  # confirmed: must never come back
    await nc.close()
    killable.kill()
    killable.start()
    nc = await connect(killable)
    again = await _deliver(nc, 10 - acked)
    assert sorted(int(m.data) for m in again) == list(range(acked, 10))
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "no_wait": True})
        (last,) = await inbox.wait(1)
    assert last.headers["Status"] == "404"
    await nc.close()


async def test_double_acks_are_on_disk_before_they_are_confirmed(killable):
    nc = await connect(killable)
    await add_stream(nc, storage="file")
    for i in range(5):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", "ack_wait": 60_000 * MS})
    msgs = await _deliver(nc, 5)
    for msg in msgs[:2]:
        await nc.request(msg.reply, b"+ACK", timeout=2)
    await nc.close()
    killable.kill()
    killable.start()
    nc = await connect(killable)
    assert counters(await info(nc, "ORDERS", "d"))[:4] == ((5, 5), (2, 2), 3, 0)
    await nc.close()
