"""TLS on the client port, on both servers: INFO in plaintext, then the client's handshake.

Certificates come from trustme (a throwaway CA). nats-py connects with an SSLContext; raw
sockets check what a plaintext or silent client gets (nothing: the connection is closed).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
import time

import nats
import pytest
import trustme

from tests.servers import free_port, nats_server_binary
from tests.wire import CLOSED, Wire

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client@example.com")
    other_ca = trustme.CA()
    paths = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key", "client_cert", "client_key")}
    ca.cert_pem.write_to_path(paths["ca"])
    server.cert_chain_pems[0].write_to_path(paths["cert"])
    server.private_key_pem.write_to_path(paths["key"])
    client.cert_chain_pems[0].write_to_path(paths["client_cert"])
    client.private_key_pem.write_to_path(paths["client_key"])
    return {"paths": {k: str(v) for k, v in paths.items()}, "ca": ca, "client": client, "other_ca": other_ca}


def tls_conf(pki: dict, **extra: object) -> str:
    paths = pki["paths"]
    lines = [f'cert_file: "{paths["cert"]}"', f'key_file: "{paths["key"]}"']
    if extra.pop("with_ca", False):
        lines.append(f'ca_file: "{paths["ca"]}"')
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    return "tls {\n  " + "\n  ".join(lines) + "\n}\n"


@pytest.fixture
def tls_server(make_server, tmp_path):
    def start(text: str, jetstream: bool = False):
        path = tmp_path / "tls.conf"
        path.write_text(text)
        return make_server(["-c", str(path)], jetstream=jetstream)

    return start


def client_context(pki: dict, cert: bool = False, trusted: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    (pki["ca"] if trusted else pki["other_ca"]).configure_trust(context)
    if cert:
        pki["client"].configure_cert(context)
    return context


async def connect(url: str, context: ssl.SSLContext, **kwargs) -> nats.NATS:
    return await nats.connect(
        url, tls=context, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3, **kwargs
    )


def test_info_announces_tls(tls_server, pki):
    info = Wire(tls_server(tls_conf(pki)).port, None).info
    assert info["tls_required"] is True
    assert "tls_verify" not in info
    keys = list(info)
    assert keys.index("headers") < keys.index("tls_required") < keys.index("max_payload")


def test_info_announces_client_verification(tls_server, pki):
    info = Wire(tls_server(tls_conf(pki, with_ca=True, verify=True)).port, None).info
    assert (info["tls_required"], info["tls_verify"]) == (True, True)


async def test_nats_py_over_tls(tls_server, pki):
    srv = tls_server(tls_conf(pki))
    nc = await connect(srv.url, client_context(pki))
    try:
        sub = await nc.subscribe("greet.*")
        payload = b"x" * 200_000  # several TLS records
        await nc.publish("greet.tls", payload)
        msg = await sub.next_msg(timeout=5)
        assert (msg.subject, msg.data) == ("greet.tls", payload)
        assert nc.connected_url.hostname == "127.0.0.1"
    finally:
        await nc.close()


async def test_tls_url_scheme(tls_server, pki):
    srv = tls_server(tls_conf(pki))
    nc = await nats.connect(
        srv.url.replace("nats://", "tls://"),
        tls=client_context(pki),
        allow_reconnect=False,
        connect_timeout=3,
    )
    await nc.flush()
    await nc.close()


async def test_jetstream_over_tls(tls_server, pki):
    srv = tls_server(tls_conf(pki), jetstream=True)
    nc = await connect(srv.url, client_context(pki))
    try:
        js = nc.jetstream()
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        acks = [await js.publish("orders.new", b"o" * 1000) for _ in range(20)]
        assert [ack.seq for ack in acks] == list(range(1, 21))
        assert (await js.stream_info("ORDERS")).state.messages == 20
    finally:
        await nc.close()


async def test_untrusted_server_certificate_is_refused_by_the_client(tls_server, pki):
    srv = tls_server(tls_conf(pki))
    with pytest.raises((ssl.SSLError, nats.errors.NoServersError, OSError)):
        await connect(srv.url, client_context(pki, trusted=False))


async def test_client_certificate_required(tls_server, pki):
    srv = tls_server(tls_conf(pki, with_ca=True, verify=True))
    nc = await connect(srv.url, client_context(pki, cert=True))
    await nc.flush()
    await nc.close()
    errors: list[Exception] = []

    async def error_cb(err: Exception) -> None:
        errors.append(err)

    with pytest.raises((ssl.SSLError, nats.errors.NoServersError, nats.errors.Error, OSError)):
        nc = await connect(srv.url, client_context(pki), error_cb=error_cb)
        await nc.flush(timeout=3)  # TLS 1.3: the refusal arrives after the client's handshake


def test_plaintext_client_is_dropped_without_a_word(tls_server, pki):
    """nats-server does not answer plaintext after INFO: the handshake fails and it closes."""
    srv = tls_server(tls_conf(pki))
    wire = Wire(srv.port, None)
    wire.send(b'CONNECT {"verbose":false}\r\nPING\r\n')
    assert wire.read_until(CLOSED, timeout=5) == CLOSED


def test_silent_client_is_dropped_after_the_tls_timeout(tls_server, pki):
    srv = tls_server(tls_conf(pki, timeout=0.5))
    wire = Wire(srv.port, None)
    assert wire.read_until(CLOSED, timeout=5) == CLOSED


def test_handshake_after_info_with_a_raw_socket(tls_server, pki):
    """The protocol order nats-py relies on: read INFO in plaintext, then wrap the socket."""
    srv = tls_server(tls_conf(pki))
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    assert raw.recv(4096).startswith(b"INFO ")
    sock = client_context(pki).wrap_socket(raw, server_hostname="127.0.0.1")
    sock.sendall(b'CONNECT {"verbose":false}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\nPING\r\n')
    data = b""
    while not data.endswith(b"PONG\r\n"):
        data += sock.recv(4096)
    assert data.startswith(b"MSG a 1 2\r\nhi\r\n")
    sock.close()


async def test_handshake_first(server_kind, pki, tmp_path):
    """`handshake_first`: TLS before INFO (nats-py `tls_handshake_first=True`)."""
    path = tmp_path / "first.conf"
    port = free_port()
    path.write_text(f"listen: 127.0.0.1:{port}\n" + tls_conf(pki, handshake_first=True))
    if server_kind == "real":
        binary = nats_server_binary()
        command = [binary or "nats-server", "-c", str(path)]
    else:
        command = [sys.executable, "-m", "devserver", "-c", str(path)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        nc = None
        for _ in range(200):  # until the listener is up
            try:
                nc = await connect(f"nats://127.0.0.1:{port}", client_context(pki), tls_handshake_first=True)
                break
            except (nats.errors.NoServersError, OSError):
                await asyncio.sleep(0.05)
        assert nc is not None, "server did not come up"
        assert nc.connected_server_version.major == 2
        await nc.flush()
        await nc.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_auth_timeout_leaves_time_for_the_handshake(tls_server, pki):
    """With TLS, nats-server's default auth timeout is the TLS timeout + 1 s (here 2.5 s, not 2 s)."""
    srv = tls_server(tls_conf(pki, timeout=1.5) + "authorization { user: a, password: b }\n")
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    started = time.monotonic()
    assert raw.recv(4096).startswith(b"INFO ")
    sock = client_context(pki).wrap_socket(raw, server_hostname="127.0.0.1")
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    assert data == b"-ERR 'Authentication Timeout'\r\n"
    assert time.monotonic() - started > 2.2
