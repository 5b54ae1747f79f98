"""The JetStream side of the monitoring port: /jsz, /healthz and the `jetstream` block of /varz.

Owns how nats-server's monitor.go reports JetStream (JSInfo, AccountDetail, StreamDetail,
HealthStatus) in its field order, built from devserver's `JetStream` engine: its accounts,
their streams and consumers. Pure: reads the engine, returns dicts. `None` for the engine
means JetStream is off. May import: schemas, devserver.jetstream (reading only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devserver.jetstream.accounts import API_LEVEL
from schemas import errors

if TYPE_CHECKING:
    from devserver.jetstream.accounts import JsAccount
    from devserver.jetstream.jetstream import JetStream
    from devserver.jetstream.streams import Stream

UNLIMITED = (1 << 64) - 1  # an account limit of -1 as nats-server writes it: cast to uint64
_JSZ_ORDER = (
    "memory",
    "storage",
    "reserved_memory",
    "reserved_storage",
    "accounts",
    "ha_assets",
    "api",
    "server_id",
    "now",
    "disabled",
    "config",
    "limits",
    "streams",
    "consumers",
    "messages",
    "bytes",
    "account_details",
    "total",
)


@dataclass
class JszOptions:
    account: str = ""
    accounts: bool = False
    streams: bool = False
    consumers: bool = False
    config: bool = False
    offset: int = 0
    limit: int = 0


def config(js: JetStream) -> dict[str, Any]:
    """JetStreamConfig: the server-wide limits and where the store lives."""
    cfg: dict[str, Any] = {"max_memory": js.max_memory, "max_storage": js.max_store}
    if js.store_dir is not None:
        cfg["store_dir"] = str(js.store_dir)
    sync = js.options.sync_interval
    if sync == "always":
        cfg["sync_always"] = True
    else:
        cfg["sync_interval"] = int(float(sync) * 1e9)
    cfg["strict"] = True
    return cfg


def stats(js: JetStream) -> dict[str, Any]:
    """JetStreamStats of the whole server."""
    memory = storage = 0
    for jsa in js.accounts.values():
        mem, store = jsa.usage()
        memory += mem
        storage += store
    reserved_mem, reserved_store = js.reserved()
    return {
        "memory": memory,
        "storage": storage,
        "reserved_memory": reserved_mem,
        "reserved_storage": reserved_store,
        "accounts": len(js.accounts),
        "ha_assets": 0,
        "api": {
            "level": API_LEVEL,
            "total": sum(jsa.api_total for jsa in js.accounts.values()),
            "errors": sum(jsa.api_errors for jsa in js.accounts.values()),
        },
    }


def varz(js: JetStream | None) -> dict[str, Any]:
    """The `jetstream` block of /varz; empty when JetStream is off."""
    if js is None:
        return {}
    return {"config": config(js), "stats": stats(js), "limits": {}}


def jsz(js: JetStream | None, opts: JszOptions) -> dict[str, Any]:
    """JSInfo; the caller adds server_id and now."""
    if js is None:
        empty_api = {"level": 0, "total": 0, "errors": 0}
        return {
            "memory": 0,
            "storage": 0,
            "reserved_memory": 0,
            "reserved_storage": 0,
            "accounts": 0,
            "ha_assets": 0,
            "api": empty_api,
            "disabled": True,
            "config": {"max_memory": 0, "max_storage": 0},
            "streams": 0,
            "consumers": 0,
            "messages": 0,
            "bytes": 0,
            "total": 0,
        }
    if opts.consumers:
        opts.streams = True
    if opts.streams and not opts.account:
        opts.accounts = True
    info = stats(js) | {"config": config(js), "limits": {}}
    accounts = sorted(js.accounts.values(), key=lambda jsa: jsa.name)
    streams = [stream for jsa in accounts for stream in jsa.streams.values()]
    states = [stream.state() for stream in streams]
    info |= {
        "streams": len(streams),
        "consumers": sum(state["consumer_count"] for state in states),
        "messages": sum(state["messages"] for state in states),
        "bytes": sum(state["bytes"] for state in states),
        "total": len(accounts),
    }
    chosen = [jsa for jsa in accounts if jsa.name == opts.account]
    if not chosen and opts.accounts:
        offset = min(max(opts.offset, 0), len(accounts))
        chosen = accounts[offset : offset + (opts.limit or 1024)]
    if chosen:
        info["account_details"] = [account_detail(jsa, opts) for jsa in chosen]
    return info


def order_jsz(info: dict[str, Any]) -> dict[str, Any]:
    return {key: info[key] for key in _JSZ_ORDER if key in info}


def account_detail(jsa: JsAccount, opts: JszOptions) -> dict[str, Any]:
    mem, store = jsa.usage()
    limits = jsa.limits
    detail: dict[str, Any] = {
        "name": jsa.name,
        "id": jsa.name,
        "memory": mem,
        "storage": store,
        "reserved_memory": UNLIMITED if limits.max_memory < 0 else limits.max_memory,
        "reserved_storage": UNLIMITED if limits.max_storage < 0 else limits.max_storage,
        "accounts": 0,
        "ha_assets": 0,
        "api": {"level": 0, "total": jsa.api_total, "errors": jsa.api_errors},
    }
    if opts.streams and jsa.streams:
        detail["stream_detail"] = [stream_detail(stream, opts) for stream in jsa.streams.values()]
    return detail


def stream_detail(stream: Stream, opts: JszOptions) -> dict[str, Any]:
    """StreamDetail: name, created, cluster, config (config=1), state, consumer_detail, sources."""
    info = stream.info(dynamic=False, cluster=True)
    detail: dict[str, Any] = {"name": stream.name, "created": info["created"], "cluster": info["cluster"]}
    if opts.config:
        detail["config"] = info["config"]
    detail["state"] = info["state"]
    if opts.consumers and stream.consumers:
        consumers = []
        for consumer in stream.consumers.values():
            cinfo = consumer.info()
            if not opts.config:
                del cinfo["config"]
            consumers.append(cinfo)
        detail["consumer_detail"] = consumers
    for key in ("mirror", "sources"):
        if key in info:
            detail[key] = info[key]
    return detail


def healthz(
    js: JetStream | None,
    *,
    js_enabled: bool,
    js_enabled_only: bool,
    js_server_only: bool,
    account: str,
    stream: str,
    consumer: str,
    details: bool,
) -> tuple[int, dict[str, Any]]:
    """HealthStatus and its HTTP status. `js_enabled`: JetStream is configured on."""
    if not account and stream:
        return _unhealthy(
            400, "error", "BAD_REQUEST", '"account" must not be empty when checking stream health', details
        )
    if not stream and consumer:
        return _unhealthy(
            400, "error", "BAD_REQUEST", '"stream" must not be empty when checking consumer health', details
        )
    if js_server_only or not js_enabled:
        return 200, {"status": "ok"}
    if js is None:
        return _unhealthy(
            503, "unavailable", "JETSTREAM", errors.error("JSNotEnabledErr")["description"], details
        )
    if js_enabled_only:
        return 200, {"status": "ok"}
    if account:
        jsa = js.accounts.get(account)
        if jsa is None:
            text = f'JetStream account "{account}" not found'
            return _unhealthy(404, "unavailable", "ACCOUNT", text, details, account=account)
        if stream:
            found = jsa.streams.get(stream)
            if found is None:
                text = f'JetStream stream "{stream}" not found on account "{account}"'
                return _unhealthy(404, "unavailable", "STREAM", text, details, account=account, stream=stream)
            if consumer and consumer not in found.consumers:
                text = (
                    f'JetStream consumer "{consumer}" not found for stream "{stream}" on account "{account}"'
                )
                return _unhealthy(
                    404,
                    "unavailable",
                    "CONSUMER",
                    text,
                    details,
                    account=account,
                    stream=stream,
                    consumer=consumer,
                )
    return 200, {"status": "ok"}


def _unhealthy(
    code: int, status: str, kind: str, text: str, details: bool, **where: str
) -> tuple[int, dict[str, Any]]:
    """Without details: `{"status", "error"}`; with: `{"status": "error", "errors": [...]}`."""
    if details:
        return code, {"status": "error", "errors": [{"type": kind, **where, "error": text}]}
    return code, {"status": status, "error": text}
