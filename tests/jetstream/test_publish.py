"""The publish path on both servers: PubAck bytes, dedupe, expectation headers, rollups, limits."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from schemas import subjects as S
from tests.jetstream.conftest import SECOND

pytestmark = pytest.mark.timeout(60)


# -- the ack on the wire


async def test_pub_ack_bytes(jsapi):
    await jsapi.create("ORDERS")
    assert await jsapi.raw_ack("orders.1") == b'{"stream":"ORDERS","seq":1}'
    headers = {"Nats-Msg-Id": "a"}
    assert await jsapi.raw_ack("orders.1", headers=headers) == b'{"stream":"ORDERS","seq":2}'
    assert (
        await jsapi.raw_ack("orders.1", headers=headers) == b'{"stream":"ORDERS","seq":2,"duplicate": true}'
    )
    expected = (
        b'{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 2"},'
        b'"stream":"ORDERS","seq":0}'
    )
    assert await jsapi.raw_ack("orders.1", headers={"Nats-Expected-Last-Sequence": "1"}) == expected


def raw_exchange(sock: socket.socket, data: bytes, until: bytes = b"PONG\r\n") -> bytes:
    """Send protocol text; what the server sends until `until` has arrived and, since nats-server
    acks from another goroutine, until the reply to a trailing PING too."""
    sock.sendall(data)
    out = b""
    while until not in out or b"PONG\r\n" not in out:
        chunk = sock.recv(65536)
        assert chunk, out
        out += chunk
    return out


async def test_raw_socket_publish_and_silent_store(server, jsapi):
    await jsapi.create("ORDERS")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        connect = b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nPING\r\n'
        assert raw_exchange(sock, connect).startswith(b"INFO ")
        pubs = b"SUB _r 1\r\nPUB orders.a _r 5\r\nhello\r\nPUB orders.b 2\r\nhi\r\nPING\r\n"
        ack = b'MSG _r 1 27\r\n{"stream":"ORDERS","seq":1}\r\n'
        out = await asyncio.to_thread(raw_exchange, sock, pubs, ack)
        assert out.count(b"MSG ") == 1  # no reply subject: stored without an ack
        hpub = b"HPUB orders.c _r 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nxy\r\nPING\r\n"
        await asyncio.to_thread(raw_exchange, sock, hpub, b'{"stream":"ORDERS","seq":3}')
    state = await jsapi.state("ORDERS")
    assert (state["messages"], state["last_seq"], state["num_subjects"]) == (3, 3, 3)


async def test_no_stream_means_no_responders(nc):
    with pytest.raises(NoRespondersError):
        await nc.request("nothing.here", b"x", timeout=1)


async def test_no_ack_streams_stay_silent(jsapi, nc):
    await jsapi.create("NA", no_ack=True)
    with pytest.raises(NatsTimeout):
        await nc.request("na.x", b"x", timeout=0.5)
    assert (await jsapi.state("NA"))["messages"] == 1


async def test_nats_py_publish(server, nc, jsapi):
    await jsapi.create("ORDERS")
    js = nc.jetstream()
    ack = await js.publish("orders.new", b"hello", headers={"Nats-Msg-Id": "1"})
    assert (ack.stream, ack.seq, ack.duplicate) == ("ORDERS", 1, None)
    again = await js.publish("orders.new", b"hello", headers={"Nats-Msg-Id": "1"})
    assert (again.seq, again.duplicate) == (1, True)
    futures = [await js.publish_async("orders.new", f"{i}".encode()) for i in range(50)]
    acks = await asyncio.gather(*futures)
    assert [a.seq for a in acks] == list(range(2, 52))


# -- de-duplication


async def test_msg_id_dedupe(jsapi):
    await jsapi.create("D", duplicate_window=SECOND)
    assert await jsapi.stored("d.a", headers={"Nats-Msg-Id": "1"}) == 1
    dup = await jsapi.publish("d.a", headers={"Nats-Msg-Id": "1"})
    assert (dup["seq"], dup["duplicate"]) == (1, True)
    assert await jsapi.stored("d.a", headers={"Nats-Msg-Id": "2"}) == 2
    assert await jsapi.stored("d.a", headers={"nats-msg-id": "1"}) == 3  # names are case sensitive
    assert (await jsapi.state("D"))["messages"] == 3


async def test_msg_id_window_expires(jsapi, eventually):
    await jsapi.create("D", duplicate_window=200_000_000)
    await jsapi.stored("d.a", headers={"Nats-Msg-Id": "1"})
    await asyncio.sleep(0.3)  # the window is the behaviour under test, not a wait for readiness
    assert await jsapi.stored("d.a", headers={"Nats-Msg-Id": "1"}) == 2


async def test_seed_msg_id_header(jsapi, server):
    """The seed (JetStream preview docs) de-duplicates on `Msg-Id`. nats-server 2.15 only reads
    `Nats-Msg-Id`; devserver honours both on purpose, so the seed's walkthrough works."""
    await jsapi.create("ORDERS")
    seqs = [
        (await jsapi.publish("orders.new", f"hello{i}".encode(), {"Msg-Id": "1"}))["seq"] for i in range(4)
    ]
    if server.is_real:
        assert seqs == [1, 2, 3, 4]
    else:
        assert seqs == [1, 1, 1, 1]


