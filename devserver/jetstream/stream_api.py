"""`$JS.API.STREAM.*` handlers: create, update, info, delete, purge, names, list, msg get/delete.

Owns the request-level rules of nats-server's jsStream*Request functions: which body each
endpoint reads, the order of its checks (the first failing one names the error), paging and the
exact response keys. Stream behaviour itself lives in streams.py, config rules in
stream_config.py. May import: schemas, devserver.subjects, devserver.jetstream.*.
"""

from __future__ import annotations

import base64
from typing import Any

from devserver import subjects as subj
from devserver.jetstream import snapshot, stream_config, stream_events
from devserver.jetstream.accounts import MEMORY
from devserver.jetstream.api import ApiError, Request, Route, paged
from devserver.jetstream.streams import Stream, create_stream, lookup
from devserver.jetstream.timefmt import format_time, parse_time
from schemas import subjects

NAMES_LIMIT = 1024
LIST_LIMIT = 256
SUBJECT_DETAILS_LIMIT = 100_000


def _stream_name(req: Request) -> str:
    return req.tokens[-1]


def _optional_json(req: Request) -> dict[str, Any]:
    """Endpoints with an optional body only decode it when it looks like JSON (`{` or `[`)."""
    if req.body.lstrip()[:1] in (b"{", b"["):
        return req.json()
    return {}


def _overlaps(jsa, subject_list: list[str], exclude: Stream | None = None) -> bool:
    for stream in jsa.streams.values():
        if stream is exclude:
            continue
        for mine in subject_list:
            for theirs in stream.config.get("subjects", []):
                if subj.collide(mine, theirs):
                    return True
    return False


# -- create / update / delete


def stream_create(req: Request) -> dict[str, Any]:
    name = _stream_name(req)
    raw = req.json()
    pedantic = bool(raw.pop("pedantic", False))
    stream_config.set_static_metadata(raw)
    if raw.get("name", "") != name:
        raise ApiError("JSStreamMismatchErr")
    if "/" in name or "\\" in name:
        raise ApiError("JSStreamNameContainsPathSeparatorsErr")
    if raw.get("sealed"):
        raise ApiError("JSStreamInvalidConfigF", err="stream configuration for create can not be sealed")
    if raw.get("mirror_direct") and not raw.get("mirror"):
        raise ApiError("JSStreamInvalidConfigF", err="stream has no mirror but does have mirror direct")
    jsa = req.jsa
    if 0 < jsa.limits.max_streams <= len(jsa.streams):
        raise ApiError("JSMaximumStreamsLimitErr")
    config = stream_config.check(raw, jsa, pedantic)
    if config["num_replicas"] > 1:
        raise ApiError("JSStreamReplicasNotSupportedErr")
    existing = jsa.streams.get(name)
    if existing is not None:
        if existing.config != config:
            raise ApiError("JSStreamNameExistErr")
        stream = existing
    else:
        jsa.check_reservation(config)
        if _overlaps(jsa, config.get("subjects", [])):
            raise ApiError("JSStreamSubjectOverlapErr")
        stream = create_stream(jsa, config)
        stream_events.stream_action(jsa, name, "create")
    return {**stream.info(), "did_create": True}


def stream_update(req: Request) -> dict[str, Any]:
    raw = req.json()
    pedantic = bool(raw.pop("pedantic", False))
    jsa = req.jsa
    checked = stream_config.check(dict(raw), jsa, pedantic)
    if checked["name"] != _stream_name(req):
        raise ApiError("JSStreamMismatchErr")
    stream = lookup(jsa, checked["name"])
    if snapshot.in_progress(stream):  # the seed: a stream's config cannot change during a backup
        raise ApiError("JSStreamUpdateErrF", err="stream configuration can not change during a snapshot")
    stream_config.set_static_metadata(raw)
    config = stream_config.check_update(stream.config, raw, jsa, pedantic)
    jsa.check_reservation(config, current=stream)
    if _overlaps(jsa, config.get("subjects", []), exclude=stream):
        raise ApiError("JSStreamSubjectOverlapErr")
    stream_config.check_updated_republish(config)
    stream.update(config)
    stream_events.stream_action(jsa, stream.name, "modify")
    return stream.info()


def stream_delete(req: Request) -> dict[str, Any]:
    jsa = req.jsa
    stream = lookup(jsa, _stream_name(req))
    del jsa.streams[stream.name]
    stream.delete()
    stream_events.stream_action(jsa, stream.name, "delete")
    return {"success": True}


# -- info, names, list


def stream_info(req: Request) -> dict[str, Any]:
    body = _optional_json(req)
    offset = max(body.get("offset", 0), 0)
    stream = lookup(req.jsa, _stream_name(req))
    page = {"total": 0, "offset": 0, "limit": 0}
    details = None
    subjects_filter = body.get("subjects_filter")
    if subjects_filter:
        totals = stream.store.subjects(subjects_filter)
        if totals:
            names = sorted(totals)
            chosen, offset = paged(names, offset, SUBJECT_DETAILS_LIMIT)
            page = {"total": len(names), "offset": offset, "limit": SUBJECT_DETAILS_LIMIT}
            details = {name: totals[name] for name in chosen} or None
    info = stream.info(cluster=True, details=bool(body.get("deleted_details")), subjects=details)
    return {**page, **info}


