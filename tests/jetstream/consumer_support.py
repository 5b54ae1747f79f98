"""Helpers for the consumer tests: raw API requests checked against `schemas`, waits, pulls.

Every JSON reply goes through `schemas.validate` (its own `type`), so a test that only looks at
one field still checks the whole document's shape on both servers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats

import schemas
from schemas import subjects

# ConsumerInfo fields that differ by time or by server version
VOLATILE = ("created", "ts")


async def connect(server) -> nats.NATS:
    return await nats.connect(server.url, allow_reconnect=False)


def checked(doc: dict[str, Any]) -> dict[str, Any]:
    """The document, after checking it against the schema its `type` names."""
    problems = schemas.validate(doc["type"], doc)
    assert not problems, f"{doc['type']}: {problems}\n{doc}"
    return doc


async def api(nc: nats.NATS, subject: str, body: Any = b"", timeout: float = 2.0) -> dict[str, Any]:
    """One JetStream API request: the reply as a dict, schema-checked."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    msg = await nc.request(subject, data, timeout=timeout)
    return checked(json.loads(msg.data))


async def add_stream(nc: nats.NATS, name: str = "ORDERS", **config: Any) -> dict[str, Any]:
    config.setdefault("subjects", [f"{name.lower()}.>"])
    doc = await api(nc, subjects.stream_create(name), {"name": name, **config})
    assert "error" not in doc, doc
    return doc


async def create(
    nc: nats.NATS, stream: str, config: dict[str, Any], subject: str | None = None, **extra: Any
) -> dict[str, Any]:
    """CONSUMER.CREATE in the form the config suggests (durable, named, legacy ephemeral)."""
    if subject is None:
        if config.get("durable_name"):
            subject = subjects.consumer_durable_create(stream, config["durable_name"])
        elif config.get("name"):
            subject = subjects.consumer_create_named(stream, config["name"])
        else:
            subject = subjects.consumer_create(stream)
    return await api(nc, subject, {"stream_name": stream, "config": config, **extra})


async def info(nc: nats.NATS, stream: str, name: str) -> dict[str, Any]:
    return await api(nc, subjects.consumer_info(stream, name))


def counters(doc: dict[str, Any]) -> tuple:
    """(delivered c/s, ack floor c/s, ack pending, redelivered, waiting, pending) of an info."""
    return (
        (doc["delivered"]["consumer_seq"], doc["delivered"]["stream_seq"]),
        (doc["ack_floor"]["consumer_seq"], doc["ack_floor"]["stream_seq"]),
        doc["num_ack_pending"],
        doc["num_redelivered"],
        doc["num_waiting"],
        doc["num_pending"],
    )


def stable(doc: dict[str, Any]) -> dict[str, Any]:
    """A ConsumerInfo without its clocks, `last_active` and version metadata: comparable."""
    out = {k: v for k, v in doc.items() if k not in VOLATILE}
    config = dict(out.get("config", {}))
    metadata = {k: v for k, v in (config.get("metadata") or {}).items() if not k.startswith("_nats.")}
    config.pop("metadata", None)
    if metadata:
        config["metadata"] = metadata
    out["config"] = config
    for key in ("delivered", "ack_floor"):
        if key in out:
            out[key] = {k: v for k, v in out[key].items() if k != "last_active"}
    return out


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 5.0, every: float = 0.02) -> None:
    """Poll an async condition until it holds (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


class Inbox:
    """A subscription collecting every message on a fresh inbox (pull replies, deliveries)."""

    def __init__(self, nc: nats.NATS, subject: str | None = None) -> None:
        self.nc = nc
        self.subject = subject or nc.new_inbox()
        self.msgs: list = []
        self.sub = None

    async def __aenter__(self) -> Inbox:
        async def cb(msg) -> None:
            self.msgs.append(msg)

        self.sub = await self.nc.subscribe(self.subject, cb=cb)
        await self.nc.flush()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.sub.unsubscribe()

    async def pull(self, stream: str, consumer: str, body: Any = b"") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        await self.nc.publish(subjects.consumer_msg_next(stream, consumer), data, reply=self.subject)

    async def wait(self, count: int, timeout: float = 5.0) -> list:
        """The first `count` messages, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        while len(self.msgs) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"got {len(self.msgs)} of {count} messages: {self.msgs}")
            await asyncio.sleep(0.01)
        return self.msgs[:count]

    async def settle(self) -> list:
        """Everything received once a round trip to the server has completed."""
        await self.nc.flush()
        await asyncio.sleep(0)
        return list(self.msgs)


def status(msg) -> tuple[str | None, str | None]:
    """(status code, description) of a header-only status message."""
    headers = msg.headers or {}
    return headers.get("Status"), headers.get("Description")


def ack_tokens(reply: str) -> tuple[int, int, int, int]:
    """(delivered count, stream seq, consumer seq, pending) of a v1 ack subject."""
    info = subjects.parse_ack(reply)
    assert info is not None, reply
    return info.delivered, info.stream_seq, info.consumer_seq, info.pending
