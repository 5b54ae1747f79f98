"""Fixtures for the stream, publish and account tests: a nats-py connection and a JetStream helper.

`jsapi` sends raw API requests (no nats-py JetStream helpers, so the wire carries exactly what the
test wrote) and checks every JSON reply against the schema its `type` names, and every PubAck
against `pub_ack_response`, before the test looks at a single field.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest

import schemas
from devserver import DevServer
from devserver.clock import ManualClock
from devserver.jetstream.timers import Timers
from devserver.server import Server
from schemas import errors
from schemas import subjects as S

SECOND = 1_000_000_000
ZERO_TIME = "0001-01-01T00:00:00Z"
# keys that differ between two servers for reasons of time, identity or version
VOLATILE_METADATA = ("_nats.ver", "_nats.level")


def checked(doc: dict[str, Any]) -> dict[str, Any]:
    """The document after checking it against the schema its `type` names."""
    problems = schemas.validate(doc["type"], doc)
    assert not problems, f"{doc['type']}: {problems}\n{doc}"
    return doc


def stable(config: dict[str, Any]) -> dict[str, Any]:
    """A stream config without the server-version metadata, for comparing both servers."""
    out = dict(config)
    metadata = {k: v for k, v in out.get("metadata", {}).items() if k not in VOLATILE_METADATA}
    out["metadata"] = metadata
    return out


class JetStreamHelper:
    """Raw JetStream requests on one connection, every reply schema-checked."""

    def __init__(self, nc: nats.NATS) -> None:
        self.nc = nc

    async def request(
        self, subject: str, body: Any = b"", timeout: float = 2.0, headers=None
    ) -> dict[str, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        msg = await self.nc.request(subject, data, timeout=timeout, headers=headers)
        return checked(json.loads(msg.data))

    async def ok(self, subject: str, body: Any = b"") -> dict[str, Any]:
        doc = await self.request(subject, body)
        assert "error" not in doc, doc
        return doc

    async def fails(self, subject: str, body: Any, name: str, **placeholders: object) -> dict[str, Any]:
        """The request must fail with nats-server's error `name`, word for word."""
        doc = await self.request(subject, body)
        assert doc.get("error") == errors.error(name, **placeholders), doc
        return doc

    async def create(self, name: str = "ORDERS", **config: Any) -> dict[str, Any]:
        config.setdefault("subjects", [f"{name.lower()}.>"])
        return await self.ok(S.stream_create(name), {"name": name, **config})

    async def info(self, name: str = "ORDERS", **body: Any) -> dict[str, Any]:
        return await self.ok(S.stream_info(name), body or b"")

    async def state(self, name: str = "ORDERS") -> dict[str, Any]:
        return (await self.info(name))["state"]

    async def raw_ack(self, subject: str, data: bytes = b"x", headers: dict | None = None) -> bytes:
        """The PubAck exactly as the server sent it."""
        msg = await self.nc.request(subject, data, timeout=2.0, headers=headers)
        return msg.data

    async def publish(self, subject: str, data: bytes = b"x", headers: dict | None = None) -> dict[str, Any]:
        ack = json.loads(await self.raw_ack(subject, data, headers))
        assert schemas.validate("pub_ack_response", ack) == [], ack
        return ack

    async def stored(self, subject: str, data: bytes = b"x", headers: dict | None = None) -> int:
        """Publish; the message must be stored. Its sequence."""
        ack = await self.publish(subject, data, headers)
        assert "error" not in ack and not ack.get("duplicate"), ack
        return ack["seq"]

    async def rejected(self, subject: str, name: str, data: bytes = b"x", headers=None, **ph: object) -> None:
        """Publish; the ack must be nats-server's error `name`."""
        ack = await self.publish(subject, data, headers)
        assert ack.get("error") == errors.error(name, **ph), ack
        assert ack["seq"] == 0


@pytest.fixture
async def nc(server):
    conn = await nats.connect(server.url, allow_reconnect=False, connect_timeout=5)
    yield conn
    await conn.close()


@pytest.fixture
def jsapi(nc) -> JetStreamHelper:
    return JetStreamHelper(nc)


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll an async predicate until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)


@pytest.fixture
def eventually():
    return wait_for


class Clocked:
    """An in-process devserver whose time only moves when the test says so."""

    def __init__(self, server: Server, clock: ManualClock, nc: nats.NATS) -> None:
        self.server, self.clock, self.nc = server, clock, nc
        self.js = JetStreamHelper(nc)

    async def advance(self, seconds: float) -> None:
        """Move time, fire what is due, and let the messages reach the client."""
        await self.nc.flush()
        self.clock.advance(seconds)
        Timers.of(self.server).run_due()
        await self.nc.flush()
        await asyncio.sleep(0)

    async def until(self, predicate, limit: float, step: float = 0.5) -> float:
        """Advance the clock a step at a time until `predicate` holds; the seconds it took."""
        waited = 0.0
        while not await predicate():
            assert waited < limit, f"not within {limit} s"
            await self.advance(step)
            waited += step
        return waited


@contextlib.asynccontextmanager
async def clocked_server(start_ns: int | None = None) -> AsyncIterator[Clocked]:
    """A devserver on a ManualClock (starting at `start_ns` when given) and a client of it."""
    clock = ManualClock() if start_ns is None else ManualClock(start_ns=start_ns)
    server = Server(DevServer(port=0, jetstream=True).options, clock=clock)
    await server.start()
    nc = await nats.connect(f"nats://127.0.0.1:{server.port}", allow_reconnect=False)
    try:
        yield Clocked(server, clock, nc)
    finally:
        await nc.close()
        await server.stop()


@pytest.fixture
async def clocked() -> AsyncIterator[Clocked]:
    async with clocked_server() as clocked:
        yield clocked
