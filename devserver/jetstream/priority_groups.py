"""Priority groups on pull requests (2.11): what a consumer's `priority_policy` does to MSG.NEXT.

Owns the group fields of a pull request (`group`, `min_pending`, `min_ack_pending`, `id`,
`priority`) and their checks, as nats-server's processNextMsgRequest makes them; what its
nextWaiting decides per policy before a message goes to the head request; and `Pin`, the pinned
client of a `pinned_client` consumer:

- `pinned_client`: the first request of the group to get a message is pinned (a new NUID, a
  `consumer_group_pinned` advisory); every delivery carries `Nats-Pin-Id` (empty while nobody
  is pinned, as for a request with no JSON body). Requests without an id wait behind the pinned
  client's; a request with another id is refused (`423 Nats-Pin-Id mismatch`) or, when it
  reaches the head with nobody pinned, dropped (`423 Nats-Wrong-Pin-Id` with the pending
  counts). `priority_timeout` after the pinned client's last request (deliveries do not count)
  the pin goes (`consumer_group_unpinned`, reason "timeout"), as it does on CONSUMER.UNPIN.
  The pin lives in memory only: a restart forgets it, as in nats-server.
- `overflow`: a request with `min_pending`/`min_ack_pending` (positive) waits until the
  consumer's pending messages or acks reach one of them.
- `prioritized`: requests queue by `priority` (0 first; no JSON body: last), FIFO within one.

May import: schemas, devserver.jetstream.advisories, devserver.jetstream.timefmt.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from devserver.jetstream import advisories
from devserver.jetstream.timefmt import format_time
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer
    from devserver.jetstream.pull import WaitingRequest

PINNED, OVERFLOW, PRIORITIZED = "pinned_client", "overflow", "prioritized"
LAST = 2**31 - 1  # the prioritized place of a request without group fields (Go's MaxInt32)
PIN_MISMATCH = b"NATS/1.0 423 Nats-Pin-Id mismatch\r\n\r\n"
WRONG_PIN = b"NATS/1.0 423 Nats-Wrong-Pin-Id"
# what nextWaiting does with the head request
TAKE, PINNED_NOW, CYCLE, DROP = range(4)


class Group:
    """The priority group fields of a JSON pull request (Go's zero values when absent)."""

    __slots__ = ("name", "min_pending", "min_ack_pending", "id", "priority")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.name: str = doc.get("group") or ""
        self.min_pending: int = doc.get("min_pending") or 0
        self.min_ack_pending: int = doc.get("min_ack_pending") or 0
        self.id: str = doc.get("id") or ""
        self.priority: int = doc.get("priority") or 0


def policy_of(config: dict[str, Any]) -> str:
    return config.get("priority_policy") or "none"


def refusal(c: Consumer, g: Group | None) -> bytes | None:
    """The status a request's group fields earn, None when it may wait; a request that names
    the pin keeps it alive."""
    if g is None:
        return None
    policy = policy_of(c.config)
    if (g.min_pending or g.min_ack_pending) and policy != OVERFLOW:
        return _bad(b"Not a Overflow Priority consumer")
    if g.id and policy != PINNED:
        return _bad(b"Not a Pinned Client Priority consumer")
    if not 0 <= g.priority <= 9:
        return _bad(b"Priority must be between 0 and 9")
    if policy == "none":
        return None
    if not g.name:
        return _bad(b"Priority Group missing")
    if g.name not in c.config.get("priority_groups", ()):
        return _bad(b"Invalid Priority Group")
    pin = c.pin
    if pin.id and g.id == pin.id:
        pin.touch(g.name)
    elif pin.id and g.id:
        return PIN_MISMATCH
    return None


def _bad(text: bytes) -> bytes:
    return b"NATS/1.0 400 Bad Request - " + text + b"\r\n\r\n"


def admit(c: Consumer, policy: str, wr: WaitingRequest) -> int:
    """May the head request have the message at hand: TAKE (PINNED_NOW when it just got the
    pin), CYCLE (let the next one try) or DROP (423, a pin that is no more)?"""
    g = wr.g
    if policy == PINNED:
        pin = c.pin
        if not pin.id:
            if g is not None and g.id:
                return DROP
            return PINNED_NOW if pin.assign(g) else TAKE
        if g is not None and g.id == pin.id:
            return TAKE
        return DROP if g is not None and g.id else CYCLE
    if policy == OVERFLOW and g is not None and (g.min_pending > 0 or g.min_ack_pending > 0):
        # npc already counts the message at hand out; a redelivery is in `pending` already
        due = 0 < g.min_pending <= c.npc + 1 or 0 < g.min_ack_pending <= len(c.pending)
        return TAKE if due else CYCLE
    return TAKE


def queue(waiting: deque[WaitingRequest], wr: WaitingRequest) -> None:
    """Put a prioritized request behind every one of the same or a better priority."""
    rank = _rank(wr)
    at = len(waiting)
    for i, other in enumerate(waiting):
        if _rank(other) > rank:
            at = i
            break
    waiting.insert(at, wr)


def _rank(wr: WaitingRequest) -> int:
    return LAST if wr.g is None else wr.g.priority


def with_pin(hdr: bytes, pin: str) -> bytes:
    """The header block with `Nats-Pin-Id` appended (Go's genHeader: appended, not replaced)."""
    base = hdr[:-2] if hdr else b"NATS/1.0\r\n"
    return base + b"Nats-Pin-Id: " + pin.encode() + b"\r\n\r\n"


def info_fields(c: Consumer) -> dict[str, Any]:
    """ConsumerInfo's `priority_groups`: the first group and its pin (Go's zero time if none)."""
    groups = c.config.get("priority_groups")
    if not groups:
        return {}
    state: dict[str, Any] = {"group": groups[0]}
    if c.pin.id:
        state["pinned_client_id"] = c.pin.id
    state["pinned_ts"] = format_time(c.pin.ts)
    return {"priority_groups": [state]}


class Pin:
    """The pinned client of a consumer: its id, when it was pinned, the priority_timeout timer."""

    __slots__ = ("c", "id", "ts", "_timer")

    def __init__(self, consumer: Consumer) -> None:
        self.c = consumer
        self.id = ""
        self.ts = 0
        self._timer: Any = None

    def assign(self, g: Group | None) -> bool:
        """Pin the request's client (not one without a group); True when it was pinned."""
        if g is None or not g.name:
            return False
        c = self.c
        self.id = g.id = advisories.event_id()
        self.ts = c.clock.now_ns()
        self.touch(g.name)
        fields = {"account": c.jsa.name, "stream": c.stream_name, "consumer": c.name}
        fields.update(group=g.name, pinned_id=self.id)
        subject = subjects.advisory_consumer_pinned(c.stream_name, c.name)
        advisories.publish_event(c.jsa, subject, "consumer_group_pinned", fields)
        return True

    def touch(self, group: str) -> None:
        """The pinned client asked again: its priority_timeout starts over."""
        if self._timer is not None:
            self._timer.cancel()
        ttl = self.c.config.get("priority_timeout", 0)
        self._timer = self.c.timers.after(ttl, lambda: self._timeout(group))

    def clear(self) -> None:
        """Forget the pin, silently (a request too big for the message it was pinned for, stop)."""
        self.id, self.ts = "", 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def unpin(self, group: str, reason: str) -> None:
        """Let the pinned client go and say so ("admin" for UNPIN, "timeout")."""
        c = self.c
        self.clear()
        fields = {"account": c.jsa.name, "stream": c.stream_name, "consumer": c.name}
        fields.update(group=group, reason=reason)
        subject = subjects.advisory_consumer_unpinned(c.stream_name, c.name)
        advisories.publish_event(c.jsa, subject, "consumer_group_unpinned", fields)

    def _timeout(self, group: str) -> None:
        self._timer = None
        if self.id and not self.c.closed:
            self.unpin(group, "timeout")
            self.c.kick()
