"""Pull consumers: MSG.NEXT requests, their waiting queue, and the status messages they get.

Owns `PullMode` (nats-server's processNextMsgRequest, nextWaiting and processWaiting): a pull
request names a reply inbox and asks for `batch` messages, optionally with `expires`,
`no_wait`, `max_bytes` and `idle_heartbeat`. Requests wait FIFO; each message goes to the head
request, which then moves to the tail while it wants more. Requests end with the header-only
statuses nats-server sends (404 No Messages, 408 Request Timeout, 409 ...), and a consumer
nobody pulls from is deleted after its inactive threshold. A consumer's priority policy
(priority_groups) refuses requests, passes over them or orders them differently.

May import: devserver.jetstream.* (no asyncio; timers via `Timers`).
"""

from __future__ import annotations

import json
import random
from collections import deque
from typing import TYPE_CHECKING, Any

from devserver.jetstream import priority_groups as pg
from devserver.jetstream.timefmt import go_duration

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer

NO_MESSAGES = b"NATS/1.0 404 No Messages\r\n\r\n"
REQUESTS_PENDING = b"NATS/1.0 408 Requests Pending\r\n\r\n"
CONSUMER_DELETED = b"NATS/1.0 409 Consumer Deleted\r\n\r\n"
EXCEEDED_MAX_WAITING = b"NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n"
PENDING_T = b"\r\nNats-Pending-Messages: %d\r\nNats-Pending-Bytes: %d\r\n\r\n"
TIMEOUT = b"NATS/1.0 408 Request Timeout"
TOO_BIG = b"NATS/1.0 409 Message Size Exceeds MaxBytes"
BATCH_DONE = b"NATS/1.0 409 Batch Completed"
HEARTBEAT_T = b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: %d\r\nNats-Last-Stream: %d\r\n\r\n"
DELIVERY_CHUNK = 32  # pull deliveries per loop turn: the reader starts on them while we go on
WAITING_CHECK_INTERVAL = 1_000_000_000  # a full queue is swept for expired requests at most this often

# JSApiConsumerGetNextRequest: the JSON type Go decodes each key into (unknown keys are ignored)
_FIELDS = {
    "expires": "time.Duration",
    "batch": "int",
    "max_bytes": "int",
    "no_wait": "bool",
    "idle_heartbeat": "time.Duration",
    "group": "string",
    "min_pending": "int64",
    "min_ack_pending": "int64",
    "id": "string",
    "priority": "int",
}


class BadRequest(ValueError):
    """A pull request body nats-server refuses with `400 Bad Request - <text>`."""


class WaitingRequest:
    """One pull request: where to send, how many more, byte budget, deadlines (clock ns), and
    its priority group fields (None without a JSON body)."""

    __slots__ = ("reply", "n", "d", "b", "expires", "hb", "hbt", "no_wait", "g")

    def __init__(
        self, reply: bytes, n: int, b: int, expires: int, hb: int, no_wait: bool, now: int, g: pg.Group | None
    ) -> None:
        self.reply = reply
        self.n = n
        self.d = 0
        self.b = b
        self.expires = expires
        self.hb = hb
        self.hbt = now + hb if hb else 0
        self.no_wait = no_wait
        self.g = g


def parse_request(body: bytes) -> tuple[int, int, int, bool, int, pg.Group | None]:
    """(batch, expires ns, max_bytes, no_wait, idle_heartbeat ns, group fields) of a MSG.NEXT body."""
    text = body.strip()
    if not text:
        return 1, 0, 0, False, 0, None
    if text[:1] == b"{":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise BadRequest(unmarshal_syntax_error(text, exc)) from None
        for key, go_type in _FIELDS.items():
            if key in doc and doc[key] is not None and not _is_go(doc[key], go_type):
                kind = "number" if isinstance(doc[key], int | float) else _KINDS.get(type(doc[key]), "value")
                raise BadRequest(
                    f"json: cannot unmarshal {kind} into Go struct field "
                    f"JSApiConsumerGetNextRequest.{key} of type {go_type}"
                )
        batch, expires = doc.get("batch") or 0, doc.get("expires") or 0
        hb = doc.get("idle_heartbeat") or 0
        if hb > 0 and hb * 2 > expires:
            raise BadRequest("heartbeat value too large")
        return batch, expires, doc.get("max_bytes") or 0, bool(doc.get("no_wait")), hb, pg.Group(doc)
    if text.isdigit():
        return int(text), 0, 0, False, 0, None
    return 1, 0, 0, False, 0, None


