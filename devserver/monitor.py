"""The HTTP monitoring port (-m): nats-server's monitor.go endpoints for what devserver has.

Owns `Monitor`: the route table (/varz /connz /subsz /accountz /jsz /healthz, and the
cluster-shaped /routez /leafz /gatewayz a single server answers empty), the decoding of each
endpoint's query options with nats-server's 400 texts, the /varz, /subsz and /accountz
documents, the record of closed connections, and the process figures (memory, CPU). Documents
keep nats-server's field order and leave out what Go's `omitempty` leaves out; `gojson` writes
them as Go does. Handlers run on the server's event loop, so they read its state without locks.
/connz is in `monitor_connz`, JetStream (/jsz, /healthz, the `jetstream` block) in `monitor_js`.
May import: devserver.httpd, devserver.gojson, devserver.monitor_*, devserver.server (constants),
devserver.subjects, devserver.jetstream.timefmt, the standard library.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devserver import monitor_connz, monitor_js
from devserver.gojson import dumps, go_float
from devserver.httpd import HttpServer, Request, Response
from devserver.jetstream.timefmt import format_time
from devserver.monitor_connz import DEFAULT_LIST_SIZE, page, sub_detail, uptime
from devserver.subjects import is_valid_publish, match
from devserver.version import GO_VERSION, VERSION

try:
    import resource
except ImportError:  # Windows
    resource = None

if TYPE_CHECKING:
    from devserver.connection import Connection
    from devserver.server import Account, Server

log = logging.getLogger("devserver")

JSON = "application/json"
MAX_CLOSED_CLIENTS = 10_000  # nats-server's default max_closed_clients
# nats-server defaults for settings devserver has no knob for; /varz reports them as it does
MAX_CONNECTIONS = 65_536
TLS_TIMEOUT = 2
WRITE_DEADLINE_NS = 10_000_000_000

_NOT_FOUND = Response(404, b"404 page not found\n", headers=[("X-Content-Type-Options", "nosniff")])
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_STATES = ("open", "closed", "any", "all")
# boolean options of /jsz in the order nats-server reads them: the first bad one is reported
_JSZ_FLAGS = ("accounts", "streams", "consumers", "direct-consumers", "config")
_JSZ_IGNORED = ("leader-only", "raft", "stream-leader-only")  # a single server leads everything
_ROOT_LINKS = (
    ("/varz", "General"),
    ("/jsz", "JetStream"),
    ("/connz", "Connections"),
    ("/accountz", "Accounts"),
    ("/subsz", "Subscriptions"),
    ("/routez", "Routes"),
    ("/leafz", "LeafNodes"),
    ("/gatewayz", "Gateways"),
    ("/healthz", "Health Probe"),
)


class BadRequest(Exception):
    """A query nats-server refuses with 400 and this text."""


def query_bool(query: dict[str, str], name: str) -> bool:
    """strconv.ParseBool of a query value; absent or empty is false."""
    text = query.get(name, "")
    if not text or text in _FALSE:
        return False
    if text in _TRUE:
        return True
    raise BadRequest(
        f"Error decoding boolean for '{name}': strconv.ParseBool: parsing \"{text}\": invalid syntax"
    )


def query_int(query: dict[str, str], name: str, unsigned: bool = False) -> int:
    """strconv.Atoi (or ParseUint) of a query value; absent or empty is 0."""
    text = query.get(name, "")
    if not text:
        return 0
    kind, func = ("uint64", "strconv.ParseUint") if unsigned else ("int", "strconv.Atoi")
    digits = text if unsigned or len(text) < 2 else text.removeprefix("-").removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise BadRequest(f"Error decoding {kind} for '{name}': {func}: parsing \"{text}\": invalid syntax")
    value = int(text)
    if not (0 if unsigned else -(1 << 63)) <= value < (1 << 64 if unsigned else 1 << 63):
        raise BadRequest(
            f"Error decoding {kind} for '{name}': {func}: parsing \"{text}\": value out of range"
        )
    return value


def _limit(query: dict[str, str]) -> int:
    limit = query_int(query, "limit")
    return limit if limit > 0 else DEFAULT_LIST_SIZE


class _Process:
    """Resident memory and CPU percentage of this process, as nats-server's pse package."""

    def __init__(self) -> None:
        affinity = getattr(os, "sched_getaffinity", None)
        self.cores = len(affinity(0)) if affinity else os.cpu_count() or 1
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._sample = (time.monotonic(), time.process_time())
        self._cpu = 0.0

    def rss(self) -> int:
        try:
            with open("/proc/self/statm", "rb") as f:
                return int(f.read().split()[1]) * self._page
        except OSError:  # not Linux: the peak resident size is the figure the OS keeps
            if resource is None:
                return 0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return peak if sys.platform == "darwin" else peak * 1024

    def cpu(self) -> float:
        """Percent of one core over the last second or more, to one decimal (pse's ipcpu)."""
        wall, used = time.monotonic(), time.process_time()
        last_wall, last_used = self._sample
        if wall - last_wall >= 1.0:
            self._cpu = round((used - last_used) / (wall - last_wall) * 100, 1)
            self._sample = (wall, used)
        return self._cpu


