"""Every JetStream subject, defined once: API endpoints, ack/flow-control/snapshot replies, events.

Owns the subject strings of the JetStream wire contract. Each is a pattern constant (`*` = one
token, `>` = the rest) with a builder that fills it in, e.g. `STREAM_CREATE` and `stream_create()`.
API patterns are written with the default `$JS.API` prefix; builders take `prefix=` (see
`api_prefix(domain)`) for JetStream domains. `ENDPOINTS` maps each API pattern to its request and
response schema type names (see `schemas.load`), and `EVENTS` maps each advisory/metric pattern to
its schema. Standard library only; nothing else in the project spells `"$JS.API`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

API_PREFIX = "$JS.API"
ACK_PREFIX = "$JS.ACK"
FLOW_CONTROL_PREFIX = "$JS.FC"
ADVISORY_PREFIX = "$JS.EVENT.ADVISORY"
METRIC_PREFIX = "$JS.EVENT.METRIC"

Body = Literal["ignored", "empty", "optional", "required"]
"""What an endpoint does with its request body: ignores it; wants none (else 10038); parses it when
present; needs it (an empty body is an error)."""


@dataclass(frozen=True)
class Endpoint:
    """One `$JS.API` subject pattern and the schema type names of its JSON request and reply."""

    pattern: str
    request: str | None  # schema of the body; None when the body is not JSON-decoded
    response: str | None  # schema of the reply; None when the reply is messages, not JSON
    body: Body
    needs_cluster: bool = False  # a standalone nats-server answers 10010 (or nothing, if system_only)
    system_only: bool = False  # served only to the system account; other accounts get no reply
    legacy: bool = False  # removed from nats-server (2.14+ does not answer it)


ENDPOINTS: dict[str, Endpoint] = {}
EVENTS: dict[str, str] = {}


def _api(pattern: str, request: str | None, response: str | None, body: Body, **flags: bool) -> str:
    ENDPOINTS[pattern] = Endpoint(pattern, request, response, body, **flags)
    return pattern


def _event(pattern: str, schema_type: str) -> str:
    EVENTS[pattern] = schema_type
    return pattern


_ADVISORY = "io.nats.jetstream.advisory.v1."

# ---- JetStream API ---------------------------------------------------------------------------
INFO = _api("$JS.API.INFO", None, "account_info_response", "ignored")
STREAM_CREATE = _api("$JS.API.STREAM.CREATE.*", "stream_create_request", "stream_create_response", "required")
STREAM_UPDATE = _api("$JS.API.STREAM.UPDATE.*", "stream_update_request", "stream_update_response", "required")
STREAM_INFO = _api("$JS.API.STREAM.INFO.*", "stream_info_request", "stream_info_response", "optional")
STREAM_DELETE = _api("$JS.API.STREAM.DELETE.*", None, "stream_delete_response", "empty")
STREAM_PURGE = _api("$JS.API.STREAM.PURGE.*", "stream_purge_request", "stream_purge_response", "optional")
STREAM_NAMES = _api("$JS.API.STREAM.NAMES", "stream_names_request", "stream_names_response", "optional")
STREAM_LIST = _api("$JS.API.STREAM.LIST", "stream_list_request", "stream_list_response", "optional")
STREAM_MSG_GET = _api(
    "$JS.API.STREAM.MSG.GET.*", "stream_msg_get_request", "stream_msg_get_response", "required"
)
STREAM_MSG_DELETE = _api(
    "$JS.API.STREAM.MSG.DELETE.*", "stream_msg_delete_request", "stream_msg_delete_response", "required"
)
STREAM_SNAPSHOT = _api(
    "$JS.API.STREAM.SNAPSHOT.*", "stream_snapshot_request", "stream_snapshot_response", "required"
)
STREAM_RESTORE = _api(
    "$JS.API.STREAM.RESTORE.*", "stream_restore_request", "stream_restore_response", "required"
)
STREAM_PEER_REMOVE = _api(
    "$JS.API.STREAM.PEER.REMOVE.*", None, "stream_remove_peer_response", "required", needs_cluster=True
)
STREAM_PEER_EVACUATE = _api(
    "$JS.API.STREAM.PEER.EVACUATE.*", None, "stream_evacuate_peer_response", "optional", needs_cluster=True
)
STREAM_CANCEL_MOVE = _api(
    "$JS.API.STREAM.CANCEL_MOVE.*", None, "stream_cancel_move_response", "optional", needs_cluster=True
)
STREAM_LEADER_STEPDOWN = _api(
    "$JS.API.STREAM.LEADER.STEPDOWN.*",
    None,
    "stream_leader_stepdown_response",
    "optional",
    needs_cluster=True,
)
STREAM_TEMPLATE_CREATE = _api(
    "$JS.API.STREAM.TEMPLATE.CREATE.*",
    "stream_template_create_request",
    "stream_template_create_response",
    "required",
    legacy=True,
)
STREAM_TEMPLATE_INFO = _api(
    "$JS.API.STREAM.TEMPLATE.INFO.*", None, "stream_template_info_response", "empty", legacy=True
)
STREAM_TEMPLATE_DELETE = _api(
    "$JS.API.STREAM.TEMPLATE.DELETE.*", None, "stream_template_delete_response", "empty", legacy=True
)
STREAM_TEMPLATE_NAMES = _api(
    "$JS.API.STREAM.TEMPLATE.NAMES",
    "stream_template_names_request",
    "stream_template_names_response",
    "optional",
    legacy=True,
)
DIRECT_GET = _api("$JS.API.DIRECT.GET.*", "stream_msg_get_request", None, "required")
DIRECT_GET_LAST = _api("$JS.API.DIRECT.GET.*.>", "stream_msg_get_request", None, "optional")
CONSUMER_CREATE = _api(
    "$JS.API.CONSUMER.CREATE.*", "consumer_create_request", "consumer_create_response", "required"
)
CONSUMER_CREATE_NAMED = _api(
    "$JS.API.CONSUMER.CREATE.*.>", "consumer_create_request", "consumer_create_response", "required"
)
CONSUMER_DURABLE_CREATE = _api(
    "$JS.API.CONSUMER.DURABLE.CREATE.*.*", "consumer_create_request", "consumer_create_response", "required"
)
CONSUMER_INFO = _api("$JS.API.CONSUMER.INFO.*.*", None, "consumer_info_response", "empty")
CONSUMER_DELETE = _api("$JS.API.CONSUMER.DELETE.*.*", None, "consumer_delete_response", "empty")
CONSUMER_NAMES = _api(
    "$JS.API.CONSUMER.NAMES.*", "consumer_names_request", "consumer_names_response", "optional"
)
CONSUMER_LIST = _api("$JS.API.CONSUMER.LIST.*", "consumer_list_request", "consumer_list_response", "optional")
CONSUMER_MSG_NEXT = _api("$JS.API.CONSUMER.MSG.NEXT.*.*", "consumer_getnext_request", None, "optional")
CONSUMER_PAUSE = _api(
    "$JS.API.CONSUMER.PAUSE.*.*", "consumer_pause_request", "consumer_pause_response", "optional"
)
CONSUMER_UNPIN = _api(
    "$JS.API.CONSUMER.UNPIN.*.*", "consumer_unpin_request", "consumer_unpin_response", "required"
)
CONSUMER_RESET = _api(
    "$JS.API.CONSUMER.RESET.*.*", "consumer_reset_request", "consumer_reset_response", "optional"
)
CONSUMER_LEADER_STEPDOWN = _api(
    "$JS.API.CONSUMER.LEADER.STEPDOWN.*.*",
    None,
    "consumer_leader_stepdown_response",
    "optional",
    needs_cluster=True,
)
META_LEADER_STEPDOWN = _api(
    "$JS.API.META.LEADER.STEPDOWN",
    None,
    "meta_leader_stepdown_response",
    "optional",
    needs_cluster=True,
    system_only=True,
)
META_RESCUE = _api(
    "$JS.API.META.RESCUE", None, "meta_rescue_response", "required", needs_cluster=True, system_only=True
)
SERVER_REMOVE = _api(
    "$JS.API.SERVER.REMOVE",
    None,
    "meta_server_remove_response",
    "required",
    needs_cluster=True,
    system_only=True,
)
SERVER_EVACUATE = _api(
    "$JS.API.SERVER.EVACUATE",
    None,
    "meta_server_evacuate_response",
    "optional",
    needs_cluster=True,
    system_only=True,
)
ACCOUNT_PURGE = _api("$JS.API.ACCOUNT.PURGE.*", None, "account_purge_response", "empty", system_only=True)
ACCOUNT_STREAM_MOVE = _api(
    "$JS.API.ACCOUNT.STREAM.MOVE.*.*",
    None,
    "stream_update_response",
    "optional",
    needs_cluster=True,
    system_only=True,
)
ACCOUNT_STREAM_CANCEL_MOVE = _api(
    "$JS.API.ACCOUNT.STREAM.CANCEL_MOVE.*.*",
    None,
    "stream_update_response",
    "optional",
    needs_cluster=True,
    system_only=True,
)

# ---- replies and legacy aliases outside $JS.API ------------------------------------------------
NEXT_ALIAS = "$JS.NEXT.*.*"  # the seed's pull subject; nats-server today only serves CONSUMER.MSG.NEXT
ACK = "$JS.ACK.*.*.*.*.*.*.*"  # v1: stream, consumer, delivered, stream seq, consumer seq, ts ns, pending
FLOW_CONTROL = "$JS.FC.*.*.*"  # stream, consumer, random id
SNAPSHOT_ACK = "$JS.SNAPSHOT.ACK.*.*.*.*"  # stream, snapshot id, chunk length, chunk index
SNAPSHOT_RESTORE = "$JS.SNAPSHOT.RESTORE.*.*"  # stream, restore id

# ---- advisories and metrics ------------------------------------------------------------------
ADVISORY_API = _event("$JS.EVENT.ADVISORY.API", _ADVISORY + "api_audit")
ADVISORY_API_LIMIT_REACHED = _event("$JS.EVENT.ADVISORY.API.LIMIT_REACHED", _ADVISORY + "api_limit_reached")
ADVISORY_STREAM_CREATED = _event("$JS.EVENT.ADVISORY.STREAM.CREATED.*", _ADVISORY + "stream_action")
ADVISORY_STREAM_UPDATED = _event("$JS.EVENT.ADVISORY.STREAM.UPDATED.*", _ADVISORY + "stream_action")
ADVISORY_STREAM_DELETED = _event("$JS.EVENT.ADVISORY.STREAM.DELETED.*", _ADVISORY + "stream_action")
ADVISORY_SNAPSHOT_CREATE = _event(
    "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE.*", _ADVISORY + "snapshot_create"
)
ADVISORY_SNAPSHOT_COMPLETE = _event(
    "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.*", _ADVISORY + "snapshot_complete"
)
ADVISORY_RESTORE_CREATE = _event("$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE.*", _ADVISORY + "restore_create")
ADVISORY_RESTORE_COMPLETE = _event(
    "$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE.*", _ADVISORY + "restore_complete"
)
ADVISORY_STREAM_BATCH_ABANDONED = _event(
    "$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.*", _ADVISORY + "stream_batch_abandoned"
)
ADVISORY_CONSUMER_CREATED = _event("$JS.EVENT.ADVISORY.CONSUMER.CREATED.*.*", _ADVISORY + "consumer_action")
ADVISORY_CONSUMER_DELETED = _event("$JS.EVENT.ADVISORY.CONSUMER.DELETED.*.*", _ADVISORY + "consumer_action")
ADVISORY_CONSUMER_PAUSE = _event("$JS.EVENT.ADVISORY.CONSUMER.PAUSE.*.*", _ADVISORY + "consumer_pause")
ADVISORY_CONSUMER_PINNED = _event(
    "$JS.EVENT.ADVISORY.CONSUMER.PINNED.*.*", _ADVISORY + "consumer_group_pinned"
)
ADVISORY_CONSUMER_UNPINNED = _event(
    "$JS.EVENT.ADVISORY.CONSUMER.UNPINNED.*.*", _ADVISORY + "consumer_group_unpinned"
)
ADVISORY_MAX_DELIVERIES = _event("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.*.*", _ADVISORY + "max_deliver")
ADVISORY_MSG_NAKED = _event("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.*.*", _ADVISORY + "nak")
ADVISORY_MSG_TERMINATED = _event("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.*.*", _ADVISORY + "terminated")
METRIC_CONSUMER_ACK = _event("$JS.EVENT.METRIC.CONSUMER.ACK.*.*", "io.nats.jetstream.metric.v1.consumer_ack")


# ---- filling and matching ----------------------------------------------------------------------
def api_prefix(domain: str | None = None) -> str:
    """`$JS.API`, or `$JS.<domain>.API` for a JetStream domain."""
    return f"$JS.{_token(domain)}.API" if domain else API_PREFIX


def _token(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ".*> \t\r\n"):
        raise ValueError(f"not a single subject token: {text!r}")
    return text


def fill(pattern: str, *values: object, prefix: str = API_PREFIX) -> str:
    """Replace each `*` with a single token and a final `>` with the rest (one or more tokens)."""
    out, rest = [], list(values)
    for token in pattern.split("."):
        if token == ">":
            if not rest or not all(str(v) for v in rest):
                raise ValueError(f"{pattern}: '>' needs a non-empty subject")
            out.append(".".join(str(v) for v in rest))
            rest = []
        elif token == "*":
            if not rest:
                raise ValueError(f"{pattern}: too few tokens {values!r}")
            out.append(_token(rest.pop(0)))
        else:
            out.append(token)
    if rest:
        raise ValueError(f"{pattern}: too many tokens {values!r}")
    subject = ".".join(out)
    if prefix != API_PREFIX and subject.startswith(API_PREFIX + "."):
        subject = prefix + subject[len(API_PREFIX) :]
    return subject


def captures(pattern: str, subject: str) -> list[str] | None:
    """The tokens `pattern`'s wildcards match in `subject` (`>` gives the joined tail), or None."""
    want, got = pattern.split("."), subject.split(".")
    found = []
    for i, token in enumerate(want):
        if token == ">":
            return found + [".".join(got[i:])] if len(got) > i else None
        if i >= len(got) or (token != "*" and token != got[i]):
            return None
        if token == "*":
            found.append(got[i])
    return found if len(got) == len(want) else None


