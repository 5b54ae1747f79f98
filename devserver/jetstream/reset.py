"""Consumer reset (2.14): `$JS.API.CONSUMER.RESET.<s>.<c>` moves a consumer back (or ahead).

Owns nats-server's processResetReq and resetStartingSeq. The request goes to the consumer's own
subscription, not the API table (so a missing stream or consumer gets no answer at all), and is
decoded leniently as Go's json.Unmarshal does: unknown keys pass, non-JSON is an error. Without
`seq` the consumer goes back to its ack floor (+1); a `seq` is allowed for deliver policy `all`,
and for `by_start_sequence`/`by_start_time` when not before their start. The reset forgets
everything pending and redelivered, restarts consumer sequences at 1, and answers with the
ConsumerInfo plus `reset_seq` (10204 `invalid reset: ...` when refused).

May import: devserver.jetstream.*, schemas.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from devserver.jetstream import interest
from devserver.jetstream.api import ApiError, encode, envelope, error_envelope
from devserver.jetstream.pull import unmarshal_syntax_error
from devserver.jetstream.timefmt import parse_time
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer

RESPONSE = "consumer_reset_response"
_STRUCT = "JSApiConsumerResetRequest"
_KINDS = {str: "string", bool: "bool", list: "array", dict: "object"}


def subscribe(c: Consumer) -> Any:
    """The consumer's own subscription for reset requests."""

    def on_request(subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        if reply:
            _answer(c, reply, payload[hdr:] if hdr > 0 else payload)

    return c.server.subscribe(c.account, subjects.consumer_reset(c.stream_name, c.name), on_request)


def _answer(c: Consumer, reply: bytes, body: bytes) -> None:
    try:
        seq = reset(c, requested_seq(body))
    except ApiError as exc:
        doc = error_envelope(RESPONSE, exc, (("reset_seq", 0),))
    else:
        doc = envelope(RESPONSE, {**c.info(dynamic=True), "reset_seq": seq})
    c.jsa.send(reply, encode(doc))


def requested_seq(body: bytes) -> int:
    """The `seq` of a request body (0 when absent); 10025 with Go's words when it won't decode."""
    if not body:
        return 0
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise ApiError("JSInvalidJSONErr", err=unmarshal_syntax_error(body.strip(), exc)) from None
    if not isinstance(doc, dict):
        if doc is None:
            return 0
        kind = "number" if isinstance(doc, int | float) else _KINDS[type(doc)]
        raise ApiError(
            "JSInvalidJSONErr", err=f"json: cannot unmarshal {kind} into Go value of type server.{_STRUCT}"
        )
    seq = doc.get("seq")
    if seq is None:
        return 0
    if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 1 << 64:
        return seq
    kind = (
        f"number {json.dumps(seq)}"
        if isinstance(seq, int | float) and not isinstance(seq, bool)
        else _KINDS[type(seq)]
    )
    raise ApiError(
        "JSInvalidJSONErr",
        err=f"json: cannot unmarshal {kind} into Go struct field {_STRUCT}.seq of type uint64",
    )


def _check(c: Consumer, seq: int) -> None:
    """Refuse a sequence the deliver policy does not allow (resetStartingSeq)."""
    config = c.config
    policy = config.get("deliver_policy", "all")
    if policy == "all":
        return
    if policy == "by_start_sequence":
        if seq < config.get("opt_start_seq", 0):
            raise ApiError("JSConsumerInvalidResetErr", err="below start seq")
        return
    if policy == "by_start_time":
        if seq < c.seq_for_time(parse_time(config["opt_start_time"])):
            raise ApiError("JSConsumerInvalidResetErr", err="below start time")
        return
    raise ApiError("JSConsumerInvalidResetErr", err="not allowed")


def reset(c: Consumer, seq: int) -> int:
    """Start over at `seq` (0: just past the ack floor); returns the sequence used."""
    if seq == 0:
        seq = c.asflr + 1
    else:
        _check(c, seq)
    seq = max(seq, 1)
    old_floor = c.asflr
    c.pending.clear()
    c.pending_order.clear()
    c.rdc.clear()
    c.rdq.clear()
    c.lss = None
    c.sseq, c.dseq = seq, 1
    c.adflr, c.asflr = 0, seq - 1
    c.last_delivered = c.last_acked = 0
    c.delivered_c, c.delivered_s = 0, seq - 1
    c.floor_c, c.floor_s = 0, seq - 1
    c.recount()
    if c.store is not None:
        c.store.dirty()
    if c.retention == "interest":
        _drop_skipped(c, old_floor + 1, seq - 1)
    c.kick()
    return seq


def _drop_skipped(c: Consumer, first: int, last: int) -> None:
    """Messages a forward reset skipped may now be needed by nobody (interest retention)."""
    store = c.stream.store
    first, last = max(first, store.first_seq), min(last, store.last_seq)
    if last - first > interest.CLEANUP_LIMIT:
        return
    for seq in range(first, last + 1):
        interest.acked(c.stream, c, seq)
