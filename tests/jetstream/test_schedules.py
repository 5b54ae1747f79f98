"""Message schedules (`allow_msg_schedules`, `Nats-Schedule`) on both servers: the refusals and
their order, the stored schedule (rolled up), one-off and repeating firings with their headers,
purging a schedule, a restart; the exact deadlines and cron on devserver's manual clock."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import nats
import pytest

from devserver.jetstream.timefmt import format_time
from schemas import subjects as S
from tests.jetstream.conftest import JetStreamHelper, clocked_server

pytestmark = pytest.mark.timeout(60)

T = "Nats-Schedule-Target"
EVERY = {"Nats-Schedule": "@every 1s", T: "s.o"}


async def msgs(js: JetStreamHelper, stream: str = "S") -> list[tuple[int, str, bytes, bytes]]:
    """Every message of the stream: (seq, subject, headers, data)."""
    state = await js.state(stream)
    out = []
    for seq in range(state["first_seq"], state["last_seq"] + 1):
        doc = await js.request(S.stream_msg_get(stream), {"seq": seq})
        if "error" not in doc:
            m = doc["message"]
            out.append(
                (seq, m["subject"], base64.b64decode(m.get("hdrs", "")), base64.b64decode(m.get("data", "")))
            )
    return out


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ({"Nats-Schedule": "@every 500ms", T: "s.o"}, "JSMessageSchedulesPatternInvalidErr"),
        ({"Nats-Schedule": "junk", T: "s.o"}, "JSMessageSchedulesPatternInvalidErr"),
        ({"Nats-Schedule": "@at 2020-01-01", T: "s.o"}, "JSMessageSchedulesPatternInvalidErr"),
        ({"Nats-Schedule": "* * * *", T: "s.o"}, "JSMessageSchedulesPatternInvalidErr"),
        ({"Nats-Schedule": "0 0 0 30 2 *", T: "s.o"}, "JSMessageSchedulesPatternInvalidErr"),
        ({"Nats-Schedule": "@every 1s"}, "JSMessageSchedulesTargetInvalidErr"),
        ({"Nats-Schedule": "@every 1s", T: "s.bad"}, "JSMessageSchedulesTargetInvalidErr"),
        ({"Nats-Schedule": "@every 1s", T: "x.o"}, "JSMessageSchedulesTargetInvalidErr"),
        ({"Nats-Schedule": "@every 1s", T: "s.*"}, "JSMessageSchedulesTargetInvalidErr"),
        ({**EVERY, "Nats-Schedule-TTL": "abc"}, "JSMessageSchedulesTTLInvalidErr"),
        ({**EVERY, "Nats-Schedule-TTL": "5s"}, "JSMessageTTLDisabledErr"),
        ({**EVERY, "Nats-Schedule-Rollup": "all"}, "JSMessageSchedulesRollupInvalidErr"),
        ({**EVERY, "Nats-Rollup": "all"}, "JSMessageSchedulesRollupInvalidErr"),
        ({**EVERY, "Nats-Schedule-Time-Zone": "Nowhere/X"}, "JSMessageSchedulesTimeZoneInvalidErr"),
        ({**EVERY, "Nats-Schedule-Time-Zone": "Europe/Amsterdam"}, "JSMessageSchedulesPatternInvalidErr"),
        ({**EVERY, "Nats-Schedule-Source": "s.o"}, "JSMessageSchedulesSourceInvalidErr"),
        ({**EVERY, "Nats-Schedule-Source": "x.y"}, "JSMessageSchedulesSourceInvalidErr"),
        ({"Nats-Scheduler": "s.x"}, "JSMessageSchedulesSchedulerInvalidErr"),
        ({"Nats-Schedule-Next": "later", "Nats-Scheduler": "s.x"}, "JSMessageSchedulesSchedulerInvalidErr"),
        ({"Nats-Schedule-Next": "purge"}, "JSMessageSchedulesSchedulerInvalidErr"),
        ({"Nats-Schedule-Next": "purge", "Nats-Scheduler": "s.bad"}, "JSMessageSchedulesSchedulerInvalidErr"),
    ],
)
async def test_refused_schedules(jsapi, headers, name):
    await jsapi.create("S", allow_msg_schedules=True)
    await jsapi.rejected("s.bad", name, b"", headers)


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ({"Nats-Schedule": "@every 1s", T: "n.o"}, "JSMessageSchedulesDisabledErr"),
        ({"Nats-Schedule": "junk"}, "JSMessageSchedulesDisabledErr"),
        ({"Nats-Schedule-Next": "purge", "Nats-Scheduler": "n.x"}, "JSMessageSchedulesDisabledErr"),
        ({"Nats-Scheduler": "n.x"}, "JSMessageSchedulesSchedulerInvalidErr"),
    ],
)
async def test_schedules_on_a_plain_stream(jsapi, headers, name):
    await jsapi.create("N")
    await jsapi.rejected("n.a", name, b"", headers)


async def test_stored_schedules_roll_up_their_subject(jsapi):
    config = (await jsapi.create("S", allow_msg_schedules=True))["config"]
    assert (config["allow_rollup_hdrs"], config["deny_purge"]) == (True, False)
    await jsapi.stored("s.c", b"", {"Nats-Schedule": "@hourly", T: "s.o"})
    await jsapi.stored(
        "s.c", b"", {"Nats-Schedule": "0 0 0 1 1 *", T: "s.o", "Nats-Schedule-Time-Zone": "Europe/Amsterdam"}
    )
    await jsapi.stored("s.e", b"", {"Nats-Schedule": ""})  # empty: no schedule, no rollup
    assert [(seq, subject, hdrs) for seq, subject, hdrs, _ in await msgs(jsapi)] == [
        (
            2,
            "s.c",
            b"NATS/1.0\r\nNats-Schedule: 0 0 0 1 1 *\r\nNats-Schedule-Target: s.o\r\n"
            b"Nats-Schedule-Time-Zone: Europe/Amsterdam\r\nNats-Rollup: sub\r\n\r\n",
        ),
        (3, "s.e", b"NATS/1.0\r\nNats-Schedule: \r\n\r\n"),
    ]


async def test_one_off_fires_and_is_purged(jsapi, eventually):
    await jsapi.create("S", allow_msg_schedules=True)
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # already due: fires at once
    headers = {"Nats-Schedule": f"@at {at}", T: "s.out", "Foo": "bar", "Nats-Msg-Id": "x1"}
    await jsapi.stored("s.at", b"hi", headers)

    async def fired():
        return (await jsapi.state("S"))["last_seq"] == 2

    assert await eventually(fired)
    assert await msgs(jsapi) == [
        (
            2,
            "s.out",
            b"NATS/1.0\r\nFoo: bar\r\nNats-Scheduler: s.at\r\nNats-Schedule-Next: purge\r\n\r\n",
            b"hi",
        )
    ]


async def test_repeating_with_source_ttl_and_rollup(jsapi, eventually):
    await jsapi.create("S", allow_msg_schedules=True, allow_msg_ttl=True)
    await jsapi.stored("s.src", b"from-source", {"X": "1"})
    headers = {**EVERY, T: "s.out", "Nats-Schedule-TTL": "5s", "Nats-Schedule-Source": "s.src"}
    await jsapi.stored("s.ev", b"ev", {**headers, "Nats-Schedule-Rollup": "sub"})

    async def fired():
        found = [m for m in await msgs(jsapi) if m[1] == "s.out"]
        return found[0] if found else None

    _, _, hdrs, data = await eventually(fired)
    lines = hdrs.split(b"\r\n")
    assert (data, lines[:3], lines[4:]) == (
        b"from-source",
        [b"NATS/1.0", b"X: 1", b"Nats-Scheduler: s.ev"],
        [b"Nats-TTL: 5s", b"Nats-Rollup: sub", b"", b""],
    )
    assert lines[3].startswith(b"Nats-Schedule-Next: ") and lines[3].endswith(b"Z")
    # a client may purge the schedule
    await jsapi.stored("s.x", b"", {"Nats-Schedule-Next": "purge", "Nats-Scheduler": "s.ev"})
    await jsapi.rejected(
        "s.y",
        "JSMessageSchedulesSchedulerInvalidErr",
        b"",
        {"Nats-Schedule-Next": "purge", "Nats-Scheduler": "s.src"},
    )
    assert "s.ev" not in [m[1] for m in await msgs(jsapi)]


async def test_schedules_survive_a_restart(server, eventually):
    js = JetStreamHelper(await nats.connect(server.url, allow_reconnect=False))
    try:
        await js.create("S", allow_msg_schedules=True)
        await js.stored("s.ev", b"ev", EVERY)
    finally:
        await js.nc.close()
    server.restart()
    js = JetStreamHelper(await nats.connect(server.url, allow_reconnect=False))
    try:

        async def fired():
            return "s.o" in [m[1] for m in await msgs(js)]

        assert await eventually(fired, timeout=5)
    finally:
        await js.nc.close()


# -- devserver on a manual clock


@pytest.fixture
async def clocked():
    async with clocked_server(start_ns=1_800_000_000_300_000_000) as clocked:  # 2027-01-15T08:00:00.3Z
        yield clocked


async def outputs(js: JetStreamHelper) -> list[bytes]:
    return [hdrs for _, subject, hdrs, _ in await msgs(js) if subject == "s.o"]


async def test_every_on_the_manual_clock(clocked):
    js = clocked.js
    await js.create("S", allow_msg_schedules=True)
    await js.stored("s.ev", b"", {"Nats-Schedule": "@every 10s", T: "s.o"})  # at 08:00:00.3
    await clocked.advance(9.6)  # 08:00:09.9
    assert await outputs(js) == []
    await clocked.advance(0.1)  # 08:00:10: round(ts) + 10s
    assert await outputs(js) == [
        b"NATS/1.0\r\nNats-Scheduler: s.ev\r\nNats-Schedule-Next: 2027-01-15T08:00:20Z\r\n\r\n"
    ]
    await clocked.advance(10)
    assert len(await outputs(js)) == 2


async def test_at_and_cron_on_the_manual_clock(clocked):
    js = clocked.js
    await js.create("S", allow_msg_schedules=True)
    now = clocked.clock.now_ns()
    at = format_time(now + 60_000_000_000).replace(".3Z", "Z")
    await js.stored("s.at", b"", {"Nats-Schedule": f"@at {at}", T: "s.o"})
    await js.stored("s.cron", b"", {"Nats-Schedule": "0 */5 * * * *", T: "s.o"})
    await clocked.advance(59.6)  # 08:00:59.9
    assert await outputs(js) == []
    await clocked.advance(0.1)  # 08:01:00: the @at is due, then purged
    assert await outputs(js) == [b"NATS/1.0\r\nNats-Scheduler: s.at\r\nNats-Schedule-Next: purge\r\n\r\n"]
    assert "s.at" not in [m[1] for m in await msgs(js)]
    await clocked.advance(240)  # 08:05:00
    assert (await outputs(js))[-1] == (
        b"NATS/1.0\r\nNats-Scheduler: s.cron\r\nNats-Schedule-Next: 2027-01-15T08:10:00Z\r\n\r\n"
    )


async def test_a_past_at_fires_after_the_minimum_delay(clocked):
    js = clocked.js
    await js.create("S", allow_msg_schedules=True)
    await js.stored("s.at", b"", {"Nats-Schedule": "@at 2020-01-01T00:00:00Z", T: "s.o"})
    await clocked.advance(0.2)
    assert await outputs(js) == []
    await clocked.advance(0.05)  # nats-server's timer waits 250 ms at least
    assert len(await outputs(js)) == 1


async def test_a_plain_message_ends_the_schedule(clocked):
    js = clocked.js
    await js.create("S", allow_msg_schedules=True)
    await js.stored("s.ev", b"", {"Nats-Schedule": "@every 10s", T: "s.o"})
    await js.stored("s.ev", b"plain")
    await clocked.advance(30)
    assert await outputs(js) == []
