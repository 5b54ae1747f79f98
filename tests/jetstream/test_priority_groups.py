"""Priority groups (2.11) on pull requests, on both servers: the group fields' refusals, the
pinned client (`Nats-Pin-Id`, 423s, UNPIN, advisories, ConsumerInfo `priority_groups`, a restart
forgets the pin), overflow thresholds and the prioritized order. `priority_timeout` runs on the
server clock: ManualClock tests at the end (devserver)."""

from __future__ import annotations

import json

import pytest

from schemas import subjects
from tests.jetstream.consumer_support import (
    Inbox,
    add_stream,
    api,
    checked,
    connect,
    create,
    info,
    status,
    wait_for,
)

MS = 1_000_000
ZERO_TIME = "0001-01-01T00:00:00Z"
POLICIES = {
    "none": {},
    "pinned_client": {"priority_policy": "pinned_client", "priority_groups": ["A"]},
    "overflow": {"priority_policy": "overflow", "priority_groups": ["A", "B"]},
    "prioritized": {"priority_policy": "prioritized", "priority_groups": ["A"]},
}


async def _setup(nc, policy: str, **extra) -> None:
    await add_stream(nc, **extra.pop("stream", {}))
    config = {"durable_name": "C", "ack_policy": "explicit", **POLICIES[policy], **extra}
    assert "error" not in await create(nc, "ORDERS", config)


async def _publish(nc, *bodies: bytes) -> None:
    for body in bodies:
        await nc.request("orders.x", body, timeout=2)


class Events:
    """Pinned and unpinned advisories of ORDERS > C, schema-checked, in arrival order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (kind, pinned_id or reason)

    async def listen(self, nc) -> Events:
        async def cb(msg) -> None:
            doc = checked(json.loads(msg.data))
            assert (doc["account"], doc["stream"], doc["consumer"], doc["group"]) == (
                "$G",
                "ORDERS",
                "C",
                "A",
            )
            kind = doc["type"].rsplit(".", 1)[1]
            self.seen.append((kind, doc.get("pinned_id") or doc.get("reason")))

        for subject in (subjects.ADVISORY_CONSUMER_PINNED, subjects.ADVISORY_CONSUMER_UNPINNED):
            await nc.subscribe(subject, cb=cb)
        await nc.flush()
        return self


async def _groups(nc) -> list:
    return (await info(nc, "ORDERS", "C"))["priority_groups"]


async def _waiting(nc, n: int) -> None:
    """Until the server holds `n` requests (nats-server takes them off the API's path)."""

    async def check() -> bool:
        return (await info(nc, "ORDERS", "C"))["num_waiting"] == n

    await wait_for(check)


def _bad(text: str) -> tuple[str, str]:
    return "400", f"Bad Request - {text}"


@pytest.mark.parametrize(
    ("policy", "body", "answer"),
    [
        ("pinned_client", {"batch": 1}, _bad("Priority Group missing")),
        ("pinned_client", {"group": "X"}, _bad("Invalid Priority Group")),
        ("pinned_client", {"group": "A", "min_pending": 1}, _bad("Not a Overflow Priority consumer")),
        ("pinned_client", {"group": "A", "priority": 10}, _bad("Priority must be between 0 and 9")),
        ("overflow", {"group": "A", "id": "x"}, _bad("Not a Pinned Client Priority consumer")),
        ("overflow", {"group": "B", "min_ack_pending": -1, "no_wait": True}, ("404", "No Messages")),
        ("prioritized", {"group": "A", "priority": -1}, _bad("Priority must be between 0 and 9")),
        ("prioritized", {"priority": 3}, _bad("Priority Group missing")),
        ("none", {"group": "anything", "no_wait": True}, ("404", "No Messages")),  # group ignored
        ("none", {"min_pending": 2}, _bad("Not a Overflow Priority consumer")),
        ("none", {"id": "x"}, _bad("Not a Pinned Client Priority consumer")),
    ],
)
async def test_request_refusals(server, policy, body, answer):
    nc = await connect(server)
    await _setup(nc, policy)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "C", body)
        (msg,) = await inbox.wait(1)
    assert status(msg) == answer
    assert not msg.headers.get("Nats-Pending-Messages")
    await nc.close()


