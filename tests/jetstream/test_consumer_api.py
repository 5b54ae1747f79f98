"""CONSUMER.CREATE / INFO / DELETE / NAMES / LIST on both servers: defaults, names, errors, paging.

Every expected document and error here was taken from nats-server 2.15.1's answers.
"""

from __future__ import annotations

import re

import nats
import pytest

from schemas import subjects
from tests.jetstream.consumer_support import add_stream, api, connect, create, info, stable

S = 30_000_000_000
ZERO = {"consumer_seq": 0, "stream_seq": 0}


def _expected(name: str, config: dict, pending: int = 0) -> dict:
    return {
        "type": "io.nats.jetstream.api.v1.consumer_create_response",
        "stream_name": "ORDERS",
        "name": name,
        "config": config,
        "delivered": ZERO,
        "ack_floor": ZERO,
        "num_ack_pending": 0,
        "num_redelivered": 0,
        "num_waiting": 0,
        "num_pending": pending,
    }


async def test_defaults_of_a_legacy_ephemeral_pull_consumer(server):
    nc = await connect(server)
    await add_stream(nc)
    doc = await create(nc, "ORDERS", {"ack_policy": "explicit"})
    assert re.fullmatch(r"[0-9A-Za-z]{8}", doc["name"])
    config = {
        "deliver_policy": "all",
        "ack_policy": "explicit",
        "ack_wait": S,
        "max_deliver": -1,
        "replay_policy": "instant",
        "max_waiting": 512,
        "max_ack_pending": 1000,
        "inactive_threshold": 5_000_000_000,
        "num_replicas": 0,
    }
    assert stable(doc) == _expected(doc["name"], config)
    await nc.close()


async def test_defaults_of_durable_and_push_consumers(server):
    nc = await connect(server)
    await add_stream(nc)
    await nc.request("orders.a", b"1", timeout=2)
    doc = await create(nc, "ORDERS", {"durable_name": "dur", "ack_policy": "explicit"})
    assert stable(doc) == _expected(
        "dur",
        {
            "durable_name": "dur",
            "name": "dur",
            "deliver_policy": "all",
            "ack_policy": "explicit",
            "ack_wait": S,
            "max_deliver": -1,
            "replay_policy": "instant",
            "max_waiting": 512,
            "max_ack_pending": 1000,
            "num_replicas": 0,
        },
        pending=1,
    )
    doc = await create(nc, "ORDERS", {"name": "push", "deliver_subject": "dd", "ack_policy": "none"})
    assert stable(doc) == _expected(
        "push",
        {
            "name": "push",
            "deliver_policy": "all",
            "ack_policy": "none",
            "max_deliver": -1,
            "replay_policy": "instant",
            "deliver_subject": "dd",
            "inactive_threshold": 5_000_000_000,
            "num_replicas": 0,
        },
        pending=1,
    )
    full = {
        "durable_name": "d3",
        "ack_policy": "all",
        "backoff": [1_000_000_000, 2_000_000_000],
        "filter_subject": "orders.a",
        "sample_freq": "50%",
        "headers_only": True,
        "max_batch": 10,
        "max_bytes": 1000,
        "max_expires": 5_000_000_000,
        "description": "x",
        "metadata": {"a": "b"},
    }
    subject = subjects.consumer_durable_create("ORDERS", "d3")
    doc = await api(nc, subject, {"stream_name": "ORDERS", "config": full})
    assert stable(doc)["config"] == {
        "durable_name": "d3",
        "name": "d3",
        "description": "x",
        "deliver_policy": "all",
        "ack_policy": "all",
        "ack_wait": 1_000_000_000,
        "max_deliver": -1,
        "backoff": [1_000_000_000, 2_000_000_000],
        "filter_subject": "orders.a",
        "replay_policy": "instant",
        "sample_freq": "50%",
        "max_waiting": 512,
        "max_ack_pending": 1000,
        "headers_only": True,
        "max_batch": 10,
        "max_expires": 5_000_000_000,
        "max_bytes": 1000,
        "num_replicas": 0,
        "metadata": {"a": "b"},
    }
    doc = await create(
        nc,
        "ORDERS",
        {"deliver_policy": "by_start_time", "opt_start_time": "2026-01-01T02:00:00.000+02:00"},
    )
    assert doc["config"]["opt_start_time"] == "2026-01-01T02:00:00+02:00"
    await nc.close()


