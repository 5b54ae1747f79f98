"""Pull consumers on both servers: batches, expiry, no_wait, max_bytes, heartbeats and statuses.

The status lines, their headers and the ack subjects are the ones nats-server 2.15.1 sends.
"""

from __future__ import annotations

import json

import nats.errors
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
    wait_for,
)
from tests.wire import Wire

MS = 1_000_000


async def _filled(nc, n: int = 3, subject: str = "orders.x") -> None:
    await add_stream(nc)
    for i in range(n):
        await nc.request(subject, b"m%d" % i, timeout=2)


async def test_status_frame_on_the_wire(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    await nc.close()
    wire = Wire(server.port)
    body = b'{"no_wait": true}'
    pull = b"PUB $JS.API.CONSUMER.MSG.NEXT.ORDERS.d inbox.1 %d\r\n%b\r\n" % (len(body), body)
    wire.send(b"SUB inbox.1 9\r\n" + pull)
    assert wire.read_until(b"\r\n\r\n\r\n") == b"HMSG inbox.1 9 28 28\r\nNATS/1.0 404 No Messages\r\n\r\n\r\n"
    wire.close()


async def test_batch_and_no_wait(server):
    nc = await connect(server)
    await _filled(nc, 3)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 5, "no_wait": True})
        msgs = await inbox.wait(4)
    assert [m.data for m in msgs[:3]] == [b"m0", b"m1", b"m2"]
    assert [ack_tokens(m.reply) for m in msgs[:3]] == [(1, 1, 1, 2), (1, 2, 2, 1), (1, 3, 3, 0)]
    assert msgs[0].subject == "orders.x"
    assert status(msgs[3]) == ("404", "No Messages")
    async with Inbox(nc) as inbox:  # a plain number is a batch size
        await nc.request("orders.x", b"m3", timeout=2)
        await inbox.pull("ORDERS", "d", b"1")
        (msg,) = await inbox.wait(1)
    assert msg.data == b"m3"
    await nc.close()


async def test_expiry_answers_408_with_what_is_left(server):
    nc = await connect(server)
    await _filled(nc, 1)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 3, "expires": 200 * MS})
        msgs = await inbox.wait(2)
    assert msgs[0].data == b"m0"
    assert status(msgs[1]) == ("408", "Request Timeout")
    assert msgs[1].headers["Nats-Pending-Messages"] == "2"
    assert msgs[1].headers["Nats-Pending-Bytes"] == "0"
    await nc.close()


async def test_max_bytes_ends_requests_with_409s(server):
    nc = await connect(server)
    await _filled(nc, 2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "max_bytes": 10})
        (msg,) = await inbox.wait(1)
    assert status(msg) == ("409", "Message Size Exceeds MaxBytes")
    assert (msg.headers["Nats-Pending-Messages"], msg.headers["Nats-Pending-Bytes"]) == ("1", "10")
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "max_bytes": 1000})
        first, done = await inbox.wait(2)
    size = len("orders.x") + len(first.reply) + len(first.data)
    assert status(done) == ("409", "Batch Completed")
    left = (done.headers["Nats-Pending-Messages"], done.headers["Nats-Pending-Bytes"])
    assert left == ("0", str(1000 - size))
    await nc.close()


async def test_request_limits_and_bad_requests(server):
    nc = await connect(server)
    await add_stream(nc)
    config = {
        "durable_name": "d",
        "ack_policy": "explicit",
        "max_batch": 2,
        "max_expires": 1_000 * MS,
        "max_bytes": 100,
        "max_waiting": 1,
    }
    await create(nc, "ORDERS", config)
    too_large = ("400", "Bad Request - heartbeat value too large")
    cases = [
        ({"batch": 3}, ("409", "Exceeded MaxRequestBatch of 2")),
        ({"batch": 1, "expires": 2_000 * MS}, ("409", "Exceeded MaxRequestExpires of 1s")),
        ({"batch": 1, "max_bytes": 101}, ("409", "Exceeded MaxRequestMaxBytes of 100")),
        (b"{bad", ("400", "Bad Request - invalid character 'b' looking for beginning of object key string")),
        ({"batch": 1, "expires": 100 * MS, "idle_heartbeat": 60 * MS}, too_large),
        ({"batch": 1, "idle_heartbeat": 60 * MS}, too_large),
    ]
    for body, expected in cases:
        async with Inbox(nc) as inbox:
            await inbox.pull("ORDERS", "d", body)
            (msg,) = await inbox.wait(1)
        assert status(msg) == expected, body
    async with Inbox(nc) as waiting, Inbox(nc) as refused:
        await waiting.pull("ORDERS", "d", {"batch": 1, "expires": 1_000 * MS})
        await refused.pull("ORDERS", "d", {"batch": 1, "expires": 1_000 * MS})
        (msg,) = await refused.wait(1)
        assert status(msg) == ("409", "Exceeded MaxWaiting")
        assert (await info(nc, "ORDERS", "d"))["num_waiting"] == 1
    await nc.close()


