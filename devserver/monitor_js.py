"""The JetStream side of the monitoring port: /jsz, /healthz and the `jetstream` block of /varz.

Owns how nats-server's monitor.go reports JetStream (JSInfo, AccountDetail, StreamDetail,
HealthStatus) in its field order, built from devserver's `JetStream` engine: its accounts,
their streams and consumers. Pure: reads the engine, returns dicts. `None` for the engine
means JetStream is off.
May import: schemas, devserver.jetstream (reading only), devserver.monitor_connz (paging).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devserver.monitor_connz import DEFAULT_LIST_SIZE, page
from devserver.version import API_LEVEL
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
        limit = opts.limit or DEFAULT_LIST_SIZE
        chosen = page(accounts, opts.offset, limit) if limit > 0 else accounts
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


@dataclass
class HealthzOptions:
    js_enabled_only: bool = False
    js_server_only: bool = False
    account: str = ""
    stream: str = ""
    consumer: str = ""
    details: bool = False


class _Health:
    """HealthStatus being built: one error, or with `details` a list of typed errors."""

    def __init__(self, details: bool) -> None:
        self.details = details
        self.code = 200
        self.body: dict[str, Any] = {"status": "ok"}

    def fail(self, code: int, status: str, kind: str, text: str, **where: str) -> None:
        """Record a failure; a not-found (404) or bad request replaces earlier errors."""
        self.code = code
        if not self.details:
            self.body = {"status": status, "error": text}
            return
        error = {"type": kind, **where, "error": text}
        errors_ = [error] if code in (400, 404) else [*self.body.get("errors", []), error]
        self.body = {"status": "error", "errors": errors_}

    def result(self) -> tuple[int, dict[str, Any]]:
        return self.code, self.body


def healthz(
    js: JetStream | None, accepting: bool, configured: bool, opts: HealthzOptions
) -> tuple[int, dict[str, Any]]:
    """HealthStatus and its HTTP status. `accepting`: the client port is open; `configured`:
    JetStream was asked for (-js).

    As nats-server's single-server check: the accounts and streams found in the store directory
    must be loaded, and a named account, stream or consumer must exist.
    """
    health = _Health(opts.details)
    if not opts.account and opts.stream:
        health.fail(400, "error", "BAD_REQUEST", '"account" must not be empty when checking stream health')
    elif not opts.stream and opts.consumer:
        health.fail(400, "error", "BAD_REQUEST", '"stream" must not be empty when checking consumer health')
    elif not accepting:
        health.fail(500, "error", "CONNECTION", "failed to be ready for connections after 1ms: server")
    elif opts.js_server_only or not configured:
        pass
    elif js is None:
        health.fail(503, "unavailable", "JETSTREAM", errors.error("JSNotEnabledErr")["description"])
    elif not opts.js_enabled_only:
        _check_assets(js, opts, health)
    return health.result()


def _on_disk(js: JetStream) -> dict[str, list[str]]:
    """Account name -> stream names, as the store directory holds them (what is loaded when
    nothing is kept on disk)."""
    if js.store_dir is None:
        return {name: list(jsa.streams) for name, jsa in js.accounts.items()}
    found: dict[str, list[str]] = {}
    for acc_dir in sorted(js.store_dir.iterdir()) if js.store_dir.is_dir() else []:
        if acc_dir.is_dir():
            streams = acc_dir / "streams"
            found[acc_dir.name] = (
                sorted(p.name for p in streams.iterdir() if p.is_dir()) if streams.is_dir() else []
            )
    return found


def _check_assets(js: JetStream, opts: HealthzOptions, health: _Health) -> None:
    account, stream, consumer = opts.account, opts.stream, opts.consumer
    acc_found = stream_found = consumer_found = False
    for acc_name, stream_names in _on_disk(js).items():
        if account:
            if acc_name != account:
                continue
            acc_found = True
        jsa = js.accounts.get(acc_name)
        if jsa is None:
            text = f"JetStream account '{acc_name}' could not be resolved"
            health.fail(503, "unavailable", "ACCOUNT", text, account=acc_name)
            if not opts.details:
                return
            continue
        for name in stream_names:
            if stream:
                if name != stream:
                    continue
                stream_found = True
            loaded = jsa.streams.get(name)
            if loaded is None:
                text = f"JetStream stream '{acc_name} > {name}' could not be recovered"
                health.fail(503, "unavailable", "STREAM", text, account=acc_name, stream=name)
                if not opts.details:
                    return
                continue
            if stream_found:
                consumer_found = bool(consumer) and consumer in loaded.consumers
                break
        if acc_found:
            break
    if account and not acc_found:
        text = f'JetStream account "{account}" not found'
        health.fail(404, "unavailable", "ACCOUNT", text, account=account)
    elif stream and not stream_found:
        text = f'JetStream stream "{stream}" not found on account "{account}"'
        health.fail(404, "unavailable", "STREAM", text, account=account, stream=stream)
    elif consumer and not consumer_found:
        text = f'JetStream consumer "{consumer}" not found for stream "{stream}" on account "{account}"'
        health.fail(404, "unavailable", "CONSUMER", text, account=account, stream=stream, consumer=consumer)
