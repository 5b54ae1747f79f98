"""The publish path: a message on a stream subject is checked, stored and acknowledged.

Owns `Publisher`, the half of `Stream` that nats-server keeps in processJetStreamMsg: the checks
in nats-server's order (sealed, max_msg_size, header size, Nats-Incr, Nats-Expected-Stream,
Nats-TTL allowed, Nats-Expected-Last-Subject-Sequence, Nats-Expected-Last-Sequence, the
scheduling headers (scheduler.py), Nats-Stream-Source, Nats-Msg-Id duplicates,
Nats-Expected-Last-Msg-Id, Nats-Rollup), interest retention, account limits, the counter's new
total (counters.py), Nats-TTL valid (raised to the stream's marker TTL), discard-new limits, then
store, TTL schedule, rollup, the schedules' bookkeeping, discard-old limits, republish, the PubAck
(with a counter's `val`) and the consumers' wake-up.

A message whose reply subject ends in `.$FI` is a fast batch member and goes to fast_batch.py,
one carrying Nats-Batch-Id an atomic batch member (batch.py).

A message copied by a mirror or source (`sourced`) was checked by its origin: it may carry
Nats-Stream-Source, and a Nats-TTL or Nats-Rollup the stream does not allow is stored but not
acted on (nats-server's `sourced` flag).

This is the hot path: headers are only looked at when the message has a header block (found with
`headers.get`, nats-server's byte search), the ack is a pre-encoded prefix plus the sequence, and
the ack goes straight to the router. May import: devserver.protocol, devserver.jetstream.api.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from devserver.jetstream import counters
from devserver.jetstream.accounts import JS_CLIENT, MEMORY
from devserver.jetstream.msgttl import SECOND, TTL, parse_ttl, with_ttl
from devserver.jetstream.storage import msg_size
from devserver.jetstream.timefmt import format_time
from devserver.protocol.headers import get as header
from devserver.protocol.headers import strip_status

if TYPE_CHECKING:
    from devserver.store.base import StreamStore

MAX_HEADER = 65535
VERSION_LINE = b"NATS/1.0\r\n"
# acks are written out every this many, not only at the end of the loop turn: the publisher sees
# them while the rest of its burst is being stored (measured: +30% for nats-py publish_async)
ACK_FLUSH_EVERY = 64

MSG_ID = b"Nats-Msg-Id"
MSG_ID_LEGACY = b"Msg-Id"  # the JetStream preview's name (seed), still honoured here
EXPECTED_STREAM = b"Nats-Expected-Stream"
EXPECTED_LAST_SEQ = b"Nats-Expected-Last-Sequence"
EXPECTED_LAST_SUBJ_SEQ = b"Nats-Expected-Last-Subject-Sequence"
EXPECTED_LAST_SUBJ_SEQ_SUBJ = b"Nats-Expected-Last-Subject-Sequence-Subject"
EXPECTED_LAST_MSG_ID = b"Nats-Expected-Last-Msg-Id"
ROLLUP = b"Nats-Rollup"
ROLLUP_SUB, ROLLUP_ALL = "sub", "all"
STREAM_SOURCE = b"Nats-Stream-Source"
BATCH_ID = b"Nats-Batch-Id"
FAST_BATCH_SUFFIX = b".$FI"  # a reply subject ending so names a fast batch member (fast_batch.py)


def error_ack(stream: str, name: str, **placeholders: object) -> bytes:
    """`{"error":{...},"stream":...,"seq":0}` as nats-server marshals a failed PubAck."""
    from schemas import errors  # noqa: PLC0415 - only on the error path

    doc = {"error": errors.error(name, **placeholders), "stream": stream, "seq": 0}
    return json.dumps(doc, separators=(",", ":")).encode()


class Reject(Exception):  # noqa: N818 - a control-flow signal, not an error of ours
    """A publish refused: the error constant and its placeholders, for the error ack."""

    def __init__(self, name: str, **placeholders: object) -> None:
        self.name = name
        self.placeholders = placeholders


class Publisher:
    """Mixed into Stream: `on_msg` is the internal subscription's handler."""

    # provided by Stream
    name: str
    config: dict[str, Any]
    store: StreamStore
    consumers: dict[str, Any]
    followers: list[Any]
    remove_msg: Any
    batches: Any  # batch.AtomicBatches
    fast_batches: Any  # fast_batch.FastBatches
    _marker_ttl: int  # seconds (Expiry)
    _add_ttl: Any
    _schedules: Any  # (Scheduler)
    _check_schedule: Any
    _schedule_rollup: Any
    _on_stored: Any

    def _setup_publish(self) -> None:
        """Cache the config values the hot path reads (called again after every update)."""
        cfg = self.config
        self._ack_prefix = b'{"stream":' + json.dumps(self.name).encode() + b',"seq":'
        self._no_ack = bool(cfg.get("no_ack"))
        self._sealed = cfg["sealed"]
        self._max_msg_size = cfg["max_msg_size"]
        self._max_msgs = cfg["max_msgs"]
        self._max_bytes = cfg["max_bytes"]
        self._max_per = cfg["max_msgs_per_subject"]
        self._discard_new = cfg["discard"] == "new"
        self._discard_new_per = bool(cfg.get("discard_new_per_subject"))
        self._interest = cfg["retention"] == "interest"
        self._window = cfg.get("duplicate_window", 0)
        self._rollup_ok = cfg["allow_rollup_hdrs"] and not cfg["deny_purge"]
        self._allow_ttl = cfg["allow_msg_ttl"]
        self._counter = bool(cfg.get("allow_msg_counter"))
        self._limited = self._max_msgs > 0 or self._max_bytes > 0 or self._max_per > 0
        self._max_age = cfg["max_age"]
        limits = self.jsa.limits
        self._account_limited = (limits.max_memory if self.storage == MEMORY else limits.max_storage) >= 0
        self._server_limited = self.jsa.js.server_limited
        self._file_sizes = self.storage != MEMORY
        # one test on the hot path for the rare rules (interest, resource limits)
        self._guarded = self._interest or self._server_limited or self._account_limited
        self._limits_new = self._limited and self._discard_new
        # TTLs below the marker TTL are raised to it (a marker could otherwise be missed),
        # unless a subject only ever holds one message
        self._min_ttl = self._marker_ttl if self._max_per != 1 else 0
        self._now = self._clock.now_ns
        self._mark_dirty = self.jsa.js.dirty.add

    def _size(self, subject: str, headers: bytes | None, data: bytes) -> int:
        return msg_size(self._file_sizes, subject, headers, data)

    # -- the hot path

    def on_msg(self, subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        try:
            if reply is not None and reply.endswith(FAST_BATCH_SUFFIX) and len(reply) > 4:
                send = lambda body: self._send_ack(reply, body)  # noqa: E731 - bound to this reply
                self.fast_batches.on_msg(subject.decode(), reply, hdr, payload, send)
                return
            bid = batch_id(payload, hdr) if hdr > 0 else None
            if bid is None:
                ack = self._ingest(subject.decode(), hdr, payload)
            else:
                ack = self.batches.on_msg(bid, subject.decode(), hdr, payload)
        except Reject as rej:
            ack = error_ack(self.name, rej.name, **rej.placeholders)
        if reply and not self._no_ack:
            self._send_ack(reply, ack)

    def _send_ack(self, reply: bytes, ack: bytes) -> None:
        self._route(JS_CLIENT, self._account, reply, None, -1, ack)
        js = self.js
        js.unflushed_acks += 1
        if js.unflushed_acks >= ACK_FLUSH_EVERY:
            js.unflushed_acks = 0
            self.server.flush_now()

    def _ingest(
        self,
        subject: str,
        hdr: int,
        payload: bytes,
        ts: int = 0,
        sourced: bool = False,
        checked: bool = False,
    ) -> bytes:
        """Store one message (a mirror passes the origin's timestamp, sourcing `sourced`, an atomic
        batch `checked`: its expected-* and duplicate checks were run for the whole batch); the
        ack to send, or Reject."""
        if self._sealed:
            raise Reject("JSStreamSealedErr")
        if 0 <= self._max_msg_size < len(payload):
            raise Reject("JSStreamMessageExceedsMaximumErr")
        now = ts or self._now()
        step = None  # a counter increment (Nats-Incr)
        if hdr < 0:
            block = msg_id = rollup = None
            ttl = 0
            data = payload
        else:
            if hdr > MAX_HEADER:
                raise Reject("JSStreamHeaderExceedsMaximumErr")
            block = payload[:hdr]
            if not block.startswith(VERSION_LINE):
                block = strip_status(block)  # a status line is not stored
            data = payload[hdr:]
            step = self._check_incr(block, data, sourced)
            msg_id, rollup, ttl, dup = self._check_headers(subject, block, now, sourced, checked)
            if dup:
                return dup
            if self._schedules is not None and not sourced:
                block, rollup = self._schedule_rollup(block, rollup)
        total = None
        if self._counter:
            block, data, total = self._count(subject, block, data, step)
        store = self.store
        if self._guarded:
            if self._interest and not self._has_interest(subject):
                seq = store.skip_msgs(1, now)
                self._record(msg_id, seq, now)
                if rollup is not None:  # nothing was stored, so nothing is kept
                    self._rollup(subject, rollup, keep=0)
                return self._ack_prefix + b"%d}" % seq
            self._check_resources(subject, block, data)
        if ttl != 0:  # None (invalid) too
            ttl, block = self._valid_ttl(ttl, block)
        if self._limits_new:
            self._check_discard_new(subject, block, data)
        previous = 0
        if self._republish is not None:
            last = store.load_last(subject)
            previous = last.seq if last is not None else 0
        seq = store.store(subject, block, data, now)[0]
        if ttl > 0:
            self._add_ttl(seq, now + ttl * SECOND)
        if msg_id is not None or self.last_msg_id:
            self._record(msg_id, seq, now)
        if rollup is not None:
            self._rollup(subject, rollup)
        if self._schedules is not None:
            self._on_stored(subject, block, seq, now)
        if self._limited:
            self._enforce_limits(subject)
        if self._max_age and self._expiry is None:
            self._schedule_expiry()
        self._mark_dirty(self)
        if self._republish is not None:
            self._do_republish(subject, block, data, seq, now, previous)
        if self.consumers:
            for consumer in list(self.consumers.values()):
                wake = getattr(consumer, "on_message", None)
                if wake is not None:
                    wake(seq, subject)
        if self.followers:  # mirrors and sources of this stream (sourcing.py)
            for follower in list(self.followers):
                follower.on_origin_message(seq, subject)
        if total is not None:
            return self._ack_prefix + b'%d,"val":"%d"}' % (seq, total)
        return self._ack_prefix + b"%d}" % seq

    def _check_incr(self, block: bytes, data: bytes, sourced: bool) -> int | None:
        """The Nats-Incr step, checked first as nats-server does (a sourced one is taken as is)."""
        try:
            step = counters.incr(block)
            if step is not None and not sourced:
                counters.check(block, data, self._counter)
        except counters.CounterError as err:
            raise Reject(str(err)) from None
        return step

    def _count(
        self, subject: str, block: bytes | None, data: bytes, step: int | None
    ) -> tuple[bytes, bytes, int]:
        """A counter stream's message: every one must carry an increment."""
        if step is None or block is None:
            raise Reject("JSMessageIncrMissingErr")
        try:
            return counters.count(self.store.load_last(subject), subject, block, data, step)
        except counters.CounterError as err:
            raise Reject(str(err)) from None

    def _check_resources(self, subject: str, block: bytes | None, data: bytes) -> None:
        """Server and account limits."""
        if self._server_limited and self.jsa.js.limits_exceeded(self.storage):
            raise Reject("JSInsufficientResourcesErr")
        if self._account_limited and self.jsa.would_exceed(self.storage, self._size(subject, block, data)):
            raise Reject("JSAccountResourcesExceededErr")

    def _valid_ttl(self, ttl: int | None, block: bytes) -> tuple[int, bytes]:
        """The TTL to keep (None = invalid, refused only now, as nats-server does) and the
        header block, rewritten when the TTL was raised to the marker TTL."""
        if ttl is None:
            raise Reject("JSMessageTTLInvalidErr")
        if 0 < ttl < self._min_ttl:
            return self._min_ttl, with_ttl(block, self._min_ttl)
        return ttl, block

    # -- header rules (only for messages with headers)

    def _check_headers(
        self, subject: str, block: bytes, now: int, sourced: bool, checked: bool = False
    ) -> tuple[str | None, str | None, int | None, bytes | None]:
        """Run the header checks; (msg id, rollup to apply, TTL in seconds to apply (None =
        invalid), duplicate ack or None)."""
        value = header(block, EXPECTED_STREAM)
        if value is not None and value.decode() != self.name:
            raise Reject("JSStreamNotMatchErr")
        value = header(block, TTL)
        ttl = 0 if value is None else parse_ttl(value)
        if ttl and not self._allow_ttl:  # an invalid TTL is refused later
            if not sourced:
                raise Reject("JSMessageTTLDisabledErr")
            ttl = 0  # stored with its header, never expired: the store keeps no TTLs
        value = header(block, EXPECTED_LAST_SUBJ_SEQ)
        if checked:
            pass
        elif value is not None:
            other = header(block, EXPECTED_LAST_SUBJ_SEQ_SUBJ)
            last = self.store.load_last(other.decode() if other else subject)
            actual = last.seq if last is not None else 0
            if _uint(value) != actual:
                raise Reject("JSStreamWrongLastSequenceErrF", seq=actual)
        elif header(block, EXPECTED_LAST_SUBJ_SEQ_SUBJ) is not None:
            raise Reject("JSStreamExpectedLastSeqPerSubjectInvalid")
        value = header(block, EXPECTED_LAST_SEQ)
        if value is not None and not checked and _uint(value) != self.store.last_seq:
            raise Reject("JSStreamWrongLastSequenceErrF", seq=self.store.last_seq)
        if not sourced:
            self._check_schedule(subject, block)
        if not sourced and header(block, STREAM_SOURCE):  # only sourcing may write it
            raise Reject("JSMessageSourceHdrNotAllowedErr")
        raw_id = header(block, MSG_ID)
        if raw_id is None:
            raw_id = header(block, MSG_ID_LEGACY)
        msg_id = raw_id.decode() if raw_id else None
        if msg_id and not checked:
            seen = self.msg_ids.get(msg_id)
            if seen is not None and seen[1] > now - self._window:
                return msg_id, None, ttl, self._ack_prefix + b'%d,"duplicate": true}' % seen[0]
        value = header(block, EXPECTED_LAST_MSG_ID)
        if value:
            if value.decode() != self.last_msg_id:
                raise Reject("JSStreamWrongLastMsgIDErrF", id=self.last_msg_id)
        rollup = header(block, ROLLUP)
        if rollup is not None:
            if not self._rollup_ok and not sourced:
                raise Reject("JSStreamRollupFailedF", err="rollup not permitted")
            text = rollup.decode()
            if text not in (ROLLUP_SUB, ROLLUP_ALL):
                raise Reject("JSStreamRollupFailedF", err=f'rollup value invalid: "{text}"')
            return msg_id, text if self._rollup_ok else None, ttl, None
        return msg_id, None, ttl, None

    def _record(self, msg_id: str | None, seq: int, now: int) -> None:
        """Remember the last message's id (and for dedupe, until the window passes)."""
        self.last_msg_id = msg_id or ""
        if msg_id and self._window:
            ids = self.msg_ids
            ids.pop(msg_id, None)
            ids[msg_id] = (seq, now)
            horizon = now - self._window
            for old, (_, ts) in list(ids.items())[:8]:
                if ts > horizon:
                    break
                del ids[old]

    # -- limits

    def _check_discard_new(self, subject: str, block: bytes | None, data: bytes) -> None:
        """memstore's DiscardNew checks (a subject at its per-subject limit replaces, so passes)."""
        store = self.store
        at_limit = self._max_per > 0 and store.subject_count(subject) >= self._max_per
        if at_limit and self._discard_new_per and (block is None or header(block, ROLLUP) is None):
            raise Reject("JSStreamStoreFailedF", err="maximum messages per subject exceeded")
        if self._max_msgs > 0 and store.msgs >= self._max_msgs and not at_limit:
            raise Reject("JSStreamStoreFailedF", err="maximum messages exceeded")
        if self._max_bytes > 0:
            size = self._size(subject, block, data)
            if store.bytes + size > self._max_bytes:
                if not at_limit:
                    raise Reject("JSStreamStoreFailedF", err="maximum bytes exceeded")
                first = store.load(store.subject_first(subject))
                if first is None or self._size(first.subject, first.headers, first.data) < size:
                    raise Reject("JSStreamStoreFailedF", err="maximum bytes exceeded")

    def _enforce_limits(self, subject: str) -> None:
        store = self.store
        remove = self.remove_msg
        if self._max_per > 0:
            while store.subject_count(subject) > self._max_per:
                remove(store.subject_first(subject))
        if self._discard_new:
            return
        if self._max_msgs > 0:
            while store.msgs > self._max_msgs:
                remove(store.first_seq)
        if self._max_bytes > 0:
            while store.bytes > self._max_bytes and store.msgs:
                remove(store.first_seq)

    def _rollup(self, subject: str, kind: str, keep: int = 1) -> None:
        self.purge(subject if kind == ROLLUP_SUB else None, 0, keep)

    def _has_interest(self, subject: str) -> bool:
        for consumer in self.consumers.values():
            matches = getattr(consumer, "matches", None)
            if matches is None or matches(subject):
                return True
        return False

    def _do_republish(
        self, subject: str, block: bytes | None, data: bytes, seq: int, now: int, last: int
    ) -> None:
        transform, headers_only = self._republish
        dest = transform(subject)
        if dest is None:
            return
        lines = (
            f"Nats-Stream: {self.name}\r\nNats-Subject: {subject}\r\nNats-Sequence: {seq}\r\n"
            f"Nats-Time-Stamp: {format_time(now)}\r\nNats-Last-Sequence: {last}\r\n"
        )
        if headers_only:
            lines += f"Nats-Msg-Size: {len(data)}\r\n"
            data = b""
        base = block[:-2] if block else b"NATS/1.0\r\n"
        self.jsa.send(dest, data, base + lines.encode() + b"\r\n")


def batch_id(payload: bytes, hdr: int) -> str | None:
    """The message's non-empty Nats-Batch-Id (an atomic batch), looked up only when named."""
    if payload.find(BATCH_ID, 0, hdr) < 0:
        return None
    value = header(payload[:hdr], BATCH_ID)
    return value.decode() if value else None


def _uint(value: bytes) -> int:
    try:
        return int(value)
    except ValueError:
        return -1