BAD_CONFIGS = [
    ({"deliver_policy": "bogus"}, 10025, 'invalid JSON: can not unmarshal "\\"bogus\\""'),
    ({"ack_wait": "30s"}, 10025, None),
    ({"foo": 1}, 10025, 'invalid JSON: json: unknown field "foo"'),
    ({"metadata": {"k": "v"}, "backoff": [1], "foo": 1}, 10025, 'invalid JSON: json: unknown field "foo"'),
    ({"deliver_subject": "x", "max_waiting": 5}, 10080, "consumer in push mode can not set max waiting"),
    (
        {"deliver_subject": "x", "ack_policy": "none", "max_ack_pending": 5},
        10082,
        "consumer requires ack policy for max ack pending",
    ),
    ({"deliver_subject": "orders.x"}, 10081, "consumer deliver subject forms a cycle"),
    ({"deliver_subject": "a.*"}, 10079, "consumer deliver subject has wildcards"),
    ({"deliver_subject": "a..b"}, 10112, "invalid push consumer deliver subject"),
    ({"idle_heartbeat": 1000}, 10088, "consumer idle heartbeat requires a push based consumer"),
    ({"deliver_subject": "x", "idle_heartbeat": 1000}, 10083, "consumer idle heartbeat needs to be >= 100ms"),
    (
        {"deliver_subject": "x", "flow_control": True},
        10108,
        "consumer with flow control also needs heartbeats",
    ),
    ({"flow_control": True}, 10089, "consumer flow control requires a push based consumer"),
    ({"rate_limit_bps": 100}, 10086, "consumer in pull mode can not have rate limit set"),
    (
        {"sample_freq": "abc"},
        10095,
        'failed to parse consumer sampling configuration: strconv.Atoi: parsing "abc": invalid syntax',
    ),
    ({"sample_freq": "-5%"}, 10095, "failed to parse consumer sampling configuration: <nil>"),
    (
        {"backoff": [1, 2, 3], "max_deliver": 2, "ack_policy": "explicit"},
        10116,
        "max deliver is required to be > length of backoff values",
    ),
    (
        {"filter_subject": "a", "filter_subjects": ["b"]},
        10136,
        "consumer cannot have both FilterSubject and FilterSubjects specified",
    ),
    ({"filter_subjects": ["a", ""]}, 10139, "consumer filter in FilterSubjects cannot be empty"),
    ({"filter_subjects": ["a.*", "a.b"]}, 10138, "consumer subject filters cannot overlap"),
    ({"filter_subject": "a..b"}, 10052, "invalid subject"),
    (
        {"deliver_policy": "last_per_subject"},
        10094,
        "consumer delivery policy is deliver last per subject, but optional filter subject is not set",
    ),
    (
        {"deliver_policy": "by_start_sequence"},
        10094,
        "consumer delivery policy is deliver by start sequence, but optional start sequence is not set",
    ),
    (
        {"opt_start_seq": 5},
        10094,
        "consumer delivery policy is deliver all, but optional start sequence is also set",
    ),
    ({"num_replicas": 3}, 10074, "replicas > 1 not supported in non-clustered mode"),
    ({"num_replicas": -1}, 10133, "replicas count cannot be negative"),
    ({"max_expires": 10}, 10115, "consumer max request expires needs to be >= 1ms"),
    ({"ack_wait": -1, "ack_policy": "explicit"}, 10183, "consumer ack wait needs to be positive"),
    ({"backoff": [-1], "ack_policy": "explicit"}, 10184, "consumer backoff needs to be positive"),
    ({"description": "x" * 5000}, 10107, "consumer description is too long, maximum allowed is 4096"),
    ({"name": "a.b"}, 10052, "consumer name can not contain '.', '*', '>', '\\', '/'"),
    ({"durable_name": "x"}, 10020, "consumer expected to be ephemeral but a durable name was set in request"),
    ({"priority_groups": ["a"]}, 10196, "consumer can not have priority groups when policy is none"),
]


@pytest.mark.parametrize(("config", "err_code", "description"), BAD_CONFIGS)
async def test_create_refuses_bad_configs_with_nats_server_errors(server, config, err_code, description):
    nc = await connect(server)
    await add_stream(nc)
    doc = await create(nc, "ORDERS", config, subject=subjects.consumer_create("ORDERS"))
    assert doc["error"]["err_code"] == err_code, doc
    if description is not None:
        assert doc["error"]["description"] == description
    await nc.close()


BAD_SUBJECTS = [
    ("CREATE.ORDERS", {"stream_name": "NOPE", "config": {}}, 10056),
    ("CREATE.NOPE", {"stream_name": "NOPE", "config": {}}, 10059),
    ("CREATE.ORDERS", b"", 10056),
    ("CREATE.ORDERS", {"config": {}}, 10056),
    ("CREATE.ORDERS.abc", {"stream_name": "ORDERS", "config": {"durable_name": "x"}}, 10017),
    ("CREATE.ORDERS.a/b", {"stream_name": "ORDERS", "config": {}}, 10127),
    ("CREATE.ORDERS.abc.orders.x", {"stream_name": "ORDERS", "config": {}}, 10131),
    (
        "CREATE.ORDERS.abc.orders.x",
        {"stream_name": "ORDERS", "config": {"filter_subjects": ["orders.x"]}},
        10137,
    ),
    ("DURABLE.CREATE.ORDERS.d", {"stream_name": "ORDERS", "config": {}}, 10018),
    ("DURABLE.CREATE.ORDERS.d", {"stream_name": "ORDERS", "config": {"durable_name": "e"}}, 10017),
]


