"""Pausing a consumer (2.11): CONSUMER.PAUSE, `pause_until` in its config, the resume timer.

Owns what nats-server's jsConsumerPauseRequest, updatePauseState and sendPauseAdvisoryLocked do.
While `pause_until` lies ahead on the server clock the consumer delivers nothing: pull requests
keep waiting (they expire, get their heartbeats, and `no_wait` ones end with 404), push
heartbeats go on. A timer resumes delivery at the deadline and says so in a `consumer_pause`
advisory. The PAUSE request stores its deadline in UTC (a create keeps the offset it was given);
a zero, absent or non-JSON body resumes, though (as in nats-server) nothing moves until the next
message or pull request wakes the consumer. Creates and updates cannot change a consumer's pause:
they keep the one it has, and a paused consumer announces itself after each.

May import: schemas, devserver.jetstream.*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devserver.jetstream import advisories, consumer_config
from devserver.jetstream.api import ApiError, Request, Route, decode, encode
from devserver.jetstream.streams import lookup
from devserver.jetstream.timefmt import ZERO_TIME, normalize_time, parse_time, utc_time
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer

_ZERO_NS = parse_time(ZERO_TIME)
# nats-server sends the response's zero values next to an error
ERROR_FIELDS = (("paused", False), ("pause_until", ZERO_TIME))


def deadline_of(config: dict[str, Any]) -> int:
    """The pause deadline of a config in clock ns; 0 when unset or Go's zero time."""
    text = config.get("pause_until")
    if not text:
        return 0
    ns = parse_time(text)
    return 0 if ns == _ZERO_NS else ns


def remaining(c: Consumer) -> int:
    """Nanoseconds left in the pause (0 when not paused)."""
    if not c.pause_deadline:
        return 0
    return max(c.pause_deadline - c.clock.now_ns(), 0)


def info_fields(c: Consumer) -> dict[str, Any]:
    """ConsumerInfo's `paused` and `pause_remaining`, both left out when not paused."""
    left = remaining(c)
    return {"paused": True, "pause_remaining": left} if left else {}


def arm(c: Consumer) -> None:
    """(Re)start the timer that resumes delivery at the deadline (updatePauseState)."""
    cancel(c)
    if remaining(c):
        c.unpause_timer = c.timers.at(c.pause_deadline, lambda: _deadline(c))


def cancel(c: Consumer) -> None:
    if c.unpause_timer is not None:
        c.unpause_timer.cancel()
        c.unpause_timer = None


def _deadline(c: Consumer) -> None:
    c.unpause_timer = None
    if not c.closed:
        advisory(c)
        c.kick()


def advisory(c: Consumer) -> None:
    """`$JS.EVENT.ADVISORY.CONSUMER.PAUSE.<s>.<c>`; Go's zero time when no deadline is set."""
    fields = {"stream": c.stream_name, "consumer": c.name, "paused": bool(remaining(c))}
    fields["pause_until"] = c.config.get("pause_until") or ZERO_TIME
    subject = subjects.advisory_consumer_pause(c.stream_name, c.name)
    advisories.publish_event(c.jsa, subject, "consumer_pause", fields)


def announce_later(c: Consumer) -> None:
    """After a create or update of a paused consumer: the advisory follows the response."""
    if not remaining(c):
        return
    loop = c.server.loop
    if loop is None:
        advisory(c)
    else:
        loop.call_soon(advisory, c)


def keep_pause(config: dict[str, Any], existing: Consumer | None) -> None:
    """A create request's `pause_until`: a new consumer takes the request's, offset and all;
    an existing one keeps its own (compared as it is, stored in UTC by `utc_pause`)."""
    until = existing.config.get("pause_until") if existing is not None else config.get("pause_until")
    config.pop("pause_until", None)
    if until is not None:
        config["pause_until"] = normalize_time(until) if existing is None else until


def utc_pause(config: dict[str, Any]) -> None:
    """An update stores the deadline in UTC, as updateConfig does."""
    if config.get("pause_until") is not None:
        config["pause_until"] = utc_time(config["pause_until"])


def set_pause(c: Consumer, until: str | None) -> None:
    """Store a new deadline (None resumes); arm the timer and advise when it changed."""
    before = c.pause_deadline
    config = dict(c.config)
    if until is None:
        config.pop("pause_until", None)
    else:
        config["pause_until"] = until
    consumer_config.set_static_metadata(config)
    c.configure(config)
    if c.store is not None:
        c.store.write_meta()
    if c.pause_deadline != before:
        arm(c)
        advisory(c)
    # no kick: nats-server 2.15.1 resumes delivery here only at the next message or request


def _body(req: Request) -> dict[str, Any]:
    """The request: a body that is no JSON object or array counts as empty, and a null
    `pause_until` as absent (Go leaves the zero time)."""
    if req.body.lstrip()[:1] not in (b"{", b"["):
        return {}
    raw = decode(req.body, None)
    if isinstance(raw, dict) and "pause_until" in raw and raw["pause_until"] is None:
        del raw["pause_until"]
        return decode(encode(raw), req.request_type)
    return req.json()


def consumer_pause(req: Request) -> dict[str, Any]:
    """CONSUMER.PAUSE.<s>.<c>: `{pause_until}` ahead pauses; zero, past or absent resumes."""
    body = _body(req)
    stream = lookup(req.jsa, req.tokens[4])
    consumer = stream.consumers.get(req.tokens[5])
    if consumer is None:
        raise ApiError("JSConsumerNotFoundErr")
    text = body.get("pause_until")
    until = utc_time(text) if text and parse_time(text) != _ZERO_NS else None
    set_pause(consumer, until)
    out: dict[str, Any] = {"paused": False, "pause_until": until or ZERO_TIME}
    left = remaining(consumer)
    if left:
        out.update(paused=True, pause_remaining=left)
    return out


HANDLERS = [Route(subjects.CONSUMER_PAUSE, consumer_pause, ERROR_FIELDS)]