# -- expectation headers


async def test_expected_stream(jsapi):
    await jsapi.create("P")
    await jsapi.rejected("p.a", "JSStreamNotMatchErr", headers={"Nats-Expected-Stream": "Q"})
    assert await jsapi.stored("p.a", headers={"Nats-Expected-Stream": "P"}) == 1


async def test_expected_last_sequence(jsapi):
    await jsapi.create("P")
    assert await jsapi.stored("p.a", headers={"Nats-Expected-Last-Sequence": "0"}) == 1
    await jsapi.rejected(
        "p.a", "JSStreamWrongLastSequenceErrF", headers={"Nats-Expected-Last-Sequence": "0"}, seq=1
    )
    assert await jsapi.stored("p.a", headers={"Nats-Expected-Last-Sequence": "1"}) == 2


async def test_expected_last_subject_sequence(jsapi):
    await jsapi.create("P")
    hdr = "Nats-Expected-Last-Subject-Sequence"
    assert await jsapi.stored("p.b", headers={hdr: "0"}) == 1
    await jsapi.rejected("p.b", "JSStreamWrongLastSequenceErrF", headers={hdr: "0"}, seq=1)
    assert await jsapi.stored("p.a", headers={hdr: "0"}) == 2
    assert await jsapi.stored("p.b", headers={hdr: "1"}) == 3
    other = {hdr: "3", f"{hdr}-Subject": "p.b"}
    assert await jsapi.stored("p.c", headers=other) == 4
    await jsapi.rejected("p.c", "JSStreamExpectedLastSeqPerSubjectInvalid", headers={f"{hdr}-Subject": "p.b"})


async def test_expected_last_msg_id(jsapi):
    await jsapi.create("P")
    await jsapi.rejected(
        "p.a", "JSStreamWrongLastMsgIDErrF", headers={"Nats-Expected-Last-Msg-Id": "x"}, id=""
    )
    await jsapi.stored("p.a", headers={"Nats-Msg-Id": "m1"})
    assert await jsapi.stored("p.a", headers={"Nats-Expected-Last-Msg-Id": "m1"}) == 2
    await jsapi.rejected(
        "p.a", "JSStreamWrongLastMsgIDErrF", headers={"Nats-Expected-Last-Msg-Id": "m1"}, id=""
    )


async def test_check_order(jsapi):
    """Expected-Stream before Expected-Last-Sequence; that before duplicate detection."""
    await jsapi.create("P")
    await jsapi.stored("p.a", headers={"Nats-Msg-Id": "1"})
    both = {"Nats-Expected-Stream": "Q", "Nats-Expected-Last-Sequence": "9"}
    await jsapi.rejected("p.a", "JSStreamNotMatchErr", headers=both)
    dup = {"Nats-Expected-Last-Sequence": "9", "Nats-Msg-Id": "1"}
    await jsapi.rejected("p.a", "JSStreamWrongLastSequenceErrF", headers=dup, seq=1)


async def test_ttl_headers_need_allow_msg_ttl(jsapi):
    await jsapi.create("P")
    await jsapi.rejected("p.a", "JSMessageTTLDisabledErr", headers={"Nats-TTL": "5"})
    await jsapi.rejected("p.a", "JSMessageTTLInvalidErr", headers={"Nats-TTL": "abc"})


# -- rollups


