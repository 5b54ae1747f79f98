"""The HTTP monitoring port (-m): nats-server's endpoints and JSON shapes, on both servers.

Behaviour tests start a server of each kind with `-m PORT` and read it over HTTP as the tools
that poll nats-server do (urllib-style requests, keep-alive, HEAD); clients are nats-py. The
request parser and the Go formatting helpers get unit tests of their own at the end.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import nats
import pytest

from devserver import monitor_js
from devserver.gojson import dumps
from devserver.httpd import HttpError, RequestParser
from devserver.monitor import BadRequest, query_bool, query_int
from devserver.monitor_connz import uptime
from tests.servers import RunningServer, free_port, start_server

pytestmark = pytest.mark.timeout(60)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        assert self.headers["content-type"] == "application/json", self.headers
        return json.loads(self.body)


@dataclass
class Monitored:
    srv: RunningServer
    http_port: int

    def get(self, path: str, method: str = "GET") -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def json(self, path: str) -> Any:
        reply = self.get(path)
        assert reply.status == 200, (path, reply.status, reply.body)
        return reply.json()


@pytest.fixture
def mon(make_server) -> Monitored:
    port = free_port()
    return Monitored(make_server(["-m", str(port)]), port)


async def connect(mon: Monitored, name: str = "") -> nats.NATS:
    return await nats.connect(mon.srv.url, name=name or None, connect_timeout=5, allow_reconnect=False)


async def until(check, timeout: float = 5.0):
    """Poll `check()` (sync) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.02)


# -- /varz


def test_varz_fields_have_nats_server_types(mon):
    v = mon.json("/varz")
    strings = ("server_id", "server_name", "version", "go", "host", "http_host", "start", "now", "uptime")
    ints = (
        "proto port max_connections ping_interval ping_max http_port max_control_line max_payload"
        " max_pending mem cores connections total_connections in_msgs in_bytes out_msgs out_bytes"
        " in_client_msgs in_client_bytes out_client_msgs out_client_bytes slow_consumers"
        " stale_connections subscriptions write_deadline routes remotes leafnodes"
    ).split()
    for key in strings:
        assert isinstance(v[key], str), key
    for key in ints:
        assert isinstance(v[key], int) and not isinstance(v[key], bool), key
    for key in ("auth_timeout", "cpu", "tls_timeout"):
        assert isinstance(v[key], int | float), key
    assert re.fullmatch(r"N[A-Z2-7]{55}", v["server_id"])
    assert RFC3339.match(v["start"]) and RFC3339.match(v["now"]) and v["now"] >= v["start"]
    assert re.fullmatch(r"(\d+[ydhm])*\d+s", v["uptime"])
    assert v["http_port"] == mon.http_port and v["port"] == mon.srv.port
    assert v["max_payload"] == 1024 * 1024 and v["mem"] > 0 and v["cores"] >= 1
    assert v["http_req_stats"]["/varz"] >= 1
    js = v["jetstream"]
    assert isinstance(js["config"]["max_memory"], int) and isinstance(js["config"]["max_storage"], int)
    assert js["config"]["store_dir"].endswith("jetstream")
    assert {"memory", "storage", "accounts", "api"} <= js["stats"].keys()
    assert isinstance(js["stats"]["api"]["total"], int)


def test_varz_without_jetstream_has_an_empty_jetstream_block(make_server):
    port = free_port()
    v = Monitored(make_server(["-m", str(port)], jetstream=False), port).json("/varz")
    assert v["jetstream"] == {}


