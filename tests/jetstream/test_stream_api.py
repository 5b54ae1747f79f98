"""STREAM.INFO / NAMES / LIST / DELETE / PURGE / MSG.GET / MSG.DELETE and DIRECT.GET on both servers."""

from __future__ import annotations

import asyncio
import base64
import json

import nats
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from schemas import subjects as S
from tests.jetstream.conftest import ZERO_TIME, checked

pytestmark = pytest.mark.timeout(60)


async def fill(jsapi, subjects: list[str]) -> list[int]:
    return [await jsapi.stored(subject, f"m{i}".encode()) for i, subject in enumerate(subjects)]


# -- info


async def test_info_shape_and_state(jsapi):
    await jsapi.create("E", subjects=["e.>"], first_seq=100)
    await fill(jsapi, ["e.a", "e.b", "e.a", "e.c"])
    await jsapi.ok(S.stream_msg_delete("E"), {"seq": 101})
    doc = await jsapi.info("E")
    assert list(doc) == ["type", "total", "offset", "limit", "config", "created", "state", "cluster", "ts"]
    assert (doc["total"], doc["offset"], doc["limit"]) == (0, 0, 0)
    state = doc["state"]
    assert (state["messages"], state["first_seq"], state["last_seq"], state["num_deleted"]) == (
        3,
        100,
        103,
        1,
    )
    assert state["num_subjects"] == 2 and "deleted" not in state and "subjects" not in state
    assert state["bytes"] == 3 * (len("e.a") + 2 + 30)  # file store accounting
    assert list(doc["cluster"]) == ["leader"]


async def test_info_subjects_filter_and_deleted_details(jsapi):
    await jsapi.create("E", subjects=["e.>"])
    await fill(jsapi, ["e.a", "e.b", "e.a", "e.c"])
    await jsapi.ok(S.stream_msg_delete("E"), {"seq": 2})
    doc = await jsapi.info("E", subjects_filter=">", deleted_details=True)
    assert (doc["total"], doc["offset"], doc["limit"]) == (2, 0, 100_000)
    assert doc["state"]["subjects"] == {"e.a": 2, "e.c": 1}
    assert doc["state"]["deleted"] == [2]
    assert list(doc["state"])[-5:] == ["num_subjects", "subjects", "num_deleted", "deleted", "consumer_count"]
    paged = await jsapi.info("E", subjects_filter=">", offset=1)
    assert (paged["total"], paged["offset"], paged["state"]["subjects"]) == (2, 1, {"e.c": 1})
    one = await jsapi.info("E", subjects_filter="e.a")
    assert (one["total"], one["state"]["subjects"]) == (1, {"e.a": 2})
    none = await jsapi.info("E", subjects_filter="zzz")
    assert (none["total"], none["limit"]) == (0, 0) and "subjects" not in none["state"]


async def test_info_of_a_missing_stream(jsapi):
    doc = await jsapi.fails(S.stream_info("NOPE"), b"", "JSStreamNotFoundErr")
    assert list(doc) == ["type", "error", "total", "offset", "limit"]


async def test_info_ignores_a_body_that_is_not_json(jsapi):
    await jsapi.create("E")
    assert (await jsapi.ok(S.stream_info("E"), b"garbage"))["config"]["name"] == "E"


# -- names and list


async def test_names_and_list_paging_and_subject_filter(jsapi):
    for name in ("C", "A", "B"):
        await jsapi.create(name)
    names = await jsapi.ok(S.stream_names())
    assert (names["total"], names["offset"], names["limit"], names["streams"]) == (
        3,
        0,
        1024,
        ["A", "B", "C"],
    )
    page = await jsapi.ok(S.stream_names(), {"offset": 1})
    assert (page["offset"], page["streams"]) == (1, ["B", "C"])
    past = await jsapi.ok(S.stream_names(), {"offset": 100})
    assert (past["offset"], past["streams"]) == (3, None)
    filtered = await jsapi.ok(S.stream_names(), {"subject": "b.x"})
    assert (filtered["total"], filtered["streams"]) == (1, ["B"])
    assert (await jsapi.ok(S.stream_names(), {"subject": "zzz"}))["streams"] is None
    listed = await jsapi.ok(S.stream_list())
    assert (listed["total"], listed["limit"]) == (3, 256)
    assert [s["config"]["name"] for s in listed["streams"]] == ["A", "B", "C"]
    assert list(listed["streams"][0]) == ["config", "created", "state", "ts"]
    assert listed["streams"][0]["config"]["metadata"] == {"_nats.req.level": "0"}
    assert (await jsapi.ok(S.stream_list(), {"subject": "zzz"}))["streams"] == []