async def test_rollup_sub_and_all(jsapi):
    await jsapi.create("R", allow_rollup_hdrs=True)
    for subject in ("r.a", "r.a", "r.b"):
        await jsapi.stored(subject)
    assert await jsapi.stored("r.a", headers={"Nats-Rollup": "sub"}) == 4
    info = await jsapi.info("R", subjects_filter=">")
    assert info["state"]["subjects"] == {"r.a": 1, "r.b": 1}
    await jsapi.rejected(
        "r.a", "JSStreamRollupFailedF", headers={"Nats-Rollup": "bogus"}, err='rollup value invalid: "bogus"'
    )
    assert await jsapi.stored("r.c", headers={"Nats-Rollup": "all"}) == 5
    state = await jsapi.state("R")
    assert (state["messages"], state["first_seq"]) == (1, 5)


async def test_rollup_needs_permission(jsapi):
    await jsapi.create("P")
    await jsapi.rejected(
        "p.a", "JSStreamRollupFailedF", headers={"Nats-Rollup": "sub"}, err="rollup not permitted"
    )
    await jsapi.create("DP", deny_purge=True)
    await jsapi.rejected(
        "dp.a", "JSStreamRollupFailedF", headers={"Nats-Rollup": "all"}, err="rollup not permitted"
    )


# -- sizes and limits


async def test_max_msg_size(jsapi):
    await jsapi.create("S", max_msg_size=10)
    assert await jsapi.stored("s.a", b"0123456789") == 1
    await jsapi.rejected("s.a", "JSStreamMessageExceedsMaximumErr", b"0123456789x")
    await jsapi.rejected(
        "s.a", "JSStreamMessageExceedsMaximumErr", b"01", headers={"A": "b"}
    )  # headers count
    # the size check comes before the header rules
    await jsapi.rejected(
        "s.a", "JSStreamMessageExceedsMaximumErr", b"0123456789x", headers={"Nats-Expected-Stream": "Q"}
    )


async def test_discard_old_limits(jsapi):
    await jsapi.create("L1", max_msgs=3)
    for subject in ("l1.a", "l1.a", "l1.b", "l1.c"):
        await jsapi.stored(subject)
    state = await jsapi.state("L1")
    assert (state["messages"], state["first_seq"], state["last_seq"]) == (3, 2, 4)
    await jsapi.create("L4", max_bytes=100)
    for _ in range(3):
        await jsapi.stored("l4.a", b"x" * 40)
    state = await jsapi.state("L4")
    assert (state["messages"], state["bytes"], state["first_seq"]) == (1, 74, 3)
    await jsapi.create("L5", max_msgs_per_subject=2)
    for subject in ("l5.a", "l5.a", "l5.a", "l5.b"):
        await jsapi.stored(subject)
    info = await jsapi.info("L5", subjects_filter=">")
    assert info["state"]["subjects"] == {"l5.a": 2, "l5.b": 1}
    assert info["state"]["first_seq"] == 2


async def test_discard_new_limits(jsapi):
    await jsapi.create("L2", max_msgs=2, discard="new")
    await jsapi.stored("l2.a")
    await jsapi.stored("l2.a")
    await jsapi.rejected("l2.b", "JSStreamStoreFailedF", err="maximum messages exceeded")
    await jsapi.create("L3", max_bytes=100, discard="new")
    await jsapi.stored("l3.a", b"x" * 40)
    await jsapi.rejected("l3.a", "JSStreamStoreFailedF", b"x" * 40, err="maximum bytes exceeded")


async def test_discard_new_replaces_at_the_per_subject_limit(jsapi):
    await jsapi.create("L7", max_msgs_per_subject=1, max_msgs=2, discard="new")
    for subject in ("l7.a", "l7.b", "l7.a"):  # the third replaces l7.a, the count stays 2
        await jsapi.stored(subject)
    await jsapi.rejected("l7.c", "JSStreamStoreFailedF", err="maximum messages exceeded")


async def test_discard_new_per_subject(jsapi):
    await jsapi.create(
        "L6", max_msgs_per_subject=1, discard="new", discard_new_per_subject=True, allow_rollup_hdrs=True
    )
    await jsapi.stored("l6.a")
    await jsapi.rejected("l6.a", "JSStreamStoreFailedF", err="maximum messages per subject exceeded")
    assert await jsapi.stored("l6.a", headers={"Nats-Rollup": "sub"}) == 2  # rollups are exempt
    assert await jsapi.stored("l6.b") == 3