@pytest.mark.parametrize(("tail", "body", "err_code"), BAD_SUBJECTS)
async def test_create_subject_forms_and_their_errors(server, tail, body, err_code):
    nc = await connect(server)
    await add_stream(nc)
    doc = await api(nc, f"{subjects.API_PREFIX}.CONSUMER.{tail}", body)
    assert doc["error"]["err_code"] == err_code, doc
    await nc.close()


async def test_named_forms_name_the_consumer(server):
    nc = await connect(server)
    await add_stream(nc)
    doc = await api(
        nc,
        subjects.consumer_create_named("ORDERS", "abc", "orders.x"),
        {"stream_name": "ORDERS", "config": {"filter_subject": "orders.x"}},
    )
    assert doc["name"] == "abc" and doc["config"]["name"] == "abc"
    doc = await api(
        nc,
        subjects.consumer_durable_create("ORDERS", "d"),
        {"stream_name": "ORDERS", "config": {"durable_name": "d", "name": "e"}},
    )
    assert (doc["name"], doc["config"]["name"], doc["config"]["durable_name"]) == ("d", "d", "d")
    doc = await create(nc, "ORDERS", {"name": "given"}, subject=subjects.consumer_create("ORDERS"))
    assert doc["name"] == "given"
    await nc.close()


async def test_update_mutable_fields_and_refuse_immutable_ones(server):
    nc = await connect(server)
    await add_stream(nc)
    base = {"durable_name": "u", "ack_policy": "explicit"}
    await create(nc, "ORDERS", base)
    doc = await create(nc, "ORDERS", {**base, "description": "new", "max_ack_pending": 5, "ack_wait": S * 2})
    assert (doc["config"]["description"], doc["config"]["max_ack_pending"]) == ("new", 5)
    assert doc["config"]["ack_wait"] == 2 * S
    immutable = [
        ({"deliver_policy": "new"}, "deliver policy can not be updated"),
        ({"ack_policy": "all"}, "ack policy can not be updated"),
        ({"replay_policy": "original"}, "replay policy can not be updated"),
        ({"max_waiting": 10}, "max waiting can not be updated"),
        ({"mem_storage": True}, "storage type can not be updated"),
        ({"deliver_subject": "push.here"}, "can not update pull consumer to push based"),
    ]
    for change, text in immutable:
        doc = await create(nc, "ORDERS", {**base, **change})
        assert doc["error"] == {"code": 500, "err_code": 10012, "description": text}, doc
    doc = await create(nc, "ORDERS", base, action="create")
    assert doc["error"]["err_code"] == 10148
    doc = await create(nc, "ORDERS", {"durable_name": "nope"}, action="update")
    assert doc["error"]["err_code"] == 10149
    updated = {**base, "description": "new", "max_ack_pending": 5, "ack_wait": 2 * S}
    doc = await create(nc, "ORDERS", updated)
    assert "error" not in doc
    doc = await create(nc, "ORDERS", updated, action="create")
    assert "error" not in doc  # identical config: create succeeds
    await nc.close()


async def test_info_delete_and_not_found(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "d"})
    assert (await info(nc, "ORDERS", "d"))["name"] == "d"
    assert (await api(nc, subjects.consumer_info("ORDERS", "d"), b"x"))["error"]["err_code"] == 10038
    assert (await info(nc, "ORDERS", "x"))["error"]["err_code"] == 10014
    assert (await info(nc, "NOPE", "x"))["error"]["err_code"] == 10059
    assert (await api(nc, subjects.consumer_delete("NOPE", "x")))["error"]["err_code"] == 10059
    assert (await api(nc, subjects.consumer_delete("ORDERS", "x")))["error"]["err_code"] == 10014
    assert await api(nc, subjects.consumer_delete("ORDERS", "d")) == {
        "type": "io.nats.jetstream.api.v1.consumer_delete_response",
        "success": True,
    }
    assert (await info(nc, "ORDERS", "d"))["error"]["err_code"] == 10014
    await nc.close()


