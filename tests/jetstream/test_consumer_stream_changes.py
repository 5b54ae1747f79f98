"""What happens to consumers when their stream changes under them, on both servers: purges,
deleted messages, limits, and filter updates."""

from __future__ import annotations

from schemas import subjects
from tests.jetstream.conftest import wait_for
from tests.jetstream.consumer_support import Inbox, add_stream, api, connect, counters, create, info

MS = 1_000_000


async def _deliver(nc, n: int, consumer: str = "d") -> list:
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", consumer, {"batch": n, "expires": 2_000 * MS})
        return await inbox.wait(n)


async def test_purge_moves_consumers_past_what_is_gone(server):
    nc = await connect(server)
    await add_stream(nc)
    for i in range(6):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    msgs = await _deliver(nc, 3)
    await nc.request(msgs[0].reply, b"", timeout=2)
    assert counters(await info(nc, "ORDERS", "d")) == ((3, 3), (1, 1), 2, 0, 0, 3)
    await api(nc, subjects.stream_purge("ORDERS"))
    assert counters(await info(nc, "ORDERS", "d")) == ((3, 6), (3, 6), 0, 0, 0, 0)
    await nc.request("orders.x", b"new", timeout=2)
    (msg,) = await _deliver(nc, 1)
    assert msg.data == b"new"
    await nc.close()


async def test_filtered_purge_and_keep(server):
    nc = await connect(server)
    await add_stream(nc)
    for i in range(4):
        await nc.request("orders.a", b"a%d" % i, timeout=2)
        await nc.request("orders.b", b"b%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "a", "filter_subject": "orders.a", "ack_policy": "none"})
    await create(nc, "ORDERS", {"durable_name": "all", "ack_policy": "none"})
    await api(nc, subjects.stream_purge("ORDERS"), {"filter": "orders.a", "keep": 1})
    assert (await info(nc, "ORDERS", "a"))["num_pending"] == 1
    assert (await info(nc, "ORDERS", "all"))["num_pending"] == 5
    (msg,) = await _deliver(nc, 1, "a")
    assert msg.data == b"a3"
    await nc.close()


async def test_deleted_pending_message_is_not_redelivered(server):
    nc = await connect(server)
    await add_stream(nc)
    for i in range(3):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", "ack_wait": 200 * MS})
    await _deliver(nc, 3)
    await api(nc, subjects.stream_msg_delete("ORDERS"), {"seq": 2})
    redelivered = await _deliver(nc, 2)
    assert [m.data for m in redelivered] == [b"0", b"2"]
    doc = await info(nc, "ORDERS", "d")
    assert (doc["num_ack_pending"], doc["num_pending"]) == (2, 0)
    await nc.close()


async def test_limits_drop_messages_a_consumer_has_not_seen(server):
    nc = await connect(server)
    await add_stream(nc, max_msgs=3)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    for i in range(5):
        await nc.request("orders.x", b"%d" % i, timeout=2)

    async def three_pending() -> bool:
        return (await info(nc, "ORDERS", "d"))["num_pending"] == 3

    # nats-server lowers a consumer's count for limit-dropped messages asynchronously
    assert await wait_for(three_pending)
    got = await _deliver(nc, 3)
    assert [m.data for m in got] == [b"2", b"3", b"4"]
    await nc.close()


async def test_updating_the_filter_recounts_pending(server):
    nc = await connect(server)
    await add_stream(nc)
    for subject in ("orders.a", "orders.b", "orders.b"):
        await nc.request(subject, b"x", timeout=2)
    await create(nc, "ORDERS", {"durable_name": "f", "filter_subject": "orders.a"})
    assert (await info(nc, "ORDERS", "f"))["num_pending"] == 1
    doc = await create(nc, "ORDERS", {"durable_name": "f", "filter_subject": "orders.b"})
    assert doc["num_pending"] == 2 and doc["config"]["filter_subject"] == "orders.b"
    await nc.close()
