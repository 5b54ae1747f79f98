"""Push consumers on both servers: delivery, queue groups, heartbeats, flow control, pacing and
the inactivity delete of ephemerals."""

from __future__ import annotations

import asyncio
import time

from nats.js import api as js_api

from tests.jetstream.consumer_support import (
    Inbox,
    ack_tokens,
    add_stream,
    connect,
    create,
    info,
    status,
    wait_for,
)

MS = 1_000_000


async def test_push_delivery_keeps_the_stream_subject(server):
    nc = await connect(server)
    await add_stream(nc)
    for i in range(3):
        await nc.request(f"orders.{i}", b"%d" % i, timeout=2)
    async with Inbox(nc, "deliver.here") as inbox:
        created = await create(nc, "ORDERS", {"durable_name": "p", "deliver_subject": "deliver.here"})
        assert created["num_pending"] == 3
        msgs = await inbox.wait(3)
        assert [m.subject for m in msgs] == ["orders.0", "orders.1", "orders.2"]
        assert [ack_tokens(m.reply) for m in msgs] == [(1, 1, 1, 2), (1, 2, 2, 1), (1, 3, 3, 0)]
        assert (await info(nc, "ORDERS", "p")).get("push_bound") is True
    await wait_for(lambda: _unbound(nc))
    await nc.close()


async def _unbound(nc) -> bool:
    return "push_bound" not in await info(nc, "ORDERS", "p")


async def test_deliver_group_gives_each_message_to_one_member(server):
    nc = await connect(server)
    await add_stream(nc)
    got: list[tuple[int, bytes]] = []

    def member(i: int):
        async def cb(msg) -> None:
            got.append((i, msg.data))

        return cb

    subs = [await nc.subscribe("grp.deliver", queue="workers", cb=member(i)) for i in range(3)]
    config = {"durable_name": "g", "deliver_subject": "grp.deliver", "deliver_group": "workers"}
    await create(nc, "ORDERS", config)
    for i in range(30):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    await wait_for(lambda: _count(got, 30))
    assert sorted(int(d) for _, d in got) == list(range(30))
    for sub in subs:
        await sub.unsubscribe()
    await nc.close()


async def _count(items: list, n: int) -> bool:
    return len(items) >= n


async def test_idle_heartbeats(server):
    nc = await connect(server)
    await add_stream(nc)
    await nc.request("orders.x", b"x", timeout=2)
    async with Inbox(nc, "hb.deliver") as inbox:
        config = {"durable_name": "h", "deliver_subject": "hb.deliver", "idle_heartbeat": 100 * MS}
        await create(nc, "ORDERS", config)
        msg, beat = await inbox.wait(2)
    assert msg.data == b"x"
    assert status(beat) == ("100", "Idle Heartbeat")
    assert (beat.headers["Nats-Last-Consumer"], beat.headers["Nats-Last-Stream"]) == ("1", "1")
    await nc.close()


async def test_flow_control_stalls_until_answered(server):
    nc = await connect(server)
    await add_stream(nc)
    payload = b"x" * 100_000
    for _ in range(30):
        await nc.request("orders.big", payload, timeout=2)
    async with Inbox(nc, "fc.deliver") as inbox:
        config = {
            "durable_name": "f",
            "deliver_subject": "fc.deliver",
            "flow_control": True,
            "idle_heartbeat": 1_000 * MS,
            "ack_policy": "none",
        }
        await create(nc, "ORDERS", config)
        requests = []
        await wait_for(lambda: _data_count(inbox, 21))
        await nc.flush()
        data = [m for m in inbox.msgs if m.data]
        requests = [m for m in inbox.msgs if status(m)[0] == "100" and m.reply]
        assert len(data) == 21  # stalled: two windows' worth of 1 MiB went out
        assert status(requests[0]) == ("100", "FlowControl Request")
        assert requests[0].reply.startswith("$JS.FC.ORDERS.f.")
        assert inbox.msgs.index(requests[0]) == 11  # asked once half the 2 MiB window was out
        await nc.publish(requests[0].reply, b"")
        await wait_for(lambda: _data_count(inbox, 30))
    await nc.close()


async def _data_count(inbox: Inbox, n: int) -> bool:
    return sum(1 for m in inbox.msgs if m.data) >= n


