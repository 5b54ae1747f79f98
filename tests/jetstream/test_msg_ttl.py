"""Per-message TTLs (`Nats-TTL`, `allow_msg_ttl`) and subject delete markers
(`subject_delete_marker_ttl`), on both servers with real one-second TTLs; the exact deadlines
on devserver's manual clock."""

from __future__ import annotations

import base64
from typing import Any

import nats
import pytest

from schemas import errors
from schemas import subjects as S
from tests.jetstream.conftest import SECOND, JetStreamHelper

pytestmark = pytest.mark.timeout(60)

MARKER_1S = b"NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: 1s\r\nNats-Rollup: sub\r\n\r\n"
MARKER_5S = MARKER_1S.replace(b"1s", b"5s")

# Nats-TTL value -> the outcome on a stream that allows TTLs and on one that does not
TTL_VALUES = [
    ("5s", "stored", "JSMessageTTLDisabledErr"),
    ("1m", "stored", "JSMessageTTLDisabledErr"),
    ("1h30m", "stored", "JSMessageTTLDisabledErr"),
    ("1.5s", "stored", "JSMessageTTLDisabledErr"),
    ("+5s", "stored", "JSMessageTTLDisabledErr"),
    ("10", "stored", "JSMessageTTLDisabledErr"),  # plain digits are seconds
    ("01", "stored", "JSMessageTTLDisabledErr"),
    ("never", "stored", "JSMessageTTLDisabledErr"),
    ("NEVER", "stored", "JSMessageTTLDisabledErr"),
    ("00", "stored", "stored"),  # digits worth zero: no TTL at all
    ("0", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),  # a Go duration below 1s
    ("0s", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),
    ("500ms", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),
    (".5s", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),
    ("-5s", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),
    ("-1", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),
    ("5S", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),
    ("5 s", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),
    ("abc", "JSMessageTTLInvalidErr", "JSMessageTTLInvalidErr"),
]


async def outcome(jsapi: JetStreamHelper, subject: str, value: str) -> str:
    ack = await jsapi.publish(subject, headers={"Nats-TTL": value})
    if "error" not in ack:
        return "stored"
    (name,) = [
        n for n in ("JSMessageTTLDisabledErr", "JSMessageTTLInvalidErr") if errors.error(n) == ack["error"]
    ]
    return name


async def last_msg(jsapi: JetStreamHelper, stream: str, subject: str) -> dict[str, Any] | None:
    """The newest message on `subject` with headers and data decoded, or None."""
    doc = await jsapi.request(S.stream_msg_get(stream), {"last_by_subj": subject})
    if "error" in doc:
        return None
    msg = doc["message"]
    msg["hdrs"] = base64.b64decode(msg.get("hdrs", ""))
    msg["data"] = base64.b64decode(msg.get("data", ""))
    return msg


# -- the header


async def test_ttl_values(jsapi):
    await jsapi.create("T", allow_msg_ttl=True)
    await jsapi.create("N")
    for value, allowed, disabled in TTL_VALUES:
        assert (await outcome(jsapi, "t.a", value), await outcome(jsapi, "n.a", value)) == (
            allowed,
            disabled,
        ), value


async def test_an_invalid_ttl_is_refused_after_the_sequence_checks(jsapi):
    await jsapi.create("T", allow_msg_ttl=True)
    await jsapi.create("N")
    await jsapi.stored("t.a")
    wrong = {"Nats-Expected-Last-Sequence": "9"}
    await jsapi.rejected("t.a", "JSStreamWrongLastSequenceErrF", headers={**wrong, "Nats-TTL": "abc"}, seq=1)
    await jsapi.rejected("n.a", "JSStreamWrongLastSequenceErrF", headers={**wrong, "Nats-TTL": "abc"}, seq=0)
    await jsapi.rejected("n.a", "JSMessageTTLDisabledErr", headers={**wrong, "Nats-TTL": "5s"})