async def test_first_grouped_request_is_pinned(server):
    nc = await connect(server)
    await _setup(nc, "pinned_client")
    events = await Events().listen(nc)
    assert await _groups(nc) == [{"group": "A", "pinned_ts": ZERO_TIME}]
    async with Inbox(nc) as plain, Inbox(nc) as a, Inbox(nc) as b:
        await plain.pull("ORDERS", "C", b"1")  # no JSON body: served, nobody pinned
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A", "expires": 5_000 * MS})
        await b.pull("ORDERS", "C", {"batch": 1, "group": "A", "expires": 5_000 * MS})
        await _publish(nc, b"0", b"1")
        (first,) = await plain.wait(1)
        (pinned,) = await a.wait(1)
        pin = pinned.headers["Nats-Pin-Id"]
        assert (first.headers, len(pin), pinned.data) == ({"Nats-Pin-Id": ""}, 22, b"1")
        groups = await _groups(nc)
        assert [(g["group"], g["pinned_client_id"]) for g in groups] == [("A", pin)]
        assert groups[0]["pinned_ts"] != ZERO_TIME
        # another client's id is refused; b (no id) waits while the pinned client pulls
        await b.pull("ORDERS", "C", {"group": "A", "id": "other"})
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A", "id": pin, "expires": 5_000 * MS})
        await _publish(nc, b"2")
        assert status((await b.wait(1))[0]) == ("423", "Nats-Pin-Id mismatch")
        again = (await a.wait(2))[1]
        assert (again.data, again.headers["Nats-Pin-Id"]) == (b"2", pin)
        assert (await info(nc, "ORDERS", "C"))["num_waiting"] == 1
    assert events.seen == [("consumer_group_pinned", pin)]
    await nc.close()


async def test_unpin_lets_the_next_client_in_and_drops_stale_pins(server):
    nc = await connect(server)
    await _setup(nc, "pinned_client")
    events = await Events().listen(nc)
    async with Inbox(nc) as a, Inbox(nc) as b:
        await a.pull("ORDERS", "C", {"batch": 3, "group": "A", "expires": 5_000 * MS})
        await _publish(nc, b"0")
        old = (await a.wait(1))[0].headers["Nats-Pin-Id"]
        doc = await api(nc, subjects.consumer_unpin("ORDERS", "C"), {"group": "A"})
        assert doc == {"type": "io.nats.jetstream.api.v1.consumer_unpin_response"}
        assert await _groups(nc) == [{"group": "A", "pinned_ts": ZERO_TIME}]
        await b.pull("ORDERS", "C", {"batch": 1, "group": "A", "id": old, "max_bytes": 1000})
        await b.pull("ORDERS", "C", {"batch": 1, "group": "A", "expires": 5_000 * MS})
        await _publish(nc, b"1")
        # a's request holds the old pin: dropped with its counts, like b's first
        dropped_a = (await a.wait(2))[1]
        dropped_b, got = await b.wait(2)
    wrong = ("423", "Nats-Wrong-Pin-Id")
    assert (status(dropped_a), dropped_a.headers["Nats-Pending-Messages"]) == (wrong, "2")
    assert (status(dropped_b), dropped_b.headers["Nats-Pending-Bytes"]) == (wrong, "1000")
    new = got.headers["Nats-Pin-Id"]
    assert (got.data, new != old) == (b"1", True)
    assert events.seen == [
        ("consumer_group_pinned", old),
        ("consumer_group_unpinned", "admin"),
        ("consumer_group_pinned", new),
    ]
    await nc.close()


async def test_pin_headers_follow_the_stored_ones(server):
    nc = await connect(server)
    await _setup(nc, "pinned_client", headers_only=True)
    await nc.publish("orders.x", b"abc", headers={"X-A": "1"})
    async with Inbox(nc) as a:
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A", "expires": 5_000 * MS})
        (msg,) = await a.wait(1)
    assert list(msg.headers) == ["X-A", "Nats-Msg-Size", "Nats-Pin-Id"]
    await nc.close()


async def test_a_request_too_small_for_its_first_message_loses_the_pin(server):
    nc = await connect(server)
    await _setup(nc, "pinned_client")
    events = await Events().listen(nc)
    await _publish(nc, b"x" * 100)
    async with Inbox(nc) as a:
        await a.pull("ORDERS", "C", {"batch": 3, "group": "A", "max_bytes": 20, "expires": 5_000 * MS})
        (msg,) = await a.wait(1)
    assert status(msg) == ("409", "Message Size Exceeds MaxBytes")
    assert await _groups(nc) == [{"group": "A", "pinned_ts": ZERO_TIME}]
    assert [kind for kind, _ in events.seen] == ["consumer_group_pinned"]  # no unpinned advisory
    await nc.close()


async def test_a_restart_forgets_the_pin(server):
    nc = await connect(server)
    await _setup(nc, "pinned_client", stream={"storage": "file"})
    async with Inbox(nc) as a:
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A", "expires": 5_000 * MS})
        await _publish(nc, b"0")
        pin = (await a.wait(1))[0].headers["Nats-Pin-Id"]
    await nc.close()
    server.restart()
    nc = await connect(server)
    assert await _groups(nc) == [{"group": "A", "pinned_ts": ZERO_TIME}]
    async with Inbox(nc) as a:
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A", "id": pin, "expires": 5_000 * MS})
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A", "expires": 5_000 * MS})
        await _publish(nc, b"1")
        stale, got = await a.wait(2)
    assert status(stale) == ("423", "Nats-Wrong-Pin-Id")
    assert got.headers["Nats-Pin-Id"] not in ("", pin)
    await nc.close()


