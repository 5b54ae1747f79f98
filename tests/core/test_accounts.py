"""Accounts on both servers: separate subject spaces, who lands where, JetStream per account.

tests/jetstream/test_account.py covers `$JS.API.INFO` usage and the stream-level limit errors;
here: core isolation, `$G` next to named accounts, no_auth_user, the system account, the seed's
Multi Tenancy example, and the account's consumer limit.
"""

from __future__ import annotations

import json

import nats
import pytest

from schemas import errors
from schemas import subjects as S
from tests.wire import CLOSED, Wire

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def conf_server(make_server, tmp_path):
    def start(text: str, jetstream: bool = False):
        path = tmp_path / "accounts.conf"
        path.write_text(text)
        return make_server(["-c", str(path)], jetstream=jetstream)

    return start


def login(port: int, user: str | None, protocol: int = 0) -> Wire:
    creds = "" if user is None else f',"user":"{user}","pass":"{user}"'
    connect = f'{{"verbose":false,"pedantic":false,"protocol":{protocol}{creds}}}'
    return Wire(port, f"CONNECT {connect}\r\n".encode())


REFUSED = b"-ERR 'Authorization Violation'\r\n" + CLOSED


def refused(wire: Wire) -> bool:
    wire.send(b"PING\r\n")
    return wire.read_until(REFUSED) == REFUSED


def roundtrip(wire: Wire, data: bytes = b"") -> bytes:
    wire.send(data + b"PING\r\n")
    out = wire.read_until(b"PONG\r\n")
    assert out.endswith(b"PONG\r\n"), out
    return out[: -len(b"PONG\r\n")]


def connect_info(port: int, user: str | None) -> tuple[dict, dict]:
    """The first INFO, and the one nats-server sends after the first PONG to a protocol-1 client."""
    wire = login(port, user, protocol=1)
    wire.send(b"PING\r\n")
    assert wire.read_line() == b"PONG"
    line = wire.read_line()
    assert line.startswith(b"INFO "), line
    return wire.info, json.loads(line[5:])


TWO = """
authorization { users: [ {user: g, password: g} ] }
accounts {
  A: { users: [ {user: a, password: a}, {user: a2, password: a2} ] }
  B: { users: [ {user: b, password: b} ] }
}
"""


def test_subjects_are_per_account(conf_server):
    srv = conf_server(TWO)
    a, a2, b, g = (login(srv.port, u) for u in ("a", "a2", "b", "g"))
    for wire in (a, a2, b, g):
        roundtrip(wire, b"SUB orders.* 1\r\n")
    assert roundtrip(a, b"PUB orders.new 2\r\nhi\r\n") == b"MSG orders.new 1 2\r\nhi\r\n"
    assert roundtrip(b, b"PUB orders.new 3\r\nbye\r\n") == b"MSG orders.new 1 3\r\nbye\r\n"
    assert roundtrip(a2) == b"MSG orders.new 1 2\r\nhi\r\n"
    assert roundtrip(g) == b""  # the global account $G is one more account


def test_request_reply_stays_in_the_account(conf_server):
    """No responders in B: a request there gets 503 although A has a responder."""
    srv = conf_server(TWO)
    responder = Wire(srv.port, b'CONNECT {"verbose":false,"user":"a","pass":"a","headers":true}\r\n')
    roundtrip(responder, b"SUB svc 1\r\n")
    b = Wire(
        srv.port, b'CONNECT {"verbose":false,"user":"b","pass":"b","headers":true,"no_responders":true}\r\n'
    )
    out = roundtrip(b, b"SUB _INBOX.1 1\r\nPUB svc _INBOX.1 0\r\n\r\n")
    assert out.startswith(b"HMSG _INBOX.1 1 ") and b"NATS/1.0 503" in out
    assert roundtrip(responder) == b""


@pytest.mark.parametrize(("user", "account"), [("g", "$G"), ("a", "A"), ("b", "B")])
def test_connect_info_names_the_account(conf_server, user, account):
    srv = conf_server(TWO)
    _, info = connect_info(srv.port, user)
    assert (info["connect_info"], info["remote_account"]) == (True, account)
    assert "acc_is_sys" not in info


def test_system_account_user(conf_server):
    srv = conf_server(
        "accounts {\n  SYS: { users: [ {user: sys, password: sys} ] }\n"
        "  A: { users: [ {user: a, password: a} ] }\n}\nsystem_account: SYS\n"
    )
    _, info = connect_info(srv.port, "sys")
    assert (info["remote_account"], info["acc_is_sys"]) == ("SYS", True)
    assert refused(login(srv.port, None))


def test_only_a_system_account_lets_anonymous_clients_into_the_global_account(conf_server):
    """nats-server's rule: with just the system account configured, no credentials means $G."""
    srv = conf_server("accounts { SYS: { users: [ {user: sys, password: sys} ] } }\nsystem_account: SYS\n")
    first, info = connect_info(srv.port, None)
    assert (first["auth_required"], info["remote_account"]) == (True, "$G")
    assert refused(Wire(srv.port, b'CONNECT {"verbose":false,"user":"sys","pass":"nope"}\r\n'))


