"""Power-loss simulation for `jetstream { sync_interval: always }` (devserver only).

A power cut keeps what was fsynced and loses the rest. The test runs devserver in this process
(ServerThread) with `os.fsync` and `os.replace` wrapped (`PowerCut`, test code only): each
fsync of a file under the store directory records the file's length as durable, and a rename
carries the record to the new name. While a raw client publishes with 256 acks in flight, the
wrapper freezes the server inside an fsync once a random number of acks has arrived: every ack
the client holds then was sent after the fsync that covered it, and nothing more can be sent.
The store directory is copied with every file cut to its last fsynced length (a file never
fsynced is left empty), a new server starts on the copy, and every acknowledged message must be
there. The next round runs on that copy, so recoveries from a cut store are cut again.

The control test shows the simulation has teeth: under the default interval policy the same cut
loses acknowledged messages.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import stat
import threading
import time
from pathlib import Path

import pytest

from devserver import ServerThread
from schemas import subjects as S
from tests.jetstream.raw_client import RawClient
from tests.servers import free_port

pytestmark = pytest.mark.timeout(60)

ROUNDS = 5
WINDOW = 256
NO_MESSAGE = 10037  # JSNoMessageFoundErr


class PowerCut:
    """Durable length of each file under `root`, from the fsyncs the server makes."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = os.path.realpath(root)
        self.synced: dict[str, int] = {}
        self.freeze = threading.Event()  # set: the server's next fsync blocks ...
        self.frozen = threading.Event()  # ... and says so here ...
        self.thaw = threading.Event()  # ... until this is set
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd: int) -> None:
            if self.freeze.is_set() and threading.current_thread().name == "devserver":
                self.frozen.set()
                self.thaw.wait(30)
            real_fsync(fd)
            path = os.readlink(f"/proc/self/fd/{fd}")
            info = os.fstat(fd)
            if path.startswith(self.root) and stat.S_ISREG(info.st_mode):
                self.synced[path] = info.st_size

        def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
            real_replace(src, dst)
            durable = self.synced.pop(os.path.realpath(src), None)
            if durable is not None:
                self.synced[os.path.realpath(dst)] = durable

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)

    def baseline(self, directory: Path) -> None:
        """Everything in `directory` now is durable (a clean shutdown left it)."""
        for path in directory.rglob("*"):
            if path.is_file():
                self.synced[os.path.realpath(path)] = path.stat().st_size

    def copy_cut(self, src: Path, dst: Path) -> int:
        """Copy `src` to `dst` as a power cut leaves it; the number of bytes cut."""
        cut = 0
        for path in sorted(src.rglob("*")):
            target = dst / path.relative_to(src)
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            data = path.read_bytes()
            keep = min(len(data), self.synced.get(os.path.realpath(path), 0))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data[:keep])
            cut += len(data) - keep
        return cut


