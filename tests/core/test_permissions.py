"""Publish and subscribe permissions on both servers, from a config file.

tests/core/test_server_limits.py has the basic allow/deny case; here: how subscription
subjects meet wildcard and queue entries, the delivery-time deny filter, reserved reply
subjects, allow_responses, and the seed's ACL pattern (a user limited to one stream's API
subjects) driven by nats-py's JetStream API.
"""

from __future__ import annotations

import time

import nats
import pytest
from nats.js.api import ConsumerConfig

from tests.wire import Wire

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def conf_server(make_server, tmp_path):
    def start(text: str, jetstream: bool = False):
        path = tmp_path / "perms.conf"
        path.write_text(text)
        return make_server(["-c", str(path)], jetstream=jetstream)

    return start


def login(port: int, user: str) -> Wire:
    return Wire(
        port,
        b'CONNECT {"verbose":false,"pedantic":false,"user":"%s","pass":"%s"}\r\n'
        % (user.encode(), user.encode()),
    )


def roundtrip(wire: Wire, data: bytes) -> bytes:
    """Send, then read everything up to the PONG of a trailing PING (without it)."""
    wire.send(data + b"PING\r\n")
    out = wire.read_until(b"PONG\r\n")
    assert out.endswith(b"PONG\r\n"), out
    return out[: -len(b"PONG\r\n")]


def sub_violation(subject: str, queue: str | None = None) -> bytes:
    text = f'Permissions Violation for Subscription to "{subject}"'
    if queue is not None:
        text += f' using queue "{queue}"'
    return f"-ERR '{text}'\r\n".encode()


SUBSCRIBE = """
authorization { users: [
  { user: a, password: a, permissions: { subscribe: {
      allow: ["foo.*", "bar.>", "baz", "q.> grp", "w.*.x", "v.* g.*"]
      deny: ["bar.secret", "bar.*.hidden", "q.deny grp"] } } }
  { user: p, password: p }
] }
"""

# (SUB arguments, allowed?) as nats-server 2.15.1 answers them
SUB_CASES = [
    ("foo.x", True),
    ("foo.*", True),
    ("foo.>", True),  # the allow entry foo.* matches the token `>` like any other
    ("foo.x.y", False),
    (">", False),
    ("*", False),
    ("bar.*", True),
    ("bar.>", True),
    ("bar.secret", False),
    ("bar.secret.x", True),
    ("bar.a.hidden", False),
    ("baz", True),
    ("w.*.x", True),
    ("w.a.x", True),
    ("w.>", False),
    ("q.x", False),  # q.> is only open to the queue group grp
    ("q.x grp", True),
    ("q.x other", False),
    ("q.deny grp", False),
    ("v.a g.1", True),  # a wildcard queue entry admits the groups under it
    ("v.a h", False),
]


@pytest.mark.parametrize(("args", "allowed"), SUB_CASES, ids=[c[0] for c in SUB_CASES])
def test_subscribe_permissions(conf_server, args, allowed):
    srv = conf_server(SUBSCRIBE)
    wire = login(srv.port, "a")
    subject, _, queue = args.partition(" ")
    out = roundtrip(wire, f"SUB {args} 1\r\n".encode())
    assert out == (b"" if allowed else sub_violation(subject, queue or None))


def test_denied_subjects_are_filtered_from_wildcard_subscriptions(conf_server):
    """`SUB bar.>` is allowed although bar.secret is denied: those messages are dropped."""
    srv = conf_server(SUBSCRIBE)
    wire = login(srv.port, "a")
    assert roundtrip(wire, b"SUB bar.> 1\r\nSUB bar.*.* 2\r\n") == b""
    publisher = login(srv.port, "p")
    roundtrip(
        publisher,
        b"PUB bar.secret 1\r\nx\r\nPUB bar.ok 1\r\ny\r\nPUB bar.a.hidden 1\r\nz\r\nPUB bar.a.b 1\r\nw\r\n",
    )
    out = roundtrip(wire, b"")
    assert sorted(out.split(b"MSG ")[1:]) == sorted(
        [b"bar.ok 1 1\r\ny\r\n", b"bar.a.b 1 1\r\nw\r\n", b"bar.a.b 2 1\r\nw\r\n"]
    )


