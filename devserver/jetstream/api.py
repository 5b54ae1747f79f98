"""The JetStream API: a table of (subject pattern, handler), and the request/response envelope.

Owns dispatch of every request on `$JS.API.>`: the subject is matched against the endpoints
registered by the handler modules, the body is decoded (nats-server's 10025 texts), checked with
`schemas.validate`, and the handler's dict is sent back inside the `{"type": ...}` envelope.
Errors are raised as `ApiError(<nats-server constant name>, ...)` and answered with the
catalogue's code, err_code and description from `schemas.errors`.

Registering handlers: each module named in `HANDLER_MODULES` defines

    HANDLERS: list[Route] = [Route(subjects.STREAM_INFO, stream_info), ...]

with the pattern constants of `schemas.subjects` (whose `ENDPOINTS` gives the request and
response schema types). A handler is `handler(req: Request) -> dict | None`: it returns the
response body without `type` (keys in nats-server's order; `Route.error_fields` names the keys
nats-server also sends next to an error), or raises `ApiError("JSStreamNotFoundErr")` (a
`schemas.errors` constant name) to fail. Endpoints whose body must be empty get 10038 before
the handler runs. Each answer is also offered to the `audit` callback (the API advisory).
A module listed in `HANDLER_MODULES` that does not exist yet is skipped, so the stream and
consumer layers can land independently.

A subject under `$JS.API.` with no endpoint gets no answer, just as with nats-server (whose
service import swallows it): the client times out. Not so for `$JS.API.DIRECT.GET...` and
`$JS.API.CONSUMER.MSG.NEXT...`: nats-server's import skips them, so they reach only the
subscriptions of the stream (direct.py) or consumer that serves them, and a requester gets 503
no responders when there is none. `API_SUBSCRIPTIONS` therefore covers `$JS.API.>` token by
token except those two; a consumer must subscribe its own `CONSUMER.MSG.NEXT.<s>.<c>`.
(Junk subjects such as `$JS.API.X.Y` fall outside them too and get 503 here, silence there.)

May import: schemas, devserver.subjects, devserver.protocol, devserver.jetstream.timefmt and
devserver.jetstream.versioning. Never asyncio.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import schemas
from devserver.jetstream import versioning
from devserver.jetstream.timefmt import go_time_error
from schemas import errors, subjects

if TYPE_CHECKING:
    from devserver.jetstream.accounts import JsAccount

log = logging.getLogger("devserver.jetstream")

TYPE_PREFIX = schemas.API_NAMESPACE + "."

# modules that define HANDLERS, in registration order (first matching pattern wins)
HANDLER_MODULES = (
    "devserver.jetstream.accounts",
    "devserver.jetstream.stream_api",
    "devserver.jetstream.consumer_api",
    "devserver.jetstream.pause",
    "devserver.jetstream.unpin",
    "devserver.jetstream.snapshot",
    "devserver.jetstream.restore",
    "devserver.jetstream.templates",
)

# stream and consumer operations a standalone nats-server answers with 10010 (cluster_required)
_CLUSTER_ANSWERED = (
    subjects.STREAM_LEADER_STEPDOWN,
    subjects.STREAM_PEER_REMOVE,
    subjects.STREAM_PEER_EVACUATE,
    subjects.STREAM_CANCEL_MOVE,
    subjects.CONSUMER_LEADER_STEPDOWN,
)
# endpoints of schemas.subjects that get no answer here: the system account's operations (in
# other accounts nats-server is silent; no system account here yet) (stream templates, gone in
# 2.14, are served: templates.py)
NOT_SERVED = frozenset(
    {
        p
        for p, e in subjects.ENDPOINTS.items()
        if e.system_only or (e.needs_cluster and p not in _CLUSTER_ANSWERED)
    }
)
# answered by the stream's or consumer's own subscription (direct.py, pull consumers, reset.py), not
# the table (RESET still reaches the API subscriptions, which stay silent, as nats-server's import)
SERVED_ELSEWHERE = frozenset(
    {subjects.DIRECT_GET, subjects.DIRECT_GET_LAST, subjects.CONSUMER_MSG_NEXT, subjects.CONSUMER_RESET}
)

_API = subjects.API_PREFIX
# what the API listens on: all of $JS.API.> except DIRECT.GET and CONSUMER.MSG.NEXT (no overlaps)
API_SUBSCRIPTIONS = (
    f"{_API}.*",
    f"{_API}.STREAM.>",
    f"{_API}.META.>",
    f"{_API}.SERVER.>",
    f"{_API}.ACCOUNT.>",
    f"{_API}.CONSUMER.*",
    f"{_API}.CONSUMER.*.*",
    f"{_API}.CONSUMER.*.*.*",
    f"{_API}.CONSUMER.CREATE.*.*.>",
    f"{_API}.CONSUMER.DURABLE.*.*.>",
    f"{_API}.CONSUMER.LEADER.*.*.>",
)

Handler = Callable[["Request"], "dict[str, Any] | None"]
# builds the audit advisory of (the request, its response) before the reply leaves (the requester
# may stop listening once answered) and returns what sends it after the reply, or None
Audit = Callable[["Request", bytes], "Callable[[], None] | None"]


class ApiError(Exception):
    """A failed request: nats-server's error constant, its placeholders, any extra keys sent
    next to `error`, and whether it counts in the account's `api.errors`."""

    def __init__(
        self, name: str, extra: dict[str, Any] | None = None, counted: bool = True, **placeholders: object
    ) -> None:
        self.name = name
        self.error = errors.error(name, **placeholders)
        self.extra = extra
        self.counted = counted  # False for the few errors nats-server sends as a normal response
        super().__init__(self.error["description"])


