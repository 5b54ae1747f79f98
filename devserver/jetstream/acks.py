"""Acks: the bodies a consumer understands, its pending set, ack wait and redelivery.

Owns the `Acks` half of `Consumer` (nats-server's processAck, processAckMsg, processNak,
processTerm, checkPending, hasMaxDeliveries): `+ACK`/`+OK`/empty, `-NAK` with an optional delay
(`{"delay": ns}` or a Go duration), `+WPI`, `+NXT` (ack, then a pull request on the ack's reply)
and `+TERM` with a reason; double acks (an ack sent as a request) are answered with an empty
message once recorded, and first written to disk for a durable consumer of a file stream.
Explicit acks move the ack floor over contiguous acked deliveries, `all` acks everything up to
the acked one. An unacked message is queued for redelivery after ack_wait (or its backoff step)
and dropped with a MAX_DELIVERIES advisory once it had max_deliver deliveries.

May import: devserver.jetstream.advisories, devserver.jetstream.interest, timefmt.
"""

from __future__ import annotations

import random
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devserver.jetstream import advisories, interest

if TYPE_CHECKING:
    from devserver.jetstream.consumer_store import ConsumerStore
    from devserver.jetstream.timers import Timer, Timers

ACK_WAIT_SLACK = 1_000_000  # nats-server fires the pending timer 1 ms after the deadline
NO_RESPONDERS = b"NATS/1.0 503\r\n\r\n"
_ROUTERS: weakref.WeakKeyDictionary[Any, AckRouter] = weakref.WeakKeyDictionary()


