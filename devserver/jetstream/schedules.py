"""Message schedules (`allow_msg_schedules`, nats-server 2.12+): the headers, patterns and checks.

Owns reading a schedule message (`Nats-Schedule` with `Nats-Schedule-Target`, `-TTL`, `-Rollup`,
`-Source`, `-Time-Zone`), when it fires (`next_fire`: `@at <RFC3339>`, `@every <Go duration>` of
at least 1s, six-field cron `sec min hour dom month dow` with names and `@hourly`-style
shorthands, in a time zone for cron only), the publish checks in nats-server's order
(`check_schedule`, `check_scheduler`) and the message a schedule produces (`produce`): the
schedule's (or its source subject's last) body and headers, without scheduling, expected-*,
Msg-Id, TTL and rollup headers, plus `Nats-Scheduler: <schedule subject>` and
`Nats-Schedule-Next: <next RFC3339Nano time>` or `purge` for a one-off. The clock-driven half
is `scheduler.Scheduler`. Pure: no clock of its own, times are Unix nanoseconds.

May import: devserver.subjects, devserver.protocol, devserver.jetstream.msgttl/timefmt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from devserver.jetstream.msgttl import TTL, parse_ttl
from devserver.jetstream.timefmt import format_time, parse_duration, parse_time
from devserver.protocol.headers import drop, get, put
from devserver.subjects import collide, is_valid_publish

SCHEDULE = b"Nats-Schedule"
TARGET = b"Nats-Schedule-Target"
SCHEDULE_TTL = b"Nats-Schedule-TTL"
SCHEDULE_ROLLUP = b"Nats-Schedule-Rollup"
SOURCE = b"Nats-Schedule-Source"
TIME_ZONE = b"Nats-Schedule-Time-Zone"
SCHEDULER = b"Nats-Scheduler"
NEXT = b"Nats-Schedule-Next"
PURGE = b"purge"
PREFIX = b"Nats-Schedul"  # every scheduling header starts so: one search skips the rest
ROLLUP = b"Nats-Rollup"
ROLLUP_SUB = b"sub"
SECOND = 1_000_000_000
MIN_DELAY = 250_000_000  # nats-server fires no sooner than this after arming its timer
_STRIPPED = (SCHEDULE, b"Nats-Expected-", b"Nats-Msg-Id", TTL, ROLLUP)  # Nats-Schedule* too
_SHORTHANDS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_MONTHS = {n: i for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DAYS = {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())}
# (min, max, names) of the six cron fields
_FIELDS = ((0, 59, None), (0, 59, None), (0, 23, None), (1, 31, None), (1, 12, _MONTHS), (0, 6, _DAYS))
_YEARS = 5  # a cron pattern that matches nothing this far ahead is invalid


class ScheduleError(Exception):
    """A refused schedule: the nats-server error constant's name."""


# -- when a schedule fires


def next_fire(block: bytes | None, ts: int, now: int) -> tuple[int, bool] | None:
    """(when, repeats) of a schedule message's next firing after `ts`; None when the message is
    no schedule; ScheduleError for a bad pattern or time zone."""
    pattern = get(block, SCHEDULE) if block else None
    if not pattern:
        return None
    zone = _zone(block)
    try:
        return _parse(pattern.decode(), zone, ts, now)
    except ValueError:
        raise ScheduleError("JSMessageSchedulesPatternInvalidErr") from None


def _zone(block: bytes) -> tzinfo | None:
    at = block.find(b"\r\n" + TIME_ZONE + b":")
    if at < 0:
        return None
    name = get(block, TIME_ZONE)
    try:
        return ZoneInfo(name.decode()) if name else _bad_zone()
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return _bad_zone()


def _bad_zone() -> tzinfo:
    raise ScheduleError("JSMessageSchedulesTimeZoneInvalidErr")


