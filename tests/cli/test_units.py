"""units.py: durations and sizes as users type them and as the API sends them."""

import pytest

from nats_cli.units import (
    UNLIMITED,
    format_duration,
    format_int,
    format_size,
    parse_count,
    parse_duration,
    parse_size,
)

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1y", 365 * 24 * 3600 * S),
        ("2w", 14 * 24 * 3600 * S),
        ("3d", 3 * 24 * 3600 * S),
        ("4h", 4 * 3600 * S),
        ("5m", 300 * S),
        ("6s", 6 * S),
        ("100ms", 100_000_000),
        ("250us", 250_000),
        ("10ns", 10),
        ("1M", 30 * 24 * 3600 * S),
        ("1y 2w 3d 4h 5m 6s 100ms", (365 + 14 + 3) * 86400 * S + 4 * 3600 * S + 306 * S + 100_000_000),
        ("1h30m", 5400 * S),
        ("8760h0m0s", 365 * 86400 * S),
        ("1.5h", 5400 * S),
        ("2D", 2 * 86400 * S),
        ("0", 0),
        ("-1", UNLIMITED),
        ("unlimited", UNLIMITED),
        ("never", UNLIMITED),
    ],
)
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10", 'missing unit in duration "10"'),
        ("1x", 'unknown unit "x"'),
        ("abc", 'invalid duration "abc"'),
        ("", "empty duration"),
        ("-5s", 'invalid duration "-5s"'),
    ],
)
def test_parse_duration_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (10, "10ns"),
        (1500, "1.5µs"),
        (100_000_000, "100ms"),
        (1_500_000_000, "1.5s"),
        (30 * S, "30s"),
        (120 * S, "2m0s"),
        (5400 * S, "1h30m0s"),
        (365 * 86400 * S, "8760h0m0s"),
        (2 * 365 * 86400 * S, "17520h0m0s"),
    ],
)
def test_format_duration_is_gos(ns, text):
    assert format_duration(ns) == text


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1GB", 1 << 30),
        ("1G", 1 << 30),
        ("1GiB", 1 << 30),
        ("512MiB", 512 << 20),
        ("512mb", 512 << 20),
        ("100K", 100 << 10),
        ("1024", 1024),
        ("2TB", 2 << 40),
        ("1.5KB", 1536),
        ("-1", UNLIMITED),
        ("unlimited", UNLIMITED),
        (4096, 4096),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["1XB", "GB", "1 2", "-2", "-5MB"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (147, "147 B"), (1536, "1.5 KiB"), (256 << 20, "256 MiB"), (int(6.4 * 2**30), "6.4 GiB")],
)
def test_format_size(size, text):
    assert format_size(size) == text


def test_counts():
    assert parse_count("1,000") == 1000
    assert parse_count("-1") == UNLIMITED
    assert format_int(1_000_001) == "1,000,001"
    with pytest.raises(ValueError, match='invalid number "x"'):
        parse_count("x")
