"""Behaviour: JetStream API calls against both servers, every reply checked against our schemas.

Each request goes through `api()`, which looks up the endpoint in `schemas.subjects` and validates
the JSON reply with the endpoint's response schema before the test looks at any field. Error
replies are compared with `schemas.errors` word for word. Requests use plain nats-py requests (no
JetStream helpers) so what is on the wire is exactly what the test wrote.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeout

import schemas
from schemas import errors
from schemas import subjects as S

pytestmark = pytest.mark.timeout(60)

ZERO_TIME = "0001-01-01T00:00:00Z"
SECOND = 1_000_000_000


@pytest.fixture
async def nc(server):
    conn = await nats.connect(server.url, connect_timeout=5, allow_reconnect=False)
    yield conn
    await conn.close()


def encode(body: Any) -> bytes:
    if body is None:
        return b""
    return body if isinstance(body, bytes) else json.dumps(body).encode()


async def api(nc, subject: str, body: Any = None, timeout: float = 3.0) -> dict:
    """Send one API request; the reply must match the endpoint's response schema."""
    msg = await nc.request(subject, encode(body), timeout=timeout)
    doc = json.loads(msg.data)
    endpoint = S.endpoint_for(subject)
    problems = schemas.validate(endpoint.response, doc)
    assert problems == [], f"{subject} replied {doc}: {problems}"
    return doc


def ok(doc: dict) -> dict:
    assert "error" not in doc, doc["error"]
    return doc


def assert_error(doc: dict, name: str, **placeholders: object) -> None:
    assert doc.get("error") == errors.error(name, **placeholders), doc


async def publish(nc, subject: str, data: bytes = b"x", headers: dict | None = None) -> dict:
    msg = await nc.request(subject, data, timeout=3.0, headers=headers)
    ack = json.loads(msg.data)
    assert schemas.validate("pub_ack_response", ack) == [], ack
    return ack


async def create_stream(nc, name: str = "ORDERS", subjects: list[str] | None = None, **config) -> dict:
    body = {"name": name, "subjects": subjects or [f"{name.lower()}.>"], **config}
    assert schemas.validate("stream_create_request", body) == []
    return ok(await api(nc, S.stream_create(name), body))


async def create_consumer(nc, stream: str, durable: str, **config) -> dict:
    body = {"stream_name": stream, "config": {"durable_name": durable, "ack_policy": "explicit", **config}}
    assert schemas.validate("consumer_create_request", body) == []
    return ok(await api(nc, S.consumer_durable_create(stream, durable), body))


async def test_account_info_reports_usage_and_unlimited_limits(nc):
    info = ok(await api(nc, S.account_info()))
    assert (info["streams"], info["consumers"], info["memory"], info["storage"]) == (0, 0, 0, 0)
    assert info["limits"]["max_streams"] == -1
    assert info["limits"]["max_consumers"] == -1
    await create_stream(nc)
    await create_consumer(nc, "ORDERS", "worker")
    await publish(nc, "orders.1", b"hello")
    info = ok(await api(nc, S.account_info(), b"ignored"))
    assert (info["streams"], info["consumers"]) == (1, 1)
    assert info["storage"] > 0
    assert info["api"]["total"] >= 3


async def test_stream_create_fills_server_defaults(nc):
    created = await create_stream(nc)
    assert created["did_create"] is True
    config = created["config"]
    assert config["name"] == "ORDERS"
    assert config["subjects"] == ["orders.>"]
    expected = {
        "retention": "limits",
        "max_consumers": -1,
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 0,
        "max_msgs_per_subject": -1,
        "max_msg_size": -1,
        "discard": "old",
        "storage": "file",
        "num_replicas": 1,
        "duplicate_window": 120 * SECOND,
        "sealed": False,
        "deny_delete": False,
        "deny_purge": False,
        "allow_rollup_hdrs": False,
        "allow_direct": False,
    }
    assert {key: config[key] for key in expected} == expected
    assert created["state"] == {
        "messages": 0,
        "bytes": 0,
        "first_seq": 0,
        "first_ts": ZERO_TIME,
        "last_seq": 0,
        "last_ts": ZERO_TIME,
        "consumer_count": 0,
    }


async def test_stream_create_without_subjects_uses_the_name(nc):
    created = ok(await api(nc, S.stream_create("PLAIN"), {"name": "PLAIN", "storage": "memory"}))
    assert created["config"]["subjects"] == ["PLAIN"]
    assert created["config"]["storage"] == "memory"


