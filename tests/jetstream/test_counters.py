"""Message counters (`allow_msg_counter`, `Nats-Incr`) on both servers: the totals, the stored
message, the refusals and their order, dedupe, purge, gets, and sources summed into an aggregate."""

from __future__ import annotations

import base64
import json

import pytest

from schemas import subjects as S

pytestmark = pytest.mark.timeout(60)


def incr(value: str, **more: str) -> dict[str, str]:
    return {"Nats-Incr": value, **more}


async def last(jsapi, stream: str, subject: str) -> tuple[int, bytes, bytes]:
    msg = (await jsapi.ok(S.stream_msg_get(stream), {"last_by_subj": subject}))["message"]
    return msg["seq"], base64.b64decode(msg.get("hdrs", "")), base64.b64decode(msg["data"])


async def test_totals_in_the_ack_and_the_body(jsapi):
    await jsapi.create("C", allow_msg_counter=True)
    assert await jsapi.raw_ack("c.a", b"", incr("5")) == b'{"stream":"C","seq":1,"val":"5"}'
    steps = ["2", "-10", "+3", "007", "-0", "0", "99999999999999999999999999999"]
    vals = [(await jsapi.publish("c.a", b"", incr(step)))["val"] for step in steps]
    assert vals == ["7", "-3", "0", "7", "7", "7", "100000000000000000000000000006"]
    assert await last(jsapi, "C", "c.a") == (
        8,
        b"NATS/1.0\r\nNats-Incr: 99999999999999999999999999999\r\n\r\n",
        b'{"val":"100000000000000000000000000006"}',
    )
    assert (await jsapi.publish("c.b", b"", incr("1", Foo="bar")))["val"] == "1"  # per subject
    assert (await last(jsapi, "C", "c.b"))[1] == b"NATS/1.0\r\nNats-Incr: 1\r\nFoo: bar\r\n\r\n"


@pytest.mark.parametrize(
    ("headers", "data", "name"),
    [
        (None, b"", "JSMessageIncrMissingErr"),
        (None, b"hello", "JSMessageIncrMissingErr"),
        ({"Nats-Incr": ""}, b"", "JSMessageIncrMissingErr"),
        ({"Foo": "bar"}, b"", "JSMessageIncrMissingErr"),
        (incr("abc"), b"", "JSMessageIncrInvalidErr"),
        (incr("1.5"), b"", "JSMessageIncrInvalidErr"),
        (incr("0x10"), b"", "JSMessageIncrInvalidErr"),
        (incr("1_000"), b"", "JSMessageIncrInvalidErr"),
        (incr("1"), b"x", "JSMessageIncrPayloadErr"),
        (incr("1", **{"Nats-Expected-Stream": "C"}), b"", "JSMessageIncrInvalidErr"),
        (incr("1", **{"Nats-Expected-Last-Sequence": "0"}), b"", "JSMessageIncrInvalidErr"),
        (incr("1", **{"Nats-Expected-Last-Subject-Sequence": "0"}), b"", "JSMessageIncrInvalidErr"),
        (incr("1", **{"Nats-Expected-Last-Subject-Sequence-Subject": "c.a"}), b"", "JSMessageIncrInvalidErr"),
        (incr("1", **{"Nats-Expected-Last-Msg-Id": "a"}), b"", "JSMessageIncrInvalidErr"),
        (incr("1", **{"Nats-Rollup": "sub"}), b"", "JSMessageIncrInvalidErr"),
        (incr("1", **{"Nats-TTL": "5s"}), b"", "JSMessageTTLDisabledErr"),
    ],
)
async def test_refused_on_a_counter_stream(jsapi, headers, data, name):
    await jsapi.create("C", allow_msg_counter=True, allow_rollup_hdrs=True)
    await jsapi.rejected("c.a", name, data, headers)
    assert (await jsapi.state("C"))["messages"] == 0


async def test_increments_on_a_plain_stream(jsapi):
    await jsapi.create("P")
    await jsapi.rejected("p.a", "JSMessageIncrDisabledErr", b"", incr("1"))
    await jsapi.rejected("p.a", "JSMessageIncrDisabledErr", b"x", incr("1"))
    await jsapi.rejected("p.a", "JSMessageIncrInvalidErr", b"", incr("x"))
    assert await jsapi.raw_ack("p.a", b"x") == b'{"stream":"P","seq":1}'


