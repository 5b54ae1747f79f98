"""The HTTP monitoring port: nats-server's monitor.go endpoints for what devserver has.

Owns `Monitor`: the route table (/varz /connz /subsz /accountz /jsz /healthz and the
cluster-shaped ones devserver answers empty: /routez /leafz /gatewayz), the query options
each endpoint takes with nats-server's 400 texts, the record of closed connections, and the
JSON encoding Go writes (field order, empty fields left out where Go's `omitempty` does, 2-space
indent, `<>&` escaped, RFC 3339 times, nanosecond durations). Handlers run on the server's
event loop, so they read its state without locks. JetStream detail is in `monitor_js`.
May import: devserver.httpd, devserver.jetstream.timefmt, devserver.subjects, the standard library.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devserver import monitor_js
from devserver.gojson import dumps, go_float
from devserver.httpd import HttpServer, Request, Response
from devserver.jetstream.timefmt import format_time, go_duration
from devserver.server import GLOBAL_ACCOUNT, GO_VERSION, VERSION
from devserver.subjects import is_valid_publish, match

if TYPE_CHECKING:
    from devserver.connection import Connection
    from devserver.server import Account, Server
    from devserver.sublist import Subscription

log = logging.getLogger("devserver")

JSON = "application/json"
DEFAULT_LIST_SIZE = 1024  # DefaultConnListSize, DefaultSubListSize
MAX_CLOSED_CLIENTS = 10_000  # nats-server's default max_closed_clients
# nats-server defaults for settings devserver has no knob for; /varz reports them as it does
MAX_CONNECTIONS = 65_536
TLS_TIMEOUT = 2
WRITE_DEADLINE_NS = 10_000_000_000

_NOT_FOUND = Response(404, b"404 page not found\n", headers=[("X-Content-Type-Options", "nosniff")])
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


class BadRequest(Exception):
    """A query nats-server refuses with 400 and this text."""


def uptime(ns: int) -> str:
    """nats-server's myUptime: whole seconds as `1y2d3h4m5s`, leading zero units left out."""
    secs = max(ns, 0) // 1_000_000_000
    mins, hours, days = secs // 60, secs // 3600, secs // 86400
    years = days // 365
    if years:
        return f"{years}y{days % 365}d{hours % 24}h{mins % 60}m{secs % 60}s"
    if days:
        return f"{days}d{hours % 24}h{mins % 60}m{secs % 60}s"
    if hours:
        return f"{hours}h{mins % 60}m{secs % 60}s"
    if mins:
        return f"{mins}m{secs % 60}s"
    return f"{secs}s"


def query_bool(query: dict[str, str], name: str) -> bool:
    text = query.get(name, "")
    if not text or text in _FALSE:
        return False
    if text in _TRUE:
        return True
    raise BadRequest(
        f"Error decoding boolean for '{name}': strconv.ParseBool: parsing \"{text}\": invalid syntax"
    )


def query_int(query: dict[str, str], name: str, unsigned: bool = False) -> int:
    text = query.get(name, "")
    if not text:
        return 0
    kind, func = ("uint64", "strconv.ParseUint") if unsigned else ("int", "strconv.Atoi")
    digits = text if unsigned else text.removeprefix("-").removeprefix("+") if len(text) > 1 else text
    if not (digits.isascii() and digits.isdigit()):
        raise BadRequest(f"Error decoding {kind} for '{name}': {func}: parsing \"{text}\": invalid syntax")
    value = int(text)
    if not (0 if unsigned else -(1 << 63)) <= value < (1 << 64 if unsigned else 1 << 63):
        raise BadRequest(
            f"Error decoding {kind} for '{name}': {func}: parsing \"{text}\": value out of range"
        )
    return value


def page(items: list, offset: int, limit: int) -> list:
    start = min(max(offset, 0), len(items))
    return items[start : start + min(limit, len(items) - start)]


