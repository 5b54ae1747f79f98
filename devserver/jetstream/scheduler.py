"""The clock-driven half of message schedules: nats-server's scheduler.go.

Owns `Scheduler`, mixed into `Stream` like `Expiry`: the stream's schedules (schedule subject ->
(sequence of the schedule message, next firing)), one timer on the server clock for the earliest
firing, and what storing a message does to them: a schedule message (re)places its subject's
schedule, any other message without `Nats-Scheduler` ends it, a produced message moves its
schedule to the `Nats-Schedule-Next` time, and `Nats-Schedule-Next: purge` purges the schedule.
Fired messages go through the publish path as sourced ones (checked by the schedule already).
A store carries no schedule state: it is rebuilt from the messages' headers when a stream opens
or first allows schedules, firings missed while down come once, as nats-server does.

May import: devserver.jetstream.*.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from devserver.jetstream import schedules
from devserver.jetstream.publish import Reject
from devserver.jetstream.timers import Timer, Timers
from devserver.protocol.headers import get as header

if TYPE_CHECKING:
    from devserver.store.base import StreamStore

log = logging.getLogger(__name__)


class Scheduler:
    """Mixed into Stream (which provides store, config, server, purge and _ingest)."""

    _schedules: dict[str, tuple[int, int]] | None = None  # None while schedules are not allowed
    _schedule_timer: Timer | None = None
    config: dict[str, Any]
    store: StreamStore

    def _setup_schedules(self) -> None:
        """Read the config (again after an update); schedules once allowed stay allowed."""
        if self.config.get("allow_msg_schedules") and self._schedules is None:
            self._schedules = self._recover_schedules()

    def _recover_schedules(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        now = self._clock.now_ns()
        msg = self.store.load_next_with_headers(self.store.first_seq)
        while msg is not None:
            try:
                fire = schedules.next_fire(msg.headers, msg.ts, now)
            except schedules.ScheduleError:
                fire = None
            if fire is not None:
                found[msg.subject] = (msg.seq, fire[0])
            msg = self.store.load_next_with_headers(msg.seq + 1)
        return found

    def _start_schedules(self) -> None:
        self._arm_schedules()

    def _stop_schedules(self) -> None:
        if self._schedule_timer is not None:
            self._schedule_timer.cancel()
            self._schedule_timer = None

    # -- the publish path's hooks

    def _check_schedule(self, subject: str, block: bytes) -> None:
        """A client's scheduling headers (only searched for when one is there)."""
        if schedules.PREFIX not in block:
            return
        allowed = self._schedules is not None
        try:
            subjects = self.config.get("subjects", [])
            schedules.check_schedule(block, subject, subjects, allowed, self._allow_ttl, self._now())
            schedules.check_scheduler(block, subject, allowed, self._last_headers)
        except schedules.ScheduleError as err:
            raise Reject(str(err)) from None

    def _last_headers(self, subject: str) -> bytes | None:
        last = self.store.load_last(subject)
        return None if last is None else last.headers or b""

    def _schedule_rollup(self, block: bytes | None, rollup: str | None) -> tuple[bytes | None, str | None]:
        """A client's schedule message rolls up its subject."""
        if block is None or not header(block, schedules.SCHEDULE):
            return block, rollup
        return schedules.with_rollup(block), rollup or ("sub" if self._rollup_ok else None)

    def _on_stored(self, subject: str, block: bytes | None, seq: int, now: int) -> None:
        """Keep the schedules in step with a message just stored."""
        table = self._schedules
        try:
            fire = schedules.next_fire(block, now, now)
        except schedules.ScheduleError:
            fire = None
        scheduler = header(block, schedules.SCHEDULER) if block else None
        if fire is not None:
            table[subject] = (seq, fire[0])
        elif not scheduler:
            table.pop(subject, None)
        if scheduler:
            self._after_firing(scheduler.decode(), header(block, schedules.NEXT))
        self._arm_schedules()

    def _after_firing(self, scheduler: str, next_: bytes | None) -> None:
        table = self._schedules
        if next_ == schedules.PURGE:
            table.pop(scheduler, None)
            if self._rollup_ok:  # nats-server purges with the rollups, so not under deny_purge
                self.purge(scheduler)
        elif next_ and scheduler in table:
            table[scheduler] = (table[scheduler][0], schedules.parse_time(next_.decode()))

    # -- firing

    def _arm_schedules(self) -> None:
        table = self._schedules
        due = min((fire for _, fire in table.values()), default=None) if table else None
        timer = self._schedule_timer
        if timer is not None:
            if due is not None and timer.deadline <= due:
                return
            timer.cancel()
            self._schedule_timer = None
        if due is not None:
            due = max(due, self._clock.now_ns() + schedules.MIN_DELAY)
            self._schedule_timer = Timers.of(self.server).at(due, self._fire_schedules)

    def _fire_schedules(self) -> None:
        self._schedule_timer = None
        now = self._clock.now_ns()
        due = sorted((seq, subject, fire) for subject, (seq, fire) in self._schedules.items() if fire <= now)
        for seq, subject, fire in due:
            self._fire(subject, seq, fire, now)
        self._arm_schedules()

    def _fire(self, subject: str, seq: int, due: int, now: int) -> None:
        msg = self.store.load(seq)
        produced = None
        if msg is not None and msg.headers:
            body = (msg.headers, msg.data)
            source = schedules.source_subject(msg.headers)
            last = self.store.load_last(source) if source else None
            if last is not None:
                body = (last.headers, last.data)
            produced = schedules.produce(msg.headers, subject, body, due, now)
        if produced is None:
            self._schedules.pop(subject, None)
            return
        target, block, data = produced
        try:
            self._ingest(target, len(block), block + data, sourced=True)
        except Reject as rej:
            log.warning("Scheduled message for %r refused on %r: %s", subject, self.name, rej.name)
            self._schedules.pop(subject, None)
