"""Atomic batch publish: messages staged per batch id, stored all together on commit or not at all.

Owns `AtomicBatches` (one per stream, the atomic half of nats-server's jetstream_batching.go and
processJetStreamAtomicBatchMsg). A message carrying `Nats-Batch-Id` is staged under that id with
`Nats-Batch-Sequence` 1, 2, ... and answered with an empty body; the one carrying
`Nats-Batch-Commit: 1` (or `eob`, which commits what came before it and is itself dropped) runs
the whole batch's consistency checks against the stream as it was before the batch, then stores
every message and answers one PubAck with `batch` and `count`. A gap, a batch that grows past
1000 messages or sits idle for 10 s on the server clock is thrown away with a
`stream_batch_abandoned` advisory. Staged batches live in memory only: a restart drops them,
as nats-server removes its staged batch files at startup.

May import: schemas, devserver.protocol, devserver.jetstream.{publish,msgttl,advisories,timers}.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devserver.jetstream import advisories
from devserver.jetstream.msgttl import SECOND, TTL, parse_ttl
from devserver.jetstream.publish import (
    EXPECTED_LAST_MSG_ID,
    EXPECTED_LAST_SEQ,
    EXPECTED_LAST_SUBJ_SEQ,
    EXPECTED_LAST_SUBJ_SEQ_SUBJ,
    EXPECTED_STREAM,
    MAX_HEADER,
    MSG_ID,
    ROLLUP,
    ROLLUP_ALL,
    ROLLUP_SUB,
    STREAM_SOURCE,
    Reject,
)
from devserver.jetstream.timers import Timer, Timers
from devserver.protocol.headers import get as header
from devserver.protocol.headers import put
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.streams import Stream

BATCH_SEQ = b"Nats-Batch-Sequence"
BATCH_COMMIT = b"Nats-Batch-Commit"
COMMIT, END_OF_BATCH = b"1", b"eob"
MAX_ID_LEN = 64
# nats-server's defaults (its jetstream limits can change them; devserver has no such options)
MAX_BATCH_SIZE = 1000
MAX_INFLIGHT_PER_STREAM = 50
MAX_INFLIGHT_TOTAL = 1000
IDLE_TIMEOUT = 10 * SECOND
STAGED = b""  # the reply to a staged, uncommitted message

# open batches of every stream, per JetStream: the server-wide inflight limit
_OPEN: weakref.WeakKeyDictionary[Any, set[Batch]] = weakref.WeakKeyDictionary()


@dataclass(eq=False)
class Batch:
    """One open batch: its staged (subject, header block, data) and its idle timer."""

    msgs: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    timer: Timer | None = None


@dataclass
class _Diff:
    """What the batch would change, for the checks of its later messages (batchStagedDiff)."""

    msg_ids: set[str] = field(default_factory=set)
    inflight: dict[str, list[int]] = field(default_factory=dict)  # subject -> [msgs, bytes]
    expected: dict[str, int] = field(default_factory=dict)  # subject -> checked last seq


class OpenBatches:
    """A stream's open batches of one kind (atomic or fast): idle timers and inflight counts.

    Each batch has a `timer` attribute; `everywhere` holds the open batches of every stream.
    """

    def __init__(self, stream: Stream, everywhere: set) -> None:
        self.stream = stream
        self.open: dict[str, Any] = {}
        self._timers = Timers.of(stream.server)
        self._everywhere = everywhere

    def drop_all(self) -> None:
        """Forget every open batch (the stream's setting turned off, stream gone)."""
        for bid in list(self.open):
            self._drop(bid)

    def _full(self, per_stream: int, total: int) -> bool:
        return len(self.open) >= per_stream or len(self._everywhere) >= total

    def _add(self, bid: str, batch: Any) -> None:
        self.open[bid] = batch
        self._everywhere.add(batch)

    def _arm(self, bid: str, batch: Any) -> None:
        """(Re)start the idle timer: each message buys the batch another IDLE_TIMEOUT."""
        if batch.timer is not None:
            batch.timer.cancel()
        batch.timer = self._timers.after(IDLE_TIMEOUT, lambda: self._expire(bid, batch))

    def _expire(self, bid: str, batch: Any) -> None:
        if self.open.get(bid) is batch:
            self._drop(bid)

    def _drop(self, bid: str) -> None:
        batch = self.open.pop(bid, None)
        if batch is None:
            return
        self._everywhere.discard(batch)
        if batch.timer is not None:
            batch.timer.cancel()


class AtomicBatches(OpenBatches):
    """A stream's open atomic batches."""

    def __init__(self, stream: Stream) -> None:
        super().__init__(stream, _OPEN.setdefault(stream.js, set()))

    def on_msg(self, bid: str, subject: str, hdr: int, payload: bytes) -> bytes:
        """Stage or commit one batch message; the reply body, or Reject."""
        stream = self.stream
        block, data = payload[:hdr], payload[hdr:]
        precheck(stream, subject, block, data)
        if not stream.config.get("allow_atomic"):
            raise Reject("JSAtomicPublishDisabledErr")
        if len(bid.encode()) > MAX_ID_LEN:
            raise Reject("JSAtomicPublishInvalidBatchIDErr")
        raw = header(block, BATCH_SEQ)
        if not raw or not raw.isdigit():
            raise Reject("JSAtomicPublishMissingSeqErr")
        seq = int(raw)
        commit = header(block, BATCH_COMMIT)
        eob = commit == END_OF_BATCH
        batch = self.open.get(bid) or self._start(bid, seq, eob)
        if commit is not None and commit not in (COMMIT, END_OF_BATCH):
            self._drop(bid)
            raise Reject("JSAtomicPublishInvalidBatchCommitErr")
        if len(batch.msgs) + 1 != seq or (seq == 1 and eob):
            self._abandon(bid, "incomplete")
            raise Reject("JSAtomicPublishIncompleteBatchErr")
        if seq - eob > MAX_BATCH_SIZE:
            self._abandon(bid, "large")
            raise Reject("JSAtomicPublishTooLargeBatchErrF", size=MAX_BATCH_SIZE)
        if not eob:
            batch.msgs.append((subject, block, data))
        if commit is None:
            self._arm(bid, batch)
            return STAGED
        self._drop(bid)
        return self._commit(bid, batch.msgs, eob)

    # -- the batch's life

    def _start(self, bid: str, seq: int, eob: bool) -> Batch:
        """Open a batch for its first message; a later one for an unknown id is refused."""
        if seq != 1:
            if seq - eob > MAX_BATCH_SIZE:
                raise Reject("JSAtomicPublishTooLargeBatchErrF", size=MAX_BATCH_SIZE)
            raise Reject("JSAtomicPublishIncompleteBatchErr")
        if self._full(MAX_INFLIGHT_PER_STREAM, MAX_INFLIGHT_TOTAL):
            raise Reject("JSAtomicPublishTooManyInflight")
        batch = Batch()
        self._add(bid, batch)
        self._arm(bid, batch)
        return batch

    def _expire(self, bid: str, batch: Batch) -> None:
        if self.open.get(bid) is batch:
            self._abandon(bid, "timeout")

    def _abandon(self, bid: str, reason: str) -> None:
        self._drop(bid)
        stream = self.stream
        fields = {"stream": stream.name, "batch": bid, "reason": reason}
        subject = subjects.advisory_stream_batch_abandoned(stream.name)
        advisories.publish_event(stream.jsa, subject, "stream_batch_abandoned", fields)

    # -- commit

    def _commit(self, bid: str, msgs: list[tuple[str, bytes, bytes]], eob: bool) -> bytes:
        """Check the whole batch, then store it; the PubAck naming the batch and its size."""
        diff = _Diff()
        for i, (subject, block, data) in enumerate(msgs):
            self._check(diff, i, subject, block, data)
        if eob:  # the stored batch ends like one committed by its last message
            subject, block, data = msgs[-1]
            msgs[-1] = (subject, put(block, BATCH_COMMIT, COMMIT), data)
        stream = self.stream
        for subject, block, data in msgs:
            stream._ingest(subject, len(block), block + data, checked=True)
        count = int(header(msgs[-1][1], BATCH_SEQ) or 0)
        tail = b',"batch":%s,"count":%d}' % (json.dumps(bid, ensure_ascii=False).encode(), count)
        return stream._ack_prefix + b"%d" % stream.store.last_seq + tail

    def _check(self, diff: _Diff, i: int, subject: str, block: bytes, data: bytes) -> None:
        """One message's checks against the stream before the batch plus the batch so far."""
        if header(block, EXPECTED_LAST_MSG_ID):
            raise Reject("JSAtomicPublishUnsupportedHeaderBatchErr", header=EXPECTED_LAST_MSG_ID.decode())
        if len(block) > MAX_HEADER:
            raise Reject("JSStreamHeaderExceedsMaximumErr")
        stream = self.stream
        step = stream._check_incr(block, data, False)
        name = header(block, EXPECTED_STREAM)
        if name and name.decode() != stream.name:
            raise Reject("JSStreamNotMatchErr")
        self._check_ttl(block)
        self._check_msg_id(diff, block)
        if header(block, STREAM_SOURCE):
            raise Reject("JSMessageSourceHdrNotAllowedErr")
        if step is None and stream._counter:
            raise Reject("JSMessageIncrMissingErr")
        self._check_last_seq(diff, i, block)
        self._check_subject_seq(diff, subject, block)
        self._check_rollup(diff, subject, block)
        counts = diff.inflight.setdefault(subject, [0, 0])
        counts[0] += 1
        counts[1] += stream._size(subject, block, data)
        self._check_discard_new(diff, subject, block)

    def _check_ttl(self, block: bytes) -> None:
        value = header(block, TTL)
        if value is None:
            return
        ttl = parse_ttl(value)
        if ttl != 0 and not self.stream._allow_ttl:
            raise Reject("JSMessageTTLDisabledErr")
        if ttl is None:
            raise Reject("JSMessageTTLInvalidErr")

    def _check_msg_id(self, diff: _Diff, block: bytes) -> None:
        """A batch may neither repeat an id nor carry one the stream still remembers."""
        raw = header(block, MSG_ID)
        if not raw:
            return
        msg_id = raw.decode()
        stream = self.stream
        seen = stream.msg_ids.get(msg_id)
        now = stream._now()
        if msg_id in diff.msg_ids or (seen is not None and seen[1] > now - stream._window):
            raise Reject("JSAtomicPublishContainsDuplicateMessageErr")
        diff.msg_ids.add(msg_id)

    def _check_last_seq(self, diff: _Diff, i: int, block: bytes) -> None:
        """Only the first message may expect a last sequence; later ones fail either way."""
        value = header(block, EXPECTED_LAST_SEQ)
        if value is None:
            return
        last = self.stream.store.last_seq + i  # as if the earlier messages were stored
        if _uint(value) != last:
            raise Reject("JSStreamWrongLastSequenceErrF", seq=last)
        if diff.inflight:
            raise Reject("JSStreamWrongLastSequenceConstantErr")

    def _check_subject_seq(self, diff: _Diff, subject: str, block: bytes) -> None:
        value = header(block, EXPECTED_LAST_SUBJ_SEQ)
        other = header(block, EXPECTED_LAST_SUBJ_SEQ_SUBJ)
        if value is None:
            if other:
                raise Reject("JSStreamExpectedLastSeqPerSubjectInvalid")
            return
        target = other.decode() if other else subject
        if target in diff.inflight:  # written earlier in this batch: the check would be stale
            raise Reject("JSStreamWrongLastSequenceConstantErr")
        expected = _uint(value)
        actual = diff.expected.get(target)
        if actual is None:
            last = self.stream.store.load_last(target)
            actual = last.seq if last is not None else 0
        if expected != actual:
            raise Reject("JSStreamWrongLastSequenceErrF", seq=actual)
        diff.expected[target] = actual

    def _check_rollup(self, diff: _Diff, subject: str, block: bytes) -> None:
        value = header(block, ROLLUP)
        if value is None:
            return
        if not self.stream._rollup_ok:
            raise Reject("JSStreamRollupFailedF", err="rollup not permitted")
        kind = value.decode()
        if kind == ROLLUP_SUB and subject in diff.inflight:
            raise Reject("JSStreamRollupFailedF", err="batch rollup sub invalid")
        if kind == ROLLUP_ALL and diff.inflight:
            raise Reject("JSStreamRollupFailedF", err="batch rollup all invalid")
        if kind not in (ROLLUP_SUB, ROLLUP_ALL):
            raise Reject("JSStreamRollupFailedF", err=f'rollup value invalid: "{kind}"')

    def _check_discard_new(self, diff: _Diff, subject: str, block: bytes) -> None:
        """Discard-new limits over what is stored plus the whole batch so far."""
        stream = self.stream
        if not stream._discard_new:
            return
        store = stream.store
        msgs = store.msgs + sum(c[0] for c in diff.inflight.values())
        size = store.bytes + sum(c[1] for c in diff.inflight.values())
        if stream._max_msgs > 0 and msgs > stream._max_msgs:
            raise Reject("JSStreamStoreFailedF", err="maximum messages exceeded")
        if stream._max_bytes > 0 and size > stream._max_bytes:
            raise Reject("JSStreamStoreFailedF", err="maximum bytes exceeded")
        per = stream._max_per
        if stream._discard_new_per and per > 0 and header(block, ROLLUP) is None:
            if store.subject_count(subject) + diff.inflight[subject][0] > per:
                raise Reject("JSStreamStoreFailedF", err="maximum messages per subject exceeded")


def precheck(stream: Stream, subject: str, block: bytes | None, data: bytes) -> None:
    """The checks every batch message (atomic or fast) passes on arrival, before it is looked at
    as one."""
    if stream._sealed:
        raise Reject("JSStreamSealedErr")
    stream._check_resources(subject, block, data)
    if 0 <= stream._max_msg_size < len(block or b"") + len(data):
        raise Reject("JSStreamMessageExceedsMaximumErr")


def _uint(value: bytes) -> int:
    return int(value) if value.isdigit() else -1
