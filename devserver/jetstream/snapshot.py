"""Stream snapshots: `$JS.API.STREAM.SNAPSHOT.<stream>` and the chunk flow that follows it.

Owns nats-server's jsStreamSnapshotRequest and streamSnapshot for file and memory streams. The
request is checked (empty body 10003, unknown stream 10059, JSON 10025, deliver subject 10015)
and answered with the stream's config and state; then, on the next loop turn, the
SNAPSHOT_CREATE advisory goes out and the archive (archive.py) is cut into `chunk_size` chunks
sent to the deliver subject, each with the reply `$JS.SNAPSHOT.ACK.<stream>.<id>.<len>.<n>`.
At most `window_size / chunk_size` chunks are unacknowledged; any message on the ack subject
frees one slot. The last, partial chunk has no reply subject; the end is an empty message with
status 204 (none when no full chunk went out), or 408 No Interest / 408 No Flow Response
(no ack for 5 s) / 500 <error> on failure, followed by SNAPSHOT_COMPLETE.

While a snapshot runs, the seed's rule holds: the stream's config cannot change and max_age
expires nothing (`in_progress()` is asked by stream updates and by the expiry timer).

May import: schemas, devserver.subjects, devserver.jetstream.*. asyncio only via server.loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from devserver import subjects as subj
from devserver.jetstream import advisories, archive, consumer_store
from devserver.jetstream.accounts import JS_CLIENT
from devserver.jetstream.api import ApiError, Request, Route
from devserver.jetstream.storage import Subjects, export_batch
from devserver.jetstream.streams import lookup
from devserver.jetstream.timefmt import format_time
from devserver.jetstream.timers import Timer, Timers
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.streams import Stream

log = logging.getLogger("devserver.jetstream")

SECOND = 1_000_000_000
DEFAULT_CHUNK = 128 * 1024
DEFAULT_WINDOW = 8 * 1024 * 1024
MIN_CHUNK, MAX_CHUNK = 1024, 1024 * 1024
MIN_WINDOW, MAX_WINDOW = 1024, 32 * 1024 * 1024
ACK_TIMEOUT = 5 * SECOND  # no ack for this long after the last chunk: 408 No Flow Response
INTEREST_WAIT = 2 * SECOND  # how long the deliver subject may stay without a subscriber at start
WATCH = SECOND // 10  # how often a waiting snapshot looks for its receiver
BATCH = 1024 * 1024  # archive bytes framed at once (a restore takes each batch whole)
STATUS_OK = b"NATS/1.0 204\r\n\r\n"
NO_INTEREST = b"NATS/1.0 408 No Interest\r\n\r\n"
NO_FLOW = b"NATS/1.0 408 No Flow Response\r\n\r\n"

_RUNNING: dict[Stream, int] = {}


def in_progress(stream: Stream) -> bool:
    """Is a snapshot of this stream being sent? (Its config is frozen and nothing expires.)"""
    return stream in _RUNNING


def stream_snapshot(req: Request) -> dict[str, Any]:
    """The SNAPSHOT endpoint: checks in nats-server's order, then the reply; data follows."""
    if req.is_empty():
        raise ApiError("JSBadRequestErr")
    stream = lookup(req.jsa, req.tokens[-1])
    body = req.json()
    if not subj.is_valid_publish(body.get("deliver_subject", "")):
        raise ApiError("JSSnapshotDeliverSubjectInvalidErr")
    client = advisories.client_info(req.jsa, req.reply)
    snap = Snapshot(stream, body, client)
    loop = req.jsa.server.loop
    if loop is not None:
        loop.call_soon(snap.begin)
    else:
        snap.begin()
    return {"config": stream.config, "state": snap.state}


def archive_bytes(stream: Stream, include_consumers: bool) -> tuple[dict[str, Any], Iterator[bytes]]:
    """The stream's state now, and its archive as S2-framed pieces (read as they are asked for)."""
    state = stream.state()
    consumers = []
    if include_consumers:
        for consumer in stream.consumers.values():
            consumers.append(
                {
                    "name": consumer.name,
                    "created": consumer.created,
                    "config": consumer.config,
                    "state": consumer_store.encode_state(consumer),
                }
            )
    head_state = dict(state, consumer_count=len(consumers))
    store = stream.store
    last_seq, last_ts = store.last_seq, store.last_ts
    opening = archive.header(stream.config, format_time(stream.created), head_state, consumers)

    def pieces() -> Iterator[bytes]:
        yield archive.STREAM_ID + archive.frame(opening)
        seq, sent = store.first_seq or 1, Subjects()
        while seq <= last_seq:
            batch, seq = export_batch(store, seq, last_seq, BATCH, sent)
            if batch.seqs:
                yield archive.frame(archive.batch(batch))
        yield archive.frame(archive.end(last_seq, last_ts))

    return state, pieces()


