"""Stream templates (the seed's, nats-server up to 2.13): streams made on first use of a subject.

Owns `$JS.API.STREAM.TEMPLATE.CREATE/NAMES/INFO/DELETE` as nats-server 2.12 serves them
(jsTemplate*Request, jetstream.go streamTemplate) and the templates themselves. A template
subscribes to its config's subjects; the first message on a concrete subject with no stream of
its own creates one named after the subject with `.` replaced by `_` (`CLIENT.acme` ->
`CLIENT_acme`), with the template's config, `subjects: [subject]` and `template_owner`, and
stores that message in it (PubAck included); beyond `max_streams` the message is dropped with a
warning. Deleting a template deletes the streams it made. The template's stream config is kept
as nats-server checked it, under the placeholder name `_`.

Templates of file-storage configs are kept in `<account>/templates/<name>.json` and come back
at start (`recover`), with their streams found by `template_owner`.

nats-server 2.14 removed templates; devserver keeps them for the seed's CLI and clients.
May import: schemas, devserver.jetstream.*.
"""

from __future__ import annotations

import json
import logging
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devserver.jetstream import stream_config, stream_events
from devserver.jetstream.accounts import MEMORY
from devserver.jetstream.api import ApiError, Request, Route, paged
from devserver.jetstream.streams import create_stream
from devserver.store.atomic import write_atomic
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.accounts import JsAccount

log = logging.getLogger("devserver.jetstream")

NAMES_LIMIT = 1024
MAX_NAME_LEN = 255
TEMPLATES_DIR = "templates"  # beside the account's streams/ folder
_BY_ACCOUNT: weakref.WeakKeyDictionary[JsAccount, dict[str, Template]] = weakref.WeakKeyDictionary()


def templates_of(jsa: JsAccount) -> dict[str, Template]:
    return _BY_ACCOUNT.setdefault(jsa, {})


def canonical_name(subject: str) -> str:
    """nats-server's canonicalName: the stream a template makes for `subject`."""
    return subject.replace(".", "_")


class Template:
    """One template: its config, the streams it made, its subscriptions."""

    def __init__(self, jsa: JsAccount, name: str, config: dict[str, Any], max_streams: int) -> None:
        self.jsa = jsa
        self.name = name
        self.config = config
        self.max_streams = max_streams
        self.streams: list[str] = []
        self._subs: list = []

    def info(self) -> dict[str, Any]:
        return {
            "config": {"name": self.name, "config": self.config, "max_streams": self.max_streams},
            "streams": list(self.streams),
        }

    def start(self) -> None:
        server = self.jsa.server
        for subject in self.config.get("subjects", []):
            self._subs.append(server.subscribe(self.jsa.account, subject, self._on_msg))

    def stop(self) -> None:
        for sub in self._subs:
            self.jsa.server.unsubscribe(self.jsa.account, sub)
        self._subs.clear()

    def _on_msg(self, subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        """processInboundTemplateMsg: the first message on a subject makes its stream."""
        jsa = self.jsa
        literal = subject.decode()
        name = canonical_name(literal)
        if name in jsa.streams:
            return  # the stream has its own subscription and stored the message
        if len(self.streams) >= self.max_streams:
            log.warning(
                "JetStream could not create stream for account %r on subject %r, at limit", jsa.name, literal
            )
            return
        config = dict(self.config, name=name, subjects=[literal], template_owner=self.name)
        try:
            config = stream_config.check(config, jsa)
            jsa.check_reservation(config)
        except ApiError as exc:
            log.warning(
                "JetStream could not create stream for account %r on subject %r: %s", jsa.name, literal, exc
            )
            return
        self.streams.append(name)
        stream = create_stream(jsa, config)
        stream_events.stream_action(jsa, name, "create", template=self.name)
        stream.on_msg(subject, reply, hdr, payload)

    # -- persistence

    def path(self) -> Path | None:
        folder = self.jsa.js.account_dir(self.jsa.name)
        if folder is None or self.config["storage"] == MEMORY:
            return None
        return folder.parent / TEMPLATES_DIR / f"{self.name}.json"

    def save(self) -> None:
        path = self.path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(self.info()["config"]).encode())

    def delete(self) -> None:
        """Remove the template and every stream it made that still exists."""
        self.stop()
        templates_of(self.jsa).pop(self.name, None)
        path = self.path()
        if path is not None:
            path.unlink(missing_ok=True)
        jsa = self.jsa
        for name in self.streams:
            stream = jsa.streams.pop(name, None)
            if stream is not None:
                stream.delete()
                stream_events.stream_action(jsa, name, "delete", template=self.name)


def recover(jsa: JsAccount) -> None:
    """Bring back an account's file-storage templates and the streams they own."""
    folder = jsa.js.account_dir(jsa.name)
    if folder is None or not (folder.parent / TEMPLATES_DIR).is_dir():
        return
    for path in sorted((folder.parent / TEMPLATES_DIR).glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            template = Template(jsa, doc["name"], doc["config"], doc["max_streams"])
        except (OSError, ValueError, KeyError) as exc:
            log.warning("Skipping stream template %s: %s", path, exc)
            continue
        template.streams = sorted(
            name for name, s in jsa.streams.items() if s.config.get("template_owner") == template.name
        )
        templates_of(jsa)[template.name] = template
        template.start()


# -- the API


def template_create(req: Request) -> dict[str, Any]:
    body = req.json()
    name = req.tokens[-1]
    if body.get("name", "") != name:
        raise ApiError("JSTemplateNameNotMatchSubjectErr")
    config = dict(body.get("config") or {})
    if config.get("name"):
        raise ApiError("JSStreamTemplateCreateErrF", err="template config name should be empty")
    if len(name.encode()) > MAX_NAME_LEN:
        raise ApiError(
            "JSStreamTemplateCreateErrF", err=f"template name is too long, maximum allowed is {MAX_NAME_LEN}"
        )
    jsa = req.jsa
    config = stream_config.check(dict(config, name="_"), jsa)
    known = templates_of(jsa)
    if name in known:
        raise ApiError("JSStreamTemplateCreateErrF", err=f'template with name "{name}" already exists')
    template = Template(jsa, name, config, body.get("max_streams", 0))
    known[name] = template
    template.start()
    template.save()
    return template.info()


def _lookup(req: Request) -> Template:
    template = templates_of(req.jsa).get(req.tokens[-1])
    if template is None:
        raise ApiError("JSStreamTemplateNotFoundErr")
    return template


def template_info(req: Request) -> dict[str, Any]:
    return _lookup(req).info()


def template_delete(req: Request) -> dict[str, Any]:
    _lookup(req).delete()
    return {"success": True}


def template_names(req: Request) -> dict[str, Any]:
    body = req.json() if req.body.lstrip()[:1] in (b"{", b"[") else {}
    names = sorted(templates_of(req.jsa))
    page, offset = paged(names, max(body.get("offset", 0), 0), NAMES_LIMIT)
    return {"total": len(names), "offset": offset, "limit": NAMES_LIMIT, "streams": page}


HANDLERS = [
    Route(subjects.STREAM_TEMPLATE_CREATE, template_create),
    Route(subjects.STREAM_TEMPLATE_NAMES, template_names),
    Route(subjects.STREAM_TEMPLATE_INFO, template_info),
    Route(subjects.STREAM_TEMPLATE_DELETE, template_delete),
]
