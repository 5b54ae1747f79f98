"""Go's time formats as nats-server writes them: RFC 3339 timestamps and Duration.String().

Owns the conversions between integer nanoseconds and the text nats-server puts in JSON and
status lines: `format_time` (UTC, RFC3339Nano, trailing zeros trimmed, Go's zero time for 0),
`parse_time` and `normalize_time` (an RFC 3339 value re-written as Go re-marshals it, keeping
its offset) and `go_duration` (`1m30s`, `500ms`). Standard library only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

ZERO_TIME = "0001-01-01T00:00:00Z"
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _fraction(ns: int) -> str:
    return f".{ns:09d}".rstrip("0") if ns else ""


def format_time(ns: int) -> str:
    """Unix nanoseconds as Go's RFC3339Nano in UTC; 0 is Go's zero time."""
    if ns == 0:
        return ZERO_TIME
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}{_fraction(frac)}Z"


def _parse(text: str) -> tuple[int, int]:
    """(Unix nanoseconds, offset in minutes) of an RFC 3339 timestamp; ValueError if malformed."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = int((m.group(7) or "").ljust(9, "0") or 0)
    offset = 0
    if m.group(9):
        offset = int(m.group(10)) * 60 + int(m.group(11))
        offset = -offset if m.group(9) == "-" else offset
    local = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    seconds = int((local - _EPOCH).total_seconds()) - offset * 60
    return seconds * 1_000_000_000 + frac, offset


def parse_time(text: str) -> int:
    """Unix nanoseconds of an RFC 3339 timestamp; ValueError if malformed."""
    return _parse(text)[0]


def normalize_time(text: str) -> str:
    """An RFC 3339 value as Go marshals it back: same offset, fraction trimmed."""
    ns, offset = _parse(text)
    seconds, frac = divmod(ns, 1_000_000_000)
    zone = timezone(timedelta(minutes=offset))
    stamp = datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%dT%H:%M:%S")
    if offset == 0:
        suffix = "Z"
    else:
        sign = "-" if offset < 0 else "+"
        suffix = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return f"{stamp}{_fraction(frac)}{suffix}"


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): `0s`, `1.5µs`, `500ms`, `2m0s`, `1h30m0s`."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                whole, rest = divmod(ns, size)
                digits = len(str(size)) - 1
                frac = f".{rest:0{digits}d}".rstrip("0") if rest else ""
                return f"{sign}{whole}{frac}{unit}"
    hours, rest = divmod(ns, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    seconds, frac_ns = divmod(rest, 1_000_000_000)
    text = f"{seconds}{_fraction(frac_ns)}s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return f"{sign}{text}"


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_UNITS.update({"m": 60 * 1_000_000_000, "h": 3600 * 1_000_000_000})


def parse_duration(text: str) -> int:
    """Go's time.ParseDuration (`1.5s`, `2m30s`, `-1h`) in nanoseconds; ValueError if malformed."""
    rest = text.strip()
    sign = -1 if rest.startswith("-") else 1
    rest = rest.lstrip("+-")
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(rest):
        m = _DURATION_PART.match(rest, pos)
        if not m:
            raise ValueError(f"invalid duration {text!r}")
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * int(round(total))


def utc_time(text: str) -> str:
    """An RFC 3339 value moved to UTC as Go's `t.UTC()` marshals it (any year, no float)."""
    ns = parse_time(text)
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp.zfill(19)}{_fraction(frac)}Z"


GO_RFC3339 = "2006-01-02T15:04:05Z07:00"
# time.Parse's walk over the RFC 3339 layout: (layout element, what the value must start with)
_LAYOUT = (
    ("2006", re.compile(r"\d{4}")),
    ("-", re.compile("-")),
    ("01", re.compile(r"\d{2}")),
    ("-", re.compile("-")),
    ("02", re.compile(r"\d{2}")),
    ("T", re.compile("T")),
    ("15", re.compile(r"\d{2}")),
    (":", re.compile(":")),
    ("04", re.compile(r"\d{2}")),
    (":", re.compile(":")),
    ("05", re.compile(r"\d{2}(?:[.,]\d+)?")),
    ("Z07:00", re.compile(r"Z|[+-]\d{2}:\d{2}")),
)


def go_time_error(text: str) -> str:
    """time.Parse(time.RFC3339)'s error text for a malformed timestamp (the common cases)."""
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    rest = text
    for element, pattern in _LAYOUT:
        m = pattern.match(rest)
        if m is None:
            shown = '"' + rest.replace("\\", "\\\\").replace('"', '\\"') + '"'
            return f'parsing time {quoted} as "{GO_RFC3339}": cannot parse {shown} as "{element}"'
        rest = rest[m.end() :]
    if rest:
        return f'parsing time {quoted}: extra text: "{rest}"'
    return f"parsing time {quoted}: out of range"
