"""`$JS.API.INFO` and JetStream resource limits (server and account) on both servers."""

from __future__ import annotations

import nats
import pytest

from schemas import errors
from schemas import subjects as S
from tests.jetstream.conftest import JetStreamHelper

pytestmark = pytest.mark.timeout(60)

UNLIMITED = {
    "max_memory": -1,
    "max_storage": -1,
    "max_streams": -1,
    "max_consumers": -1,
    "max_ack_pending": -1,
    "memory_max_stream_bytes": -1,
    "storage_max_stream_bytes": -1,
    "max_bytes_required": False,
}
PAYLOAD = b"x" * 100


async def test_account_info_counts_usage_and_api_calls(jsapi):
    first = await jsapi.ok(S.account_info())
    keys = ["type", "memory", "storage", "reserved_memory", "reserved_storage", "streams", "consumers"]
    assert list(first) == [*keys, "limits", "api"]
    assert first["limits"] == UNLIMITED
    assert (first["api"]["total"], first["api"]["errors"]) == (0, 0)  # an INFO counts after its reply
    await jsapi.create("F", max_bytes=1000)
    await jsapi.create("M", storage="memory")
    await jsapi.stored("f.a", PAYLOAD)
    await jsapi.stored("m.a", PAYLOAD)
    await jsapi.ok(S.consumer_durable_create("F", "d"), {"stream_name": "F", "config": {"durable_name": "d"}})
    await jsapi.fails(S.stream_info("NOPE"), b"", "JSStreamNotFoundErr")
    info = await jsapi.ok(S.account_info())
    assert (info["storage"], info["memory"]) == (3 + 100 + 30, 3 + 100 + 16)
    assert (info["reserved_storage"], info["reserved_memory"]) == (1000, 0)
    assert (info["streams"], info["consumers"]) == (2, 1)
    assert (info["api"]["total"], info["api"]["errors"]) == (5, 1)


async def test_msg_get_success_is_not_counted(jsapi):
    """nats-server answers a found message without its API accounting."""
    await jsapi.create("G")
    await jsapi.stored("g.a")
    before = (await jsapi.ok(S.account_info()))["api"]["total"]
    await jsapi.ok(S.stream_msg_get("G"), {"seq": 1})
    assert (await jsapi.ok(S.account_info()))["api"]["total"] == before + 1  # just the INFO


def write_conf(tmp_path, text: str) -> str:
    path = tmp_path / "js.conf"
    path.write_text(text)
    return str(path)


async def connect(server, user: str | None = None) -> JetStreamHelper:
    url = server.url if user is None else server.url.replace("nats://", f"nats://{user}:{user}@")
    return JetStreamHelper(await nats.connect(url, allow_reconnect=False))


async def test_server_max_mem_and_max_file_reservations(make_server, tmp_path):
    server = make_server(["-c", write_conf(tmp_path, "jetstream { max_mem: 10000, max_file: 20000 }\n")])
    jsapi = await connect(server)
    try:
        await jsapi.fails(
            S.stream_create("F1"), {"name": "F1", "max_bytes": 30000}, "JSStorageResourcesExceededErr"
        )
        await jsapi.create("F1", max_bytes=15000)
        await jsapi.fails(
            S.stream_create("F2"), {"name": "F2", "max_bytes": 6000}, "JSStorageResourcesExceededErr"
        )
        await jsapi.create("F3")  # no max_bytes: reserves nothing, needs one byte free
        await jsapi.create("F4", max_bytes=4999)
        body = {"name": "M1", "storage": "memory", "max_bytes": 20000}
        await jsapi.fails(S.stream_create("M1"), body, "JSMemoryResourcesExceededErr")
        await jsapi.create("M1", storage="memory")
        body = {"name": "F1", "subjects": ["f1.>"], "max_bytes": 17000}
        await jsapi.fails(S.stream_update("F1"), body, "JSStorageResourcesExceededErr")
        await jsapi.ok(S.stream_update("F1"), {**body, "max_bytes": 14000})
        info = await jsapi.ok(S.account_info())
        assert (info["reserved_storage"], info["reserved_memory"]) == (14000 + 4999, 0)
    finally:
        await jsapi.nc.close()