_KINDS = {str: "string", bool: "bool", list: "array", dict: "object"}


def _is_go(value: Any, go_type: str) -> bool:
    if go_type == "bool":
        return isinstance(value, bool)
    if go_type == "string":
        return isinstance(value, str)
    return isinstance(value, int) and not isinstance(value, bool)


def unmarshal_syntax_error(text: bytes, exc: ValueError) -> str:
    pos = getattr(exc, "pos", 0)
    if pos >= len(text):
        return "unexpected end of JSON input"
    char = chr(text[pos])
    if "property name" in str(exc):
        return f"invalid character '{char}' looking for beginning of object key string"
    if "Extra data" in str(exc):
        return f"invalid character '{char}' after top-level value"
    if "delimiter" in str(exc):
        return f"invalid character '{char}' after object key:value pair"
    return f"invalid character '{char}' looking for beginning of value"


class PullMode:
    """Delivery to pull requests."""

    def __init__(self, consumer: Consumer) -> None:
        self.c = consumer
        self.waiting: deque[WaitingRequest] = deque()
        self.max_waiting = consumer.config.get("max_waiting", 0)
        self.last = consumer.clock.now_ns()  # last pull activity, for the inactive threshold
        self.swept = 0
        self._timer = None
        self._timer_at = 0
        self._dtmr = None
        self.threshold = 0
        self.policy = pg.policy_of(consumer.config)

    # -- lifecycle

    def start(self) -> None:
        self.configure()

    def configure(self) -> None:
        """(Re)arm the inactivity delete after a config change."""
        c = self.c
        self.policy = pg.policy_of(c.config)
        threshold = c.config.get("inactive_threshold", 0)
        self.threshold = threshold + 100_000_000 + random.randrange(900) * 1_000_000 if threshold else 0
        if self._dtmr is not None:
            self._dtmr.cancel()
            self._dtmr = None
        if self.threshold:
            self._dtmr = c.timers.after(self.threshold, self._check_inactive)

    def stop(self) -> None:
        for timer in (self._timer, self._dtmr):
            if timer is not None:
                timer.cancel()
        self._timer = self._dtmr = None

    def release(self) -> None:
        """The consumer is being deleted: tell every waiting request."""
        send = self.c.jsa.send
        for wr in self.waiting:
            send(wr.reply, b"", CONSUMER_DELETED)
        self.waiting.clear()

    def num_waiting(self) -> int:
        self.process_waiting(False)
        return len(self.waiting)

    # -- requests

    def _status(self, reply: bytes, line: bytes, wr: WaitingRequest | None = None) -> None:
        if wr is None:
            self.c.jsa.send(reply, b"", line)
        else:
            self.c.jsa.send(reply, b"", line + PENDING_T % (max(wr.n, 0), wr.b))

    def next_request(self, reply: bytes, body: bytes) -> None:
        """A MSG.NEXT request (or `+NXT` ack) asking for messages on `reply`."""
        c = self.c
        cfg = c.config
        try:
            batch, expires, max_bytes, no_wait, hb, group = parse_request(body)
        except BadRequest as exc:
            self._status(reply, b"NATS/1.0 400 Bad Request - " + str(exc).encode() + b"\r\n\r\n")
            return
        max_batch = cfg.get("max_batch", 0)
        if max_batch > 0 and batch > max_batch:
            self._status(reply, b"NATS/1.0 409 Exceeded MaxRequestBatch of %d\r\n\r\n" % max_batch)
            return
        max_expires = cfg.get("max_expires", 0)
        if expires and max_expires > 0 and expires > max_expires:
            text = go_duration(max_expires).encode()
            self._status(reply, b"NATS/1.0 409 Exceeded MaxRequestExpires of " + text + b"\r\n\r\n")
            return
        cap = cfg.get("max_bytes", 0)
        if max_bytes > 0 and cap > 0 and max_bytes > cap:
            self._status(reply, b"NATS/1.0 409 Exceeded MaxRequestMaxBytes of %d\r\n\r\n" % cap)
            return
        refused = pg.refusal(c, group)
        if refused is not None:
            self._status(reply, refused)
            return
        now = c.clock.now_ns()
        if len(self.waiting) >= self.max_waiting and now - self.swept > WAITING_CHECK_INTERVAL:
            self.process_waiting(False)
        if no_wait:
            available = max(c.npc, 0) + len(c.rdq)
            if available == 0 and not expires:
                self.last = now
                self._status(reply, NO_MESSAGES)
                return
            if available and available < self.process_waiting(False):
                self.last = now
                self._status(reply, REQUESTS_PENDING)
                return
        if len(self.waiting) >= self.max_waiting:
            if not hb:
                self._status(reply, EXCEEDED_MAX_WAITING)
            return
        wr = WaitingRequest(reply, batch, max_bytes, now + expires if expires else 0, hb, no_wait, now, group)
        if self.policy == pg.PRIORITIZED:
            pg.queue(self.waiting, wr)
        else:
            self.waiting.append(wr)
        self.last = now
        c.kick()
        if self.waiting:
            self._schedule(wr.hbt or wr.expires)

    # -- delivery

    def pump(self) -> None:
        """Hand messages to waiting requests until one side runs out."""
        c = self.c
        waiting = self.waiting
        deliver = c.server.deliver_as
        take, sent = c.take, c.sent
        account = c.account
        headers_only = c.headers_only
        budget = DELIVERY_CHUNK
        gate = c.gate
        policy = self.policy
        pinned = policy == pg.PINNED
        now = c.clock.now_ns()  # one reading per run: deadlines are checked against it
        while waiting:
            budget -= 1
            if not budget:
                c.resume_soon()
                return
            if c.stalled:  # the reader's connection resumes us
                return
            got = take()
            if got is None:
                self.process_waiting(not c.blocked)
                return
            msg, dc, reply = got
            subject, hdr, data = msg.subject.encode(), msg.headers, msg.data
            if headers_only:
                hdr, data = _headers_only(hdr, data), b""
            wr = waiting[0]
            if policy == "none" and not wr.b and (not wr.expires or now < wr.expires):  # common: inline
                wr.d += 1
                wr.n -= 1
                if wr.n <= 0:
                    waiting.popleft()
                elif len(waiting) > 1:
                    waiting.rotate(-1)
            else:
                wr = self._next_waiting(len(subject) + len(reply) + len(hdr or b"") + len(data), now)
                if wr is None:
                    c.untake(msg, dc)
                    self.process_waiting(True)
                    return
            if pinned:  # added after the max_bytes count, as nats-server does
                hdr = pg.with_pin(hdr, c.pin.id)
            if hdr:
                hlen, data = len(hdr), hdr + data
            else:
                hlen = -1
            if not deliver(account, wr.reply, subject, reply, hlen, data, gate):
                c.untake(msg, dc)
                if wr in waiting:
                    waiting.remove(wr)
                continue
            sent(msg, dc)
            if wr.n <= 0:
                if wr.b > 0:
                    self._status(wr.reply, BATCH_DONE, wr)
            elif wr.hb:
                wr.hbt = c.last_delivered + wr.hb

    def while_paused(self) -> None:
        """The consumer is paused: requests only expire, beat and (`no_wait`) end."""
        self.process_waiting(True)

    def _next_waiting(self, size: int, now: int) -> WaitingRequest | None:
        """The request the next message goes to (nextWaiting), rotating the queue; the
        priority policy may pass over requests (CYCLE) or drop them (DROP)."""
        waiting = self.waiting
        cycled = 0
        while waiting:
            wr = waiting[0]
            if wr.expires and now >= wr.expires:
                waiting.popleft()
                self._status(wr.reply, TIMEOUT, wr)
                continue
            verdict = pg.admit(self.c, self.policy, wr)
            if verdict == pg.CYCLE:
                waiting.rotate(-1)
                cycled += 1
                if cycled >= len(waiting):
                    return None
                continue
            if verdict == pg.DROP:
                waiting.popleft()
                self._status(wr.reply, pg.WRONG_PIN, wr)
                continue
            if wr.b > 0:
                if size > wr.b:
                    waiting.popleft()
                    self._status(wr.reply, TOO_BIG, wr)
                    if verdict == pg.PINNED_NOW:
                        self.c.pin.clear()
                    continue
                wr.b -= size
                if wr.b == 0:
                    wr.n = 1
            wr.d += 1
            wr.n -= 1
            if wr.n <= 0:
                waiting.popleft()
            elif len(waiting) > 1:
                self._requeue(wr)
            return wr
        return None

    def _requeue(self, wr: WaitingRequest) -> None:
        """A request that wants more goes to the back: of the queue, or of its priority."""
        if self.policy == pg.PRIORITIZED:
            self.waiting.popleft()
            pg.queue(self.waiting, wr)
        else:
            self.waiting.rotate(-1)

    def process_waiting(self, eos: bool) -> int:
        """Expire, heartbeat and drop requests without interest (processWaiting).

        With `eos` (nothing more to deliver now) `no_wait` requests end with 404. Returns the
        number of messages the remaining requests still want.
        """
        if not self.waiting:
            return 0
        c = self.c
        now = c.clock.now_ns()
        self.swept = now
        match = c.account.sublist.match
        keep: deque[WaitingRequest] = deque()
        wanted, fexp = 0, 0
        for wr in self.waiting:
            expired = wr.expires and now >= wr.expires
            if expired:
                self._status(wr.reply, TIMEOUT, wr)
                continue
            if eos and wr.no_wait and (not wr.expires or wr.d > 0):
                self._status(wr.reply, NO_MESSAGES)
                continue
            plain, queues = match(wr.reply)
            if not plain and not queues:
                continue
            wanted += wr.n
            if wr.hbt:
                if now >= wr.hbt:
                    c.jsa.send(wr.reply, b"", HEARTBEAT_T % (c.dseq - 1, c.sseq - 1))
                    wr.hbt = now + wr.hb
                fexp = wr.hbt if not fexp else min(fexp, wr.hbt)
            if wr.expires:
                fexp = wr.expires if not fexp else min(fexp, wr.expires)
            keep.append(wr)
        self.waiting = keep
        if fexp:
            self._schedule(fexp)
        return wanted

    def _schedule(self, deadline: int) -> None:
        if not deadline or (self._timer is not None and self._timer_at <= deadline):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.c.timers.at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self.c.closed:
            self.process_waiting(True)

    # -- inactivity

    def _check_inactive(self) -> None:
        """deleteNotActive for pull: nobody pulled for the threshold, nothing awaits an ack."""
        self._dtmr = None
        c = self.c
        if c.closed or not self.threshold:
            return
        now = c.clock.now_ns()
        idle = now - max(self.last, c.last_delivered)
        if idle < self.threshold:
            self._dtmr = c.timers.after(self.threshold - idle, self._check_inactive)
            return
        self.process_waiting(True)
        if self.waiting:
            self._dtmr = c.timers.after(self.threshold, self._check_inactive)
            return
        delay = 0
        for seq, p in c.pending.items():
            due = p[1] + c.wait_for(seq) + self.threshold
            if due > now:
                delay = max(delay, due - now)
        if delay:
            self._dtmr = c.timers.after(delay, self._check_inactive)
            return
        c.delete()


def _headers_only(hdr: bytes, data: bytes) -> bytes:
    """The header block of a `headers_only` delivery: the stored headers plus Nats-Msg-Size."""
    base = hdr[:-2] if hdr else b"NATS/1.0\r\n"
    return base + b"Nats-Msg-Size: %d\r\n\r\n" % len(data)
