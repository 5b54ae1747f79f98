"""Fast batch publish (`allow_batched`) on both servers: the state rides on the reply subject
`<prefix>.<id>.<flow>.<ok|fail>.<seq>.<op>.$FI`; flow acks, gaps, errors and the final PubAck
come back on it; the idle timeout on devserver's manual clock."""

from __future__ import annotations

import asyncio
import json

import nats
import pytest

import schemas
from schemas import errors
from schemas import subjects as S
from tests.jetstream.conftest import JetStreamHelper

pytestmark = pytest.mark.timeout(60)

START, APPEND, COMMIT, EOB, PING = range(5)
BAD_EXPECTED = {"Nats-Expected-Stream": "nope"}


def ack(seq: int, msgs: int) -> str:
    return f'{{"type":"ack","seq":{seq},"msgs":{msgs}}}'


def gap(last_seq: int, seq: int) -> str:
    return f'{{"type":"gap","last_seq":{last_seq},"seq":{seq}}}'


def err(seq: int, name: str) -> str:
    return json.dumps({"type": "err", "seq": seq, "error": errors.error(name)}, separators=(",", ":"))


def done(seq: int, bid: str, count: int) -> str:
    return f'{{"stream":"F","seq":{seq},"batch":"{bid}","count":{count}}}'


def refused(name: str, stream: str = "F") -> str:
    doc = {"error": errors.error(name), "stream": stream, "seq": 0}
    assert schemas.validate("pub_ack_response", doc) == []
    return json.dumps(doc, separators=(",", ":"))


class Publisher:
    """Sends fast batch members and collects everything answered on their reply subjects."""

    def __init__(self, nc: nats.NATS) -> None:
        self.nc = nc
        self.got: asyncio.Queue[str] = asyncio.Queue()

    async def start(self) -> Publisher:
        async def collect(msg) -> None:
            await self.got.put(msg.data.decode())

        await self.nc.subscribe("in.>", cb=collect)
        return self

    async def send(self, bid: str, seq: int, op: int, flow: int = 10, gap: str = "fail", **kw) -> None:
        await self.raw(f"in.{bid}.{flow}.{gap}.{seq}.{op}.$FI", **kw)

    async def raw(self, reply: str, subject: str = "f.1", headers: dict | None = None) -> None:
        await self.nc.publish(subject, b"x", reply=reply, headers=headers)

    async def replies(self, n: int) -> list[str]:
        """The next `n` answers; nothing else may have come."""
        out = [await asyncio.wait_for(self.got.get(), 2) for _ in range(n)]
        await self.nc.flush()
        assert self.got.empty(), (out, self.got.get_nowait())
        return out


@pytest.fixture
async def fast(jsapi: JetStreamHelper) -> Publisher:
    await jsapi.create("F", subjects=["f.>"], allow_batched=True, duplicate_window=60 * 10**9)
    return await Publisher(jsapi.nc).start()


async def append(pub: Publisher, bid: str, seqs: range, **kw) -> None:
    for seq in seqs:
        await pub.send(bid, seq, APPEND, **kw)


async def test_config_requires_api_level_4(jsapi):
    doc = await jsapi.create("F", subjects=["f.>"], allow_batched=True)
    assert doc["config"]["allow_batched"] is True
    assert doc["config"]["metadata"]["_nats.req.level"] == "4"
    await jsapi.ok(S.stream_update("F"), {"name": "F", "subjects": ["f.>"]})


async def test_flow_acks_then_commit(fast, jsapi):
    await fast.send("a", 1, START)
    await append(fast, "a", range(2, 25))
    await fast.send("a", 25, COMMIT)
    assert await fast.replies(4) == [ack(0, 10), ack(10, 10), ack(20, 10), done(25, "a", 25)]
    msg = await jsapi.ok(S.stream_msg_get("F"), {"seq": 1})
    assert "hdrs" not in msg["message"]  # nothing of the batch is stored with the message


async def test_end_of_batch_and_ping(fast):
    await fast.send("b", 1, START, flow=2)
    await fast.send("b", 2, APPEND, flow=2)
    await fast.send("b", 2, PING, flow=2)
    await fast.send("b", 1, PING, flow=2)  # behind what arrived: the last ack again
    await fast.send("b", 3, EOB, flow=2)  # ends the batch, not stored itself
    assert await fast.replies(5) == [ack(0, 2), ack(2, 2), ack(2, 2), ack(2, 2), done(2, "b", 2)]
    await fast.send("c", 1, COMMIT)
    assert await fast.replies(1) == [done(3, "c", 1)]