@dataclass(frozen=True)
class Route:
    """One API subject pattern (a `schemas.subjects` constant) and its handler."""

    pattern: str
    handler: Handler
    error_fields: tuple[tuple[str, Any], ...] = ()  # keys nats-server also sends with an error
    counted: bool = True  # does a success count in the account's api.total (MSG.GET's does not)

    @property
    def endpoint(self) -> subjects.Endpoint:
        return subjects.ENDPOINTS[self.pattern]


@dataclass(slots=True)
class Request:
    """One API request as the handler sees it."""

    jsa: JsAccount
    subject: str
    tokens: list[str]  # the whole subject split on `.`: tokens[2] is the first after $JS.API
    reply: str | None
    header: bytes | None  # the raw header block, when the request had one
    body: bytes
    request_type: str | None = None

    def is_empty(self) -> bool:
        """nats-server's isEmptyRequest: no bytes, `{}`, null, or an object without keys."""
        body = self.body.strip()
        if not body or body in (b"{}", b"null"):
            return True
        if body[:1] != b"{":
            return False
        try:
            return json.loads(body) == {}
        except ValueError:
            return False

    def json(self) -> dict[str, Any]:
        """The decoded body (`{}` when empty), checked against the endpoint's request schema."""
        if not self.body.strip():
            return {}
        doc = decode(self.body, self.request_type)
        return {} if doc is None else doc


# -- JSON decoding with nats-server's error texts

_GO_TYPES = {"integer": "int64", "string": "string", "boolean": "bool", "array": "[]string", "object": "map"}
# Go types of the request fields that are not int64 (the schema only says "integer")
_GO_FIELD_TYPES = {
    "offset": "int",
    "max_consumers": "int",
    "num_replicas": "int",
    "max_ack_pending": "int",
    "batch": "int",
    "max_msg_size": "int32",
    "seq": "uint64",
    "keep": "uint64",
    "first_seq": "uint64",
    "opt_start_seq": "uint64",
    "up_to_seq": "uint64",
}
_JSON_KINDS = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}
_UNKNOWN = re.compile(r"\('([^']+)' was unexpected\)")


def decode(body: bytes, request_type: str | None) -> Any:
    """Parse a request body; ApiError 10025 with Go's wording when it does not decode."""
    try:
        doc = json.loads(body)
    except UnicodeDecodeError:
        raise ApiError("JSInvalidJSONErr", err="invalid character looking for beginning of value") from None
    except json.JSONDecodeError as exc:
        raise ApiError("JSInvalidJSONErr", err=_go_syntax_error(body, exc)) from None
    if request_type is not None and doc is not None:
        problem = _schema_problem(request_type, doc)
        if problem:
            raise ApiError("JSInvalidJSONErr", err=problem)
    return doc