async def test_dedupe_and_purge(jsapi):
    await jsapi.create("C", allow_msg_counter=True)
    assert await jsapi.publish("c.a", b"", incr("1", **{"Nats-Msg-Id": "m"})) == {
        "stream": "C",
        "seq": 1,
        "val": "1",
    }
    assert (
        await jsapi.raw_ack("c.a", b"", incr("1", **{"Nats-Msg-Id": "m"}))
        == b'{"stream":"C","seq":1,"duplicate": true}'
    )
    await jsapi.ok(S.stream_purge("C"), {"filter": "c.a"})
    assert (await jsapi.publish("c.a", b"", incr("4")))["val"] == "4"  # a purge starts again from 0


async def test_direct_get_of_a_counter(jsapi, nc):
    await jsapi.create("C", allow_msg_counter=True, allow_direct=True)
    await jsapi.publish("c.x", b"", incr("4"))
    msg = await nc.request(S.direct_get("C"), json.dumps({"last_by_subj": "c.x"}).encode(), timeout=2)
    assert (msg.data, msg.headers["Nats-Incr"]) == (b'{"val":"4"}', "4")


async def test_counter_setting_is_fixed(jsapi):
    await jsapi.create("C", allow_msg_counter=True)
    await jsapi.create("P")
    for name, value in (("C", False), ("P", True)):
        body = {"name": name, "subjects": [f"{name.lower()}.>"], "allow_msg_counter": value}
        await jsapi.fails(
            S.stream_update(name),
            body,
            "JSStreamInvalidConfigF",
            err="stream configuration update can not change message counter setting",
        )


async def test_sources_sum_into_an_aggregate(jsapi, eventually):
    await jsapi.create("A", allow_msg_counter=True)
    await jsapi.create("B", allow_msg_counter=True)
    sources = [
        {"name": n, "subject_transforms": [{"src": f"{n.lower()}.>", "dest": "x.>"}]} for n in ("A", "B")
    ]
    await jsapi.ok(S.stream_create("AGG"), {"name": "AGG", "allow_msg_counter": True, "sources": sources})
    await jsapi.publish("a.k", b"", incr("3"))
    await eventually(lambda: _count(jsapi, "AGG", 1))
    await jsapi.publish("b.k", b"", incr("4"))
    await eventually(lambda: _count(jsapi, "AGG", 2))
    await jsapi.publish("a.k", b"", incr("1"))
    await eventually(lambda: _count(jsapi, "AGG", 3))
    seq, hdrs, data = await last(jsapi, "AGG", "x.k")
    assert (seq, data) == (3, b'{"val":"8"}')
    assert hdrs.startswith(b"NATS/1.0\r\nNats-Incr: 1\r\nNats-Stream-Source: A 2 a.> x.> a.k ")
    assert hdrs.endswith(b'\r\nNats-Counter-Sources: {"A":{"a.k":"4"},"B":{"b.k":"4"}}\r\n\r\n')
    # the origin purged: its new total is told, the aggregate steps by the difference
    await jsapi.ok(S.stream_purge("A"), {})
    await jsapi.publish("a.k", b"", incr("10"))
    await eventually(lambda: _count(jsapi, "AGG", 4))
    seq, hdrs, data = await last(jsapi, "AGG", "x.k")
    assert (data, hdrs.split(b"\r\n")[1]) == (b'{"val":"14"}', b"Nats-Incr: 6")


async def test_plain_aggregate_stores_counters_verbatim(jsapi, eventually):
    await jsapi.create("A", allow_msg_counter=True)
    await jsapi.ok(S.stream_create("AGG"), {"name": "AGG", "sources": [{"name": "A"}]})
    await jsapi.publish("a.k", b"", incr("3"))
    await eventually(lambda: _count(jsapi, "AGG", 1))
    _, hdrs, data = await last(jsapi, "AGG", "a.k")
    assert data == b'{"val":"3"}' and b"Nats-Counter-Sources" not in hdrs


async def _count(jsapi, stream: str, n: int) -> bool:
    return (await jsapi.state(stream))["messages"] >= n