async def test_stream_create_again_same_config_ok_other_config_refused(nc):
    await create_stream(nc)
    again = ok(await api(nc, S.stream_create("ORDERS"), {"name": "ORDERS", "subjects": ["orders.>"]}))
    assert again["config"]["name"] == "ORDERS"
    other = await api(
        nc, S.stream_create("ORDERS"), {"name": "ORDERS", "subjects": ["orders.>"], "max_msgs": 5}
    )
    assert_error(other, "JSStreamNameExistErr")


async def test_stream_info_names_and_list(nc):
    await create_stream(nc, "ORDERS")
    await create_stream(nc, "AUDIT")
    await publish(nc, "orders.new", b"1")
    await publish(nc, "orders.old", b"2")

    info = ok(await api(nc, S.stream_info("ORDERS")))
    assert (info["total"], info["offset"], info["limit"]) == (0, 0, 0)
    assert info["config"]["name"] == "ORDERS"
    state = info["state"]
    assert (state["messages"], state["first_seq"], state["last_seq"], state["num_subjects"]) == (2, 1, 2, 2)
    assert state["first_ts"] != ZERO_TIME

    detailed = ok(await api(nc, S.stream_info("ORDERS"), {"subjects_filter": "orders.*"}))
    assert detailed["state"]["subjects"] == {"orders.new": 1, "orders.old": 1}

    names = ok(await api(nc, S.stream_names()))
    assert (names["streams"], names["total"], names["offset"], names["limit"]) == (
        ["AUDIT", "ORDERS"],
        2,
        0,
        1024,
    )
    only = ok(await api(nc, S.stream_names(), {"subject": "orders.new"}))
    assert only["streams"] == ["ORDERS"]

    listing = ok(await api(nc, S.stream_list()))
    assert (listing["total"], listing["limit"]) == (2, 256)
    assert [entry["config"]["name"] for entry in listing["streams"]] == ["AUDIT", "ORDERS"]


async def test_stream_names_and_list_when_empty(nc):
    names = ok(await api(nc, S.stream_names()))
    assert names["total"] == 0
    assert names["streams"] in (None, [])
    listing = ok(await api(nc, S.stream_list()))
    assert listing["streams"] == []


async def test_stream_update(nc):
    await create_stream(nc)
    body = {
        "name": "ORDERS",
        "subjects": ["orders.>", "returns.>"],
        "description": "all orders",
        "max_msgs": 10,
    }
    assert schemas.validate("stream_update_request", body) == []
    updated = ok(await api(nc, S.stream_update("ORDERS"), body))
    assert "did_create" not in updated
    assert updated["config"]["subjects"] == ["orders.>", "returns.>"]
    assert (updated["config"]["description"], updated["config"]["max_msgs"]) == ("all orders", 10)
    storage = await api(nc, S.stream_update("ORDERS"), dict(body, storage="memory"))
    assert_error(
        storage, "JSStreamInvalidConfigF", err="stream configuration update can not change storage type"
    )
    missing = await api(nc, S.stream_update("NOPE"), {"name": "NOPE"})
    assert_error(missing, "JSStreamNotFoundErr")


async def test_stream_delete(nc):
    await create_stream(nc)
    assert ok(await api(nc, S.stream_delete("ORDERS")))["success"] is True
    assert_error(await api(nc, S.stream_info("ORDERS")), "JSStreamNotFoundErr")
    assert_error(await api(nc, S.stream_delete("ORDERS")), "JSStreamNotFoundErr")


