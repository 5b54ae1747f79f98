"""Ack bodies and ack policies on both servers: -NAK (with delays), +WPI, +TERM, AckAll, AckNone,
max_deliver, backoff, and the advisories and ack samples they publish."""

from __future__ import annotations

import json
import time

import nats.errors
import pytest

from schemas import subjects
from tests.jetstream.consumer_support import (
    Inbox,
    ack_tokens,
    add_stream,
    checked,
    connect,
    counters,
    create,
    info,
    status,
)

MS = 1_000_000


async def _setup(nc, n: int = 1, **config):
    await add_stream(nc)
    for i in range(n):
        await nc.request("orders.x", b"m%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", **config})


async def _pull(nc, batch: int = 1, expires: int = 3_000 * MS) -> list:
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": batch, "expires": expires})
        return await inbox.wait(batch)


class Events(Inbox):
    """Every advisory and metric, each checked against its schema."""

    def __init__(self, nc) -> None:
        super().__init__(nc, "$JS.EVENT.>")

    def of(self, kind: str) -> list[dict]:
        docs = [checked(json.loads(m.data)) for m in self.msgs if "ADVISORY.API" not in m.subject]
        return [d for d in docs if d["type"].endswith("." + kind)]

    async def wait_kind(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.of(kind)) < count:
            assert time.monotonic() < deadline, f"no {kind} event: {[m.subject for m in self.msgs]}"
            await self.nc.flush()
        return self.of(kind)


async def test_nak_redelivers_at_once_and_advises(server):
    nc = await connect(server)
    await _setup(nc)
    async with Events(nc) as events:
        (msg,) = await _pull(nc)
        await nc.request(msg.reply, b"-NAK", timeout=2)
        (again,) = await _pull(nc, expires=500 * MS)
        assert ack_tokens(again.reply) == (2, 1, 2, 0)
        (nak,) = await events.wait_kind("nak")
    assert {k: nak[k] for k in ("stream", "consumer", "consumer_seq", "stream_seq", "deliveries")} == {
        "stream": "ORDERS",
        "consumer": "d",
        "consumer_seq": 1,
        "stream_seq": 1,
        "deliveries": 1,
    }
    await nc.close()


async def test_nak_with_a_delay(server):
    nc = await connect(server)
    await _setup(nc)
    for body in (b'-NAK {"delay": 300000000}', b"-NAK 300ms"):
        (msg,) = await _pull(nc)
        naked = time.monotonic()
        await nc.request(msg.reply, body, timeout=2)
        (again,) = await _pull(nc)
        assert time.monotonic() - naked >= 0.25, body
        await nc.request(again.reply, b"-NAK", timeout=2)  # back on the queue at once
    await nc.close()


async def test_progress_restarts_the_ack_wait(server):
    nc = await connect(server)
    await _setup(nc, ack_wait=500 * MS)
    (msg,) = await _pull(nc)
    start = time.monotonic()
    for _ in range(3):  # keep it alive for well over one ack wait
        await nc.request(msg.reply, b"+WPI", timeout=2)
        deadline = time.monotonic() + 0.25
        while time.monotonic() < deadline:
            await nc.flush()
    assert time.monotonic() - start > 0.6
    assert counters(await info(nc, "ORDERS", "d"))[2:4] == (1, 0)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "no_wait": True})
        (none,) = await inbox.wait(1)
    assert status(none) == ("404", "No Messages")  # not redelivered while in progress
    await nc.close()


async def test_term_stops_redelivery_and_advises_the_reason(server):
    nc = await connect(server)
    await _setup(nc, ack_wait=200 * MS)
    async with Events(nc) as events:
        (msg,) = await _pull(nc)
        reply = await nc.request(msg.reply, b"+TERM bad data", timeout=2)
        assert reply.data == b""
        (term,) = await events.wait_kind("terminated")
    assert (term["reason"], term["stream_seq"], term["deliveries"]) == ("bad data", 1, 1)
    assert counters(await info(nc, "ORDERS", "d")) == ((1, 1), (1, 1), 0, 0, 0, 0)
    await nc.close()