async def test_counters_move_when_clients_publish(mon):
    # the fixture's readiness probe (a raw connection) may still be closing on nats-server
    before = await until(lambda: (v := mon.json("/varz"))["connections"] == 0 and v)
    nc = await connect(mon, "counter")
    got = []

    async def received(msg):
        got.append(msg)

    await nc.subscribe("mon.>", cb=received)
    for _ in range(10):
        await nc.publish("mon.x", b"x" * 100)
    await nc.flush()
    assert await until(lambda: len(got) == 10)

    after = await until(lambda: (v := mon.json("/varz"))["out_msgs"] - before["out_msgs"] >= 10 and v)
    assert after["in_msgs"] - before["in_msgs"] == 10
    assert after["in_bytes"] - before["in_bytes"] == 1000
    assert after["out_msgs"] - before["out_msgs"] == 10
    assert after["out_bytes"] - before["out_bytes"] == 1000
    assert after["in_client_msgs"] - before["in_client_msgs"] == 10
    assert after["connections"] == before["connections"] + 1
    assert after["total_connections"] == before["total_connections"] + 1
    assert after["subscriptions"] == before["subscriptions"] + 1

    (conn,) = mon.json("/connz")["connections"]
    assert (conn["name"], conn["lang"], conn["subscriptions"]) == ("counter", "python3", 1)
    assert (conn["in_msgs"], conn["in_bytes"], conn["out_msgs"], conn["out_bytes"]) == (10, 1000, 10, 1000)
    assert RFC3339.match(conn["last_activity"]) and conn["last_activity"] >= conn["start"]

    await nc.close()
    gone = await until(lambda: (v := mon.json("/varz"))["connections"] == before["connections"] and v)
    assert gone["in_msgs"] - before["in_msgs"] == 10  # what closed clients did still counts
    assert gone["out_msgs"] - before["out_msgs"] == 10


# -- /connz


async def test_connz_pages_sorts_and_lists_subscriptions(mon):
    clients = [await connect(mon, f"c{i}") for i in range(3)]
    try:
        for i, nc in enumerate(clients):
            await nc.subscribe(f"c{i}.in")
            for _ in range(i + 1):
                await nc.publish("nobody.listens", b"hi")
            await nc.flush()

        def settled():
            connz = mon.json("/connz")
            return connz["num_connections"] == 3 and sum(c["in_msgs"] for c in connz["connections"]) == 6

        assert await until(settled)
        connz = mon.json("/connz")
        assert (connz["total"], connz["offset"], connz["limit"]) == (3, 0, 1024)
        cids = [c["cid"] for c in connz["connections"]]
        assert cids == sorted(cids)
        for conn in connz["connections"]:
            assert {
                "kind",
                "type",
                "ip",
                "port",
                "start",
                "rtt",
                "uptime",
                "idle",
                "pending_bytes",
            } <= conn.keys()
            assert (conn["kind"], conn["type"]) == ("Client", "nats")
            assert "subscriptions_list" not in conn

        by_in = mon.json("/connz?sort=msgs_from")["connections"]
        assert [c["name"] for c in by_in] == ["c2", "c1", "c0"]
        assert [c["in_msgs"] for c in by_in] == [3, 2, 1]

        second = mon.json("/connz?sort=msgs_from&offset=1&limit=1")
        assert (second["num_connections"], second["total"], second["offset"], second["limit"]) == (1, 3, 1, 1)
        assert second["connections"][0]["name"] == "c1"

        with_subs = mon.json("/connz?subs=1")["connections"]
        assert {c["name"]: c["subscriptions_list"] for c in with_subs} == {
            "c0": ["c0.in"],
            "c1": ["c1.in"],
            "c2": ["c2.in"],
        }
        detail = mon.json("/connz?subs=detail")["connections"][0]["subscriptions_list_detail"][0]
        assert (detail["subject"], detail["sid"], detail["msgs"]) == ("c0.in", "1", 0)

        one = mon.json(f"/connz?cid={cids[1]}")
        assert [c["cid"] for c in one["connections"]] == [cids[1]] and one["limit"] == 1
        assert mon.json("/connz?auth=1")["connections"][0]["name_tag"] == "$G"
    finally:
        for nc in clients:
            await nc.close()