def test_no_auth_user(conf_server):
    srv = conf_server(TWO + "no_auth_user: b\n")
    first, info = connect_info(srv.port, None)
    assert "auth_required" not in first  # the client need not send credentials ...
    assert (info["remote_account"], info["auth_required"]) == ("B", True)  # ... though auth is on
    assert connect_info(srv.port, "a")[1]["remote_account"] == "A"
    assert refused(Wire(srv.port, b'CONNECT {"verbose":false,"user":"a","pass":"wrong"}\r\n'))


async def test_nats_py_with_no_auth_user(conf_server):
    srv = conf_server(TWO + "no_auth_user: a\n")
    nc = await nats.connect(srv.url, allow_reconnect=False)
    other = await nats.connect(srv.url.replace("nats://", "nats://a2:a2@"), allow_reconnect=False)
    try:
        sub = await other.subscribe("x")
        await other.flush()
        await nc.publish("x", b"same account")
        assert (await sub.next_msg(timeout=5)).data == b"same account"
    finally:
        await nc.close()
        await other.close()


# -- JetStream per account


async def request(nc: nats.NATS, subject: str, body: dict | None = None) -> dict:
    msg = await nc.request(subject, json.dumps(body).encode() if body is not None else b"", timeout=5)
    return json.loads(msg.data)


SEED = """
jetstream {
    max_mem: 1G
    max_file: 100G
}
accounts {
    HR: {
        jetstream {
            max_mem: 512M
            max_file: 1G
            max_streams: 10
            max_consumers: 100
        }
        users: [ {user: hr, password: hr} ]
    }
    SALES: { jetstream: enabled, users: [ {user: sales, password: sales} ] }
}
authorization { users: [ {user: g, password: g} ] }
"""


async def test_seed_multi_tenancy_limits(conf_server):
    """The seed's HR account: $JS.API.INFO shows the limits as configured (512M = 512,000,000)."""
    srv = conf_server(SEED, jetstream=True)
    host = srv.url.removeprefix("nats://")
    hr = await nats.connect(f"nats://hr:hr@{host}", allow_reconnect=False)
    sales = await nats.connect(f"nats://sales:sales@{host}", allow_reconnect=False)
    anyone = await nats.connect(f"nats://g:g@{host}", allow_reconnect=False)
    try:
        limits = (await request(hr, S.account_info()))["limits"]
        assert {k: limits[k] for k in ("max_memory", "max_storage", "max_streams", "max_consumers")} == {
            "max_memory": 512_000_000,
            "max_storage": 1_000_000_000,
            "max_streams": 10,
            "max_consumers": 100,
        }
        limits = (await request(sales, S.account_info()))["limits"]
        assert (limits["max_memory"], limits["max_storage"], limits["max_streams"]) == (-1, -1, -1)
        # with an accounts block, the global account has no JetStream
        reply = await request(anyone, S.account_info())
        assert reply["error"] == errors.error("JSNotEnabledForAccountErr")
    finally:
        for nc in (hr, sales, anyone):
            await nc.close()


async def test_streams_are_per_account(conf_server):
    srv = conf_server(SEED, jetstream=True)
    host = srv.url.removeprefix("nats://")
    hr = await nats.connect(f"nats://hr:hr@{host}", allow_reconnect=False)
    sales = await nats.connect(f"nats://sales:sales@{host}", allow_reconnect=False)
    try:
        await hr.jetstream().add_stream(name="EVENTS", subjects=["events.>"])
        await sales.jetstream().add_stream(name="LEADS", subjects=["events.>"])  # same subjects, no overlap
        await hr.jetstream().publish("events.hired", b"x")
        await sales.jetstream().publish("events.won", b"y")
        await sales.jetstream().publish("events.won", b"z")
        assert (await request(hr, S.stream_names()))["streams"] == ["EVENTS"]
        assert (await request(sales, S.stream_names()))["streams"] == ["LEADS"]
        assert (await hr.jetstream().stream_info("EVENTS")).state.messages == 1
        assert (await sales.jetstream().stream_info("LEADS")).state.messages == 2
        reply = await request(hr, S.stream_info("LEADS"))
        assert reply["error"] == errors.error("JSStreamNotFoundErr")
        assert (await request(hr, S.account_info()))["streams"] == 1
    finally:
        await hr.close()
        await sales.close()


async def test_account_max_consumers(conf_server):
    """The account's max_consumers counts per stream: each stream may have that many."""
    srv = conf_server(
        "jetstream: enabled\n"
        "accounts { A: { jetstream: { max_consumers: 2 }, users: [ {user: a, password: a} ] } }\n",
        jetstream=True,
    )
    nc = await nats.connect(srv.url.replace("nats://", "nats://a:a@"), allow_reconnect=False)
    try:
        for stream in ("S1", "S2"):
            assert "error" not in await request(nc, S.stream_create(stream), {"name": stream})
            for name in ("c1", "c2"):
                body = {"stream_name": stream, "config": {"durable_name": name, "ack_policy": "explicit"}}
                assert "error" not in await request(nc, S.consumer_durable_create(stream, name), body)
        body = {"stream_name": "S1", "config": {"durable_name": "c3", "ack_policy": "explicit"}}
        reply = await request(nc, S.consumer_durable_create("S1", "c3"), body)
        assert reply["error"] == errors.error("JSMaximumConsumersLimitErr")
        info = await request(nc, S.account_info())
        assert (info["consumers"], info["limits"]["max_consumers"]) == (4, 2)
    finally:
        await nc.close()
