"""Mirrors and sources replicate: sequences, subjects, headers, times, info blocks, updates,
restarts and an origin that comes late, on both servers (nats-server copies asynchronously, so
every check polls with a deadline)."""

from __future__ import annotations

import base64
import hashlib
import re

import nats
import pytest

from schemas import errors
from schemas import subjects as S
from tests.jetstream.conftest import JetStreamHelper, wait_for

pytestmark = pytest.mark.timeout(60)

SOURCE_HEADER = re.compile(r"^(\S+) (\d+) (\S+) (\S+) (\S+) (\w{8})$")
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
NOT_FOUND = {"code": 404, "err_code": 10059, "description": "stream not found"}


def identity(created: str) -> str:
    """nats-server's 8-character hash of a stream's creation time (the header's last field)."""
    return "".join(DIGITS[b % 62] for b in hashlib.sha256(created.encode()).digest()[:8])


async def connect(server) -> JetStreamHelper:
    return JetStreamHelper(await nats.connect(server.url, allow_reconnect=False))


@pytest.fixture
async def js(server):
    helper = await connect(server)
    yield helper
    await helper.nc.close()


async def messages(js: JetStreamHelper, name: str) -> list[dict]:
    """Every message of a stream, headers and data decoded."""
    state = await js.state(name)
    out = []
    for seq in range(state["first_seq"], state["last_seq"] + 1):
        doc = await js.request(S.stream_msg_get(name), {"seq": seq})
        if "message" in doc:
            msg = doc["message"]
            msg["hdrs"] = base64.b64decode(msg.get("hdrs", "")).decode()
            msg["data"] = base64.b64decode(msg.get("data", "")).decode()
            out.append(msg)
    return out


async def filled(js: JetStreamHelper, name: str, last_seq: int, timeout: float = 5.0) -> dict:
    """The stream's info once its last sequence reaches `last_seq`."""

    async def reached():
        info = await js.info(name)
        return info if info["state"]["last_seq"] >= last_seq else None

    info = await wait_for(reached, timeout)
    assert info, f"{name} did not reach sequence {last_seq}: {(await js.info(name))['state']}"
    return info


def source_fields(msg: dict) -> tuple[str, ...]:
    (line,) = [h for h in msg["hdrs"].split("\r\n") if h.startswith("Nats-Stream-Source: ")]
    match = SOURCE_HEADER.match(line.removeprefix("Nats-Stream-Source: "))
    assert match, line
    return match.groups()


async def test_mirror_keeps_sequences_subjects_headers_and_times(js):
    await js.create("O", subjects=["o.>"])
    for i in range(5):
        await js.stored(f"o.{i % 2}", f"m{i}".encode(), headers={"Nats-Msg-Id": f"id{i}", "X": "y"})
    await js.ok(S.stream_msg_delete("O"), {"seq": 2})
    created = await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
    assert created["mirror"] == {"name": "O", "lag": 0, "active": -1}
    assert "subjects" not in created["config"] and "duplicate_window" not in created["config"]

    info = await filled(js, "M", 5)
    origin = await js.info("O")
    assert info["state"] == {**origin["state"], "consumer_count": 0}  # a gap where seq 2 was
    assert await messages(js, "M") == await messages(js, "O")
    assert info["mirror"]["name"] == "O" and info["mirror"]["lag"] == 0
    assert 0 <= info["mirror"]["active"] < 5_000_000_000 and "error" not in info["mirror"]

    await js.stored("o.1", b"later")  # keeps following
    await filled(js, "M", 6)
    assert (await messages(js, "M"))[-1]["data"] == "later"
    # the internal consumer does not show on the origin (a limits stream)
    assert origin["state"]["consumer_count"] == 0
    assert (await js.ok(S.consumer_list("O")))["consumers"] == []


async def test_mirror_filter_transforms_and_start_sequence(js):
    await js.create("O", subjects=["o.>"])
    for i in range(6):
        await js.stored(f"o.{'ab'[i % 2]}", f"m{i}".encode())
    await js.ok(S.stream_purge("O"), {"seq": 3})  # the origin starts at 3
    await js.ok(S.stream_create("MF"), {"name": "MF", "mirror": {"name": "O", "filter_subject": "o.b"}})
    transforms = [{"src": "o.a", "dest": "x.a"}, {"src": "o.b", "dest": ""}]
    await js.ok(
        S.stream_create("MT"), {"name": "MT", "mirror": {"name": "O", "subject_transforms": transforms}}
    )
    await js.ok(S.stream_create("MS"), {"name": "MS", "mirror": {"name": "O", "opt_start_seq": 5}})
    await js.ok(S.stream_create("MX"), {"name": "MX", "mirror": {"name": "O", "opt_start_seq": 50}})

    info = await filled(js, "MF", 6)
    assert [(m["seq"], m["subject"]) for m in await messages(js, "MF")] == [(4, "o.b"), (6, "o.b")]
    assert (info["state"]["first_seq"], info["state"]["num_deleted"]) == (4, 1)
    assert info["mirror"]["filter_subject"] == "o.b"

    info = await filled(js, "MT", 6)
    assert [m["subject"] for m in await messages(js, "MT")] == ["x.a", "o.b", "x.a", "o.b"]
    assert info["mirror"]["subject_transforms"] == transforms

    await filled(js, "MS", 6)
    assert [m["seq"] for m in await messages(js, "MS")] == [5, 6]

    async def positioned():
        state = await js.state("MX")
        return state["first_seq"] == 50 or None

    assert await wait_for(positioned)  # an empty mirror starts where its consumer does
    assert (await js.state("MX"))["last_seq"] == 49