@pytest.mark.parametrize(
    "query, text",
    [
        ("sort=bogus", "invalid sorting option: bogus"),
        ("sort=stop", "sort by stop only valid on closed connections"),
        ("limit=abc", """Error decoding int for 'limit': strconv.Atoi: parsing "abc": invalid syntax"""),
        (
            "subs=maybe",
            """Error decoding boolean for 'subs': strconv.ParseBool: parsing "maybe": invalid syntax""",
        ),
        ("state=bogus", "Error decoding state for bogus"),
    ],
)
def test_connz_bad_options_are_refused_in_nats_server_words(mon, query, text):
    reply = mon.get(f"/connz?{query}")
    assert (reply.status, reply.body.decode()) == (400, text)


async def test_connz_keeps_closed_connections_with_a_reason(mon):
    nc = await connect(mon, "gone")
    await nc.subscribe("gone.sub")
    await nc.flush()
    cid = mon.json("/connz")["connections"][0]["cid"]
    await nc.close()

    def closed():
        return [c for c in mon.json("/connz?state=closed&subs=1")["connections"] if c["cid"] == cid]

    (conn,) = await until(closed)
    assert (conn["name"], conn["reason"], conn["subscriptions_list"]) == (
        "gone",
        "Client Closed",
        ["gone.sub"],
    )
    assert RFC3339.match(conn["stop"]) and conn["stop"] >= conn["start"]
    assert mon.json("/connz")["connections"] == []
    assert cid in [c["cid"] for c in mon.json("/connz?state=all")["connections"]]


# -- /subsz /accountz /healthz /jsz and unknown paths


async def test_subsz_counts_and_filters_subscriptions(mon):
    nc = await connect(mon)
    await nc.subscribe("mon.a")
    await nc.subscribe("mon.*", queue="workers")
    await nc.subscribe("other")
    await nc.flush()
    try:
        stats = mon.json("/subsz")
        assert stats["num_subscriptions"] >= 3 and "subscriptions_list" not in stats
        for key in ("num_cache", "num_inserts", "num_removes", "num_matches", "max_fanout"):
            assert isinstance(stats[key], int), key
        assert isinstance(stats["cache_hit_rate"], int | float) and isinstance(
            stats["avg_fanout"], int | float
        )

        found = mon.json("/subsz?subs=1&test=mon.a")
        assert found["total"] == 2
        assert sorted(s["subject"] for s in found["subscriptions_list"]) == ["mon.*", "mon.a"]
        queue = next(s for s in found["subscriptions_list"] if s["subject"] == "mon.*")
        assert (queue["qgroup"], queue["account"]) == ("workers", "$G")
        assert (
            mon.get("/subsz?test=mon.*").body == b"invalid test subject, must be valid publish subject: mon.*"
        )
    finally:
        await nc.close()


def test_accountz_lists_accounts_and_details(mon):
    assert "$G" in mon.json("/accountz")["accounts"]
    detail = mon.json("/accountz?acc=$G")["account_detail"]
    assert (detail["account_name"], detail["jetstream_enabled"], detail["expired"]) == ("$G", True, False)
    assert isinstance(detail["sublist_stats"]["num_subscriptions"], int)
    reply = mon.get("/accountz?acc=nope")
    assert (reply.status, reply.body) == (400, b"Account nope does not exist")


async def test_healthz_answers_ok_once_ready_and_checks_named_assets(mon):
    for path in ("/healthz", "/healthz?js-enabled-only=true", "/healthz?js-server-only=true"):
        reply = mon.get(path)
        assert (reply.status, reply.json()) == (200, {"status": "ok"}), path
    assert reply.headers["access-control-allow-origin"] == "*"
    bad = mon.get("/healthz?stream=S")
    assert bad.status == 400
    assert bad.json() == {
        "status": "error",
        "error": '"account" must not be empty when checking stream health',
    }
    assert mon.get("/healthz?js-enabled-only=maybe").status == 400

    nc = await connect(mon)
    try:
        await nc.jetstream().add_stream(name="HEALTH", subjects=["health.>"])
    finally:
        await nc.close()
    assert mon.get("/healthz?account=$G&stream=HEALTH").json() == {"status": "ok"}
    missing = mon.get("/healthz?account=$G&stream=NOPE")
    assert missing.status == 404
    assert missing.json() == {
        "status": "unavailable",
        "error": 'JetStream stream "NOPE" not found on account "$G"',
    }
    detailed = mon.get("/healthz?account=$G&stream=HEALTH&consumer=C&details=true")
    assert detailed.status == 404
    assert detailed.json()["errors"] == [
        {
            "type": "CONSUMER",
            "account": "$G",
            "stream": "HEALTH",
            "consumer": "C",
            "error": 'JetStream consumer "C" not found for stream "HEALTH" on account "$G"',
        }
    ]


