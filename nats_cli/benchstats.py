"""What `pynats bench` measures and how it reports it: tallies, latency statistics, the summary.

Pure: no I/O and no asyncio. A `Tally` counts one client's operations as they happen; `summarize`
turns the tallies of a run into the JSON summary that `--json` prints, `render` into text. Stamped
payloads carry their send time so a subscriber can measure end-to-end latency.

Imports the standard library and `nats_cli.units`.
"""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nats_cli.units import format_int, format_size

if TYPE_CHECKING:
    from nats_cli.app import App

STAMP = b"PYNB"  # a stamped payload: STAMP, then the send time (ns since the epoch, big-endian)
STAMP_EVERY = 100
STAMP_SIZE = len(STAMP) + 8


@dataclass
class Tally:
    """One client's work, counted as it goes (the progress bar reads `msgs`)."""

    msgs: int = 0
    start: float = 0.0  # perf_counter() of the first and last operation
    end: float = 0.0
    latencies: list[int] = field(default_factory=list)  # ns per timed operation

    def begin(self) -> None:
        if not self.start:
            self.start = time.perf_counter()

    def count(self, n: int = 1) -> None:
        self.msgs += n
        self.end = time.perf_counter()


@dataclass
class Run:
    """Settings shared by every mode."""

    app: App
    mode: str
    subject: str
    msgs: int
    size: int
    clients: int
    show_progress: bool
    as_json: bool
    extra: dict[str, Any] = field(default_factory=dict)  # stream, consumer: shown and in the JSON
    warnings: list[str] = field(default_factory=list)

    def shares(self) -> list[int]:
        """`msgs` split over the clients as evenly as possible."""
        base, rest = divmod(self.msgs, self.clients)
        return [base + (1 if i < rest else 0) for i in range(self.clients)]


def percentile(ordered: list[int], p: float) -> int:
    """Nearest-rank percentile of a sorted list."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_stats(samples: list[int], operation: str) -> dict[str, Any] | None:
    """min/mean/max/stddev and percentiles of ns samples, in microseconds; None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    mean = sum(ordered) / len(ordered)
    stddev = math.sqrt(sum((x - mean) ** 2 for x in ordered) / len(ordered))

    def us(ns: float) -> float:
        return round(ns / 1000, 1)

    stats: dict[str, Any] = {"operation": operation, "unit": "us", "count": len(ordered)}
    stats.update(min=us(ordered[0]), mean=us(mean), max=us(ordered[-1]), stddev=us(stddev))
    for name, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)):
        stats[name] = us(percentile(ordered, p))
    return stats


def summarize(run: Run, tallies: list[Tally], operation: str) -> dict[str, Any]:
    """The JSON summary: totals over the whole run, one entry per client, latency or null."""
    active = [t for t in tallies if t.msgs]
    seconds = (max(t.end for t in active) - min(t.start for t in active)) if active else 0.0
    total = sum(t.msgs for t in tallies)

    def rates(msgs: int, secs: float) -> dict[str, float]:
        per_sec = msgs / secs if secs > 0 else 0.0
        return {"msgs_per_sec": round(per_sec, 1), "bytes_per_sec": round(per_sec * run.size, 1)}

    per_client = [
        {
            "client": i + 1,
            "msgs": t.msgs,
            "seconds": round(t.end - t.start, 6),
            **rates(t.msgs, t.end - t.start),
        }
        for i, t in enumerate(tallies)
    ]
    samples = [x for t in tallies for x in t.latencies]
    return {
        "mode": run.mode, "subject": run.subject, **run.extra, "clients": run.clients, "size": run.size,
        "msgs": total, "bytes": total * run.size, "seconds": round(seconds, 6), **rates(total, seconds),
        "per_client": per_client, "latency": latency_stats(samples, operation), "warnings": run.warnings,
    }  # fmt: skip


def render(summary: dict[str, Any]) -> str:
    """The summary as text."""
    lines = [
        f"{summary['mode']} on {summary['subject']}: {format_int(summary['msgs'])} msgs of "
        f"{format_size(summary['size'])} in {summary['seconds']:.3f}s",
        f"  {format_int(round(summary['msgs_per_sec']))} msgs/s ~ {format_size(summary['bytes_per_sec'])}/s",
    ]
    latency = summary["latency"]
    if latency:
        parts = " | ".join(f"{k.replace('_', '.')} {latency[k]:,.1f}"
                           for k in ("min", "mean", "p50", "p90", "p99", "p99_9", "max"))  # fmt: skip
        lines.append(
            f"  latency per {latency['operation']} (µs, {format_int(latency['count'])} samples): {parts}"
        )
    if summary["clients"] > 1:
        for c in summary["per_client"]:
            lines.append(
                f"  [{c['client']}] {format_int(round(c['msgs_per_sec']))} msgs/s ~ "
                f"{format_size(c['bytes_per_sec'])}/s ({format_int(c['msgs'])} msgs)"
            )
    return "\n".join(lines)


def payload(size: int) -> bytes:
    return bytes(size)


def stamped(body: bytes) -> bytes:
    return STAMP + struct.pack(">q", time.time_ns()) + body[STAMP_SIZE:]


def stamp_age(data: bytes) -> int | None:
    """ns since a stamped payload was sent; None when the payload carries no stamp."""
    if len(data) < STAMP_SIZE or not data.startswith(STAMP):
        return None
    return time.time_ns() - struct.unpack(">q", data[len(STAMP) : STAMP_SIZE])[0]