class Monitor:
    """The monitoring endpoints of one server, served by `httpd.HttpServer` on its event loop."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.host = server.options.host
        self.port = 0
        self.req_stats: dict[str, int] = {}
        self.closed: deque[dict[str, Any]] = deque(maxlen=MAX_CLOSED_CLIENTS)
        self.process = _Process()
        self._static: tuple[dict[str, Any], dict[str, Any]] | None = None
        self._http = HttpServer(self.handle)
        # path -> (the key nats-server counts it under in http_req_stats, handler)
        self._routes: dict[str, tuple[str, Callable[[dict[str, str]], Response]]] = {
            "/": ("/", self.root),
            "/varz": ("/varz", self.varz),
            "/connz": ("/connz", self.connz),
            "/subsz": ("/subsz", self.subsz),
            "/subscriptionsz": ("/subsz", self.subsz),
            "/accountz": ("/accountz", self.accountz),
            "/jsz": ("/jsz", self.jsz),
            "/healthz": ("/healthz", self.healthz),
            "/routez": ("/routez", self.routez),
            "/leafz": ("/leafz", self.leafz),
            "/gatewayz": ("/gatewayz", self.gatewayz),
        }

    async def start(self) -> None:
        port = self.server.options.http_port
        self.port = await self._http.start(self.host, 0 if port < 0 else port)
        self.server.on_client_closed.append(self._record_closed)
        log.info("Starting http monitor on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        await self._http.stop()

    def handle(self, request: Request) -> Response:
        route = self._routes.get(request.path)
        if route is None:
            return _NOT_FOUND
        stat, handler = route
        self.req_stats[stat] = self.req_stats.get(stat, 0) + 1
        try:
            return handler(request.query)
        except BadRequest as err:
            return Response(400, str(err).encode())

    @staticmethod
    def json(value: Any, status: int = 200, indent: bool = True) -> Response:
        return Response(status, dumps(value, indent), JSON, [("Access-Control-Allow-Origin", "*")])

    def _now(self) -> dict[str, Any]:
        return {"server_id": self.server.server_id, "now": format_time(self.server.clock.now_ns())}

    def _record_closed(self, conn: Connection) -> None:
        self.closed.append(monitor_connz.closed_record(conn, self.server.clock.now_ns()))

    # -- /varz

    def varz(self, query: dict[str, str]) -> Response:
        return self.json(self.varz_data())

    def varz_data(self) -> dict[str, Any]:
        srv = self.server
        now = srv.clock.now_ns()
        head, middle = self._varz_static()
        in_msgs, in_bytes, out_msgs, out_bytes = srv.message_counts()
        v = head.copy()
        v["jetstream"] = monitor_js.varz(srv.jetstream)
        v |= middle
        v |= {
            "now": format_time(now),
            "uptime": uptime(now - srv.start_ns),
            "mem": self.process.rss(),
            "cores": self.process.cores,
            "gomaxprocs": self.process.cores,
            "cpu": go_float(self.process.cpu()),
            "connections": len(srv.clients),
            "total_connections": srv.total_connections,
            "routes": 0,
            "remotes": 0,
            "leafnodes": 0,
            "in_msgs": in_msgs,
            "in_bytes": in_bytes,
            "in_client_msgs": in_msgs,
            "in_client_bytes": in_bytes,
            "out_msgs": out_msgs,
            "out_bytes": out_bytes,
            "out_client_msgs": out_msgs,
            "out_client_bytes": out_bytes,
            "slow_consumers": srv.slow_consumers,
            "stale_connections": srv.stale_connections,
            "stalled_clients": 0,
            "subscriptions": sum(acc.sublist.count for acc in srv.accounts.values()),
            "http_req_stats": dict(sorted(self.req_stats.items())),
            "config_load_time": middle["start"],
            "config_digest": "",
            "slow_consumer_stats": {"clients": srv.slow_consumers, "routes": 0, "gateways": 0, "leafs": 0},
            "stale_connection_stats": {
                "clients": srv.stale_connections,
                "routes": 0,
                "gateways": 0,
                "leafs": 0,
            },
            "disk_io_wait_stats": {"waiters": 0, "waits": 0, "wait_time": 0, "max_wait_time": 0},
        }
        return v

    def _varz_static(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The /varz fields that settle once the client port is bound: before and after `jetstream`."""
        srv = self.server
        if self._static is not None and self._static[0]["port"] == srv.port:
            return self._static
        opts = srv.options
        head: dict[str, Any] = {
            "server_id": srv.server_id,
            "server_name": srv.server_name,
            "version": VERSION,
            "proto": 1,
            "go": GO_VERSION,
            "host": opts.host,
            "port": srv.port,
        }
        if opts.auth_required:
            head["auth_required"] = True
        head |= {
            "max_connections": MAX_CONNECTIONS,
            "ping_interval": int(opts.ping_interval * 1e9),
            "ping_max": opts.ping_max,
            "http_host": self.host,
            "http_port": self.port,
            "http_base_path": "",
            "https_port": 0,
            "auth_timeout": go_float(opts.auth_timeout),
            "max_control_line": opts.max_control_line,
            "max_payload": opts.max_payload,
            "max_pending": opts.max_pending,
            "cluster": {},
            "gateway": {},
            "leaf": {},
            "mqtt": {},
            "websocket": {},
        }
        start = format_time(srv.start_ns)
        middle = {"tls_timeout": TLS_TIMEOUT, "write_deadline": WRITE_DEADLINE_NS, "start": start}
        self._static = head, middle
        return self._static

    # -- /connz

    def connz(self, query: dict[str, str]) -> Response:
        sort = query.get("sort", "")
        auth = query_bool(query, "auth")
        detail = query.get("subs", "").lower() == "detail"
        subs = not detail and query_bool(query, "subs")
        offset = max(query_int(query, "offset"), 0)
        limit = _limit(query)
        cid = query_int(query, "cid", unsigned=True)
        state = query.get("state", "").lower() or "open"
        if state not in _STATES:
            raise BadRequest(f"Error decoding state for {query['state']}")
        sort = sort or "cid"
        if sort not in monitor_connz.SORTS:
            raise BadRequest(f"invalid sorting option: {sort}")
        if sort in monitor_connz.CLOSED_ONLY_SORTS and state != "closed":
            raise BadRequest(f"sort by {sort} only valid on closed connections")
        opts = monitor_connz.ConnzOptions(
            sort=sort,
            auth=auth,
            subs=subs,
            detail=detail,
            offset=offset,
            limit=limit,
            cid=cid,
            state=state,
            user=query.get("user", ""),
            account=query.get("acc", ""),
            mqtt_client=query.get("mqtt_client", ""),
        )
        return self.json(monitor_connz.connz(self.server, self.closed, opts))

    # -- /subsz and /accountz

    def subsz(self, query: dict[str, str]) -> Response:
        want_subs = query_bool(query, "subs")
        offset = max(query_int(query, "offset"), 0)
        limit = _limit(query)
        test = query.get("test", "")
        if test and not is_valid_publish(test):
            raise BadRequest(f"invalid test subject, must be valid publish subject: {test}")
        acc = query.get("acc", "")
        accounts = [a for a in self.server.accounts.values() if not acc or a.name == acc]
        result = self._now() | sublist_stats(accounts)
        details: list[dict[str, Any]] = []
        if want_subs:
            for account in accounts:
                for sub in account.sublist.all():
                    if not test or match(test, sub.subject.decode("utf-8", "replace")):
                        details.append(sub_detail(sub, account.name))
        result |= {"total": len(details), "offset": offset, "limit": limit}
        if details:
            result["subscriptions_list"] = page(details, offset, limit)
        return self.json(result)

    def accountz(self, query: dict[str, str]) -> Response:
        srv = self.server
        name = query.get("acc", "")
        if not name:
            return self.json(self._now() | {"accounts": list(srv.accounts)})
        account = srv.accounts.get(name)
        if account is None:
            raise BadRequest(f"Account {name} does not exist")
        detail = {
            "account_name": name,
            "update_time": format_time(srv.start_ns),
            "expired": False,
            "complete": True,
            "jetstream_enabled": account.jetstream is not None,
            "leafnode_connections": 0,
            "client_connections": sum(1 for c in srv.clients.values() if c.account is account),
            "subscriptions": account.sublist.count,
            "name_tag": name,
            "sublist_stats": sublist_stats([account]),
        }
        return self.json(self._now() | {"account_detail": detail})

    # -- /jsz and /healthz

    def jsz(self, query: dict[str, str]) -> Response:
        flags = {name: query_bool(query, name) for name in _JSZ_FLAGS}
        offset, limit = query_int(query, "offset"), query_int(query, "limit")
        for name in _JSZ_IGNORED:
            query_bool(query, name)
        opts = monitor_js.JszOptions(
            account=query.get("acc", ""),
            accounts=flags["accounts"],
            streams=flags["streams"],
            consumers=flags["consumers"],
            config=flags["config"],
            offset=offset,
            limit=limit,
        )
        result = monitor_js.jsz(self.server.jetstream, opts) | self._now()
        return self.json(monitor_js.order_jsz(result))

    def healthz(self, query: dict[str, str]) -> Response:
        js_enabled = query_bool(query, "js-enabled")
        if js_enabled:
            log.warning("Healthcheck: js-enabled deprecated, use js-enabled-only instead")
        js_enabled_only = query_bool(query, "js-enabled-only")
        js_server_only = query_bool(query, "js-server-only")
        query_bool(query, "js-meta-only")  # accepted; a single server has no meta layer to check
        opts = monitor_js.HealthzOptions(
            js_enabled_only=js_enabled_only or js_enabled,
            js_server_only=js_server_only,
            account=query.get("account", ""),
            stream=query.get("stream", ""),
            consumer=query.get("consumer", ""),
            details=query_bool(query, "details"),
        )
        srv = self.server
        status, body = monitor_js.healthz(srv.jetstream, srv.accepting, srv.options.jetstream, opts)
        if "error" in body:
            log.warning('Healthcheck failed: "%s"', body["error"])
        elif "errors" in body:
            log.warning("Healthcheck failed: %d errors", len(body["errors"]))
        return self.json(body, status, indent=False)

    # -- what a single server without routes, leaf nodes or gateways answers

    def routez(self, query: dict[str, str]) -> Response:
        srv = self.server
        now = format_time(srv.clock.now_ns())
        doc = {"server_id": srv.server_id, "server_name": srv.server_name, "now": now}
        return self.json(doc | {"num_routes": 0, "routes": []})

    def leafz(self, query: dict[str, str]) -> Response:
        return self.json(self._now() | {"leafnodes": 0, "leafs": []})

    def gatewayz(self, query: dict[str, str]) -> Response:
        return self.json(self._now() | {"outbound_gateways": {}, "inbound_gateways": {}})

    def root(self, query: dict[str, str]) -> Response:
        links = "\n".join(
            f'\t<a href=.{path}>{title}<span class="endpoint"> {path}</span></a><br/>'
            for path, title in _ROOT_LINKS
        )
        html = (
            f'<html lang="en">\n\t<head>\n\t<title>devserver v{VERSION}</title>\n\t</head>\n'
            f"\t<body>\n\t<h1>devserver v{VERSION}</h1>\n{links}\n\t</body>\n</html>"
        )
        return Response(200, html.encode(), "text/html; charset=utf-8")


def sublist_stats(accounts: list[Account]) -> dict[str, Any]:
    """SublistStats summed over accounts (nats-server's SublistStats.add)."""
    subs = cache = inserts = removes = matches = hits = fanout = max_fanout = 0
    for account in accounts:
        st = account.sublist.stats()
        subs += st["subs"]
        cache += st["cache"]
        inserts += st["inserts"]
        removes += st["removes"]
        matches += st["matches"]
        hits += st["cache_hits"]
        fanout += st["fanout"]
        max_fanout = max(max_fanout, st["max_fanout"])
    return {
        "num_subscriptions": subs,
        "num_cache": cache,
        "num_inserts": inserts,
        "num_removes": removes,
        "num_matches": matches,
        "cache_hit_rate": go_float(hits / matches if matches else 0.0),
        "max_fanout": max_fanout,
        "avg_fanout": go_float(fanout / cache if cache else 0.0),
    }
