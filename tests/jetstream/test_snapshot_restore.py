"""STREAM.RESTORE on both servers: a snapshot restored into a fresh server of the same kind is the
original stream (every message with its sequence, subject, headers, payload and time; the gaps;
the consumers' delivery and ack state), with the errors and the stall rule of nats-server.
"""

from __future__ import annotations

import base64
import json
import time

import pytest

from schemas import errors
from tests.jetstream.snapshot_client import RawClient, publish_acked, restore, snapshot
from tests.servers import nats_server_binary, start_server

CREATE_RESPONSE = "io.nats.jetstream.api.v1.stream_create_response"
STALL = 5.0  # both servers abandon a restore after this long without a chunk


@pytest.fixture
def client(server):
    c = RawClient(server.port)
    yield c
    c.close()


@pytest.fixture
def fresh(server_kind, tmp_path):
    """A second, empty server of the same kind with its own store."""
    (tmp_path / "fresh").mkdir()
    srv = start_server(server_kind, tmp_path / "fresh")
    c = RawClient(srv.port)
    yield c
    c.close()
    srv.stop()


def build(client: RawClient, storage: str) -> None:
    """A stream with gaps at its start, middle and end, headers, and two consumers mid-way."""
    client.ok(
        "$JS.API.STREAM.CREATE.ORDERS",
        {"name": "ORDERS", "subjects": ["orders.>"], "storage": storage},
    )
    messages = [
        (
            f"orders.{i % 5}",
            b"order %d " % i * (i % 13 + 1),
            b"NATS/1.0\r\nOrder: %d\r\nKind: x\r\n\r\n" % i if i % 4 == 0 else b"",
        )
        for i in range(400)
    ]
    assert all("error" not in ack for ack in publish_acked(client, messages))
    for seq in (1, 2, 77, 78, 79, 200, 400):
        client.ok("$JS.API.STREAM.MSG.DELETE.ORDERS", {"seq": seq})
    for name, extra in (("PULL", {}), ("FILTERED", {"filter_subject": "orders.3"})):
        config = {"durable_name": name, "ack_policy": "explicit", "max_deliver": 5, **extra}
        client.ok(f"$JS.API.CONSUMER.CREATE.ORDERS.{name}", {"stream_name": "ORDERS", "config": config})
        inbox = f"pull.{name}"
        sid = client.sub(inbox)
        client.pub(f"$JS.API.CONSUMER.MSG.NEXT.ORDERS.{name}", b'{"batch":12}', inbox)
        got = [client.next_msg() for _ in range(12)]
        client.unsub(sid)
        for index, msg in enumerate(got):
            if index % 3 == 0:
                client.pub(msg.reply, b"+ACK")
            elif index % 3 == 1 and name == "PULL":  # FILTERED just leaves them pending
                client.pub(msg.reply, b"-NAK")
        client.flush()


def messages(client: RawClient, last_seq: int) -> dict[int, dict]:
    out = {}
    for seq in range(1, last_seq + 2):
        doc = client.request("$JS.API.STREAM.MSG.GET.ORDERS", {"seq": seq})
        out[seq] = doc.get("message") or doc["error"]["err_code"]
    return out


def consumer_state(client: RawClient, name: str) -> dict:
    info = client.ok(f"$JS.API.CONSUMER.INFO.ORDERS.{name}")
    keys = ("num_ack_pending", "num_redelivered", "num_pending")
    state = {key: info[key] for key in keys}
    for key in ("delivered", "ack_floor"):
        state[key] = {k: info[key][k] for k in ("consumer_seq", "stream_seq")}
    state["config"] = {k: v for k, v in info["config"].items() if k != "metadata"}
    return state


STATE_KEYS = ("messages", "bytes", "first_seq", "first_ts", "last_seq", "num_deleted", "num_subjects")


