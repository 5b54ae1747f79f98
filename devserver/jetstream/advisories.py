"""Consumer advisories and ack metrics, published as nats-server does (jetstream_events.go).

Owns the JSON events about consumers: `consumer_action` (create/delete), `max_deliver`,
`nak`, `terminated` and the `consumer_ack` metric; and those of snapshots and restores
(`snapshot_create`/`_complete`, `restore_create`/`_complete`) with the ClientInfo of the
connection that asked (`client_info`). Each carries the common header (`type`,
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
    from devserver.jetstream.accounts import JsAccount
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


# -- account-level events: snapshots and restores


def client_info(jsa: JsAccount, reply: str | None) -> dict[str, Any]:
    """nats-server's ClientInfo of a request's sender (keys omitted when empty).

    The server's internal subscriptions do not see the publishing connection, so it is found
    as the client subscribed to the request's reply subject; without one, only the account and
    the server are known.
    """
    server = jsa.server
    conn = None
    if reply:
        plain, queues = jsa.account.sublist.match(reply.encode())
        for sub in [*plain, *(s for group in queues for s in group)]:
            if hasattr(sub.client, "cid") and sub.client.cid:
                conn = sub.client
                break
    if conn is None:
        return {"acc": jsa.name, "server": server.server_id, "kind": "Client", "client_type": "nats"}
    info: dict[str, Any] = {"start": format_time(conn.start_ns), "host": conn.host, "id": conn.cid}
    info["acc"] = jsa.name
    if conn.user:
        info["user"] = conn.user
    for key, value in (("name", conn.name), ("lang", conn.lang), ("ver", conn.version)):
        if value:
            info[key] = value
    if conn.rtt_ns:
        info["rtt"] = conn.rtt_ns
    info.update(server=server.server_id, kind="Client", client_type="nats")
    return info


def publish_event(jsa: JsAccount, subject: str, kind: str, fields: dict[str, Any]) -> None:
    """An advisory from the account's JetStream, built only when someone listens."""
    plain, queues = jsa.account.sublist.match(subject.encode())
    if not plain and not queues:
        return
    doc = {"type": ADVISORY + kind, "id": event_id(), "timestamp": format_time(jsa.server.clock.now_ns())}
    jsa.send(subject, encode({**doc, **fields}))


def snapshot_create(jsa: JsAccount, stream: str, state: dict[str, Any], client: dict[str, Any]) -> None:
    fields = {"stream": stream, "state": state, "client": client}
    publish_event(jsa, subjects.advisory_snapshot_create(stream), "snapshot_create", fields)


def snapshot_complete(
    jsa: JsAccount, stream: str, start: int, end: int, client: dict[str, Any], error: str = ""
) -> None:
    fields: dict[str, Any] = {"stream": stream, "start": format_time(start), "end": format_time(end)}
    fields["client"] = client
    if error:
        fields["error"] = error
    publish_event(jsa, subjects.advisory_snapshot_complete(stream), "snapshot_complete", fields)


def restore_create(jsa: JsAccount, stream: str, client: dict[str, Any]) -> None:
    fields = {"stream": stream, "client": client}
    publish_event(jsa, subjects.advisory_restore_create(stream), "restore_create", fields)


def restore_complete(
    jsa: JsAccount, stream: str, start: int, end: int, size: int, client: dict[str, Any]
) -> None:
    fields = {"stream": stream, "start": format_time(start), "end": format_time(end), "bytes": size}
    fields["client"] = client
    publish_event(jsa, subjects.advisory_restore_complete(stream), "restore_complete", fields)
