"""Corrupted stream files: devserver starts, logs the damage, reports what it lost, serves the rest.

A stream of `COUNT` messages (a third with headers) is made through nats-py on a child devserver,
which is then stopped cleanly (index.db written) or killed (no index.db); each test damages a
copy of that store - bits flipped, a block cut short, garbage appended, in the block file and in
index.db - and starts devserver on it. The server must come up, log a warning naming the stream,
report the lost sequences in `state.lost`, and serve every intact message byte for byte with
MSG.GET (a lost one answers "no message found"); new messages go after the old last sequence.

devserver only: nats-server's files have another layout.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from devserver.store import records
from devserver.store.file import INDEX_FILE
from schemas import subjects as S
from tests.jetstream.raw_client import RawClient
from tests.servers import RunningServer, free_port

pytestmark = pytest.mark.timeout(60)

COUNT = 300
STREAM = "DAMAGE"
NO_MESSAGE = 10037  # JSNoMessageFoundErr


def payload(seq: int) -> bytes:
    """Message `seq`'s payload: names it, lengths vary."""
    return b"m%04d-" % seq + b"z" * (seq * 7 % 90)


def headers(seq: int) -> dict[str, str] | None:
    """Every third message has a header."""
    return {"Seq": str(seq)} if seq % 3 == 0 else None


@dataclass
class Pristine:
    """A store holding the stream, and where each message's record sits in its block."""

    store: Path
    clean: bool  # stopped with SIGTERM (index.db written) rather than SIGKILL
    records: dict[int, tuple[int, int]]  # seq -> (offset, length) in the block

    def copy(self, tmp_path: Path) -> Path:
        target = tmp_path / "store"
        shutil.copytree(self.store, target)
        return target


def msgs_dir(store: Path) -> Path:
    """The stream's file store folder (blocks, index.db)."""
    return store / "jetstream" / "$G" / "streams" / STREAM / "msgs"


def block(store: Path) -> Path:
    """The stream's one block file."""
    (only,) = sorted(msgs_dir(store).glob("*.blk"))
    return only


def start(store: Path, log: Path) -> RunningServer:
    """A child devserver on `store`, logging to `log`."""
    srv = RunningServer(kind="dev-proc", args=[], store_dir=store, port=free_port(), log_path=log)
    return srv.start()


async def fill(port: int) -> None:
    """Create the stream and publish its messages through nats-py."""
    nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
    try:
        js = nc.jetstream()
        await js.add_stream(name=STREAM, subjects=["damage.>"])
        for seq in range(1, COUNT + 1):
            ack = await js.publish(f"damage.{seq % 4}", payload(seq), headers=headers(seq))
            assert ack.seq == seq
    finally:
        await nc.close()


@pytest.fixture(scope="module", params=["clean", "killed"])
def pristine(request, tmp_path_factory) -> Pristine:
    root = tmp_path_factory.mktemp(f"pristine-{request.param}")
    store = root / "store"
    store.mkdir()
    srv = start(store, root / "server.log")
    try:
        asyncio.run(fill(srv.port))
    finally:
        srv.stop() if request.param == "clean" else srv.kill()
    assert (msgs_dir(store) / INDEX_FILE).exists() == (request.param == "clean")
    raw = block(store).read_bytes()
    found = {
        seq: (off, flags & records.LEN_MASK)
        for off, flags, seq, _ts, _slen in records.scan(raw)
        if flags and not flags & records.NOT_MSG
    }
    assert sorted(found) == list(range(1, COUNT + 1))
    return Pristine(store, request.param == "clean", found)


def flip(path: Path, offset: int, bit: int) -> None:
    """Invert one bit of a file in place."""
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 1 << bit
    path.write_bytes(bytes(raw))


