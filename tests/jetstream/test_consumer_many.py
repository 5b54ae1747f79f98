"""10,000 durable consumers on one stream: create, list page by page, info, delete (both servers).

nats-server 2.15.1 refuses the 1001st consumer of a stream whose `max_consumers` is unset (its
`default_max_consumers`, 10026); devserver follows 2.10, which has no such default. The stream
here sets `max_consumers` so both servers take all 10,000.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from schemas import subjects
from tests.jetstream.consumer_support import add_stream, api, checked, connect

COUNT = 10_000
WINDOW = 200  # requests in flight at once


async def _all(nc, requests: list[tuple[str, bytes]]) -> list[dict]:
    out: list[dict] = []
    for start in range(0, len(requests), WINDOW):
        chunk = requests[start : start + WINDOW]
        replies = await asyncio.gather(*(nc.request(s, b, timeout=30) for s, b in chunk))
        out.extend(checked(json.loads(r.data)) for r in replies)
    return out


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_ten_thousand_durable_consumers(server):
    nc = await connect(server)
    await add_stream(nc, max_consumers=2 * COUNT)
    await nc.request("orders.x", b"one", timeout=2)
    names = [f"c{i:05d}" for i in range(COUNT)]

    def body(name: str) -> bytes:
        config = {"durable_name": name, "ack_policy": "explicit"}
        return json.dumps({"stream_name": "ORDERS", "config": config}).encode()

    creates = [(subjects.consumer_durable_create("ORDERS", name), body(name)) for name in names]
    docs = await _all(nc, creates)
    bad = [d for d in docs if "error" in d or d["num_pending"] != 1]
    assert not bad, (len(bad), bad[:2])

    seen, offset = [], 0
    while True:
        page = await api(nc, subjects.consumer_names("ORDERS"), {"offset": offset}, timeout=30)
        assert (page["total"], page["offset"], page["limit"]) == (COUNT, offset, 1024)
        if not page["consumers"]:
            break
        seen.extend(page["consumers"])
        offset += len(page["consumers"])
    assert seen == names

    listed, offset = [], 0
    while offset < COUNT:
        page = await api(nc, subjects.consumer_list("ORDERS"), {"offset": offset}, timeout=30)
        assert page["limit"] == 256 and len(page["consumers"]) == min(256, COUNT - offset)
        listed.extend(c["name"] for c in page["consumers"])
        offset += len(page["consumers"])
    assert listed == names

    sample = names[:: COUNT // 50]
    infos = await _all(nc, [(subjects.consumer_info("ORDERS", n), b"") for n in sample])
    assert [i["name"] for i in infos] == sample

    deleted = await _all(nc, [(subjects.consumer_delete("ORDERS", n), b"") for n in names])
    assert all(d.get("success") for d in deleted)
    page = await api(nc, subjects.consumer_names("ORDERS"))
    assert (page["total"], page["consumers"]) == (0, [])
    stream = await api(nc, subjects.stream_info("ORDERS"))
    assert stream["state"]["consumer_count"] == 0
    await nc.close()