async def test_lowering_limits_trims_the_stream(jsapi):
    await jsapi.create("L1")
    for subject in ("l1.a", "l1.b", "l1.c"):
        await jsapi.stored(subject)
    await jsapi.ok(S.stream_update("L1"), {"name": "L1", "subjects": ["l1.>"], "max_msgs": 1})
    state = await jsapi.state("L1")
    assert (state["messages"], state["first_seq"]) == (1, 3)


async def test_max_age_expires_messages(jsapi, eventually):
    await jsapi.create("AGE", max_age=SECOND)
    await jsapi.stored("age.a")
    await jsapi.stored("age.b")
    assert (await jsapi.state("AGE"))["messages"] == 2

    async def expired():
        state = await jsapi.state("AGE")
        return state if state["messages"] == 0 else None

    state = await eventually(expired, timeout=4)
    assert state and (state["first_seq"], state["last_seq"]) == (3, 2)


# -- sealed and first_seq


async def test_sealed_stream_refuses_publishes(jsapi):
    await jsapi.create("SE")
    await jsapi.stored("se.a")
    await jsapi.ok(S.stream_update("SE"), {"name": "SE", "subjects": ["se.>"], "sealed": True})
    await jsapi.rejected("se.a", "JSStreamSealedErr")


async def test_first_seq(jsapi):
    await jsapi.create("FS", first_seq=1000)
    assert await jsapi.stored("fs.a") == 1000
    state = await jsapi.state("FS")
    assert (state["first_seq"], state["last_seq"]) == (1000, 1000)


async def test_subject_transform_and_republish(jsapi, nc):
    got = []

    async def collect(msg):
        got.append(msg)

    await nc.subscribe("rp.>", cb=collect)
    await jsapi.create(
        "TR",
        subjects=["in.>"],
        subject_transform={"src": "in.>", "dest": "stored.>"},
        republish={"src": "stored.>", "dest": "rp.>"},
    )
    await jsapi.stored("in.a", b"payload")
    msg = (await jsapi.ok(S.stream_msg_get("TR"), {"seq": 1}))["message"]
    assert msg["subject"] == "stored.a"
    for _ in range(100):
        if got:
            break
        await asyncio.sleep(0.01)
    assert got and got[0].subject == "rp.a" and got[0].data == b"payload"
    headers = {k: v for k, v in got[0].headers.items() if k != "Nats-Time-Stamp"}
    assert headers == {
        "Nats-Stream": "TR",
        "Nats-Subject": "stored.a",
        "Nats-Sequence": "1",
        "Nats-Last-Sequence": "0",
    }


async def test_many_publishes_keep_order(jsapi, nc):
    """A burst larger than one read: every ack arrives, in order, each stored once."""
    await jsapi.create("B", storage="memory")
    inbox = nc.new_inbox()
    acks: list[bytes] = []
    done = asyncio.Event()

    async def collect(msg):
        acks.append(msg.data)
        if len(acks) == 2000:
            done.set()

    await nc.subscribe(inbox, cb=collect)
    for i in range(2000):
        await nc.publish("b.x", b"%d" % i, reply=inbox)
    await asyncio.wait_for(done.wait(), 10)
    assert [json.loads(a)["seq"] for a in acks] == list(range(1, 2001))


async def test_interest_stream_without_interest_stores_nothing(jsapi):
    """No consumer wants the subject: the sequence is used and acked, the message not kept."""
    await jsapi.create("I", retention="interest")
    assert await jsapi.stored("i.a", headers={"Nats-Msg-Id": "1"}) == 1
    dup = await jsapi.publish("i.a", headers={"Nats-Msg-Id": "1"})
    assert (dup["seq"], dup["duplicate"]) == (1, True)  # the id is still remembered
    assert await jsapi.stored("i.b") == 2
    state = await jsapi.state("I")
    assert (state["messages"], state["first_seq"], state["last_seq"]) == (0, 3, 2)
    config = {"durable_name": "d", "ack_policy": "explicit", "filter_subject": "i.a"}
    await jsapi.ok(S.consumer_durable_create("I", "d"), {"stream_name": "I", "config": config})
    assert await jsapi.stored("i.a") == 3
    assert await jsapi.stored("i.b") == 4  # nobody wants i.b
    state = await jsapi.state("I")
    assert (state["messages"], state["first_seq"], state["last_seq"], state["num_deleted"]) == (1, 3, 4, 1)