def test_publish_permissions_with_wildcards_and_old_style_lists(conf_server):
    srv = conf_server(
        """
authorization { users: [
  { user: a, password: a, permissions: { publish: ["orders.*", "log.>"] } }
  { user: b, password: b, permissions: { publish: { deny: ["orders.*.secret", "admin.>"] } } }
  { user: c, password: c, permissions: { publish: "only.this" } }
] }
"""
    )
    a = login(srv.port, "a")
    out = roundtrip(
        a, b"PUB orders.new 0\r\n\r\nPUB orders.new.x 0\r\n\r\nPUB log.a.b 0\r\n\r\nPUB log 0\r\n\r\n"
    )
    assert out == (
        b"-ERR 'Permissions Violation for Publish to \"orders.new.x\"'\r\n"
        b"-ERR 'Permissions Violation for Publish to \"log\"'\r\n"
    )
    b = login(srv.port, "b")
    out = roundtrip(
        b, b"PUB orders.a.secret 0\r\n\r\nPUB orders.a 0\r\n\r\nPUB admin.x.y 0\r\n\r\nPUB x 0\r\n\r\n"
    )
    assert out == (
        b"-ERR 'Permissions Violation for Publish to \"orders.a.secret\"'\r\n"
        b"-ERR 'Permissions Violation for Publish to \"admin.x.y\"'\r\n"
    )
    c = login(srv.port, "c")
    assert roundtrip(c, b"PUB only.this 0\r\n\r\nPUB only 0\r\n\r\n") == (
        b"-ERR 'Permissions Violation for Publish to \"only\"'\r\n"
    )


def test_reserved_replies_and_subjects_for_every_client(make_server):
    """No permissions configured: still no `_R_.`, `$JS.ACK.`, `_GR_.` replies, `$NRG.` or `_sys_`."""
    srv = make_server(jetstream=False)
    wire = Wire(srv.port)
    out = roundtrip(
        wire,
        b"SUB > 1\r\nSUB x _sys_ 2\r\n"
        b"PUB foo _R_.x 1\r\na\r\nPUB foo $JS.ACK.S.C.1.1.1.1.0 1\r\nb\r\nPUB foo _GR_.x 1\r\nc\r\n"
        b"PUB foo _R_ 1\r\nd\r\nPUB $NRG.x 1\r\ne\r\n",
    )
    assert out == (
        b'-ERR \'Permissions Violation for Subscription to "x" using queue "_sys_"\'\r\n'
        b"-ERR 'Permissions Violation for Publish with Reply of \"_R_.x\"'\r\n"
        b"-ERR 'Permissions Violation for Publish with Reply of \"$JS.ACK.S.C.1.1.1.1.0\"'\r\n"
        b"-ERR 'Permissions Violation for Publish with Reply of \"_GR_.x\"'\r\n"
        b"MSG foo 1 _R_ 1\r\nd\r\n"
        b"-ERR 'Permissions Violation for Publish to \"$NRG.x\"'\r\n"
    )


RESPONDER = """
authorization { users: [
  { user: svc, password: svc, permissions: {
      subscribe: "requests.>"
      allow_responses: %s } }
  { user: cli, password: cli }
] }
"""


def request(client: Wire, responder: Wire, reply: str) -> None:
    """A request from `client` with reply subject `reply`, delivered to the responder."""
    roundtrip(client, f"PUB requests.a {reply} 1\r\nq\r\n".encode())
    assert roundtrip(responder, b"") == f"MSG requests.a 1 {reply} 1\r\nq\r\n".encode()


def test_allow_responses_once_per_request(conf_server):
    srv = conf_server(RESPONDER % "true")
    svc, cli = login(srv.port, "svc"), login(srv.port, "cli")
    roundtrip(svc, b"SUB requests.> 1\r\n")
    roundtrip(cli, b"SUB _INBOX.> 1\r\n")
    # publish permissions are now "responses only"
    assert (
        roundtrip(svc, b"PUB anything 0\r\n\r\n")
        == b"-ERR 'Permissions Violation for Publish to \"anything\"'\r\n"
    )
    request(cli, svc, "_INBOX.r1")
    denied = b"-ERR 'Permissions Violation for Publish to \"_INBOX.r1\"'\r\n"
    assert roundtrip(svc, b"PUB _INBOX.r1 1\r\na\r\nPUB _INBOX.r1 1\r\nb\r\n") == denied  # max 1 by default
    assert roundtrip(cli, b"") == b"MSG _INBOX.r1 1 1\r\na\r\n"
    assert (
        roundtrip(svc, b"PUB _INBOX.r2 1\r\nc\r\n")
        == b"-ERR 'Permissions Violation for Publish to \"_INBOX.r2\"'\r\n"
    )