class AckRouter:
    """One `$JS.ACK.>` subscription per account, handing each ack to its consumer.

    Every ack subject is unique, so each one costs the interest index a full walk; one
    account-wide subscription keeps that walk short and a dict finds the consumer. An ack sent
    as a request to a consumer that is gone gets the 503 a missing subscriber would give.
    """

    def __init__(self, jsa: Any) -> None:
        self._jsa = weakref.ref(jsa)  # the registry is weak on accounts: no cycle back
        self.routes: dict[tuple[bytes, bytes], Callable[[list[bytes], bytes | None, int, bytes], None]] = {}
        # the subscription lives in the account's interest index; the router keeps no handle on it,
        # so nothing here leads back to the account (the registry is weak on accounts)
        jsa.server.subscribe(jsa.account, "$JS.ACK.>", self._on_msg)

    @classmethod
    def of(cls, jsa: Any) -> AckRouter:
        router = _ROUTERS.get(jsa)
        if router is None:
            router = _ROUTERS[jsa] = cls(jsa)
        return router

    def add(self, stream: str, consumer: str, handler: Callable) -> None:
        self.routes[(stream.encode(), consumer.encode())] = handler

    def remove(self, stream: str, consumer: str, handler: Callable) -> None:
        key = (stream.encode(), consumer.encode())
        if self.routes.get(key) == handler:
            del self.routes[key]

    def _on_msg(self, subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        tokens = subject.split(b".")
        if len(tokens) != 9:  # only the v1 form is ever handed out
            return
        handler = self.routes.get((tokens[2], tokens[3]))
        if handler is not None:
            handler(tokens, reply, hdr, payload)
        elif reply:
            jsa = self._jsa()
            if jsa is not None:
                jsa.send(reply, b"", NO_RESPONDERS)


class Acks:
    """Mixed into Consumer: what happens between a delivery and its ack."""

    # provided by Consumer
    pending: dict[int, list[int]]
    pending_order: deque[int]
    rdc: dict[int, int]
    rdq: list[int]
    sseq: int
    dseq: int
    adflr: int
    asflr: int
    delivered_c: int
    delivered_s: int
    floor_c: int
    floor_s: int
    last_acked: int
    maxp: int
    maxdc: int
    sfreq: int
    ack_all: bool
    ack_wait: int
    backoff: list[int]
    retention: str
    closed: bool
    store: ConsumerStore | None
    timers: Timers
    stream: Any
    jsa: Any
    clock: Any
    mode: Any
    _ptmr: Timer | None
    _ptmr_end: int
    kick: Callable[[], None]
    write_state: Callable[[], None]
    _now: Callable[[], int]

    def on_ack(self, tokens: list[bytes], reply: bytes | None, hdr: int, payload: bytes) -> None:
        """An ack for this consumer (AckRouter has checked the subject's shape)."""
        try:
            dc, sseq, dseq = int(tokens[4]), int(tokens[5]), int(tokens[6])
        except ValueError:
            return
        body = payload[hdr:] if hdr > 0 else payload
        answer = True
        if not body or body == b"+ACK" or body == b"+OK":
            answer = self.ack(sseq, dseq, dc)
        elif body.startswith(b"+NXT"):
            self.ack(sseq, dseq, dc)
            if reply:
                self.mode.next_request(reply, body[4:])
            answer = False
        elif body.startswith(b"-NAK"):
            self.nak(sseq, dseq, dc, body[4:].strip())
        elif body == b"+WPI":
            p = self.pending.get(sseq)
            if p is not None:
                p[1] = self.clock.now_ns()
                if self.store is not None:
                    self.store.dirty()
        elif body.startswith(b"+TERM"):
            answer = self.term(sseq, dseq, dc, body[5:].strip().decode(errors="replace"), reply)
        if reply and answer:
            if self.store is not None:
                self.store.sync()  # a double ack must survive a crash before it is confirmed
            self.jsa.send(reply, b"")

    def ack(self, sseq: int, dseq: int, dc: int, sample: bool = True) -> bool:
        """A positive ack; False when it was ignored (beyond what was delivered)."""
        if sseq >= self.sseq or self.closed:
            return False
        now = self.last_acked = self._now()
        if self.ack_all:
            return self._ack_all(sseq, dseq)
        pending = self.pending
        p = pending.pop(sseq, None)
        if self.rdc:
            self.rdc.pop(sseq, None)
        if self.rdq and sseq in self.rdq:
            self.rdq.remove(sseq)
        if p is not None:
            pdseq = p[0]
            if sample and self.sfreq and self._sample():
                advisories.ack_sample(self, pdseq, sseq, now - p[1], dc)
            self._move_floor(pdseq, sseq)
            self._store_ack(pdseq, sseq, True)
            n, maxp = len(pending), self.maxp
            if 0 < maxp and n < maxp <= n + 1:  # it was full: room for one more now
                self.kick()
        if self.store is not None:
            self.store.dirty()
        if self.retention != "limits":
            interest.acked(self.stream, self, sseq)
        return True

    def _ack_all(self, sseq: int, dseq: int) -> bool:
        """AckAll: everything up to `sseq` is acknowledged at once."""
        if dseq <= self.adflr or sseq <= self.asflr:
            return True
        pending = self.pending
        was_full = self.maxp > 0 and len(pending) >= self.maxp
        was_pending = sseq in pending
        self.adflr, self.asflr = dseq, sseq
        acked = []
        while True:
            first = self.first_pending()
            if first is None or first[0] > sseq:
                break
            acked.append(first[0])
            del pending[first[0]]
            self.rdc.pop(first[0], None)
        self.rdc.pop(sseq, None)
        if self.rdq:
            self.rdq = [s for s in self.rdq if s > sseq]
        if dseq > self.floor_c and was_pending:
            self.floor_c, self.floor_s = dseq, sseq
        if self.store is not None:
            self.store.dirty()
        if self.retention != "limits":
            for seq in {*acked, sseq}:
                interest.acked(self.stream, self, seq)
        if was_full and len(pending) < self.maxp:
            self.kick()
        return True

    def _sample(self) -> bool:
        return self.sfreq >= 100 or random.randrange(100) <= self.sfreq

    def first_pending(self) -> tuple[int, list[int]] | None:
        """The lowest pending stream sequence and its entry, or None.

        `pending` is kept in ascending order, but iterating a dict whose front was popped skips
        every deleted slot first; `pending_order` (ascending, cleaned lazily) avoids that walk.
        """
        order, pending = self.pending_order, self.pending
        while order:
            p = pending.get(order[0])
            if p is not None:
                return order[0], p
            order.popleft()
        return None

    def _move_floor(self, dseq: int, sseq: int) -> None:
        """The consumer's own ack floor after `sseq` left pending (moveAckFloor)."""
        if not self.pending:
            self.adflr, self.asflr = self.dseq - 1, self.sseq - 1
        elif dseq == self.adflr + 1:
            # every earlier delivery is acked, so the lowest pending one comes after sseq
            self.adflr, self.asflr = dseq, sseq
            first = self.first_pending()
            if first is not None and first[0] > sseq:
                self.adflr, self.asflr = first[1][0] - 1, first[0] - 1

    def _store_ack(self, dseq: int, sseq: int, was_pending: bool) -> None:
        """The ack floor the consumer store reports (UpdateAcks of an explicit-ack store)."""
        if dseq <= self.floor_c or not was_pending:
            return
        if not self.pending:
            self.floor_c, self.floor_s = self.delivered_c, self.delivered_s
        elif dseq == self.floor_c + 1:
            self.floor_c, self.floor_s = dseq, sseq
            if self.delivered_c > dseq:
                first = self.first_pending()
                if first is not None and first[0] > sseq:
                    self.floor_c, self.floor_s = first[1][0] - 1, first[0] - 1

    def nak(self, sseq: int, dseq: int, dc: int, arg: bytes) -> None:
        """`-NAK` (optionally with a delay): redeliver as soon as possible or after the delay."""
        if dseq <= self.adflr or dseq > self.dseq:
            return
        p = self.pending.get(sseq)
        if p is None:
            return
        advisories.nak(self, dseq, sseq, dc)
        delay = _nak_delay(arg)
        if delay is not None:
            if sseq in self.rdq:
                self.rdq.remove(sseq)
            p[1] = self.clock.now_ns() - self.ack_wait + delay
            if self.store is not None:
                self.store.dirty()
            self._arm_pending(self.clock.now_ns() + 10_000_000)
            return
        if sseq not in self.rdq:
            self.rdq.append(sseq)
        self.kick()

    def term(self, sseq: int, dseq: int, dc: int, reason: str, reply: bytes | None) -> bool:
        """`+TERM` (or a pending message the stream lost): acked, never redelivered, advised."""
        answer = self.ack(sseq, dseq, dc, sample=False)
        advisories.terminated(self, dseq, sseq, dc, reason)
        return answer

    # -- ack wait and redelivery

    def wait_for(self, seq: int) -> int:
        """How long after delivery `seq` may stay unacked (backoff by its redeliveries)."""
        if self.backoff:
            i = min(max(self.rdc.get(seq, 0), 0), len(self.backoff) - 1)
            return self.backoff[i] + ACK_WAIT_SLACK
        return self.ack_wait + ACK_WAIT_SLACK

    def _arm_pending(self, deadline: int) -> None:
        if self._ptmr is not None:
            self._ptmr.cancel()
        self._ptmr_end = deadline
        self._ptmr = self.timers.at(deadline, self.check_pending)

    def check_pending(self) -> None:
        """The ack-wait timer: queue expired messages for redelivery (checkPending)."""
        self._ptmr = None
        if self.closed or not self.ack_wait:
            return
        now = self.clock.now_ns()
        first = self.stream.store.first_seq
        longest = self.backoff[-1] if self.backoff else self.ack_wait + ACK_WAIT_SLACK
        nxt = longest
        expired: list[int] = []
        changed = False
        for seq, p in list(self.pending.items()):
            if seq < first or seq <= self.asflr:
                del self.pending[seq]
                self.rdc.pop(seq, None)
                if seq in self.rdq:
                    self.rdq.remove(seq)
                self.asflr, self.adflr = max(self.asflr, seq), max(self.adflr, p[0])
                changed = True
                continue
            elapsed, deadline = now - p[1], self.ack_wait
            if self.backoff:
                dc = max(self.rdc.get(seq, 0), 0)
                i = min(dc, len(self.backoff) - 1)
                deadline = self.backoff[i]
                nxt = min(nxt, self.backoff[min(dc + 1, len(self.backoff) - 1)])
            if elapsed >= deadline:
                if seq not in self.rdq and not self._max_delivered(seq):
                    expired.append(seq)
            elif deadline - elapsed < nxt:
                nxt = deadline - elapsed
        if expired:
            expired.sort()
            self.rdq.extend(expired)
            off = now - self.pending[expired[0]][1]
            for seq in expired:
                self.pending[seq][1] += off
        if self.pending:
            self._arm_pending(now + nxt)
        else:
            self.rdq.clear()
            self.adflr, self.asflr = self.dseq - 1, self.sseq - 1
        if changed:
            self.write_state()
        elif expired and self.store is not None:
            self.store.dirty()
        if expired:
            self.kick()

    def _max_delivered(self, seq: int) -> bool:
        """Drop a message that has had its max_deliver deliveries (hasMaxDeliveries)."""
        if not self.maxdc:
            return False
        dc = self.rdc.get(seq, 0) or 1
        if dc < self.maxdc:
            return False
        if dc == self.maxdc:
            advisories.max_deliveries(self, seq, dc)
        p = self.pending.pop(seq, None)
        if p is not None:
            self._move_floor(p[0], seq)
        self.rdc[seq] = dc
        if self.maxp > 0 and len(self.pending) == self.maxp - 1:
            self.kick()
        return True


def _nak_delay(arg: bytes) -> int | None:
    """The delay of `-NAK {"delay": ns}` or `-NAK <go duration>`, None for a plain NAK."""
    if not arg:
        return None
    if arg[:1] == b"{":
        import json  # noqa: PLC0415 - rare path

        try:
            delay = json.loads(arg).get("delay")
        except (ValueError, AttributeError):
            return None
        return delay if isinstance(delay, int) else None
    from devserver.jetstream.timefmt import parse_duration  # noqa: PLC0415 - rare path

    try:
        return parse_duration(arg.decode())
    except ValueError:
        return None