STREAM_ERRORS = [
    ("info of a missing stream", S.stream_info("NOPE"), None, "JSStreamNotFoundErr", {}),
    ("purge of a missing stream", S.stream_purge("NOPE"), None, "JSStreamNotFoundErr", {}),
    ("msg get on a missing stream", S.stream_msg_get("NOPE"), {"seq": 1}, "JSStreamNotFoundErr", {}),
    ("name differs from subject", S.stream_create("A"), {"name": "B"}, "JSStreamMismatchErr", {}),
    ("create with an empty body", S.stream_create("A"), None, "JSStreamMismatchErr", {}),
    ("path separator", S.stream_create("a/b"), {"name": "a/b"}, "JSStreamNameContainsPathSeparatorsErr", {}),
    (
        "replicas",
        S.stream_create("R3"),
        {"name": "R3", "num_replicas": 3},
        "JSStreamReplicasNotSupportedErr",
        {},
    ),
    (
        "overlap",
        S.stream_create("OTHER"),
        {"name": "OTHER", "subjects": ["orders.1"]},
        "JSStreamSubjectOverlapErr",
        {},
    ),
    (
        "negative max_age",
        S.stream_create("NEG"),
        {"name": "NEG", "max_age": -1},
        "JSStreamInvalidConfigF",
        {"err": "max age can not be negative"},
    ),
    ("delete with a body", S.stream_delete("ORDERS"), {"x": 1}, "JSNotEmptyRequestErr", {}),
    ("msg get with no selector", S.stream_msg_get("ORDERS"), None, "JSBadRequestErr", {}),
    (
        "msg get seq and last_by_subj",
        S.stream_msg_get("ORDERS"),
        {"seq": 1, "last_by_subj": "a"},
        "JSBadRequestErr",
        {},
    ),
    ("purge seq and keep", S.stream_purge("ORDERS"), {"seq": 2, "keep": 1}, "JSBadRequestErr", {}),
    ("msg delete with no body", S.stream_msg_delete("ORDERS"), None, "JSBadRequestErr", {}),
    ("snapshot with no body", S.stream_snapshot("ORDERS"), None, "JSBadRequestErr", {}),
    (
        "unknown field",
        S.stream_create("A"),
        {"name": "A", "bogus": 1},
        "JSInvalidJSONErr",
        {"err": 'json: unknown field "bogus"'},
    ),
]


@pytest.mark.parametrize(
    ("why", "subject", "body", "name", "placeholders"), STREAM_ERRORS, ids=[e[0] for e in STREAM_ERRORS]
)
async def test_stream_errors(nc, why, subject, body, name, placeholders):
    await create_stream(nc)
    assert_error(await api(nc, subject, body), name, **placeholders)


async def test_undecodable_json_is_invalid_json(nc):
    reply = await api(nc, S.stream_create("A"), b"{nope")
    assert (reply["error"]["code"], reply["error"]["err_code"]) == (400, 10025)
    assert reply["error"]["description"].startswith("invalid JSON: ")


async def test_pub_acks(nc):
    await create_stream(nc)
    assert await publish(nc, "orders.1") == {"stream": "ORDERS", "seq": 1}
    assert await publish(nc, "orders.2", headers={"Nats-Msg-Id": "m2"}) == {"stream": "ORDERS", "seq": 2}
    duplicate = await publish(nc, "orders.2", headers={"Nats-Msg-Id": "m2"})
    assert duplicate == {"stream": "ORDERS", "seq": 2, "duplicate": True}
    wrong = await publish(nc, "orders.3", headers={"Nats-Expected-Last-Sequence": "7"})
    assert wrong == {
        "error": errors.error("JSStreamWrongLastSequenceErrF", seq=2),
        "stream": "ORDERS",
        "seq": 0,
    }
    right = await publish(nc, "orders.3", headers={"Nats-Expected-Last-Sequence": "2"})
    assert right == {"stream": "ORDERS", "seq": 3}
    other = await publish(nc, "orders.4", headers={"Nats-Expected-Stream": "AUDIT"})
    assert other["error"] == errors.error("JSStreamNotMatchErr")


async def test_pub_ack_message_too_large(nc):
    await create_stream(nc, "SMALL", max_msg_size=8)
    assert (await publish(nc, "small.1", b"12345678"))["seq"] == 1
    too_big = await publish(nc, "small.1", b"123456789")
    assert too_big["error"] == errors.error("JSStreamMessageExceedsMaximumErr")