def _filtered(req: Request) -> tuple[list[Stream], int]:
    body = _optional_json(req)
    offset = max(body.get("offset", 0), 0)
    wanted = body.get("subject") or None
    streams = sorted(req.jsa.streams.values(), key=lambda s: s.name)
    if wanted:
        streams = [
            s for s in streams if any(subj.collide(wanted, x) for x in s.config.get("subjects") or [s.name])
        ]
    return streams, offset


def stream_names(req: Request) -> dict[str, Any]:
    streams, offset = _filtered(req)
    page, offset = paged([s.name for s in streams], offset, NAMES_LIMIT)
    return {"total": len(streams), "offset": offset, "limit": NAMES_LIMIT, "streams": page or None}


def stream_list(req: Request) -> dict[str, Any]:
    streams, offset = _filtered(req)
    page, offset = paged(streams, offset, LIST_LIMIT)
    return {
        "total": len(streams),
        "offset": offset,
        "limit": LIST_LIMIT,
        "streams": [s.info(dynamic=False) for s in page],
    }


# -- purge and messages


def stream_purge(req: Request) -> dict[str, Any]:
    body = _optional_json(req)
    seq, keep = body.get("seq", 0), body.get("keep", 0)
    if seq > 0 and keep > 0:
        raise ApiError("JSBadRequestErr")
    stream = lookup(req.jsa, _stream_name(req))
    if stream.config["sealed"]:
        raise ApiError("JSStreamSealedErr")
    if stream.config["deny_purge"]:
        raise ApiError("JSStreamPurgeFailedF", err="stream purge not permitted")
    purged = stream.purge(body.get("filter") or None, seq, keep)
    return {"success": True, "purged": purged}


def _required_json(req: Request) -> dict[str, Any]:
    if req.is_empty():
        raise ApiError("JSBadRequestErr")
    return req.json()


def select_message(stream: Stream, body: dict[str, Any]):
    """The message a MsgGet request names (seq / last_by_subj / next_by_subj / start_time)."""
    store = stream.store
    seq = body.get("seq", 0)
    start_time = body.get("start_time")
    if start_time:
        seq = store.seq_for_time(parse_time(start_time))
        if seq > store.last_seq:
            return None
    next_by = body.get("next_by_subj")
    if next_by:
        return store.load_next(seq, next_by)
    if seq > 0:
        return store.load(seq)
    return store.load_last(body.get("last_by_subj"))


def _bad_selection(body: dict[str, Any]) -> bool:
    """nats-server's invalid MsgGet combinations."""
    seq, last, nxt, start = (
        body.get("seq", 0),
        body.get("last_by_subj"),
        body.get("next_by_subj"),
        body.get("start_time"),
    )
    return bool(
        (seq > 0 and last)
        or (seq == 0 and not last and not nxt and not start)
        or (seq > 0 and start)
        or (start and last)
        or (last and nxt)
    )


def stream_msg_get(req: Request) -> dict[str, Any]:
    body = _required_json(req)
    if body.get("batch", 0) > 0 or body.get("max_bytes", 0) > 0 or _bad_selection(body):
        raise ApiError("JSBadRequestErr")
    stream = lookup(req.jsa, req.tokens[-1])
    msg = select_message(stream, body)
    if msg is None:
        raise ApiError("JSNoMessageFoundErr")
    out: dict[str, Any] = {"subject": msg.subject, "seq": msg.seq}
    if msg.headers and not body.get("no_hdr"):
        out["hdrs"] = base64.b64encode(msg.headers).decode()
    if msg.data:
        out["data"] = base64.b64encode(msg.data).decode()
    out["time"] = format_time(msg.ts)
    return {"message": out}


def stream_msg_delete(req: Request) -> dict[str, Any]:
    body = _required_json(req)
    stream = lookup(req.jsa, req.tokens[-1])
    if stream.config["sealed"]:
        raise ApiError("JSStreamSealedErr")
    if stream.config["deny_delete"]:
        raise ApiError("JSStreamMsgDeleteFailedF", err="message delete not permitted")
    seq = body.get("seq", 0)
    store = stream.store
    if stream.storage != MEMORY and not store.load(seq):
        # the file store names out-of-range sequences (answered as a normal response, uncounted)
        if seq > store.last_seq:
            raise ApiError("JSStreamMsgDeleteFailedF", counted=False, err="stream store EOF")
        if seq < store.first_seq:
            raise ApiError("JSStreamMsgDeleteFailedF", counted=False, err="no message found")
    if not stream.remove_msg(seq, erase=not body.get("no_erase")):
        raise ApiError("JSSequenceNotFoundErrF", counted=False, seq=seq)
    return {"success": True}


_PAGED = (("total", 0), ("offset", 0), ("limit", 0))

HANDLERS = [
    Route(subjects.STREAM_CREATE, stream_create),
    Route(subjects.STREAM_UPDATE, stream_update),
    Route(subjects.STREAM_INFO, stream_info, _PAGED),
    Route(subjects.STREAM_DELETE, stream_delete),
    Route(subjects.STREAM_PURGE, stream_purge, (("purged", 0),)),
    Route(subjects.STREAM_NAMES, stream_names, (*_PAGED, ("streams", None))),
    Route(subjects.STREAM_LIST, stream_list, (*_PAGED, ("streams", []))),
    Route(subjects.STREAM_MSG_GET, stream_msg_get, counted=False),
    Route(subjects.STREAM_MSG_DELETE, stream_msg_delete),
]
