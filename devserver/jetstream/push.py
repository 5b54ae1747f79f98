"""Push consumers: delivery to a deliver subject, idle heartbeats, flow control, pacing.

Owns `PushMode` (the push half of nats-server's loopAndGatherMsgs): messages go to
`deliver_subject` (a queue group picks one member) while someone listens; without interest the
consumer is inactive and an ephemeral one is deleted after its inactive threshold. Also here:
idle heartbeats (`100 Idle Heartbeat`, with `Nats-Consumer-Stalled` while a flow-control request
is unanswered), flow control (`100 FlowControl Request` with a `$JS.FC...` reply; the window
starts at 2 MiB and doubles per answer up to 32 MiB), `rate_limit_bps` (a token bucket in bits)
and `replay_policy: original` (stored time gaps kept while catching up).

Interest comes from the account's sublist, which calls back when someone starts or stops
listening on the deliver subject (nats-server's RegisterNotification).

May import: devserver.jetstream.* (no asyncio; timers via `Timers`).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from devserver.jetstream.pull import HEARTBEAT_T, _headers_only

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer

PUSH_BASED = b"NATS/1.0 409 Consumer is push based\r\n\r\n"
FC_REQUEST = b"NATS/1.0 100 FlowControl Request\r\n\r\n"
FC_MAX_PENDING = 32 * 1024 * 1024
REPLAY_MIN_GAP = 1_000_000  # gaps below 1 ms are not waited for
DELIVERY_CHUNK = 64  # deliveries per loop turn: the reader starts on them while we go on
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class PushMode:
    """Delivery to a deliver subject."""

    def __init__(self, consumer: Consumer) -> None:
        self.c = consumer
        self.active = False
        self.last_activity = 0
        self.pbytes = 0
        self.fcid: bytes | None = None
        self.fcsz = 0
        self.maxpb = 0
        self.replay = False
        self.replay_last = 0  # stream last seq when replay started
        self.lts = 0  # stored time of the last delivered message (replay)
        self.replay_waited = False
        self.release_at = 0  # clock ns before which pacing holds the next message
        self.tokens = 0.0
        self.refilled = 0
        self.threshold = 0
        self.deliver = b""
        self._watching = b""
        self._hb_timer = None
        self._dtmr = None
        self._pace_timer = None
        self._fc_sub = None
        self.configure()

    def configure(self) -> None:
        """Read the deliver subject, pacing and thresholds from the (new) config."""
        c = self.c
        cfg = c.config
        self.deliver = cfg["deliver_subject"].encode()
        self.heartbeat = cfg.get("idle_heartbeat", 0)
        self.flow_control = bool(cfg.get("flow_control"))
        self.rate = cfg.get("rate_limit_bps", 0) / 8  # bytes per second
        if self.rate:
            self.burst = c.stream.config.get("max_msg_size", -1)
            if self.burst <= 0:
                self.burst = c.server.options.max_payload
            self.tokens, self.refilled = float(self.burst), c.clock.now_ns()
        self.threshold = cfg.get("inactive_threshold", 0)
        if self._watching and self._watching != self.deliver:
            self._unwatch()
            self._watch()

    # -- lifecycle

    def start(self) -> None:
        c = self.c
        if self.flow_control:
            self.maxpb = FC_MAX_PENDING // 16
            pattern = f"$JS.FC.{c.stream_name}.{c.name}.*"
            self._fc_sub = c.server.subscribe(c.account, pattern, self._on_flow_control)
        if c.config.get("replay_policy") == "original":
            self.replay = True
            self.replay_last = c.stream.store.last_seq
        self.last_activity = c.clock.now_ns()
        self._watch()
        if self.heartbeat:
            self._hb_timer = c.timers.after(self.heartbeat, self._on_heartbeat)

    def stop(self) -> None:
        for timer in (self._hb_timer, self._dtmr, self._pace_timer):
            if timer is not None:
                timer.cancel()
        self._hb_timer = self._dtmr = self._pace_timer = None
        self._unwatch()
        if self._fc_sub is not None:
            self.c.server.unsubscribe(self.c.account, self._fc_sub)
            self._fc_sub = None

    def release(self) -> None:
        """Nothing waits on a push consumer."""

    def num_waiting(self) -> int:
        return 0

    def next_request(self, reply: bytes, body: bytes) -> None:
        self.c.jsa.send(reply, b"", PUSH_BASED)

    # -- interest

    def has_interest(self) -> bool:
        plain, queues = self.c.account.sublist.match(self.deliver)
        return bool(plain or queues)

    def set_active(self, active: bool) -> None:
        """Interest in the deliver subject came or went (updateDeliveryInterest)."""
        c = self.c
        was, self.active = self.active, active
        if active:
            if self._dtmr is not None:
                self._dtmr.cancel()
                self._dtmr = None
            if not was:
                c.kick()
        elif self.threshold and self._dtmr is None:
            self._dtmr = c.timers.after(self.threshold, self._delete_if_inactive)

    def _watch(self) -> None:
        self._watching = self.deliver
        self.set_active(self.c.account.sublist.watch(self.deliver, self._on_interest))

    def _unwatch(self) -> None:
        if self._watching:
            self.c.account.sublist.unwatch(self._watching, self._on_interest)
            self._watching = b""

    def _on_interest(self, interest: bool) -> None:
        """Called from inside a SUB or UNSUB: act once that operation is complete."""
        loop = self.c.server.loop
        if loop is None:
            self._interest_changed(interest)
        else:
            loop.call_soon(self._interest_changed, interest)

    def _interest_changed(self, interest: bool) -> None:
        if not self.c.closed and interest != self.active:
            self.set_active(interest)

    def _delete_if_inactive(self) -> None:
        self._dtmr = None
        if not self.c.closed and not self.active and not self.has_interest():
            self.c.delete()

    # -- delivery

    def pump(self) -> None:
        """Deliver while someone listens and flow control allows."""
        c = self.c
        deliver = c.server.deliver_as
        account, dsubj = c.account, self.deliver
        headers_only = c.headers_only
        budget = DELIVERY_CHUNK
        gate = c.gate
        while self.active and not (self.maxpb and self.pbytes > self.maxpb):
            budget -= 1
            if not budget:
                c.resume_soon()
                return
            if c.stalled:  # the reader's connection resumes us
                return
            got = c.take()
            if got is None:
                break
            msg, dc, reply = got
            subject, hdr, data = msg.subject.encode(), msg.headers, msg.data
            if headers_only:
                hdr, data = _headers_only(hdr, data), b""
            if hdr:
                hlen, data = len(hdr), hdr + data
            else:
                hlen = -1
            size = len(dsubj) + len(reply) + len(data)
            if (self.replay or self.rate) and self._hold(msg.ts, size):
                c.untake(msg, dc)
                break
            if not deliver(account, dsubj, subject, reply, hlen, data, gate):
                c.untake(msg, dc)
                self.set_active(False)
                break
            c.sent(msg, dc)
            self.last_activity = c.last_delivered
            if self.maxpb:
                self.pbytes += size
                if self.fcid is None and self.pbytes > self.maxpb // 2:
                    self._send_flow_control()
                elif self.fcid is not None and self.pbytes - self.fcsz >= self.maxpb:
                    self.fcsz += size
        if self.replay and c.sseq > self.replay_last:
            self.replay = False

    def while_paused(self) -> None:
        """The consumer is paused: nothing goes out but the heartbeats."""

    def _hold(self, ts: int, size: int) -> bool:
        """Pacing: True (and a wake-up scheduled) when this message must wait."""
        c = self.c
        now = c.clock.now_ns()
        if now < self.release_at:
            self._pace(self.release_at)
            return True
        if self.replay:
            gap = ts - self.lts if self.lts else 0
            if gap > REPLAY_MIN_GAP and not self.replay_waited:
                self.replay_waited = True
                self.release_at = now + gap
                self._pace(self.release_at)
                return True
            self.replay_waited = False
            self.lts = ts
        if self.rate:
            self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate / 1e9)
            self.refilled = now
            self.tokens -= size
            if self.tokens < 0:
                # this one goes now; the next waits until the bucket is back to zero
                self.release_at = now + int(-self.tokens / self.rate * 1e9)
                self.tokens = 0.0
                self.refilled = self.release_at
        return False

    def _pace(self, deadline: int) -> None:
        if self._pace_timer is None:
            self._pace_timer = self.c.timers.at(deadline, self._on_pace)

    def _on_pace(self) -> None:
        self._pace_timer = None
        self.c.kick()

    # -- heartbeats and flow control

    def _on_heartbeat(self) -> None:
        c = self.c
        self._hb_timer = None
        if c.closed:
            return
        now = c.clock.now_ns()
        due = self.last_activity + self.heartbeat
        if now >= due:
            if self.active or self.has_interest():
                hdr = HEARTBEAT_T % (c.dseq - 1, c.sseq - 1)
                if self.fcid is not None:
                    hdr = hdr[:-2] + b"Nats-Consumer-Stalled: " + self.fcid + b"\r\n\r\n"
                c.jsa.send(self.deliver, b"", hdr)
            self.last_activity = now
            due = now + self.heartbeat
        self._hb_timer = c.timers.at(due, self._on_heartbeat)

    def _send_flow_control(self) -> None:
        c = self.c
        token = "".join(random.choice(_BASE62) for _ in range(4))
        self.fcid = f"$JS.FC.{c.stream_name}.{c.name}.{token}".encode()
        self.fcsz = self.pbytes
        c.server.deliver_as(c.account, self.deliver, self.deliver, self.fcid, len(FC_REQUEST), FC_REQUEST)

    def _on_flow_control(self, subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        """The client answered a flow-control request (only the latest one counts)."""
        if subject != self.fcid:
            return
        if self.maxpb < FC_MAX_PENDING:
            self.maxpb = min(self.maxpb * 2, FC_MAX_PENDING)
        self.pbytes = max(self.pbytes - self.fcsz, 0)
        self.fcid, self.fcsz = None, 0
        self.c.kick()
