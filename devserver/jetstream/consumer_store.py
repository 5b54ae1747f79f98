"""Durable consumer state on disk, so a file stream's consumers survive a restart.

Owns the files under `<stream dir>/obs/<consumer>/` (as nats-server lays them out): `meta.json`
(name, created, config) and `state.json` (delivered and ack floors, pending with delivery
times, redelivery counts, the position of the next delivery). Both are replaced whole
(temp file + rename, fsync when `sync_interval` is "always"). State is written lazily (a
timer while dirty) and at once before a double ack (an ack sent as a request) is answered:
that ack must survive a kill -9.

May import: devserver.jetstream.timers, the standard library.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer

CONSUMERS_DIR = "obs"  # nats-server's name for a stream's consumer directory
META_FILE = "meta.json"
STATE_FILE = "state.json"
LAZY_WRITE = 1_000_000_000  # dirty state reaches the disk within this long


def consumers_dir(stream_dir: Path) -> Path:
    return stream_dir / CONSUMERS_DIR


def _write(path: Path, data: bytes, sync: bool) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


class ConsumerStore:
    """The files of one durable consumer."""

    def __init__(self, consumer: Consumer, directory: Path, sync: bool) -> None:
        self.consumer = consumer
        self.dir = directory
        self.sync_always = sync
        self._dirty = False
        self._timer = None

    def write_meta(self) -> None:
        c = self.consumer
        self.dir.mkdir(parents=True, exist_ok=True)
        doc = {"name": c.name, "created": c.created, "config": c.config}
        _write(self.dir / META_FILE, json.dumps(doc).encode(), self.sync_always)

    def delivered(self, dseq: int, sseq: int, dc: int, now: int) -> None:
        self.dirty()

    def dirty(self) -> None:
        """State changed: write it soon."""
        if not self._dirty:
            self._dirty = True
            if self._timer is None:
                self._timer = self.consumer.timers.after(LAZY_WRITE, self._lazy)

    def _lazy(self) -> None:
        self._timer = None
        if self._dirty and not self.consumer.closed:
            self.sync()

    def sync(self) -> None:
        """Write the state now (before answering a double ack, at stop)."""
        self._dirty = False
        _write(self.dir / STATE_FILE, json.dumps(encode_state(self.consumer)).encode(), self.sync_always)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._dirty:
            self.sync()

    def delete(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._dirty = False
        shutil.rmtree(self.dir, ignore_errors=True)


def encode_state(c: Consumer) -> dict[str, Any]:
    return {
        "sseq": c.sseq,
        "dseq": c.dseq,
        "ack_floor": [c.adflr, c.asflr],
        "store_delivered": [c.delivered_c, c.delivered_s],
        "store_ack_floor": [c.floor_c, c.floor_s],
        "pending": [[seq, p[0], p[1]] for seq, p in c.pending.items()],
        "redelivered": [[seq, n] for seq, n in c.rdc.items()],
        "last_delivered": c.last_delivered,
        "last_acked": c.last_acked,
        "lss": c.lss,
        "lss_resume": c.lss_resume,
    }


def apply_state(c: Consumer, state: dict[str, Any]) -> None:
    c.sseq, c.dseq = state["sseq"], state["dseq"]
    c.adflr, c.asflr = state["ack_floor"]
    c.delivered_c, c.delivered_s = state["store_delivered"]
    c.floor_c, c.floor_s = state["store_ack_floor"]
    c.pending = {seq: [dseq, ts] for seq, dseq, ts in sorted(state["pending"])}
    c.pending_order = deque(c.pending)
    c.rdc = {seq: n for seq, n in state["redelivered"]}
    c.last_delivered, c.last_acked = state["last_delivered"], state["last_acked"]
    c.lss, c.lss_resume = state.get("lss"), state.get("lss_resume", 0)


def load(directory: Path) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """(meta, state or None) of a stored consumer; None when its meta is missing or unreadable."""
    try:
        meta = json.loads((directory / META_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    try:
        state = json.loads((directory / STATE_FILE).read_bytes())
    except (OSError, ValueError):
        state = None
    return meta, state