def endpoint_for(subject: str, prefix: str = API_PREFIX) -> Endpoint | None:
    """The API endpoint a concrete request subject addresses, or None."""
    if prefix != API_PREFIX and subject.startswith(prefix + "."):
        subject = API_PREFIX + subject[len(prefix) :]
    for pattern, endpoint in ENDPOINTS.items():
        if captures(pattern, subject) is not None:
            return endpoint
    return None


def event_type(subject: str) -> str | None:
    """The schema type name of the advisory or metric published on `subject`, or None."""
    for pattern, schema_type in EVENTS.items():
        if captures(pattern, subject) is not None:
            return schema_type
    return None


# ---- builders: JetStream API -----------------------------------------------------------------
def account_info(prefix: str = API_PREFIX) -> str:
    return fill(INFO, prefix=prefix)


def stream_create(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_CREATE, stream, prefix=prefix)


def stream_update(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_UPDATE, stream, prefix=prefix)


def stream_info(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_INFO, stream, prefix=prefix)


def stream_delete(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_DELETE, stream, prefix=prefix)


def stream_purge(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_PURGE, stream, prefix=prefix)


def stream_names(prefix: str = API_PREFIX) -> str:
    return fill(STREAM_NAMES, prefix=prefix)


def stream_list(prefix: str = API_PREFIX) -> str:
    return fill(STREAM_LIST, prefix=prefix)


