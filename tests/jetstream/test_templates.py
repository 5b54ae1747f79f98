"""Stream templates (the seed's `nats str template add`): devserver only.

nats-server removed templates in 2.14, so the 2.15.1 reference server has nothing to compare
with; the JSON shapes are checked against the stream_template_* schemas written from jsm.go's
schemas of before their removal, and the behaviour follows nats-server 2.12's jetstream.go.
"""

from __future__ import annotations

import json

import pytest

from schemas import errors
from tests.jetstream.snapshot_client import RawClient

pytestmark = pytest.mark.parametrize(
    "server_kind", [pytest.param("dev", id="dev-only: nats-server 2.14+ has no stream templates")]
)

TEMPLATE = {
    "name": "CLIENTS",
    "config": {"subjects": ["CLIENT.*"], "storage": "file", "max_age": 365 * 24 * 3600 * 10**9},
    "max_streams": 2,
}


@pytest.fixture
def client(server):
    c = RawClient(server.port)
    yield c
    c.close()


def test_create_info_names_delete(client):
    created = client.ok("$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS", TEMPLATE)
    assert created["type"] == "io.nats.jetstream.api.v1.stream_template_create_response"
    assert created["config"]["name"] == "CLIENTS" and created["config"]["max_streams"] == 2
    assert created["config"]["config"]["name"] == "_"  # nats-server checks it under a placeholder
    assert created["config"]["config"]["subjects"] == ["CLIENT.*"]
    assert created["streams"] == []
    info = client.ok("$JS.API.STREAM.TEMPLATE.INFO.CLIENTS")
    assert {k: v for k, v in info.items() if k != "type"} == {k: v for k, v in created.items() if k != "type"}
    names = client.ok("$JS.API.STREAM.TEMPLATE.NAMES")
    assert (names["total"], names["offset"], names["limit"], names["streams"]) == (1, 0, 1024, ["CLIENTS"])
    assert client.ok("$JS.API.STREAM.TEMPLATE.DELETE.CLIENTS")["success"] is True
    assert client.ok("$JS.API.STREAM.TEMPLATE.NAMES")["streams"] == []


def test_first_message_creates_the_stream_named_after_the_subject(client):
    client.ok("$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS", TEMPLATE)
    ack = json.loads(client.request_raw("CLIENT.acme", b"hello").data)
    assert ack == {"stream": "CLIENT_acme", "seq": 1}
    assert json.loads(client.request_raw("CLIENT.acme", b"again").data)["seq"] == 2
    info = client.ok("$JS.API.STREAM.INFO.CLIENT_acme")
    assert info["config"]["subjects"] == ["CLIENT.acme"]
    assert info["config"]["template_owner"] == "CLIENTS"
    assert info["config"]["max_age"] == TEMPLATE["config"]["max_age"]
    assert info["state"]["messages"] == 2
    assert client.ok("$JS.API.STREAM.TEMPLATE.INFO.CLIENTS")["streams"] == ["CLIENT_acme"]


def test_max_streams_drops_messages_beyond_the_limit(client):
    client.ok("$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS", TEMPLATE)
    for name in ("a", "b", "c"):
        client.pub(f"CLIENT.{name}", b"x")
    client.flush()
    assert client.ok("$JS.API.STREAM.NAMES")["streams"] == ["CLIENT_a", "CLIENT_b"]
    client.pub("CLIENT.c", b"again")  # still dropped: the template listens, nothing stores it
    client.flush()
    assert client.ok("$JS.API.STREAM.NAMES")["total"] == 2
    assert client.ok("$JS.API.STREAM.TEMPLATE.INFO.CLIENTS")["streams"] == ["CLIENT_a", "CLIENT_b"]


def test_template_owned_streams_cannot_be_updated(client):
    client.ok("$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS", TEMPLATE)
    client.request_raw("CLIENT.acme", b"x")
    doc = client.request(
        "$JS.API.STREAM.UPDATE.CLIENT_acme", {"name": "CLIENT_acme", "subjects": ["CLIENT.acme"]}
    )
    assert doc["error"] == errors.error(
        "JSStreamInvalidConfigF", err="stream configuration update not allowed on template owned stream"
    )


def test_deleting_the_template_deletes_its_streams(server, client):
    events = RawClient(server.port)
    events.sub("$JS.EVENT.ADVISORY.STREAM.*.*")
    events.flush()
    client.ok("$JS.API.STREAM.CREATE.OTHER", {"name": "OTHER", "subjects": ["other"]})
    client.ok("$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS", TEMPLATE)
    client.request_raw("CLIENT.a", b"x")
    client.request_raw("CLIENT.b", b"x")
    client.ok("$JS.API.STREAM.TEMPLATE.DELETE.CLIENTS")
    assert client.ok("$JS.API.STREAM.NAMES")["streams"] == ["OTHER"]
    seen = [(m.subject, json.loads(m.data)) for m in (events.next_msg() for _ in range(5))]
    assert [s for s, _ in seen] == [
        "$JS.EVENT.ADVISORY.STREAM.CREATED.OTHER",
        "$JS.EVENT.ADVISORY.STREAM.CREATED.CLIENT_a",
        "$JS.EVENT.ADVISORY.STREAM.CREATED.CLIENT_b",
        "$JS.EVENT.ADVISORY.STREAM.DELETED.CLIENT_a",
        "$JS.EVENT.ADVISORY.STREAM.DELETED.CLIENT_b",
    ]
    assert "template" not in seen[0][1]
    assert all(doc["template"] == "CLIENTS" for _, doc in seen[1:])
    events.close()


def test_templates_and_their_streams_survive_a_restart(server):
    client = RawClient(server.port)
    client.ok("$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS", TEMPLATE)
    client.request_raw("CLIENT.acme", b"x")
    client.close()
    server.restart()
    client = RawClient(server.port)
    assert client.ok("$JS.API.STREAM.TEMPLATE.INFO.CLIENTS")["streams"] == ["CLIENT_acme"]
    assert json.loads(client.request_raw("CLIENT.new", b"x").data)["stream"] == "CLIENT_new"
    client.ok("$JS.API.STREAM.TEMPLATE.DELETE.CLIENTS")
    assert client.ok("$JS.API.STREAM.NAMES")["streams"] is None
    client.close()


def test_template_errors(client):
    def fails(subject: str, body, name: str, **placeholders) -> None:
        doc = client.request(subject, body)
        assert doc["error"] == errors.error(name, **placeholders), doc

    fails("$JS.API.STREAM.TEMPLATE.CREATE.OTHER", TEMPLATE, "JSTemplateNameNotMatchSubjectErr")
    named = {**TEMPLATE, "config": {**TEMPLATE["config"], "name": "X"}}
    fails(
        "$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS",
        named,
        "JSStreamTemplateCreateErrF",
        err="template config name should be empty",
    )
    client.ok("$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS", TEMPLATE)
    fails(
        "$JS.API.STREAM.TEMPLATE.CREATE.CLIENTS",
        TEMPLATE,
        "JSStreamTemplateCreateErrF",
        err='template with name "CLIENTS" already exists',
    )
    fails("$JS.API.STREAM.TEMPLATE.INFO.NOPE", b"", "JSStreamTemplateNotFoundErr")
    fails("$JS.API.STREAM.TEMPLATE.DELETE.NOPE", b"", "JSStreamTemplateNotFoundErr")
    fails("$JS.API.STREAM.TEMPLATE.INFO.CLIENTS", {"x": 1}, "JSNotEmptyRequestErr")