async def test_msg_get_and_delete(nc):
    await create_stream(nc)
    await publish(nc, "orders.1", b"first", headers={"Foo": "bar"})
    await publish(nc, "orders.2", b"second")
    await publish(nc, "orders.1", b"third")

    got = ok(await api(nc, S.stream_msg_get("ORDERS"), {"seq": 1}))["message"]
    assert (got["subject"], got["seq"], base64.b64decode(got["data"])) == ("orders.1", 1, b"first")
    assert b"Foo: bar" in base64.b64decode(got["hdrs"])
    last = ok(await api(nc, S.stream_msg_get("ORDERS"), {"last_by_subj": "orders.1"}))["message"]
    assert (last["seq"], base64.b64decode(last["data"])) == (3, b"third")
    assert "hdrs" not in last
    following = ok(await api(nc, S.stream_msg_get("ORDERS"), {"seq": 2, "next_by_subj": "orders.1"}))
    assert following["message"]["seq"] == 3

    assert ok(await api(nc, S.stream_msg_delete("ORDERS"), {"seq": 2}))["success"] is True
    assert_error(await api(nc, S.stream_msg_get("ORDERS"), {"seq": 2}), "JSNoMessageFoundErr")
    assert_error(await api(nc, S.stream_msg_delete("ORDERS"), {"seq": 2}), "JSSequenceNotFoundErrF", seq=2)
    state = ok(await api(nc, S.stream_info("ORDERS")))["state"]
    assert (state["messages"], state["num_deleted"], state["first_seq"], state["last_seq"]) == (2, 1, 1, 3)

    erased = ok(await api(nc, S.stream_msg_delete("ORDERS"), {"seq": 1, "no_erase": True}))
    assert erased["success"] is True
    assert_error(await api(nc, S.stream_msg_get("ORDERS"), {"seq": 99}), "JSNoMessageFoundErr")


async def test_purge(nc):
    await create_stream(nc)
    for subject in ("orders.a", "orders.b", "orders.a", "orders.b", "orders.a"):
        await publish(nc, subject)
    filtered = ok(await api(nc, S.stream_purge("ORDERS"), {"filter": "orders.b"}))
    assert (filtered["success"], filtered["purged"]) == (True, 2)
    kept = ok(await api(nc, S.stream_purge("ORDERS"), {"filter": "orders.a", "keep": 1}))
    assert kept["purged"] == 2
    everything = ok(await api(nc, S.stream_purge("ORDERS")))
    assert everything["purged"] == 1
    state = ok(await api(nc, S.stream_info("ORDERS")))["state"]
    assert (state["messages"], state["first_seq"], state["last_seq"]) == (0, 6, 5)


async def test_consumer_lifecycle(nc):
    await create_stream(nc)
    for n in range(3):
        await publish(nc, f"orders.{n}")

    durable = await create_consumer(nc, "ORDERS", "worker")
    assert (durable["stream_name"], durable["name"], durable["num_pending"]) == ("ORDERS", "worker", 3)
    config = durable["config"]
    defaults = {
        "durable_name": "worker",
        "name": "worker",
        "deliver_policy": "all",
        "ack_policy": "explicit",
        "ack_wait": 30 * SECOND,
        "max_deliver": -1,
        "replay_policy": "instant",
        "max_waiting": 512,
        "max_ack_pending": 1000,
    }
    assert {key: config[key] for key in defaults} == defaults
    assert durable["delivered"] == {"consumer_seq": 0, "stream_seq": 0}
    assert durable["ack_floor"] == {"consumer_seq": 0, "stream_seq": 0}
    assert (durable["num_ack_pending"], durable["num_redelivered"], durable["num_waiting"]) == (0, 0, 0)

    body = {
        "stream_name": "ORDERS",
        "config": {"name": "ones", "filter_subject": "orders.1", "ack_policy": "none"},
    }
    named = ok(await api(nc, S.consumer_create_named("ORDERS", "ones", "orders.1"), body))
    assert (named["name"], named["num_pending"], named["config"]["filter_subject"]) == ("ones", 1, "orders.1")
    assert named["config"]["inactive_threshold"] == 5 * SECOND

    anonymous = ok(await api(nc, S.consumer_create("ORDERS"), {"stream_name": "ORDERS", "config": {}}))
    assert re.fullmatch(r"[0-9A-Za-z]{8}", anonymous["name"])

    info = ok(await api(nc, S.consumer_info("ORDERS", "worker")))
    assert info["config"] == config
    names = ok(await api(nc, S.consumer_names("ORDERS")))
    assert names["consumers"] == sorted(["worker", "ones", anonymous["name"]])
    assert (names["total"], names["limit"]) == (3, 1024)
    listing = ok(await api(nc, S.consumer_list("ORDERS")))
    assert sorted(entry["name"] for entry in listing["consumers"]) == names["consumers"]
    assert (listing["total"], listing["limit"]) == (3, 256)
    assert ok(await api(nc, S.stream_info("ORDERS")))["state"]["consumer_count"] == 3

    assert ok(await api(nc, S.consumer_delete("ORDERS", "worker")))["success"] is True
    assert_error(await api(nc, S.consumer_info("ORDERS", "worker")), "JSConsumerNotFoundErr")
    assert_error(await api(nc, S.consumer_delete("ORDERS", "worker")), "JSConsumerNotFoundErr")


