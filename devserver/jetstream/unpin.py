"""CONSUMER.UNPIN (priority groups, 2.11): the request and its `consumer_group_unpinned` advisory.

Owns nats-server's jsConsumerUnpinRequest: the body is decoded leniently (unknown keys pass) and
must name a valid group of the consumer's `priority_groups`; success is an empty response, the
pinned client (if any) let go and an advisory with reason "admin" (sent even when no client is
pinned); waiting requests get their chance after the response. Pinning itself is in
priority_groups, config checks in consumer_config.

May import: schemas, devserver.jetstream.*.
"""

from __future__ import annotations

import json
from typing import Any

from devserver.jetstream.api import ApiError, Request, Route
from devserver.jetstream.consumer_config import GROUP_NAME
from devserver.jetstream.pull import unmarshal_syntax_error
from devserver.jetstream.streams import lookup
from schemas import subjects

_STRUCT = "JSApiConsumerUnpinRequest"
_KINDS = {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}


def requested_group(body: bytes) -> str:
    """The `group` of an UNPIN body, with json.Unmarshal's errors (10025)."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise ApiError("JSInvalidJSONErr", err=unmarshal_syntax_error(body.strip(), exc)) from None
    if doc is not None and not isinstance(doc, dict):
        kind = "string" if isinstance(doc, str) else _KINDS[type(doc)]
        raise ApiError(
            "JSInvalidJSONErr", err=f"json: cannot unmarshal {kind} into Go value of type server.{_STRUCT}"
        )
    group = (doc or {}).get("group")
    if group is not None and not isinstance(group, str):
        kind = _KINDS[type(group)]
        raise ApiError(
            "JSInvalidJSONErr",
            err=f"json: cannot unmarshal {kind} into Go struct field {_STRUCT}.group of type string",
        )
    if not group:
        raise ApiError("JSInvalidJSONErr", err="consumer group not specified")
    if not GROUP_NAME.match(group):
        raise ApiError("JSConsumerInvalidGroupNameErr")
    return group


def consumer_unpin(req: Request) -> dict[str, Any]:
    """CONSUMER.UNPIN.<s>.<c> `{group}`: let the group's pinned client go."""
    group = requested_group(req.body)
    stream = lookup(req.jsa, req.tokens[4])
    consumer = stream.consumers.get(req.tokens[5])
    if consumer is None:
        raise ApiError("JSConsumerNotFoundErr")
    if group not in (consumer.config.get("priority_groups") or ()):
        raise ApiError("JSConsumerInvalidPriorityGroupErr")
    consumer.pin.unpin(group, "admin")
    loop = consumer.server.loop
    if loop is None:
        consumer.kick()
    else:
        loop.call_soon(consumer.kick)
    return {}


HANDLERS = [Route(subjects.CONSUMER_UNPIN, consumer_unpin)]
