"""The server: listener, accounts, client registry and message routing.

Routing is synchronous: a publish is matched in its account's sublist and handed to every
matching subscription (and one member of each queue group) before the next op is read.
Output is written once per loop turn; `before_flush` hooks run first, so a store can hand
its records to the OS (or fsync them) before any acknowledgement leaves the server.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import random
import secrets
from collections.abc import Callable

from devserver.auth import Authenticator, Permissions
from devserver.clock import Clock
from devserver.connection import Connection
from devserver.options import AUTH_TIMEOUT, RANDOM_PORT, Options
from devserver.protocol import headers as hdrs
from devserver.sublist import Sublist, Subscription
from devserver.version import API_LEVEL, GO_VERSION, VERSION

GLOBAL_ACCOUNT = "$G"

log = logging.getLogger("devserver")


def _server_id() -> str:
    """56 characters from the base32 alphabet starting with N, like an nkey server id."""
    return "N" + base64.b32encode(secrets.token_bytes(35)).decode()[:55]


class StartError(OSError):
    """The server cannot start: the message is what nats-server logs before exiting."""


class Account:
    """Subjects, subscriptions and JetStream state are isolated per account."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sublist = Sublist()
        self.jetstream = None  # set by the JetStream layer when enabled for this account


class InternalClient:
    """The `client` of the server's own subscriptions (JetStream API, streams, consumers)."""

    echo = True
    no_responders = False
    closed = False
    write_paused = False
    cid = 0  # no client connection: how /subsz shows the server's own subscriptions

    def __init__(self, account: Account, handler: Callable[[bytes, bytes | None, int, bytes], None]) -> None:
        self.account = account
        self.handler = handler

    def deliver(
        self, sub: Subscription, subject: bytes, reply: bytes | None, hdr: int, payload: bytes
    ) -> None:
        self.handler(subject, reply, hdr, payload)

    def remove_sub(self, sub: Subscription) -> None:
        self.account.sublist.remove(sub)