def stream_msg_get(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_MSG_GET, stream, prefix=prefix)


def stream_msg_delete(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_MSG_DELETE, stream, prefix=prefix)


def stream_snapshot(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_SNAPSHOT, stream, prefix=prefix)


def stream_restore(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_RESTORE, stream, prefix=prefix)


def stream_peer_remove(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_PEER_REMOVE, stream, prefix=prefix)


def stream_peer_evacuate(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_PEER_EVACUATE, stream, prefix=prefix)


def stream_cancel_move(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_CANCEL_MOVE, stream, prefix=prefix)


def stream_leader_stepdown(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_LEADER_STEPDOWN, stream, prefix=prefix)


def stream_template_create(template: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_TEMPLATE_CREATE, template, prefix=prefix)


def stream_template_info(template: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_TEMPLATE_INFO, template, prefix=prefix)


def stream_template_delete(template: str, prefix: str = API_PREFIX) -> str:
    return fill(STREAM_TEMPLATE_DELETE, template, prefix=prefix)


def stream_template_names(prefix: str = API_PREFIX) -> str:
    return fill(STREAM_TEMPLATE_NAMES, prefix=prefix)


def direct_get(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(DIRECT_GET, stream, prefix=prefix)


def direct_get_last(stream: str, subject: str, prefix: str = API_PREFIX) -> str:
    return fill(DIRECT_GET_LAST, stream, subject, prefix=prefix)


def consumer_create(stream: str, prefix: str = API_PREFIX) -> str:
    """Legacy form: the server picks the name (or takes config.name)."""
    return fill(CONSUMER_CREATE, stream, prefix=prefix)


def consumer_create_named(
    stream: str, consumer: str, filter_subject: str | None = None, prefix: str = API_PREFIX
) -> str:
    """2.9+ form `CONSUMER.CREATE.<stream>.<consumer>[.<filter>]`."""
    tail = [_token(consumer)] + ([filter_subject] if filter_subject else [])
    return fill(CONSUMER_CREATE_NAMED, stream, *tail, prefix=prefix)


def consumer_durable_create(stream: str, durable: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_DURABLE_CREATE, stream, durable, prefix=prefix)


def consumer_info(stream: str, consumer: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_INFO, stream, consumer, prefix=prefix)


def consumer_delete(stream: str, consumer: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_DELETE, stream, consumer, prefix=prefix)


def consumer_names(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_NAMES, stream, prefix=prefix)


def consumer_list(stream: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_LIST, stream, prefix=prefix)


def consumer_msg_next(stream: str, consumer: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_MSG_NEXT, stream, consumer, prefix=prefix)


def consumer_pause(stream: str, consumer: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_PAUSE, stream, consumer, prefix=prefix)


def consumer_unpin(stream: str, consumer: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_UNPIN, stream, consumer, prefix=prefix)


def consumer_reset(stream: str, consumer: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_RESET, stream, consumer, prefix=prefix)


def consumer_leader_stepdown(stream: str, consumer: str, prefix: str = API_PREFIX) -> str:
    return fill(CONSUMER_LEADER_STEPDOWN, stream, consumer, prefix=prefix)


def meta_leader_stepdown(prefix: str = API_PREFIX) -> str:
    return fill(META_LEADER_STEPDOWN, prefix=prefix)


def meta_rescue(prefix: str = API_PREFIX) -> str:
    return fill(META_RESCUE, prefix=prefix)


def server_remove(prefix: str = API_PREFIX) -> str:
    return fill(SERVER_REMOVE, prefix=prefix)


def server_evacuate(prefix: str = API_PREFIX) -> str:
    return fill(SERVER_EVACUATE, prefix=prefix)


def account_purge(account: str, prefix: str = API_PREFIX) -> str:
    return fill(ACCOUNT_PURGE, account, prefix=prefix)


def account_stream_move(account: str, stream: str, prefix: str = API_PREFIX) -> str:
    return fill(ACCOUNT_STREAM_MOVE, account, stream, prefix=prefix)


def account_stream_cancel_move(account: str, stream: str, prefix: str = API_PREFIX) -> str:
    return fill(ACCOUNT_STREAM_CANCEL_MOVE, account, stream, prefix=prefix)


# ---- builders: replies and legacy aliases -------------------------------------------------------
def next_alias(stream: str, consumer: str) -> str:
    return fill(NEXT_ALIAS, stream, consumer)


def ack(
    stream: str,
    consumer: str,
    delivered: int,
    stream_seq: int,
    consumer_seq: int,
    timestamp_ns: int,
    pending: int,
) -> str:
    """The v1 reply subject of a delivered message."""
    return fill(ACK, stream, consumer, delivered, stream_seq, consumer_seq, timestamp_ns, pending)


def flow_control(stream: str, consumer: str, request_id: str) -> str:
    return fill(FLOW_CONTROL, stream, consumer, request_id)


def snapshot_ack(stream: str, snapshot_id: str, chunk_len: int, index: int) -> str:
    return fill(SNAPSHOT_ACK, stream, snapshot_id, chunk_len, index)


def snapshot_restore(stream: str, restore_id: str) -> str:
    return fill(SNAPSHOT_RESTORE, stream, restore_id)


@dataclass(frozen=True)
class AckInfo:
    """What a `$JS.ACK...` reply subject says about the message it acknowledges."""

    stream: str
    consumer: str
    delivered: int
    stream_seq: int
    consumer_seq: int
    timestamp_ns: int
    pending: int
    domain: str = ""
    account_hash: str = ""


def parse_ack(subject: str) -> AckInfo | None:
    """Read a v1 (9 tokens) or v2 (11 or more, `_` = no domain) ack subject; None for anything else."""
    tokens = subject.split(".")
    if tokens[:2] != ACK_PREFIX.split("."):
        return None
    if len(tokens) == 9:
        domain, acc, names, numbers = "", "", tokens[2:4], tokens[4:9]
    elif len(tokens) >= 11:
        domain, acc = ("" if tokens[2] == "_" else tokens[2]), tokens[3]
        names, numbers = tokens[4:6], tokens[6:11]
    else:
        return None
    try:
        delivered, sseq, cseq, ts, pending = (int(n) for n in numbers)
    except ValueError:
        return None
    return AckInfo(names[0], names[1], delivered, sseq, cseq, ts, pending, domain, acc)


# ---- builders: advisories and metrics -----------------------------------------------------------
def advisory_stream_created(stream: str) -> str:
    return fill(ADVISORY_STREAM_CREATED, stream)


def advisory_stream_updated(stream: str) -> str:
    return fill(ADVISORY_STREAM_UPDATED, stream)


def advisory_stream_deleted(stream: str) -> str:
    return fill(ADVISORY_STREAM_DELETED, stream)


def advisory_stream_batch_abandoned(stream: str) -> str:
    return fill(ADVISORY_STREAM_BATCH_ABANDONED, stream)


def advisory_snapshot_create(stream: str) -> str:
    return fill(ADVISORY_SNAPSHOT_CREATE, stream)


def advisory_snapshot_complete(stream: str) -> str:
    return fill(ADVISORY_SNAPSHOT_COMPLETE, stream)


def advisory_restore_create(stream: str) -> str:
    return fill(ADVISORY_RESTORE_CREATE, stream)


def advisory_restore_complete(stream: str) -> str:
    return fill(ADVISORY_RESTORE_COMPLETE, stream)


def advisory_consumer_created(stream: str, consumer: str) -> str:
    return fill(ADVISORY_CONSUMER_CREATED, stream, consumer)


def advisory_consumer_deleted(stream: str, consumer: str) -> str:
    return fill(ADVISORY_CONSUMER_DELETED, stream, consumer)


def advisory_consumer_pause(stream: str, consumer: str) -> str:
    return fill(ADVISORY_CONSUMER_PAUSE, stream, consumer)


def advisory_consumer_pinned(stream: str, consumer: str) -> str:
    return fill(ADVISORY_CONSUMER_PINNED, stream, consumer)


def advisory_consumer_unpinned(stream: str, consumer: str) -> str:
    return fill(ADVISORY_CONSUMER_UNPINNED, stream, consumer)


def advisory_max_deliveries(stream: str, consumer: str) -> str:
    return fill(ADVISORY_MAX_DELIVERIES, stream, consumer)


def advisory_msg_naked(stream: str, consumer: str) -> str:
    return fill(ADVISORY_MSG_NAKED, stream, consumer)


def advisory_msg_terminated(stream: str, consumer: str) -> str:
    return fill(ADVISORY_MSG_TERMINATED, stream, consumer)


def metric_consumer_ack(stream: str, consumer: str) -> str:
    return fill(METRIC_CONSUMER_ACK, stream, consumer)


def consumer_events(stream: str, consumer: str) -> tuple[str, str]:
    """Wildcard subjects for every advisory and metric about one consumer (like `nats con events`)."""
    return (
        f"{ADVISORY_PREFIX}.CONSUMER.*.{_token(stream)}.{_token(consumer)}",
        f"{METRIC_PREFIX}.CONSUMER.*.{stream}.{consumer}",
    )
