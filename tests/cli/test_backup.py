"""`pynats str backup` / `str restore`: round trips on both servers, output, options and errors.

A backup taken from one server is restored into a fresh server of the same kind and compared
message by message (subject, headers, data, time, gaps) and consumer by consumer (configuration
and delivery state). Failure paths the real servers cannot be made to take (a 408 end, a stalled
snapshot, an error reply to a restore chunk) are played by a raw-socket stand-in answering the
JetStream API on a server without JetStream.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time

import pytest

from nats_cli import snapshot
from nats_cli.units import format_size
from schemas import subjects as S
from tests.cli.backup_support import consumers, fill_orders, fresh_server, messages, stream_config
from tests.cli.conftest import Pynats
from tests.wire import Wire

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


@pytest.fixture
def second(server, tmp_path, config_home):
    """A fresh server of the same kind, and the CLI pointed at it."""
    with fresh_server(server.kind, tmp_path, config_home) as pair:
        yield pair


def test_round_trip_into_a_fresh_server_is_identical(server, pynats, second, tmp_path):
    fill_orders(pynats)
    target = tmp_path / "orders-backup"
    run = pynats(f"str backup ORDERS {target}").ok()
    assert sorted(os.listdir(target)) == ["backup.json", "stream.tar.s2"]
    meta = json.loads((target / "backup.json").read_text())
    assert meta["config"]["name"] == "ORDERS" and meta["state"]["messages"] == 29
    assert run.out == ""

    other, cli = second
    restored = cli(f"str restore ORDERS {target}").ok()
    assert restored.out.startswith("Information for Stream ORDERS created ")
    assert "      Messages: 29\n" in restored.out
    assert messages(other.url, "ORDERS") == messages(server.url, "ORDERS")
    assert consumers(cli, "ORDERS") == consumers(pynats, "ORDERS")
    assert stream_config(cli, "ORDERS") == stream_config(pynats, "ORDERS")
    assert json.loads(cli("con info ORDERS NEW -j").ok().out)["ack_floor"]["stream_seq"] == 3


def test_output_lines_and_file_modes(pynats, tmp_path):
    fill_orders(pynats)
    target = tmp_path / "b"
    run = pynats(f"str backup ORDERS {target} --no-progress").ok()
    lines = run.err.splitlines()
    size = json.loads(pynats("str info ORDERS -j").ok().out)["state"]["bytes"]
    data = (target / "stream.tar.s2").stat().st_size
    assert lines[:2] == [f'Starting backup of Stream "ORDERS" with {format_size(size)}', ""]
    summary = rf'Received {format_size(data)} compressed data in 1 chunks for stream "ORDERS" in \S+, '
    summary += r"\S+ \S+ uncompressed"
    assert re.fullmatch(summary, lines[2]), lines[2]
    assert len(lines) == 3
    modes = [p.stat().st_mode & 0o777 for p in (target, target / "backup.json", target / "stream.tar.s2")]
    assert modes == [0o700, 0o600, 0o600]

    pynats("str rm ORDERS -f").ok()
    run = pynats(f"str restore {target} --no-progress").ok()
    lines = run.err.splitlines()
    assert lines[:2] == [f'Starting restore of Stream "ORDERS" from file "{target}"', ""]
    assert re.fullmatch(r'Restored stream "ORDERS" in \S+', lines[2]), lines
    assert lines[3:] == [""]


def test_progress_bars_at_a_terminal(server, pynats, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    fill_orders(pynats)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NATS_")}, **pynats.env()}
    env.update(TERM="xterm-256color", PYNATS_DEBUG="")
    pynats_bin = os.path.join(os.path.dirname(sys.executable), "pynats")

    def at_a_terminal(*args: str) -> str:
        child = pexpect.spawn(
            pynats_bin, list(args), env=env, encoding="utf-8", timeout=30, dimensions=(24, 100)
        )
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        return ANSI.sub("", child.before)

    shown = at_a_terminal("str", "backup", "ORDERS", str(tmp_path / "b"))
    assert shown.startswith('Starting backup of Stream "ORDERS" with ')
    # rate (? until rich has two samples), bar, percent, done/total and time left; then the summary
    assert re.search(r"(\S+ \S+/s|\?) ━+ 100% [\d.]+/[\d.]+ \S+ 0:00:00\n\nReceived ", shown), shown
    pynats("str rm ORDERS -f").ok()
    shown = at_a_terminal("str", "restore", str(tmp_path / "b"))
    assert re.search(r"(\S+ \S+/s|\?) ━+ 100% [\d.]+/[\d.]+ \S+ 0:00:00\n\nRestored stream ", shown), shown


def test_restore_json_and_the_stream_must_not_exist(pynats, tmp_path):
    fill_orders(pynats)
    target = tmp_path / "b"
    pynats(f"str backup ORDERS {target}").ok()
    run = pynats(f"str restore {target}").fails()
    assert run.err == 'pynats: error: Stream "ORDERS" already exists: remove it first to restore the backup\n'
    pynats("str rm ORDERS -f").ok()
    info = json.loads(pynats(f"str restore {target} -j").ok().out)
    assert (info["config"]["name"], info["state"]["messages"], info["state"]["consumer_count"]) == (
        "ORDERS",
        29,
        3,
    )


def test_no_consumers_and_chunk_size(pynats, tmp_path):
    fill_orders(pynats)
    pynats("pub ORDERS.bulk 'x{{Count}}' --count 200 -q").ok()
    target = tmp_path / "b"
    run = pynats(f"str backup ORDERS {target} --no-consumers --chunk-size 1KiB").ok()
    chunks = int(re.search(r" in (\d+) chunks ", run.err).group(1))
    data = (target / "stream.tar.s2").stat().st_size
    assert chunks == -(-data // 1024) > 1
    pynats("str rm ORDERS -f").ok()
    pynats(f"str restore {target}").ok()
    assert pynats("con ls ORDERS -n").ok().out == ""
    assert json.loads(pynats("str info ORDERS -j").ok().out)["state"]["messages"] == 229


def test_restore_with_a_changed_configuration(pynats, tmp_path):
    fill_orders(pynats)
    target = tmp_path / "b"
    pynats(f"str backup ORDERS {target}").ok()
    pynats("str rm ORDERS -f").ok()
    cfg = json.loads((target / "backup.json").read_text())["config"]
    cfg["description"] = "restored"
    cfg["max_msgs"] = 1000
    (tmp_path / "changed.json").write_text(json.dumps(cfg))
    pynats(f"str restore {target} --config {tmp_path / 'changed.json'}").ok()
    got = stream_config(pynats, "ORDERS")
    assert (got["description"], got["max_msgs"]) == ("restored", 1000)

    pynats("str rm ORDERS -f").ok()
    cfg["name"] = "ELSEWHERE"
    (tmp_path / "renamed.json").write_text(json.dumps(cfg))
    run = pynats(f"str restore {target} --config {tmp_path / 'renamed.json'}").fails()
    assert run.err == (
        'pynats: error: stream names may not be changed during restore: the backup is of Stream "ORDERS", '
        'the configuration names "ELSEWHERE"\n'
    )
    run = pynats(f"str restore OTHER {target}").fails()
    assert run.err == (
        f'pynats: error: the backup in {target} is of Stream "ORDERS", not "OTHER": '
        "streams cannot be renamed\n"
    )


def test_memory_streams_round_trip(server, pynats, second, tmp_path):
    pynats("str add MEM --subjects mem.* --storage memory --defaults").ok()
    pynats("pub mem.a 'm {{Count}}' --count 5 -q -H K:V").ok()
    pynats("con add MEM C --pull --defaults").ok()
    pynats("con next MEM C --count 2").ok()
    pynats(f"str backup MEM {tmp_path / 'm'}").ok()
    other, cli = second
    cli(f"str restore {tmp_path / 'm'}").ok()
    assert messages(other.url, "MEM") == messages(server.url, "MEM")
    assert consumers(cli, "MEM") == consumers(pynats, "MEM")
    assert stream_config(cli, "MEM")["storage"] == "memory"


def test_argument_and_directory_errors(pynats, tmp_path):
    fill_orders(pynats)
    pynats(f"str backup ORDERS {tmp_path / 'b'}").ok()
    run = pynats(f"str backup ORDERS {tmp_path / 'b'}").fails()
    assert run.err == (
        f"pynats: error: {tmp_path / 'b'} already holds a backup (backup.json): choose an empty directory\n"
    )
    assert pynats(f"str backup NOPE {tmp_path / 'c'}").fails().err == (
        "pynats: error: stream not found (code 404, err_code 10059)\n"
    )
    assert not (tmp_path / "c").exists()
    (tmp_path / "mine").mkdir()
    pynats(f"str backup NOPE {tmp_path / 'mine'}").fails()
    assert os.listdir(tmp_path / "mine") == []  # a directory it did not make stays
    assert (
        pynats(f"str backup ORDERS {tmp_path / 'd'} --chunk-size lots")
        .fails()
        .err.startswith('pynats: error: invalid --chunk-size: invalid size "lots"')
    )
    assert pynats(f"str restore {tmp_path}").fails().err == (
        f"pynats: error: {tmp_path / 'backup.json'} does not exist: is {tmp_path} a stream backup?\n"
    )
    os.remove(tmp_path / "b" / "stream.tar.s2")
    assert pynats(f"str restore {tmp_path / 'b'}").fails().err == (
        f"pynats: error: {tmp_path / 'b' / 'stream.tar.s2'} does not exist: the backup is incomplete\n"
    )
    assert pynats(f"str restore A B {tmp_path}").fails().err.startswith("pynats: error: too many arguments")


# -- the S2 frame meter -------------------------------------------------------------------------


def frame(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "little") + body


def uvarint(n: int) -> bytes:
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def test_s2_meter_counts_uncompressed_bytes_across_any_cut():
    stream = (
        frame(0xFF, b"S2sTwO")
        + frame(0x00, b"crc!" + uvarint(1_000_000) + b"compressed bytes")
        + frame(0x01, b"crc!" + b"x" * 300)
        + frame(0xFE, b"\0" * 7)  # padding
        + frame(0x00, b"crc!" + uvarint(5) + b"abcde")
    )
    for cut in range(len(stream) + 1):
        for second_cut in (cut, min(len(stream), cut + 3)):
            meter = snapshot.S2Meter()
            for piece in (stream[:cut], stream[cut:second_cut], stream[second_cut:]):
                meter.feed(piece)
            assert meter.count == 1_000_305, (cut, second_cut)
    one_byte = snapshot.S2Meter()
    for i in range(len(stream)):
        one_byte.feed(stream[i : i + 1])
    assert one_byte.count == 1_000_305


def test_s2_meter_gives_up_on_other_data():
    meter = snapshot.S2Meter()
    meter.feed(b"not an s2 stream at all")
    assert meter.count is None
    meter.feed(frame(0x01, b"crc!data"))
    assert meter.count is None


def test_s2_meter_reads_a_real_backup(pynats, tmp_path):
    fill_orders(pynats)
    pynats(f"str backup ORDERS {tmp_path / 'b'}").ok()
    data = (tmp_path / "b" / "stream.tar.s2").read_bytes()
    whole = snapshot.S2Meter()
    whole.feed(data)
    pieces = snapshot.S2Meter()
    for i in range(0, len(data), 7):
        pieces.feed(data[i : i + 7])
    assert whole.count is not None and whole.count == pieces.count > 0


# -- failures, played by a stand-in for the JetStream API -----------------------------------------


class StandIn:
    """Answers `$JS.API.*` on a server without JetStream as `script(wire, subject, reply, body)` says."""

    def __init__(self, port: int, script) -> None:
        self.wire = Wire(port)
        self.wire.send(b"SUB $JS.API.> 1\r\nSUB reply.> 2\r\nPING\r\n")
        self.wire.read_until(b"PONG")
        self.script = script
        self.seen: list[tuple[str, bytes]] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                line = self.wire.read_line()
                if line == b"PING":
                    self.wire.send(b"PONG\r\n")
                    continue
                parts = line.split()
                if parts[0] not in (b"MSG", b"HMSG"):
                    continue
                size = int(parts[-1])
                while len(self.wire.buf) < size + 2:
                    self.wire.buf += self.wire.sock.recv(65536)
                body, self.wire.buf = self.wire.buf[:size], self.wire.buf[size + 2 :]
                reply = parts[3].decode() if len(parts) == (5 if parts[0] == b"MSG" else 6) else ""
                self.seen.append((parts[1].decode(), body))
                self.script(self.wire, parts[1].decode(), reply, body)
        except (OSError, ConnectionError):
            return

    def close(self) -> None:
        self.wire.close()


def pub(wire: Wire, subject: str, body: bytes = b"", reply: str = "", status: str = "") -> None:
    if status:
        hdr = f"NATS/1.0 {status}\r\n\r\n".encode()
        wire.send(
            f"HPUB {subject} {reply} {len(hdr)} {len(hdr) + len(body)}\r\n".encode() + hdr + body + b"\r\n"
        )
    else:
        wire.send(f"PUB {subject} {reply} {len(body)}\r\n".encode() + body + b"\r\n")


SNAPSHOT_REPLY = json.dumps(
    {
        "type": "io.nats.jetstream.api.v1.stream_snapshot_response",
        "config": {"name": "S", "storage": "file"},
        "state": {"messages": 1, "bytes": 4096},
    }  # fmt: skip
).encode()


@pytest.fixture
def bare(make_server, server_kind, config_home):
    """A server without JetStream, for the stand-in (devserver and nats-server alike)."""
    srv = make_server(jetstream=False)
    return srv, Pynats(srv.url, config_home)


def test_a_408_end_fails_and_leaves_no_partial_backup(bare, tmp_path):
    srv, cli = bare

    def script(wire, subject, reply, body):
        if subject == S.stream_snapshot("S"):
            deliver = json.loads(body)["deliver_subject"]
            pub(wire, reply, SNAPSHOT_REPLY)
            pub(wire, deliver, b"a" * 1000, reply="reply.ack.1")
            pub(wire, deliver, status="408 No Flow Response")

    stand_in = StandIn(srv.port, script)
    try:
        run = cli(f"str backup S {tmp_path / 'b'}").fails()
        # the ack left with the CLI; the stand-in must still listen while the server routes it
        deadline = time.monotonic() + 10
        while ("reply.ack.1", b"") not in stand_in.seen and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stand_in.close()
    assert run.err.endswith(
        "pynats: error: backup failed: the server ended the snapshot with 408 No Flow Response\n"
    )
    assert not (tmp_path / "b").exists()
    assert ("reply.ack.1", b"") in stand_in.seen  # the chunk was acknowledged


def test_a_stalled_snapshot_times_out(bare, tmp_path):
    srv, cli = bare

    def script(wire, subject, reply, body):
        if subject == S.stream_snapshot("S"):
            pub(wire, reply, SNAPSHOT_REPLY)  # and then nothing

    stand_in = StandIn(srv.port, script)
    try:
        run = cli(f"--timeout 1s str backup S {tmp_path / 'b'}").fails()
    finally:
        stand_in.close()
    assert run.err.endswith("pynats: error: backup timed out: no data received from the server for 5s\n")


def test_a_refused_memory_stream_is_explained(bare, tmp_path):
    srv, cli = bare
    error = {"code": 500, "err_code": 10053, "description": "snapshot not supported"}
    refusal = {"type": "io.nats.jetstream.api.v1.stream_snapshot_response", "error": error}
    info = {
        "type": "io.nats.jetstream.api.v1.stream_info_response",
        "config": {"name": "M", "storage": "memory"},
    }

    def script(wire, subject, reply, body):
        if subject == S.stream_snapshot("M"):
            pub(wire, reply, json.dumps(refusal).encode())
        elif subject == S.stream_info("M"):
            pub(wire, reply, json.dumps(info).encode())

    stand_in = StandIn(srv.port, script)
    try:
        run = cli(f"str backup M {tmp_path / 'b'}").fails()
    finally:
        stand_in.close()
    assert run.err == (
        "pynats: error: the server cannot back up Stream M: it uses memory storage, and snapshots are of "
        "file storage only (server: snapshot not supported)\n"
    )


def test_an_error_reply_to_a_restore_chunk_stops_the_restore(bare, tmp_path):
    srv, cli = bare
    backup = tmp_path / "b"
    backup.mkdir()
    (backup / "backup.json").write_text(json.dumps({"config": {"name": "S"}, "state": {}}))
    (backup / "stream.tar.s2").write_bytes(os.urandom(3 * snapshot.RESTORE_CHUNK + 10))
    not_found = {"type": "io.nats.jetstream.api.v1.stream_info_response",
                 "error": {"code": 404, "err_code": 10059, "description": "stream not found"}}  # fmt: skip
    failed = {"error": {"code": 500, "err_code": 10074, "description": "restore failed: no space"}}

    def script(wire, subject, reply, body):
        if subject == S.stream_info("S"):
            pub(wire, reply, json.dumps(not_found).encode())
        elif subject == S.stream_restore("S"):
            pub(wire, reply, json.dumps({"deliver_subject": "reply.restore.S"}).encode())
        elif subject == "reply.restore.S":
            pub(wire, reply, json.dumps(failed).encode())

    stand_in = StandIn(srv.port, script)
    try:
        run = cli(f"str restore {backup}").fails()
    finally:
        stand_in.close()
    assert run.err.endswith(
        "pynats: error: restore failed: restore failed: no space (code 500, err_code 10074)\n"
    )
