"""Interest and workqueue retention: when consumers are done with a message, it goes.

Owns the stream-side rules nats-server keeps in stream.go (ackMsg, noInterest,
checkForInterest) and consumer.go (cleanupNoInterestMessages): after an ack (or an ack-none
delivery) a message no consumer still needs is removed with `stream.remove_msg(seq)`; a
workqueue stream has one consumer per subject, so its first ack removes it. Deleting a
consumer of an interest stream removes what only it still held; with no consumers left the
stream is emptied.

May import: nothing from devserver beyond typing; the stream and consumers are duck-typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer

CLEANUP_LIMIT = 100_000  # like nats-server, a longer walk is left to the limits


def _subject(stream: Any, seq: int) -> str | None:
    msg = stream.store.load(seq)
    return None if msg is None else msg.subject


def acked(stream: Any, consumer: Consumer, seq: int) -> None:
    """`consumer` is done with `seq`: remove it when nobody needs it any more."""
    store = stream.store
    if seq < store.first_seq or seq > store.last_seq:
        return
    subject = _subject(stream, seq)
    if subject is None:
        return
    for other in stream.consumers.values():
        if other.needs_ack(seq, subject):
            return
    stream.remove_msg(seq)


def consumer_gone(stream: Any, consumer: Consumer, keep_self: bool = False) -> None:
    """A consumer of an interest stream was deleted (or, `keep_self`, changed its filters):
    drop what no remaining consumer needs."""
    if stream.config.get("retention") != "interest":
        return
    store = stream.store
    others = [c for c in stream.consumers.values() if keep_self or c is not consumer]
    if not others:
        if store.msgs:
            stream.purge(None)
        return
    start, stop = max(consumer.asflr, store.first_seq), store.last_seq
    if stop - start > CLEANUP_LIMIT:
        return
    for seq in range(start, stop + 1):
        subject = _subject(stream, seq)
        if subject is not None and not any(c.needs_ack(seq, subject) for c in others):
            stream.remove_msg(seq)