# -- delete


async def test_delete(jsapi, nc):
    await jsapi.create("D")
    await jsapi.fails(S.stream_delete("D"), {"x": 1}, "JSNotEmptyRequestErr")
    assert (await jsapi.ok(S.stream_delete("D"), b"{}")) == {
        "type": "io.nats.jetstream.api.v1.stream_delete_response",
        "success": True,
    }
    await jsapi.fails(S.stream_delete("D"), b"", "JSStreamNotFoundErr")
    with pytest.raises(NoRespondersError):  # nothing captures d.> any more
        await nc.request("d.x", b"x", timeout=1)


# -- purge


async def test_purge_all_keeps_the_sequence(jsapi):
    await jsapi.create("P")
    await fill(jsapi, ["p.a"] * 3)
    doc = await jsapi.ok(S.stream_purge("P"))
    assert (doc["success"], doc["purged"]) == (True, 3)
    state = await jsapi.state("P")
    assert (state["messages"], state["first_seq"], state["last_seq"], state["first_ts"]) == (
        0,
        4,
        3,
        ZERO_TIME,
    )
    assert await jsapi.stored("p.a") == 4


async def test_purge_empty_new_stream(jsapi):
    await jsapi.create("P")
    assert (await jsapi.ok(S.stream_purge("P")))["purged"] == 0
    assert (await jsapi.state("P"))["first_seq"] == 1


async def test_purge_filter_seq_keep(jsapi):
    await jsapi.create("P")
    await fill(jsapi, ["p.a", "p.b", "p.a", "p.b", "p.a", "p.c"])
    assert (await jsapi.ok(S.stream_purge("P"), {"filter": "p.a", "keep": 1}))["purged"] == 2
    assert (await jsapi.ok(S.stream_purge("P"), {"filter": "p.b", "seq": 4}))["purged"] == 1
    state = await jsapi.info("P", subjects_filter=">")
    assert state["state"]["subjects"] == {"p.a": 1, "p.b": 1, "p.c": 1}
    assert (await jsapi.ok(S.stream_purge("P"), {"seq": 5}))["purged"] == 1
    assert (await jsapi.ok(S.stream_purge("P"), {"keep": 1}))["purged"] == 1
    state = await jsapi.state("P")
    assert (state["messages"], state["first_seq"], state["last_seq"]) == (1, 6, 6)
    assert (await jsapi.ok(S.stream_purge("P"), {"seq": 1}))["purged"] == 0


async def test_purge_errors(jsapi):
    doc = await jsapi.fails(S.stream_purge("P"), {"seq": 2, "keep": 1}, "JSBadRequestErr")
    assert doc["purged"] == 0  # nats-server sends it next to the error
    await jsapi.fails(S.stream_purge("NOPE"), b"", "JSStreamNotFoundErr")
    await jsapi.create("DP", deny_purge=True)
    await jsapi.fails(S.stream_purge("DP"), b"", "JSStreamPurgeFailedF", err="stream purge not permitted")


# -- message get and delete


async def test_msg_get_by_seq_last_and_next(jsapi):
    await jsapi.create("G")
    await jsapi.stored("g.a", b"one")
    await jsapi.stored("g.b", b"two", headers={"X-Key": "v"})
    await jsapi.stored("g.a", b"")
    msg = (await jsapi.ok(S.stream_msg_get("G"), {"seq": 2}))["message"]
    assert list(msg) == ["subject", "seq", "hdrs", "data", "time"]
    assert (msg["subject"], msg["seq"], base64.b64decode(msg["data"])) == ("g.b", 2, b"two")
    assert base64.b64decode(msg["hdrs"]) == b"NATS/1.0\r\nX-Key: v\r\n\r\n"
    last = (await jsapi.ok(S.stream_msg_get("G"), {"last_by_subj": "g.a"}))["message"]
    assert (last["seq"], "data" in last) == (3, False)  # an empty payload has no `data`
    nxt = (await jsapi.ok(S.stream_msg_get("G"), {"next_by_subj": "g.*", "seq": 2}))["message"]
    assert nxt["seq"] == 2
    assert (await jsapi.ok(S.stream_msg_get("G"), {"next_by_subj": "g.a", "seq": 2}))["message"]["seq"] == 3


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{}",
        {"seq": 1, "last_by_subj": "g.a"},
        {"batch": 2, "seq": 1},
        {"last_by_subj": "g.a", "next_by_subj": "g.a"},
    ],
)
async def test_msg_get_bad_requests(jsapi, body):
    await jsapi.create("G")
    await jsapi.fails(S.stream_msg_get("G"), body, "JSBadRequestErr")