async def test_consumer_names_and_list_when_empty(nc):
    await create_stream(nc)
    assert ok(await api(nc, S.consumer_names("ORDERS")))["consumers"] == []
    assert ok(await api(nc, S.consumer_list("ORDERS")))["consumers"] == []


def consumer_body(stream: str = "ORDERS", action: str | None = None, **config) -> dict:
    body: dict = {"stream_name": stream, "config": {"ack_policy": "explicit", **config}}
    if action is not None:
        body["action"] = action
    return body


CONSUMER_ERRORS = [
    (
        "missing stream",
        S.consumer_durable_create("NOPE", "d"),
        consumer_body("NOPE", durable_name="d"),
        "JSStreamNotFoundErr",
    ),
    (
        "stream_name differs",
        S.consumer_durable_create("ORDERS", "d"),
        consumer_body("AUDIT", durable_name="d"),
        "JSStreamMismatchErr",
    ),
    ("empty body", S.consumer_durable_create("ORDERS", "d"), None, "JSStreamMismatchErr"),
    (
        "durable without name",
        S.consumer_durable_create("ORDERS", "d"),
        consumer_body(),
        "JSConsumerDurableNameNotSetErr",
    ),
    (
        "durable name differs",
        S.consumer_durable_create("ORDERS", "d"),
        consumer_body(durable_name="e"),
        "JSConsumerDurableNameNotMatchSubjectErr",
    ),
    (
        "ephemeral form with durable",
        S.consumer_create("ORDERS"),
        consumer_body(durable_name="d"),
        "JSConsumerEphemeralWithDurableNameErr",
    ),
    (
        "filter differs from subject",
        S.consumer_create_named("ORDERS", "c", "orders.2"),
        consumer_body(name="c", filter_subject="orders.1"),
        "JSConsumerCreateFilterSubjectMismatchErr",
    ),
    (
        "update of a missing consumer",
        S.consumer_create_named("ORDERS", "c"),
        consumer_body("ORDERS", "update", name="c"),
        "JSConsumerDoesNotExist",
    ),
    (
        "create over a different consumer",
        S.consumer_durable_create("ORDERS", "worker"),
        consumer_body("ORDERS", "create", durable_name="worker", max_deliver=3),
        "JSConsumerAlreadyExists",
    ),
    ("info with a body", S.consumer_info("ORDERS", "worker"), {"x": 1}, "JSNotEmptyRequestErr"),
    ("info of a missing consumer", S.consumer_info("ORDERS", "nope"), None, "JSConsumerNotFoundErr"),
    ("names of a missing stream", S.consumer_names("NOPE"), None, "JSStreamNotFoundErr"),
]


@pytest.mark.parametrize(
    ("why", "subject", "body", "name"), CONSUMER_ERRORS, ids=[e[0] for e in CONSUMER_ERRORS]
)
async def test_consumer_errors(nc, why, subject, body, name):
    await create_stream(nc)
    await create_consumer(nc, "ORDERS", "worker")
    assert_error(await api(nc, subject, body), name)


async def test_consumer_create_action_create_is_idempotent(nc):
    await create_stream(nc)
    body = consumer_body("ORDERS", "create", durable_name="worker")
    first = ok(await api(nc, S.consumer_durable_create("ORDERS", "worker"), body))
    again = ok(await api(nc, S.consumer_durable_create("ORDERS", "worker"), body))
    assert first["created"] == again["created"]


async def pull(nc, stream: str, consumer: str, request: dict) -> list:
    """Messages (and a final status, if any) a pull request yields within a short wait."""
    assert schemas.validate("consumer_getnext_request", request) == []
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish(S.consumer_msg_next(stream, consumer), encode(request), reply=inbox)
    got = []
    try:
        while len(got) < request.get("batch", 1):
            msg = await sub.next_msg(timeout=2)
            got.append(msg)
            if msg.headers and msg.headers.get("Status"):
                break
    finally:
        await sub.unsubscribe()
    return got