def test_healthz_without_jetstream_is_ok(make_server):
    port = free_port()
    mon = Monitored(make_server(["-m", str(port)], jetstream=False), port)
    assert mon.json("/healthz?js-enabled-only=true") == {"status": "ok"}


async def test_jsz_shows_a_stream_created_through_nats_py(mon):
    nc = await connect(mon)
    try:
        js = nc.jetstream()
        await js.add_stream(name="MON", subjects=["mon.js.>"])
        for i in range(3):
            await js.publish("mon.js.x", f"message {i}".encode())
    finally:
        await nc.close()

    jsz = mon.json("/jsz")
    assert (jsz["streams"], jsz["messages"], jsz["total"]) == (1, 3, 1)
    assert jsz["bytes"] > 0 and jsz["storage"] == jsz["bytes"] and "account_details" not in jsz
    assert RFC3339.match(jsz["now"]) and jsz["server_id"]

    (account,) = mon.json("/jsz?streams=1")["account_details"]
    assert account["name"] == "$G"
    (stream,) = account["stream_detail"]
    assert (stream["name"], stream["state"]["messages"], stream["state"]["last_seq"]) == ("MON", 3, 3)
    assert "config" not in stream and RFC3339.match(stream["created"])

    with_config = mon.json("/jsz?acc=$G&streams=1&config=1")["account_details"][0]["stream_detail"][0]
    assert with_config["config"]["subjects"] == ["mon.js.>"]


async def test_a_client_polling_varz_for_readiness_then_running_jetstream(make_server):
    port = free_port()
    mon = Monitored(make_server(["-m", str(port)]), port)
    assert await until(lambda: mon.get("/varz").status == 200)
    nc = await connect(mon)
    try:
        js = nc.jetstream()
        await js.add_stream(name="READY", subjects=["ready.>"])
        for i in range(5):
            ack = await js.publish("ready.x", str(i).encode())
            assert ack.seq == i + 1
        sub = await js.pull_subscribe("ready.>", durable="worker")
        msgs = await sub.fetch(5, timeout=5)
        assert [m.data for m in msgs] == [b"0", b"1", b"2", b"3", b"4"]
        for msg in msgs:
            await msg.ack_sync()
    finally:
        await nc.close()
    jsz = mon.json("/jsz?consumers=1")
    assert (jsz["streams"], jsz["consumers"], jsz["messages"]) == (1, 1, 5)
    (consumer,) = jsz["account_details"][0]["stream_detail"][0]["consumer_detail"]
    assert (consumer["name"], consumer["num_ack_pending"], consumer["num_pending"]) == ("worker", 0, 0)


def test_root_links_the_endpoints(mon):
    reply = mon.get("/")
    assert reply.status == 200 and reply.headers["content-type"] == "text/html; charset=utf-8"
    assert b"./varz" in reply.body and b"./healthz" in reply.body


@pytest.mark.parametrize("path", ["/nope", "/varz/", "/VARZ"])
def test_unknown_paths_get_404(mon, path):
    reply = mon.get(path)
    assert (reply.status, reply.body) == (404, b"404 page not found\n")