@pytest.mark.parametrize("storage", ["file", "memory"])
def test_restored_stream_is_the_original(server, client, fresh, storage):
    build(client, storage)
    snap = snapshot(client, "ORDERS", chunk_size=4096)
    assert snap.end.status == "204"
    final = restore(fresh, "ORDERS", snap.backup(), snap.data)
    assert final["type"] == CREATE_RESPONSE and "error" not in final, final
    assert set(final) == {"type", "config", "created", "state", "ts"}
    before, after = client.ok("$JS.API.STREAM.INFO.ORDERS"), fresh.ok("$JS.API.STREAM.INFO.ORDERS")
    assert {k: after["state"].get(k) for k in STATE_KEYS} == {k: before["state"].get(k) for k in STATE_KEYS}
    assert (after["state"]["first_seq"], after["state"]["last_seq"], after["state"]["num_deleted"]) == (
        3,
        400,
        5,
    )
    assert after["state"]["consumer_count"] == 2
    original = messages(client, before["state"]["last_seq"])
    restored = messages(fresh, before["state"]["last_seq"])
    differences = [seq for seq in original if original[seq] != restored[seq]]
    assert differences == []
    with_headers = [m for m in original.values() if isinstance(m, dict) and "hdrs" in m]
    assert b"Order: 4" in base64.b64decode(with_headers[0]["hdrs"])
    for name in ("PULL", "FILTERED"):
        assert consumer_state(fresh, name) == consumer_state(client, name)
    if not server.is_real:  # nats-server keeps neither the last time of a deleted tail nor last_active
        assert after["state"]["last_ts"] == before["state"]["last_ts"]
        for name in ("PULL", "FILTERED"):
            a = client.ok(f"$JS.API.CONSUMER.INFO.ORDERS.{name}")
            b = fresh.ok(f"$JS.API.CONSUMER.INFO.ORDERS.{name}")
            assert (a["delivered"], a["ack_floor"]) == (b["delivered"], b["ack_floor"])


def test_restored_consumers_go_on_where_they_were(client, fresh):
    """The next pull from the restored consumer is the message the original gives next. (A NAKed
    message waiting for redelivery comes back after ack_wait on both servers, not at once.)"""
    build(client, "file")
    snap = snapshot(client, "ORDERS")
    restore(fresh, "ORDERS", snap.backup(), snap.data)

    def next_seq(c: RawClient) -> int:
        c.sub("next.one")
        c.pub("$JS.API.CONSUMER.MSG.NEXT.ORDERS.FILTERED", b'{"batch":1,"no_wait":true}', "next.one")
        msg = c.next_msg()
        return int(msg.reply.split(".")[5])

    assert next_seq(fresh) == next_seq(client)


def test_restore_errors(client):
    client.ok("$JS.API.STREAM.CREATE.SN", {"name": "SN", "subjects": ["sn.>"]})

    def fails(subject: str, body, name: str, **placeholders) -> None:
        doc = client.request(subject, body)
        assert doc["type"] == "io.nats.jetstream.api.v1.stream_restore_response"
        assert doc["error"] == errors.error(name, **placeholders), doc
        assert doc["deliver_subject"] == ""

    config = {"name": "SN", "subjects": ["sn.>"]}
    fails("$JS.API.STREAM.RESTORE.SN", b"", "JSBadRequestErr")
    fails("$JS.API.STREAM.RESTORE.SN", {"config": config}, "JSStreamNameExistRestoreFailedErr")
    fails("$JS.API.STREAM.RESTORE.X", {"config": config}, "JSStreamMismatchErr")
    doc = client.request("$JS.API.STREAM.RESTORE.Y", {"config": {"name": "Y"}, "state": {"messages": "x"}})
    assert doc["error"]["err_code"] == 10025


def test_broken_archives_fail_at_the_end(client):
    """Chunks of a bad archive are still acked; the final reply says why (both servers: s2)."""
    final = restore(client, "G", {"config": {"name": "G", "subjects": ["g"]}}, b"garbage" * 10)
    assert final["type"] == CREATE_RESPONSE
    assert final["error"] == errors.error("JSStreamRestoreErrF", err="s2: corrupt input")
    assert client.ok("$JS.API.STREAM.NAMES")["streams"] is None


