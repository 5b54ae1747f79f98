"""nats-server's configuration file, for the keys a devserver needs: a file -> Options.

Mirrors the top level of nats-server's opts.go (processConfigFileLine, parseJetStream, parseTLS):
listen/port/host, server_name, max_payload and the other limits, ping_interval, jetstream
(store_dir, max_mem, max_file, sync_interval), tls, no_auth_user, system_account; the
authorization and accounts blocks are in config_auth. Values are typed as nats-server types
them (`1G` is 10**9, `1GB` 2**30; jetstream's quoted "1G" is 2**30). A key nats-server does not
know, or a value it would refuse, fails start-up naming the file, the line and the reason, in
nats-server's words where it has them; keys for features a devserver lacks (cluster, gateway,
leafnodes, websocket, mqtt, operators, imports/exports...) fail as "not supported by devserver"
rather than being ignored; a few that change nothing a client sees (logging, lame duck...)
are accepted and ignored.

May import: devserver.config_syntax, devserver.config_auth, devserver.options, devserver.tls.
"""

from __future__ import annotations

import logging
from pathlib import Path

from devserver import config_auth
from devserver.config_syntax import (
    ConfigError,
    Value,
    expect_bool,
    expect_enabled,
    expect_int,
    expect_map,
    expect_str,
    go_duration,
    parse,
)
from devserver.options import Options, UsageError, parse_args
from devserver.tls import TlsConfigError, server_context

log = logging.getLogger("devserver")

__all__ = ["ConfigError", "load", "options_from_args", "parse_duration"]


def parse_duration(value, path: Path | str = "", line: int = 0, field: str = "duration") -> float:
    """Seconds from a Go duration string, or from a bare number of seconds (the old form,
    accepted with a warning), as nats-server's parseDuration reads `ping_interval` and the like."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(path, line, f"error parsing {field}: expected a duration, got {value!r}")
    if isinstance(value, str):
        try:
            return go_duration(value)
        except ValueError as err:
            raise ConfigError(path, line, f"error parsing {field}: {err}") from None
    log.warning(
        '%s:%d: invalid use of field "%s": %s should be converted to a duration', path, line, field, field
    )
    return float(value)


# keys nats-server knows that a devserver accepts and has no use for
_IGNORED = {
    "logtime",
    "logtime_utc",
    "logfile",
    "log_file",
    "logfile_size_limit",
    "log_size_limit",
    "logfile_max_num",
    "log_max_num",
    "syslog",
    "remote_syslog",
    "pidfile",
    "pid_file",
    "ports_file_dir",
    "write_deadline",
    "write_timeout",
    "max_connections",
    "max_conn",
    "max_subscriptions",
    "max_subs",
    "max_traced_msg_len",
    "lame_duck_duration",
    "lame_duck_grace_period",
    "server_tags",
    "server_metadata",
    "connect_error_reports",
    "reconnect_error_reports",
    "trace_verbose",
    "trace_headers",
    "disable_sublist_cache",
    "no_sublist_cache",
    "max_closed_clients",
    "prof_port",
    "prof_block_rate",
    "client_advertise",
    "http_base_path",
    "no_fast_producer_stall",
}
# keys nats-server knows for features a devserver does not have: refused, never ignored
_UNSUPPORTED = {
    "cluster",
    "gateway",
    "leaf",
    "leafnodes",
    "websocket",
    "ws",
    "mqtt",
    "https",
    "https_port",
    "operator",
    "operators",
    "trusted",
    "trusted_keys",
    "resolver",
    "account_resolver",
    "mappings",
    "maps",
    "allow_non_tls",
    "ocsp",
    "proxy_protocol",
    "proxies",
    "no_header_support",
    "default_sentinel",
    "max_sub_tokens",
}


def load(path: Path, opts: Options | None = None) -> Options:
    """Apply a config file to Options (command-line flags are applied after, and win)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(path, 0, f"error opening config file: {err.strerror}") from None
    opts = opts or Options()
    opts.config_file = path
    doc, used = parse(text, path)
    _apply(doc, used, opts, path)
    _validate(opts, path)
    return opts


def options_from_args(argv: list[str]) -> tuple[Options, str | None]:
    """Flags as nats-server takes them: the config file first, then every flag on top of it."""
    opts, action = parse_args(argv)
    if opts.config_file is not None and not action:
        opts, action = parse_args(argv, load(opts.config_file))
    if opts.tls and not action:
        try:
            server_context(opts.tls)
        except TlsConfigError as err:
            raise UsageError(str(err)) from None
    return opts, action