async def test_flow_ramps_up_while_batches_share_the_stream(fast):
    await fast.send("r", 1, START, flow=100)
    await fast.send("s", 1, START, flow=100)
    await append(fast, "s", range(2, 40), flow=100)
    await fast.send("s", 40, EOB, flow=100)
    steps = [ack(seq, msgs) for seq, msgs in [(1, 2), (3, 4), (7, 8), (15, 16), (31, 32)]]
    assert await fast.replies(8) == [ack(0, 100), ack(0, 1), *steps, done(40, "s", 39)]


async def test_gap_fail_mode_ends_the_batch(fast):
    await fast.send("d", 1, START)
    await fast.send("d", 3, APPEND)
    await fast.send("d", 4, APPEND)
    assert await fast.replies(4) == [
        ack(0, 10),
        gap(2, 3),
        done(1, "d", 1),
        refused("JSBatchPublishUnknownBatchIDErr"),
    ]
    await fast.send("e", 1, START)
    await fast.send("e", 2, APPEND)
    await fast.send("e", 2, APPEND)  # backward: reported too, and ends the batch
    assert await fast.replies(3) == [ack(0, 10), gap(3, 2), done(3, "e", 2)]


async def test_gap_ok_mode_goes_on(fast):
    await fast.send("g", 1, START, gap="ok")
    await fast.send("g", 2, APPEND, gap="ok")
    await fast.send("g", 5, PING, gap="ok")  # ahead of what arrived
    await fast.send("g", 6, APPEND, gap="ok")
    await fast.send("g", 9, APPEND, gap="ok")
    await fast.send("g", 11, EOB, gap="ok")
    expected = [ack(0, 10), gap(3, 6), ack(0, 10), gap(7, 9), gap(10, 11)]
    assert await fast.replies(6) == [*expected, done(4, "g", 10)]


async def test_errors_in_fail_mode(fast, jsapi):
    await fast.send("a", 1, START, headers=BAD_EXPECTED)  # the first: as a lone publish
    await fast.send("a", 2, APPEND)
    assert await fast.replies(3) == [
        ack(0, 10),
        refused("JSStreamNotMatchErr"),
        refused("JSBatchPublishUnknownBatchIDErr"),
    ]
    await fast.send("b", 1, START)
    await fast.send("b", 2, APPEND)
    await fast.send("b", 3, APPEND, headers=BAD_EXPECTED)
    assert await fast.replies(3) == [ack(0, 10), err(3, "JSStreamNotMatchErr"), done(2, "b", 2)]
    await fast.send("c", 1, COMMIT, headers=BAD_EXPECTED)
    assert await fast.replies(1) == [refused("JSStreamNotMatchErr")]
    assert (await jsapi.state("F"))["messages"] == 2


async def test_errors_in_ok_mode(fast):
    await fast.send("c", 1, START, gap="ok", headers=BAD_EXPECTED)
    await fast.send("c", 2, APPEND, gap="ok")
    await fast.send("c", 3, COMMIT, gap="ok", headers=BAD_EXPECTED)
    expected = [ack(0, 10), err(1, "JSStreamNotMatchErr"), err(3, "JSStreamNotMatchErr")]
    assert await fast.replies(4) == [*expected, done(1, "c", 2)]
    await fast.send("d", 1, COMMIT, gap="ok", headers=BAD_EXPECTED)
    assert await fast.replies(2) == [err(1, "JSStreamNotMatchErr"), done(0, "d", 0)]


async def test_backward_gap_after_a_refused_member_in_ok_mode(fast):
    await fast.send("a", 1, START, gap="ok")
    await fast.send("a", 2, APPEND, gap="ok", headers=BAD_EXPECTED)
    await fast.send("a", 2, APPEND, gap="ok")  # ends the batch, but no PubAck ever comes
    await fast.send("a", 3, APPEND, gap="ok")  # ignored
    await fast.send("a", 3, PING, gap="ok")
    expected = [ack(0, 10), err(2, "JSStreamNotMatchErr"), gap(3, 2), gap(3, 4), ack(0, 10)]
    assert await fast.replies(5) == expected