def _go_syntax_error(body: bytes, exc: json.JSONDecodeError) -> str:
    """encoding/json's SyntaxError text; Go's offset counts the bytes read, one past the culprit."""
    text = exc.doc
    if exc.pos >= len(text.rstrip()):
        return "unexpected EOF"
    char = text[exc.pos]
    where = f"at offset {exc.pos + 1}"
    if exc.msg.startswith("Expecting property name"):
        return f"invalid character '{char}' looking for beginning of object key string {where}"
    if exc.msg.startswith("Expecting ',' delimiter") and text[exc.pos - 1 : exc.pos] != ",":
        return f"invalid character '{char}' after object key:value pair {where}"
    if exc.msg.startswith("Expecting ':' delimiter"):
        return f"invalid character '{char}' after object key {where}"
    return f"invalid character '{char}' looking for beginning of value {where}"


def _schema_problem(request_type: str, doc: Any) -> str | None:
    """The first schema violation, phrased as Go's encoding/json would."""
    if not isinstance(doc, dict):
        kind = _JSON_KINDS.get(type(doc), "value")
        return f"json: cannot unmarshal {kind} into Go value of type {_go_struct(request_type)}"
    validator = schemas.validator(request_type)
    for error in sorted(validator.iter_errors(doc), key=lambda e: len(e.absolute_path)):
        if error.validator in ("unevaluatedProperties", "additionalProperties"):
            found = _UNKNOWN.search(error.message)
            field = found.group(1) if found else error.message.split("'")[1]
            return f'json: unknown field "{field}"'
        path = ".".join(str(p) for p in error.absolute_path if not isinstance(p, int))
        if _is_timestamp(error) and isinstance(error.instance, str):
            return go_time_error(error.instance)  # Go's time.Time decoder names the bad part
        if error.validator == "enum":
            return f"can not unmarshal {json.dumps(json.dumps(error.instance))}"  # Go's %q of the raw JSON
        if error.validator in ("type", "minimum", "maximum"):
            go_type = _GO_FIELD_TYPES.get(path.rpartition(".")[2]) or _go_type(error)
            kind = _JSON_KINDS.get(type(error.instance), "value")
            if kind == "number" and go_type.startswith(("int", "uint")):
                kind = f"number {json.dumps(error.instance)}"  # Go names the number only then
            where = f"Go struct field {_go_struct(request_type, short=True)}.{path}"
            if any(isinstance(p, int) for p in error.absolute_path):  # an array element: Go names it
                full = ".".join(str(p) for p in error.absolute_path)
                where = f"{_go_struct(request_type, short=True)}.{full}"
            return f"json: cannot unmarshal {kind} into {where} of type {go_type}"
        return f"json: cannot unmarshal {path or 'value'}: {error.message}"
    field = schemas.unknown_field(request_type, doc)  # nested objects are decoded strictly too
    return f'json: unknown field "{field}"' if field else None


def _is_timestamp(error) -> bool:
    return isinstance(error.schema, dict) and error.schema.get("format") == "date-time"


def _go_type(error) -> str:
    """The Go type a schema type error stands for (the schema's own type, for the rest)."""
    want = error.schema.get("type") if isinstance(error.schema, dict) else None
    if error.validator == "type":
        want = error.validator_value
    if isinstance(want, list):
        want = next((w for w in want if w != "null"), "value")
    return _GO_TYPES.get(want, want or "value")


_GO_STRUCTS = {
    "stream_create_request": "StreamConfigRequest",
    "stream_update_request": "StreamConfigRequest",
    "stream_info_request": "JSApiStreamInfoRequest",
    "stream_names_request": "JSApiStreamNamesRequest",
    "stream_list_request": "JSApiStreamListRequest",
    "stream_purge_request": "JSApiStreamPurgeRequest",
    "stream_msg_get_request": "JSApiMsgGetRequest",
    "stream_msg_delete_request": "JSApiMsgDeleteRequest",
    "consumer_pause_request": "JSApiConsumerPauseRequest",
    "consumer_reset_request": "JSApiConsumerResetRequest",
    "consumer_unpin_request": "JSApiConsumerUnpinRequest",
}