def _apply(doc: dict[str, Value], used: set[str], opts: Options, path: Path) -> None:
    for key, item in doc.items():
        name = key.lower()
        value, line = item.value, item.line
        if name == "listen":
            opts.host, opts.port = _listen(value, opts.host, path, line)
        elif name == "port":
            opts.port = expect_int(value, path, line, key)
        elif name in ("host", "net"):
            opts.host = expect_str(value, path, line, key)
        elif name == "server_name":
            opts.server_name = expect_str(value, path, line, key)
            if " " in opts.server_name:
                raise ConfigError(path, line, "server name cannot contain spaces")
        elif name in ("max_payload", "max_pending", "max_control_line"):
            setattr(opts, name, expect_int(value, path, line, key))
        elif name == "ping_interval":
            opts.ping_interval = parse_duration(value, path, line, name)
        elif name == "ping_max":
            opts.ping_max = expect_int(value, path, line, key)
        elif name in ("http_port", "monitor_port"):
            opts.http_port = expect_int(value, path, line, key)
        elif name == "http":
            opts.http_port = _listen(value, "", path, line)[1]
        elif name in ("debug", "trace"):
            setattr(opts, name, expect_bool(value, path, line, key))
        elif name in ("store_dir", "storedir"):
            _store_dir(value, opts, path, line)
        elif name == "jetstream":
            _jetstream(value, opts, path, line)
        elif name == "authorization":
            config_auth.authorization(expect_map(value, path, line), opts, path, line)
        elif name == "accounts":
            config_auth.accounts(value, opts, path, line)
        elif name == "no_auth_user":
            opts.no_auth_user = expect_str(value, path, line, key)
        elif name in ("system_account", "system"):
            opts.system_account = expect_str(value, path, line, key)
        elif name == "tls":
            opts.tls = _tls(expect_map(value, path, line), path, line)
        elif name in _IGNORED or key in used:
            continue
        elif name in _UNSUPPORTED:
            raise ConfigError(path, line, f'"{key}" is not supported by devserver')
        else:
            raise ConfigError(path, line, f'unknown field "{key}"')


def _validate(opts: Options, path: Path) -> None:
    """The whole-file checks nats-server makes when it starts (no line to point at)."""
    if opts.max_payload > opts.max_pending:
        raise ConfigError(
            path,
            0,
            f"max_payload ({opts.max_payload}) cannot be higher than max_pending ({opts.max_pending})",
        )
    if opts.no_auth_user:
        if not opts.users:
            raise ConfigError(
                path, 0, f'no_auth_user: "{opts.no_auth_user}" present, but users/nkeys are not defined'
            )
        if all(u.name != opts.no_auth_user for u in opts.users):
            raise ConfigError(
                path,
                0,
                f'no_auth_user: "{opts.no_auth_user}" not present as user or nkey in authorization '
                "block or account configuration",
            )
    system = opts.system_account
    if system and system != "$SYS":
        if system not in opts.accounts:
            raise ConfigError(path, 0, "error resolving system account: account missing")
        if opts.jetstream and opts.accounts[system].get("jetstream") is not None:
            raise ConfigError(path, 0, "Not allowed to enable JetStream on the system account")


def _listen(value, host: str, path: Path, line: int) -> tuple[str, int]:
    """`port` or `host:port` (IPv6 in brackets), as parseListen reads them."""
    if isinstance(value, int) and not isinstance(value, bool):
        return host, value
    if not isinstance(value, str):
        raise ConfigError(path, line, f"expected port or host:port, got {value!r}")
    address, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(path, line, f'could not parse address string "{value}"')
    return address.removeprefix("[").removesuffix("]"), int(port)


def _store_dir(value, opts: Options, path: Path, line: int) -> None:
    if opts.store_dir is not None:
        raise ConfigError(path, line, "Duplicate 'store_dir' configuration")
    opts.store_dir = Path(expect_str(value, path, line, "store_dir")).expanduser()


