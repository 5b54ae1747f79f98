"""The durable consumers mirrors and sources keep on interest and workqueue origins.

On a limits origin nats-server reads through a hidden consumer, but on an interest or
workqueue origin it makes that consumer a durable one that clients see and may delete
(`JS_MIRROR_<hash>` / `JS_SRC_<hash>`, ack policy `flow_control`, `sourcing: true`, deliver
subject `$JS.M.<random>` / `$JS.S.<random>`): the copies' acks remove what was copied, and
between setups the consumer keeps what is still to copy. Here the link still reads the
origin's store itself; the consumer gives the origin its interest, its listing and its ack
floor, which the link moves as it stores each copy (`Consumer.hand_over`). nats-server acks on
the flow control reply, up to a heartbeat (1 s) after the copy; here the ack is immediate.

Owns `SourcingMode` (such a consumer's delivery mode: it delivers nothing and is bound while a
link reads) and the config, binding and removal of these consumers.
May import: devserver.jetstream.* (consumer_api only lazily: it imports the streams that
import the sourcing that imports us).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devserver.jetstream.push import PUSH_BASED
from devserver.jetstream.timefmt import format_time

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer
    from devserver.jetstream.sourcing import Link
    from devserver.jetstream.streams import Stream

SECOND = 1_000_000_000
REQUIRED_LEVEL = "4"  # API level of durable sourcing and flow_control acks
_KEPT = ("deliver_policy", "opt_start_seq", "opt_start_time", "deliver_subject")


def retains(origin: Stream) -> bool:
    """Does the origin keep messages for its consumers (interest or workqueue retention)?"""
    return origin.config.get("retention", "limits") != "limits"


def bind(link: Link, origin: Stream) -> Consumer:
    """Create the link's consumer on the origin, or take the one a previous setup left (it keeps
    its start and deliver subject, as nats-server's reset of an existing durable does)."""
    from devserver.jetstream.consumer_api import add_consumer, new_name  # noqa: PLC0415 - see above

    config = _config(link, f"{'$JS.M' if link.mirror else '$JS.S'}.{new_name()}")
    existing = origin.consumers.get(link.cname)
    if existing is not None:
        for key in _KEPT:
            config.pop(key, None)
            if key in existing.config:
                config[key] = existing.config[key]
    consumer, _ = add_consumer(origin, config)  # a client's consumer of that name: 10012
    consumer.mode.link = link
    return consumer


def _config(link: Link, deliver_subject: str) -> dict[str, Any]:
    """ConsumerConfig as nats-server turns the link's request into a durable one."""
    kind = "mirror" if link.mirror else "src"
    owner = link.owner
    config: dict[str, Any] = {"durable_name": link.cname, "name": link.cname, "deliver_policy": "all"}
    by_seq, by_time = link.start_options()
    if by_seq:
        config.update(deliver_policy="by_start_sequence", opt_start_seq=by_seq)
    elif by_time:
        config.update(deliver_policy="by_start_time", opt_start_time=format_time(by_time))
    filters = link.filters
    if filters is not None and len(filters) == 1:
        config["filter_subject"] = filters[0]
    elif filters is not None:
        config["filter_subjects"] = filters
    config.update(
        ack_policy="flow_control",
        flow_control=True,
        deliver_subject=deliver_subject,
        idle_heartbeat=SECOND,
        sourcing=True,
        metadata={
            f"_nats.{kind}.acc": owner.jsa.name,
            f"_nats.{kind}.stream": owner.name,
            "_nats.req.level": REQUIRED_LEVEL,
        },
    )
    return config


def drop(link: Link) -> None:
    """The mirror or source is gone for good: delete its consumer on the origin."""
    origin = link.owner.jsa.streams.get(link.name)
    consumer = origin.consumers.get(link.cname) if origin is not None else None
    if consumer is not None and isinstance(consumer.mode, SourcingMode):
        consumer.delete()


class SourcingMode:
    """A sourcing consumer's mode: its link copies by itself, so nothing is delivered here."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.link: Link | None = None  # bound while a link reads; shown as push_bound

    def start(self) -> None:
        """Nothing to subscribe: the link reads the store."""

    def stop(self) -> None:
        """The consumer is deleted (or its server stops): the link stops reading, and its
        health check sets it up again after the silence, as nats-server's does."""
        link, self.link = self.link, None
        if link is not None:
            link.consumer_gone()

    def release(self) -> None:
        """Nothing waits on a push consumer."""

    def configure(self) -> None:
        """Nothing cached."""

    def pump(self) -> None:
        """Copies are handed over by the link."""

    def while_paused(self) -> None:
        """Paused or not, the link reads by itself."""

    def num_waiting(self) -> int:
        return 0

    def next_request(self, reply: bytes, body: bytes) -> None:
        self.consumer.jsa.send(reply, b"", PUSH_BASED)

    def has_interest(self) -> bool:
        return self.link is not None

    def set_active(self, active: bool) -> None:
        """Bound by the link, not by interest in the deliver subject."""