async def test_mirror_takes_no_publishes_and_no_subjects(js):
    await js.create("O", subjects=["o.>"])
    await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
    with pytest.raises(nats.errors.NoRespondersError):
        await js.nc.request("M", b"x", timeout=1)
    await js.fails(
        S.stream_update("M"),
        {"name": "M", "subjects": ["m"], "mirror": {"name": "O"}},
        "JSMirrorWithSubjectsErr",
    )


async def test_sources_get_new_sequences_and_a_source_header(js):
    origin = await js.create("O", subjects=["o.>"])
    for i in range(4):
        await js.stored(f"o.{'ab'[i % 2]}", f"m{i}".encode(), headers={"Nats-Msg-Id": f"id{i}"})
    sources = [
        {"name": "O", "filter_subject": "o.b"},
        {"name": "O", "subject_transforms": [{"src": "o.a", "dest": "y.a"}]},
    ]
    await js.ok(S.stream_create("S"), {"name": "S", "sources": sources})
    info = await filled(js, "S", 4)

    ident = identity(origin["created"])
    got = {}
    for msg in await messages(js, "S"):
        stream, seq, filters, dests, subject, hashed = source_fields(msg)
        assert (stream, hashed) == ("O", ident)
        assert msg["hdrs"].startswith(f"NATS/1.0\r\nNats-Msg-Id: id{int(seq) - 1}\r\n")
        got[int(seq)] = (msg["subject"], filters, dests, subject)
    assert got == {
        1: ("y.a", "o.a", "y.a", "o.a"),
        2: ("o.b", "o.b", ">", "o.b"),
        3: ("y.a", "o.a", "y.a", "o.a"),
        4: ("o.b", "o.b", ">", "o.b"),
    }
    blocks = sorted(info["sources"], key=lambda s: s.get("filter_subject", ""))  # Go map order
    assert [(b["name"], b["lag"], b["seq"]) for b in blocks] == [("O", 0, 3), ("O", 0, 4)]
    assert blocks[0]["subject_transforms"] == [{"src": "o.a", "dest": "y.a"}]
    assert blocks[1]["filter_subject"] == "o.b"
    assert all(b["active"] >= 0 and "error" not in b for b in blocks)
    assert (await js.state("O"))["consumer_count"] == 0


async def test_sourced_messages_are_deduplicated_by_the_sourcing_stream(js):
    for name in ("O", "P"):
        await js.create(name, subjects=[f"{name.lower()}.>"])
        for i in range(3):
            await js.stored(f"{name.lower()}.a", headers={"Nats-Msg-Id": f"id{i}"})
    await js.ok(
        S.stream_create("D"), {"name": "D", "duplicate_window": 60 * 10**9, "sources": [{"name": "O"}]}
    )
    await filled(js, "D", 3)
    await js.ok(
        S.stream_update("D"),
        {"name": "D", "duplicate_window": 60 * 10**9, "sources": [{"name": "O"}, {"name": "P"}]},
    )
    await js.stored("p.a", b"new", headers={"Nats-Msg-Id": "fresh"})
    await filled(js, "D", 4)
    assert [source_fields(m)[:2] for m in await messages(js, "D")] == [
        ("O", "1"),
        ("O", "2"),
        ("O", "3"),
        ("P", "4"),
    ]


async def test_update_adds_and_removes_a_source(js):
    await js.create("P", subjects=["p.>"])
    for i in range(2):
        await js.stored("p.a", f"p{i}".encode())
    await js.create("T", subjects=["t.>"])
    await js.stored("t.x", b"own")
    updated = await js.ok(
        S.stream_update("T"), {"name": "T", "subjects": ["t.>"], "sources": [{"name": "P"}]}
    )
    assert updated["sources"] == [{"name": "P", "lag": 0, "active": -1}]
    await filled(js, "T", 3)
    assert [m["data"] for m in await messages(js, "T")] == ["own", "p0", "p1"]

    removed = await js.ok(S.stream_update("T"), {"name": "T", "subjects": ["t.>"]})
    assert "sources" not in removed
    await js.stored("p.a", b"after")
    await js.stored("t.x", b"own2")
    assert [m["data"] for m in await messages(js, "T")] == ["own", "p0", "p1", "own2"]