async def test_pull_delivery_ack_subjects_and_counters(nc):
    await create_stream(nc)
    for n in range(3):
        await publish(nc, f"orders.{n}", f"m{n}".encode())
    await create_consumer(nc, "ORDERS", "worker")

    first, second = await pull(nc, "ORDERS", "worker", {"batch": 2, "no_wait": True})
    assert (first.subject, first.data, second.subject) == ("orders.0", b"m0", "orders.1")
    meta = S.parse_ack(first.reply)
    assert (meta.stream, meta.consumer, meta.delivered, meta.stream_seq, meta.consumer_seq) == (
        "ORDERS",
        "worker",
        1,
        1,
        1,
    )
    assert meta.pending == 2
    assert S.parse_ack(second.reply).pending == 1
    await nc.publish(first.reply, b"+ACK")
    await nc.request(second.reply, b"", timeout=2)  # an ack with a reply is confirmed

    info = ok(await api(nc, S.consumer_info("ORDERS", "worker")))
    assert (info["delivered"]["consumer_seq"], info["delivered"]["stream_seq"]) == (2, 2)
    assert (info["ack_floor"]["consumer_seq"], info["ack_floor"]["stream_seq"]) == (2, 2)
    assert (info["num_ack_pending"], info["num_pending"]) == (0, 1)

    (third,) = await pull(nc, "ORDERS", "worker", {"batch": 1, "no_wait": True})
    assert third.data == b"m2"
    (status,) = await pull(nc, "ORDERS", "worker", {"batch": 1, "no_wait": True})
    assert (status.headers.get("Status"), status.data) == ("404", b"")


async def test_advisories_and_metrics_match_their_schemas(nc):
    seen: list[tuple[str, dict]] = []

    async def collect(msg):
        seen.append((msg.subject, json.loads(msg.data)))

    await nc.subscribe("$JS.EVENT.>", cb=collect)
    await nc.flush()
    await create_stream(nc)
    for n in range(3):
        await publish(nc, f"orders.{n}")
    await create_consumer(nc, "ORDERS", "worker", max_deliver=1, sample_freq="100%")
    (naked,) = await pull(nc, "ORDERS", "worker", {"batch": 1, "no_wait": True})
    await nc.publish(naked.reply, b"-NAK")
    (terminated,) = await pull(nc, "ORDERS", "worker", {"batch": 1, "no_wait": True})
    await nc.publish(terminated.reply, b"+TERM done with it")
    (acked,) = await pull(nc, "ORDERS", "worker", {"batch": 1, "no_wait": True})
    await nc.request(acked.reply, b"", timeout=2)
    ok(await api(nc, S.consumer_delete("ORDERS", "worker")))
    ok(await api(nc, S.stream_delete("ORDERS")))

    wanted = {
        "stream_action",
        "consumer_action",
        "api_audit",
        "nak",
        "terminated",
        "max_deliver",
        "consumer_ack",
    }
    wanted = {schemas.type_id(name) for name in wanted}
    for _ in range(100):
        if wanted <= {doc["type"] for _, doc in seen}:
            break
        await asyncio.sleep(0.05)
    assert wanted <= {doc["type"] for _, doc in seen}
    for subject, doc in seen:
        assert S.event_type(subject) == doc["type"], subject
        assert schemas.validate(doc["type"], doc) == [], (subject, doc)
    by_type = {doc["type"]: doc for _, doc in seen}
    assert by_type[schemas.type_id("terminated")]["reason"] == "done with it"
    assert by_type[schemas.type_id("max_deliver")]["stream_seq"] == 1
    assert by_type[schemas.type_id("consumer_ack")]["stream_seq"] == 3
    actions = {(doc["type"].rpartition(".")[2], doc["action"]) for _, doc in seen if "action" in doc}
    assert actions == {("stream_action", "create"), ("stream_action", "delete")} | {
        ("consumer_action", "create"),
        ("consumer_action", "delete"),
    }