def _parse(pattern: str, zone: tzinfo | None, ts: int, now: int) -> tuple[int, bool]:
    if pattern.startswith("@at "):
        if zone is not None:
            raise ValueError("no time zone for @at")
        return parse_time(pattern[4:]), False
    if pattern.startswith("@every "):
        every = parse_duration(pattern[7:])
        if zone is not None or every < SECOND:
            raise ValueError("bad interval")
        due = _round(ts) + every
        return (due if due >= now else _round(now) + every), True
    fields = _SHORTHANDS.get(pattern, pattern)
    due = _cron(fields, zone or UTC, ts)
    if due < now:  # missed while down: fire once, not once per missed time
        due = _cron(fields, zone or UTC, _round(now))
    return due, True


def _round(ns: int) -> int:
    """Go's Time.Round(time.Second): halves go up."""
    return (ns + SECOND // 2) // SECOND * SECOND


def _cron(pattern: str, zone: tzinfo, ts: int) -> int:
    """The first time strictly after `ts` (whole seconds) that the six-field pattern matches."""
    fields = pattern.split()
    if len(fields) != 6:
        raise ValueError("six fields")
    parsed = (_field(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True))
    sec, mins, hours, dom, months, dow = parsed
    start = datetime.fromtimestamp(ts // SECOND + 1, zone)
    day = start.date()
    star = dom[1] or dow[1]
    for _ in range(366 * _YEARS):
        if day.month in months[0] and _day_matches(day, dom[0], dow[0], star):
            for h in sorted(hours[0]):
                for m in sorted(mins[0]):
                    for s in sorted(sec[0]):
                        when = datetime(day.year, day.month, day.day, h, m, s, tzinfo=zone)
                        if when >= start:
                            return int(when.timestamp()) * SECOND
        day += timedelta(days=1)
    raise ValueError("pattern exceeds maximum range")


def _day_matches(day, dom: set[int], dow: set[int], star: bool) -> bool:
    """Cron's rule: with a `*` in either day field both must match, otherwise either."""
    in_month, in_week = day.day in dom, (day.isoweekday() % 7) in dow
    return (in_month and in_week) if star else (in_month or in_week)


def _field(text: str, low: int, high: int, names: dict[str, int] | None) -> tuple[set[int], bool]:
    """The values a cron field allows and whether it was a plain `*` (or `?`)."""
    values: set[int] = set()
    star = False
    for expr in filter(None, text.split(",")):
        part, star_part = _range(expr, low, high, names)
        values |= part
        star = star or star_part
    return values, star


def _range(expr: str, low: int, high: int, names: dict[str, int] | None) -> tuple[set[int], bool]:
    span, *steps = expr.split("/")
    if len(steps) > 1:
        raise ValueError("too many slashes")
    bounds = span.split("-")
    star = bounds[0] in ("*", "?")
    if star:
        start, end = low, high
    elif len(bounds) > 2:
        raise ValueError("too many hyphens")
    else:
        start = _number(bounds[0], names)
        end = _number(bounds[1], names) if len(bounds) == 2 else start
    step = 1
    if steps:
        step = _number(steps[0], None)
        if len(bounds) == 1:
            end = high
        star = star and step <= 1
    if start < low or end > high or start > end or step == 0:
        raise ValueError("out of range")
    return set(range(start, end + 1, step)), star


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    value = int(text)  # ValueError for a non-number, as strconv.Atoi
    if value < 0 or not text.lstrip("+-").isdigit():
        raise ValueError("not a non-negative number")
    return value


# -- publish checks


def check_schedule(
    block: bytes, subject: str, stream_subjects: Iterable[str], allowed: bool, allow_ttl: bool, now: int
) -> bool:
    """A client's schedule message: refused (ScheduleError) or accepted; True when it is one."""
    try:
        fire = next_fire(block, now, now)
    except ScheduleError:
        if not allowed:
            raise ScheduleError("JSMessageSchedulesDisabledErr") from None
        raise
    if fire is None:
        return False
    if not allowed:
        raise ScheduleError("JSMessageSchedulesDisabledErr")
    ttl = get(block, SCHEDULE_TTL)
    if ttl and parse_ttl(ttl) is None:
        raise ScheduleError("JSMessageSchedulesTTLInvalidErr")
    rollup = get(block, SCHEDULE_ROLLUP)
    if rollup and rollup != ROLLUP_SUB:
        raise ScheduleError("JSMessageSchedulesRollupInvalidErr")
    if ttl and not allow_ttl:
        raise ScheduleError("JSMessageTTLDisabledErr")
    target = (get(block, TARGET) or b"").decode()
    if not target or not is_valid_publish(target) or target == subject:
        raise ScheduleError("JSMessageSchedulesTargetInvalidErr")
    source = (get(block, SOURCE) or b"").decode()
    if source and (source in (target, subject) or not is_valid_publish(source)):
        raise ScheduleError("JSMessageSchedulesSourceInvalidErr")
    subjects = list(stream_subjects)
    if not any(collide(s, target) for s in subjects):
        raise ScheduleError("JSMessageSchedulesTargetInvalidErr")
    if source and not any(collide(s, source) for s in subjects):
        raise ScheduleError("JSMessageSchedulesSourceInvalidErr")
    given = get(block, ROLLUP)
    if given is not None and given != ROLLUP_SUB:
        raise ScheduleError("JSMessageSchedulesRollupInvalidErr")
    return True


def check_scheduler(
    block: bytes, subject: str, allowed: bool, last_headers: Callable[[str], bytes | None]
) -> None:
    """`Nats-Schedule-Next` from a client may only purge a schedule, named by `Nats-Scheduler`
    (`last_headers(subject)`: the headers of the subject's newest message, b"" without)."""
    scheduler = (get(block, SCHEDULER) or b"").decode()
    next_ = get(block, NEXT)
    if not next_:
        if scheduler:
            raise ScheduleError("JSMessageSchedulesSchedulerInvalidErr")
        return
    if next_ != PURGE or not scheduler or scheduler == subject or not is_valid_publish(scheduler):
        raise ScheduleError("JSMessageSchedulesSchedulerInvalidErr")
    if not allowed:
        raise ScheduleError("JSMessageSchedulesDisabledErr")
    last = last_headers(scheduler)
    if last is not None and not get(last, SCHEDULE):
        raise ScheduleError("JSMessageSchedulesSchedulerInvalidErr")


def with_rollup(block: bytes) -> bytes:
    """A schedule replaces its subject's earlier schedule: `Nats-Rollup: sub` unless given."""
    return block if get(block, ROLLUP) is not None else put(block, ROLLUP, ROLLUP_SUB)


# -- firing


def produce(
    schedule: bytes, subject: str, body: tuple[bytes | None, bytes], due: int, now: int
) -> tuple[str, bytes, bytes] | None:
    """(target, header block, data) a schedule fired at `due` publishes; `body` is the schedule's
    own or its source's (headers, data); None when the schedule is no longer valid."""
    try:
        fire = next_fire(schedule, due, now)
    except ScheduleError:
        return None
    ttl = get(schedule, SCHEDULE_TTL)
    target = get(schedule, TARGET)
    if fire is None or not target or (ttl and parse_ttl(ttl) is None):
        return None
    headers, data = body
    block = drop(headers or b"NATS/1.0\r\n\r\n", *_STRIPPED)
    lines = [SCHEDULER + b": " + subject.encode()]
    lines.append(NEXT + b": " + (format_time(fire[0]).encode() if fire[1] else PURGE))
    if ttl:
        lines.append(TTL + b": " + ttl)
    rollup = get(schedule, SCHEDULE_ROLLUP)
    if rollup:
        lines.append(ROLLUP + b": " + rollup)
    return target.decode(), block[:-2] + b"\r\n".join(lines) + b"\r\n\r\n", data


def source_subject(schedule: bytes) -> str | None:
    value = get(schedule, SOURCE)
    return value.decode() if value else None