def test_keep_alive_and_head(mon):
    conn = http.client.HTTPConnection("127.0.0.1", mon.http_port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        assert (first.status, first.read()) == (200, b'{"status":"ok"}')
        sock = conn.sock
        conn.request("HEAD", "/varz")
        head = conn.getresponse()
        assert (head.status, head.getheader("Content-Type"), head.read()) == (200, "application/json", b"")
        conn.request("GET", "/varz?unused=1")
        again = conn.getresponse()
        assert again.status == 200 and json.loads(again.read())["http_req_stats"]["/varz"] >= 2
        assert conn.sock is sock  # one connection served all three
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["dev-proc", "real"])
def test_start_up_log_names_the_monitoring_address(kind, tmp_path):
    port = free_port()
    srv = start_server(kind, tmp_path, ["-m", str(port)])
    try:
        assert Monitored(srv, port).get("/healthz").status == 200
    finally:
        srv.stop()
    assert f"Starting http monitor on 127.0.0.1:{port}" in srv.log_path.read_text()


# -- units: the request parser and the Go formatting


def test_parser_resumes_at_any_byte_and_serves_pipelined_requests():
    stream = (
        b"GET /connz?subs=1&sort=msgs_from HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /varz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /var%7A?acc=%24G&x=a+b&x=2 HTTP/1.0\r\n\r\n"
    )
    for step in (len(stream), 1, 7):
        parser = RequestParser()
        requests = []
        for i in range(0, len(stream), step):
            requests += parser.feed(stream[i : i + step])
        assert [(r.method, r.path, r.keep_alive, r.http10) for r in requests] == [
            ("GET", "/connz", True, False),
            ("POST", "/varz", True, False),
            ("GET", "/varz", False, True),
        ]
        assert requests[0].query == {"subs": "1", "sort": "msgs_from"}
        assert requests[2].query == {"acc": "$G", "x": "a b"}


@pytest.mark.parametrize(
    "data, status",
    [
        (b"GET /varz\r\n\r\n", 400),
        (b"GET /varz HTTP/2.0\r\n\r\n", 505),
        (b"GET /varz HTTP/1.1\r\nbroken header\r\n\r\n", 400),
        (b"POST /varz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"GET /" + b"x" * 2000 + b" HTTP/1.1\r\n", 431),
    ],
)
def test_parser_refuses_what_it_cannot_serve(data, status):
    with pytest.raises(HttpError) as err:
        RequestParser(max_header_bytes=1024).feed(data)
    assert err.value.status == status


def test_json_is_written_as_encoding_json_writes_it():
    doc = {"subject": "a.>", "q": "<&>", "n": 1, "f": 0.5, "t": True, "z": None, "l": ["é"], "e": {}}
    assert (
        dumps(doc, indent=False)
        == (
            '{"subject":"a.\\u003e","q":"\\u003c\\u0026\\u003e","n":1,"f":0.5,"t":true,"z":null,"l":["é"],"e":{}}'
        ).encode()
    )
    assert json.loads(dumps(doc)) == doc
    assert (
        dumps({"a": [1, {}], "b": {"c": []}})
        == b'{\n  "a": [\n    1,\n    {}\n  ],\n  "b": {\n    "c": []\n  }\n}'
    )


def test_healthz_is_an_error_until_the_client_port_is_open():
    opts = monitor_js.HealthzOptions()
    assert monitor_js.healthz(None, False, False, opts) == (
        500,
        {"status": "error", "error": "failed to be ready for connections after 1ms: server"},
    )
    assert monitor_js.healthz(None, True, False, opts) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0s"),
        (59, "59s"),
        (61, "1m1s"),
        (3600, "1h0m0s"),
        (90061, "1d1h1m1s"),
        (366 * 86400, "1y1d0h0m0s"),
    ],
)
def test_uptime_is_written_as_nats_server_does(seconds, text):
    assert uptime(seconds * 1_000_000_000 + 999) == text


def test_query_values_are_parsed_as_go_strconv_does():
    assert query_bool({"x": "T"}, "x") and not query_bool({}, "x") and not query_bool({"x": "0"}, "x")
    assert query_int({"n": "-5"}, "n") == -5 and query_int({}, "n") == 0
    with pytest.raises(BadRequest, match='strconv.ParseUint: parsing "-1": invalid syntax'):
        query_int({"cid": "-1"}, "cid", unsigned=True)
    with pytest.raises(BadRequest, match="value out of range"):
        query_int({"n": "99999999999999999999"}, "n")
