"""ConsumerInfo as nats-server reports it (consumer.go infoWithSnapAndReply).

Owns the JSON of CONSUMER.INFO, LIST and the create response: key order of Go's struct,
`delivered`/`ack_floor` from the consumer-store view, `num_pending` clamped to what the
stream can still hold, `num_redelivered` hidden when max_deliver is 1, `push_bound` only
when true, `paused`/`pause_remaining` while paused, `priority_groups` with the pinned client.
May import: devserver.jetstream.consumer_config, devserver.jetstream.pause,
devserver.jetstream.priority_groups, devserver.jetstream.timefmt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devserver.jetstream import pause, priority_groups, versioning
from devserver.jetstream.consumer_config import to_json
from devserver.jetstream.timefmt import format_time

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer


def _sequence(consumer_seq: int, stream_seq: int, last: int) -> dict[str, Any]:
    out: dict[str, Any] = {"consumer_seq": consumer_seq, "stream_seq": stream_seq}
    if last:
        out["last_active"] = format_time(last)
    return out


def num_pending(c: Consumer) -> int:
    """checkNumPending: the running count, never more than the stream can still hold."""
    store = c.stream.store
    if c.sseq > store.last_seq:
        c.npc = 0
    elif c.npc > 0:
        c.npc = min(c.npc, store.msgs, store.last_seq - c.sseq + 1)
    return max(c.npc, 0)


def info(c: Consumer, dynamic: bool = False) -> dict[str, Any]:
    """The ConsumerInfo document of one consumer (with the server's version metadata: `dynamic`)."""
    pending = num_pending(c)
    if c.delivered_c or c.delivered_s:
        delivered = _sequence(c.delivered_c, c.delivered_s, c.last_delivered)
    else:
        delivered = _sequence(max(c.dseq, 1) - 1, max(c.sseq, 1) - 1, c.last_delivered)
    out: dict[str, Any] = {
        "stream_name": c.stream_name,
        "name": c.name,
        "created": format_time(c.created),
        "config": versioning.with_dynamic_metadata(to_json(c.config)) if dynamic else to_json(c.config),
        "delivered": delivered,
        "ack_floor": _sequence(c.floor_c, c.floor_s, c.last_acked),
        "num_ack_pending": len(c.pending),
        "num_redelivered": 0 if c.config.get("max_deliver") == 1 else len(c.rdc),
        "num_waiting": c.mode.num_waiting(),
        "num_pending": pending,
    }
    if c.push and c.mode.has_interest():
        out["push_bound"] = True
    out.update(pause.info_fields(c))
    out["ts"] = format_time(c.clock.now_ns())
    out.update(priority_groups.info_fields(c))
    return out
