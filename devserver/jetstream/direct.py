"""DIRECT.GET: a stream with `allow_direct` answers message reads itself, with raw messages.

Owns the direct-get subscriptions of a stream (`$JS.API.DIRECT.GET.<stream>` with a MsgGet JSON
body, and `$JS.API.DIRECT.GET.<stream>.<subject>` for the last message on a subject), in the
queue group `_sys_` as nats-server subscribes them. The reply is the stored message: its headers
plus Nats-Stream, Nats-Subject, Nats-Sequence and Nats-Time-Stamp; a batch adds Nats-Num-Pending
and Nats-Last-Sequence and ends with a `204 EOB` status; misses are `404 Message Not Found`;
bad requests `408` (stream.go getDirectRequest). These subjects are not in the API table:
without `allow_direct` nobody answers, as with nats-server.
May import: schemas, devserver.protocol, devserver.jetstream.*.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from devserver.jetstream.accounts import JS_CLIENT
from devserver.jetstream.timefmt import format_time
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.storage import StoredMsg as Msg
    from devserver.jetstream.streams import Stream

QUEUE = "_sys_"

EMPTY_REQUEST = b"NATS/1.0 408 Empty Request\r\n\r\n"
MALFORMED_REQUEST = b"NATS/1.0 408 Malformed Request\r\n\r\n"
BAD_REQUEST = b"NATS/1.0 408 Bad Request\r\n\r\n"
NOT_FOUND = b"NATS/1.0 404 Message Not Found\r\n\r\n"


def subscribe_direct(stream: Stream) -> list:
    """The stream's two DIRECT.GET subscriptions."""
    server, account = stream.server, stream.jsa.account

    def by_request(subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        if reply:
            body = payload[hdr:] if hdr >= 0 else payload
            _answer(stream, reply, _parse_request(body))

    def by_subject(subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        if reply:
            body = payload[hdr:] if hdr >= 0 else payload
            _answer(stream, reply, _parse_last_by_subject(subject.decode(), body))

    return [
        server.subscribe(account, subjects.direct_get(stream.name), by_request, queue=QUEUE),
        server.subscribe(
            account, subjects.DIRECT_GET_LAST.replace("*", stream.name, 1), by_subject, queue=QUEUE
        ),
    ]


def _decode(body: bytes) -> dict[str, Any] | bytes:
    try:
        doc = json.loads(body)
    except ValueError:
        return MALFORMED_REQUEST
    return doc if isinstance(doc, dict) else MALFORMED_REQUEST


def _parse_request(body: bytes) -> dict[str, Any] | bytes:
    """A MsgGet request, or the status to answer with."""
    if not body:
        return EMPTY_REQUEST
    req = _decode(body)
    if isinstance(req, bytes):
        return req
    seq, last, nxt = req.get("seq", 0), req.get("last_by_subj"), req.get("next_by_subj")
    start, multi, batch = req.get("start_time"), req.get("multi_last"), req.get("batch", 0)
    if not seq and not last and not nxt and not multi and not start:
        return EMPTY_REQUEST
    if (
        (seq and last)
        or (seq and start)
        or (start and last)
        or (last and nxt)
        or (last and batch)
        or (last and multi)
        or (nxt and multi)
        or (req.get("up_to_seq") and req.get("up_to_time"))
    ):
        return BAD_REQUEST
    return req


def _parse_last_by_subject(subject: str, body: bytes) -> dict[str, Any] | bytes:
    key = subject.split(".", 5)[5] if subject.count(".") >= 5 else ""
    req: dict[str, Any] = {}
    if body:
        decoded = _decode(body)
        if isinstance(decoded, bytes):
            return decoded
        req = decoded
    if not key:
        return BAD_REQUEST
    keys = (
        "last_by_subj",
        "next_by_subj",
        "multi_last",
        "seq",
        "batch",
        "start_time",
        "up_to_seq",
        "up_to_time",
    )
    if any(req.get(k) for k in keys):
        return BAD_REQUEST
    req["last_by_subj"] = key
    return req


def _send(stream: Stream, reply: bytes, header: bytes | None, payload: bytes = b"") -> None:
    if header is None:
        stream.server.route(JS_CLIENT, stream.jsa.account, reply, None, -1, payload)
    else:
        stream.server.route(JS_CLIENT, stream.jsa.account, reply, None, len(header), header + payload)


def direct_headers(stream: Stream, msg: Msg, extra: str = "") -> bytes:
    """The stored headers plus the ones DIRECT.GET adds (genHeader appends before the blank line)."""
    added = (
        f"Nats-Stream: {stream.name}\r\nNats-Subject: {msg.subject}\r\n"
        f"Nats-Sequence: {msg.seq}\r\nNats-Time-Stamp: {format_time(msg.ts)}\r\n{extra}"
    ).encode()
    base = msg.headers[:-2] if msg.headers else b"NATS/1.0\r\n"
    return base + added + b"\r\n"


def _answer(stream: Stream, reply: bytes, req: dict[str, Any] | bytes) -> None:
    if isinstance(req, bytes):
        _send(stream, reply, req)
        return
    if req.get("multi_last"):
        _answer_multi(stream, reply, req)
        return
    store = stream.store
    seq = req.get("seq", 0)
    if req.get("start_time"):
        from devserver.jetstream.stream_api import select_message  # noqa: PLC0415 - shared rule

        first = select_message(stream, {"start_time": req["start_time"]})
        seq = first.seq if first is not None else store.last_seq + 1
    nxt = req.get("next_by_subj")
    batch = req.get("batch", 0)
    no_hdr = req.get("no_hdr", False)
    max_bytes = req.get("max_bytes", 0) or stream.server.options.max_pending
    if not batch:
        if nxt:
            msg = store.load_next(seq, nxt)
        elif seq:
            msg = store.load(seq)
        else:
            msg = store.load_last(req.get("last_by_subj"))
        if msg is None:
            _send(stream, reply, NOT_FOUND)
        else:
            _send(stream, reply, None if no_hdr else direct_headers(stream, msg), msg.data)
        return
    pending = store.num_pending(seq, nxt)
    last = sent_bytes = 0
    for i in range(batch):
        msg = store.load_next(seq, nxt)
        if msg is None:
            if i == 0:
                _send(stream, reply, NOT_FOUND)
                return
            break
        seq = msg.seq + 1
        pending = max(pending - 1, 0)
        extra = f"Nats-Num-Pending: {pending}\r\nNats-Last-Sequence: {last}\r\n"
        _send(stream, reply, None if no_hdr else direct_headers(stream, msg, extra), msg.data)
        last = msg.seq
        sent_bytes += len(msg.subject) + len(msg.headers or b"") + len(msg.data)
        if sent_bytes >= max_bytes:
            break
    _send(
        stream,
        reply,
        f"NATS/1.0 204 EOB\r\nNats-Num-Pending: {pending}\r\nNats-Last-Sequence: {last}\r\n\r\n".encode(),
    )


def _answer_multi(stream: Stream, reply: bytes, req: dict[str, Any]) -> None:
    """The last message of each subject matching any of `multi_last` (up to up_to_seq)."""
    store = stream.store
    up_to = req.get("up_to_seq") or store.last_seq
    found: dict[str, Msg] = {}
    for pattern in req["multi_last"]:
        for subject in store.subjects(pattern):
            msg = store.load_last(subject)
            if msg is not None and msg.seq > up_to:
                msg = _last_at_or_below(store, subject, up_to)
            if msg is not None and msg.seq >= req.get("seq", 0):
                found[subject] = msg
    if len(found) > 1024:
        _send(stream, reply, b"NATS/1.0 413 Too Many Results\r\n\r\n")
        return
    if not found:
        _send(stream, reply, b"NATS/1.0 404 No Results\r\n\r\n")
        return
    ordered = sorted(found.values(), key=lambda m: m.seq)
    batch = req.get("batch", 0) or len(ordered)
    last = 0
    pending = len(ordered)
    for msg in ordered[:batch]:
        pending -= 1
        extra = f"Nats-Num-Pending: {pending}\r\nNats-Last-Sequence: {last}\r\n"
        _send(stream, reply, direct_headers(stream, msg, extra), msg.data)
        last = msg.seq
    eob = f"NATS/1.0 204 EOB\r\nNats-Num-Pending: {pending}\r\nNats-Last-Sequence: {last}\r\n"
    _send(stream, reply, (eob + f"Nats-UpTo-Sequence: {up_to}\r\n\r\n").encode())


def _last_at_or_below(store, subject: str, up_to: int) -> Msg | None:
    for seq in range(up_to, store.first_seq - 1, -1):
        msg = store.load(seq)
        if msg is not None and msg.subject == subject:
            return msg
    return None