async def test_requests_pending_when_earlier_requests_claim_everything(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", "max_ack_pending": 1})
    await nc.request("orders.x", b"a", timeout=2)
    await nc.request("orders.x", b"b", timeout=2)
    async with Inbox(nc) as first, Inbox(nc) as second, Inbox(nc) as third:
        await first.pull("ORDERS", "d", {"batch": 1, "expires": 2_000 * MS})
        (msg,) = await first.wait(1)  # holds the only ack-pending slot
        await second.pull("ORDERS", "d", {"batch": 5, "expires": 2_000 * MS})
        await third.pull("ORDERS", "d", {"batch": 1, "no_wait": True})
        (refused,) = await third.wait(1)
        assert status(refused) == ("408", "Requests Pending")
        assert counters(await info(nc, "ORDERS", "d"))[2:5] == (1, 0, 1)
        await nc.request(msg.reply, b"", timeout=2)  # the ack frees the slot for the waiting one
        (got,) = await second.wait(1)
        assert got.data == b"b"
    await nc.close()


async def test_idle_heartbeats_for_a_waiting_request(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "expires": 2_000 * MS, "idle_heartbeat": 100 * MS})
        beat, *_ = await inbox.wait(1)
    assert status(beat) == ("100", "Idle Heartbeat")
    assert (beat.headers["Nats-Last-Consumer"], beat.headers["Nats-Last-Stream"]) == ("0", "0")
    await nc.close()


async def test_push_consumer_and_missing_consumer_answers(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "p", "deliver_subject": "push.p"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "p", {"batch": 1})
        (msg,) = await inbox.wait(1)
    assert status(msg) == ("409", "Consumer is push based")
    with pytest.raises(nats.errors.NoRespondersError):
        await nc.request(subjects.consumer_msg_next("ORDERS", "nope"), b"", timeout=2)
    with pytest.raises(nats.errors.NoRespondersError):
        await nc.request(subjects.consumer_msg_next("NOPE", "nope"), b"", timeout=2)
    await nc.close()


async def test_deleting_a_consumer_releases_waiting_requests(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "expires": 5_000 * MS})
        await wait_for(lambda: _num_waiting(nc, 1))
        await api(nc, subjects.consumer_delete("ORDERS", "d"))
        (msg,) = await inbox.wait(1)
    assert status(msg) == ("409", "Consumer Deleted")
    await nc.close()


async def _num_waiting(nc, n: int) -> bool:
    return (await info(nc, "ORDERS", "d"))["num_waiting"] == n


async def test_waiting_requests_share_messages_round_robin(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "none"})
    async with Inbox(nc) as a, Inbox(nc) as b:
        await a.pull("ORDERS", "d", {"batch": 2, "expires": 2_000 * MS})
        await b.pull("ORDERS", "d", {"batch": 2, "expires": 2_000 * MS})
        await wait_for(lambda: _num_waiting(nc, 2))
        for i in range(4):
            await nc.request("orders.x", b"%d" % i, timeout=2)
        got_a, got_b = await a.wait(2), await b.wait(2)
    assert ([m.data for m in got_a], [m.data for m in got_b]) == ([b"0", b"2"], [b"1", b"3"])
    await nc.close()


async def test_ack_next_pulls_to_the_ack_reply(server):
    nc = await connect(server)
    await _filled(nc, 2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "no_wait": True})
        (first,) = await inbox.wait(1)
        await nc.publish(first.reply, b"+NXT", reply=inbox.subject)
        _, second = await inbox.wait(2)
    assert second.data == b"m1"
    assert counters(await info(nc, "ORDERS", "d"))[:3] == ((2, 2), (1, 1), 1)
    await nc.close()


