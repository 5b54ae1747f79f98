"""Durations, sizes and counts: parsing what users type and formatting what servers send.

Pure functions, standard library only. Durations are nanoseconds (the API's unit), sizes are
bytes with 1024-based units, and -1 means unlimited everywhere.

    parse_duration("1y 2w 3d 4h 5m 6s 100ms")   parse_size("512MiB")   parse_size("1GB") == 2**30
    format_duration(31536000000000000) == "8760h0m0s"   (Go's time.Duration spelling, as natscli)
"""

from __future__ import annotations

import re

UNLIMITED = -1

NS = 1
US = 1_000
MS = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 30 * DAY
YEAR = 365 * DAY

# unit spelling -> nanoseconds; "m" is minutes and "M" months, as natscli.
_DURATION_UNITS = {
    "ns": NS,
    "us": US,
    "µs": US,
    "ms": MS,
    "s": SECOND,
    "sec": SECOND,
    "m": MINUTE,
    "min": MINUTE,
    "h": HOUR,
    "d": DAY,
    "w": WEEK,
    "M": MONTH,
    "y": YEAR,
}
_CASELESS = {"s", "h", "d", "w", "y"}
_UNLIMITED_WORDS = {"-1", "unlimited", "none", "never", "inf", "infinite"}

_TERM = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|sec|min|[a-zA-Z])")


def _unit(name: str) -> int | None:
    if name in _DURATION_UNITS:
        return _DURATION_UNITS[name]
    if name.lower() in _CASELESS:
        return _DURATION_UNITS[name.lower()]
    return None


def parse_duration(text: str | int) -> int:
    """Nanoseconds from `1y 2w 3d 4h 5m 6s 100ms` (terms may be joined: `1h30m`).

    `-1`, `unlimited`, `none` and `never` give UNLIMITED (-1); `0` gives 0. A number without a
    unit is refused, because `10` could mean anything. Raises ValueError with a readable message.
    """
    if isinstance(text, int):
        return text
    s = text.strip()
    if s.lower() in _UNLIMITED_WORDS:
        return UNLIMITED
    if s in ("0", ""):
        if s == "":
            raise ValueError("empty duration")
        return 0
    pos, total = 0, 0
    while pos < len(s):
        m = _TERM.match(s, pos)
        if not m:
            rest = s[pos:].strip()
            if rest and re.fullmatch(r"-?\d+(\.\d+)?", rest):
                raise ValueError(f'missing unit in duration "{text}" (use e.g. 30s, 5m, 2h, 1d, 1y)')
            raise ValueError(f'invalid duration "{text}" (use e.g. 1y 2w 3d 4h 5m 6s 100ms)')
        unit = _unit(m.group(2))
        if unit is None:
            raise ValueError(f'unknown unit "{m.group(2)}" in duration "{text}"')
        num = m.group(1)
        total += int(num) * unit if num.isdigit() else int(round(float(num) * unit))
        pos = m.end()
        while pos < len(s) and s[pos] in " ,":
            pos += 1
    return total


def format_duration(ns: int | float) -> str:
    """Go's time.Duration.String(): 0s, 100ms, 1.5s, 2m0s, 8760h0m0s."""
    ns = int(ns)
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < SECOND:
        if u < US:
            out = f"{u}ns"
        elif u < MS:
            out = _fraction(u, US) + "µs"
        else:
            out = _fraction(u, MS) + "ms"
    else:
        hours, rem = divmod(u, HOUR)
        minutes, rem = divmod(rem, MINUTE)
        secs = _fraction(rem, SECOND) + "s"
        if hours:
            out = f"{hours}h{minutes}m{secs}"
        elif minutes:
            out = f"{minutes}m{secs}"
        else:
            out = secs
    return "-" + out if neg else out


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")


def format_duration_or(ns: int | None, zero: str = "unlimited") -> str:
    """format_duration, but 0/None/negative read as `zero` (e.g. max_age 0 = unlimited)."""
    if not ns or ns < 0:
        return zero
    return format_duration(ns)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
    "t": 1 << 40,
    "tb": 1 << 40,
    "tib": 1 << 40,
    "p": 1 << 50,
    "pb": 1 << 50,
    "pib": 1 << 50,
}


def parse_size(text: str | int) -> int:
    """Bytes from `1GB`, `512MiB`, `100K`, `1024` (all units 1024-based); -1/unlimited = -1."""
    if isinstance(text, int):
        return text
    s = text.strip()
    if s.lower() in _UNLIMITED_WORDS or (s.startswith("-") and s[1:].strip().isdigit()):
        if s.startswith("-") and s not in ("-1",):
            raise ValueError(f'invalid size "{text}": only -1 (unlimited) may be negative')
        return UNLIMITED
    m = _SIZE.match(s)
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f'invalid size "{text}" (use e.g. 1024, 512KiB, 256MB, 1GB, or -1)')
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


def parse_count(text: str | int) -> int:
    """An integer count; -1/unlimited = -1. Accepts `1,000` and `1_000`."""
    if isinstance(text, int):
        return text
    s = text.strip()
    if s.lower() in _UNLIMITED_WORDS:
        return UNLIMITED
    try:
        return int(s.replace(",", "").replace("_", ""))
    except ValueError:
        raise ValueError(f'invalid number "{text}"') from None


_IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]


def format_size(n: int | float) -> str:
    """IEC bytes like go-humanize: 0 B, 147 B, 1.5 KiB, 256 MiB."""
    n = float(n)
    if n < 1024:
        return f"{int(n)} B"
    i = 0
    while n >= 1024 and i < len(_IEC) - 1:
        n /= 1024
        i += 1
    return f"{n:.1f} {_IEC[i]}" if n < 10 else f"{n:.0f} {_IEC[i]}"


def format_int(n: int | None) -> str:
    """Thousands separators: 1,000,001."""
    return f"{int(n or 0):,}"