async def test_duplicates_are_skipped(fast, jsapi):
    dup = {"Nats-Msg-Id": "m1"}
    assert await jsapi.stored("f.1", headers=dup) == 1
    await fast.send("e", 1, START, headers=dup)  # skipped, the batch goes on
    await fast.send("e", 2, APPEND)
    await fast.send("h", 1, START, flow=2)
    for seq in (2, 3, 4):
        await fast.send("h", seq, APPEND, flow=2, headers=dup)
    await fast.send("h", 5, COMMIT, flow=2, headers=dup)
    steps = [ack(0, 1), ack(1, 2), ack(3, 2), ack(5, 2)]
    assert await fast.replies(6) == [ack(0, 10), *steps, done(3, "h", 5)]
    await fast.send("k", 1, COMMIT, headers=dup)  # a one-member batch: a lone duplicate's answer
    assert await fast.replies(2) == [
        ack(1, 2),
        '{"stream":"F","seq":1,"duplicate": true,"batch":"k","count":1}',
    ]


@pytest.mark.parametrize(
    "reply",
    [
        "in.x.10.fail.1.3.$FI",  # end of batch as the first member
        "in.x.10.fail.2.0.$FI",  # start past the first
        "in.x.10.fail.1.1.$FI",  # append as the first
        "in.x.10.fail.1.5.$FI",  # no such operation
        "in.x.10.fail.0.0.$FI",  # sequence 0
        "in.x.10.fail.+1.0.$FI",
        "in.x.10.maybe.1.0.$FI",
    ],
)
async def test_reply_pattern_refused(fast, reply):
    await fast.raw(reply)
    assert await fast.replies(1) == [refused("JSBatchPublishInvalidPatternErr")]


async def test_refusals(fast, jsapi):
    await fast.send("x" * 65, 1, START)
    await fast.send("u", 2, APPEND)
    await fast.send("u", 1, PING)  # a ping never opens a batch
    await fast.send("v", 1, START, headers={"Nats-Required-Api-Level": "99"})
    names = ["JSBatchPublishInvalidBatchIDErr", "JSBatchPublishUnknownBatchIDErr"]
    expected = [refused(name) for name in [*names, names[1], "JSRequiredApiLevelErr"]]
    assert await fast.replies(4) == expected
    await fast.raw("in.w.-5.fail.1.0.$FI")  # a flow that is no number means 10
    await fast.raw("in.y.99999.fail.1.0.$FI")  # a second batch starts at 1
    assert await fast.replies(3) == [ack(0, 10), ack(0, 1), ack(1, 2)]
    await jsapi.create("G", subjects=["g.>"])
    await fast.send("a", 1, 9, subject="g.1")
    assert await fast.replies(1) == [refused("JSBatchPublishDisabledErr", "G")]


async def test_too_many_inflight(fast, jsapi):
    for i in range(1000):
        await fast.send(f"b{i}", 1, START)
    assert len(await fast.replies(1999)) == 1999  # each opening ack, and one per member stored
    await fast.send("over", 1, START)
    await fast.send("b5", 2, COMMIT)
    await fast.send("over", 1, COMMIT)
    expected = [refused("JSBatchPublishTooManyInflight"), done(1001, "b5", 2), done(1002, "over", 1)]
    assert await fast.replies(3) == expected
    config = {"name": "F", "subjects": ["f.>"], "duplicate_window": 60 * 10**9}
    await jsapi.ok(S.stream_update("F"), config)  # turning it off forgets every batch
    await jsapi.ok(S.stream_update("F"), {**config, "allow_batched": True})
    await fast.send("b6", 2, COMMIT)
    assert await fast.replies(1) == [refused("JSBatchPublishUnknownBatchIDErr")]


async def test_idle_batch_forgotten_on_the_server_clock(clocked):
    await clocked.js.create("F", subjects=["f.>"], allow_batched=True)
    pub = await Publisher(clocked.nc).start()
    await pub.send("t", 1, START)
    assert await pub.replies(1) == [ack(0, 10)]
    await clocked.advance(9)
    await pub.send("t", 2, APPEND)  # each member buys another 10 s
    await clocked.advance(9)
    await pub.send("t", 3, COMMIT)
    assert await pub.replies(1) == [done(3, "t", 3)]
    await pub.send("u", 1, START)
    await clocked.advance(10.001)
    await pub.send("u", 2, APPEND)
    assert await pub.replies(2) == [ack(0, 10), refused("JSBatchPublishUnknownBatchIDErr")]
