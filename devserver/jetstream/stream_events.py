"""Stream advisories and the API audit advisory, published as nats-server does.

Owns `stream_action` (`$JS.EVENT.ADVISORY.STREAM.CREATED|UPDATED|DELETED.<stream>`) and
`api_audit` (`$JS.EVENT.ADVISORY.API`, one per answered API request, with the request and the
response text). As in nats-server an event is only built when someone listens on its subject.
The audit's `client` is the requester's ClientInfo (advisories.client_info). May import: schemas,
devserver.jetstream.advisories, devserver.jetstream.api, devserver.jetstream.timefmt.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devserver.jetstream.advisories import ADVISORY, client_info, event_id
from devserver.jetstream.api import encode
from devserver.jetstream.timefmt import format_time
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.accounts import JsAccount
    from devserver.jetstream.api import Request

_BUILDERS = {
    "create": subjects.advisory_stream_created,
    "modify": subjects.advisory_stream_updated,
    "delete": subjects.advisory_stream_deleted,
}


def _listened(jsa: JsAccount, subject: str) -> bool:
    plain, queues = jsa.account.sublist.match(subject.encode())
    return bool(plain or queues)


def _header(jsa: JsAccount, kind: str) -> dict[str, Any]:
    return {"type": ADVISORY + kind, "id": event_id(), "timestamp": format_time(jsa.server.clock.now_ns())}


def stream_action(jsa: JsAccount, stream: str, action: str, template: str = "") -> None:
    """A stream was created ("create"), updated ("modify") or deleted ("delete"); `template`
    names the stream template that made it (nats-server 2.12's `template` key)."""
    subject = _BUILDERS[action](stream)
    if _listened(jsa, subject):
        doc = {**_header(jsa, "stream_action"), "stream": stream, "action": action}
        if template:
            doc["template"] = template
        jsa.send(subject, encode(doc))


def api_audit(req: Request, response: bytes) -> Callable[[], None] | None:
    """The audit trail of one API request and the server's response, built before the reply goes
    (while the requester still listens on it): what sends it, or None when nobody listens."""
    jsa = req.jsa
    if not _listened(jsa, subjects.ADVISORY_API):
        return None
    doc = _header(jsa, "api_audit")
    doc["server"] = jsa.server.server_id
    doc["client"] = client_info(jsa, req.reply)
    doc["subject"] = req.subject
    if req.body:
        doc["request"] = req.body.decode(errors="replace")
    doc["response"] = response.decode()
    return functools.partial(jsa.send, subjects.ADVISORY_API, encode(doc))