# -- expiry


async def test_a_message_leaves_when_its_ttl_passes(jsapi, eventually):
    await jsapi.create("T", allow_msg_ttl=True)
    await jsapi.stored("t.short", headers={"Nats-TTL": "1s"})
    await jsapi.stored("t.long", headers={"Nats-TTL": "1h"})
    await jsapi.stored("t.plain")

    async def expired():
        state = await jsapi.state("T")
        return state if state["messages"] == 2 else None

    state = await eventually(expired, timeout=5)
    assert state and (state["first_seq"], state["num_subjects"]) == (2, 2)
    assert await last_msg(jsapi, "T", "t.short") is None
    assert (await last_msg(jsapi, "T", "t.long"))["hdrs"] == b"NATS/1.0\r\nNats-TTL: 1h\r\n\r\n"


async def test_never_outlives_max_age_and_a_longer_ttl_does_not(jsapi, eventually):
    await jsapi.create("A", allow_msg_ttl=True, max_age=SECOND)
    await jsapi.stored("a.long", headers={"Nats-TTL": "1h"})
    await jsapi.stored("a.never", headers={"Nats-TTL": "never"})
    await jsapi.stored("a.plain")

    async def expired():
        state = await jsapi.state("A")
        return state if state["messages"] == 1 else None

    state = await eventually(expired, timeout=5)
    assert state and (state["first_seq"], state["last_seq"]) == (2, 3)
    assert (await last_msg(jsapi, "A", "a.never"))["seq"] == 2


async def test_a_consumer_stops_counting_an_expired_message(jsapi, eventually):
    await jsapi.create("T", allow_msg_ttl=True)
    await jsapi.ok(S.consumer_create_named("T", "C"), {"stream_name": "T", "config": {"durable_name": "C"}})
    await jsapi.stored("t.a", headers={"Nats-TTL": "1s"})
    await jsapi.stored("t.b")

    async def pending_one():
        info = await jsapi.ok(S.consumer_info("T", "C"))
        return info["num_pending"] == 1

    assert await eventually(pending_one, timeout=5)


# -- subject delete markers


async def test_max_age_leaves_a_marker_for_a_subjects_last_message(jsapi, eventually):
    await jsapi.create("M", max_age=SECOND, subject_delete_marker_ttl=SECOND)
    for subject in ("m.x", "m.x", "m.y"):
        await jsapi.stored(subject, b"data")

    async def markers():
        found = [await last_msg(jsapi, "M", s) for s in ("m.x", "m.y")]
        return found if all(m and m["hdrs"] == MARKER_1S for m in found) else None

    found = await eventually(markers, timeout=5, interval=0.01)
    assert found, "no markers"
    assert sorted(m["seq"] for m in found) == [4, 5]
    assert all(m["data"] == b"" for m in found)

    async def empty():
        state = await jsapi.state("M")
        return state if state["messages"] == 0 else None

    state = await eventually(empty, timeout=5)
    assert state and state["last_seq"] == 5  # an expiring marker leaves no marker behind


async def test_a_ttl_leaves_a_marker_too(jsapi, eventually):
    await jsapi.create("M", subject_delete_marker_ttl=5 * SECOND, max_msgs_per_subject=1)
    await jsapi.stored("m.x", b"data", headers={"Nats-TTL": "1s"})  # one per subject: not raised

    async def marker():
        msg = await last_msg(jsapi, "M", "m.x")
        return msg if msg and msg["seq"] == 2 else None

    msg = await eventually(marker, timeout=5)
    assert msg and (msg["hdrs"], msg["data"]) == (MARKER_5S, b"")
    assert (await jsapi.state("M"))["messages"] == 1


