"""Fast batch publish (`allow_batched`): messages stored as they come, flow-controlled by the server.

Owns `FastBatches` (one per stream, the fast half of nats-server's jetstream_batching.go and
processJetStreamFastBatchMsg). No header marks a member: its reply subject carries the state,
`<prefix>.<id>.<flow>.<ok|fail>.<batch seq>.<op>.$FI` with op 0 start, 1 append, 2 commit,
3 end-of-batch (commits what came before it) and 4 ping. Each member is checked and stored like
a lone publish; the server answers on the reply subject with flow messages
(`{"type":"ack","seq","msgs"}` every `msgs` stored members, `msgs` growing from 1 by doubling
while several batches share the stream; `{"type":"gap","last_seq","seq"}`;
`{"type":"err","seq","error"}`) and one PubAck with `batch`/`count` when the batch ends: on
commit, on a gap (in `fail` mode) or on an error (in `fail` mode). In `ok` mode a gap or a
refused member is reported and the batch goes on. A batch idle for 10 s on the server clock is
forgotten without an advisory; a restart forgets every batch.

May import: devserver.jetstream.{batch,publish,timers,versioning,msgttl}, devserver.protocol.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devserver.jetstream import versioning
from devserver.jetstream.batch import MAX_ID_LEN, OpenBatches, precheck
from devserver.jetstream.publish import FAST_BATCH_SUFFIX, MSG_ID, Reject, error_ack
from devserver.jetstream.timers import Timer
from devserver.protocol.headers import drop
from devserver.protocol.headers import get as header

if TYPE_CHECKING:
    from devserver.jetstream.streams import Stream

START, APPEND, COMMIT, END_OF_BATCH, PING = range(5)
GAP_OK, GAP_FAIL = "ok", "fail"
DEFAULT_FLOW, MAX_FLOW = 10, 65535
MAX_SEQ = 2**64 - 1  # refused: the batch's next sequence would overflow
ACK_BUDGET = 500  # flow acks: at most every this many members, shared by the stream's batches
# nats-server's defaults (its jetstream limits can change them; devserver has no such options)
MAX_INFLIGHT_PER_STREAM = 1000
MAX_INFLIGHT_TOTAL = 50_000
DUPLICATE = b'"duplicate": true}'

Send = Callable[[bytes], None]

# open fast batches of every stream, per JetStream: the server-wide inflight limit
_OPEN: weakref.WeakKeyDictionary[Any, set[FastBatch]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Ref:
    """What one member's reply subject says."""

    bid: str
    flow: int
    gap_ok: bool
    seq: int
    op: int


def parse(reply: bytes) -> Ref | None:
    """The reply subject's fields, or None when they break the pattern."""
    tokens = reply[: -len(FAST_BATCH_SUFFIX)].decode(errors="replace").rsplit(".", 5)
    if len(tokens) != 6:
        return None
    _, bid, flow, gap, seq_text, op_text = tokens
    op = int(op_text) if op_text.isdigit() else -1
    seq = int(seq_text) if seq_text.isdigit() else 0
    if not START <= op <= PING or not 0 < seq < MAX_SEQ or gap not in (GAP_OK, GAP_FAIL):
        return None
    if (op == END_OF_BATCH and seq == 1) or (op == START and seq != 1) or (op == APPEND and seq == 1):
        return None
    size = int(flow) if flow.isdigit() else 0
    return Ref(bid, min(size, MAX_FLOW) or DEFAULT_FLOW, gap == GAP_OK, seq, op)


@dataclass(eq=False)
class FastBatch:
    """One open batch; sequences are the batch's own, except `sseq` (the stream's)."""

    gap_ok: bool
    max_ack: int  # the client's flow: acks at most this many members apart
    ack: int  # acks are sent every `ack` members
    lseq: int = 0  # highest member seen
    pseq: int = 0  # highest member persisted (or skipped as a duplicate)
    fseq: int = 0  # member of the last flow ack
    sseq: int = 0  # stream sequence of the last member stored
    # ended before all it saw was persisted (a member refused in ok mode, then a backward gap):
    # its PubAck never comes and only pings are answered, as in nats-server
    committing: bool = False
    timer: Timer | None = None


