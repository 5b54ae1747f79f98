"""The sans-IO parser: every input whole, one byte at a time, and with trailing bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devserver.protocol.ops import (
    CONNECT,
    ERR_MAX_CONTROL_LINE,
    ERR_MAX_PAYLOAD,
    ERR_UNKNOWN_OP,
    INFO,
    PING,
    PONG,
    PUB,
    SUB,
    UNSUB,
    ProtocolError,
)
from devserver.protocol.parser import Parser

GOOD = [
    (b"PING\r\n", [(PING,)]),
    (b"ping\r\n", [(PING,)]),
    (b"PING foo\r\n", [(PING,)]),
    (b"PONG\r\n", [(PONG,)]),
    (b"+OK\r\n", []),
    (b"INFO {}\r\n", [(INFO, b"{}")]),
    (b"PUB foo 5\r\nhello\r\n", [(PUB, b"foo", None, -1, b"hello")]),
    (b"pub foo 5\r\nhello\r\n", [(PUB, b"foo", None, -1, b"hello")]),
    (b"PUB foo bar 0\r\n\r\n", [(PUB, b"foo", b"bar", -1, b"")]),
    (b"PUB\tfoo\t\t1\r\nx\r\n", [(PUB, b"foo", None, -1, b"x")]),
    (b"PUB foo 1\nx\r\n", [(PUB, b"foo", None, -1, b"x")]),
    (b"PUB foo 4\r\n\r\n\r\n\r\n", [(PUB, b"foo", None, -1, b"\r\n\r\n")]),
    (b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", [(PUB, b"foo", None, 12, b"NATS/1.0\r\n\r\nhi")]),
    (b"HPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\n", [(PUB, b"foo", b"r", 12, b"NATS/1.0\r\n\r\n")]),
    (b"SUB foo 1\r\n", [(SUB, b"foo", None, b"1")]),
    (b"SUB foo.* q 22\r\n", [(SUB, b"foo.*", b"q", b"22")]),
    (b"UNSUB 1\r\n", [(UNSUB, b"1", None)]),
    (b"UNSUB 1 5\r\n", [(UNSUB, b"1", 5)]),
    (b"UNSUB 1 x\r\n", [(UNSUB, b"1", 0)]),
    (b'CONNECT {"verbose":false}\r\n', [(CONNECT, {"verbose": False})]),
    (b"PING\r\nPUB a 1\r\nx\r\nPONG\r\n", [(PING,), (PUB, b"a", None, -1, b"x"), (PONG,)]),
]

BAD = [
    (b"FOO\r\n", ERR_UNKNOWN_OP),
    (b"\r\n", ERR_UNKNOWN_OP),
    (b"PUB\r\n", ERR_UNKNOWN_OP),
    (b"SUB\r\n", ERR_UNKNOWN_OP),
    (b"UNSUB\r\n", ERR_UNKNOWN_OP),
    (b"PUB foo 3\r\nabcX\r\n", ERR_UNKNOWN_OP),
    (b"PUB foo 2000000\r\n", ERR_MAX_PAYLOAD),
    (b"PUB " + b"a" * 5000 + b" 1\r\n", ERR_MAX_CONTROL_LINE),
    (b"PUB foo abc\r\n", None),
    (b"PUB foo -1\r\n", None),
    (b"PUB foo 1 2 3\r\n", None),
    (b"SUB foo\r\n", None),
    (b"SUB a b c d\r\n", None),
    (b"UNSUB 1 2 3\r\n", None),
    (b"HPUB foo 5 3\r\n", None),
    (b"CONNECT {bad\r\n", None),
    (b"CONNECT\r\n", None),
    (b"-ERR 'x'\r\n", None),
]


def feed_bytewise(data: bytes) -> list:
    parser = Parser()
    ops: list = []
    for i in range(len(data)):
        ops += parser.feed(data[i : i + 1])
    return ops


@pytest.mark.parametrize(("data", "expected"), GOOD)
def test_good_frames_whole(data, expected):
    assert Parser().feed(data) == expected


@pytest.mark.parametrize(("data", "expected"), GOOD)
def test_good_frames_one_byte_at_a_time(data, expected):
    assert feed_bytewise(data) == expected


@pytest.mark.parametrize(("data", "expected"), GOOD)
def test_good_frames_with_trailing_partial_frame(data, expected):
    parser = Parser()
    assert parser.feed(data + b"PUB foo 5\r\nhel") == expected
    assert parser.feed(b"lo\r\n") == [(PUB, b"foo", None, -1, b"hello")]


@pytest.mark.parametrize(("data", "text"), BAD)
def test_bad_frames(data, text):
    with pytest.raises(ProtocolError) as err:
        Parser().feed(data)
    assert err.value.text == text


@pytest.mark.parametrize(("data", "text"), BAD)
def test_bad_frames_one_byte_at_a_time(data, text):
    with pytest.raises(ProtocolError) as err:
        feed_bytewise(data)
    assert err.value.text == text


def test_ops_before_an_error_are_kept():
    with pytest.raises(ProtocolError) as err:
        Parser().feed(b"PING\r\nSUB a 1\r\nBOGUS\r\n")
    assert err.value.ops == [(PING,), (SUB, b"a", None, b"1")]


def test_control_line_limit_applies_before_the_line_ends():
    parser = Parser()
    parser.feed(b"PUB " + b"a" * 4000)
    with pytest.raises(ProtocolError) as err:
        parser.feed(b"a" * 200)
    assert err.value.text == ERR_MAX_CONTROL_LINE


def test_max_payload_is_configurable():
    with pytest.raises(ProtocolError):
        Parser(max_payload=10).feed(b"PUB a 11\r\n")
    assert Parser(max_payload=10).feed(b"PUB a 10\r\n0123456789\r\n")[0][4] == b"0123456789"


frames = st.sampled_from([d for d, _ in GOOD] + [d for d, _ in BAD])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(frames, st.binary(max_size=64)), max_size=8), st.integers(1, 32))
def test_fuzz_parser_raises_only_protocol_errors(chunks, step):
    data = b"".join(chunks)
    parser = Parser()
    try:
        for i in range(0, len(data), step):
            parser.feed(data[i : i + step])
    except ProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(frames, min_size=1, max_size=6), st.data())
def test_fuzz_mutated_frames(chunks, data):
    raw = bytearray(b"".join(chunks))
    for _ in range(data.draw(st.integers(0, 4))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        Parser().feed(bytes(raw))
    except ProtocolError:
        pass
