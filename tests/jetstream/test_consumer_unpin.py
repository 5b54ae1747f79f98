"""CONSUMER.UNPIN (2.11 priority groups) on both servers: the checks in nats-server 2.15.1's
order, the empty success response and the `consumer_group_unpinned` advisory (reason "admin",
sent even when no client is pinned)."""

from __future__ import annotations

import asyncio
import json

import pytest

from schemas import subjects
from tests.jetstream.consumer_support import add_stream, api, checked, connect, create

BAD_NAME = "Valid priority group name must match A-Z, a-z, 0-9, -_/=)+ and may not exceed 16 characters"
NO_GROUP = "Provided priority group does not exist for this consumer"


async def _setup(nc) -> None:
    await add_stream(nc)
    await create(nc, "ORDERS", {"durable_name": "plain", "ack_policy": "explicit"})
    pinned = {"priority_policy": "pinned_client", "priority_groups": ["A"]}
    await create(nc, "ORDERS", {"durable_name": "g", "ack_policy": "explicit", **pinned})


@pytest.mark.parametrize(
    ("stream", "consumer", "body", "code", "text"),
    [
        ("ORDERS", "plain", {"group": "g"}, 10160, NO_GROUP),
        ("ORDERS", "g", {"group": "B"}, 10160, NO_GROUP),
        ("ORDERS", "g", b"", 10025, "invalid JSON: unexpected end of JSON input"),
        ("ORDERS", "g", b"{}", 10025, "invalid JSON: consumer group not specified"),
        (
            "ORDERS",
            "g",
            b"{bad",
            10025,
            "invalid JSON: invalid character 'b' looking for beginning of object key string",
        ),
        (
            "ORDERS",
            "g",
            {"group": 1},
            10025,
            "invalid JSON: json: cannot unmarshal number into Go struct field JSApiConsumerUnpinRequest.group"
            " of type string",
        ),
        ("NOPE", "nope", {"group": "a b"}, 10162, BAD_NAME),  # the name is checked first
        ("ORDERS", "nope", {"group": "A"}, 10014, "consumer not found"),
        ("NOPE", "g", {"group": "A"}, 10059, "stream not found"),
    ],
)
async def test_unpin_errors(server, stream, consumer, body, code, text):
    nc = await connect(server)
    await _setup(nc)
    doc = await api(nc, subjects.consumer_unpin(stream, consumer), body)
    assert (doc["error"]["err_code"], doc["error"]["description"]) == (code, text)
    await nc.close()


async def test_unpin_answers_and_advises(server):
    nc = await connect(server)
    await _setup(nc)
    events: list[dict] = []

    async def cb(msg) -> None:
        events.append(checked(json.loads(msg.data)))

    await nc.subscribe(subjects.ADVISORY_CONSUMER_UNPINNED, cb=cb)
    doc = await api(nc, subjects.consumer_unpin("ORDERS", "g"), {"group": "A", "ignored": 1})
    assert doc == {"type": "io.nats.jetstream.api.v1.consumer_unpin_response"}
    for _ in range(100):
        if events:
            break
        await asyncio.sleep(0.01)
    (event,) = events
    assert {k: event[k] for k in ("account", "stream", "consumer", "group", "reason")} == {
        "account": "$G",
        "stream": "ORDERS",
        "consumer": "g",
        "group": "A",
        "reason": "admin",
    }
    await nc.close()
