"""One client connection: transport bytes -> parser -> server, and buffered output back.

The asyncio layer stays thin: parsing is in `protocol`, routing in `server`. Output frames
are queued and written once per loop turn, so a burst of deliveries costs one write.
"""

from __future__ import annotations

import asyncio
import logging

from devserver.auth import NRG_PREFIX, RESERVED_REPLIES, SYS_QUEUE
from devserver.protocol import encode
from devserver.protocol.ops import (
    CONNECT,
    ERR_AUTH,
    ERR_AUTH_TIMEOUT,
    ERR_INVALID_PROTOCOL,
    ERR_INVALID_PUB_SUBJECT,
    ERR_INVALID_SUBJECT,
    ERR_MAX_CONTROL_LINE,
    ERR_MAX_PAYLOAD,
    ERR_NO_RESPONDERS_NEEDS_HEADERS,
    ERR_STALE,
    PING,
    PONG,
    PUB,
    SUB,
    UNSUB,
    ProtocolError,
)
from devserver.protocol.parser import Parser
from devserver.subjects import is_valid_publish
from devserver.sublist import Subscription
from devserver.tls import TLS_TIMEOUT

log = logging.getLogger("devserver")

STALL_MAX = 0.25  # seconds a producer may be held back for one slow reader
FLUSH_AT = 256 * 1024  # queued output bytes that are written at once instead of at the end of the turn

# nats-server's ClosedState text for the errors a connection is closed with (/connz?state=closed)
_CLOSED_STATES = {
    ERR_AUTH: "Authentication Failure",
    ERR_AUTH_TIMEOUT: "Authentication Timeout",
    ERR_STALE: "Stale Connection",
    ERR_MAX_PAYLOAD: "Maximum Message Payload Exceeded",
    ERR_MAX_CONTROL_LINE: "Maximum Control Line Exceeded",
    ERR_INVALID_PROTOCOL: "Bad Client Protocol Version",
    ERR_NO_RESPONDERS_NEEDS_HEADERS: "No Responders Requires Headers",
}