async def test_overflow_requests_wait_for_their_thresholds(server):
    nc = await connect(server)
    await _setup(nc, "overflow")
    await _publish(nc, b"0", b"1", b"2")
    assert await _groups(nc) == [{"group": "A", "pinned_ts": ZERO_TIME}]
    async with Inbox(nc) as a, Inbox(nc) as b, Inbox(nc) as c:
        await a.pull("ORDERS", "C", {"batch": 5, "group": "A", "min_pending": 4, "expires": 5_000 * MS})
        await b.pull("ORDERS", "C", {"batch": 1, "group": "B", "min_ack_pending": 1, "expires": 5_000 * MS})
        await _waiting(nc, 2)
        await _publish(nc, b"3")  # 4 pending: a takes one, then 1 awaits its ack: b takes one
        (to_a,) = await a.wait(1)
        (to_b,) = await b.wait(1)
        await c.pull("ORDERS", "C", {"batch": 1, "group": "A", "expires": 5_000 * MS})
        (to_c,) = await c.wait(1)
        doc = await info(nc, "ORDERS", "C")
    assert (to_a.data, to_b.data, to_c.data) == (b"0", b"1", b"2")
    assert "Nats-Pin-Id" not in (to_a.headers or {})
    assert (doc["num_waiting"], doc["num_pending"], doc["num_ack_pending"]) == (1, 1, 3)
    await nc.close()


async def test_prioritized_requests_by_priority_then_arrival(server):
    nc = await connect(server)
    await _setup(nc, "prioritized", ack_policy="none")
    bodies = {
        "p5a": {"batch": 2, "group": "A", "priority": 5},
        "p0": {"batch": 2, "group": "A"},
        "p5b": {"batch": 2, "group": "A", "priority": 5},
        "p2": {"batch": 1, "group": "A", "priority": 2},
        "plain": b"2",  # no group fields: last
    }
    inboxes = {name: Inbox(nc) for name in bodies}
    for name, body in bodies.items():
        await inboxes[name].__aenter__()
        await inboxes[name].pull(
            "ORDERS", "C", body if isinstance(body, bytes) else {**body, "expires": 5_000 * MS}
        )
    await _waiting(nc, 5)
    await _publish(nc, *(b"%d" % i for i in range(9)))
    got = {}
    for name, inbox in inboxes.items():
        got[name] = [m.data for m in await inbox.wait(1 if name == "p2" else 2)]
        await inbox.__aexit__()
    assert got == {
        "p0": [b"0", b"1"],
        "p2": [b"2"],
        "p5a": [b"3", b"5"],
        "p5b": [b"4", b"6"],
        "plain": [b"7", b"8"],
    }
    await nc.close()


async def test_priority_timeout_counts_from_the_pinned_clients_last_request(clocked):
    nc = clocked.nc
    await _setup(nc, "pinned_client", priority_timeout=10_000 * MS)
    events = await Events().listen(nc)
    async with Inbox(nc) as a, Inbox(nc) as b:
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A"})
        await _publish(nc, b"0")
        pin = (await a.wait(1))[0].headers["Nats-Pin-Id"]
        await b.pull("ORDERS", "C", {"batch": 1, "group": "A"})
        await clocked.advance(6)
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A", "id": pin})  # the timeout starts over
        await clocked.advance(6)
        assert (await _groups(nc))[0]["pinned_client_id"] == pin
        await _publish(nc, b"1", b"2")  # a delivery is no request: a's timeout stays at 16 s
        assert [m.data for m in await a.wait(2)] == [b"0", b"1"]
        await clocked.advance(3.9)
        assert b.msgs == []
        await clocked.advance(0.2)  # priority_timeout after a's last request: b is pinned
        (got,) = await b.wait(1)
    new = got.headers["Nats-Pin-Id"]
    assert (got.data, new != pin) == (b"2", True)
    assert events.seen == [
        ("consumer_group_pinned", pin),
        ("consumer_group_unpinned", "timeout"),
        ("consumer_group_pinned", new),
    ]


async def test_priority_timeout_default_is_two_minutes(clocked):
    nc = clocked.nc
    await _setup(nc, "pinned_client")
    assert (await info(nc, "ORDERS", "C"))["config"]["priority_timeout"] == 120_000 * MS
    async with Inbox(nc) as a:
        await a.pull("ORDERS", "C", {"batch": 1, "group": "A"})
        await _publish(nc, b"0")
        await a.wait(1)
    await clocked.advance(119.9)
    assert "pinned_client_id" in (await _groups(nc))[0]
    await clocked.advance(0.2)
    assert await _groups(nc) == [{"group": "A", "pinned_ts": ZERO_TIME}]