async def test_ephemeral_push_consumer_goes_away_without_interest(server):
    nc = await connect(server)
    await add_stream(nc)
    async with Inbox(nc, "eph.deliver"):
        config = {"name": "e", "deliver_subject": "eph.deliver", "inactive_threshold": 200 * MS}
        created = await create(nc, "ORDERS", config)
        assert created["config"]["inactive_threshold"] == 200 * MS
    await wait_for(lambda: _gone(nc, "e"), timeout=5)
    durable = {"durable_name": "keep", "deliver_subject": "nobody.listens"}
    await create(nc, "ORDERS", durable)
    assert "error" not in await info(nc, "ORDERS", "keep")
    await nc.close()


async def _gone(nc, name: str) -> bool:
    return (await info(nc, "ORDERS", name)).get("error", {}).get("err_code") == 10014


async def test_ephemeral_pull_consumer_goes_away_when_nobody_pulls(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"name": "idle", "inactive_threshold": 100 * MS})
    await wait_for(lambda: _gone(nc, "idle"), timeout=5)
    await nc.close()


async def test_replay_original_keeps_the_gaps(server):
    nc = await connect(server)
    await add_stream(nc)
    for i in range(3):
        await nc.request("orders.x", b"%d" % i, timeout=2)
        if i < 2:
            await asyncio.sleep(0.3)  # the gaps being replayed
    arrivals: list[float] = []

    async def cb(msg) -> None:
        arrivals.append(time.monotonic())

    sub = await nc.subscribe("replay.deliver", cb=cb)
    config = {"durable_name": "r", "deliver_subject": "replay.deliver", "replay_policy": "original"}
    await create(nc, "ORDERS", config)
    await wait_for(lambda: _count(arrivals, 3))
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert all(0.2 < gap < 0.6 for gap in gaps), gaps
    await sub.unsubscribe()
    await nc.close()


async def test_rate_limit_paces_delivery(server):
    nc = await connect(server)
    await add_stream(nc, max_msg_size=1000)
    for _ in range(5):
        await nc.request("orders.x", b"x" * 900, timeout=2)
    arrivals: list[float] = []

    async def cb(msg) -> None:
        arrivals.append(time.monotonic())

    sub = await nc.subscribe("rate.deliver", cb=cb)
    config = {"durable_name": "rl", "deliver_subject": "rate.deliver", "rate_limit_bps": 80_000}
    await create(nc, "ORDERS", config)
    await wait_for(lambda: _count(arrivals, 5))
    assert arrivals[-1] - arrivals[0] > 0.25  # 10 kB/s, 1 kB burst: about 0.4 s for 5 kB
    await sub.unsubscribe()
    await nc.close()


async def test_nats_py_push_and_ordered_consumers(server):
    nc = await connect(server)
    js = nc.jetstream()
    await js.add_stream(name="EVENTS", subjects=["events.>"])
    for i in range(20):
        await js.publish(f"events.{i % 3}", b"%d" % i)
    sub = await js.subscribe("events.>", durable="pushd", manual_ack=True)
    for i in range(20):
        msg = await sub.next_msg(timeout=2)
        assert msg.data == b"%d" % i
        await msg.ack_sync()
    ordered = await js.subscribe("events.1", ordered_consumer=True)
    got = [int((await ordered.next_msg(timeout=2)).data) for _ in range(7)]
    assert got == [i for i in range(20) if i % 3 == 1]
    ci = await js.consumer_info("EVENTS", "pushd")
    assert ci.config.ack_policy == js_api.AckPolicy.EXPLICIT
    assert (ci.num_ack_pending, ci.ack_floor.stream_seq) == (0, 20)
    await nc.close()


async def test_durable_push_consumer_moves_to_a_new_deliver_subject(server):
    nc = await connect(server)
    await add_stream(nc)
    await nc.request("orders.x", b"x", timeout=2)
    config = {"durable_name": "mv", "deliver_subject": "old.deliver", "ack_policy": "explicit"}
    async with Inbox(nc, "old.deliver") as old:
        await create(nc, "ORDERS", config)
        await old.wait(1)
        busy = await create(nc, "ORDERS", {**config, "deliver_subject": "new.deliver"})
        assert busy["error"]["err_code"] == 10013  # the old subject still has a listener
    async with Inbox(nc, "new.deliver") as new:
        moved = await create(nc, "ORDERS", {**config, "deliver_subject": "new.deliver"})
        assert moved["config"]["deliver_subject"] == "new.deliver"
        (msg,) = await new.wait(1)  # the unacked message follows the consumer
        assert ack_tokens(msg.reply)[:2] == (2, 1)
    await nc.close()
