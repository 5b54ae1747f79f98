"""Consumer advisories and ack metrics, published as nats-server does (jetstream_events.go).

Owns the JSON events about consumers: `consumer_action` (create/delete), `max_deliver`,
`nak`, `terminated` and the `consumer_ack` metric. Each carries the common header (`type`,
`id` = a 22-character NUID-like id, `timestamp`) in nats-server's key order and goes to the
consumer's account. As nats-server does, an event is only built when someone listens on its
subject, so a quiet system pays nothing.

May import: schemas, devserver.jetstream.api, devserver.jetstream.timefmt.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from devserver.jetstream.api import encode
from devserver.jetstream.timefmt import format_time
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer

ADVISORY = "io.nats.jetstream.advisory.v1."
METRIC = "io.nats.jetstream.metric.v1."
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def event_id() -> str:
    """A 22-character base62 id, the shape of a NUID."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _publish(consumer: Consumer, subject: str, kind: str, fields: dict[str, Any]) -> None:
    jsa = consumer.jsa
    plain, queues = jsa.account.sublist.match(subject.encode())
    if not plain and not queues:
        return
    doc = {"type": kind, "id": event_id(), "timestamp": format_time(consumer.clock.now_ns()), **fields}
    jsa.send(subject, encode(doc))


def consumer_action(consumer: Consumer, action: str) -> None:
    """CONSUMER.CREATED / CONSUMER.DELETED (`action` is "create" or "delete")."""
    stream, name = consumer.stream_name, consumer.name
    build = subjects.advisory_consumer_created if action == "create" else subjects.advisory_consumer_deleted
    fields = {"stream": stream, "consumer": name, "action": action}
    _publish(consumer, build(stream, name), ADVISORY + "consumer_action", fields)


def max_deliveries(consumer: Consumer, stream_seq: int, deliveries: int) -> None:
    stream, name = consumer.stream_name, consumer.name
    fields = {"stream": stream, "consumer": name, "stream_seq": stream_seq, "deliveries": deliveries}
    _publish(consumer, subjects.advisory_max_deliveries(stream, name), ADVISORY + "max_deliver", fields)


def nak(consumer: Consumer, consumer_seq: int, stream_seq: int, deliveries: int) -> None:
    stream, name = consumer.stream_name, consumer.name
    fields = {
        "stream": stream,
        "consumer": name,
        "consumer_seq": consumer_seq,
        "stream_seq": stream_seq,
        "deliveries": deliveries,
    }
    _publish(consumer, subjects.advisory_msg_naked(stream, name), ADVISORY + "nak", fields)


def terminated(consumer: Consumer, consumer_seq: int, stream_seq: int, deliveries: int, reason: str) -> None:
    stream, name = consumer.stream_name, consumer.name
    fields: dict[str, Any] = {
        "stream": stream,
        "consumer": name,
        "consumer_seq": consumer_seq,
        "stream_seq": stream_seq,
        "deliveries": deliveries,
    }
    if reason:
        fields["reason"] = reason
    _publish(consumer, subjects.advisory_msg_terminated(stream, name), ADVISORY + "terminated", fields)


def ack_sample(
    consumer: Consumer, consumer_seq: int, stream_seq: int, ack_time: int, deliveries: int
) -> None:
    """The `consumer_ack` metric: how long the ack took after delivery (ns)."""
    stream, name = consumer.stream_name, consumer.name
    fields = {
        "stream": stream,
        "consumer": name,
        "consumer_seq": consumer_seq,
        "stream_seq": stream_seq,
        "ack_time": ack_time,
        "deliveries": deliveries,
    }
    _publish(consumer, subjects.metric_consumer_ack(stream, name), METRIC + "consumer_ack", fields)
