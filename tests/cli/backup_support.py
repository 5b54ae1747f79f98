"""Shared by the backup tests: a stream with history, and its messages and consumers read back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nats

from schemas import subjects as S
from tests.cli.conftest import Pynats
from tests.cli.test_stream import SEED_ADD
from tests.servers import RunningServer, start_server

CONSUMER_STATE = (
    "delivered",
    "ack_floor",
    "num_ack_pending",
    "num_redelivered",
    "num_pending",
    "num_waiting",
)


def fill_orders(pynats: Pynats) -> None:
    """ORDERS with 30 messages (some with headers), a gap at 5, and three consumers in different states."""
    pynats(SEED_ADD).ok()
    pynats("pub ORDERS.new 'order {{Count}}' --count 20 -q").ok()
    pynats("pub ORDERS.processed 'done {{Count}}' --count 10 -q -H Team:ops -H Trace:7").ok()
    pynats("str rmm ORDERS 5 -f").ok()
    pynats("con add ORDERS NEW --pull --filter ORDERS.new --defaults --sample 100").ok()
    pynats("con add ORDERS DISPATCH --pull --filter ORDERS.processed --defaults").ok()
    pynats("con add ORDERS MONITOR --target monitor.orders --ack none --deliver new --defaults").ok()
    pynats("con next ORDERS NEW --count 3").ok()  # acknowledged
    pynats("con next ORDERS DISPATCH --count 2 --no-ack").ok()  # pending


def messages(url: str, stream: str) -> list[dict]:
    """Every sequence from first to last: the stored message, or a note that it is gone."""

    async def collect() -> list[dict]:
        nc = await nats.connect(url)
        try:
            info = json.loads((await nc.request(S.stream_info(stream), b"")).data)
            state = info["state"]
            out = []
            for seq in range(state["first_seq"], state["last_seq"] + 1):
                reply = json.loads(
                    (await nc.request(S.stream_msg_get(stream), json.dumps({"seq": seq}).encode())).data
                )
                out.append(reply.get("message") or {"seq": seq, "gone": reply["error"]["code"]})
            return out
        finally:
            await nc.close()

    return asyncio.run(collect())


def consumers(pynats: Pynats, stream: str) -> dict[str, dict]:
    out = {}
    for name in pynats(f"con ls {stream} -n").ok().out.split():
        info = json.loads(pynats(f"con info {stream} {name} -j").ok().out)
        for point in ("delivered", "ack_floor"):
            info[point].pop("last_active", None)
        out[name] = {"config": stable(info["config"]), **{k: info.get(k) for k in CONSUMER_STATE}}
    return out


def stream_config(pynats: Pynats, stream: str) -> dict:
    return stable(json.loads(pynats(f"str info {stream} -j").ok().out)["config"])


def stable(config: dict) -> dict:
    """A configuration without the server's own `_nats.*` metadata (versions, API levels)."""
    meta = {k: v for k, v in (config.get("metadata") or {}).items() if not k.startswith("_nats.")}
    out = {k: v for k, v in config.items() if k != "metadata"}
    return {**out, "metadata": meta} if meta else out


@contextmanager
def fresh_server(kind: str, tmp_path: Path, config_home: str) -> Iterator[tuple[RunningServer, Pynats]]:
    """Another server of `kind` (its own store), and the CLI pointed at it."""
    (tmp_path / "second").mkdir()
    srv = start_server(kind, tmp_path / "second")
    try:
        yield srv, Pynats(srv.url, config_home)
    finally:
        srv.stop()