def test_allow_responses_max(conf_server):
    srv = conf_server(RESPONDER % "{ max: 3 }")
    svc, cli = login(srv.port, "svc"), login(srv.port, "cli")
    roundtrip(svc, b"SUB requests.> 1\r\n")
    request(cli, svc, "_INBOX.m")
    assert roundtrip(svc, b"PUB _INBOX.m 0\r\n\r\n" * 3) == b""
    assert (
        roundtrip(svc, b"PUB _INBOX.m 0\r\n\r\n")
        == b"-ERR 'Permissions Violation for Publish to \"_INBOX.m\"'\r\n"
    )


def test_allow_responses_expire(conf_server):
    srv = conf_server(RESPONDER % '{ max: -1, expires: "300ms" }')  # unlimited responses, for 300 ms
    svc, cli = login(srv.port, "svc"), login(srv.port, "cli")
    roundtrip(svc, b"SUB requests.> 1\r\n")
    request(cli, svc, "_INBOX.t")
    delivered = time.monotonic()
    out = b""
    while not out and time.monotonic() < delivered + 10:  # allowed until the permission expires
        out = roundtrip(svc, b"PUB _INBOX.t 0\r\n\r\n")
    assert out == b"-ERR 'Permissions Violation for Publish to \"_INBOX.t\"'\r\n"
    assert time.monotonic() - delivered > 0.2  # the server started its clock a little earlier


# -- the seed's ACL pattern: one user, one stream


ACL = """
jetstream: enabled
authorization { users: [
  { user: admin, password: admin }
  { user: worker, password: worker, permissions: {
      publish: {
        allow: [
          "$JS.API.STREAM.INFO.ORDERS"
          "$JS.API.CONSUMER.INFO.ORDERS.NEW"
          "$JS.API.CONSUMER.MSG.NEXT.ORDERS.NEW"
          "$JS.ACK.ORDERS.NEW.>"
        ]
      }
      subscribe: "_INBOX.>"
  } }
] }
"""


async def test_user_limited_to_one_streams_api(conf_server):
    srv = conf_server(ACL, jetstream=True)
    host = srv.url.removeprefix("nats://")
    admin = await nats.connect(f"nats://admin:admin@{host}", allow_reconnect=False)
    errors: list[str] = []

    async def on_error(err: Exception) -> None:
        errors.append(str(err))

    worker = await nats.connect(f"nats://worker:worker@{host}", allow_reconnect=False, error_cb=on_error)
    try:
        ajs = admin.jetstream()
        await ajs.add_stream(name="ORDERS", subjects=["ORDERS.*"])
        await ajs.add_stream(name="OTHER", subjects=["OTHER.*"])
        await ajs.add_consumer("ORDERS", ConsumerConfig(durable_name="NEW", ack_policy="explicit"))
        for i in range(3):
            await ajs.publish("ORDERS.received", f"order {i}".encode())

        js = worker.jetstream(timeout=1)
        assert (await js.stream_info("ORDERS")).state.messages == 3
        assert (await js.consumer_info("ORDERS", "NEW")).num_pending == 3
        sub = await js.pull_subscribe_bind(durable="NEW", stream="ORDERS")
        msgs = await sub.fetch(3, timeout=5)
        assert [m.data for m in msgs] == [b"order 0", b"order 1", b"order 2"]
        for msg in msgs:
            await msg.ack()
        await worker.flush()
        info = await ajs.consumer_info("ORDERS", "NEW")
        assert (info.num_ack_pending, info.ack_floor.stream_seq) == (0, 3)

        for call in (
            js.stream_info("OTHER"),
            js.add_stream(name="MINE", subjects=["mine"]),
            js.publish("ORDERS.x", b""),
        ):
            with pytest.raises(nats.errors.TimeoutError):
                await call
        await worker.flush()
        assert errors == [
            'nats: permissions violation for publish to "$js.api.stream.info.other"',
            'nats: permissions violation for publish to "$js.api.stream.create.mine"',
            'nats: permissions violation for publish to "orders.x"',
        ]
        assert worker.is_connected  # a permissions violation does not end the connection
        assert (await ajs.stream_info("ORDERS")).state.messages == 3
    finally:
        await worker.close()
        await admin.close()