async def served(port: int) -> tuple[dict, dict[int, bytes | None]]:
    """Stream state and seq -> payload (None when not found) for 1..COUNT."""
    client = await RawClient.connect(port)
    try:
        state = (await client.request(S.stream_info(STREAM)))["state"]
        body = [(S.stream_msg_get(STREAM), json.dumps({"seq": seq}).encode()) for seq in range(1, COUNT + 1)]
        replies = await client.requests(body)
    finally:
        await client.close()
    out: dict[int, bytes | None] = {}
    for seq, reply in enumerate(replies, 1):
        if "error" in reply:
            assert reply["error"]["err_code"] == NO_MESSAGE, reply
            out[seq] = None
            continue
        msg = reply["message"]
        assert (msg["seq"], msg["subject"]) == (seq, f"damage.{seq % 4}"), msg
        assert ("hdrs" in msg) == (headers(seq) is not None), msg
        out[seq] = base64.b64decode(msg["data"])
    return state, out


async def check_restart(store: Path, tmp_path: Path, lost: list[int], warning: str, where: str = "") -> dict:
    """Start devserver on a damaged store: it logs `warning` for the stream, reports `lost`, serves
    every other message; a new publish goes after the old last sequence and survives a restart."""
    log = tmp_path / "server.log"
    srv = start(store, log)
    try:
        warnings = [line for line in log.read_text().splitlines() if "[WRN]" in line and STREAM in line]
        assert any(warning in line for line in warnings), (where, warnings)
        state, msgs = await served(srv.port)
        assert (state.get("lost") or {}).get("msgs") == (lost or None), (where, state)
        if lost:
            assert state["lost"]["bytes"] > 0
        assert [seq for seq, data in msgs.items() if data is None] == lost
        assert all(data == payload(seq) for seq, data in msgs.items() if data is not None)
        assert (state["first_seq"], state["last_seq"], state["messages"]) == (
            1 if 1 not in lost else state["first_seq"],
            COUNT,
            COUNT - len(lost),
        )
        client = await RawClient.connect(srv.port)
        try:
            ack = await client.request("damage.new", b"after the damage")
        finally:
            await client.close()
        assert ack["seq"] == COUNT + 1, ack
    finally:
        srv.stop()
    srv = start(store, log)
    try:
        state, msgs = await served(srv.port)
        assert state["last_seq"] == COUNT + 1 and (state.get("lost") or {}).get("msgs") == (lost or None)
    finally:
        srv.stop()
    return state


def rng_for(name: str) -> tuple[random.Random, str]:
    """A seeded generator (PYNATS_CRASH_SEED replays one) and a label naming its seed."""
    seed = int(os.environ.get("PYNATS_CRASH_SEED") or time.time_ns() % 1_000_000_007)
    return random.Random(seed), f"{name}, seed {seed}"


# -- block files


@pytest.mark.parametrize("round_no", range(3))
async def test_bit_flips_in_a_block_lose_only_those_records(pristine, tmp_path, round_no):
    rng, where = rng_for("bit flips")
    seqs = sorted(rng.sample(range(1, COUNT), 3))  # the last record is the next test's
    store = pristine.copy(tmp_path)
    for seq in seqs:
        off, length = pristine.records[seq]
        flip(block(store), off + rng.randrange(length), rng.randrange(8))
    await check_restart(store, tmp_path, seqs, "lost messages", where)