class _Process:
    """Resident memory and CPU percentage of this process, as nats-server's pse package."""

    def __init__(self) -> None:
        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._sample = (time.monotonic(), time.process_time())
        self._cpu = 0.0

    def rss(self) -> int:
        try:
            with open("/proc/self/statm", "rb") as f:
                return int(f.read().split()[1]) * self._page
        except OSError:  # not Linux: the peak resident size is the figure the OS keeps
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
        """The fields of /varz that settle once the client port is bound: before and after `jetstream`."""
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
        middle = {
            "tls_timeout": TLS_TIMEOUT,
            "write_deadline": WRITE_DEADLINE_NS,
            "start": format_time(srv.start_ns),
        }
        self._static = head, middle
        return self._static

    # -- /connz

    def connz(self, query: dict[str, str]) -> Response:
        sort = query.get("sort", "") or "cid"
        auth = query_bool(query, "auth")
        detail = query.get("subs", "").lower() == "detail"
        subs = not detail and query_bool(query, "subs")
        offset = max(query_int(query, "offset"), 0)
        limit = query_int(query, "limit")
        limit = limit if limit > 0 else DEFAULT_LIST_SIZE
        cid = query_int(query, "cid", unsigned=True)
        state = query.get("state", "open").lower() or "open"
        if state not in ("open", "closed", "any", "all"):
            raise BadRequest(f"Error decoding state for {query['state']}")
        user, acc, mqtt = query.get("user", ""), query.get("acc", ""), query.get("mqtt_client", "")
        if sort not in _SORTS:
            raise BadRequest(f"invalid sorting option: {sort}")
        if sort in ("stop", "reason") and state != "closed":
            raise BadRequest(f"sort by {sort} only valid on closed connections")
        if cid:
            limit = 1
        now = self.server.clock.now_ns()
        result: dict[str, Any] = {"server_id": self.server.server_id, "now": format_time(now)}
        if acc and acc not in self.server.accounts:  # nats-server answers before it fills in its id
            result |= {"server_id": "", "num_connections": 0, "total": 0, "offset": offset}
            return self.json(result | {"limit": limit, "connections": None})
        opened = [c for c in self.server.clients.values() if not acc or c.account.name == acc]
        closed = [c for c in self.closed if not acc or c["_account"] == acc] if state != "open" else []
        total = (len(opened) if state != "closed" else 0) + len(closed)
        if state == "closed":
            opened = []
        if cid:
            opened = [c for c in opened if c.cid == cid]
            closed = [] if opened else [c for c in closed if c["cid"] == cid]
        else:
            opened = [c for c in opened if (not user or c.user == user) and not mqtt]
        closed = [c for c in closed if (not user or c["_user"] == user) and not mqtt]
        infos = [self.conn_info(c, now) for c in opened]
        infos += [dict(c) for c in closed]
        key, descending = _SORTS[sort]
        infos.sort(key=lambda ci: key(ci, now), reverse=descending)
        infos = page(infos, offset, limit)
        for info in infos:
            self._finish_conn_info(info, auth, subs, detail)
        result |= {"num_connections": len(infos), "total": total, "offset": offset, "limit": limit}
        return self.json(result | {"connections": infos})

    def conn_info(self, conn: Connection, now: int) -> dict[str, Any]:
        """ConnInfo in nats-server's field order; `_`-keys feed filters and options, then go."""
        transport = conn.transport
        info: dict[str, Any] = {
            "cid": conn.cid,
            "kind": "Client",
            "type": "nats",
            "ip": conn.host,
            "port": conn.port,
            "start": format_time(conn.start_ns),
            "last_activity": format_time(conn.last_ns),
            "rtt": go_duration(_rtt(conn.rtt_ns)),
            "uptime": uptime(now - conn.start_ns),
            "idle": uptime(now - conn.last_ns),
            "pending_bytes": transport.get_write_buffer_size() if transport is not None else 0,
            "in_msgs": conn.in_msgs,
            "out_msgs": conn.out_msgs,
            "in_bytes": conn.in_bytes,
            "out_bytes": conn.out_bytes,
            "subscriptions": len(conn.subs),
        }
        for name in ("name", "lang", "version"):
            if getattr(conn, name):
                info[name] = getattr(conn, name)
        info |= {
            "_start": conn.start_ns,
            "_last": conn.last_ns,
            "_rtt": conn.rtt_ns,
            "_user": conn.user or "",
            "_account": conn.account.name,
            "_subs": [_sub_detail(s, None) for s in conn.subs.values()],
        }
        return info

    @staticmethod
    def _finish_conn_info(info: dict[str, Any], auth: bool, subs: bool, detail: bool) -> None:
        private = {k: info.pop(k) for k in [k for k in info if k.startswith("_")]}
        if auth:
            if private["_user"]:
                info["authorized_user"] = private["_user"]
            if private["_account"] != GLOBAL_ACCOUNT:
                info["account"] = private["_account"]
        if private["_subs"]:
            if detail:
                info["subscriptions_list_detail"] = private["_subs"]
            elif subs:
                info["subscriptions_list"] = [s["subject"] for s in private["_subs"]]
        if auth:
            info["name_tag"] = private["_account"]

    def _record_closed(self, conn: Connection) -> None:
        """Keep what /connz?state=closed shows, frozen at close, `stop` and `reason` added."""
        now = self.server.clock.now_ns()
        record: dict[str, Any] = {}
        for key, value in self.conn_info(conn, now).items():
            record[key] = value
            if key == "last_activity":
                record["stop"] = format_time(now)
                record["reason"] = conn.close_reason
        record["pending_bytes"] = 0
        record["_stop"] = now
        self.closed.append(record)

    # -- /subsz

    def subsz(self, query: dict[str, str]) -> Response:
        want_subs = query_bool(query, "subs")
        offset = max(query_int(query, "offset"), 0)
        limit = query_int(query, "limit")
        limit = limit if limit > 0 else DEFAULT_LIST_SIZE
        test = query.get("test", "")
        if test and not is_valid_publish(test):
            raise BadRequest(f"invalid test subject, must be valid publish subject: {test}")
        acc = query.get("acc", "")
        accounts = [a for a in self.server.accounts.values() if not acc or a.name == acc]
        result: dict[str, Any] = {
            "server_id": self.server.server_id,
            "now": format_time(self.server.clock.now_ns()),
        }
        result |= sublist_stats(accounts)
        details: list[dict[str, Any]] = []
        if want_subs:
            for account in accounts:
                for sub in account.sublist.all():
                    if not test or match(test, _text(sub.subject)):
                        details.append(_sub_detail(sub, account.name))
        result |= {"total": len(details), "offset": offset, "limit": limit}
        if details:
            result["subscriptions_list"] = page(details, offset, limit)
        return self.json(result)

    # -- /accountz

    def accountz(self, query: dict[str, str]) -> Response:
        srv = self.server
        result: dict[str, Any] = {"server_id": srv.server_id, "now": format_time(srv.clock.now_ns())}
        name = query.get("acc", "")
        if not name:
            return self.json(result | {"accounts": list(srv.accounts)})
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
        return self.json(result | {"account_detail": detail})

    # -- /jsz and /healthz

    def jsz(self, query: dict[str, str]) -> Response:
        flags = {name: query_bool(query, name) for name in _JSZ_FLAGS[:5]}
        offset, limit = query_int(query, "offset"), query_int(query, "limit")
        for name in _JSZ_FLAGS[5:]:
            query_bool(query, name)  # accepted; a single server leads every stream and consumer
        opts = monitor_js.JszOptions(
            account=query.get("acc", ""),
            accounts=flags["accounts"],
            streams=flags["streams"],
            consumers=flags["consumers"],
            config=flags["config"],
            offset=offset,
            limit=limit,
        )
        srv = self.server
        result = monitor_js.jsz(srv.jetstream, opts)
        result["server_id"] = srv.server_id
        result["now"] = format_time(srv.clock.now_ns())
        return self.json(monitor_js.order_jsz(result))

    def healthz(self, query: dict[str, str]) -> Response:
        js_enabled = query_bool(query, "js-enabled")  # deprecated spelling of js-enabled-only
        js_enabled_only = query_bool(query, "js-enabled-only")
        js_server_only = query_bool(query, "js-server-only")
        query_bool(query, "js-meta-only")  # accepted; a single server has no meta layer to check
        srv = self.server
        opts = monitor_js.HealthzOptions(
            js_enabled_only=js_enabled_only or js_enabled,
            js_server_only=js_server_only,
            account=query.get("account", ""),
            stream=query.get("stream", ""),
            consumer=query.get("consumer", ""),
            details=query_bool(query, "details"),
        )
        status, body = monitor_js.healthz(srv.jetstream, srv.accepting, srv.options.jetstream, opts)
        return self.json(body, status, indent=False)

    # -- what a single server without routes, leaf nodes or gateways answers

    def routez(self, query: dict[str, str]) -> Response:
        srv = self.server
        now = format_time(srv.clock.now_ns())
        return self.json(
            {
                "server_id": srv.server_id,
                "server_name": srv.server_name,
                "now": now,
                "num_routes": 0,
                "routes": [],
            }
        )

    def leafz(self, query: dict[str, str]) -> Response:
        now = format_time(self.server.clock.now_ns())
        return self.json({"server_id": self.server.server_id, "now": now, "leafnodes": 0, "leafs": []})

    def gatewayz(self, query: dict[str, str]) -> Response:
        now = format_time(self.server.clock.now_ns())
        return self.json(
            {"server_id": self.server.server_id, "now": now, "outbound_gateways": {}, "inbound_gateways": {}}
        )

    def root(self, query: dict[str, str]) -> Response:
        links = "\n".join(
            f'\t<a href=.{path}>{title}<span class="endpoint"> {path}</span></a>'
            for path, title in _ROOT_LINKS
        )
        page_ = (
            f'<html lang="en">\n\t<head>\n\t<title>devserver {self.server.version}</title>\n\t</head>\n'
            f"\t<body>\n\t<h1>devserver v{self.server.version}</h1>\n{links}\n\t</body>\n</html>"
        )
        return Response(200, page_.encode(), "text/html; charset=utf-8")