async def test_snapshot_and_restore(nc):
    await create_stream(nc)
    for n in range(20):
        await publish(nc, f"orders.{n}", bytes(200))
    await create_consumer(nc, "ORDERS", "worker")

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    request = {"deliver_subject": inbox, "chunk_size": 1024}
    assert schemas.validate("stream_snapshot_request", request) == []
    snap = ok(await api(nc, S.stream_snapshot("ORDERS"), request))
    assert (snap["config"]["name"], snap["state"]["messages"]) == ("ORDERS", 20)
    archive = bytearray()
    while True:
        chunk = await sub.next_msg(timeout=5)
        if not chunk.data:
            assert chunk.headers is None or chunk.headers.get("Status") == "204", chunk.headers
            break
        archive += chunk.data
        if chunk.reply:
            assert chunk.reply.startswith("$JS.SNAPSHOT.ACK.ORDERS.")
            await nc.publish(chunk.reply, b"")
    await sub.unsubscribe()
    assert len(archive) > 0

    ok(await api(nc, S.stream_delete("ORDERS")))
    backup = {"config": snap["config"], "state": snap["state"]}
    assert schemas.validate("stream_restore_request", backup) == []
    restore = ok(await api(nc, S.stream_restore("ORDERS"), backup))
    target = restore["deliver_subject"]
    for start in range(0, len(archive), 64 * 1024):
        await nc.request(target, bytes(archive[start : start + 64 * 1024]), timeout=5)
    done = json.loads((await nc.request(target, b"", timeout=30)).data)
    assert schemas.validate("stream_create_response", done) == [], done
    assert ok(done)["state"]["messages"] == 20
    assert ok(await api(nc, S.consumer_info("ORDERS", "worker")))["name"] == "worker"
    assert_error(await api(nc, S.stream_restore("ORDERS"), backup), "JSStreamNameExistRestoreFailedErr")


async def test_legacy_template_endpoints(nc, server):
    """nats-server 2.14+ removed templates and does not answer; any answer must match a schema."""
    try:
        msg = await nc.request(S.stream_template_names(), b"", timeout=1)
    except NatsTimeout:
        return
    assert not server.is_real, "nats-server 2.15.1 should not answer STREAM.TEMPLATE.NAMES"
    doc = json.loads(msg.data)
    assert doc["type"] in {
        schemas.type_id("stream_template_names_response"),
        schemas.type_id("system_response"),
    }
    assert schemas.validate(doc["type"], doc) == []


# Request bodies: nats-server's strict decoding (10025) and our request schemas must agree.
DECODE_CASES = [
    (S.stream_create("D1"), {"name": "D1", "storage": "disk"}),
    (S.stream_create("D2"), {"name": "D2", "max_age": "1h"}),
    (S.stream_create("D3"), {"name": "D3", "bogus": 1}),
    (S.stream_create("D4"), {"name": "D4", "metadata": {"a": 1}}),
    (S.stream_create("D5"), {"name": "D5", "subjects": "d5"}),
    (S.stream_create("D6"), {"name": "D6", "max_msg_size": 2**31}),
    (S.stream_create("D7"), {"name": "D7", "first_seq": -1}),
    (
        S.stream_create("D8"),
        {"name": "D8", "retention": "interest", "discard": "new", "metadata": {"a": "b"}},
    ),
    (S.stream_create("D9"), {"name": "D9", "max_age": -1, "pedantic": True}),
    (S.stream_create("D10"), {"name": "D10", "compression": "gzip"}),
    (S.stream_create("D11"), {"name": "D11", "sealed": "no"}),
    (S.consumer_durable_create("ORDERS", "c1"), consumer_body(durable_name="c1", ack_policy="some")),
    (S.consumer_durable_create("ORDERS", "c2"), consumer_body(durable_name="c2", opt_start_time="yesterday")),
    (S.consumer_durable_create("ORDERS", "c3"), consumer_body(durable_name="c3", bogus=1)),
    (S.consumer_durable_create("ORDERS", "c4"), consumer_body("ORDERS", "upsert", durable_name="c4")),
    (S.consumer_durable_create("ORDERS", "c5"), consumer_body("ORDERS", "create", durable_name="c5")),
    (S.consumer_durable_create("ORDERS", "c6"), {**consumer_body(durable_name="c6"), "extra": True}),
    (S.consumer_durable_create("ORDERS", "c7"), consumer_body(durable_name="c7", backoff=["1s"])),
    (S.stream_msg_get("ORDERS"), {"seq": -1}),
    (S.stream_msg_get("ORDERS"), {"seq": 1, "bogus": True}),
    (S.stream_msg_get("ORDERS"), {"last_by_subj": "orders.1"}),
    (S.stream_purge("ORDERS"), {"keep": "1"}),
    (S.stream_purge("ORDERS"), {"filter": "orders.1"}),
    (S.stream_info("ORDERS"), {"offset": "x"}),
    (S.stream_info("ORDERS"), {"subjects_filter": ">", "deleted_details": True}),
    (S.stream_names(), {"subject": 5}),
    (S.stream_list(), {"offset": 0, "subject": "orders.1"}),
    (S.consumer_names("ORDERS"), {"offset": 1.5}),
    (S.stream_msg_delete("ORDERS"), {"seq": 1, "no_erase": "yes"}),
]


