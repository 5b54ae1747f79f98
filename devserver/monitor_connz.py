"""/connz for the monitoring port: ConnInfo of open and closed clients, filtered, sorted, paged.

Owns nats-server's Connz (monitor.go) and its sort options (monitor_sort_opts.go): the ConnInfo
of a connection in nats-server's field order, the frozen record kept when a client closes, and
`connz`, which applies the already decoded options. Also SubDetail and myUptime, which other
endpoints share. Pure: reads connections, returns dicts.
May import: devserver.jetstream.timefmt, devserver.server (constants).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devserver.jetstream.timefmt import format_time, go_duration
from devserver.server import GLOBAL_ACCOUNT

if TYPE_CHECKING:
    from devserver.connection import Connection
    from devserver.server import Server
    from devserver.sublist import Subscription

DEFAULT_LIST_SIZE = 1024  # DefaultConnListSize, DefaultSubListSize


@dataclass
class ConnzOptions:
    sort: str = "cid"
    auth: bool = False
    subs: bool = False
    detail: bool = False
    offset: int = 0
    limit: int = DEFAULT_LIST_SIZE
    cid: int = 0
    state: str = "open"  # open, closed, any or all
    user: str = ""
    account: str = ""
    mqtt_client: str = ""


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


def page(items: list, offset: int, limit: int) -> list:
    start = min(max(offset, 0), len(items))
    return items[start : start + min(limit, len(items) - start)]


def connz(server: Server, closed: Iterable[dict[str, Any]], opts: ConnzOptions) -> dict[str, Any]:
    """Connz: open clients (and closed records, by `state`) as nats-server's Connz() lists them."""
    now = server.clock.now_ns()
    result: dict[str, Any] = {"server_id": server.server_id, "now": format_time(now)}
    acc, user, state = opts.account, opts.user, opts.state
    limit = 1 if opts.cid else opts.limit
    head = {"num_connections": 0, "total": 0, "offset": opts.offset, "limit": limit}
    if acc and acc not in server.accounts:  # nats-server answers before it fills in its id
        return result | {"server_id": ""} | head | {"connections": None}
    opened = [c for c in server.clients.values() if not acc or c.account.name == acc]
    ended = [c for c in closed if not acc or c["_account"] == acc] if state != "open" else []
    total = (0 if state == "closed" else len(opened)) + len(ended)
    if state == "closed":
        opened = []
    if opts.cid:
        opened = [c for c in opened if c.cid == opts.cid]
        ended = [] if opened else [c for c in ended if c["cid"] == opts.cid]
    else:
        opened = [c for c in opened if (not user or c.user == user) and not opts.mqtt_client]
    ended = [c for c in ended if (not user or c["_user"] == user) and not opts.mqtt_client]
    infos = [conn_info(c, now) for c in opened] + [dict(c) for c in ended]
    key, descending = SORTS[opts.sort]
    infos.sort(key=lambda ci: key(ci, now), reverse=descending)
    infos = page(infos, opts.offset, limit)
    for info in infos:
        _finish(info, opts)
    head |= {"num_connections": len(infos), "total": total}
    return result | head | {"connections": infos}


def conn_info(conn: Connection, now: int) -> dict[str, Any]:
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
    for name, value in (("name", conn.name), ("lang", conn.lang), ("version", conn.version)):
        if value:
            info[name] = value
    info |= {
        "_start": conn.start_ns,
        "_last": conn.last_ns,
        "_rtt": conn.rtt_ns,
        "_user": conn.user or "",
        "_account": conn.account.name,
        "_subs": [sub_detail(s, None) for s in conn.subs.values()],
    }
    return info


def closed_record(conn: Connection, now: int) -> dict[str, Any]:
    """What /connz?state=closed shows of a client, frozen at close, `stop` and `reason` added."""
    record: dict[str, Any] = {}
    for key, value in conn_info(conn, now).items():
        record[key] = value
        if key == "last_activity":
            record["stop"] = format_time(now)
            record["reason"] = conn.close_reason
    record["pending_bytes"] = 0
    record["_stop"] = now
    return record


def _finish(info: dict[str, Any], opts: ConnzOptions) -> None:
    """Drop the `_`-keys, adding what `auth` and `subs` ask for where nats-server puts it."""
    private = {k: info.pop(k) for k in [k for k in info if k.startswith("_")]}
    if opts.auth:
        if private["_user"]:
            info["authorized_user"] = private["_user"]
        if private["_account"] != GLOBAL_ACCOUNT:
            info["account"] = private["_account"]
    if private["_subs"]:
        if opts.detail:
            info["subscriptions_list_detail"] = private["_subs"]
        elif opts.subs:
            info["subscriptions_list"] = [s["subject"] for s in private["_subs"]]
    if opts.auth:
        info["name_tag"] = private["_account"]


# sort option -> (key of a ConnInfo, descending); cid, start, uptime and reason ascend
SORTS: dict[str, tuple[Callable[[dict[str, Any], int], Any], bool]] = {
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
CLOSED_ONLY_SORTS = ("stop", "reason")


def _rtt(ns: int) -> int:
    """getRTT: truncated to microseconds between 1µs and 1ms."""
    return ns - ns % 1000 if 1000 < ns < 1_000_000 else ns


def _text(subject: bytes) -> str:
    return subject.decode("utf-8", "replace")


def sub_detail(sub: Subscription, account: str | None) -> dict[str, Any]:
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
