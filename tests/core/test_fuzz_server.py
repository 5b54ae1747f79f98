"""Random and mutated frames sent to a live server: it answers with -ERR or closes, never dies.

On devserver, nothing it logs may be a Python traceback.
"""

from __future__ import annotations

import logging
import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.test_parser import BAD, GOOD
from tests.wire import Wire

FRAMES = (
    [d for d, _ in GOOD]
    + [d for d, _ in BAD]
    + [
        b'CONNECT {"verbose":true,"headers":true}\r\n',
        b"HPUB a r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        b"SUB a.* q 7\r\n",
        b"UNSUB 7 1\r\n",
    ]
)


def blast(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.recv(4096)
        try:
            sock.sendall(data + b"\r\nPING\r\n")
            sock.settimeout(0.2)
            while sock.recv(65536):
                pass
        except OSError:
            pass


def test_server_survives_garbage(server, caplog):
    caplog.set_level(logging.DEBUG)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.lists(st.one_of(st.sampled_from(FRAMES), st.binary(max_size=40)), min_size=1, max_size=6),
        st.data(),
    )
    def run(chunks, data):
        raw = bytearray(b"".join(chunks))
        for _ in range(data.draw(st.integers(0, 3))):
            if raw:
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        blast(server.port, bytes(raw))

    run()
    wire = Wire(server.port)
    wire.send(b"PING\r\n")
    assert wire.read_until(b"PONG\r\n") == b"PONG\r\n"
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, tracebacks[0].getMessage()
