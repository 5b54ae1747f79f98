"""Consumer timers driven by a ManualClock: ack wait, backoff, NAK delays, pull expiry, idle
heartbeats and inactivity deletes happen when the clock is moved, with no waiting (devserver)."""

from __future__ import annotations

from schemas import subjects
from tests.jetstream.consumer_support import Inbox, ack_tokens, add_stream, create, info, status

SECOND = 1_000_000_000


async def _one(nc, body) -> object:
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", body)
        (msg,) = await inbox.wait(1)
    return msg


async def test_ack_wait_redelivery_follows_the_clock(clocked):
    nc = clocked.nc
    await add_stream(nc)
    await nc.request("orders.x", b"x", timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    first = await _one(nc, {"batch": 1, "no_wait": True})
    await clocked.advance(29)
    assert status(await _one(nc, {"batch": 1, "no_wait": True})) == ("404", "No Messages")
    await clocked.advance(1.1)  # 30 s ack wait (+1 ms) has run out
    again = await _one(nc, {"batch": 1, "no_wait": True})
    assert (ack_tokens(first.reply)[:3], ack_tokens(again.reply)[:3]) == ((1, 1, 1), (2, 1, 2))


async def test_backoff_steps(clocked):
    nc = clocked.nc
    await add_stream(nc)
    await nc.request("orders.x", b"x", timeout=2)
    config = {"durable_name": "d", "ack_policy": "explicit", "backoff": [10 * SECOND, 60 * SECOND]}
    await create(nc, "ORDERS", config)
    await _one(nc, {"batch": 1, "no_wait": True})
    await clocked.advance(10.1)
    assert ack_tokens((await _one(nc, {"batch": 1, "no_wait": True})).reply)[0] == 2
    await clocked.advance(30)
    assert status(await _one(nc, {"batch": 1, "no_wait": True}))[0] == "404"
    await clocked.advance(31)
    assert ack_tokens((await _one(nc, {"batch": 1, "no_wait": True})).reply)[0] == 3


async def test_nak_delay_and_progress(clocked):
    nc = clocked.nc
    await add_stream(nc)
    await nc.request("orders.x", b"x", timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    msg = await _one(nc, {"batch": 1, "no_wait": True})
    await nc.request(msg.reply, b"-NAK 10s", timeout=2)
    await clocked.advance(9)
    assert status(await _one(nc, {"batch": 1, "no_wait": True}))[0] == "404"
    await clocked.advance(2)
    again = await _one(nc, {"batch": 1, "no_wait": True})
    for _ in range(3):  # +WPI keeps it from redelivery well past one ack wait
        await clocked.advance(20)
        await nc.request(again.reply, b"+WPI", timeout=2)
    assert status(await _one(nc, {"batch": 1, "no_wait": True}))[0] == "404"


async def test_pull_expiry_and_heartbeats(clocked):
    nc = clocked.nc
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 2, "expires": 12 * SECOND, "idle_heartbeat": 5 * SECOND})
        await clocked.advance(5)
        await clocked.advance(5)
        await clocked.advance(2)
        msgs = await inbox.wait(3)
    assert [status(m) for m in msgs] == [
        ("100", "Idle Heartbeat"),
        ("100", "Idle Heartbeat"),
        ("408", "Request Timeout"),
    ]
    assert msgs[2].headers["Nats-Pending-Messages"] == "2"


async def test_push_heartbeats_and_inactivity(clocked):
    nc = clocked.nc
    await add_stream(nc)
    async with Inbox(nc, "hb.here") as inbox:
        config = {"name": "p", "deliver_subject": "hb.here", "idle_heartbeat": 5 * SECOND}
        await create(nc, "ORDERS", config)
        await clocked.advance(5)
        (beat,) = await inbox.wait(1)
    assert status(beat) == ("100", "Idle Heartbeat")
    await clocked.advance(1)  # nobody listens now: an ephemeral goes after 5 s
    await clocked.advance(5.1)
    assert (await info(nc, "ORDERS", "p"))["error"]["err_code"] == 10014


async def test_push_starts_when_someone_listens(clocked):
    """Interest in the deliver subject is noticed when the SUB arrives, with no time passing."""
    nc = clocked.nc
    await add_stream(nc)
    await nc.request("orders.x", b"x", timeout=2)
    await create(nc, "ORDERS", {"name": "p", "deliver_subject": "late.listener"})
    async with Inbox(nc, "late.listener") as inbox:
        (msg,) = await inbox.wait(1)
        assert (await info(nc, "ORDERS", "p"))["push_bound"] is True
    assert msg.data == b"x"
    await nc.flush()
    assert "push_bound" not in await info(nc, "ORDERS", "p")


async def test_idle_ephemeral_pull_consumer_is_deleted(clocked):
    nc = clocked.nc
    await add_stream(nc)
    created = await create(nc, "ORDERS", {"ack_policy": "explicit"})
    name = created["name"]
    await clocked.advance(4)
    assert "error" not in await info(nc, "ORDERS", name)
    await clocked.advance(2.1)  # 5 s default, plus up to 1 s of jitter
    assert (await info(nc, "ORDERS", name))["error"]["err_code"] == 10014
    names = await nc.request(subjects.consumer_names("ORDERS"), b"", timeout=2)
    assert b'"consumers":[]' in names.data
