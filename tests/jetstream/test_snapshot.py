"""STREAM.SNAPSHOT on both servers: the reply, the chunk flow, its window and its ends, errors.

The archive itself is opaque (each server reads only its own); both start as an S2 stream, which
is what `nats stream backup` decodes for its progress bar.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from schemas import errors
from tests.jetstream.snapshot_client import RawClient, publish_acked, snapshot

S2_STREAM_ID = b"\xff\x06\x00\x00S2sTwO"


@pytest.fixture
def client(server):
    c = RawClient(server.port)
    yield c
    c.close()


def fill(client: RawClient, stream: str = "SN", count: int = 300, storage: str = "file") -> None:
    client.ok(f"$JS.API.STREAM.CREATE.{stream}", {"name": stream, "subjects": ["sn.>"], "storage": storage})
    messages = [
        (f"sn.{i % 7}", b"payload %d " % i * 10, b"NATS/1.0\r\nN: %d\r\n\r\n" % i if i % 3 == 0 else b"")
        for i in range(count)
    ]
    assert all("error" not in ack for ack in publish_acked(client, messages))


def start(client: RawClient, chunk: int, window: int, deliver: str = "dl") -> int:
    """Subscribe to the deliver subject and ask for a snapshot of SN; the subscription's sid."""
    sid = client.sub(deliver)
    body = {"deliver_subject": deliver, "chunk_size": chunk, "window_size": window}
    client.ok("$JS.API.STREAM.SNAPSHOT.SN", body)
    return sid


@pytest.mark.parametrize("storage", ["file", "memory"])
def test_snapshot_reply_chunks_and_204(client, storage):
    fill(client, storage=storage)
    info = client.ok("$JS.API.STREAM.INFO.SN")
    snap = snapshot(client, "SN", chunk_size=1024, window_size=4096)
    assert snap.reply["config"]["name"] == "SN"
    assert snap.reply["config"]["storage"] == storage
    assert snap.reply["state"]["messages"] == info["state"]["messages"] == 300
    assert snap.reply["state"]["last_seq"] == 300
    assert snap.data.startswith(S2_STREAM_ID)
    full, last = snap.chunks[:-1], snap.chunks[-1]
    assert full, "the archive of 300 messages is more than one chunk"
    pattern = re.compile(r"^\$JS\.SNAPSHOT\.ACK\.SN\.([A-Za-z0-9]{22})\.1024\.(\d+)$")
    ids = set()
    for index, chunk in enumerate(full, start=1):
        found = pattern.match(chunk.reply or "")
        assert found, chunk.reply
        ids.add(found.group(1))
        assert int(found.group(2)) == index
        assert len(chunk.data) == 1024
    assert len(ids) == 1
    if len(last.data) < 1024:
        assert last.reply is None
    assert snap.end.status == "204"


def test_empty_stream_snapshot_ends_without_status(client):
    client.ok("$JS.API.STREAM.CREATE.E", {"name": "E", "subjects": ["e"]})
    snap = snapshot(client, "E")
    assert len(snap.chunks) == 1 and snap.chunks[0].reply is None
    assert snap.end.headers == b""


def test_snapshot_errors(client):
    fill(client, count=1)

    def fails(subject: str, body, name: str) -> None:
        doc = client.request(subject, body)
        assert doc["type"] == "io.nats.jetstream.api.v1.stream_snapshot_response"
        assert doc["error"] == errors.error(name), doc

    fails("$JS.API.STREAM.SNAPSHOT.SN", b"", "JSBadRequestErr")
    fails("$JS.API.STREAM.SNAPSHOT.SN", {}, "JSBadRequestErr")
    fails("$JS.API.STREAM.SNAPSHOT.NOPE", {"deliver_subject": "x"}, "JSStreamNotFoundErr")
    fails("$JS.API.STREAM.SNAPSHOT.NOPE", {"foo": 1}, "JSStreamNotFoundErr")
    fails("$JS.API.STREAM.SNAPSHOT.SN", {"deliver_subject": "x.*"}, "JSSnapshotDeliverSubjectInvalidErr")
    fails("$JS.API.STREAM.SNAPSHOT.SN", {"deliver_subject": ""}, "JSSnapshotDeliverSubjectInvalidErr")
    doc = client.request("$JS.API.STREAM.SNAPSHOT.SN", {"foo": 1})
    assert doc["error"] == errors.error("JSInvalidJSONErr", err='json: unknown field "foo"')


