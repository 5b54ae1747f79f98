"""Atomic batch publish (`allow_atomic`, Nats-Batch-Id/-Sequence/-Commit) on both servers: staged
members answered with an empty body, one PubAck with `batch`/`count` on commit, all or nothing;
the idle timeout on devserver's manual clock."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import schemas
from schemas import errors
from schemas import subjects as S
from tests.jetstream.conftest import JetStreamHelper

pytestmark = pytest.mark.timeout(60)


def member(bid: str, seq: int, commit: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Nats-Batch-Id": bid, "Nats-Batch-Sequence": str(seq), **extra}
    if commit is not None:
        headers["Nats-Batch-Commit"] = commit
    return headers


async def send(
    jsapi: JetStreamHelper, bid: str, msgs: list[tuple[str, dict[str, str]]], data: bytes = b"x"
) -> list[bytes]:
    """Publish a batch (the last message commits); every reply as sent."""
    replies = []
    for seq, (subject, extra) in enumerate(msgs, 1):
        commit = "1" if seq == len(msgs) else None
        replies.append(await jsapi.raw_ack(subject, data, member(bid, seq, commit, **extra)))
    return replies


def error(reply: bytes, name: str, **placeholders: object) -> bool:
    ack = json.loads(reply)
    assert schemas.validate("pub_ack_response", ack) == [], ack
    return ack == {"error": errors.error(name, **placeholders), "stream": "B", "seq": 0}


@pytest.fixture
async def atomic(jsapi: JetStreamHelper) -> JetStreamHelper:
    await jsapi.create("B", subjects=["b.>"], allow_atomic=True, allow_rollup_hdrs=True)
    return jsapi


async def test_commit_stores_the_batch_with_one_ack(atomic):
    replies = await send(atomic, "x1", [("b.1", {}), ("b.2", {})])
    assert replies == [b"", b'{"stream":"B","seq":2,"batch":"x1","count":2}']
    msg = await atomic.ok(S.stream_msg_get("B"), {"seq": 1})
    assert b"Nats-Batch-Id: x1\r\nNats-Batch-Sequence: 1\r\n" in _headers(msg)


async def test_single_message_batch(atomic):
    reply = await atomic.raw_ack("b.1", b"x", member("c1", 1, "1"))
    assert reply == b'{"stream":"B","seq":1,"batch":"c1","count":1}'


async def test_end_of_batch_commit_is_not_stored(atomic):
    assert await atomic.raw_ack("b.1", b"a", member("e", 1)) == b""
    assert await atomic.raw_ack("b.1", b"b", member("e", 2, "eob")) == (
        b'{"stream":"B","seq":1,"batch":"e","count":1}'
    )
    assert (await atomic.state("B"))["messages"] == 1
    msg = await atomic.ok(S.stream_msg_get("B"), {"seq": 1})
    assert _headers(msg).endswith(b"Nats-Batch-Sequence: 1\r\nNats-Batch-Commit: 1\r\n\r\n")


async def test_eob_cannot_be_the_first_message(atomic):
    assert error(
        await atomic.raw_ack("b.1", b"x", member("e", 1, "eob")), "JSAtomicPublishIncompleteBatchErr"
    )


async def test_disabled(jsapi):
    await jsapi.create("B", subjects=["b.>"])
    await jsapi.rejected("b.1", "JSAtomicPublishDisabledErr", headers=member("x", 1))


async def test_member_errors(atomic):
    rejected = atomic.rejected
    await rejected("b.1", "JSAtomicPublishMissingSeqErr", headers={"Nats-Batch-Id": "y"})
    await rejected(
        "b.1", "JSAtomicPublishMissingSeqErr", headers={"Nats-Batch-Id": "y", "Nats-Batch-Sequence": "-1"}
    )
    await rejected("b.1", "JSAtomicPublishIncompleteBatchErr", headers=member("z", 2))
    await rejected("b.1", "JSAtomicPublishTooLargeBatchErrF", headers=member("z", 1001), size=1000)
    await rejected("b.1", "JSAtomicPublishInvalidBatchIDErr", headers=member("z" * 65, 1))
    await rejected("b.1", "JSAtomicPublishInvalidBatchCommitErr", headers=member("v", 1, "0"))
    assert await atomic.raw_ack("b.1", b"x", member("z" * 64, 1)) == b""
    assert (await atomic.state("B"))["messages"] == 0


async def test_empty_batch_id_is_a_plain_message(atomic):
    assert await atomic.raw_ack("b.1", b"x", {"Nats-Batch-Id": "", "Nats-Batch-Sequence": "1"}) == (
        b'{"stream":"B","seq":1}'
    )


async def test_gap_abandons_the_batch(atomic, nc):
    events = await nc.subscribe(S.advisory_stream_batch_abandoned("B"))
    assert await atomic.raw_ack("b.1", b"x", member("g", 1)) == b""
    await atomic.rejected("b.1", "JSAtomicPublishIncompleteBatchErr", headers=member("g", 3))
    await atomic.rejected("b.1", "JSAtomicPublishIncompleteBatchErr", headers=member("g", 2, "1"))
    event = json.loads((await events.next_msg(timeout=2)).data)
    assert schemas.validate(event["type"], event) == []
    assert (event["type"], event["stream"], event["batch"], event["reason"]) == (
        "io.nats.jetstream.advisory.v1.stream_batch_abandoned",
        "B",
        "g",
        "incomplete",
    )
    assert (await atomic.state("B"))["messages"] == 0


async def test_invalid_commit_drops_the_batch(atomic):
    assert await atomic.raw_ack("b.1", b"x", member("i", 1)) == b""
    await atomic.rejected("b.1", "JSAtomicPublishInvalidBatchCommitErr", headers=member("i", 2, "yes"))
    await atomic.rejected("b.1", "JSAtomicPublishIncompleteBatchErr", headers=member("i", 3, "1"))


# (second message's headers, the error its commit fails with, placeholders)
COMMIT_FAILURES: list[tuple[dict[str, str], str, dict[str, Any]]] = [
    ({"Nats-Expected-Last-Sequence": "4"}, "JSStreamWrongLastSequenceErrF", {"seq": 2}),
    ({"Nats-Expected-Last-Sequence": "2"}, "JSStreamWrongLastSequenceConstantErr", {}),
    ({"Nats-Msg-Id": "m0"}, "JSAtomicPublishContainsDuplicateMessageErr", {}),
    ({"Nats-Msg-Id": "a"}, "JSAtomicPublishContainsDuplicateMessageErr", {}),
    (
        {"Nats-Expected-Last-Msg-Id": "m0"},
        "JSAtomicPublishUnsupportedHeaderBatchErr",
        {"header": "Nats-Expected-Last-Msg-Id"},
    ),
    ({"Nats-Expected-Last-Subject-Sequence": "1"}, "JSStreamWrongLastSequenceConstantErr", {}),
    ({"Nats-Rollup": "all"}, "JSStreamRollupFailedF", {"err": "batch rollup all invalid"}),
    ({"Nats-Rollup": "sub"}, "JSStreamRollupFailedF", {"err": "batch rollup sub invalid"}),
    ({"Nats-Expected-Stream": "X"}, "JSStreamNotMatchErr", {}),
    ({"Nats-TTL": "5s"}, "JSMessageTTLDisabledErr", {}),
]


@pytest.mark.parametrize(("extra", "name", "placeholders"), COMMIT_FAILURES)
async def test_commit_checks_reject_the_whole_batch(atomic, extra, name, placeholders):
    await atomic.stored("b.1", headers={"Nats-Msg-Id": "m0"})
    replies = await send(atomic, "c", [("b.1", {"Nats-Msg-Id": "a"}), ("b.1", extra)])
    assert replies[0] == b""
    assert error(replies[1], name, **placeholders)
    assert (await atomic.state("B"))["messages"] == 1


async def test_commit_checks_that_pass(atomic):
    await atomic.stored("b.1")
    replies = await send(
        atomic,
        "ok",
        [
            ("b.2", {"Nats-Expected-Last-Sequence": "1", "Nats-Expected-Last-Subject-Sequence": "0"}),
            (
                "b.3",
                {
                    "Nats-Expected-Last-Subject-Sequence": "1",
                    "Nats-Expected-Last-Subject-Sequence-Subject": "b.1",
                },
            ),
            ("b.4", {"Nats-Rollup": "sub"}),
        ],
    )
    assert replies[-1] == b'{"stream":"B","seq":4,"batch":"ok","count":3}'
    other = await send(atomic, "bad", [("b.5", {}), ("b.1", {"Nats-Expected-Last-Subject-Sequence": "2"})])
    assert error(other[1], "JSStreamWrongLastSequenceErrF", seq=1)


async def test_discard_new_counts_the_whole_batch(jsapi):
    await jsapi.create("B", subjects=["b.>"], allow_atomic=True, max_msgs=2, discard="new")
    replies = await send(jsapi, "dn", [("b.1", {}), ("b.1", {}), ("b.1", {})])
    assert error(replies[-1], "JSStreamStoreFailedF", err="maximum messages exceeded")
    replies = await send(jsapi, "dn2", [("b.1", {}), ("b.1", {})])
    assert replies[-1] == b'{"stream":"B","seq":2,"batch":"dn2","count":2}'


async def test_too_many_inflight(atomic):
    for i in range(50):
        assert await atomic.raw_ack("b.1", b"x", member(f"f{i}", 1)) == b""
    await atomic.rejected("b.1", "JSAtomicPublishTooManyInflight", headers=member("f50", 1))


async def test_turning_atomic_off_drops_open_batches(atomic):
    assert await atomic.raw_ack("b.1", b"x", member("u", 1)) == b""
    config = {"name": "B", "subjects": ["b.>"], "allow_rollup_hdrs": True}
    await atomic.ok(S.stream_update("B"), config)
    await atomic.ok(S.stream_update("B"), {**config, "allow_atomic": True})
    await atomic.rejected("b.1", "JSAtomicPublishIncompleteBatchErr", headers=member("u", 2, "1"))


def _headers(msg: dict[str, Any]) -> bytes:
    return base64.b64decode(msg["message"]["hdrs"])


# -- the idle timeout, on devserver's clock


async def test_idle_batch_times_out_on_the_server_clock(clocked):
    nc, jsapi, advance = clocked.nc, clocked.js, clocked.advance
    await jsapi.create("B", subjects=["b.>"], allow_atomic=True)
    events = await nc.subscribe(S.advisory_stream_batch_abandoned("B"))

    assert await jsapi.raw_ack("b.1", b"x", member("t", 1)) == b""
    await advance(9)
    assert await jsapi.raw_ack("b.1", b"x", member("t", 2)) == b""  # a member restarts the wait
    await advance(9)
    assert (
        await jsapi.raw_ack("b.1", b"x", member("t", 3, "1"))
        == b'{"stream":"B","seq":3,"batch":"t","count":3}'
    )
    assert await jsapi.raw_ack("b.1", b"x", member("u", 1)) == b""
    await advance(10.001)
    event = json.loads((await events.next_msg(timeout=2)).data)
    assert (event["batch"], event["reason"]) == ("u", "timeout")
    await jsapi.rejected("b.1", "JSAtomicPublishIncompleteBatchErr", headers=member("u", 2, "1"))


async def test_counter_batch(jsapi):
    await jsapi.create("B", subjects=["b.>"], allow_atomic=True, allow_msg_counter=True)
    replies = await send(jsapi, "n", [("b.1", {"Nats-Incr": "1"}), ("b.1", {"Nats-Incr": "2"})], b"")
    assert replies[-1] == b'{"stream":"B","seq":2,"batch":"n","count":2}'
    msg = await jsapi.ok(S.stream_msg_get("B"), {"seq": 2})
    assert base64.b64decode(msg["message"]["data"]) == b'{"val":"3"}'
    replies = await send(jsapi, "m", [("b.1", {"Nats-Incr": "1"}), ("b.2", {})], b"")
    assert error(replies[-1], "JSMessageIncrMissingErr")
    assert (await jsapi.state("B"))["messages"] == 2
