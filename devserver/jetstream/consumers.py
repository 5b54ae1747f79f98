"""A JetStream consumer: its place in a stream, what it delivered, what still awaits an ack.

Owns `Consumer`, the core of nats-server's consumer.go: the starting position (deliver
policies), the choice of the next message (redeliveries first, then the last-per-subject skip
list, then new messages matching the filters), the v1 ack reply subject, what the stream tells
it (new, removed and purged messages), its lifecycle (start, update, delete) and the counters
of CONSUMER.INFO. What happens between a delivery and its ack is in `acks.Acks`; where messages
go is the job of the mode object: `pull.PullMode` (MSG.NEXT requests) or `push.PushMode` (a
deliver subject).

Two views of progress are kept, as nats-server has them: the consumer's own (`sseq`, `dseq`,
`adflr`, `asflr`), which drives delivery, and the one its consumer store reports in INFO
(`delivered_*`, `floor_*`), which moves only on deliveries and acks.

May import: schemas, devserver.jetstream.* (not asyncio; time comes from the server clock).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from devserver import subjects as subj
from devserver.jetstream import advisories, consumer_config, interest, pause, reset
from devserver.jetstream.acks import AckRouter, Acks
from devserver.jetstream.consumer_info import info as build_info
from devserver.jetstream.priority_groups import Pin
from devserver.jetstream.timefmt import parse_time
from devserver.jetstream.timers import Timers
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.consumer_store import ConsumerStore

UNACKED_DELETED = "Unacknowledged message was deleted"
LIMITS_DELETED = "Message deleted by stream limits"


class _Gate:
    """What a slow reader's connection holds back (Connection.stall): this consumer's deliveries.

    Duck-types the producer a connection stalls: `transport.pause_reading/resume_reading`.
    """

    __slots__ = ("consumer",)

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer

    @property
    def transport(self) -> _Gate:
        return self

    @property
    def closed(self) -> bool:
        return self.consumer.closed

    def pause_reading(self) -> None:
        self.consumer.stalled = True

    def resume_reading(self) -> None:
        consumer = self.consumer
        consumer.stalled = False
        if not consumer.closed:
            consumer.resume_soon()


def _mode_for(consumer: Consumer) -> Any:
    """Where the consumer's messages go: a deliver subject, pull requests, or a sourcing link."""
    from devserver.jetstream.pull import PullMode  # noqa: PLC0415 - the modes import us
    from devserver.jetstream.push import PushMode  # noqa: PLC0415
    from devserver.jetstream.sourcing_consumer import SourcingMode  # noqa: PLC0415

    if consumer.config.get("sourcing"):
        return SourcingMode(consumer)
    return PushMode(consumer) if consumer.push else PullMode(consumer)


