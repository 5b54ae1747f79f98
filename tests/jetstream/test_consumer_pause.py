"""Consumer pause (2.11) on both servers: CONSUMER.PAUSE, `pause_until` at create and update,
the info fields, the advisory, delivery held for pull and push, restarts; and the resume
at the deadline on devserver's ManualClock.

Observed on nats-server 2.15.1: PAUSE stores the deadline in UTC, a create keeps the offset it
was given and an update keeps the consumer's pause (in UTC); a paused consumer's pull requests
wait and expire (408) and `no_wait` ones get 404; a body that is no JSON object resumes; a resume
by request delivers nothing until a new message or pull request wakes the consumer (the deadline
timer does wake it).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from schemas import subjects
from tests.jetstream.consumer_support import Inbox, add_stream, api, checked, connect, create, info, status

MS = 1_000_000
FAR = "2030-01-01T00:00:00Z"
ZERO = "0001-01-01T00:00:00Z"


async def _pause(nc, body, consumer: str = "d", stream: str = "ORDERS") -> dict:
    return await api(nc, subjects.consumer_pause(stream, consumer), body)


class Advisories:
    """Every pause advisory, schema-checked."""

    def __init__(self) -> None:
        self.docs: list[dict] = []

    async def start(self, nc) -> Advisories:
        async def cb(msg) -> None:
            self.docs.append(checked(json.loads(msg.data)))

        await nc.subscribe(subjects.ADVISORY_CONSUMER_PAUSE, cb=cb)
        await nc.flush()
        return self

    async def wait(self, count: int) -> list[tuple[bool, str]]:
        for _ in range(200):
            if len(self.docs) >= count:
                break
            await asyncio.sleep(0.01)
        return [(d["paused"], d["pause_until"]) for d in self.docs]


async def test_pause_and_resume_requests(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    events = await Advisories().start(nc)
    paused = await _pause(nc, {"pause_until": "2030-01-01T01:00:00.5+01:00"})
    assert (paused["paused"], paused["pause_until"]) == (True, "2030-01-01T00:00:00.5Z")
    assert 0 < paused["pause_remaining"]
    doc = await info(nc, "ORDERS", "d")
    assert (doc["paused"], doc["config"]["pause_until"]) == (True, "2030-01-01T00:00:00.5Z")
    assert 0 < doc["pause_remaining"] <= paused["pause_remaining"]
    past = await _pause(nc, {"pause_until": "2020-01-01T00:00:00Z"})
    assert past == {"type": past["type"], "paused": False, "pause_until": "2020-01-01T00:00:00Z"}
    doc = await info(nc, "ORDERS", "d")
    assert "paused" not in doc and "pause_remaining" not in doc
    assert doc["config"]["pause_until"] == "2020-01-01T00:00:00Z"
    for body in (b"", b"{}", {"pause_until": None}, {"pause_until": ZERO}, b"hello"):
        resumed = await _pause(nc, body)
        assert (resumed["paused"], resumed["pause_until"]) == (False, ZERO), body
    assert "pause_until" not in (await info(nc, "ORDERS", "d"))["config"]
    assert await events.wait(3) == [
        (True, "2030-01-01T00:00:00.5Z"),
        (False, "2020-01-01T00:00:00Z"),
        (False, ZERO),  # only a change is announced
    ]
    await nc.close()


@pytest.mark.parametrize(
    ("stream", "consumer", "body", "code", "text"),
    [
        ("ORDERS", "nope", {"pause_until": FAR}, 10014, "consumer not found"),
        ("NOPE", "d", {"pause_until": FAR}, 10059, "stream not found"),
        (
            "ORDERS",
            "d",
            b"{bad",
            10025,
            "invalid JSON: invalid character 'b' looking for beginning of object key string at offset 2",
        ),
        (
            "ORDERS",
            "d",
            b"[1]",
            10025,
            "invalid JSON: json: cannot unmarshal array into Go value of type "
            "server.JSApiConsumerPauseRequest",
        ),
        ("ORDERS", "d", {"x": 1}, 10025, 'invalid JSON: json: unknown field "x"'),
        (
            "ORDERS",
            "d",
            {"pause_until": "tomorrow"},
            10025,
            'invalid JSON: parsing time "tomorrow" as "2006-01-02T15:04:05Z07:00": '
            'cannot parse "tomorrow" as "2006"',
        ),
    ],
)
async def test_pause_errors(server, stream, consumer, body, code, text):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    doc = await _pause(nc, body, consumer, stream)
    assert (doc["error"]["err_code"], doc["error"]["description"]) == (code, text)
    assert (doc["paused"], doc["pause_until"]) == (False, ZERO)
    await nc.close()


async def test_create_keeps_the_offset_and_updates_keep_the_pause(server):
    nc = await connect(server)
    await add_stream(nc)
    events = await Advisories().start(nc)
    config = {"durable_name": "d", "ack_policy": "explicit", "pause_until": "2030-01-01T02:00:00+02:00"}
    created = await create(nc, "ORDERS", config)
    assert created["config"]["pause_until"] == "2030-01-01T02:00:00+02:00"
    assert created["paused"] is True
    same = await create(nc, "ORDERS", config, action="create")  # the same config: no conflict
    assert same["config"]["pause_until"] == "2030-01-01T00:00:00Z"  # an update stores UTC
    updated = await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", "description": "x"})
    assert (updated["config"]["pause_until"], updated["paused"]) == ("2030-01-01T00:00:00Z", True)
    await _pause(nc, b"")
    again = await create(nc, "ORDERS", {**config, "description": "y"})
    assert "pause_until" not in again["config"] and "paused" not in again
    past = {"durable_name": "p", "ack_policy": "explicit", "pause_until": "2020-01-01T00:00:00Z"}
    assert "paused" not in await create(nc, "ORDERS", past)
    # a paused consumer announces itself after each create or update
    assert await events.wait(4) == [
        (True, "2030-01-01T02:00:00+02:00"),
        (True, "2030-01-01T00:00:00Z"),
        (True, "2030-01-01T00:00:00Z"),
        (False, ZERO),
    ]
    await nc.close()


async def test_pull_requests_wait_while_paused(server):
    nc = await connect(server)
    await add_stream(nc)
    for i in range(3):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit", "pause_until": FAR})
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "no_wait": True})
        await inbox.pull("ORDERS", "d", {"batch": 2, "expires": 200 * MS})
        first, second = await inbox.wait(2)
    assert status(first) == ("404", "No Messages")
    assert status(second) == ("408", "Request Timeout")
    assert second.headers["Nats-Pending-Messages"] == "2"
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 2, "expires": 5_000 * MS})
        await asyncio.sleep(0.05)
        assert await inbox.settle() == []
        assert (await info(nc, "ORDERS", "d"))["num_waiting"] == 1
        await _pause(nc, b"")
        await asyncio.sleep(0.05)
        assert await inbox.settle() == []  # resumed, but asleep until something wakes it
        await nc.request("orders.x", b"3", timeout=2)
        msgs = await inbox.wait(2)
    assert [m.data for m in msgs] == [b"0", b"1"]
    await nc.close()


async def test_push_delivery_waits_while_paused(server):
    nc = await connect(server)
    await add_stream(nc)
    await nc.request("orders.x", b"x", timeout=2)
    async with Inbox(nc, "push.here") as inbox:
        await create(nc, "ORDERS", {"durable_name": "p", "deliver_subject": "push.here", "pause_until": FAR})
        await asyncio.sleep(0.05)
        assert await inbox.settle() == []
        await _pause(nc, {"pause_until": "2000-01-01T00:00:00Z"}, "p")
        await asyncio.sleep(0.05)
        assert await inbox.settle() == []  # resumed, but asleep until something wakes it
        await nc.request("orders.x", b"y", timeout=2)
        msgs = await inbox.wait(2)
    assert [m.data for m in msgs] == [b"x", b"y"]
    await nc.close()


async def test_pause_survives_a_restart(server):
    nc = await connect(server)
    await add_stream(nc, storage="file")
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    await _pause(nc, {"pause_until": FAR})
    await nc.close()
    server.restart()
    nc = await connect(server)
    doc = await info(nc, "ORDERS", "d")
    assert (doc["paused"], doc["config"]["pause_until"]) == (True, FAR)
    await nc.request("orders.x", b"x", timeout=2)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "no_wait": True})
        (msg,) = await inbox.wait(1)
    assert status(msg) == ("404", "No Messages")
    await nc.close()


async def test_delivery_resumes_at_the_deadline(clocked):
    nc = clocked.nc
    await add_stream(nc)
    await nc.request("orders.x", b"x", timeout=2)
    events = await Advisories().start(nc)
    await create(nc, "ORDERS", {"durable_name": "d", "ack_policy": "explicit"})
    start = clocked.clock.now_ns()
    until = (await _pause(nc, {"pause_until": _rfc3339(start + 10_000 * MS)}))["pause_until"]
    assert (await info(nc, "ORDERS", "d"))["pause_remaining"] == 10_000 * MS
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "d", {"batch": 1, "expires": 60_000 * MS, "idle_heartbeat": 4_000 * MS})
        await clocked.advance(4)
        await clocked.advance(5.9)
        beats = [status(m) for m in await inbox.settle()]
        assert beats == [("100", "Idle Heartbeat")] * 2
        await clocked.advance(0.1)
        msgs = await inbox.wait(3)
    assert msgs[2].data == b"x"
    assert "paused" not in await info(nc, "ORDERS", "d")
    assert await events.wait(2) == [(True, until), (False, until)]


def _rfc3339(ns: int) -> str:
    from devserver.jetstream.timefmt import format_time  # noqa: PLC0415 - a devserver-only helper

    return format_time(ns)