# the boolean options of /jsz in the order nats-server reads them (the first bad one is reported)
_JSZ_FLAGS = ("accounts", "streams", "consumers", "direct-consumers", "config")
_JSZ_FLAGS += ("leader-only", "raft", "stream-leader-only")

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


# sort option -> (key of a ConnInfo, descending); only cid, start, uptime and reason ascend
_SORTS: dict[str, tuple[Callable[[dict[str, Any], int], Any], bool]] = {
    "cid": (lambda ci, now: ci["cid"], False),
    "start": (lambda ci, now: ci["cid"], False),
    "subs": (lambda ci, now: ci["subscriptions"], True),
    "pending": (lambda ci, now: ci["pending_bytes"], True),
    "msgs_to": (lambda ci, now: ci["out_msgs"], True),
    "msgs_from": (lambda ci, now: ci["in_msgs"], True),
    "bytes_to": (lambda ci, now: ci["out_bytes"], True),
    "bytes_from": (lambda ci, now: ci["in_bytes"], True),
    "last": (lambda ci, now: ci["_last"], True),
    "idle": (lambda ci, now: now - ci["_last"], True),
    "uptime": (lambda ci, now: ci.get("_stop", now) - ci["_start"], False),
    "stop": (lambda ci, now: ci["_stop"], True),
    "reason": (lambda ci, now: ci.get("reason", ""), False),
    "rtt": (lambda ci, now: ci["_rtt"], True),
}


