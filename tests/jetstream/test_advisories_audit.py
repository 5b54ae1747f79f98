"""JetStream audit and stream advisories on both servers, captured with a plain subscription.

Every event must pass the schema its `type` names and carry the keys nats-server 2.15.1 sends,
in its order: the API audit with the requester's ClientInfo, stream created/updated/deleted,
snapshot create/complete and restore create/complete.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import schemas
from tests.jetstream.snapshot_client import RawClient, publish_acked, restore, snapshot

CLIENT_KEYS = ["start", "host", "id", "acc", "name", "lang", "ver", "rtt", "server", "kind", "client_type"]


@pytest.fixture
def client(server):
    c = RawClient(server.port)
    yield c
    c.close()


@pytest.fixture
def events(server):
    c = RawClient(server.port)
    c.sub("$JS.EVENT.ADVISORY.>")
    c.flush()
    yield c
    c.close()


def take(events: RawClient, count: int) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for _ in range(count):
        msg = events.next_msg()
        doc = json.loads(msg.data)
        problems = schemas.validate(doc["type"], doc)
        assert not problems, f"{doc['type']}: {problems}\n{doc}"
        out.append((msg.subject, doc))
    return out


def client_keys(info: dict[str, Any]) -> list[str]:
    """The ClientInfo keys; `rtt` only once the server has measured one (devserver: after its first
    PING), so it is left out of the comparison."""
    return [key for key in info if key != "rtt"]


def test_api_audit_of_each_request(server, client, events):
    create = {"name": "AUD", "subjects": ["aud.>"]}
    client.ok("$JS.API.STREAM.CREATE.AUD", create)
    client.ok("$JS.API.STREAM.INFO.AUD")
    seen = take(events, 3)
    # nats-server sends the stream's advisory from the stream's own queue: it may come after the audit
    assert sorted(s for s, _ in seen) == [
        "$JS.EVENT.ADVISORY.API",
        "$JS.EVENT.ADVISORY.API",
        "$JS.EVENT.ADVISORY.STREAM.CREATED.AUD",
    ]
    audit_create, audit_info = (d for s, d in seen if s == "$JS.EVENT.ADVISORY.API")
    assert list(audit_create) == [
        "type",
        "id",
        "timestamp",
        "server",
        "client",
        "subject",
        "request",
        "response",
    ]
    assert audit_create["subject"] == "$JS.API.STREAM.CREATE.AUD"
    assert json.loads(audit_create["request"]) == create
    assert json.loads(audit_create["response"])["config"]["name"] == "AUD"
    assert "request" not in audit_info  # an empty body is left out
    info = audit_create["client"]
    assert client_keys(info) == [k for k in CLIENT_KEYS if k != "rtt"]
    assert (info["acc"], info["name"], info["lang"], info["ver"]) == ("$G", "snap-test", "python", "1.0")
    assert (info["kind"], info["client_type"], info["host"]) == ("Client", "nats", "127.0.0.1")
    assert info["server"] == audit_create["server"]


def test_stream_created_updated_deleted(client, events):
    client.ok("$JS.API.STREAM.CREATE.ACT", {"name": "ACT", "subjects": ["act"]})
    client.ok("$JS.API.STREAM.UPDATE.ACT", {"name": "ACT", "subjects": ["act", "act2"]})
    client.ok("$JS.API.STREAM.DELETE.ACT")
    actions = [(s, d) for s, d in take(events, 6) if s != "$JS.EVENT.ADVISORY.API"]
    assert [(s, d["action"]) for s, d in actions] == [
        ("$JS.EVENT.ADVISORY.STREAM.CREATED.ACT", "create"),
        ("$JS.EVENT.ADVISORY.STREAM.UPDATED.ACT", "modify"),
        ("$JS.EVENT.ADVISORY.STREAM.DELETED.ACT", "delete"),
    ]
    for _, doc in actions:
        assert list(doc) == ["type", "id", "timestamp", "stream", "action"]


def test_snapshot_and_restore_advisories(client, events):
    client.ok("$JS.API.STREAM.CREATE.SN", {"name": "SN", "subjects": ["sn.>"]})
    publish_acked(client, [("sn.a", b"x" * 100, b"")] * 50)
    take(events, 2)  # created, audit
    snap = snapshot(client, "SN")
    restore(client, "RS", {"config": {"name": "RS", "subjects": ["rs"]}}, snap.data)
    seen = [(s, d) for s, d in take(events, 7) if s != "$JS.EVENT.ADVISORY.API"]
    by_type = {d["type"].rsplit(".", 1)[1]: d for _, d in seen}
    order = [s for s, _ in seen if s != "$JS.EVENT.ADVISORY.STREAM.CREATED.RS"]
    assert order == [  # STREAM.CREATED.RS comes from the stream's queue on nats-server: any time after
        "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE.SN",
        "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.SN",
        "$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE.RS",
        "$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE.RS",
    ]
    assert len(seen) == 5
    create, complete = by_type["snapshot_create"], by_type["snapshot_complete"]
    assert list(create) == ["type", "id", "timestamp", "stream", "state", "client"]
    assert create["state"] == snap.reply["state"]
    assert list(complete) == ["type", "id", "timestamp", "stream", "start", "end", "client"]
    assert complete["start"] <= complete["end"]
    assert list(by_type["restore_create"]) == ["type", "id", "timestamp", "stream", "client"]
    done = by_type["restore_complete"]
    assert list(done) == ["type", "id", "timestamp", "stream", "start", "end", "bytes", "client"]
    assert done["bytes"] == len(snap.data)
    for doc in (create, complete, by_type["restore_create"], done):
        assert client_keys(doc["client"]) == [k for k in CLIENT_KEYS if k != "rtt"]
        assert doc["client"]["name"] == "snap-test"