async def test_bit_flip_in_the_last_record(pristine, tmp_path):
    """After a clean stop index.db says the record existed: it is reported lost. After a kill it
    is indistinguishable from a torn write, and cut as one."""
    store = pristine.copy(tmp_path)
    off, length = pristine.records[COUNT]
    flip(block(store), off + length // 2, 3)
    if pristine.clean:
        await check_restart(store, tmp_path, [COUNT], "lost messages")
    else:
        log = tmp_path / "server.log"
        srv = start(store, log)
        try:
            assert "torn or damaged tail" in log.read_text()
            state, msgs = await served(srv.port)
        finally:
            srv.stop()
        assert state["last_seq"] == COUNT - 1 and "lost" not in state
        assert [seq for seq, data in msgs.items() if data is None] == [COUNT]


async def test_truncated_block(pristine, tmp_path):
    rng, where = rng_for("truncation")
    store = pristine.copy(tmp_path)
    seq = rng.randrange(COUNT // 2, COUNT + 1)
    off, length = pristine.records[seq]
    cut_at = off + rng.randrange(1, length)  # inside the record: a torn write shows
    with open(block(store), "r+b") as f:
        f.truncate(cut_at)
    if pristine.clean:
        await check_restart(store, tmp_path, list(range(seq, COUNT + 1)), "lost messages", where)
        return
    log = tmp_path / "server.log"
    srv = start(store, log)
    try:
        assert "torn or damaged tail" in log.read_text(), where
        state, msgs = await served(srv.port)
    finally:
        srv.stop()
    assert state["last_seq"] == seq - 1 and "lost" not in state, where
    assert all(msgs[s] == payload(s) for s in range(1, seq)), where


@pytest.mark.parametrize("garbage", ["random", "record-like"])
async def test_garbage_appended_to_a_block(pristine, tmp_path, garbage):
    store = pristine.copy(tmp_path)
    if garbage == "random":
        junk = random.Random(7).randbytes(333)
    else:  # a well-formed record whose checksum is wrong, then a half record
        rec = bytearray(records.pack_msg(COUNT + 1, 1, b"damage.1", None, b"junk"))
        rec[-6] ^= 0x10
        junk = bytes(rec) + records.pack_msg(COUNT + 2, 1, b"damage.1", None, b"junk")[:20]
    with open(block(store), "ab") as f:
        f.write(junk)
    await check_restart(store, tmp_path, [], "torn or damaged tail")


# -- index.db


@pytest.mark.parametrize("pristine", ["clean"], indirect=True)  # a killed server writes none
@pytest.mark.parametrize("damage", ["bit flips", "length fields", "truncated", "garbage"])
async def test_damaged_index_is_rebuilt_from_the_blocks(pristine, tmp_path, damage):
    rng, where = rng_for(damage)
    store = pristine.copy(tmp_path)
    index = msgs_dir(store) / INDEX_FILE
    raw = bytearray(index.read_bytes())
    if damage == "bit flips":
        for _ in range(3):
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    elif damage == "length fields":  # the JSON length, then the first column's byte count
        head = 8 + 4 + int.from_bytes(raw[8:12], "little")
        raw[11] ^= 0x40
        raw[head + 4] ^= 0x80
    elif damage == "truncated":
        del raw[rng.randrange(len(raw)) :]
    else:
        raw += random.Random(3).randbytes(100)
    index.write_bytes(bytes(raw))
    state = await check_restart(store, tmp_path, [], "index.db: not usable", where)
    assert state["messages"] == COUNT + 1, where


# -- damage met while serving


async def test_damage_found_when_reading_is_reported(pristine, tmp_path):
    """A record damaged while the server runs is found when read: logged, lost, the rest served.

    The record is one the running server never wrote or read: the stream grows past the
    read-ahead and is restarted before the damage, so no copy in memory hides it."""
    store = pristine.copy(tmp_path)
    log = tmp_path / "server.log"
    more = 5000

    def extra(i: int) -> tuple[str, None, bytes]:
        return "damage.more", None, payload(COUNT + 1 + i) + b"y" * 150

    srv = start(store, log)
    try:
        client = await RawClient.connect(srv.port)
        try:
            acks: dict[int, int] = {}
            await client.publish_acked(more, extra, acks)
            assert sorted(acks.values()) == list(range(COUNT + 1, COUNT + more + 1))
        finally:
            await client.close()
    finally:
        srv.stop()
    target = COUNT + more // 2
    srv = start(store, log)
    try:
        for off, flags, seq, _ts, _slen in records.scan(block(store).read_bytes()):
            if seq == target and flags and not flags & records.NOT_MSG:
                flip(block(store), off + (flags & records.LEN_MASK) - 10, 0)
        client = await RawClient.connect(srv.port)
        try:
            reply = await client.request(S.stream_msg_get(STREAM), {"seq": target})
            info = await client.request(S.stream_info(STREAM))
            neighbour = await client.request(S.stream_msg_get(STREAM), {"seq": target + 1})
        finally:
            await client.close()
    finally:
        srv.stop()
    assert reply.get("error", {}).get("err_code") == NO_MESSAGE, reply
    assert info["state"]["lost"]["msgs"] == [target]
    assert base64.b64decode(neighbour["message"]["data"]) == extra(target - COUNT)[2]
    damaged = [line for line in log.read_text().splitlines() if "failed its checksum" in line]
    assert damaged and "[WRN]" in damaged[0] and STREAM in damaged[0], damaged