class Snapshot:
    """One snapshot on its way to a deliver subject."""

    def __init__(self, stream: Stream, body: dict[str, Any], client: dict[str, Any]) -> None:
        self.stream = stream
        self.jsa = stream.jsa
        self.server = stream.server
        self.timers = Timers.of(self.server)
        self.client = client
        self.deliver = body["deliver_subject"]
        self.deliver_bytes = self.deliver.encode()
        chunk = body.get("chunk_size", 0) or DEFAULT_CHUNK
        window = body.get("window_size", 0) or DEFAULT_WINDOW
        self.chunk = min(max(MIN_CHUNK, chunk), MAX_CHUNK)
        window = max(min(max(MIN_WINDOW, window), MAX_WINDOW), self.chunk)
        self.slots = window // self.chunk
        self.id = advisories.event_id()
        self.ack_prefix = subjects.snapshot_ack(stream.name, self.id, 0, 0).rsplit(".", 2)[0]
        self.state, self._pieces = archive_bytes(stream, not body.get("no_consumers"))
        self._buf = bytearray()
        self._exhausted = False
        self.index = 1
        self.start = self.server.clock.now_ns()
        self.last_sent = self.start
        self.deadline = self.start + INTEREST_WAIT
        self.waiting_for_interest = True
        self.finished = False
        self._timer: Timer | None = None
        self._ack_sub = None
        _RUNNING[stream] = _RUNNING.get(stream, 0) + 1

    # -- flow

    def begin(self) -> None:
        advisories.snapshot_create(self.jsa, self.stream.name, self.state, self.client)
        pattern = self.ack_prefix + ".>"
        self._ack_sub = self.server.subscribe(self.jsa.account, pattern, self._on_ack)
        log.info("Starting snapshot for stream '%s > %s'", self.jsa.name, self.stream.name)
        self._watch()

    def _interested(self) -> bool:
        plain, queues = self.jsa.account.sublist.match(self.deliver_bytes)
        return bool(plain or queues)

    def _watch(self) -> None:
        """Start once the receiver is there; while waiting for acks, notice it leaving."""
        self._timer = None
        if self.finished:
            return
        now = self.server.clock.now_ns()
        if self.waiting_for_interest:
            if self._interested() or now >= self.deadline:
                self.waiting_for_interest = False
                self._pump()
                return
        elif not self._interested():
            self._finish(NO_INTEREST, "no interest")
            return
        elif now >= self.last_sent + ACK_TIMEOUT:
            self._finish(NO_FLOW, "no flow response")
            return
        self._timer = self.timers.after(WATCH, self._watch)

    def _on_ack(self, subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        if self.finished:
            return
        self.slots += 1
        if not self.waiting_for_interest:
            self._pump()

    def _pump(self) -> None:
        """Send chunks while the window has room."""
        route, account = self.server.route, self.jsa.account
        while self.slots > 0 and not self.finished:
            if not self._interested():
                self._finish(NO_INTEREST, "no interest")
                return
            try:
                chunk = self._next_chunk()
            except Exception as exc:  # a store that fails to read: nats-server's 500
                log.warning("Snapshot of stream '%s > %s' failed: %s", self.jsa.name, self.stream.name, exc)
                self._finish(b"NATS/1.0 500 %s\r\n\r\n" % str(exc).encode(), str(exc))
                return
            self.slots -= 1
            if len(chunk) < self.chunk:
                if chunk:
                    route(JS_CLIENT, account, self.deliver_bytes, None, -1, chunk)
                self._finish(STATUS_OK if self.index > 1 else None, "")
                return
            reply = f"{self.ack_prefix}.{len(chunk)}.{self.index}".encode()
            route(JS_CLIENT, account, self.deliver_bytes, reply, -1, chunk)
            self.index += 1
            self.last_sent = self.server.clock.now_ns()
        if not self.finished and self._timer is None:
            self._timer = self.timers.after(WATCH, self._watch)

    def _next_chunk(self) -> bytes:
        buf, size = self._buf, self.chunk
        while len(buf) < size and not self._exhausted:
            piece = next(self._pieces, None)
            if piece is None:
                self._exhausted = True
            else:
                buf += piece
        chunk = bytes(buf[:size])
        del buf[:size]
        return chunk

    def _finish(self, status: bytes | None, error: str) -> None:
        """The end marker, then SNAPSHOT_COMPLETE; the stream may change and expire again."""
        self.finished = True
        if status is None:
            self.jsa.send(self.deliver_bytes, b"")
        else:
            self.jsa.send(self.deliver_bytes, b"", status)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._ack_sub is not None:
            self.server.unsubscribe(self.jsa.account, self._ack_sub)
        count = _RUNNING.get(self.stream, 0) - 1
        if count > 0:
            _RUNNING[self.stream] = count
        else:
            _RUNNING.pop(self.stream, None)
        end = self.server.clock.now_ns()
        advisories.snapshot_complete(self.jsa, self.stream.name, self.start, end, self.client, error)
        if error:
            log.warning("Snapshot for stream '%s > %s' failed: %s", self.jsa.name, self.stream.name, error)
        else:
            log.info("Completed snapshot for stream '%s > %s'", self.jsa.name, self.stream.name)


HANDLERS = [Route(subjects.STREAM_SNAPSHOT, stream_snapshot)]
