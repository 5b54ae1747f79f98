"""Literal protocol text against both servers: replies and whether the connection closes.

Every expectation here was observed on nats-server 2.15.1; devserver must answer the same.
"""

from __future__ import annotations

import pytest

from tests.wire import CLOSED, Wire

ERR_UNKNOWN = b"-ERR 'Unknown Protocol Operation'\r\n" + CLOSED
QUIET = b'CONNECT {"verbose":false,"pedantic":false}\r\n'
HDRS = b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n'

CASES = [
    # (connect line or None for none at all, input, expected output)
    (QUIET, b"PING\r\n", b"PONG\r\n"),
    (QUIET, b"ping\r\n", b"PONG\r\n"),
    (QUIET, b"PINGX\r\n", b"PONG\r\n"),
    (QUIET, b"+OK\r\nPING\r\n", b"PONG\r\n"),
    (QUIET, b"PONG\r\nPING\r\n", b"PONG\r\n"),
    (QUIET, b"INFO {}\r\nPING\r\n", b"PONG\r\n"),
    (QUIET, b"SUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n", b"MSG foo 1 2\r\nhi\r\nPONG\r\n"),
    (QUIET, b"SUB foo 1\r\nPUB foo r 2\r\nhi\r\nPING\r\n", b"MSG foo 1 r 2\r\nhi\r\nPONG\r\n"),
    (QUIET, b"sub foo 1\r\npub foo 1\nx\r\nPING\r\n", b"MSG foo 1 1\r\nx\r\nPONG\r\n"),
    (QUIET, b"SUB\tfoo\t1\r\nPUB\tfoo\t\t1\r\nx\r\nPING\r\n", b"MSG foo 1 1\r\nx\r\nPONG\r\n"),
    (QUIET, b"SUB a 1\r\nPUB a 0\r\n\r\nPING\r\n", b"MSG a 1 0\r\n\r\nPONG\r\n"),
    (QUIET, b"SUB foo 1\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n", b"MSG foo 1 1\r\nx\r\nPONG\r\n"),
    (QUIET, b"SUB foo q 1\r\nPUB foo 1\r\nx\r\nPING\r\n", b"MSG foo 1 1\r\nx\r\nPONG\r\n"),
    (
        QUIET,
        b"SUB foo.> 1\r\nPUB foo 1\r\nx\r\nPUB foo.a.b 1\r\ny\r\nPING\r\n",
        b"MSG foo.a.b 1 1\r\ny\r\nPONG\r\n",
    ),
    (
        QUIET,
        b"SUB foo.* 1\r\nPUB foo.a.b 1\r\nx\r\nPUB foo.a 1\r\ny\r\nPING\r\n",
        b"MSG foo.a 1 1\r\ny\r\nPONG\r\n",
    ),
    (QUIET, b"SUB foo* 1\r\nPUB foo* 1\r\nx\r\nPING\r\n", b"MSG foo* 1 1\r\nx\r\nPONG\r\n"),
    (QUIET, b"SUB a..b 1\r\nPING\r\n", b"-ERR 'Invalid Subject'\r\nPONG\r\n"),
    (QUIET, b"SUB foo.>.a 1\r\nPING\r\n", b"-ERR 'Invalid Subject'\r\nPONG\r\n"),
    (QUIET, b"SUB foo 1\r\nUNSUB 1\r\nPUB foo 1\r\nx\r\nPING\r\n", b"PONG\r\n"),
    (QUIET, b"SUB foo 1\r\nUNSUB 1 x\r\nPUB foo 1\r\nx\r\nPING\r\n", b"PONG\r\n"),
    (QUIET, b"SUB foo 1\r\nUNSUB 1 0\r\nPUB foo 1\r\nx\r\nPING\r\n", b"PONG\r\n"),
    (QUIET, b"UNSUB 99\r\nPING\r\n", b"PONG\r\n"),
    (
        QUIET,
        b"SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n",
        b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n",
    ),
    (QUIET, b"SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n", CLOSED),
    (
        HDRS,
        b"SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n",
        b"HMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\n",
    ),
    (
        HDRS,
        b"SUB foo 1\r\nHPUB foo 10 10\r\nXXXS/1.0\r\n\r\nPING\r\n",
        b"HMSG foo 1 10 10\r\nXXXS/1.0\r\n\r\nPONG\r\n",
    ),
    (HDRS, b"HPUB foo 12 10\r\nNATS/1.0\r\n\r\n\r\n", CLOSED),
    (b'CONNECT {"verbose":false,"echo":false}\r\n', b"SUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n", b"PONG\r\n"),
    # verbose and pedantic are on when CONNECT is absent or silent about them
    (None, b"SUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n", b"+OK\r\n+OK\r\nMSG foo 1 1\r\nx\r\nPONG\r\n"),
    (b"CONNECT {}\r\n", b"PING\r\n", b"+OK\r\nPONG\r\n"),
    (
        b'CONNECT {"pedantic":true}\r\n',
        b"SUB foo 1\r\nPUB foo.* 1\r\nx\r\nPING\r\n",
        b"+OK\r\n+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\nPONG\r\n",
    ),
    # no responders: a 503 status on the requester's own matching subscription
    (
        b'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n',
        b"SUB _INBOX.x 1\r\nPUB nobody _INBOX.x 0\r\n\r\nPING\r\n",
        b"HMSG _INBOX.x 1 38 38\r\nNATS/1.0 503\r\nNats-Subject: nobody\r\n\r\n\r\nPONG\r\n",
    ),
    (QUIET, b"SUB _INBOX.x 1\r\nPUB nobody _INBOX.x 0\r\n\r\nPING\r\n", b"PONG\r\n"),
    # errors that close the connection, with and without a word
    (QUIET, b"FOO\r\n", ERR_UNKNOWN),
    (QUIET, b"\r\nPING\r\n", ERR_UNKNOWN),
    (QUIET, b"PUB\r\n", ERR_UNKNOWN),
    (QUIET, b"UNSUB\r\n", ERR_UNKNOWN),
    (QUIET, b"PUB foo 3\r\nabcX\r\nPING\r\n", ERR_UNKNOWN),
    (QUIET, b"PUB foo 2000000\r\n", b"-ERR 'Maximum Payload Violation'\r\n" + CLOSED),
    (QUIET, b"PUB " + b"a" * 5000 + b" 1\r\nx\r\n", b"-ERR 'maximum control line exceeded'\r\n" + CLOSED),
    (QUIET, b"PUB foo abc\r\nPING\r\n", CLOSED),
    (QUIET, b"PUB foo -1\r\nPING\r\n", CLOSED),
    (QUIET, b"PUB foo 1 2 3\r\nPING\r\n", CLOSED),
    (QUIET, b"SUB foo\r\nPING\r\n", CLOSED),
    (QUIET, b"SUB foo bar baz 1\r\nPING\r\n", CLOSED),
    (QUIET, b"UNSUB 1 2 3\r\n", CLOSED),
    (QUIET, b"-ERR 'x'\r\nPING\r\n", CLOSED),
    (None, b"CONNECT {bad\r\nPING\r\n", CLOSED),
    (None, b"CONNECT\r\n", CLOSED),
    (None, b'CONNECT {"protocol":2}\r\nPING\r\n', b"-ERR 'invalid client protocol'\r\n" + CLOSED),
    (
        None,
        b'CONNECT {"no_responders":true,"verbose":false}\r\nPING\r\n',
        b"-ERR 'no responders requires headers support'\r\n" + CLOSED,
    ),
]


