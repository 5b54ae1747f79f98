"""A small HTTP/1.1 server for the monitoring port: keep-alive, pipelining, query strings.

It owns the wire side only: `RequestParser` turns bytes into `Request`s (sans-IO, no asyncio),
`encode` turns a `Response` into bytes, and `HttpServer` is the thin asyncio layer that joins
the two around a handler (`Request -> Response`, synchronous: the handlers read server state
on the event loop that changes it). Like Go's net/http, every method is answered as GET would
be, HEAD without a body. Imports only the standard library.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

MAX_HEADER_BYTES = 1 << 20  # net/http's DefaultMaxHeaderBytes
TEXT = "text/plain; charset=utf-8"

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}

log = logging.getLogger("devserver")


class HttpError(Exception):
    """A request the parser cannot serve; the connection answers `status` and closes."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]  # the first value of each key, as Go's URL.Query().Get
    keep_alive: bool
    http10: bool = False  # an HTTP/1.0 client keeps the connection only when told so


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = TEXT
    headers: list[tuple[str, str]] = field(default_factory=list)


class RequestParser:
    """Incremental: feed any slice of the stream, get the requests it completes."""

    def __init__(self, max_header_bytes: int = MAX_HEADER_BYTES) -> None:
        self._buf = bytearray()
        self._skip = 0  # request body bytes still to discard
        self._max = max_header_bytes

    def feed(self, data: bytes) -> list[Request]:
        buf = self._buf
        buf += data
        out: list[Request] = []
        while True:
            if self._skip:
                n = min(self._skip, len(buf))
                del buf[:n]
                self._skip -= n
                if self._skip:
                    return out
            while buf[:2] == b"\r\n" or buf[:1] == b"\n":  # stray CRLF between requests
                del buf[: 2 if buf[:1] == b"\r" else 1]
            end, sep = _head_end(buf)
            if end < 0:
                if len(buf) > self._max:
                    raise HttpError(431, "431 Request Header Fields Too Large")
                return out
            head = bytes(buf[:end])
            del buf[: end + sep]
            request, self._skip = _parse_head(head)
            out.append(request)


def _head_end(buf: bytearray) -> tuple[int, int]:
    """Where the header block ends and how long its blank line is (CRLF or a bare LF)."""
    crlf = buf.find(b"\r\n\r\n")
    lf = buf.find(b"\n\n")
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, 2
    return crlf, 4


def _parse_head(head: bytes) -> tuple[Request, int]:
    lines = head.decode("latin-1").split("\n")
    parts = lines[0].rstrip("\r").split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise HttpError(400, "400 Bad Request: malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505, "505 HTTP Version Not Supported")
    connection = ""
    length = 0
    for line in lines[1:]:
        name, colon, value = line.rstrip("\r").partition(":")
        if not colon:
            raise HttpError(400, "400 Bad Request: malformed header line")
        name = name.strip().lower()
        value = value.strip()
        if name == "connection":
            connection = value.lower()
        elif name == "content-length":
            if not value.isdigit():
                raise HttpError(400, "400 Bad Request: bad Content-Length")
            length = int(value)
        elif name == "transfer-encoding" and value.lower() != "identity":
            raise HttpError(501, "501 Not Implemented: request bodies must have a Content-Length")
    if version == "HTTP/1.1":
        keep_alive = "close" not in connection
    else:
        keep_alive = "keep-alive" in connection
    path, query = _split_target(target)
    return Request(method, path, query, keep_alive, version == "HTTP/1.0"), length


def _split_target(target: str) -> tuple[str, dict[str, str]]:
    if target.startswith("/"):
        path, _, raw_query = target.partition("?")
    else:  # absolute-form, as sent to proxies
        parts = urlsplit(target)
        path, raw_query = parts.path or "/", parts.query
    if "%" in path:
        path = unquote(path)
    query: dict[str, str] = {}
    if raw_query:
        for pair in raw_query.split("&"):
            if not pair:
                continue
            key, _, value = pair.partition("=")
            if "%" in key or "+" in key:
                key = unquote(key.replace("+", " "))
            if "%" in value or "+" in value:
                value = unquote(value.replace("+", " "))
            query.setdefault(key, value)
    return path, query


class _DateHeader:
    """The Date header changes once a second; format it once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True)
        return self._value


_date = _DateHeader()


def encode(response: Response, head_only: bool = False, close: bool = False, keep: bool = False) -> bytes:
    """The response bytes; `close` or `keep` add the Connection header that says so."""
    lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}"]
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    lines.append(f"Content-Type: {response.content_type}")
    lines.append(f"Date: {_date()}")
    lines.append(f"Content-Length: {len(response.body)}")
    if close:
        lines.append("Connection: close")
    elif keep:
        lines.append("Connection: keep-alive")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + response.body


Handler = Callable[[Request], Response]


class _HttpConnection(asyncio.Protocol):
    def __init__(self, handler: Handler, live: set[_HttpConnection]) -> None:
        self._handler = handler
        self._live = live
        self._parser = RequestParser()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._live.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._live.discard(self)

    def pause_writing(self) -> None:
        # a client that pipelines requests but does not read the answers waits for itself
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        try:
            requests = self._parser.feed(data)
        except HttpError as err:
            transport.write(encode(Response(err.status, err.text.encode()), close=True))
            transport.close()
            return
        for request in requests:
            response = self._respond(request)
            head_only = request.method == "HEAD"
            keep = request.http10 and request.keep_alive
            transport.write(encode(response, head_only, close=not request.keep_alive, keep=keep))
            if not request.keep_alive:
                transport.close()
                return

    def _respond(self, request: Request) -> Response:
        try:
            return self._handler(request)
        except Exception:
            log.exception("Error serving monitoring request %s", request.path)
            return Response(500, b"500 Internal Server Error")


class HttpServer:
    """Listens on the event loop it is started on; `stop` also drops kept-alive connections."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._live: set[_HttpConnection] = set()
        self._listener: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Bind (port 0: any free port) and return the port bound."""
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            lambda: _HttpConnection(self._handler, self._live), host, port, reuse_address=True
        )
        return self._listener.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._listener is None:
            return
        self._listener.close()
        for conn in list(self._live):
            conn.transport.abort()
        await self._listener.wait_closed()
        self._listener = None