ACCOUNTS = """
accounts {
  A: {
    jetstream: { max_file: 500, max_mem: 300, max_streams: 2, max_consumers: 1 }
    users: [ {user: a, password: a} ]
  }
  PLAIN: { users: [ {user: plain, password: plain} ] }
}
"""


async def test_account_limits(make_server, tmp_path):
    server = make_server(["-c", write_conf(tmp_path, ACCOUNTS)])
    jsapi = await connect(server, "a")
    try:
        limits = (await jsapi.ok(S.account_info()))["limits"]
        assert limits == {
            **UNLIMITED,
            "max_memory": 300,
            "max_storage": 500,
            "max_streams": 2,
            "max_consumers": 1,
        }
        await jsapi.fails(
            S.stream_create("F1"), {"name": "F1", "max_bytes": 600}, "JSStorageResourcesExceededErr"
        )
        await jsapi.fails(
            S.stream_create("F1"), {"name": "F1", "max_consumers": 5}, "JSMaximumConsumersLimitErr"
        )
        await jsapi.create("F1", subjects=["f1"])
        await jsapi.create("M1", subjects=["m1"], storage="memory")
        await jsapi.fails(S.stream_create("F3"), {"name": "F3"}, "JSMaximumStreamsLimitErr")
        assert [await jsapi.stored("f1", PAYLOAD) for _ in range(3)] == [1, 2, 3]  # 3 x 132 bytes
        await jsapi.rejected("f1", "JSAccountResourcesExceededErr", PAYLOAD)
        assert [await jsapi.stored("m1", PAYLOAD) for _ in range(2)] == [1, 2]  # 2 x 118 bytes
        await jsapi.rejected("m1", "JSAccountResourcesExceededErr", PAYLOAD)
        info = await jsapi.ok(S.account_info())
        assert (info["storage"], info["memory"]) == (3 * 132, 2 * 118)
    finally:
        await jsapi.nc.close()


async def test_account_without_jetstream(make_server, tmp_path):
    server = make_server(["-c", write_conf(tmp_path, ACCOUNTS)])
    jsapi = await connect(server, "plain")
    try:
        await jsapi.fails(S.account_info(), b"", "JSNotEnabledForAccountErr")
        await jsapi.fails(S.stream_names(), b"", "JSNotEnabledForAccountErr")
        await jsapi.fails(S.stream_create("X"), {"name": "X"}, "JSNotEnabledForAccountErr")
    finally:
        await jsapi.nc.close()


async def test_accounts_are_separate_namespaces(make_server, tmp_path):
    conf = """
accounts {
  A: { jetstream: enabled, users: [ {user: a, password: a} ] }
  B: { jetstream: enabled, users: [ {user: b, password: b} ] }
}
"""
    server = make_server(["-c", write_conf(tmp_path, conf)])
    a, b = await connect(server, "a"), await connect(server, "b")
    try:
        await a.create("ORDERS")
        await b.create("ORDERS")  # same name and subjects, no overlap across accounts
        await a.stored("orders.1")
        assert (await a.state("ORDERS"))["messages"] == 1
        assert (await b.state("ORDERS"))["messages"] == 0
    finally:
        await a.nc.close()
        await b.nc.close()


@pytest.mark.parametrize(("level", "refused"), [("0", False), ("-1", False), ("99", True), ("x", True)])
async def test_required_api_level_header(jsapi, level, refused):
    """Newer clients say which API level a request needs; a server below it answers 412."""
    await jsapi.create("ORDERS")
    headers = {"Nats-Required-Api-Level": level}
    for subject in (S.account_info(), S.stream_info("ORDERS"), S.stream_names()):
        doc = await jsapi.request(subject, b"", headers=headers)
        if refused:
            assert doc["error"] == errors.error("JSRequiredApiLevelErr"), doc
        else:
            assert "error" not in doc, doc