def test_window_is_respected_and_silence_ends_with_408(client):
    """window 2048 / chunk 1024: two chunks, then nothing until the 5 s ack timeout."""
    fill(client, count=200)
    start(client, 1024, 2048)
    first, second = client.next_msg(), client.next_msg()
    assert first.reply.endswith(".1024.1") and second.reply.endswith(".1024.2")
    started = time.monotonic()
    end = client.next_msg(timeout=15)
    assert end.data == b"" and end.status == "408 No Flow Response"
    assert time.monotonic() - started > 3


def test_acks_free_the_window_one_chunk_each(client):
    fill(client, count=200)
    start(client, 1024, 2048)
    first, second = client.next_msg(), client.next_msg()
    client.pub(first.reply)
    third = client.next_msg()
    assert third.reply.endswith(".1024.3")
    client.pub(second.reply)
    client.pub(third.reply)
    assert client.next_msg().reply.endswith(".1024.4")
    assert client.next_msg().reply.endswith(".1024.5")


def test_receiver_gone_ends_with_no_interest(server, client):
    fill(client, count=200)
    events = RawClient(server.port)
    events.sub("$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.SN")
    events.flush()
    sid = start(client, 1024, 1024)
    assert client.next_msg().reply
    client.unsub(sid)
    done = json.loads(events.next_msg(timeout=15).data)
    assert done["type"] == "io.nats.jetstream.advisory.v1.snapshot_complete"
    assert done["error"] == "no interest"
    events.close()


def test_consumers_are_counted_unless_left_out(client):
    fill(client, count=10)
    client.ok(
        "$JS.API.CONSUMER.CREATE.SN.D",
        {"stream_name": "SN", "config": {"durable_name": "D", "ack_policy": "explicit"}},
    )
    with_consumers = snapshot(client, "SN")
    without = snapshot(client, "SN", no_consumers=True)
    assert with_consumers.reply["state"]["consumer_count"] == 1
    assert without.reply["state"]["consumer_count"] == 1  # the reply is the stream's state
    assert with_consumers.end.headers == without.end.headers


@pytest.mark.parametrize("server_kind", ["dev"])
def test_config_is_frozen_and_nothing_expires_during_a_snapshot(client):
    """The seed: during a backup the config cannot change and nothing expires. nats-server
    2.15.1 allows both (its v2 snapshot reads the live stream), so this runs on devserver only."""
    client.ok(
        "$JS.API.STREAM.CREATE.SN",
        {"name": "SN", "subjects": ["sn.>"], "max_age": 1_000_000_000},
    )
    publish_acked(client, [(f"sn.{i}", b"x" * 100, b"") for i in range(100)])
    start(client, 1024, 1024)
    first = client.next_msg()
    update = client.request("$JS.API.STREAM.UPDATE.SN", {"name": "SN", "subjects": ["sn.>"], "max_msgs": 5})
    assert update["error"] == errors.error(
        "JSStreamUpdateErrF", err="stream configuration can not change during a snapshot"
    )
    deadline = time.monotonic() + 1.5  # past max_age: expiry would have run
    while time.monotonic() < deadline:
        assert client.ok("$JS.API.STREAM.INFO.SN")["state"]["messages"] == 100
    reply = first.reply
    while reply:  # ack to the end
        client.pub(reply)
        msg = client.next_msg()
        reply = msg.reply
        while msg.data and not msg.reply:
            msg = client.next_msg()
    deadline = time.monotonic() + 5
    while client.ok("$JS.API.STREAM.INFO.SN")["state"]["messages"] and time.monotonic() < deadline:
        pass
    assert client.ok("$JS.API.STREAM.INFO.SN")["state"]["messages"] == 0
    assert "error" not in client.request("$JS.API.STREAM.UPDATE.SN", {"name": "SN", "subjects": ["sn.>"]})
