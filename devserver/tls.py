"""TLS for client connections: the server's SSLContext and a sans-IO TLS session.

nats-server writes INFO in plaintext, with `tls_required` (and `tls_verify` when it asks for
client certificates); the client reads it and starts the TLS handshake, and everything after
that (CONNECT onwards) is encrypted. With `handshake_first` the handshake comes first and INFO
travels inside TLS. A client that sends plaintext, or nothing within the TLS timeout (2 s by
default), is disconnected without a word, as nats-server's handshake does.

`TlsSession` does the TLS work with `ssl.MemoryBIO`s, so the connection keeps its own
transport, output buffering and flow control, and the first bytes on the wire stay in its
hands (the plaintext INFO). Only the connection calls it; it never touches a socket.

May import: the standard library only.
"""

from __future__ import annotations

import ssl
from pathlib import Path

TLS_TIMEOUT = 2.0  # seconds for the handshake, nats-server's TLS_TIMEOUT
_READ = 65536


class TlsConfigError(ValueError):
    """A TLS setting nats-server would refuse at start-up; the text is nats-server's."""


def server_context(tls: dict) -> ssl.SSLContext:
    """The SSLContext for `Options.tls` (cert_file, key_file, ca_file, verify), checked as
    nats-server's GenTLSConfig checks them."""
    cert, key, ca = tls.get("cert_file"), tls.get("key_file"), tls.get("ca_file")
    if not cert:
        raise TlsConfigError("missing 'cert_file' in TLS configuration")
    if not key:
        raise TlsConfigError("missing 'key_file' in TLS configuration")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for file in (cert, key):
        if not Path(file).is_file():
            raise TlsConfigError(
                f"error parsing X509 certificate/key pair: open {file}: no such file or directory"
            )
    try:
        context.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as err:
        raise TlsConfigError(f"error parsing X509 certificate/key pair: {_reason(err)}") from None
    if tls.get("verify"):
        context.verify_mode = ssl.CERT_REQUIRED
        if not ca:
            context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    if ca:
        path = Path(ca)
        if not path.is_file():
            raise TlsConfigError(f"open {ca}: no such file or directory")
        try:
            context.load_verify_locations(cafile=str(path))
        except (ssl.SSLError, ValueError):
            raise TlsConfigError("failed to parse root ca certificate") from None
    return context


def _reason(err: Exception) -> str:
    return getattr(err, "reason", None) or getattr(err, "strerror", None) or str(err)


class TlsSession:
    """The server side of one TLS connection, fed with network bytes.

    `receive()` returns the plaintext the bytes complete (b"" while the handshake runs) or None
    once the session failed (`error` says why); after the client's close_notify `finished` is
    set and the connection closes once it has read what came before. `wrap()` encrypts
    output; handshake replies, alerts and session tickets queue up in `outgoing()`.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self.established = False
        self.finished = False
        self.error = ""

    def receive(self, data: bytes) -> bytes | None:
        self._incoming.write(data)
        try:
            if not self.established:
                try:
                    self._ssl.do_handshake()
                except ssl.SSLWantReadError:
                    return b""
                self.established = True
            chunks = []
            while True:
                try:
                    chunk = self._ssl.read(_READ)
                except ssl.SSLWantReadError:
                    break
                if not chunk:  # the client's close_notify
                    self.finished = True
                    break
                chunks.append(chunk)
        except ssl.SSLZeroReturnError:
            self.finished = True
        except ssl.SSLError as err:
            self.error = f"TLS handshake error: {_reason(err)}" if not self.established else str(err)
            return None
        return b"".join(chunks)

    def wrap(self, data: bytes) -> bytes:
        """Encrypt output; the result includes anything else queued for the client."""
        self._ssl.write(data)
        return self._outgoing.read()

    def outgoing(self) -> bytes:
        return self._outgoing.read()

    def close_notify(self) -> bytes:
        """Our side of a clean TLS close, as Go's tls.Conn.Close sends it."""
        if self.established and not self.error:
            try:
                self._ssl.unwrap()
            except ssl.SSLError:
                pass
        return self._outgoing.read()