async def test_msg_get_misses(jsapi):
    await jsapi.create("G")
    await jsapi.stored("g.a")
    await jsapi.fails(S.stream_msg_get("G"), {"seq": 9}, "JSNoMessageFoundErr")
    await jsapi.fails(S.stream_msg_get("G"), {"last_by_subj": "g.zz"}, "JSNoMessageFoundErr")
    await jsapi.fails(S.stream_msg_get("NOPE"), {"seq": 1}, "JSStreamNotFoundErr")


async def test_msg_delete_with_and_without_erase(jsapi):
    await jsapi.create("MD")
    await fill(jsapi, ["md.a"] * 4)
    assert (await jsapi.ok(S.stream_msg_delete("MD"), {"seq": 2}))["success"] is True
    assert (await jsapi.ok(S.stream_msg_delete("MD"), {"seq": 3, "no_erase": True}))["success"] is True
    await jsapi.fails(S.stream_msg_delete("MD"), {"seq": 2}, "JSSequenceNotFoundErrF", seq=2)
    await jsapi.fails(
        S.stream_msg_delete("MD"), {"seq": 99}, "JSStreamMsgDeleteFailedF", err="stream store EOF"
    )
    await jsapi.fails(S.stream_msg_delete("MD"), b"", "JSBadRequestErr")
    state = (await jsapi.info("MD", deleted_details=True))["state"]
    assert (state["messages"], state["num_deleted"], state["deleted"]) == (2, 2, [2, 3])
    await jsapi.fails(S.stream_msg_get("MD"), {"seq": 2}, "JSNoMessageFoundErr")


async def test_msg_delete_on_memory_streams_names_only_the_sequence(jsapi):
    await jsapi.create("MM", storage="memory")
    await jsapi.stored("mm.a")
    await jsapi.fails(S.stream_msg_delete("MM"), {"seq": 99}, "JSSequenceNotFoundErrF", seq=99)


async def test_deny_delete_and_sealed(jsapi):
    await jsapi.create("DD", deny_delete=True)
    await jsapi.stored("dd.a")
    await jsapi.fails(
        S.stream_msg_delete("DD"), {"seq": 1}, "JSStreamMsgDeleteFailedF", err="message delete not permitted"
    )
    await jsapi.ok(S.stream_purge("DD"))  # deny_delete does not stop a purge
    await jsapi.create("SE")
    await jsapi.stored("se.a")
    await jsapi.ok(S.stream_update("SE"), {"name": "SE", "subjects": ["se.>"], "sealed": True})
    await jsapi.fails(S.stream_msg_delete("SE"), {"seq": 1}, "JSStreamSealedErr")
    await jsapi.fails(S.stream_purge("SE"), b"", "JSStreamSealedErr")


# -- direct get


async def direct(nc, subject: str, body: bytes = b""):
    return await nc.request(subject, body, timeout=2)


async def test_direct_get(jsapi, nc):
    await jsapi.create("DG", allow_direct=True)
    await jsapi.stored("dg.a", b"1")
    await jsapi.stored("dg.a", b"2", headers={"X": "y"})
    await jsapi.stored("dg.b", b"3")
    msg = await direct(nc, S.direct_get("DG"), b'{"seq":1}')
    assert msg.data == b"1"
    assert {k: v for k, v in msg.headers.items() if k != "Nats-Time-Stamp"} == {
        "Nats-Stream": "DG",
        "Nats-Subject": "dg.a",
        "Nats-Sequence": "1",
    }
    with_header = await direct(nc, S.direct_get("DG"), b'{"last_by_subj":"dg.a"}')
    assert list(with_header.headers)[:2] == ["X", "Nats-Stream"] and with_header.data == b"2"
    by_subject = await direct(nc, S.direct_get_last("DG", "dg.a"))
    assert by_subject.headers["Nats-Sequence"] == "2"
    nxt = await direct(nc, S.direct_get("DG"), b'{"next_by_subj":"dg.b"}')
    assert nxt.headers["Nats-Sequence"] == "3"
    no_hdr = await direct(nc, S.direct_get("DG"), b'{"seq":2,"no_hdr":true}')
    assert (no_hdr.headers, no_hdr.data) == (None, b"2")