async def test_a_ttl_below_the_marker_ttl_is_raised(jsapi):
    await jsapi.create("M", subject_delete_marker_ttl=5 * SECOND)
    await jsapi.stored("m.x", headers={"Nats-TTL": "1s", "Foo": "bar"})
    await jsapi.stored("m.y", headers={"Nats-TTL": "1m"})
    assert (await last_msg(jsapi, "M", "m.x"))["hdrs"] == b"NATS/1.0\r\nFoo: bar\r\nNats-TTL: 5\r\n\r\n"
    assert (await last_msg(jsapi, "M", "m.y"))["hdrs"] == b"NATS/1.0\r\nNats-TTL: 1m\r\n\r\n"


async def test_marker_ttl_turns_on_ttls_and_rollups(jsapi):
    doc = await jsapi.create("M", subject_delete_marker_ttl=SECOND, deny_purge=True)
    config = doc["config"]
    assert (config["allow_msg_ttl"], config["allow_rollup_hdrs"], config["deny_purge"]) == (True, True, False)
    assert config["metadata"]["_nats.req.level"] == "1"


@pytest.mark.parametrize(
    ("config", "err"),
    [
        ({"subject_delete_marker_ttl": SECOND // 2}, "subject delete marker TTL must be at least 1 second"),
        ({"subject_delete_marker_ttl": -1}, "subject delete marker TTL must not be negative"),
        (
            {"subject_delete_marker_ttl": SECOND, "pedantic": True},
            "subject delete marker cannot be set if message TTLs are disabled",
        ),
        (
            {"subject_delete_marker_ttl": SECOND, "allow_msg_ttl": True, "pedantic": True},
            "subject delete marker cannot be set if roll-ups are disabled",
        ),
    ],
)
async def test_marker_ttl_config_errors(jsapi, config, err):
    body = {"name": "M", "subjects": ["m.>"], **config}
    await jsapi.fails(S.stream_create("M"), body, "JSStreamInvalidConfigF", err=err)


# -- restart


async def test_ttls_survive_a_restart(server, eventually):
    js = JetStreamHelper(await nats.connect(server.url, allow_reconnect=False))
    try:
        await js.create("T", allow_msg_ttl=True)
        await js.stored("t.a", headers={"Nats-TTL": "1s"})
        await js.stored("t.b")
    finally:
        await js.nc.close()
    server.restart()
    js = JetStreamHelper(await nats.connect(server.url, allow_reconnect=False))
    try:

        async def expired():
            state = await js.state("T")
            return state if state["messages"] == 1 else None

        state = await eventually(expired, timeout=5)
        assert state and state["first_seq"] == 2
    finally:
        await js.nc.close()


# -- devserver on a manual clock


async def test_ttl_deadlines_on_the_manual_clock(clocked):
    js = clocked.js
    await js.create("T", allow_msg_ttl=True)
    await js.stored("t.a", headers={"Nats-TTL": "1m"})
    await js.stored("t.b", headers={"Nats-TTL": "90"})
    await clocked.advance(59.9)
    assert (await js.state("T"))["messages"] == 2
    await clocked.advance(0.1)
    assert (await js.state("T"))["first_seq"] == 2
    await clocked.advance(30)
    assert (await js.state("T"))["messages"] == 0


async def test_markers_on_the_manual_clock(clocked):
    js = clocked.js
    await js.create("M", subject_delete_marker_ttl=30 * SECOND, max_age=3600 * SECOND)
    await js.stored("m.x", headers={"Nats-TTL": "1m"})
    await js.stored("m.y")
    await clocked.advance(60)
    marker = await last_msg(js, "M", "m.x")
    assert (marker["seq"], marker["hdrs"]) == (3, MARKER_1S.replace(b"1s", b"30s"))
    await clocked.advance(30)
    state = await js.state("M")
    assert (state["messages"], state["last_seq"]) == (1, 3)
    await clocked.advance(3600)
    marker = await last_msg(js, "M", "m.y")
    assert (marker["seq"], marker["hdrs"]) == (4, MARKER_1S.replace(b"1s", b"30s"))
