"""nats-py against both servers: the core messaging a Python user relies on."""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.errors import NoRespondersError


async def collect(nc, subject: str, queue: str = "") -> list:
    got: list = []

    async def cb(msg):
        got.append(msg)

    await nc.subscribe(subject, queue=queue, cb=cb)
    return got


async def wait_for(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_pub_sub_with_wildcards_and_headers(server):
    nc = await nats.connect(server.url)
    star = await collect(nc, "orders.*")
    tail = await collect(nc, "orders.>")
    exact = await collect(nc, "orders.new")
    await nc.flush()
    await nc.publish("orders.new", b"one", headers={"Trace": "abc"})
    await nc.publish("orders.eu.new", b"two")
    await nc.flush()
    await wait_for(lambda: len(tail) == 2)
    assert [m.data for m in star] == [b"one"]
    assert [m.data for m in exact] == [b"one"]
    assert exact[0].headers == {"Trace": "abc"}
    assert [m.subject for m in tail] == ["orders.new", "orders.eu.new"]
    await nc.close()


async def test_queue_group_members_share_messages(server):
    nc = await nats.connect(server.url)
    a = await collect(nc, "work", queue="workers")
    b = await collect(nc, "work", queue="workers")
    everyone = await collect(nc, "work")
    await nc.flush()
    for i in range(200):
        await nc.publish("work", str(i).encode())
    await nc.flush()
    await wait_for(lambda: len(a) + len(b) == 200 and len(everyone) == 200)
    assert a and b
    assert sorted(int(m.data) for m in a + b) == list(range(200))
    await nc.close()


async def test_request_reply(server):
    nc = await nats.connect(server.url)

    async def echo(msg):
        await msg.respond(b"re: " + msg.data)

    await nc.subscribe("svc.echo", cb=echo)
    replies = [await nc.request("svc.echo", f"{i}".encode(), timeout=2) for i in range(5)]
    assert [r.data for r in replies] == [f"re: {i}".encode() for i in range(5)]
    await nc.close()


async def test_no_responders(server):
    nc = await nats.connect(server.url)
    with pytest.raises(NoRespondersError):
        await nc.request("nobody.home", b"x", timeout=2)
    await nc.close()


async def test_echo_off(server):
    nc = await nats.connect(server.url, no_echo=True)
    got = await collect(nc, "mine")
    other = await nats.connect(server.url)
    await nc.flush()
    await nc.publish("mine", b"from me")
    await other.publish("mine", b"from other")
    await nc.flush()
    await other.flush()
    await wait_for(lambda: len(got) == 1)
    await asyncio.sleep(0.05)
    assert [m.data for m in got] == [b"from other"]
    await nc.close()
    await other.close()


async def test_unsubscribe_after_max_messages(server):
    nc = await nats.connect(server.url)
    got: list = []

    async def cb(msg):
        got.append(msg.data)

    sub = await nc.subscribe("limited", cb=cb)
    await sub.unsubscribe(limit=2)
    everything = await collect(nc, "limited")  # subscribed after: tells when all five arrived
    for i in range(5):
        await nc.publish("limited", str(i).encode())
    await nc.flush()
    await wait_for(lambda: len(everything) == 5)
    assert got == [b"0", b"1"]
    await nc.close()


async def test_large_payload_round_trip(server):
    nc = await nats.connect(server.url)
    got = await collect(nc, "big")
    await nc.flush()
    body = bytes(range(256)) * 4000
    await nc.publish("big", body)
    await nc.flush()
    await wait_for(lambda: got)
    assert got[0].data == body
    await nc.close()


async def test_wrong_password_is_refused(make_server):
    srv = make_server(["--user", "alice", "--pass", "secret"], jetstream=False)
    nc = await nats.connect(srv.url, user="alice", password="secret")
    await nc.close()
    errors: list = []

    async def on_error(e):
        errors.append(e)

    with pytest.raises(Exception):  # noqa: B017 - nats-py raises its own error types here
        await nats.connect(
            srv.url,
            user="alice",
            password="wrong",
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=on_error,
            connect_timeout=2,
        )
    assert any("authorization violation" in str(e).lower() for e in errors)
