"""`$JS.API.CONSUMER.*` handlers and the consumer lifecycle: create, update, info, delete, list.

Owns the request-level rules of nats-server's jsConsumer*Request functions and of
addConsumerWithAssignment: the three create subject forms and how they name the consumer, the
order of the checks (the first failing one names the error), max_consumers, the workqueue rules,
create-or-update with `action`, and paging. Durable consumers of file streams are written to
disk and recovered with their stream. (Pull requests go to each consumer's own subscription.)

May import: schemas, devserver.jetstream.*.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from devserver.jetstream import advisories, consumer_config, consumer_store, pause
from devserver.jetstream.api import ApiError, Request, Route, paged
from devserver.jetstream.consumers import Consumer
from devserver.jetstream.streams import Stream, lookup
from devserver.jetstream.timefmt import normalize_time
from schemas import subjects

NAMES_LIMIT = 1024
LIST_LIMIT = 256
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PAGED = (("total", 0), ("offset", 0), ("limit", 0), ("consumers", []))


def new_name() -> str:
    """An 8-character base62 name from a hash of random bytes (createConsumerName)."""
    digest = hashlib.sha256(secrets.token_bytes(16)).digest()
    return "".join(_BASE62[b % 62] for b in digest[:8])


# -- create


def consumer_create(req: Request) -> dict[str, Any]:
    """All three create forms: `CREATE.<s>`, `CREATE.<s>.<c>[.<filter>]`, `DURABLE.CREATE.<s>.<c>`."""
    body = req.json()
    tokens = req.tokens
    config: dict[str, Any] = dict(body.get("config") or {})
    filtered = ""
    if tokens[3] == "DURABLE":
        kind, stream_name, name = "durable", tokens[5], tokens[6]
    elif len(tokens) == 5:
        kind, stream_name, name = "ephemeral", tokens[4], config.get("name", "")
    else:
        kind, stream_name, name = "named", tokens[4], tokens[5]
        filtered = ".".join(tokens[6:])
    if body.get("stream_name", "") != stream_name:
        raise ApiError("JSStreamMismatchErr")
    if name and ("/" in name or "\\" in name):
        raise ApiError("JSConsumerNameContainsPathSeparatorsErr")
    durable = config.get("durable_name", "")
    if kind == "durable":
        if not durable:
            raise ApiError("JSConsumerDurableNameNotSetErr")
        if durable != name:
            raise ApiError("JSConsumerDurableNameNotMatchSubjectErr")
        config["name"] = name
    elif kind == "named":
        if durable and durable != name:
            raise ApiError("JSConsumerDurableNameNotMatchSubjectErr")
        config["name"] = name
    elif durable:
        raise ApiError("JSConsumerEphemeralWithDurableNameErr")
    if filtered and config.get("filter_subjects"):
        raise ApiError("JSConsumerMultipleFiltersNotAllowed")
    if filtered and config.get("filter_subject", "") != filtered:
        raise ApiError("JSConsumerCreateFilterSubjectMismatchErr")
    if config.get("num_replicas", 0) > 1:
        raise ApiError("JSStreamReplicasNotSupportedErr")
    stream = lookup(req.jsa, stream_name)
    if config.get("opt_start_time") is not None:
        config["opt_start_time"] = normalize_time(config["opt_start_time"])
    consumer, info = add_consumer(stream, config, body.get("action", ""), bool(body.get("pedantic")))
    return info if info is not None else consumer.info(dynamic=True)


def _limits(stream: Stream) -> dict[str, int]:
    jsa = stream.jsa
    return {
        "max_ack_pending": max(jsa.limits.max_ack_pending, 0),
        "server_max_ack_pending": getattr(jsa.server.options, "max_ack_pending", 0) or 0,
        "max_request_batch": getattr(jsa.server.options, "max_request_batch", 0) or 0,
    }


def add_consumer(
    stream: Stream, config: dict[str, Any], action: str = "", pedantic: bool = False
) -> tuple[Consumer, dict[str, Any] | None]:
    """addConsumerWithAction: create, or update an existing consumer of the same name.

    Returns the consumer and, for a new one, its info as it was before the first delivery.
    """
    limits = _limits(stream)
    consumer_config.apply_defaults(config, stream.config, limits, pedantic)
    consumer_config.check(config, stream.config, limits)
    retention = stream.config.get("retention", "limits")
    name = config.get("durable_name") or config.get("name", "")
    existing = stream.consumers.get(name) if name else None
    pause.keep_pause(config, existing)
    consumer_config.set_static_metadata(config)
    if existing is not None:
        if action == "create" and not consumer_config.equal_for_create(config, existing.config):
            raise ApiError("JSConsumerAlreadyExists")
        filters = consumer_config.filters_of(config)
        if retention == "workqueue" and not _partition_unique(stream, name, filters):
            raise ApiError("JSConsumerWQConsumerNotUniqueErr")
        update_consumer(existing, config)
        pause.announce_later(existing)
        return existing, None
    if action == "update":
        raise ApiError("JSConsumerDoesNotExist")
    maxc = stream.config.get("max_consumers", -1)
    account_max = stream.jsa.limits.max_consumers
    if maxc <= 0 or 0 < account_max < maxc:
        maxc = account_max
    if maxc > 0 and len(_limitable(stream)) >= maxc:
        raise ApiError("JSMaximumConsumersLimitErr")
    if retention == "workqueue" and not config.get("direct") and not config.get("sourcing"):
        _check_workqueue(stream, name, config)
    if not name:
        name = new_name()
        while name in stream.consumers:
            name = new_name()
    if not consumer_config.is_durable(config) and config.get("inactive_threshold", 0) <= 0:
        config["inactive_threshold"] = consumer_config.DELETE_WAIT_DEFAULT
    consumer = Consumer(stream, name, config, stream.server.clock.now_ns())
    consumer.select_start()
    _attach_store(stream, consumer)
    stream.consumers[name] = consumer
    info = consumer.info(dynamic=True)
    consumer.start()
    advisories.consumer_action(consumer, "create")
    pause.announce_later(consumer)
    return consumer, info


def _check_workqueue(stream: Stream, name: str, config: dict[str, Any]) -> None:
    if config.get("ack_policy", "none") not in ("explicit", "flow_control"):
        raise ApiError("JSConsumerWQRequiresExplicitAckErr")
    if config.get("deliver_policy", "all") != "all":
        raise ApiError("JSConsumerWQConsumerNotDeliverAllErr")
    if _limitable(stream):
        filters = consumer_config.filters_of(config)
        if not filters:
            raise ApiError("JSConsumerWQMultipleUnfilteredErr")
        if not _partition_unique(stream, name, filters):
            raise ApiError("JSConsumerWQConsumerNotUniqueErr")


def _limitable(stream: Stream) -> list[Consumer]:
    """The consumers max_consumers and the workqueue rules count: not those of mirrors and
    sources (numLimitableConsumers)."""
    return [c for c in stream.consumers.values() if not c.config.get("sourcing")]


def _partition_unique(stream: Stream, name: str, filters: list[str]) -> bool:
    from devserver import subjects as subj  # noqa: PLC0415

    for partition in filters:
        for other in _limitable(stream):
            if other.name == name:
                continue
            if not other.filters:
                return False
            if any(subj.collide(partition, f) for f in other.filters):
                return False
    return True


def update_consumer(consumer: Consumer, config: dict[str, Any]) -> None:
    """Apply a new config to an existing consumer (updateConfig); 10012 for immutable fields."""
    old = consumer.config
    if not consumer.durable and config.get("inactive_threshold", 0) <= 0:
        config["inactive_threshold"] = consumer_config.DELETE_WAIT_DEFAULT
    deliver = old.get("deliver_subject", "")
    interest = bool(deliver) and consumer.mode.has_interest()
    consumer_config.check_update(old, config, interest)
    pause.utc_pause(config)
    consumer.update(config)
    if consumer.store is not None:
        consumer.store.write_meta()


# -- persistence


def _stream_dir(stream: Stream) -> Path | None:
    return getattr(stream, "directory", None)


def _attach_store(stream: Stream, consumer: Consumer) -> None:
    """Durable consumers of file streams keep their state on disk."""
    directory = _stream_dir(stream)
    if directory is None or not consumer.durable or consumer.config.get("mem_storage"):
        return
    sync = stream.server.options.sync_interval == "always"
    path = consumer_store.consumers_dir(directory) / consumer.name
    consumer.store = consumer_store.ConsumerStore(consumer, path, sync)
    consumer.store.write_meta()
    consumer.store.sync()


def recover_consumers(stream: Stream) -> None:
    """Bring back the durable consumers of a recovered file stream."""
    directory = _stream_dir(stream)
    if directory is None:
        return
    folder = consumer_store.consumers_dir(directory)
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        loaded = consumer_store.load(path)
        if loaded is None:
            continue
        meta, state = loaded
        consumer = Consumer(stream, meta["name"], meta["config"], meta["created"])
        if state is None:
            consumer.select_start()
        else:
            consumer_store.apply_state(consumer, state)
            consumer.recount()
        sync = stream.server.options.sync_interval == "always"
        consumer.store = consumer_store.ConsumerStore(consumer, path, sync)
        stream.consumers[consumer.name] = consumer
        consumer.start()


# -- info, delete, names, list


def _lookup(req: Request) -> tuple[Stream, Consumer]:
    stream = lookup(req.jsa, req.tokens[4])
    consumer = stream.consumers.get(req.tokens[5])
    if consumer is None:
        raise ApiError("JSConsumerNotFoundErr")
    return stream, consumer


def consumer_info(req: Request) -> dict[str, Any]:
    return _lookup(req)[1].info(dynamic=True)


def consumer_delete(req: Request) -> dict[str, Any]:
    _lookup(req)[1].delete()
    return {"success": True}


def _offset(req: Request) -> int:
    if req.body.lstrip()[:1] in (b"{", b"["):
        return max(int(req.json().get("offset") or 0), 0)
    return 0


def consumer_names(req: Request) -> dict[str, Any]:
    offset = _offset(req)
    stream = lookup(req.jsa, req.tokens[4])
    names = sorted(stream.consumers)
    page, offset = paged(names, offset, NAMES_LIMIT)
    return {"total": len(names), "offset": offset, "limit": NAMES_LIMIT, "consumers": page}


def consumer_list(req: Request) -> dict[str, Any]:
    offset = _offset(req)
    stream = lookup(req.jsa, req.tokens[4])
    names = sorted(stream.consumers)
    page, offset = paged(names, offset, LIST_LIMIT)
    infos = [stream.consumers[name].info() for name in page]
    return {"total": len(names), "offset": offset, "limit": LIST_LIMIT, "consumers": infos}


HANDLERS = [
    Route(subjects.CONSUMER_DURABLE_CREATE, consumer_create),
    Route(subjects.CONSUMER_CREATE, consumer_create),
    Route(subjects.CONSUMER_CREATE_NAMED, consumer_create),
    Route(subjects.CONSUMER_INFO, consumer_info),
    Route(subjects.CONSUMER_DELETE, consumer_delete),
    Route(subjects.CONSUMER_NAMES, consumer_names, _PAGED),
    Route(subjects.CONSUMER_LIST, consumer_list, _PAGED),
]