def start(store: Path, config: Path | None = None) -> ServerThread:
    """devserver in this process on `store`, with a config file when given."""
    argv = ["-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(free_port())]
    return ServerThread(["-c", str(config), *argv] if config else argv).start()


def message(round_no: int, i: int) -> tuple[str, bytes | None, bytes]:
    """Publish `i` of a round: subject, headers (a fifth, with a Nats-Msg-Id), payload naming both."""
    headers = b"NATS/1.0\r\nNats-Msg-Id: %d-%d\r\n\r\n" % (round_no, i) if i % 5 == 0 else None
    return f"power.{round_no}.{i % 3}", headers, b"%d:%d:" % (round_no, i) + b"p" * (i * 29 % 150)


async def publish_until_frozen(
    srv: ServerThread, cut: PowerCut, round_no: int, target: int
) -> tuple[dict[int, int], int]:
    """Publish; freeze the server at its first fsync after `target` acks. The acks held then
    (publish index -> seq) and the highest sequence any of them named."""
    client = await RawClient.connect(srv.port)
    acks: dict[int, int] = {}

    def freeze_at_target(sent: int, acked: int) -> None:
        if acked >= target:
            cut.freeze.set()

    publishing = asyncio.create_task(
        client.publish_acked(
            target + 4 * WINDOW, lambda i: message(round_no, i), acks, WINDOW, progress=freeze_at_target
        )
    )
    try:
        frozen = await asyncio.to_thread(cut.frozen.wait, 20)
        assert frozen, f"no fsync after {len(acks)} acks"
        held = dict(acks)
    finally:
        await client.close()
        await publishing
    return held, max(held.values(), default=0)


async def read_back(port: int, acks: dict[tuple[int, int], int]) -> list[tuple[tuple[int, int], int]]:
    """MSG.GET each acknowledged sequence; the (publish, seq) pairs not found as acknowledged."""
    client = await RawClient.connect(port)
    try:
        items = sorted(acks.items(), key=lambda item: item[1])
        body = [(S.stream_msg_get("POWER"), json.dumps({"seq": seq}).encode()) for _, seq in items]
        replies = await client.requests(body)
    finally:
        await client.close()
    missing = []
    for (pub, seq), reply in zip(items, replies, strict=True):
        if "error" in reply:
            assert reply["error"]["err_code"] == NO_MESSAGE, reply
            missing.append((pub, seq))
            continue
        round_no, i, _ = base64.b64decode(reply["message"]["data"]).split(b":", 2)
        if (int(round_no), int(i)) != pub or reply["message"]["subject"] != message(*pub)[0]:
            missing.append((pub, seq))
    return missing


async def create_stream(port: int) -> None:
    """Stream POWER on power.>, file storage."""
    client = await RawClient.connect(port)
    try:
        doc = await client.request(S.stream_create("POWER"), {"name": "POWER", "subjects": ["power.>"]})
        assert "error" not in doc, doc
    finally:
        await client.close()


async def test_sync_always_loses_no_acked_message_at_a_power_cut(tmp_path, monkeypatch):
    run_seed = int(os.environ.get("PYNATS_CRASH_SEED") or time.time_ns() % 1_000_000_007)
    rng = random.Random(run_seed)
    config = tmp_path / "always.conf"
    config.write_text("jetstream { sync_interval: always }\n")
    store = tmp_path / "store0"
    store.mkdir()
    cut = PowerCut(tmp_path, monkeypatch)
    acked: dict[tuple[int, int], int] = {}
    bytes_cut = 0
    for round_no in range(ROUNDS):
        cut.baseline(store)
        srv = start(store, config)
        try:
            if round_no == 0:
                await create_stream(srv.port)
            target = rng.randrange(2000)
            acks, highest = await publish_until_frozen(srv, cut, round_no, target)
            after = tmp_path / f"store{round_no + 1}"
            bytes_cut += cut.copy_cut(store, after)
        finally:
            cut.freeze.clear()
            cut.thaw.set()
            srv.stop()
            cut.frozen.clear()
            cut.thaw.clear()
        acked.update({(round_no, i): seq for i, seq in acks.items()})
        store = after
        srv = start(store, config)
        try:
            missing = await read_back(srv.port, acked)
        finally:
            srv.stop()
        where = f"seed {run_seed}, round {round_no}, cut at ack {target} (highest {highest})"
        assert not missing, f"{where}: {len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
    assert bytes_cut > 0  # the cuts took away written, unsynced records: the simulation bit


async def test_the_simulation_catches_acks_before_fsync(tmp_path, monkeypatch):
    """Control: the default policy acks before fsync, so the cut loses acknowledged messages."""
    store = tmp_path / "store0"
    store.mkdir()
    cut = PowerCut(tmp_path, monkeypatch)
    srv = start(store)
    try:
        await create_stream(srv.port)
        client = await RawClient.connect(srv.port)
        acks: dict[int, int] = {}
        try:
            await client.publish_acked(500, lambda i: message(0, i), acks)
        finally:
            await client.close()
        assert len(acks) == 500
        cut.copy_cut(store, tmp_path / "store1")
    finally:
        srv.stop()
    srv = start(tmp_path / "store1")
    try:
        missing = await read_back(srv.port, {(0, i): seq for i, seq in acks.items()})
    finally:
        srv.stop()
    assert len(missing) == 500