class Server:
    def __init__(self, options: Options, clock: Clock | None = None) -> None:
        self.options = options
        self.clock = clock or Clock()
        self.server_id = _server_id()
        self.server_name = options.server_name or self.server_id
        self.auth = Authenticator(options)
        self.accounts: dict[str, Account] = {GLOBAL_ACCOUNT: Account(GLOBAL_ACCOUNT)}
        self.default_account = self.accounts[GLOBAL_ACCOUNT]
        self.clients: dict[int, Connection] = {}
        self.total_connections = 0
        self.slow_consumers = 0
        self.stale_connections = 0
        self._closed_counts = [0, 0, 0, 0]  # in_msgs, in_bytes, out_msgs, out_bytes of closed clients
        self.before_flush: list[Callable[[], None]] = []
        self.on_stop: list[Callable[[], None]] = []
        self.on_client_closed: list[Callable[[Connection], None]] = []  # subscriptions still in place
        self.monitor = None  # devserver.monitor.Monitor when -m/--http_port is set
        self.port = options.port
        self.start_ns = self.clock.now_ns()
        self.jetstream = None
        self.tls_context = None  # ssl.SSLContext of the client listener when TLS is configured
        self._cid = 0
        self._dirty: list[Connection] = []
        self._flush_scheduled = False
        self._listener: asyncio.base_events.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        opts = self.options
        log.info("Starting nats-server")
        log.info("  Version:  %s (devserver)", VERSION)
        log.info("  Name:     %s", self.server_name)
        log.info("  ID:       %s", self.server_id)
        if opts.config_file:
            log.info("Using configuration file: %s", opts.config_file)
        if opts.http_port:
            from devserver.monitor import Monitor  # noqa: PLC0415 - loaded only when monitoring

            self.monitor = Monitor(self)
            await self.monitor.start()
        if opts.jetstream:
            self._start_jetstream()
        if opts.tls:
            from devserver.tls import TLS_TIMEOUT, server_context  # noqa: PLC0415 - ssl only with TLS

            self.tls_context = server_context(opts.tls)
            if opts.auth_timeout == AUTH_TIMEOUT:  # nats-server's default leaves time for the handshake
                opts.auth_timeout = (opts.tls.get("timeout") or TLS_TIMEOUT) + 1.0
        port = 0 if opts.port == RANDOM_PORT else opts.port
        try:
            self._listener = await self.loop.create_server(
                lambda: Connection(self), opts.host, port, reuse_address=True, backlog=1024
            )
        except OSError as err:
            why = f"listen tcp {opts.host}:{port}: bind: {os.strerror(err.errno).lower()}"
            raise StartError(f'Error listening on port: {opts.host}:{port}, "{why}"') from err
        self.port = self._listener.sockets[0].getsockname()[1]
        log.info("Listening for client connections on %s:%d", opts.host, self.port)
        if self.tls_context is not None:
            log.info("TLS required for client connections")
        log.info("Server is ready")

    def _start_jetstream(self) -> None:
        try:
            from devserver.jetstream import JetStream  # noqa: PLC0415 - optional layer
        except ImportError:
            log.warning("JetStream is not available in this build")
            return
        try:
            self.jetstream = JetStream(self)
            self.jetstream.start()
        except OSError as err:
            why = err.strerror if err.filename is None else f"{err.filename}: {err.strerror}"
            raise StartError(f"Can't start JetStream: {why}") from err

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        for conn in list(self.clients.values()):
            conn.close_reason = "Server Shutdown"
            conn.close()
        for hook in self.on_stop:
            hook()
        self._flush_all()
        if self.monitor is not None:
            await self.monitor.stop()
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None
        log.info("Server Exiting..")

    @property
    def accepting(self) -> bool:
        """The client port is open: nats-server's readyForConnections, for /healthz."""
        return self._listener is not None and self._listener.is_serving()

    # -- clients

    def next_client_id(self) -> int:
        self._cid += 1
        return self._cid

    def add_client(self, conn: Connection) -> None:
        self.clients[conn.cid] = conn
        self.total_connections += 1

    def remove_client(self, conn: Connection) -> None:
        if self.clients.pop(conn.cid, None) is None:
            return
        counts = self._closed_counts
        counts[0] += conn.in_msgs
        counts[1] += conn.in_bytes
        counts[2] += conn.out_msgs
        counts[3] += conn.out_bytes
        for hook in self.on_client_closed:
            hook(conn)

    def message_counts(self) -> tuple[int, int, int, int]:
        """in_msgs, in_bytes, out_msgs, out_bytes of all clients ever, as nats-server counts them:
        published by clients and delivered to clients, the server's own traffic left out."""
        in_msgs, in_bytes, out_msgs, out_bytes = self._closed_counts
        for conn in self.clients.values():
            in_msgs += conn.in_msgs
            in_bytes += conn.in_bytes
            out_msgs += conn.out_msgs
            out_bytes += conn.out_bytes
        return in_msgs, in_bytes, out_msgs, out_bytes

    def info_for(self, conn: Connection, connect_info: bool = False) -> dict:
        opts = self.options
        info = {
            "server_id": self.server_id,
            "server_name": self.server_name,
            "version": VERSION,
            "proto": 1,
            "go": GO_VERSION,
            "host": opts.host,
            "port": self.port,
            "headers": True,
        }
        if opts.auth_required and (connect_info or not self.auth.anonymous_allowed):
            info["auth_required"] = True  # the first INFO hides it when no_auth_user lets anyone in
        if opts.tls:
            info["tls_required"] = True
            if opts.tls.get("verify"):
                info["tls_verify"] = True
        info["max_payload"] = opts.max_payload
        if opts.jetstream:
            info["jetstream"] = True
        info["client_id"] = conn.cid
        info["client_ip"] = conn.host
        if connect_info:
            info["connect_info"] = True
            info["remote_account"] = conn.account.name
            if conn.account.name == opts.system_account:
                info["acc_is_sys"] = True
        info["api_lvl"] = API_LEVEL
        return info

    def authenticate(self, conn: Connection, connect: dict) -> bool:
        user = self.auth.check(connect)
        if user is None:
            return False
        conn.user = user.name or None
        conn.permissions = Permissions(user.permissions, self.clock.now_ns) if user.permissions else None
        conn.account = self.account(user.account)
        return True

    def tls_session(self):
        """A devserver.tls.TlsSession for a new client, or None without TLS."""
        if self.tls_context is None:
            return None
        from devserver.tls import TlsSession  # noqa: PLC0415 - loaded with the context

        return TlsSession(self.tls_context)

    def account(self, name: str) -> Account:
        if name not in self.accounts:
            self.accounts[name] = Account(name)
        return self.accounts[name]

    # -- routing

    def route(
        self, client, account: Account, subject: bytes, reply: bytes | None, hdr: int, payload: bytes
    ) -> None:
        """Deliver one published message to every interested subscription of the account."""
        plain, queues = account.sublist.match(subject)
        delivered = False
        for sub in plain:
            target = sub.client
            if target is client and not client.echo:
                continue
            delivered = True
            sub.delivered += 1
            target.deliver(sub, subject, reply, hdr, payload)
            if target.write_paused:
                target.stall(client)
            if sub.max is not None and sub.delivered >= sub.max:
                target.remove_sub(sub)
        for group in queues:
            members = group if client.echo else [s for s in group if s.client is not client]
            if not members:
                continue
            sub = members[0] if len(members) == 1 else random.choice(members)
            delivered = True
            sub.delivered += 1
            target = sub.client
            target.deliver(sub, subject, reply, hdr, payload)
            if target.write_paused:
                target.stall(client)
            if sub.max is not None and sub.delivered >= sub.max:
                sub.client.remove_sub(sub)
        if not delivered and reply and client.no_responders:
            self._no_responders(client, account, subject, reply)

    def deliver_as(
        self,
        account: Account,
        route_subject: bytes,
        msg_subject: bytes,
        reply: bytes | None,
        hdr: int,
        payload: bytes,
        producer=None,
    ) -> bool:
        """Route by `route_subject` (an inbox, a deliver subject) but show `msg_subject` on the
        MSG line, as JetStream deliveries do; False when nobody is subscribed. A `producer` (an
        object with `transport.pause_reading/resume_reading` and `closed`) is stalled while a
        receiver cannot keep up, as publishers are."""
        plain, queues = account.sublist.match(route_subject)
        if not plain and not queues:
            return False
        for sub in plain:
            target = sub.client
            sub.delivered += 1
            target.deliver(sub, msg_subject, reply, hdr, payload)
            if producer is not None and target.write_paused:
                target.stall(producer)
            if sub.max is not None and sub.delivered >= sub.max:
                target.remove_sub(sub)
        for group in queues:
            sub = group[0] if len(group) == 1 else random.choice(group)
            target = sub.client
            sub.delivered += 1
            target.deliver(sub, msg_subject, reply, hdr, payload)
            if producer is not None and target.write_paused:
                target.stall(producer)
            if sub.max is not None and sub.delivered >= sub.max:
                target.remove_sub(sub)
        return True

    def _no_responders(self, client, account: Account, subject: bytes, reply: bytes) -> None:
        """Tell a requester nobody listens: a 503 status on its own matching subscription."""
        plain, queues = account.sublist.match(reply)
        for sub in plain + [s for group in queues for s in group]:
            if sub.client is client:
                block = hdrs.build({"Nats-Subject": subject.decode("latin-1")}, status=503)
                client.deliver(sub, reply, None, len(block), block)
                return

    def publish(
        self,
        account: Account,
        subject: str,
        payload: bytes = b"",
        reply: str | None = None,
        headers: bytes | None = None,
    ) -> None:
        """A message from the server itself (API replies, advisories, deliveries)."""
        data = payload if headers is None else headers + payload
        hdr = -1 if headers is None else len(headers)
        self.route(_SERVER_CLIENT, account, subject.encode(), reply.encode() if reply else None, hdr, data)

    def subscribe(self, account: Account, subject: str, handler, queue: str | None = None) -> Subscription:
        """An internal subscription: `handler(subject, reply, header_size, payload)` per message."""
        client = InternalClient(account, handler)
        sub = Subscription(client, subject.encode(), queue.encode() if queue else None, b"")
        if not account.sublist.insert(sub):
            raise ValueError(f"invalid subject {subject!r}")
        return sub

    def unsubscribe(self, account: Account, sub: Subscription) -> None:
        account.sublist.remove(sub)

    # -- output

    def queue_flush(self, conn: Connection) -> None:
        self._dirty.append(conn)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush_all)

    def flush_now(self) -> None:
        """Write all queued output now (before_flush hooks first) instead of at the end of the
        loop turn; JetStream calls it every few acks so a long burst of publishes read in one
        go is answered while the rest is still being processed, as nats-server's writer does."""
        self._flush_all()

    def _flush_all(self) -> None:
        self._flush_scheduled = False
        for hook in self.before_flush:
            hook()
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()


class _ServerClient:
    """The publisher of the server's own messages."""

    echo = True
    no_responders = False


_SERVER_CLIENT = _ServerClient()