class Consumer(Acks):
    """One consumer of one stream; the stream calls `on_message` for every stored message."""

    def __init__(self, stream: Any, name: str, config: dict[str, Any], created: int) -> None:
        self.stream = stream
        self.stream_name: str = stream.name
        self.jsa = stream.jsa
        self.server = self.jsa.server
        self.account = self.jsa.account
        self.clock = self.server.clock
        self._now = self.clock.now_ns
        self.timers = Timers.of(self.server)
        self.name = name
        self.config = config
        self.created = created
        self.closed = False
        # the consumer's own position
        self.sseq = 1  # next stream sequence to look at
        self.dseq = 1  # next consumer (delivery) sequence
        self.adflr = 0  # ack floor: consumer sequence
        self.asflr = 0  # ack floor: stream sequence
        self.pending: dict[int, list[int]] = {}  # stream seq -> [consumer seq, delivered at]; ascending
        self.pending_order: deque[int] = deque()  # pending's keys in order (see Acks.first_pending)
        self.rdc: dict[int, int] = {}  # stream seq -> redeliveries so far
        self.rdq: list[int] = []  # stream sequences waiting for redelivery
        self.npc = 0  # messages matching the filters at or after sseq
        self.lss: list[int] | None = None  # last_per_subject: sequences still to hand out
        self.lss_resume = 0
        # as the consumer store reports them in INFO
        self.delivered_c = self.delivered_s = 0
        self.floor_c = self.floor_s = 0
        self.last_delivered = self.last_acked = 0
        self.store: ConsumerStore | None = None
        self._ptmr = None
        self._ptmr_end = 0
        self._running = False
        self._again = False
        self._resume_scheduled = False
        self.stalled = False  # a receiving connection cannot keep up; its resume kicks us
        self.gate = _Gate(self)
        self._blocked = False
        self._subs: list[Any] = []
        self.unpause_timer = None
        self.pin = Pin(self)  # the pinned client of a `pinned_client` priority group
        self.configure(config)
        self.mode: Any = _mode_for(self)

    # -- configuration

    def configure(self, config: dict[str, Any]) -> None:
        """Take a (new) config: cache what the delivery path reads per message."""
        self.config = config
        self.durable = consumer_config.is_durable(config)
        self.push = consumer_config.is_push(config)
        policy = config.get("ack_policy", "none")
        self.ack_none = policy == "none"
        self.ack_all = policy in ("all", "flow_control")
        self.ack_wait = config.get("ack_wait", 0)
        self.backoff: list[int] = list(config.get("backoff") or ())
        self.maxp = config.get("max_ack_pending", 0)
        self.maxdc = max(config.get("max_deliver", -1), 0)
        self.sfreq = consumer_config.sample_frequency(config)
        self.headers_only = bool(config.get("headers_only"))
        self.filters = consumer_config.filters_of(config)
        self._literal = frozenset(f for f in self.filters if subj.is_literal(f))
        self._wild = [f for f in self.filters if not subj.is_literal(f)]
        self.store_filter: str | list[str] | None = (
            None if not self.filters else self.filters[0] if len(self.filters) == 1 else list(self.filters)
        )
        # take() tries the next sequence first when that is cheap to check: no filter (None) or
        # one literal filter (the subject); False when only the store's filtered scan will do
        one_literal = len(self._literal) == len(self.filters) == 1
        self._single_literal: str | None | bool = (
            None if not self.filters else self.filters[0] if one_literal else False
        )
        self.retention = self.stream.config.get("retention", "limits")
        self.pause_deadline = pause.deadline_of(config)  # clock ns; 0 = not paused
        self.ack_prefix = f"$JS.ACK.{self.stream_name}.{self.name}.".encode()

    def update(self, config: dict[str, Any]) -> None:
        """Take an updated config (already checked against the old one)."""
        old = self.config
        filters_before = self.filters
        self.configure(config)
        if config.get("deliver_subject") != old.get("deliver_subject") and self.pending:
            expired = sorted(s for s in self.pending if s not in self.rdq)
            self.rdq.extend(expired)
        if self.filters != filters_before:
            self.recount()
            if self.retention == "interest":
                interest.consumer_gone(self.stream, self, keep_self=True)
        if config.get("ack_wait") != old.get("ack_wait") and self._ptmr is not None:
            self._arm_pending(self.clock.now_ns() + 100_000_000)
        self.mode.configure()
        if self.push:  # a new deliver subject may have listeners already, or none
            self.mode.set_active(self.mode.has_interest())
        self.kick()

    def matches(self, subject: str) -> bool:
        """Does a stream subject pass the consumer's filters?"""
        if not self.filters or subject in self._literal:
            return True
        return any(subj.match(subject, f) for f in self._wild)

    # -- start and stop

    def start(self) -> None:
        """Subscribe for acks, pull requests (MSG.NEXT and the preview's `$JS.NEXT` alias) and
        resets, then begin delivering once the create response is on its way."""
        subscribe, account = self.server.subscribe, self.account
        if not self.ack_none:
            AckRouter.of(self.jsa).add(self.stream_name, self.name, self.on_ack)
        for subject in (
            subjects.consumer_msg_next(self.stream_name, self.name),
            subjects.next_alias(self.stream_name, self.name),
        ):
            self._subs.append(subscribe(account, subject, self._on_next))
        self._subs.append(reset.subscribe(self))
        self.mode.start()
        pause.arm(self)
        if self.pending:
            self._arm_pending(self.clock.now_ns() + min(self.ack_wait or 1_000_000_000, 1_000_000_000))
        loop = self.server.loop
        if loop is not None:
            loop.call_soon(self.kick)
        else:
            self.kick()

    def _on_next(self, subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        if reply:
            self.mode.next_request(reply, payload[hdr:] if hdr > 0 else payload)

    def select_start(self) -> None:
        """Where a new consumer begins (selectStartingSeqNo)."""
        store, cfg = self.stream.store, self.config
        first, last = store.first_seq, store.last_seq
        policy, opt_seq = cfg.get("deliver_policy", "all"), cfg.get("opt_start_seq", 0)
        if opt_seq:
            sseq = opt_seq
        elif policy == "all":
            sseq = first
        elif policy == "last":
            sseq = last if not self.filters else max((self._last_seq(f) for f in self.filters), default=0)
        elif policy == "last_per_subject":
            if self.stream.config.get("max_msgs_per_subject") == 1:
                sseq = first
            else:
                seqs = sorted(self._last_seq(s) for f in self.filters for s in store.subjects(f))
                sseq = seqs[0] if seqs else last
                self.lss, self.lss_resume = seqs or None, last
        elif policy == "by_start_time":
            sseq = self.seq_for_time(parse_time(cfg["opt_start_time"]))
        else:  # new
            sseq = last + 1
        if first == 0 and not opt_seq:
            sseq = 1
        elif sseq > last and not opt_seq:
            sseq = last + 1
        elif sseq < first:
            sseq = first
        self.sseq, self.dseq = sseq, 1
        self.adflr, self.asflr = 0, sseq - 1
        self.delivered_s = self.floor_s = sseq - 1
        self.recount()

    def _last_seq(self, subject: str) -> int:
        msg = self.stream.store.load_last(subject)
        return msg.seq if msg is not None else 0

    def seq_for_time(self, ts: int) -> int:
        """The first sequence stored at or after `ts` (past the end when none)."""
        store = self.stream.store
        msg = store.load_next(store.first_seq)
        while msg is not None and msg.ts < ts:
            msg = store.load_next(msg.seq + 1)
        return msg.seq if msg is not None else store.last_seq + 1

    def recount(self) -> None:
        """Recompute `num_pending` from the store (filters never overlap, so counts add up)."""
        store = self.stream.store
        if self.lss is not None:
            self.npc = len(self.lss)
        elif not self.filters:
            self.npc = store.num_pending(self.sseq, None)
        else:
            self.npc = sum(store.num_pending(self.sseq, f) for f in self.filters)

    def load_next(self, start: int) -> Any:
        """The first stored message at or after `start` passing the filters."""
        store = self.stream.store
        f = self.store_filter
        if f is None or f.__class__ is str:
            return store.load_next(start, f)
        best = None
        for one in f:
            msg = store.load_next(start, one)
            if msg is not None and (best is None or msg.seq < best.seq):
                best = msg
        return best

    def stop(self) -> None:
        """Stop delivering and drop the subscriptions and timers (delete or server stop)."""
        if self.closed:
            return
        self.closed = True
        if not self.ack_none:
            AckRouter.of(self.jsa).remove(self.stream_name, self.name, self.on_ack)
        for sub in self._subs:
            self.server.unsubscribe(self.account, sub)
        self._subs.clear()
        if self._ptmr is not None:
            self._ptmr.cancel()
            self._ptmr = None
        pause.cancel(self)
        self.pin.clear()
        self.mode.stop()

    # -- choosing and delivering messages

    def resume_soon(self) -> None:
        """Continue delivering on the next loop turn (a long run yields so output flows)."""
        if not self._resume_scheduled:
            self._resume_scheduled = True
            self.server.loop.call_soon(self._resume)

    def _resume(self) -> None:
        self._resume_scheduled = False
        self.kick()

    def kick(self) -> None:
        """Deliver whatever can be delivered now (re-entrant calls just ask for another round)."""
        if self._running:
            self._again = True
            return
        self._running = True
        try:
            again = True
            while again and not self.closed:
                self._again = False
                if self.pause_deadline and self._now() < self.pause_deadline:
                    self.mode.while_paused()
                else:
                    self.mode.pump()
                again = self._again
        finally:
            self._running = False

    def take(self) -> tuple[Any, int, bytes] | None:
        """Claim the next message: (stored message, delivery count, ack reply), or None.

        `sent()` or `untake()` must follow. `blocked` tells why None came back: max_ack_pending
        (True) or no message available (False).
        """
        self._blocked = False
        store = self.stream.store
        while self.rdq:
            seq = self.rdq.pop(0)
            dc = self.rdc.get(seq, 0) + 2
            self.rdc[seq] = dc - 1
            if self.maxdc and dc > self.maxdc:
                if dc == self.maxdc + 1:
                    advisories.max_deliveries(self, seq, dc - 1)
                p = self.pending.pop(seq, None)
                if p is not None:
                    self._move_floor(p[0], seq)
                continue
            msg = store.load(seq)
            if msg is None:
                self.rdc[seq] = dc - 2
                p = self.pending.get(seq)
                if p is not None:
                    self.term(seq, p[0], dc - 1, LIMITS_DELETED, None)
                continue
            return msg, dc, self._reply(msg, dc)
        if self.maxp > 0 and len(self.pending) >= self.maxp:
            self._blocked = True
            return None
        if self.lss:
            seq = self.lss.pop(0)
            if not self.lss:
                self.lss = None
                self.sseq = self.lss_resume
            else:
                self.sseq = seq
            self.sseq += 1
            msg = store.load(seq)
            if msg is not None:
                self.npc -= 1
                return msg, 1, self._reply(msg, 1)
            return self.take()
        sseq = self.sseq
        literal = self._single_literal
        msg = store.load(sseq) if literal is not False else None
        if msg is not None and literal and msg.subject != literal:
            msg = None
        if msg is None:
            msg = self.load_next(sseq)
            if msg is None:
                if sseq <= store.last_seq:
                    self.sseq = store.last_seq + 1
                self.npc = 0
                return None
        seq = msg.seq
        self.sseq = seq + 1
        npc = self.npc = self.npc - 1
        return msg, 1, self.ack_prefix + b"1.%d.%d.%d.%d" % (seq, self.dseq, msg.ts, npc if npc > 0 else 0)

    def _reply(self, msg: Any, dc: int) -> bytes:
        return self.ack_prefix + b"%d.%d.%d.%d.%d" % (dc, msg.seq, self.dseq, msg.ts, max(self.npc, 0))

    @property
    def blocked(self) -> bool:
        """Did the last `take()` stop at max_ack_pending?"""
        return self._blocked

    def untake(self, msg: Any, dc: int) -> None:
        """Give back a claimed message nobody could receive."""
        seq = msg.seq
        if dc == 1 and seq == self.sseq - 1:
            self.sseq -= 1
            self.npc += 1
        elif dc == 1 and self.lss is not None:
            self.lss.insert(0, seq)
            self.npc += 1
        elif seq not in self.rdq:
            self.rdc[seq] = dc - 2
            if self.rdc[seq] <= 0:
                del self.rdc[seq]
            self.rdq.insert(0, seq)

    def sent(self, msg: Any, dc: int) -> int:
        """Book a delivery made with the reply from `take()`; returns its consumer sequence."""
        dseq = self.dseq
        self.dseq = dseq + 1
        seq = msg.seq
        now = self.last_delivered = self._now()
        if self.ack_none:
            self.adflr, self.asflr = dseq, seq
            self.delivered_c = self.floor_c = dseq
            if seq > self.delivered_s:
                self.delivered_s = self.floor_s = seq
            if self.retention != "limits":
                interest.acked(self.stream, self, seq)
        else:
            p = self.pending.get(seq) if dc > 1 else None
            if p is not None:
                p[1] = now
            else:
                self.pending[seq] = [dseq, now]
                order = self.pending_order
                if order and seq < order[-1]:  # out of order (rare): rebuild sorted
                    self.pending_order = deque(sorted(self.pending))
                else:
                    order.append(seq)
            self.delivered_c = dseq
            if seq > self.delivered_s:
                self.delivered_s = seq
            # with a fixed ack wait a later delivery never expires before the armed timer
            if self._ptmr is None or self.backoff or dc > 1:
                deadline = now + self.wait_for(seq)
                if self._ptmr is None or self._ptmr_end > deadline:
                    self._arm_pending(deadline)
        if self.store is not None:
            self.store.delivered(dseq, seq, dc, now)
        return dseq

    def hand_over(self, msg: Any) -> None:
        """A sourcing link stored its copy of `msg`: delivered and acked at once (nats-server
        acks it with the next flow control reply)."""
        seq = msg.seq
        if seq < self.sseq:
            return
        self.sseq = seq + 1
        self.npc = max(self.npc - 1, 0)
        dseq, self.dseq = self.dseq, self.dseq + 1
        now = self.last_delivered = self.last_acked = self._now()
        self.adflr, self.asflr = dseq, seq
        self.delivered_c = self.floor_c = dseq
        self.delivered_s = self.floor_s = seq
        if self.store is not None:
            self.store.delivered(dseq, seq, 1, now)
        interest.acked(self.stream, self, seq)

    def on_message(self, seq: int, subject: str) -> None:
        """The stream stored a new message."""
        if self.filters and not self.matches(subject):
            return
        self.npc += 1
        self.kick()

    def on_removed(self, seq: int, subject: str) -> None:
        """The stream dropped a message (limits, delete, purge): fix num_pending and pending."""
        if seq >= self.sseq and self.npc > 0 and self.matches(subject):
            self.npc -= 1
        p = self.pending.get(seq)
        if p is not None:
            self.term(seq, p[0], self.rdc.get(seq, 0) or 1, UNACKED_DELETED, None)
        else:
            self.rdc.pop(seq, None)

    def on_purge(self, filter_subject: str | None, first_seq: int) -> None:
        """The stream purged (`filter_subject` None = everything); `first_seq` is the first
        sequence left under the purge filter (stream.go purge + consumer.go purge)."""
        start, wider = first_seq, False
        if filter_subject and not any(subj.is_subset(f, filter_subject) for f in self.filters):
            if self.filters and not any(subj.collide(f, filter_subject) for f in self.filters):
                return
            start, wider = self.stream.store.first_seq, True
        if self.sseq < start:
            self.sseq = start
        store = self.stream.store
        if self.asflr < start:
            self.asflr = start - 1
            for seq in list(self.pending):
                if seq <= self.asflr or (wider and store.load(seq) is None):
                    dseq = self.pending.pop(seq)[0]
                    self.rdc.pop(seq, None)
                    if dseq > self.adflr:
                        self.adflr = max(self.adflr, dseq)
                        self.dseq = max(self.dseq, self.adflr)
                    self._store_ack(dseq, seq, True)
        if not self.pending:
            self.adflr, self.asflr = self.dseq - 1, self.sseq - 1
        self.rdq = [s for s in self.rdq if s >= self.sseq]
        first = store.first_seq
        for seq in [s for s in self.rdc if s < first]:
            del self.rdc[seq]
        self.recount()
        self.write_state()
        self.kick()

    def write_state(self) -> None:
        """Hand the consumer's own view to the store view, as writeStoreState does (purges,
        expired pending); refused like the store refuses an inconsistent or older update."""
        dc, ds, fc, fs = self.dseq - 1, self.sseq - 1, self.adflr, self.asflr
        if fc > dc or fs > ds or dc < self.delivered_c or fs < self.floor_s:
            return
        if any(seq <= fs or seq > ds for seq in self.pending):
            return
        self.delivered_c, self.delivered_s, self.floor_c, self.floor_s = dc, ds, fc, fs
        if self.store is not None:
            self.store.dirty()

    def on_stream_close(self) -> None:
        """The server stops: keep the state, drop the timers."""
        if self.store is not None:
            self.store.close()
        self.stop()

    def on_stream_delete(self) -> None:
        """The stream is going away: stop without touching it any more."""
        self.mode.release()
        self.stop()
        if self.store is not None:
            self.store.delete()
        advisories.consumer_action(self, "delete")

    def delete(self, advisory: bool = True) -> None:
        """Delete this consumer (API, inactivity): advisory, release waiters, forget state."""
        if self.closed:
            return
        if advisory:
            advisories.consumer_action(self, "delete")
        self.mode.release()
        self.stop()
        if self.stream.consumers.get(self.name) is self:
            del self.stream.consumers[self.name]
        if self.store is not None:
            self.store.delete()
        if self.retention == "interest":
            interest.consumer_gone(self.stream, self)

    # -- interest retention

    def needs_ack(self, seq: int, subject: str | None) -> bool:
        """Does this consumer still need `seq` (interest/workqueue retention)?"""
        if self.filters and (subject is None or not self.matches(subject)):
            return False
        if self.ack_none or self.ack_all:
            needed = seq > self.asflr
        else:
            needed = seq > self.asflr and (seq >= self.sseq or seq in self.pending)
        return needed or seq in self.rdc

    # -- reporting

    def info(self, dynamic: bool = False) -> dict[str, Any]:
        """ConsumerInfo; `dynamic` adds the `_nats.ver`/`_nats.level` metadata (not for lists)."""
        return build_info(self, dynamic)