def _rtt(ns: int) -> int:
    """getRTT: truncated to microseconds between 1µs and 1ms."""
    return ns - ns % 1000 if 1000 < ns < 1_000_000 else ns


def _text(subject: bytes) -> str:
    return subject.decode("utf-8", "replace")


def _sub_detail(sub: Subscription, account: str | None) -> dict[str, Any]:
    """SubDetail; `account` (and its tag) only in /subsz, as nats-server's newSubDetail."""
    detail: dict[str, Any] = {"account": account, "account_tag": account} if account else {}
    detail["subject"] = _text(sub.subject)
    if sub.queue:
        detail["qgroup"] = _text(sub.queue)
    detail |= {"sid": _text(sub.sid), "msgs": sub.delivered}
    if sub.max:
        detail["max"] = sub.max
    detail["cid"] = sub.client.cid
    return detail


def sublist_stats(accounts: list[Account]) -> dict[str, Any]:
    """SublistStats summed over accounts (nats-server's SublistStats.add)."""
    subs = cache = inserts = removes = matches = hits = fanout = entries = max_fanout = 0
    for account in accounts:
        st = account.sublist.stats()
        subs += st["subs"]
        cache += st["cache"]
        inserts += st["inserts"]
        removes += st["removes"]
        matches += st["matches"]
        hits += st["cache_hits"]
        fanout += st["fanout"]
        entries += st["cache"]
        max_fanout = max(max_fanout, st["max_fanout"])
    return {
        "num_subscriptions": subs,
        "num_cache": cache,
        "num_inserts": inserts,
        "num_removes": removes,
        "num_matches": matches,
        "cache_hit_rate": go_float(hits / matches if matches else 0.0),
        "max_fanout": max_fanout,
        "avg_fanout": go_float(fanout / entries if entries else 0.0),
    }
