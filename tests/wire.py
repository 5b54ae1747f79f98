"""A raw-socket client for wire tests: send literal protocol text, read what comes back."""

from __future__ import annotations

import json
import socket
import time

CLOSED = b"<CLOSED>"
DEFAULT_CONNECT = b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n'


class Wire:
    def __init__(self, port: int, connect: bytes | None = DEFAULT_CONNECT) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        line = self.read_line()
        assert line.startswith(b"INFO ")
        self.info = json.loads(line[5:])
        if connect:
            self.send(connect)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_until(self, expected: bytes, timeout: float = 3.0) -> bytes:
        """Read until `expected` is in the data (CLOSED waits for the server to close)."""
        want_close = expected.endswith(CLOSED)
        target = expected[: -len(CLOSED)] if want_close else expected
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not want_close and target in self.buf:
                break
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.buf += CLOSED
                break
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out

    def close(self) -> None:
        self.sock.close()