class FastBatches(OpenBatches):
    """A stream's open fast batches (idle ones are forgotten without an advisory)."""

    def __init__(self, stream: Stream) -> None:
        super().__init__(stream, _OPEN.setdefault(stream.js, set()))

    def on_msg(self, subject: str, reply: bytes, hdr: int, payload: bytes, send: Send) -> None:
        """One member: flow messages and the final PubAck go to `send`; a refusal raises Reject."""
        stream = self.stream
        block = payload[:hdr] if hdr > 0 else None
        precheck(stream, subject, block, payload[max(hdr, 0) :])
        if not stream.config.get("allow_batched"):
            raise Reject("JSBatchPublishDisabledErr")
        ref = parse(reply)
        if ref is None:
            raise Reject("JSBatchPublishInvalidPatternErr")
        if len(ref.bid.encode()) > MAX_ID_LEN:
            raise Reject("JSBatchPublishInvalidBatchIDErr")
        batch = self.open.get(ref.bid) or self._start(ref)
        if block is not None and header(block, versioning.REQUIRED_LEVEL):
            if versioning.level_unmet(block):
                self._drop(ref.bid)
                raise Reject("JSRequiredApiLevelErr")
            block = drop(block, versioning.REQUIRED_LEVEL)
            payload, hdr = block + payload[hdr:], len(block)
        if not batch.committing:  # an ended batch's timer stays stopped
            self._arm(ref.bid, batch)
        if ref.op == PING:
            self._ping(ref, batch, send)
        elif not batch.committing and self._in_order(ref, batch, send):
            self._member(ref, batch, subject, hdr, payload, send)

    # -- the batch's life

    def _start(self, ref: Ref) -> FastBatch:
        """Open a batch for its first member; nothing else opens one."""
        if ref.seq != 1 or ref.op == PING:
            raise Reject("JSBatchPublishUnknownBatchIDErr")
        if self._full(MAX_INFLIGHT_PER_STREAM, MAX_INFLIGHT_TOTAL):
            raise Reject("JSBatchPublishTooManyInflight")
        # a lone batch gets the flow it asked for; others ramp up from one
        ack = 1 if self.open else min(ACK_BUDGET, ref.flow)
        batch = FastBatch(ref.gap_ok, ref.flow, ack)
        self._add(ref.bid, batch)
        return batch

    def _end(self, bid: str, batch: FastBatch, send: Send) -> None:
        """Close the batch with its PubAck once every member seen was persisted."""
        if batch.timer is not None:
            batch.timer.cancel()
        batch.committing = True
        if batch.lseq == batch.pseq:
            self._drop(bid)
            send(self._pub_ack(bid, batch.sseq, b"", batch.lseq))

    def _pub_ack(self, bid: str, seq: int, extra: bytes, count: int) -> bytes:
        name = json.dumps(bid, ensure_ascii=False).encode()
        return self.stream._ack_prefix + b'%d%s,"batch":%s,"count":%d}' % (seq, extra, name, count)

    # -- members

    def _ping(self, ref: Ref, batch: FastBatch, send: Send) -> None:
        """A ping resends the last flow ack; one ahead of what arrived reports the gap."""
        if ref.seq > batch.lseq:
            send(_gap(batch.lseq + 1, ref.seq + 1))
            if not batch.gap_ok:
                self._end(ref.bid, batch, send)
                return
            batch.lseq = batch.pseq = ref.seq
            if self._flow(batch, send):
                return
        send(_flow_ack(batch.fseq, batch.ack))

    def _in_order(self, ref: Ref, batch: FastBatch, send: Send) -> bool:
        """Count the member in; a gap is reported, and ends the batch unless it may be skipped."""
        expected = batch.lseq + 1
        if ref.seq != expected:
            send(_gap(expected, ref.seq))
            if not (batch.gap_ok and ref.seq > expected):
                self._end(ref.bid, batch, send)
                return False
        batch.lseq = ref.seq
        if ref.op == END_OF_BATCH:  # commits what came before it and is not stored
            batch.lseq -= 1
            batch.pseq = batch.lseq
            self._end(ref.bid, batch, send)
            return False
        if ref.seq == 1 and ref.op != COMMIT and not self.stream._no_ack:
            send(_flow_ack(0, batch.ack))
        return True

    def _member(self, ref: Ref, batch: FastBatch, subject: str, hdr: int, payload: bytes, send: Send) -> None:
        """Check and store one member, as a lone publish would be."""
        stream = self.stream
        try:
            ack = stream._ingest(subject, hdr, payload)
        except Reject as rej:
            self._refused(ref, batch, rej, send)
            return
        if ack.endswith(DUPLICATE):
            self._duplicate(ref, batch, payload[:hdr], send)
            return
        batch.sseq = stream.store.last_seq
        batch.pseq = batch.lseq
        if ref.op == COMMIT:
            self._end(ref.bid, batch, send)
        else:
            self._flow(batch, send)

    def _duplicate(self, ref: Ref, batch: FastBatch, block: bytes, send: Send) -> None:
        """A duplicate is skipped, counted as persisted; it ends a batch only when it commits."""
        batch.pseq = ref.seq
        self._flow(batch, send)
        if ref.op != COMMIT:
            return
        if not batch.gap_ok and batch.lseq == 1:  # a one-member batch: a lone publish's answer
            self._drop(ref.bid)
            msg_id = header(block, MSG_ID)
            seen = self.stream.msg_ids.get(msg_id.decode()) if msg_id else None
            send(self._pub_ack(ref.bid, seen[0] if seen else 0, b',"duplicate": true', ref.seq))
            return
        self._end(ref.bid, batch, send)

    def _refused(self, ref: Ref, batch: FastBatch, rej: Reject, send: Send) -> None:
        """A refused member: the batch's first (in fail mode) answers as a lone publish would;
        later ones are reported, then end the batch unless gaps are fine (and it did not commit)."""
        if not batch.gap_ok and batch.lseq == 1:
            self._drop(ref.bid)
            raise rej
        error = json.loads(error_ack(self.stream.name, rej.name, **rej.placeholders))["error"]
        send(json.dumps({"type": "err", "seq": ref.seq, "error": error}, separators=(",", ":")).encode())
        if batch.gap_ok and ref.op != COMMIT:
            return
        batch.lseq -= 1
        batch.pseq = batch.lseq
        self._end(ref.bid, batch, send)

    def _flow(self, batch: FastBatch, send: Send) -> bool:
        """Send a flow ack once `ack` more members were persisted, resizing the step toward the
        stream's budget shared by its batches; whether one was sent."""
        if batch.pseq < batch.fseq + batch.ack:
            return False
        batch.fseq += (batch.pseq - batch.fseq) // batch.ack * batch.ack
        target = min(max(ACK_BUDGET // len(self.open), 1), batch.max_ack)
        if batch.ack < target:
            batch.ack = min(batch.ack * 2, target)
        elif batch.ack > target:
            batch.ack = max(batch.ack // 2, target)
        send(_flow_ack(batch.fseq, batch.ack))
        return True


def _flow_ack(seq: int, msgs: int) -> bytes:
    return b'{"type":"ack","seq":%d,"msgs":%d}' % (seq, msgs)


def _gap(last_seq: int, seq: int) -> bytes:
    return b'{"type":"gap","last_seq":%d,"seq":%d}' % (last_seq, seq)