async def test_seed_next_alias_is_served_by_devserver_only(server):
    nc = await connect(server)
    await _filled(nc, 1)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    subject = subjects.next_alias("ORDERS", "d")
    if server.is_real:  # nats-server dropped the preview's subject
        with pytest.raises(nats.errors.NoRespondersError):
            await nc.request(subject, b"", timeout=2)
    else:  # a request mux cannot match the reply: it carries the stream subject
        async with Inbox(nc) as inbox:
            await nc.publish(subject, b"", reply=inbox.subject)
            (msg,) = await inbox.wait(1)
        assert (msg.subject, msg.data) == ("orders.x", b"m0")
    await nc.close()


async def test_headers_only_and_filters(server):
    nc = await connect(server)
    await add_stream(nc)
    await nc.publish("orders.a", b"hello", headers={"Foo": "bar"})
    await nc.request("orders.b", b"12345678", timeout=2)
    await nc.request("orders.c", b"x", timeout=2)
    config = {"durable_name": "h", "headers_only": True, "filter_subjects": ["orders.a", "orders.b"]}
    await create(nc, "ORDERS", config)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "h", {"batch": 3, "no_wait": True})
        a, b, end = await inbox.wait(3)
    assert (a.subject, a.data, a.headers) == ("orders.a", b"", {"Foo": "bar", "Nats-Msg-Size": "5"})
    assert (b.subject, b.data, b.headers) == ("orders.b", b"", {"Nats-Msg-Size": "8"})
    assert status(end) == ("404", "No Messages")
    assert (await info(nc, "ORDERS", "h"))["num_pending"] == 0
    await nc.close()


DELIVER_POLICIES = [
    ({"deliver_policy": "all"}, [b"a1", b"b1", b"a2", b"b2"]),
    ({"deliver_policy": "last"}, [b"b2"]),
    ({"deliver_policy": "last", "filter_subject": "orders.a"}, [b"a2"]),
    ({"deliver_policy": "new"}, []),
    ({"deliver_policy": "by_start_sequence", "opt_start_seq": 3}, [b"a2", b"b2"]),
    ({"deliver_policy": "last_per_subject", "filter_subject": "orders.*"}, [b"a2", b"b2"]),
    ({"deliver_policy": "last_per_subject", "filter_subject": "orders.b"}, [b"b2"]),
]


@pytest.mark.parametrize(("policy", "expected"), DELIVER_POLICIES)
async def test_deliver_policies(server, policy, expected):
    nc = await connect(server)
    await add_stream(nc)
    for data in (b"a1", b"b1", b"a2", b"b2"):
        await nc.request("orders." + data.decode()[0], data, timeout=2)
    created = await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "none", **policy})
    assert created["num_pending"] == len(expected)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 10, "no_wait": True})
        msgs = await inbox.wait(len(expected) + 1)
    assert [m.data for m in msgs[:-1]] == expected
    assert status(msgs[-1]) == ("404", "No Messages")
    await nc.close()


async def test_deliver_by_start_time(server):
    nc = await connect(server)
    await add_stream(nc)
    await nc.request("orders.x", b"old", timeout=2)
    stored = await api(nc, subjects.stream_msg_get("ORDERS"), {"seq": 1})
    await nc.request("orders.x", b"new", timeout=2)
    second = await api(nc, subjects.stream_msg_get("ORDERS"), {"seq": 2})
    start = second["message"]["time"]
    config = {"durable_name": "t", "deliver_policy": "by_start_time", "opt_start_time": start}
    assert stored["message"]["time"] < second["message"]["time"]
    created = await create(nc, "ORDERS", config)
    assert created["num_pending"] == 1
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "t", {"batch": 1, "no_wait": True})
        (msg,) = await inbox.wait(1)
    assert msg.data == b"new"
    await nc.close()


async def test_nats_py_fetch_and_ack(server):
    nc = await connect(server)
    js = nc.jetstream()
    await js.add_stream(name="WORK", subjects=["work.>"])
    for i in range(250):
        await js.publish("work.item", json.dumps(i).encode())
    psub = await js.pull_subscribe("work.item", durable="w", stream="WORK")
    seen = []
    while len(seen) < 250:
        for msg in await psub.fetch(100, timeout=2):
            seen.append(json.loads(msg.data))
            await msg.ack()
    assert seen == list(range(250))
    await nc.flush()
    ci = await js.consumer_info("WORK", "w")
    await wait_for(lambda: _floor(js, 250))
    assert ci.num_pending == 0
    await nc.close()


async def _floor(js, n: int) -> bool:
    ci = await js.consumer_info("WORK", "w")
    return ci.ack_floor.stream_seq == n and ci.num_ack_pending == 0
