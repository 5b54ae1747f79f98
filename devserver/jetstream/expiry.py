"""Expiry: messages leaving a stream by age (`max_age`) and by their own TTL (`Nats-TTL`).

Owns `Expiry`, mixed into `Stream` like `Publisher`: the max_age timer, the TTL timer over the
stream's `msgttl.TTLSchedule`, and the subject delete markers (`subject_delete_marker_ttl`):
when age or a TTL takes the last message of a subject, a marker is published on that subject
in its place (it rolls the message up), as nats-server's stores ask their stream to. Messages
with `Nats-TTL: never` are exempt from max_age. Both run on the server clock; nothing expires
while a snapshot of the stream is being sent.

May import: devserver.jetstream.*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devserver.jetstream.msgttl import NEVER, SECOND, TTLSchedule, is_marker, marker_headers, msg_ttl
from devserver.jetstream.publish import Reject
from devserver.jetstream.timers import Timer, Timers

if TYPE_CHECKING:
    from devserver.store.base import StoredMsg

EXPIRY_RETRY = 100_000_000  # expiry held back by a snapshot tries again this much later


class Expiry:
    """Mixed into Stream (which provides store, config, consumers, remove_msg and _ingest)."""

    _ttls: TTLSchedule | None = None  # None while the stream does not allow TTLs
    _ttl_timer: Timer | None = None
    _expiry: Timer | None  # the max_age timer
    _max_age: int
    config: dict[str, Any]
    consumers: dict[str, Any]

    def _setup_expiry(self) -> None:
        """Read the config (again after an update); TTLs once allowed stay allowed."""
        self._marker_ttl = self.config.get("subject_delete_marker_ttl", 0) // SECOND
        if self.config["allow_msg_ttl"] and self._ttls is None:
            self._ttls = TTLSchedule.of_store(self.store)

    def _start_expiry(self) -> None:
        if self._max_age and self._expiry is None:
            self._schedule_expiry()
        self._arm_ttl()

    def _stop_expiry(self) -> None:
        for timer in (self._expiry, self._ttl_timer):
            if timer is not None:
                timer.cancel()
        self._expiry = self._ttl_timer = None

    def _snapshot_running(self) -> bool:
        from devserver.jetstream.snapshot import in_progress  # noqa: PLC0415 - snapshot imports streams

        return in_progress(self)

    def _expire_msg(self, msg: StoredMsg) -> None:
        """Remove a message, or roll it up into a marker when it is its subject's last."""
        if self._marker_ttl and not is_marker(msg.headers) and self.store.subject_count(msg.subject) == 1:
            block = marker_headers(self._marker_ttl)
            try:
                self._ingest(msg.subject, len(block), block)
                return
            except Reject:  # nats-server would retry the marker later; the message goes now
                pass
        self.remove_msg(msg.seq)

    # -- max_age

    def _schedule_expiry(self) -> None:
        first_ts = self.store.first_ts
        if first_ts:
            self._expiry = Timers.of(self.server).at(first_ts + self._max_age, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        timers = Timers.of(self.server)
        if self._snapshot_running():
            self._expiry = timers.after(EXPIRY_RETRY, self._expire)
            return
        store = self.store
        now = self._clock.now_ns()
        if not self.consumers and self._ttls is None:
            store.expire_before(now - self._max_age)
            next_ts = store.first_ts if store.msgs else 0
        else:
            # with only `never` messages left, look again a max_age later rather than at
            # every publish (which would schedule the oldest message's long past deadline)
            next_ts = self._expire_each(now - self._max_age) or (now if store.msgs else 0)
        if self._expiry is not None:  # a marker published meanwhile scheduled one
            self._expiry.cancel()
        self._expiry = timers.at(next_ts + self._max_age, self._expire) if next_ts else None
        self.js.dirty.add(self)

    def _expire_each(self, horizon: int) -> int:
        """One by one (consumers hear of each, `never` stays, markers are placed); the
        timestamp of the first message not yet due, 0 when none is."""
        store = self.store
        msg = store.load_next(store.first_seq)
        while msg is not None and msg.ts <= horizon:
            if msg_ttl(msg.headers) != NEVER:
                self._expire_msg(msg)
            msg = store.load_next(msg.seq + 1)
        return msg.ts if msg is not None else 0

    # -- per-message TTL

    def _add_ttl(self, seq: int, deadline: int) -> None:
        self._ttls.add(seq, deadline)
        timer = self._ttl_timer
        if timer is None or deadline < timer.deadline:
            self._arm_ttl()

    def _arm_ttl(self) -> None:
        deadline = self._ttls.next_deadline() if self._ttls is not None else None
        if self._ttl_timer is not None:
            if deadline is not None and self._ttl_timer.deadline <= deadline:
                return
            self._ttl_timer.cancel()
            self._ttl_timer = None
        if deadline is not None:
            self._ttl_timer = Timers.of(self.server).at(deadline, self._expire_ttls)

    def _expire_ttls(self) -> None:
        self._ttl_timer = None
        if self._snapshot_running():
            self._ttl_timer = Timers.of(self.server).after(EXPIRY_RETRY, self._expire_ttls)
            return
        for seq in self._ttls.pop_due(self._clock.now_ns()):
            msg = self.store.load(seq)
            if msg is not None:
                self._expire_msg(msg)
        self._arm_ttl()
        self.js.dirty.add(self)
