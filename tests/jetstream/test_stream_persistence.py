"""File streams survive a restart, memory streams do not; `--memory` keeps everything in memory."""

from __future__ import annotations

import base64
import json

import nats
import pytest

from schemas import subjects as S
from tests.jetstream.conftest import JetStreamHelper, stable
from tests.servers import nats_server_binary, start_server

pytestmark = pytest.mark.timeout(60)


async def open_helper(server) -> JetStreamHelper:
    return JetStreamHelper(await nats.connect(server.url, allow_reconnect=False))


async def test_file_streams_are_recovered_after_a_restart(server):
    js = await open_helper(server)
    try:
        created = await js.create("KEEP", max_msgs=100, description="kept", metadata={"k": "v"})
        await js.create("GONE", storage="memory")
        for i in range(5):
            await js.stored(
                "keep.a" if i % 2 else "keep.b", f"m{i}".encode(), headers={"Nats-Msg-Id": f"id{i}"}
            )
        await js.ok(S.stream_msg_delete("KEEP"), {"seq": 2})
        await js.stored("gone.a")
        before = (await js.info("KEEP", subjects_filter=">", deleted_details=True))["state"]
    finally:
        await js.nc.close()

    server.restart()
    js = await open_helper(server)
    try:
        assert (await js.ok(S.stream_names()))["streams"] == ["KEEP"]
        info = await js.info("KEEP", subjects_filter=">", deleted_details=True)
        assert stable(info["config"]) == stable(created["config"])
        assert info["created"] == created["created"]
        assert info["state"] == before
        msg = (await js.ok(S.stream_msg_get("KEEP"), {"seq": 3}))["message"]
        assert (msg["subject"], msg["seq"]) == ("keep.b", 3)
        assert await js.stored("keep.a") == 6
    finally:
        await js.nc.close()


async def test_memory_flag_keeps_file_streams_in_memory(make_server, server_kind):
    if server_kind == "real":
        pytest.skip("`--memory` is a devserver flag; nats-server has no memory-only mode")
    server = make_server(["--memory"])
    js = await open_helper(server)
    try:
        doc = await js.create("F")
        assert doc["config"]["storage"] == "file"  # reported as configured
        await js.stored("f.a", b"12345")
        assert (await js.state("F"))["bytes"] == 3 + 5 + 16  # kept (and accounted) as in memory
    finally:
        await js.nc.close()
    assert not any(server.store_dir.rglob("meta.inf"))
    server.restart()
    js = await open_helper(server)
    try:
        assert (await js.ok(S.stream_names()))["streams"] is None
    finally:
        await js.nc.close()


@pytest.fixture(params=["dev-proc", "real"])
def killable(request, tmp_path):
    """A server in a child process, so it can be killed with SIGKILL."""
    if request.param == "real" and nats_server_binary() is None:
        pytest.skip("nats-server binary not found")
    srv = start_server(request.param, tmp_path)
    yield srv
    srv.stop()


async def test_every_acked_message_survives_kill_9(killable):
    """A PubAck leaves only after the message is in the OS: SIGKILL loses nothing acknowledged."""
    js = await open_helper(killable)
    acked = []
    try:
        await js.create("DUR", subjects=["dur.>"])
        inbox = js.nc.new_inbox()
        sub = await js.nc.subscribe(inbox)
        for i in range(500):
            await js.nc.publish(f"dur.{i % 7}", b"%d" % i, reply=inbox)
        for _ in range(300):  # take the acks that arrived, then kill mid-stream
            acked.append(json.loads((await sub.next_msg(timeout=2)).data)["seq"])
    finally:
        await js.nc.close()
    killable.kill()
    killable.start()
    js = await open_helper(killable)
    try:
        state = await js.state("DUR")
        assert state["last_seq"] >= max(acked) and state["messages"] >= len(acked)
        for seq in (acked[0], acked[len(acked) // 2], acked[-1]):
            msg = (await js.ok(S.stream_msg_get("DUR"), {"seq": seq}))["message"]
            assert base64.b64decode(msg["data"]) == b"%d" % (seq - 1)
    finally:
        await js.nc.close()