class Connection(asyncio.Protocol):
    """A client of the server; it is also the `client` of its subscriptions."""

    def __init__(self, server) -> None:
        self.server = server
        self.cid = server.next_client_id()
        self.account = server.default_account
        self.parser = Parser(server.options.max_payload, server.options.max_control_line)
        self.transport: asyncio.Transport | None = None
        self.host = ""
        self.port = 0
        self.user: str | None = None
        self.permissions = None  # devserver.auth.Permissions of the user, if it has any
        self.tls = None  # devserver.tls.TlsSession on a TLS listener
        self._tls_info = b""  # INFO held back until a handshake_first handshake is done
        # ClientOpts defaults when CONNECT is absent or silent on a key
        self.verbose = True
        self.pedantic = True
        self.echo = True
        self.headers = False
        self.no_responders = False
        self.name = ""
        self.lang = ""
        self.version = ""
        self.protocol = 0
        self.connected = False
        self.first_pong_sent = False
        self.closed = False
        self.subs: dict[bytes, Subscription] = {}
        self.pings_out = 0
        self.in_msgs = self.in_bytes = self.out_msgs = self.out_bytes = 0
        self.start_ns = server.clock.now_ns()
        self.last_ns = self.start_ns  # last activity: CONNECT, messages, subscription changes
        self.rtt_ns = 0
        self._ping_ns = 0
        self.close_reason = ""
        self._out: list[bytes] = []
        self._out_size = 0
        self._queued = False
        # flow control: producers whose reading we paused while this client's output drains
        self.write_paused = False
        self._stalled: set[Connection] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self._ping_handle: asyncio.TimerHandle | None = None

    # -- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername") or ("", 0)
        self.host, self.port = peer[0], peer[1]
        self.server.add_client(self)
        transport.set_write_buffer_limits(high=self.server.options.max_pending // 4)
        loop = asyncio.get_running_loop()
        info = encode.info(self.server.info_for(self))
        self.tls = self.server.tls_session()
        if self.tls is None:
            self.send(info)
            self._start_timers(loop)
        else:
            self._start_tls(info, loop)

    def _start_timers(self, loop: asyncio.AbstractEventLoop) -> None:
        """Auth timeout and keep-alive, once the client can talk (after any TLS handshake);
        the first PING comes sooner once the client has sent CONNECT (nats-server's order)."""
        options = self.server.options
        if options.auth_required:
            self._timers.append(loop.call_later(options.auth_timeout, self._auth_timeout))
        self._ping_handle = loop.call_later(options.ping_interval, self._ping_timer)

    def data_received(self, data: bytes) -> None:
        try:
            self._received(data)
        except Exception as err:  # noqa: BLE001 - a bug of ours costs one connection, not the server
            log.error("%s - internal error: %s: %s", self.describe(), type(err).__name__, err)
            log.debug("internal error", exc_info=True)
            self.close()

    def _received(self, data: bytes) -> None:
        if self.tls is not None:
            data = self._tls_received(data)
            if not data:
                return
        try:
            ops = self.parser.feed(data)
        except ProtocolError as err:
            self._process(err.ops)
            if not self.closed:
                self.fail(err.text, err.reason)
            return
        self._process(ops)

    # -- TLS

    def _start_tls(self, info: bytes, loop: asyncio.AbstractEventLoop) -> None:
        """INFO in plaintext, then the client's handshake (or the handshake, then INFO)."""
        tls_options = self.server.options.tls
        if tls_options.get("handshake_first"):
            self._tls_info = info
        else:
            self.transport.write(info)
        timeout = tls_options.get("timeout") or TLS_TIMEOUT
        self._timers.append(loop.call_later(timeout, self._tls_timeout))

    def _tls_received(self, data: bytes) -> bytes:
        """Decrypt, completing the handshake on the way; b"" when there is nothing to parse."""
        tls = self.tls
        handshaking = not tls.established
        plain = tls.receive(data)
        pending = tls.outgoing()
        if pending:
            self.transport.write(pending)
        if plain is None:
            self.close_reason = "TLS Handshake Error" if handshaking else "Client Closed"
            log.debug("%s - %s", self.describe(), tls.error)
            self.close()
            return b""
        if handshaking and tls.established:
            self._start_timers(asyncio.get_running_loop())
            if self._tls_info:
                self.send(self._tls_info)
                self._tls_info = b""
        if tls.finished:  # close_notify: what came with it is still read
            asyncio.get_running_loop().call_soon(self.close)
        return plain

    def _tls_timeout(self) -> None:
        if not self.tls.established:
            self.close_reason = "TLS Handshake Error"
            log.debug("%s - TLS handshake timeout", self.describe())
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cleanup()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._release_stalled()

    def stall(self, producer) -> None:
        """Slow a producer down while this client catches up, as nats-server stalls fast producers.

        The stall is short: a client that does not read at all still reaches max_pending and
        is cut off, and the producer goes on.
        """
        transport = getattr(producer, "transport", None)
        if transport is None or producer in self._stalled or producer.closed:
            return
        self._stalled.add(producer)
        transport.pause_reading()
        if len(self._stalled) == 1:
            asyncio.get_running_loop().call_later(STALL_MAX, self._release_stalled)

    def _release_stalled(self) -> None:
        for producer in self._stalled:
            if not producer.closed:
                producer.transport.resume_reading()
        self._stalled.clear()

    # -- ops

    def _process(self, ops: list[tuple]) -> None:
        server = self.server
        for op in ops:
            if op[0] != PING and op[0] != PONG:  # keep-alives are not activity
                self.last_ns = server.clock.now_ns()
                break
        route = server.route
        quiet = self._quiet_publisher()
        for op in ops:
            if self.closed:
                return
            kind = op[0]
            if kind == PUB and quiet:
                # the hot path: a connected client in neither verbose nor pedantic mode and
                # without permissions; anything unusual about the message takes the full path
                _, subject, reply, hdr, payload = op
                if hdr < 0 and subject[0] != 36 and (reply is None or not reply.startswith(RESERVED_REPLIES)):
                    self.in_msgs += 1
                    self.in_bytes += len(payload)
                    route(self, self.account, subject, reply, hdr, payload)
                    continue
            if not self.connected and kind != CONNECT and server.options.auth_required:
                self.fail(ERR_AUTH, "first operation was not CONNECT")
                return
            if kind == PUB:
                _, subject, reply, hdr, payload = op
                if hdr >= 0 and not self.headers:
                    self.fail(None, "HPUB without headers support")
                    return
                self.in_msgs += 1
                self.in_bytes += len(payload)
                if self.pedantic and not is_valid_publish(subject.decode("latin-1")):
                    self.send(encode.err(ERR_INVALID_PUB_SUBJECT))
                if (self.permissions is not None and not self.permissions.can_publish(subject)) or (
                    subject[0] == 36 and subject.startswith(NRG_PREFIX)  # 36 = "$": skip the call
                ):
                    self.send(encode.err(f'Permissions Violation for Publish to "{subject.decode()}"'))
                    continue
                if reply is not None and reply.startswith(RESERVED_REPLIES):
                    self.send(
                        encode.err(f'Permissions Violation for Publish with Reply of "{reply.decode()}"')
                    )
                    continue
                if self.verbose:
                    self.send(encode.OK)
                server.route(self, self.account, subject, reply, hdr, payload)
            elif kind == PING:
                self.send(encode.PONG)
                if self.connected and self.protocol >= 1 and not self.first_pong_sent:
                    # nats-server follows the first PONG with an INFO naming the client's account
                    self.first_pong_sent = True
                    self.send(encode.info(server.info_for(self, connect_info=True)))
            elif kind == PONG:
                self.pings_out = 0
                if self._ping_ns:
                    self.rtt_ns = server.clock.now_ns() - self._ping_ns
                    self._ping_ns = 0
            elif kind == SUB:
                self._sub(op[1], op[2], op[3])
            elif kind == UNSUB:
                self._unsub(op[1], op[2])
            elif kind == CONNECT:
                self._connect(op[1])
                quiet = self._quiet_publisher()

    def _quiet_publisher(self) -> bool:
        return self.connected and not (self.verbose or self.pedantic) and self.permissions is None

    def _connect(self, options: dict) -> None:
        server = self.server
        protocol = options.get("protocol", 0)
        if not isinstance(protocol, int) or protocol not in (0, 1):
            self.fail(ERR_INVALID_PROTOCOL)
            return
        self.protocol = protocol
        self.verbose = bool(options.get("verbose", True))
        self.pedantic = bool(options.get("pedantic", True))
        self.echo = bool(options.get("echo", True))
        self.headers = bool(options.get("headers", False))
        self.no_responders = bool(options.get("no_responders", False))
        self.name = str(options.get("name", "") or "")
        self.lang = str(options.get("lang", "") or "")
        self.version = str(options.get("version", "") or "")
        if self.no_responders and not self.headers:
            self.fail(ERR_NO_RESPONDERS_NEEDS_HEADERS)
            return
        if "account" in options or "new_account" in options or not server.authenticate(self, options):
            self.fail(ERR_AUTH, "authentication failed")
            return
        self.connected = True
        self.rtt_ns = server.clock.now_ns() - self.start_ns  # first estimate, as computeRTT
        self._ping_handle.cancel()  # the first PING after CONNECT comes early (firstClientPingInterval)
        first_ping = min(2.0, server.options.ping_interval)
        self._ping_handle = asyncio.get_running_loop().call_later(first_ping, self._ping_timer)
        if self.verbose:
            self.send(encode.OK)

    def _sub(self, subject: bytes, queue: bytes | None, sid: bytes) -> None:
        if sid in self.subs:
            if self.verbose:
                self.send(encode.OK)
            return
        if queue == SYS_QUEUE or (
            self.permissions is not None and not self.permissions.can_subscribe(subject, queue)
        ):
            text = f'Permissions Violation for Subscription to "{subject.decode()}"'
            if queue is not None:
                text += f' using queue "{queue.decode()}"'
            self.send(encode.err(text))
            return
        sub = Subscription(self, subject, queue, sid)
        if not self.account.sublist.insert(sub):
            self.send(encode.err(ERR_INVALID_SUBJECT))
            return
        self.subs[sid] = sub
        if self.verbose:
            self.send(encode.OK)

    def _unsub(self, sid: bytes, max_msgs: int | None) -> None:
        sub = self.subs.get(sid)
        if sub is not None:
            if max_msgs is not None and max_msgs > sub.delivered:
                sub.max = max_msgs
            else:
                self.remove_sub(sub)
        if self.verbose:
            self.send(encode.OK)

    def remove_sub(self, sub: Subscription) -> None:
        if self.subs.pop(sub.sid, None) is not None:
            self.account.sublist.remove(sub)

    # -- delivery (called by the server's router)

    def deliver(
        self, sub: Subscription, subject: bytes, reply: bytes | None, hdr: int, payload: bytes
    ) -> None:
        # the hot path: frame formatting and queueing inline (see encode.msg and send)
        perms = self.permissions
        if perms is not None:
            if perms.filter_deliveries and perms.delivery_denied(subject, sub.queue):
                sub.delivered -= 1  # the router counted it, nats-server drops it uncounted
                return
            if reply and perms.replies is not None:
                perms.record_reply(reply)
        if hdr < 0:
            if reply:
                frame = b"MSG %b %b %b %d\r\n%b\r\n" % (subject, sub.sid, reply, len(payload), payload)
            else:
                frame = b"MSG %b %b %d\r\n%b\r\n" % (subject, sub.sid, len(payload), payload)
        elif self.headers:
            frame = encode.hmsg(subject, sub.sid, reply, hdr, payload)
        else:
            payload = payload[hdr:]
            frame = encode.msg(subject, sub.sid, reply, payload)
        self.out_msgs += 1
        self.out_bytes += len(payload)
        if self.closed:
            return
        self._out.append(frame)
        self._out_size += len(frame)
        if self._out_size > FLUSH_AT:
            self.flush_early()
        elif not self._queued:
            self._queued = True
            self.server.queue_flush(self)

    def send(self, frame: bytes) -> None:
        if self.closed:
            return
        self._out.append(frame)
        self._out_size += len(frame)
        if self._out_size > FLUSH_AT:
            self.flush_early()  # a large burst goes out now, so flow control sees it in time
        elif not self._queued:
            self._queued = True
            self.server.queue_flush(self)

    def flush_early(self) -> None:
        """Write the queued output before the end of the loop turn. The server's `before_flush`
        hooks run first, as at the end of a turn: an acknowledgement queued here must not leave
        before the stores have written (or fsynced) the message it acknowledges."""
        for hook in self.server.before_flush:
            hook()
        self.flush()

    def flush(self) -> None:
        self._queued = False
        if self.closed or not self._out:
            return
        self._out_size = 0
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        transport = self.transport
        transport.write(data if self.tls is None else self.tls.wrap(data))
        if transport.get_write_buffer_size() > self.server.options.max_pending:
            # A client that does not read must not grow our memory or stall the others.
            self.server.slow_consumers += 1
            self.close_reason = "Slow Consumer (Pending Bytes)"
            log.info(
                "%s - Slow Consumer Detected: MaxPending of %d Exceeded",
                self.describe(),
                self.server.options.max_pending,
            )
            self.close(abort=True)

    # -- timers and closing

    def _auth_timeout(self) -> None:
        if not self.connected:
            self.fail(ERR_AUTH_TIMEOUT)

    def _ping_timer(self) -> None:
        if self.closed:
            return
        if self.pings_out + 1 > self.server.options.ping_max:
            self.server.stale_connections += 1
            self.fail(ERR_STALE)
            return
        self.pings_out += 1
        self._ping_ns = self.server.clock.now_ns()
        self.send(encode.PING)
        self._ping_handle = asyncio.get_running_loop().call_later(
            self.server.options.ping_interval, self._ping_timer
        )

    def fail(self, text: str | None, reason: str = "") -> None:
        """Send -ERR (when nats-server would) and close."""
        self.close_reason = _CLOSED_STATES.get(text, "Parse Error")
        if text is not None:
            self.send(encode.err(text))
            log.error("%s - %s", self.describe(), text)
        else:
            log.error("%s - Client parser ERROR: %s", self.describe(), reason)
        self.close()

    def close(self, abort: bool = False) -> None:
        if self.closed:
            return
        if self._out and not abort:
            self.flush_early()
        self.closed = True
        self._cleanup()
        if self.transport is not None:
            if self.tls is not None and not abort:
                self.transport.write(self.tls.close_notify())
            self.transport.abort() if abort else self.transport.close()

    def _cleanup(self) -> None:
        self.closed = True
        self.close_reason = self.close_reason or "Client Closed"
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._ping_handle is not None:
            self._ping_handle.cancel()
        self.server.remove_client(self)  # while the subscriptions are there to be recorded
        for sub in list(self.subs.values()):
            self.account.sublist.remove(sub)
        self.subs.clear()

    def describe(self) -> str:
        return f"{self.host}:{self.port} - cid:{self.cid}"