@pytest.mark.parametrize(("connect", "data", "expected"), CASES)
def test_wire(server, connect, data, expected):
    wire = Wire(server.port, connect)
    wire.send(data)
    assert wire.read_until(expected) == expected
    wire.close()


def test_split_frames_are_reassembled(server):
    wire = Wire(server.port, QUIET)
    frames = b"SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n"
    for i in range(len(frames)):
        wire.send(frames[i : i + 1])
    assert wire.read_until(b"PONG\r\n") == b"MSG foo 1 5\r\nhello\r\nPONG\r\n"


def test_info_fields(server):
    wire = Wire(server.port, None)
    info = wire.info
    assert info["proto"] == 1
    assert info["headers"] is True
    assert info["max_payload"] == 1048576
    assert info["jetstream"] is True
    assert isinstance(info["client_id"], int)
    assert info["client_ip"] == "127.0.0.1"
    assert info["port"] == server.port
    assert len(info["server_id"]) == 56 and info["server_id"].startswith("N")
    major, minor, patch = (int(x) for x in info["version"].split("."))
    assert (major, minor) >= (2, 10)
    assert "auth_required" not in info


def test_async_info_follows_first_pong_for_protocol_1(server):
    wire = Wire(server.port, b'CONNECT {"verbose":false,"protocol":1}\r\n')
    wire.send(b"PING\r\n")
    assert wire.read_line() == b"PONG"
    line = wire.read_line()
    assert line.startswith(b"INFO ")
    assert b'"connect_info":true' in line
    wire.send(b"PING\r\n")
    assert wire.read_line() == b"PONG"


def test_queue_group_gets_each_message_once(server):
    members = [Wire(server.port, QUIET) for _ in range(3)]
    for i, member in enumerate(members):
        member.send(b"SUB work q %d\r\nPING\r\n" % i)
        assert member.read_until(b"PONG\r\n") == b"PONG\r\n"
    pub = Wire(server.port, QUIET)
    pub.send(b"PUB work 1\r\nx\r\n" * 300 + b"PING\r\n")
    pub.read_until(b"PONG\r\n")
    counts = []
    for member in members:
        member.send(b"PING\r\n")
        counts.append(member.read_until(b"PONG\r\n").count(b"MSG work"))
    assert sum(counts) == 300
    assert all(c > 0 for c in counts), counts
