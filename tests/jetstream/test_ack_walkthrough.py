"""The seed's ack walkthroughs, step by step, with the exact counters on both servers.

The seed ("Acknowledgement Models") was written against the JetStream preview, whose CLI showed
the *next* consumer sequence as "Last Delivered"; servers since 2.2 report the last delivered
one, so its "Consumer sequence: 2 Stream sequence: 2" is delivered (1, 1) here. The ack floors,
pending and redelivered counts are the seed's. The second walkthrough is the reference's
(section 5.10), observed on nats-server 2.15.1.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from schemas import subjects
from tests.jetstream.consumer_support import (
    Inbox,
    ack_tokens,
    add_stream,
    api,
    connect,
    counters,
    create,
    info,
    status,
)

ACK_WAIT = 400_000_000  # short, so a redelivery takes a moment on both servers


async def _until(deadline: float) -> None:
    """Let the clock pass a deadline (an ack wait running out is the condition itself)."""
    while time.monotonic() < deadline:
        await asyncio.sleep(deadline - time.monotonic())


async def _ack_sync(nc, msg) -> None:
    """A double ack: the server answers once the ack is recorded."""
    await nc.request(msg.reply, b"+ACK", timeout=2)


async def test_seed_acknowledgement_models_walkthrough(server):
    nc = await connect(server)
    await add_stream(nc, "ORDERS", subjects=["ORDERS.*"])
    config = {
        "durable_name": "DISPATCH",
        "filter_subject": "ORDERS.processed",
        "ack_policy": "explicit",
        "ack_wait": ACK_WAIT,
        "max_deliver": 20,
        "sample_freq": "100",
    }
    created = await create(nc, "ORDERS", config)
    assert counters(created) == ((0, 0), (0, 0), 0, 0, 0, 0)

    # "nats pub ORDERS.processed 'order 4'" then "nats con next" (which acks)
    await nc.request("ORDERS.processed", b"order 4", timeout=2)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "DISPATCH", {"batch": 1, "expires": 2_000_000_000})
        (msg,) = await inbox.wait(1)
    assert (msg.subject, msg.data) == ("ORDERS.processed", b"order 4")
    assert ack_tokens(msg.reply) == (1, 1, 1, 0)
    await _ack_sync(nc, msg)
    assert counters(await info(nc, "ORDERS", "DISPATCH")) == ((1, 1), (1, 1), 0, 0, 0, 0)

    # "order 5", fetched without an ack: one message pending acknowledgement
    await nc.request("ORDERS.processed", b"order 5", timeout=2)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "DISPATCH", {"batch": 1, "expires": 2_000_000_000})
        (msg,) = await inbox.wait(1)
    assert ack_tokens(msg.reply) == (1, 2, 2, 0)
    assert counters(await info(nc, "ORDERS", "DISPATCH")) == ((2, 2), (1, 1), 1, 0, 0, 0)

    # fetched again once the ack wait ran out, still no ack: a redelivery, new consumer sequence
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "DISPATCH", {"batch": 1, "expires": 3_000_000_000})
        (msg,) = await inbox.wait(1)
    assert msg.data == b"order 5"
    assert ack_tokens(msg.reply) == (2, 2, 3, 0)
    assert counters(await info(nc, "ORDERS", "DISPATCH")) == ((3, 2), (1, 1), 1, 1, 0, 0)

    # and once more, acked this time: nothing pending, nothing redelivered
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "DISPATCH", {"batch": 1, "expires": 3_000_000_000})
        (msg,) = await inbox.wait(1)
    assert ack_tokens(msg.reply) == (3, 2, 4, 0)
    await _ack_sync(nc, msg)
    assert counters(await info(nc, "ORDERS", "DISPATCH")) == ((4, 2), (4, 2), 0, 0, 0, 0)
    await nc.close()


async def test_reference_walkthrough_five_orders(server):
    nc = await connect(server)
    await add_stream(nc, "ORDERS", subjects=["orders.>"])
    for i in range(5):
        ack = await nc.request(f"orders.{i}", b"x", timeout=2)
        assert ack.data == b'{"stream":"ORDERS","seq":%d}' % (i + 1)
    await create(nc, "ORDERS", {"durable_name": "worker", "ack_policy": "explicit", "ack_wait": ACK_WAIT})
    assert counters(await info(nc, "ORDERS", "worker")) == ((0, 0), (0, 0), 0, 0, 0, 5)

    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "worker", {"batch": 2, "no_wait": True})
        first, second = await inbox.wait(2)
        assert [ack_tokens(m.reply) for m in (first, second)] == [(1, 1, 1, 4), (1, 2, 2, 3)]
        assert len(await inbox.settle()) == 2  # the batch was filled: no trailing status
    await nc.request(first.reply, b"", timeout=2)
    await nc.request(second.reply, b"+ACK", timeout=2)
    assert counters(await info(nc, "ORDERS", "worker")) == ((2, 2), (2, 2), 0, 0, 0, 3)

    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "worker", {"batch": 2, "no_wait": True})
        got = await inbox.wait(2)
    delivered_at = time.monotonic()
    assert [ack_tokens(m.reply) for m in got] == [(1, 3, 3, 2), (1, 4, 4, 1)]
    assert counters(await info(nc, "ORDERS", "worker")) == ((4, 4), (2, 2), 2, 0, 0, 1)

    # once the ack wait has run out nothing is sent until asked; then redeliveries come first
    await _until(delivered_at + ACK_WAIT / 1e9 + 0.05)
    assert counters(await info(nc, "ORDERS", "worker")) == ((4, 4), (2, 2), 2, 0, 0, 1)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "worker", {"batch": 3, "expires": 3_000_000_000})
        got = await inbox.wait(3)
    assert [ack_tokens(m.reply) for m in got] == [(2, 3, 5, 1), (2, 4, 6, 1), (1, 5, 7, 0)]
    assert counters(await info(nc, "ORDERS", "worker")) == ((7, 5), (2, 2), 3, 2, 0, 0)

    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "worker", {"batch": 5, "no_wait": True})
        (msg,) = await inbox.wait(1)
    assert status(msg) == ("404", "No Messages")
    assert counters(await info(nc, "ORDERS", "worker")) == ((7, 5), (2, 2), 3, 2, 0, 0)
    await nc.close()


@pytest.mark.parametrize("body", [b"", b"+ACK"])
async def test_double_ack_is_answered_with_an_empty_message(server, body):
    nc = await connect(server)
    await add_stream(nc)
    await nc.request("orders.1", b"x", timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "no_wait": True})
        (msg,) = await inbox.wait(1)
    reply = await nc.request(msg.reply, body, timeout=2)
    assert reply.data == b"" and not reply.headers
    # acking again (already acked) is still answered
    again = await nc.request(msg.reply, body, timeout=2)
    assert again.data == b""
    doc = await api(nc, subjects.consumer_info("ORDERS", "d"))
    assert counters(doc) == ((1, 1), (1, 1), 0, 0, 0, 0)
    await nc.close()