async def test_ack_all_acks_everything_below(server):
    nc = await connect(server)
    await _setup(nc, 5, ack_policy="all")
    msgs = await _pull(nc, 4)
    await nc.request(msgs[2].reply, b"+ACK", timeout=2)
    assert counters(await info(nc, "ORDERS", "d")) == ((4, 4), (3, 3), 1, 0, 0, 1)
    await nc.request(msgs[0].reply, b"+ACK", timeout=2)  # below the floor: nothing changes
    assert counters(await info(nc, "ORDERS", "d")) == ((4, 4), (3, 3), 1, 0, 0, 1)
    await nc.close()


async def test_ack_none_moves_the_floor_with_deliveries(server):
    nc = await connect(server)
    await _setup(nc, 3, ack_policy="none")
    msgs = await _pull(nc, 2)
    assert [ack_tokens(m.reply) for m in msgs] == [(1, 1, 1, 2), (1, 2, 2, 1)]
    assert counters(await info(nc, "ORDERS", "d")) == ((2, 2), (2, 2), 0, 0, 0, 1)
    await nc.close()


async def test_max_deliver_drops_the_message_and_advises(server):
    nc = await connect(server)
    await _setup(nc, 1, ack_wait=200 * MS, max_deliver=2)
    async with Events(nc) as events:
        (first,) = await _pull(nc)
        (second,) = await _pull(nc)
        assert [ack_tokens(m.reply)[0] for m in (first, second)] == [1, 2]
        async with Inbox(nc) as inbox:  # a third delivery never comes
            await inbox.pull("ORDERS", "d", {"batch": 1, "expires": 700 * MS})
            (timeout,) = await inbox.wait(1)
        assert status(timeout) == ("408", "Request Timeout")
        (advisory,) = await events.wait_kind("max_deliver")
    assert (advisory["stream_seq"], advisory["deliveries"]) == (1, 2)
    # dropped from pending, still counted as redelivered; the floor stays where it was
    assert counters(await info(nc, "ORDERS", "d")) == ((2, 1), (0, 0), 0, 1, 0, 0)
    await nc.close()


async def test_backoff_spaces_redeliveries(server):
    nc = await connect(server)
    await _setup(nc, 1, backoff=[100 * MS, 600 * MS], max_deliver=4)
    (first,) = await _pull(nc)
    t0 = time.monotonic()
    (second,) = await _pull(nc)
    t1 = time.monotonic()
    (third,) = await _pull(nc)
    t2 = time.monotonic()
    assert [ack_tokens(m.reply)[0] for m in (first, second, third)] == [1, 2, 3]
    assert t1 - t0 < 0.5 <= t2 - t1
    await nc.close()


async def test_ack_samples(server):
    nc = await connect(server)
    await _setup(nc, 2, sample_freq="100%")
    async with Events(nc) as events:
        for msg in await _pull(nc, 2):
            await nc.request(msg.reply, b"+ACK", timeout=2)
        samples = await events.wait_kind("consumer_ack", 2)
    assert [(s["stream_seq"], s["consumer_seq"], s["deliveries"]) for s in samples] == [(1, 1, 1), (2, 2, 1)]
    assert all(s["ack_time"] > 0 for s in samples)
    await nc.close()


async def test_consumer_create_and_delete_advisories(server):
    nc = await connect(server)
    await add_stream(nc)
    async with Events(nc) as events:
        await create(nc, "ORDERS", {"durable_name": "d"})
        await nc.request(subjects.consumer_delete("ORDERS", "d"), b"", timeout=2)
        actions = await events.wait_kind("consumer_action", 2)
    assert [(a["stream"], a["consumer"], a["action"]) for a in actions] == [
        ("ORDERS", "d", "create"),
        ("ORDERS", "d", "delete"),
    ]
    await nc.close()


async def test_ack_sync_to_a_deleted_consumer_has_no_responders(server):
    nc = await connect(server)
    await _setup(nc)
    (msg,) = await _pull(nc)
    await nc.request(subjects.consumer_delete("ORDERS", "d"), b"", timeout=2)
    with pytest.raises(nats.errors.NoRespondersError):
        await nc.request(msg.reply, b"+ACK", timeout=2)
    await nc.close()