@pytest.mark.parametrize(
    ("body", "status", "description"),
    [
        (b'{"seq":9}', "404", "Message Not Found"),
        (b"", "408", "Empty Request"),
        (b"{}", "408", "Empty Request"),
        (b"x", "408", "Malformed Request"),
        (b'{"seq":1,"last_by_subj":"dg.a"}', "408", "Bad Request"),
    ],
)
async def test_direct_get_statuses(jsapi, nc, body, status, description):
    await jsapi.create("DG", allow_direct=True)
    await jsapi.stored("dg.a")
    msg = await nc.request(S.direct_get("DG"), body, timeout=2)
    assert (msg.headers["Status"], msg.headers["Description"], msg.data) == (status, description, b"")


async def test_direct_get_needs_allow_direct(jsapi, nc):
    """DIRECT.GET is not part of the API import: no stream listening means no responders."""
    await jsapi.create("ND")
    await jsapi.stored("nd.a")
    with pytest.raises(NoRespondersError):
        await nc.request(S.direct_get("ND"), b'{"seq":1}', timeout=1)
    with pytest.raises(NoRespondersError):
        await nc.request(S.direct_get("NOPE"), b'{"seq":1}', timeout=1)


# -- the API subject space


async def test_unknown_api_subjects_get_no_answer(nc):
    """nats-server's service import swallows them: the requester times out, no 503."""
    for subject in (f"{S.API_PREFIX}.FOO", f"{S.API_PREFIX}.STREAM.FOO", f"{S.API_PREFIX}.STREAM.CREATE.a.b"):
        with pytest.raises(NatsTimeout):
            await nc.request(subject, b"", timeout=0.5)


async def test_requests_without_reply_still_act(jsapi, nc, eventually):
    await nc.publish(S.stream_create("NR"), json.dumps({"name": "NR"}).encode())
    await nc.flush()

    async def names():
        return (await jsapi.ok(S.stream_names()))["streams"]

    assert await eventually(names) == ["NR"]  # nats-server answers API requests from a queue


async def test_cluster_only_endpoints(jsapi):
    await jsapi.create("CL")
    for subject in (S.stream_leader_stepdown("CL"), S.stream_peer_remove("CL"), S.stream_cancel_move("CL")):
        await jsapi.fails(subject, b"", "JSClusterRequiredErr")


async def test_stream_events(jsapi, nc):
    events: list[tuple[str, dict]] = []

    async def collect(msg):
        events.append((msg.subject, json.loads(msg.data)))

    await nc.subscribe(f"{S.ADVISORY_PREFIX}.>", cb=collect)
    await nc.flush()
    for _ in range(100):  # nats-server learns of the subscription asynchronously
        await jsapi.ok(S.account_info())
        if events:
            break
        await asyncio.sleep(0.02)
    await jsapi.create("EV")
    await jsapi.ok(S.stream_update("EV"), {"name": "EV", "subjects": ["ev.>"], "max_msgs": 5})
    await jsapi.ok(S.stream_delete("EV"))
    await nc.flush()
    for _ in range(100):
        if len([e for e in events if e[1]["type"].endswith("stream_action")]) == 3:
            break
        await asyncio.sleep(0.02)
    actions = [(subject, doc["action"]) for subject, doc in events if doc["type"].endswith("stream_action")]
    assert actions == [
        (S.advisory_stream_created("EV"), "create"),
        (S.advisory_stream_updated("EV"), "modify"),
        (S.advisory_stream_deleted("EV"), "delete"),
    ]
    audits = [checked(doc) for subject, doc in events if subject == S.ADVISORY_API]
    assert [a["subject"] for a in audits if "EV" in a["subject"]] == [
        S.stream_create("EV"),
        S.stream_update("EV"),
        S.stream_delete("EV"),
    ]


async def test_requests_through_nats_py_jetstream(server):
    """The same operations through nats-py's JetStream manager, as applications use them."""
    nc = await nats.connect(server.url, allow_reconnect=False)
    try:
        js = nc.jetstream()
        info = await js.add_stream(name="PY", subjects=["py.>"], max_msgs=10)
        assert info.config.max_msgs == 10 and info.config.duplicate_window == 120.0
        for i in range(3):
            await js.publish("py.a", f"{i}".encode())
        assert (await js.stream_info("PY")).state.messages == 3
        msg = await js.get_msg("PY", seq=2)
        assert (msg.subject, msg.data) == ("py.a", b"1")
        last = await js.get_last_msg("PY", "py.a")
        assert last.seq == 3
        assert await js.delete_msg("PY", 1) is True
        assert await js.purge_stream("PY") is True
        assert [s.config.name for s in await js.streams_info()] == ["PY"]
        assert await js.delete_stream("PY") is True
        with pytest.raises(nats.js.errors.NotFoundError):
            await js.stream_info("PY")
    finally:
        await nc.close()