def _jetstream(value, opts: Options, path: Path, line: int) -> None:
    if not isinstance(value, dict):
        opts.jetstream = expect_enabled(value, path, line)
        return
    opts.jetstream = True
    for key, item in value.items():
        name = key.lower()
        if name in ("store_dir", "store", "storedir"):
            _store_dir(item.value, opts, path, item.line)
        elif name in ("max_mem", "max_mem_store", "max_memory_store"):
            opts.max_mem = _storage_size(item.value, path, item.line, "max_mem_store")
        elif name in ("max_file", "max_file_store"):
            opts.max_file = _storage_size(item.value, path, item.line, "max_file_store")
        elif name in ("sync_interval", "sync"):
            always = isinstance(item.value, str) and item.value.lower() == "always"
            opts.sync_interval = "always" if always else parse_duration(item.value, path, item.line, key)
        elif name in ("enabled", "enable"):
            opts.jetstream = expect_bool(item.value, path, item.line, key)
        elif name == "strict":
            expect_bool(item.value, path, item.line, key)
        elif name in (
            "key",
            "ek",
            "encryption_key",
            "prev_key",
            "prev_ek",
            "prev_encryption_key",
            "cipher",
            "tpm",
        ):
            raise ConfigError(path, item.line, f'"{key}" (store encryption) is not supported by devserver')
        elif name not in _JETSTREAM_IGNORED:
            raise ConfigError(path, item.line, f'unknown field "{key}"')


_JETSTREAM_IGNORED = {
    "domain",
    "limits",
    "unique_tag",
    "max_outstanding_catchup",
    "max_buffered_size",
    "max_buffered_msgs",
    "request_queue_limit",
    "info_queue_limit",
    "extension_hint",
    "meta_compact",
    "meta_compact_size",
    "meta_compact_sync",
    "max_concurrent_io",
}


def _storage_size(value, path: Path, line: int, field: str) -> int:
    """jetstream max_mem/max_file: a number (suffixes as everywhere) or a string such as "1G"
    whose K, M, G, T suffix counts in powers of 1024 (getStorageSize)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if not text:
        return 0
    multiplier = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1])
    if not text[:-1].removeprefix("-").isdigit():
        raise ConfigError(path, line, f'{field} strconv.ParseInt: parsing "{text[:-1]}": invalid syntax')
    if multiplier is None:
        raise ConfigError(path, line, f"{field} sizes defined as strings must end in K, M, G, T")
    return int(text[:-1]) * multiplier


def _tls(doc: dict[str, Value], path: Path, line: int) -> dict:
    """The client `tls { }` block; the files are loaded now, so a bad one fails start-up."""
    tls: dict = {}
    for key, item in doc.items():
        name, value = key.lower(), item.value
        if name in ("cert_file", "key_file", "ca_file"):
            if not isinstance(value, str):
                raise ConfigError(
                    path, item.line, f"error parsing tls config, expected '{name}' to be filename"
                )
            tls[name] = value
        elif name == "verify":
            if not isinstance(value, bool):
                raise ConfigError(
                    path, item.line, "error parsing tls config, expected 'verify' to be a boolean"
                )
            tls["verify"] = value
        elif name == "timeout":
            tls["timeout"] = _tls_timeout(value, path, item.line)
        elif name in ("handshake_first", "first", "immediate"):
            tls["handshake_first"] = _handshake_first(key, value, path, item.line)
        elif name in ("cipher_suites", "curve_preferences", "min_version", "insecure"):
            continue  # Python's defaults are as strict as Go's
        elif name in _TLS_UNSUPPORTED:
            raise ConfigError(path, item.line, f'tls "{key}" is not supported by devserver')
        else:
            raise ConfigError(path, item.line, f'error parsing tls config, unknown field "{key}"')
    try:
        server_context(tls)
    except TlsConfigError as err:
        raise ConfigError(path, line, str(err)) from None
    return tls


_TLS_UNSUPPORTED = {
    "verify_and_map",
    "verify_cert_and_check_known_urls",
    "allow_insecure_cipher_suites",
    "connection_rate_limit",
    "pinned_certs",
    "cert_store",
    "cert_match_by",
    "cert_match",
    "ca_certs_match",
    "cert_match_skip_invalid",
    "ocsp_peer",
    "certs",
    "certificates",
}


def _tls_timeout(value, path: Path, line: int) -> float:
    if isinstance(value, bool):
        raise ConfigError(path, line, "error parsing tls config, 'timeout' wrong type")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return go_duration(str(value))
    except ValueError as err:
        raise ConfigError(path, line, f"error parsing tls config, 'timeout' {err}") from None


def _handshake_first(key: str, value, path: Path, line: int) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "on", "false", "off"):
        return value.lower() in ("true", "on")
    if isinstance(value, str):
        raise ConfigError(path, line, f'tls {key} "{value}" (a fallback delay) is not supported by devserver')
    raise ConfigError(
        path, line, f'field "{key}" should be a boolean or a string, got {type(value).__name__}'
    )