async def test_names_and_list_page_sorted_by_name(server):
    nc = await connect(server)
    await add_stream(nc)
    for name in ("c", "a", "d", "b"):
        await create(nc, "ORDERS", {"durable_name": name})
    doc = await api(nc, subjects.consumer_names("ORDERS"), {"offset": 2})
    assert (doc["total"], doc["offset"], doc["limit"], doc["consumers"]) == (4, 2, 1024, ["c", "d"])
    doc = await api(nc, subjects.consumer_names("ORDERS"), b"garbage")
    assert doc["consumers"] == ["a", "b", "c", "d"]
    doc = await api(nc, subjects.consumer_list("ORDERS"), {"offset": 100})
    assert (doc["total"], doc["offset"], doc["limit"], doc["consumers"]) == (4, 4, 256, [])
    doc = await api(nc, subjects.consumer_list("ORDERS"))
    assert [c["name"] for c in doc["consumers"]] == ["a", "b", "c", "d"]
    doc = await api(nc, subjects.consumer_names("ORDERS"), b"{bad")
    assert doc["error"]["err_code"] == 10025
    assert (doc["total"], doc["consumers"]) == (0, [])
    doc = await api(nc, subjects.consumer_names("NOPE"))
    assert (doc["error"]["err_code"], doc["limit"], doc["consumers"]) == (10059, 0, [])
    await nc.close()


async def test_max_consumers_of_a_stream(server):
    nc = await connect(server)
    await add_stream(nc, max_consumers=2)
    await create(nc, "ORDERS", {"durable_name": "a"})
    await create(nc, "ORDERS", {"durable_name": "b"})
    doc = await create(nc, "ORDERS", {"durable_name": "c"})
    assert doc["error"] == {"code": 400, "err_code": 10026, "description": "maximum consumers limit reached"}
    assert "error" not in await create(nc, "ORDERS", {"durable_name": "a", "description": "update"})
    await nc.close()


async def test_deleting_the_stream_deletes_its_consumers(server):
    nc = await connect(server)
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "a"})
    await api(nc, subjects.stream_delete("ORDERS"))
    await add_stream(nc)
    assert (await api(nc, subjects.consumer_names("ORDERS")))["consumers"] == []
    await nc.close()


ACCOUNT_LIMITS = """
accounts {
  A: {
    jetstream: { max_consumers: 2, max_ack_pending: 50 }
    users: [ {user: a, password: a} ]
  }
}
"""


async def test_account_caps_consumers_per_stream_and_max_ack_pending(make_server, tmp_path):
    conf = tmp_path / "limits.conf"
    conf.write_text(ACCOUNT_LIMITS)
    server = make_server(["-c", str(conf)])
    nc = await nats.connect(server.url.replace("nats://", "nats://a:a@"), allow_reconnect=False)
    await add_stream(nc, "S1")
    await add_stream(nc, "S2")
    for name in ("a", "b"):
        doc = await create(nc, "S1", {"durable_name": name, "ack_policy": "explicit"})
        assert doc["config"]["max_ack_pending"] == 50  # the account's cap is the default
    assert (await create(nc, "S1", {"durable_name": "c"}))["error"]["err_code"] == 10026
    assert "error" not in await create(nc, "S2", {"durable_name": "c"})  # counted per stream
    doc = await create(nc, "S2", {"durable_name": "d", "ack_policy": "explicit", "max_ack_pending": 100})
    assert doc["error"] == {
        "code": 400,
        "err_code": 10121,
        "description": "consumer max ack pending exceeds system limit of 50",
    }
    await nc.close()


async def test_versioning_metadata(jsapi):
    """The API level a consumer needs is stored with it; create and info add the server's own."""
    await jsapi.create("ORDERS")
    level = str((await jsapi.ok(subjects.account_info()))["api"]["level"])
    version = jsapi.nc._server_info["version"]

    async def created(name: str, **config) -> dict:
        body = {"stream_name": "ORDERS", "config": {"name": name, "ack_policy": "explicit", **config}}
        return (await jsapi.ok(subjects.consumer_create_named("ORDERS", name), body))["config"]["metadata"]

    served = {"_nats.ver": version, "_nats.level": level}
    assert await created("plain", metadata={"team": "a"}) == {"_nats.req.level": "0", "team": "a", **served}
    assert await created("paused", pause_until="2099-01-01T00:00:00Z") == {"_nats.req.level": "1", **served}
    info = await jsapi.ok(subjects.consumer_info("ORDERS", "plain"))
    assert info["config"]["metadata"] == {"_nats.req.level": "0", "team": "a", **served}
    listed = (await jsapi.ok(subjects.consumer_list("ORDERS")))["consumers"]
    assert {c["name"]: c["config"]["metadata"] for c in listed} == {
        "plain": {"_nats.req.level": "0", "team": "a"},
        "paused": {"_nats.req.level": "1"},
    }
    await jsapi.ok(subjects.consumer_pause("ORDERS", "paused"), {})
    info = await jsapi.ok(subjects.consumer_info("ORDERS", "paused"))
    assert info["config"]["metadata"] == {"_nats.req.level": "0", **served}