def test_restore_that_overlaps_fails_and_leaves_nothing(server, client):
    client.ok("$JS.API.STREAM.CREATE.SN", {"name": "SN", "subjects": ["sn.>"]})
    publish_acked(client, [("sn.1", b"x", b"")])
    snap = snapshot(client, "SN")
    final = restore(client, "O", {"config": {"name": "O", "subjects": ["sn.1"]}}, snap.data)
    overlap = errors.error("JSStreamSubjectOverlapErr")
    text = f"error adding stream: {overlap['description']} ({overlap['err_code']})"
    assert final["error"] == errors.error("JSStreamRestoreErrF", err=text)
    assert client.ok("$JS.API.STREAM.NAMES")["streams"] == ["SN"]
    if not server.is_real:  # devserver's work folder, restores/ included, is gone
        assert not list(server.store_dir.rglob("restores"))


def test_stalled_restore_is_abandoned(client):
    client.ok("$JS.API.STREAM.CREATE.SN", {"name": "SN", "subjects": ["sn.>"]})
    publish_acked(client, [("sn.1", b"x" * 500, b"")] * 20)
    snap = snapshot(client, "SN")
    backup = {"config": {"name": "S2", "subjects": ["s2"]}}
    deliver = client.ok("$JS.API.STREAM.RESTORE.S2", backup)["deliver_subject"]
    assert client.request_raw(deliver, snap.data[:100]).data == b""
    # the stall is a timeout: nothing to observe before it passes, on either server
    resume = time.monotonic() + STALL + 1.5
    while time.monotonic() < resume:
        assert client.ok("$JS.API.STREAM.NAMES")["streams"] == ["SN"]
    late = client.request_raw(deliver, snap.data[100:])
    assert late.status == "503"  # no responders: the restore no longer listens
    assert client.ok("$JS.API.STREAM.NAMES")["streams"] == ["SN"]


def test_advisories_of_a_restore(server, client):
    events = RawClient(server.port)
    events.sub("$JS.EVENT.ADVISORY.STREAM.>")
    events.flush()
    client.ok("$JS.API.STREAM.CREATE.SN", {"name": "SN", "subjects": ["sn.>"]})
    publish_acked(client, [("sn.1", b"x", b"")])
    snap = snapshot(client, "SN")
    restore(client, "R", {"config": {"name": "R", "subjects": ["r"]}}, snap.data)
    seen = []
    while len(seen) < 6:
        msg = events.next_msg()
        seen.append((msg.subject, json.loads(msg.data)))
    subjects = [s for s, _ in seen]
    # nats-server sends STREAM.CREATED from the new stream's own queue: before or after the end
    created = subjects.index("$JS.EVENT.ADVISORY.STREAM.CREATED.R")
    assert created > subjects.index("$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE.R")
    assert [s for s in subjects if s != subjects[created]] == [
        "$JS.EVENT.ADVISORY.STREAM.CREATED.SN",
        "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE.SN",
        "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.SN",
        "$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE.R",
        "$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE.R",
    ]
    complete = next(doc for subject, doc in seen if subject.endswith("RESTORE_COMPLETE.R"))
    assert complete["bytes"] == len(snap.data)
    assert complete["client"]["name"] == "snap-test" and complete["client"]["acc"] == "$G"
    events.close()


@pytest.mark.parametrize("server_kind", ["dev"])
@pytest.mark.skipif(nats_server_binary() is None, reason="nats-server binary not found")
def test_devserver_refuses_a_nats_server_archive(client, tmp_path):
    (tmp_path / "real").mkdir()
    real = start_server("real", tmp_path / "real")
    try:
        other = RawClient(real.port)
        other.ok("$JS.API.STREAM.CREATE.SN", {"name": "SN", "subjects": ["sn.>"]})
        publish_acked(other, [("sn.1", b"x", b"")])
        snap = snapshot(other, "SN")
        other.close()
    finally:
        real.stop()
    final = restore(client, "SN", snap.backup(), snap.data)
    assert final["error"] == errors.error(
        "JSStreamRestoreErrF", err="snapshot archive was not written by devserver"
    )