def _go_struct(request_type: str, short: bool = False) -> str:
    name = _GO_STRUCTS.get(request_type, "".join(p.title() for p in request_type.split("_")))
    return name if short else f"server.{name}"


# -- response encoding


def encode(doc: dict[str, Any]) -> bytes:
    """JSON as Go's encoder writes it: compact, `<`, `>`, `&` escaped inside strings."""
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    if "<" in text or ">" in text or "&" in text:
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode()


def envelope(response: str, body: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": TYPE_PREFIX + response}
    if body:
        doc.update(body)
    return doc


def error_envelope(response: str, exc: ApiError, fields: tuple[tuple[str, Any], ...] = ()) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": TYPE_PREFIX + response, "error": exc.error}
    doc.update(fields)
    if exc.extra:
        doc.update(exc.extra)
    return doc


# -- dispatch


class Api:
    """Every registered route, matched on the tokens after the API prefix."""

    def __init__(self, routes: list[Route] | None = None, audit: Audit | None = None) -> None:
        self.routes = load_routes() if routes is None else routes
        self.audit = audit
        self._table: list[tuple[tuple[str, ...], bool, Route]] = []
        for route in self.routes:
            tokens = tuple(route.pattern.split("."))
            tail = tokens[-1] == ">"
            self._table.append((tokens[:-1] if tail else tokens, tail, route))

    def match(self, tokens: list[str]) -> Route | None:
        n = len(tokens)
        for pattern, tail, route in self._table:
            size = len(pattern)
            if n < size or (n != size and not tail) or (tail and n == size):
                continue
            for want, got in zip(pattern, tokens, strict=False):
                if want != got and want != "*":
                    break
            else:
                return route
        return None

    def dispatch(
        self, jsa: JsAccount, subject: str, reply: str | None, header: bytes | None, body: bytes
    ) -> None:
        """Run one request and answer it (when it has a reply subject)."""
        tokens = subject.split(".")
        route = self.match(tokens)
        if route is None:
            log.debug("no JetStream API handler for %s", subject)
            return
        endpoint = route.endpoint
        req = Request(jsa, subject, tokens, reply, header, body, endpoint.request)
        try:
            if versioning.level_unmet(header) and route.handler is not cluster_required:
                raise ApiError("JSRequiredApiLevelErr")
            if not jsa.enabled:
                raise ApiError("JSNotEnabledForAccountErr")
            if endpoint.body == "empty" and not req.is_empty():
                raise ApiError("JSNotEmptyRequestErr")
            result = route.handler(req)
        except ApiError as exc:
            jsa.api_total += 1
            if exc.counted:
                jsa.api_errors += 1
            if endpoint.response is not None:
                self._answer(jsa, req, encode(error_envelope(endpoint.response, exc, route.error_fields)))
            return
        if route.counted:
            jsa.api_total += 1  # after the handler: an INFO reports the count before itself
        if endpoint.response is not None:
            self._answer(jsa, req, encode(envelope(endpoint.response, result)))

    def _answer(self, jsa: JsAccount, req: Request, response: bytes) -> None:
        send_audit = self.audit(req, response) if self.audit is not None else None
        if req.reply:
            jsa.send(req.reply, response)
        if send_audit is not None:
            send_audit()


def cluster_required(req: Request) -> None:
    """Stream and consumer operations that only mean something in a cluster (standalone: 10010)."""
    raise ApiError("JSClusterRequiredErr")


CLUSTER_ROUTES = [Route(p, cluster_required) for p in _CLUSTER_ANSWERED]


def load_routes() -> list[Route]:
    """The HANDLERS of every module in HANDLER_MODULES that exists, in order, then CLUSTER_ROUTES."""
    routes: list[Route] = []
    for name in HANDLER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        routes.extend(getattr(module, "HANDLERS", []))
    return routes + CLUSTER_ROUTES


def paged(items: list, offset: int, limit: int) -> tuple[list, int]:
    """nats-server's paging: the page at `offset` (clamped to the total) and the offset used."""
    total = len(items)
    offset = max(0, min(offset, total))
    return items[offset : offset + limit], offset