async def test_restart_resumes_where_mirror_and_sources_left_off(server):
    js = await connect(server)
    try:
        await js.create("O", subjects=["o.>"])
        for i in range(3):
            await js.stored("o.a", f"m{i}".encode())
        await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
        await js.ok(S.stream_create("S"), {"name": "S", "sources": [{"name": "O"}]})
        await filled(js, "M", 3)
        await filled(js, "S", 3)
    finally:
        await js.nc.close()

    server.restart()
    js = await connect(server)
    try:
        info = await js.info("S")
        assert info["sources"][0]["seq"] == 3  # recovered from the last Nats-Stream-Source header
        for i in range(3, 5):
            await js.stored("o.a", f"m{i}".encode())
        await filled(js, "M", 5)
        await filled(js, "S", 5)
        assert [m["data"] for m in await messages(js, "M")] == [f"m{i}" for i in range(5)]
        assert [int(source_fields(m)[1]) for m in await messages(js, "S")] == [1, 2, 3, 4, 5]
    finally:
        await js.nc.close()


async def test_origin_created_after_the_mirror_and_the_source(js):
    """Both servers answer a missing origin in the info block and retry with a 10 s backoff."""
    await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
    await js.ok(S.stream_create("S"), {"name": "S", "sources": [{"name": "O"}]})

    async def missing():
        mirror, source = (await js.info("M"))["mirror"], (await js.info("S"))["sources"][0]
        return "error" in mirror and "error" in source and (mirror["error"], source["error"])

    assert await wait_for(missing) == (NOT_FOUND, NOT_FOUND)
    await js.create("O", subjects=["o.>"])
    await js.stored("o.a", b"late")
    mirror = await filled(js, "M", 1, timeout=20)
    source = await filled(js, "S", 1, timeout=5)
    assert "error" not in mirror["mirror"] and "error" not in source["sources"][0]
    assert (await messages(js, "M"))[0]["data"] == (await messages(js, "S"))[0]["data"] == "late"


async def test_external_sources(js):
    await js.create("O", subjects=["o.>"])
    body = {"name": "E", "mirror": {"name": "O", "external": {"api": "$JS.API", "deliver": ""}}}
    refused = await js.request(S.stream_create("E"), body)  # `subject` is a placeholder here
    assert refused["error"] == errors.error(
        "JSStreamExternalApiOverlapErrF", prefix="$JS.API", subject="$JS.API"
    )
    # another domain's API: nothing answers on this server, the mirror stays inactive
    external = {"api": "$JS.hub.API", "deliver": "dlv"}
    created = await js.ok(S.stream_create("E"), {"name": "E", "mirror": {"name": "O", "external": external}})
    assert created["mirror"] == {"name": "O", "external": external, "lag": 0, "active": -1}
    await js.stored("o.a")
    info = await js.info("E")
    assert info["mirror"]["active"] == -1 and info["state"]["messages"] == 0


async def test_sourcing_cycles_are_refused(js):
    await js.create("A", subjects=["a.>"])
    await js.ok(S.stream_create("B"), {"name": "B", "subjects": ["b.>"], "sources": [{"name": "A"}]})
    body = {"name": "A", "subjects": ["a.>"], "sources": [{"name": "B"}]}
    await js.fails(S.stream_update("A"), body, "JSStreamInvalidConfigF", err="detected cycle")
    await js.fails(
        S.stream_create("C"),
        {"name": "C", "mirror": {"name": "C"}},
        "JSStreamInvalidConfigF",
        err="detected cycle",
    )


async def test_only_sourcing_may_write_the_source_header(js):
    await js.create("O", subjects=["o.>"])
    header = {"Nats-Stream-Source": "X 1 > > o.a abcdefgh"}
    assert await js.raw_ack("o.a", headers=header) == (
        b'{"error":{"code":400,"err_code":10227,'
        b'"description":"message stream source header is not allowed"},"stream":"O","seq":0}'
    )
    # checked after the sequence expectations and before duplicates
    expect = {**header, "Nats-Expected-Last-Sequence": "5"}
    await js.rejected("o.a", "JSStreamWrongLastSequenceErrF", headers=expect, seq=0)
    await js.stored("o.a", b"m0", headers={"Nats-Msg-Id": "a"})
    await js.rejected("o.a", "JSMessageSourceHdrNotAllowedErr", headers={**header, "Nats-Msg-Id": "a"})
    await js.stored("o.a", b"m1", headers={"Nats-Stream-Source": ""})  # an empty value is no header

    # a mirror of a sourcing stream copies the header as it is
    await js.ok(S.stream_create("S"), {"name": "S", "sources": [{"name": "O"}]})
    await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "S"}})
    await filled(js, "M", 2)
    copied = await messages(js, "M")
    assert [source_fields(m)[:2] for m in copied] == [("O", "1"), ("O", "2")]
    assert [m["hdrs"] for m in copied] == [m["hdrs"] for m in await messages(js, "S")]


