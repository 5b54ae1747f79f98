"""File store benchmark: append N messages, then reopen the store and report time and memory.

    python bench/store_bench.py [--msgs 1000000] [--size 128] [--batch 100] [--dir DIR]

Appends `--msgs` messages of `--size` bytes on one subject, calling `flush()` every `--batch`
messages as the server does per batch of publishes, and closes the store. Then, each in a fresh
process so the memory figure is the loaded store's alone, it reopens the store twice: with its
index.db (a clean restart) and without it (the sealed blocks' own indexes and a scan of the
newest). Last, a child process appends the same messages to a new store and dies without closing
it (kill -9: no index.db, the block indexes written at each seal), and the store is reopened.
Run on demand; not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from devserver.store import FileStore


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fill(store: FileStore, msgs: int, size: int, batch: int) -> dict:
    payload = os.urandom(size)
    ts = time.time_ns()
    started = time.perf_counter()
    for i in range(msgs):
        store.store("bench.subject", None, payload, ts + i)
        if i % batch == batch - 1:
            store.flush()
    store.flush()
    elapsed = time.perf_counter() - started
    return {"append_msgs_per_s": round(msgs / elapsed), "append_s": round(elapsed, 2)}


def append(directory: str, msgs: int, size: int, batch: int, sync_always: bool) -> dict:
    store = FileStore(directory, sync_always=sync_always)
    result = fill(store, msgs, size, batch)
    started = time.perf_counter()
    store.close()
    result["close_s"] = round(time.perf_counter() - started, 2)
    return result


def reopen(directory: str) -> dict:
    baseline = rss_kib()
    started = time.perf_counter()
    store = FileStore(directory)
    elapsed = time.perf_counter() - started
    last = store.load(store.last_seq)
    assert last is not None and store.warnings == [], store.warnings
    return {
        "reopen_s": round(elapsed, 2),
        "msgs": store.msgs,
        "rss_mib": round(rss_kib() / 1024, 1),
        "rss_before_open_mib": round(baseline / 1024, 1),
    }


def reopen_in_child(directory: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--reopen", directory], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def crash_in_child(directory: str, args: argparse.Namespace) -> None:
    """Append in a child process that then dies as kill -9 leaves a store: nothing closed."""
    options = ["--msgs", str(args.msgs), "--size", str(args.size), "--batch", str(args.batch)]
    subprocess.run([sys.executable, __file__, "--append-and-die", directory, *options], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--msgs", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--sync-always", action="store_true")
    parser.add_argument("--dir", help="where to put the store (default: a temporary folder)")
    parser.add_argument("--reopen", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--append-and-die", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reopen:
        print(json.dumps(reopen(args.reopen)))
        return
    if args.append_and_die:
        fill(FileStore(args.append_and_die, sync_always=args.sync_always), args.msgs, args.size, args.batch)
        os._exit(0)
    root = args.dir or tempfile.mkdtemp(prefix="store-bench-")
    directory = os.path.join(root, "msgs")
    shutil.rmtree(directory, ignore_errors=True)
    try:
        report = append(directory, args.msgs, args.size, args.batch, args.sync_always)
        report["clean_restart"] = reopen_in_child(directory)
        os.remove(os.path.join(directory, "index.db"))
        report["restart_without_index"] = reopen_in_child(directory)
        shutil.rmtree(directory)
        crash_in_child(directory, args)
        report["restart_after_crash"] = reopen_in_child(directory)
        report["disk_mib"] = round(sum(e.stat().st_size for e in os.scandir(directory)) / 2**20, 1)
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
