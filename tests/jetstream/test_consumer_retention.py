"""Interest and workqueue retention with consumers, on both servers."""

from __future__ import annotations

import pytest

from schemas import subjects
from tests.jetstream.consumer_support import Inbox, add_stream, api, connect, create, wait_for

MS = 1_000_000


async def _messages(nc, stream: str = "ORDERS") -> int:
    return (await api(nc, subjects.stream_info(stream)))["state"]["messages"]


async def _pull_and_ack(nc, consumer: str, n: int) -> None:
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", consumer, {"batch": n, "expires": 2_000 * MS})
        for msg in await inbox.wait(n):
            await nc.request(msg.reply, b"", timeout=2)


async def test_interest_stream_drops_a_message_once_every_consumer_acked(server):
    nc = await connect(server)
    await add_stream(nc, retention="interest")
    await nc.request("orders.x", b"nobody", timeout=2)
    assert await _messages(nc) == 0  # no consumer: not stored, but the sequence is used
    await create(nc, "ORDERS", {"durable_name": "a", "ack_policy": "explicit"})
    await create(nc, "ORDERS", {"durable_name": "b", "ack_policy": "explicit", "filter_subject": "orders.b"})
    await nc.request("orders.x", b"for a", timeout=2)
    await nc.request("orders.b", b"for both", timeout=2)
    assert await _messages(nc) == 2
    await _pull_and_ack(nc, "a", 2)
    assert await _messages(nc) == 1  # b still wants orders.b
    await _pull_and_ack(nc, "b", 1)
    assert await _messages(nc) == 0
    info = await api(nc, subjects.stream_info("ORDERS"))
    assert (info["state"]["first_seq"], info["state"]["last_seq"]) == (4, 3)
    await nc.close()


async def test_interest_stream_ack_none_delivery_counts_and_deleting_a_consumer_releases(server):
    nc = await connect(server)
    await add_stream(nc, retention="interest")
    await create(nc, "ORDERS", {"durable_name": "none", "ack_policy": "none"})
    await create(nc, "ORDERS", {"durable_name": "slow", "ack_policy": "explicit"})
    for i in range(3):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    async with Inbox(nc) as inbox:
        await inbox.pull("ORDERS", "none", {"batch": 3, "no_wait": True})
        await inbox.wait(3)
    assert await _messages(nc) == 3  # "slow" has not seen them
    await api(nc, subjects.consumer_delete("ORDERS", "slow"))
    await wait_for(lambda: _count_is(nc, 0))
    await nc.close()


async def _count_is(nc, n: int) -> bool:
    return await _messages(nc) == n


async def test_workqueue_drops_on_first_ack(server):
    nc = await connect(server)
    await add_stream(nc, retention="workqueue")
    for i in range(3):
        await nc.request("orders.x", b"%d" % i, timeout=2)
    await create(nc, "ORDERS", {"durable_name": "w", "ack_policy": "explicit"})
    await _pull_and_ack(nc, "w", 2)
    assert await _messages(nc) == 1
    await nc.close()


Z = {"durable_name": "x", "filter_subject": "orders.z"}
WORKQUEUE_ERRORS = [
    ({"durable_name": "x", "ack_policy": "explicit"}, 10099),
    ({"durable_name": "x", "ack_policy": "explicit", "filter_subject": "orders.>"}, 10100),
    ({**Z, "ack_policy": "all"}, 10098),
    ({**Z, "ack_policy": "none"}, 10084),
    ({**Z, "ack_policy": "none", "deliver_subject": "d"}, 10098),
    ({**Z, "ack_policy": "explicit", "deliver_policy": "last"}, 10101),
]


@pytest.mark.parametrize(("config", "err_code"), WORKQUEUE_ERRORS)
async def test_workqueue_refuses_overlapping_consumers(server, config, err_code):
    nc = await connect(server)
    await add_stream(nc, retention="workqueue")
    await create(nc, "ORDERS", {"durable_name": "w", "ack_policy": "explicit", "filter_subject": "orders.a"})
    doc = await create(nc, "ORDERS", config)
    assert doc["error"]["err_code"] == err_code, doc
    ok = {"durable_name": "y", "ack_policy": "explicit", "filter_subject": "orders.b"}
    assert "error" not in await create(nc, "ORDERS", ok)
    await nc.close()