async def test_sourced_ttls_and_rollups_act_only_where_allowed(js):
    """A stream that allows neither TTLs nor rollups stores sourced messages carrying them, headers
    and all, and neither expires nor rolls up (nats-server's `sourced` flag skips the refusals;
    its store keeps no TTLs and rollups apply only where allowed). One that allows them does both."""
    await js.create("O", subjects=["o.>"], allow_msg_ttl=True, allow_rollup_hdrs=True)
    await js.ok(S.stream_create("S"), {"name": "S", "sources": [{"name": "O"}]})
    await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
    allowing = {"allow_msg_ttl": True, "allow_rollup_hdrs": True}
    await js.ok(S.stream_create("SA"), {"name": "SA", "sources": [{"name": "O"}], **allowing})
    for i in range(2):
        await js.stored("o.a", f"a{i}".encode())
    for name in ("S", "M", "SA"):  # the links are set up a second later: roll up what they hold
        await filled(js, name, 2)
    await js.stored("o.t", b"ttl", headers={"Nats-TTL": "1s"})
    await js.stored("o.a", b"rollup", headers={"Nats-Rollup": "sub"})

    async def expired():
        return [m["data"] for m in await messages(js, "SA")] == ["rollup"]

    assert await wait_for(expired), await messages(js, "SA")
    for name in ("S", "M"):
        await filled(js, name, 4)
        kept = await messages(js, name)
        assert [m["data"] for m in kept] == ["a0", "a1", "ttl", "rollup"]
        assert "Nats-TTL: 1s\r\n" in kept[2]["hdrs"] and "Nats-Rollup: sub\r\n" in kept[3]["hdrs"]


# -- devserver on a manual clock


async def test_origin_deleted_and_recreated(clocked):
    """The mirror keeps its sequences and takes only what the new origin stores past its last;
    the source notices the new identity, forgets its position and copies the new origin from its
    start. Seen on nats-server 2.15.1 by hand (20-35 s there): the same messages in the end; the
    silence is noticed by the 10 s health check (10-20 s after the delete, by the heartbeat
    phase), then both show `stream not found`; once the origin is back the mirror's error clears
    on its next retry, the source's at the reset, which also drops its `seq`; the source copies
    2 s after the reset, 12 s when a failed setup came first (the backoff)."""
    js = clocked.js
    await js.create("O", subjects=["o.>"])
    await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
    await js.ok(S.stream_create("S"), {"name": "S", "sources": [{"name": "O"}]})
    for i in range(3):
        await js.stored("o.a", f"old{i}".encode())

    async def copied(name: str, last_seq: int):
        return (await js.state(name))["last_seq"] >= last_seq

    await clocked.until(lambda: copied("M", 3), 3)
    await clocked.until(lambda: copied("S", 3), 1)
    first = identity((await js.info("O"))["created"])
    await js.ok(S.stream_delete("O"))

    async def missing():
        mirror, source = (await js.info("M"))["mirror"], (await js.info("S"))["sources"][0]
        return mirror.get("error") == source.get("error") == NOT_FOUND

    assert 10 < await clocked.until(missing, 21)
    await js.create("O", subjects=["o.>"])
    second = identity((await js.info("O"))["created"])
    for i in range(2):
        await js.stored("o.a", f"new{i}".encode())

    async def reset():
        return "error" not in (await js.info("S"))["sources"][0]

    await clocked.until(reset, 15)
    assert "seq" not in (await js.info("S"))["sources"][0]  # the old position is forgotten
    assert 10 <= await clocked.until(lambda: copied("S", 5), 13)  # backed off after the error
    assert (await js.info("S"))["sources"][0]["seq"] == 2
    assert "error" not in (await js.info("M"))["mirror"]

    for i in range(2, 5):
        await js.stored("o.a", f"new{i}".encode())
    await clocked.until(lambda: copied("S", 8), 1)
    await clocked.until(lambda: copied("M", 5), 1)
    mirrored = [(m["seq"], m["data"]) for m in await messages(js, "M")]
    assert mirrored == [(1, "old0"), (2, "old1"), (3, "old2"), (4, "new3"), (5, "new4")]
    sourced = [(source_fields(m)[1], source_fields(m)[5], m["data"]) for m in await messages(js, "S")]
    assert sourced == [
        *[(str(i + 1), first, f"old{i}") for i in range(3)],
        *[(str(i + 1), second, f"new{i}") for i in range(5)],
    ]
