"""Limits, timers and auth, set through a nats-server config file on both servers."""

from __future__ import annotations

import socket
import threading
import time

import nats
import pytest
from nats.errors import NoServersError

from tests.wire import CLOSED, Wire

QUIET = b'CONNECT {"verbose":false,"pedantic":false}\r\n'


@pytest.fixture
def conf_server(make_server, tmp_path):
    def start(text: str, args: list[str] | None = None, proc: bool = False):
        path = tmp_path / "server.conf"
        path.write_text(text)
        return make_server(["-c", str(path), *(args or [])], jetstream=False, proc=proc)

    return start


def test_max_payload_from_config(conf_server):
    srv = conf_server("max_payload: 100\n")
    wire = Wire(srv.port, QUIET)
    assert wire.info["max_payload"] == 100
    wire.send(b"PUB foo 100\r\n" + b"x" * 100 + b"\r\nPING\r\n")
    assert wire.read_until(b"PONG\r\n") == b"PONG\r\n"
    wire.send(b"PUB foo 101\r\n")
    assert wire.read_until(b"-ERR 'Maximum Payload Violation'\r\n" + CLOSED).endswith(CLOSED)


def test_stale_connection(conf_server):
    srv = conf_server('ping_interval: "1s"\nping_max: 2\n')
    wire = Wire(srv.port, QUIET)
    expected = b"PING\r\nPING\r\n-ERR 'Stale Connection'\r\n" + CLOSED
    assert wire.read_until(expected, timeout=10) == expected


def test_answered_pings_keep_the_connection(conf_server):
    srv = conf_server('ping_interval: "500ms"\nping_max: 1\n')
    wire = Wire(srv.port, QUIET)
    for _ in range(3):
        assert wire.read_until(b"PING\r\n", timeout=5) == b"PING\r\n"
        wire.send(b"PONG\r\n")
    wire.send(b"PING\r\n")
    assert wire.read_until(b"PONG\r\n") == b"PONG\r\n"


def test_auth_timeout(conf_server):
    srv = conf_server('authorization { user: a, password: b, timeout: "500ms" }\n')
    wire = Wire(srv.port, None)
    assert wire.info["auth_required"] is True
    expected = b"-ERR 'Authentication Timeout'\r\n" + CLOSED
    assert wire.read_until(expected, timeout=5) == expected


@pytest.mark.parametrize(
    ("connect", "ok"),
    [
        (b'CONNECT {"verbose":false,"user":"a","pass":"b"}\r\n', True),
        (b'CONNECT {"verbose":false,"user":"a","pass":"x"}\r\n', False),
        (b'CONNECT {"verbose":false}\r\n', False),
    ],
)
def test_user_password(conf_server, connect, ok):
    srv = conf_server("authorization { user: a, password: b }\n")
    wire = Wire(srv.port, connect)
    wire.send(b"PING\r\n")
    expected = b"PONG\r\n" if ok else b"-ERR 'Authorization Violation'\r\n" + CLOSED
    assert wire.read_until(expected) == expected


def test_first_op_must_be_connect_when_auth_is_on(conf_server):
    srv = conf_server("authorization { token: s3cret }\n")
    wire = Wire(srv.port, None)
    wire.send(b"PING\r\n")
    expected = b"-ERR 'Authorization Violation'\r\n" + CLOSED
    assert wire.read_until(expected) == expected


def test_flags_user_and_pass(make_server):
    srv = make_server(["--user", "u", "--pass", "p"], jetstream=False)
    wire = Wire(srv.port, b'CONNECT {"verbose":false,"user":"u","pass":"p"}\r\nPING\r\n')
    assert wire.read_until(b"PONG\r\n") == b"PONG\r\n"


async def test_nats_py_token_auth(make_server):
    srv = make_server(["--auth", "s3cret"], jetstream=False)
    nc = await nats.connect(srv.url, token="s3cret")
    await nc.flush()
    await nc.close()
    with pytest.raises((NoServersError, nats.errors.Error)):
        await nats.connect(
            srv.url, token="wrong", max_reconnect_attempts=0, allow_reconnect=False, connect_timeout=2
        )


def test_permissions(conf_server):
    srv = conf_server(
        "authorization { users = [ {user: a, password: b, permissions: "
        '{publish: {allow: ["foo.>"], deny: ["foo.secret"]}, subscribe: ["foo.>", "_INBOX.>"]}} ] }\n'
    )
    wire = Wire(srv.port, b'CONNECT {"verbose":false,"user":"a","pass":"b"}\r\n')
    wire.send(
        b"SUB foo.> 1\r\nPUB foo.a 1\r\nx\r\nPUB foo.secret 1\r\ny\r\nPUB bar 1\r\nz\r\n"
        b"SUB bar 2\r\nSUB bar q 3\r\nPING\r\n"
    )
    expected = (
        b"MSG foo.a 1 1\r\nx\r\n"
        b"-ERR 'Permissions Violation for Publish to \"foo.secret\"'\r\n"
        b"-ERR 'Permissions Violation for Publish to \"bar\"'\r\n"
        b"-ERR 'Permissions Violation for Subscription to \"bar\"'\r\n"
        b'-ERR \'Permissions Violation for Subscription to "bar" using queue "q"\'\r\n'
        b"PONG\r\n"
    )
    assert wire.read_until(b"PONG\r\n") == expected


def _stuck_reader(port: int) -> socket.socket:
    """A subscriber on `foo` that never reads."""
    stuck = socket.create_connection(("127.0.0.1", port))
    stuck.recv(4096)
    stuck.sendall(QUIET + b"SUB foo 1\r\nPING\r\n")
    return stuck


FRAME = b"PUB foo 60000\r\n" + b"x" * 60000 + b"\r\n"


def test_reader_that_never_reads_stalls_nobody(conf_server):
    srv = conf_server("max_pending: 2MB\n", proc=True)
    _stuck_reader(srv.port)
    healthy = Wire(srv.port, QUIET)
    healthy.send(b"SUB foo 1\r\nPING\r\n")
    assert healthy.read_until(b"PONG\r\n") == b"PONG\r\n"
    received = bytearray()

    def drain() -> None:
        healthy.sock.settimeout(20)
        while not received.endswith(b"PONG\r\n"):
            chunk = healthy.sock.recv(1 << 20)
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    pub = Wire(srv.port, QUIET)
    for _ in range(400):
        pub.send(FRAME)
    pub.send(b"PING\r\n")
    assert pub.read_until(b"PONG\r\n", timeout=15) == b"PONG\r\n"
    healthy.send(b"PING\r\n")
    reader.join()
    assert received.count(b"MSG foo 1 60000") == 400


def test_slow_consumer_is_cut_off(conf_server):
    srv = conf_server("max_pending: 256KB\nmax_payload: 64KB\n", proc=True)
    stuck = _stuck_reader(srv.port)
    time.sleep(0.2)
    pub = Wire(srv.port, QUIET)
    for _ in range(400):
        pub.send(FRAME)
    pub.send(b"PING\r\n")
    assert pub.read_until(b"PONG\r\n", timeout=15) == b"PONG\r\n"
    time.sleep(0.5)
    stuck.settimeout(10)
    total = 0
    while chunk := stuck.recv(1 << 20):
        total += len(chunk)
    assert total < 400 * 60000 // 2  # closed long before everything was delivered
