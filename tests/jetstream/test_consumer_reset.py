"""Consumer reset (2.14) on both servers: `$JS.API.CONSUMER.RESET.<s>.<c>` back to the ack floor
or to a sequence, the deliver policies that allow it, the errors, and silence for a missing
consumer (the consumer itself answers, as nats-server 2.15.1 does)."""

from __future__ import annotations

import json

import nats
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
)

MS = 1_000_000


async def _reset(nc, body=b"", consumer: str = "d") -> dict:
    return await api(nc, subjects.consumer_reset("ORDERS", consumer), body)


async def _stream_with(nc, n: int) -> None:
    await add_stream(nc, storage="file")
    for i in range(n):
        await nc.request("orders.x", b"%d" % i, timeout=2)


async def _pull(nc, n: int, consumer: str = "d") -> list:
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", consumer, {"batch": n, "expires": 2_000 * MS})
        return await inbox.wait(n)


async def test_reset_to_the_ack_floor_redelivers_from_there(server):
    nc = await connect(server)
    await _stream_with(nc, 6)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    msgs = await _pull(nc, 4)
    for msg in (msgs[0], msgs[1], msgs[3]):
        await nc.request(msg.reply, b"", timeout=2)
    doc = await _reset(nc)
    assert doc["type"] == "io.nats.jetstream.api.v1.consumer_reset_response"
    assert (doc["reset_seq"], doc["name"]) == (3, "d")
    assert counters(doc) == ((0, 2), (0, 2), 0, 0, 0, 4)
    assert "last_active" not in doc["delivered"] and "last_active" not in doc["ack_floor"]
    (again,) = await _pull(nc, 1)
    assert ack_tokens(again.reply)[:3] == (1, 3, 1)  # first delivery, stream 3, consumer seq 1
    await nc.close()


async def test_reset_to_a_sequence_and_past_the_end(server):
    nc = await connect(server)
    await _stream_with(nc, 6)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    doc = await _reset(nc, {"seq": 5, "ignored": True})  # decoded leniently: unknown keys pass
    assert (doc["reset_seq"], counters(doc)) == (5, ((0, 4), (0, 4), 0, 0, 0, 2))
    doc = await _reset(nc, {"seq": 100})
    assert (doc["reset_seq"], counters(doc)) == (100, ((0, 99), (0, 99), 0, 0, 0, 0))
    await nc.close()


async def test_reset_persists_over_a_restart(server):
    nc = await connect(server)
    await _stream_with(nc, 6)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    await _pull(nc, 3)
    await _reset(nc, {"seq": 2})
    await nc.close()
    server.restart()
    nc = await connect(server)
    assert counters(await info(nc, "ORDERS", "d")) == ((0, 1), (0, 1), 0, 0, 0, 5)
    (msg,) = await _pull(nc, 1)
    assert msg.data == b"1"
    await nc.close()


@pytest.mark.parametrize(
    ("config", "body", "code", "text"),
    [
        (
            {},
            b"{bad",
            10025,
            "invalid JSON: invalid character 'b' looking for beginning of object key string",
        ),
        ({}, b"hello", 10025, "invalid JSON: invalid character 'h' looking for beginning of value"),
        (
            {},
            {"seq": "1"},
            10025,
            "invalid JSON: json: cannot unmarshal string into Go struct field JSApiConsumerResetRequest.seq"
            " of type uint64",
        ),
        (
            {},
            {"seq": -1},
            10025,
            "invalid JSON: json: cannot unmarshal number -1 into Go struct field"
            " JSApiConsumerResetRequest.seq of type uint64",
        ),
        ({"deliver_policy": "new"}, {"seq": 2}, 10204, "invalid reset: not allowed"),
        ({"deliver_policy": "last"}, {"seq": 2}, 10204, "invalid reset: not allowed"),
        (
            {"deliver_policy": "by_start_sequence", "opt_start_seq": 3},
            {"seq": 2},
            10204,
            "invalid reset: below start seq",
        ),
    ],
)
async def test_reset_errors(server, config, body, code, text):
    nc = await connect(server)
    await _stream_with(nc, 3)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", **config})
    doc = await _reset(nc, body)
    assert (doc["error"]["err_code"], doc["error"]["description"], doc["reset_seq"]) == (code, text, 0)
    await nc.close()


async def test_policies_that_allow_a_sequence(server):
    nc = await connect(server)
    await _stream_with(nc, 6)
    config = {"durable_name": "s", "ack_policy": "explicit"}
    await create(nc, "ORDERS", {**config, "deliver_policy": "by_start_sequence", "opt_start_seq": 3})
    assert (await _reset(nc, {"seq": 4}, "s"))["reset_seq"] == 4
    await create(nc, "ORDERS", {"durable_name": "n", "ack_policy": "explicit", "deliver_policy": "new"})
    doc = await _reset(nc, b"", "n")  # back to the ack floor is always allowed
    assert (doc["reset_seq"], doc["num_pending"]) == (7, 0)
    await create(nc, "ORDERS", {"durable_name": "p", "deliver_subject": "nobody.here"})
    assert (await _reset(nc, {"seq": 2}, "p"))["num_pending"] == 5  # push consumers too
    await nc.close()


async def test_a_missing_consumer_or_stream_gets_no_answer(server):
    nc = await connect(server)
    await _stream_with(nc, 1)
    for subject in (subjects.consumer_reset("ORDERS", "nope"), subjects.consumer_reset("NOPE", "d")):
        with pytest.raises(nats.errors.TimeoutError):
            await nc.request(subject, json.dumps({}).encode(), timeout=0.3)
    await nc.close()