@pytest.mark.parametrize(
    ("subject", "body"), DECODE_CASES, ids=[f"{s}:{json.dumps(b)}" for s, b in DECODE_CASES]
)
async def test_request_schemas_agree_with_strict_decoding(nc, subject, body):
    await create_stream(nc)
    await publish(nc, "orders.1")
    reply = await api(nc, subject, body)
    refused_by_server = reply.get("error", {}).get("err_code") == 10025
    problems = schemas.validate(S.endpoint_for(subject).request, body)
    assert refused_by_server == bool(problems), (reply, problems)


async def test_cluster_only_endpoints_need_clustering(nc):
    await create_stream(nc)
    await create_consumer(nc, "ORDERS", "worker")
    assert_error(await api(nc, S.stream_leader_stepdown("ORDERS")), "JSClusterRequiredErr")
    assert_error(await api(nc, S.consumer_leader_stepdown("ORDERS", "worker")), "JSClusterRequiredErr")
    assert_error(await api(nc, S.stream_peer_remove("ORDERS"), {"peer": "x"}), "JSClusterRequiredErr")
    assert_error(await api(nc, S.stream_peer_evacuate("ORDERS")), "JSClusterRequiredErr")
    assert_error(await api(nc, S.stream_cancel_move("ORDERS")), "JSClusterRequiredErr")


ACCOUNTS_CONF = """
jetstream: enabled
accounts {
  APP: { jetstream: enabled, users: [ {user: app, password: app} ] }
  PLAIN: { users: [ {user: plain, password: plain} ] }
  SYS: { users: [ {user: sys, password: sys} ] }
}
system_account: SYS
"""


async def test_accounts_without_jetstream_and_system_account_purge(make_server, tmp_path):
    conf = tmp_path / "accounts.conf"
    conf.write_text(ACCOUNTS_CONF)
    server = make_server(["-c", str(conf)])
    host = server.url.removeprefix("nats://")
    app = await nats.connect(f"nats://app:app@{host}", allow_reconnect=False)
    plain = await nats.connect(f"nats://plain:plain@{host}", allow_reconnect=False)
    system = await nats.connect(f"nats://sys:sys@{host}", allow_reconnect=False)
    try:
        await create_stream(app)
        assert ok(await api(app, S.account_info()))["streams"] == 1
        assert_error(await api(plain, S.account_info()), "JSNotEnabledForAccountErr")
        assert_error(await api(plain, S.stream_names()), "JSNotEnabledForAccountErr")
        if server.is_real:  # devserver serves no system-account operations (ACCOUNT.PURGE) yet
            purge = ok(await api(system, S.account_purge("APP")))
            assert purge["initiated"] is True
    finally:
        for conn in (app, plain, system):
            await conn.close()


async def test_pause_reset_and_unpin(nc, server):
    """2.11+ (pause, unpin) and 2.14+ (reset) consumer endpoints."""
    if not server.is_real:
        pytest.skip("devserver advertises a 2.10 API level without pause/unpin/reset")
    await create_stream(nc)
    await publish(nc, "orders.1")
    await publish(nc, "orders.2")
    await create_consumer(nc, "ORDERS", "worker")

    paused = ok(await api(nc, S.consumer_pause("ORDERS", "worker"), {"pause_until": "2099-01-01T00:00:00Z"}))
    assert (paused["paused"], paused["pause_until"]) == (True, "2099-01-01T00:00:00Z")
    assert paused["pause_remaining"] > 0
    assert ok(await api(nc, S.consumer_info("ORDERS", "worker")))["paused"] is True
    resumed = ok(await api(nc, S.consumer_pause("ORDERS", "worker")))
    assert (resumed["paused"], resumed["pause_until"]) == (False, ZERO_TIME)
    assert_error(await api(nc, S.consumer_pause("ORDERS", "nope")), "JSConsumerNotFoundErr")

    reset = ok(await api(nc, S.consumer_reset("ORDERS", "worker"), {"seq": 2}))
    assert (reset["reset_seq"], reset["delivered"]["stream_seq"], reset["num_pending"]) == (2, 1, 1)

    unpin = await api(nc, S.consumer_unpin("ORDERS", "worker"), {"group": "g"})
    assert_error(unpin, "JSConsumerInvalidPriorityGroupErr")