@pytest.mark.parametrize("server_kind", ["dev"])
@pytest.mark.skipif(nats_server_binary() is None, reason="nats-server binary not found")
def test_nats_server_decodes_a_devserver_archive_as_s2_then_refuses_it(client, tmp_path):
    """nats-server's S2 reader takes devserver's framing (as `nats stream backup`'s progress
    reader must) and only then finds it is not its own archive."""
    client.ok("$JS.API.STREAM.CREATE.SN", {"name": "SN", "subjects": ["sn.>"]})
    publish_acked(client, [("sn.1", b"x" * 100, b"")] * 3000)
    snap = snapshot(client, "SN")
    (tmp_path / "real").mkdir()
    real = start_server("real", tmp_path / "real")
    try:
        other = RawClient(real.port)
        final = restore(other, "SN", snap.backup(), snap.data)
        other.close()
    finally:
        real.stop()
    assert final["error"] == errors.error("JSStreamRestoreErrF", err="archive/tar: invalid tar header")


def test_restore_after_purges_and_deletes_is_the_original(server, client, fresh):
    """Purges (by subject, below a sequence) and deletions in the middle leave gaps and subjects
    that come back as they were; more than one batch and block's worth of messages."""
    client.ok("$JS.API.STREAM.CREATE.ORDERS", {"name": "ORDERS", "subjects": ["orders.>"]})
    messages_ = [(f"orders.{i % 7}", b"m%d " % i * 900, b"") for i in range(1, 1201)]
    assert all("error" not in ack for ack in publish_acked(client, messages_))
    client.ok("$JS.API.STREAM.PURGE.ORDERS", {"filter": "orders.3"})
    client.ok("$JS.API.STREAM.PURGE.ORDERS", {"seq": 40})
    for seq in (498, 499, 501, 777, 1199):
        client.ok("$JS.API.STREAM.MSG.DELETE.ORDERS", {"seq": seq})
    snap = snapshot(client, "ORDERS")
    final = restore(fresh, "ORDERS", snap.backup(), snap.data)
    assert "error" not in final, final
    before, after = client.ok("$JS.API.STREAM.INFO.ORDERS"), fresh.ok("$JS.API.STREAM.INFO.ORDERS")
    assert {k: after["state"].get(k) for k in STATE_KEYS} == {k: before["state"].get(k) for k in STATE_KEYS}
    original, restored = messages(client, 1200), messages(fresh, 1200)
    assert [seq for seq in original if original[seq] != restored[seq]] == []
    counts = {"subjects_filter": "orders.*"}
    assert (
        fresh.ok("$JS.API.STREAM.INFO.ORDERS", counts)["state"]["subjects"]
        == client.ok("$JS.API.STREAM.INFO.ORDERS", counts)["state"]["subjects"]
    )


@pytest.mark.parametrize("server_kind", ["dev"])
def test_restore_cut_by_a_crash_leaves_nothing(client, tmp_path):
    """kill -9 in the middle of an upload: after a restart the stream is not there, the work
    folder is gone, and the same archive restores in full."""
    client.ok("$JS.API.STREAM.CREATE.SN", {"name": "SN", "subjects": ["sn.>"]})
    publish_acked(client, [(f"sn.{i % 3}", b"x" * 700, b"") for i in range(400)])
    snap = snapshot(client, "SN")
    (tmp_path / "crash").mkdir()
    srv = start_server("dev-proc", tmp_path / "crash")
    try:
        other = RawClient(srv.port)
        deliver = other.ok("$JS.API.STREAM.RESTORE.SN", snap.backup())["deliver_subject"]
        for start in range(0, len(snap.data) // 2, 64 * 1024):
            assert other.request_raw(deliver, snap.data[start : start + 64 * 1024]).data == b""
        leftovers = list(srv.store_dir.rglob("restores/*"))
        assert leftovers
        other.close()
        srv.kill()
        srv.start()
        assert not any(path.exists() for path in leftovers)
        assert not list(srv.store_dir.rglob("restores"))
        other = RawClient(srv.port)
        assert other.ok("$JS.API.STREAM.NAMES")["streams"] is None
        final = restore(other, "SN", snap.backup(), snap.data)
        assert final["state"]["messages"] == 400, final
        other.close()
    finally:
        srv.stop()
