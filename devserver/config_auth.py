"""The `authorization` and `accounts` blocks of a config file: users, accounts, permissions.

Follows nats-server's opts.go (parseAuthorization, parseUsers, parseAccounts,
parseJetStreamForAccount, parseUserPermissions): users land in `Options.users` with their
account and permissions, accounts in `Options.accounts` as `{"jetstream": None | limits}`.
Users and accounts share one namespace of user names; the conflicts nats-server refuses
(a single user and a users list, a token and accounts, a user twice, the reserved `$G`)
fail here with the line of the block.

May import: devserver.auth, devserver.config_syntax, devserver.options.
"""

from __future__ import annotations

import re
from pathlib import Path

from devserver.auth import check_permissions
from devserver.config_syntax import (
    ConfigError,
    Value,
    expect_enabled,
    expect_int,
    expect_map,
    expect_str,
    go_duration,
    plain,
)
from devserver.options import Options, User


def authorization(doc: dict[str, Value], opts: Options, path: Path, line: int) -> None:
    users: list[User] = []
    defaults: dict | None = None
    for key, item in doc.items():
        name = key.lower()
        if name in ("user", "username"):
            opts.user = expect_str(item.value, path, item.line, key)
        elif name in ("pass", "password"):
            opts.password = _password(item.value, path, item.line, key)
        elif name == "token":
            opts.token = expect_str(item.value, path, item.line, key)
        elif name == "timeout":
            opts.auth_timeout = _auth_timeout(item.value, path, item.line)
        elif name == "users":
            users = _users(item, "$G", path)
        elif name in ("default_permission", "default_permissions", "permissions"):
            defaults = _permissions(item, path)
        elif name in ("auth_callout", "auth_hook"):
            raise ConfigError(path, item.line, f'"{key}" is not supported by devserver')
        elif name != "proxy_required":
            raise ConfigError(path, item.line, f'unknown field "{key}"')
    if (opts.user or opts.password) and opts.token:
        raise ConfigError(path, line, "Cannot have a user/pass and token")
    if "users" in (k.lower() for k in doc) or opts.users:
        if opts.user:
            raise ConfigError(path, line, "Can not have a single user/pass and a users array")
        if opts.token:
            raise ConfigError(path, line, "Can not have a token and a users array")
    _apply_defaults(users, defaults)
    _add_users(opts, users, path, line)


_BCRYPT = re.compile(r"\$2[abxy]\$\d{2}\$")


def _password(value, path: Path, line: int, key: str) -> str:
    """A plaintext password; nats-server's bcrypt hashes are refused rather than compared as text."""
    password = expect_str(value, path, line, key)
    if _BCRYPT.match(password):
        raise ConfigError(path, line, "bcrypt passwords are not supported by devserver")
    return password


def _auth_timeout(value, path: Path, line: int) -> float:
    if isinstance(value, bool):
        raise ConfigError(path, line, "error parsing authorization config, 'timeout' wrong type")
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return go_duration(str(value))
    except ValueError as err:
        raise ConfigError(path, line, f"error parsing authorization config, 'timeout' {err}") from None


def _users(item: Value, account: str, path: Path) -> list[User]:
    if not isinstance(item.value, list):
        raise ConfigError(path, item.line, f"Expected users field to be an array, got {plain(item.value)}")
    users = []
    for entry in item.value:
        if not isinstance(entry.value, dict):
            raise ConfigError(
                path, entry.line, f"Expected user entry to be a map/struct, got {plain(entry.value)}"
            )
        name = password = None
        permissions: dict = {}
        for key, sub in entry.value.items():
            field = key.lower()
            if field in ("user", "username"):
                name = expect_str(sub.value, path, sub.line, key)
            elif field in ("pass", "password"):
                password = _password(sub.value, path, sub.line, key)
            elif field in ("permission", "permissions", "authorization"):
                permissions = _permissions(sub, path)
            elif field == "nkey":
                raise ConfigError(path, sub.line, "nkey users are not supported by devserver")
            elif field not in ("allowed_connection_types", "connection_types", "clients", "proxy_required"):
                raise ConfigError(path, sub.line, f'unknown field "{key}"')
        if not name:
            raise ConfigError(path, entry.line, "User entry requires a user")
        users.append(User(name, password, account, permissions))
    return users


def _apply_defaults(users: list[User], defaults: dict | None) -> None:
    """Default permissions go to the users that have none of their own."""
    if defaults:
        for user in users:
            if not user.permissions:
                user.permissions = defaults


def _add_users(opts: Options, users: list[User], path: Path, line: int) -> None:
    known = {u.name for u in opts.users}
    for user in users:
        if user.name in known:
            raise ConfigError(path, line, f'Duplicate user "{user.name}" detected')
        known.add(user.name)
    opts.users.extend(users)


def accounts(value, opts: Options, path: Path, line: int) -> None:
    if isinstance(value, list):  # accounts [A, B]: names only
        for item in value:
            name = expect_str(item.value, path, item.line, "account")
            _new_account(name, opts, path, item.line)
            opts.accounts[name] = {"jetstream": None}
        return
    for name, item in expect_map(value, path, line).items():
        if not isinstance(item.value, dict):
            raise ConfigError(path, item.line, "Expected map entries for accounts")
        _new_account(name, opts, path, item.line)
        account: dict = {"jetstream": None}
        users: list[User] = []
        users_line = item.line
        defaults = None
        for key, sub in item.value.items():
            field = key.lower()
            if field == "users":
                users, users_line = _users(sub, name, path), sub.line
            elif field == "jetstream":
                account["jetstream"] = _account_jetstream(sub, path)
            elif field == "default_permissions":
                defaults = _permissions(sub, path)
            elif field in ("limits", "msg_trace", "trace_dest"):
                continue
            elif field in ("imports", "exports", "mappings", "maps", "nkey"):
                raise ConfigError(path, sub.line, f'account "{key}" is not supported by devserver')
            else:
                raise ConfigError(path, sub.line, f'unknown field "{key}"')
        if users and opts.user:
            raise ConfigError(path, users_line, "Can not have a single user/pass and accounts")
        if users and opts.token:
            raise ConfigError(path, users_line, "Can not have a token and accounts")
        _apply_defaults(users, defaults)
        _add_users(opts, users, path, users_line)
        opts.accounts[name] = account


def _new_account(name: str, opts: Options, path: Path, line: int) -> None:
    if name == "$G":
        raise ConfigError(path, line, f'"{name}" is a Reserved Account')
    if name in opts.accounts:
        raise ConfigError(path, line, f"Duplicate Account Entry: {name}")


# account jetstream block: nats-server's key aliases -> the names limits_from_config takes
_ACCOUNT_LIMITS = {
    "max_memory": "max_mem",
    "max_mem": "max_mem",
    "mem": "max_mem",
    "memory": "max_mem",
    "max_store": "max_file",
    "max_file": "max_file",
    "max_disk": "max_file",
    "store": "max_file",
    "disk": "max_file",
    "max_streams": "max_streams",
    "streams": "max_streams",
    "max_consumers": "max_consumers",
    "consumers": "max_consumers",
    "max_ack_pending": "max_ack_pending",
    "mem_max_stream_bytes": "mem_max_stream_bytes",
    "memory_max_stream_bytes": "mem_max_stream_bytes",
    "disk_max_stream_bytes": "disk_max_stream_bytes",
    "store_max_stream_bytes": "disk_max_stream_bytes",
}
_UNLIMITED = {"max_mem": -1, "max_file": -1, "max_streams": -1, "max_consumers": -1}


def _account_jetstream(item: Value, path: Path) -> dict | None:
    """An account's `jetstream: enabled` or limits block (-1 = unlimited); None = disabled."""
    value = item.value
    if not isinstance(value, dict):
        return dict(_UNLIMITED) if expect_enabled(value, path, item.line) else None
    limits = dict(_UNLIMITED)
    for key, sub in value.items():
        name = key.lower()
        if name in ("max_bytes_required", "max_stream_bytes", "max_bytes"):
            if not isinstance(sub.value, bool):
                raise ConfigError(path, sub.line, f'Expected a parseable bool for "{key}", got {sub.value}')
            limits["max_bytes_required"] = sub.value
        elif name in _ACCOUNT_LIMITS:
            if isinstance(sub.value, bool) or not isinstance(sub.value, int):
                raise ConfigError(path, sub.line, f'Expected a parseable size for "{key}", got {sub.value}')
            limits[_ACCOUNT_LIMITS[name]] = sub.value
        elif name != "cluster_traffic":
            raise ConfigError(path, sub.line, f'unknown field "{key}"')
    return limits


def _permissions(item: Value, path: Path) -> dict:
    """A permissions block as auth.Permissions takes it; durations in seconds."""
    if not isinstance(item.value, dict):
        raise ConfigError(
            path, item.line, f"Expected permissions to be a map/struct, got {plain(item.value)}"
        )
    spec: dict = {}
    for key, sub in item.value.items():
        name = key.lower()
        if name in ("pub", "publish", "import"):
            spec["publish"] = _subject_permission(sub, path)
        elif name in ("sub", "subscribe", "export"):
            spec["subscribe"] = _subject_permission(sub, path)
        elif name in ("allow_responses", "publish_allow_responses"):
            spec["allow_responses"] = _allow_responses(sub, path)
        else:
            raise ConfigError(path, sub.line, f'Unknown field "{key}" parsing permissions')
    try:
        check_permissions(spec)
    except ValueError as err:
        raise ConfigError(path, item.line, str(err)) from None
    return spec


def _subject_permission(item: Value, path: Path) -> dict | None:
    """`subject`, `[subjects]` (both allow lists) or `{allow: ..., deny: ...}`."""
    if not isinstance(item.value, dict):
        return {"allow": _perm_subjects(item, path)}
    out = {}
    for key, sub in item.value.items():
        if key.lower() not in ("allow", "deny"):
            raise ConfigError(
                path,
                sub.line,
                f'Unknown field name "{key}" parsing subject permissions, '
                "only 'allow' or 'deny' are permitted",
            )
        out[key.lower()] = _perm_subjects(sub, path)
    return out or None


def _perm_subjects(item: Value, path: Path) -> list[str]:
    if isinstance(item.value, str):
        return [item.value]
    if not isinstance(item.value, list):
        raise ConfigError(
            path,
            item.line,
            "Expected subject permissions to be a subject, or array of subjects, "
            f"got {type(item.value).__name__}",
        )
    for entry in item.value:
        if not isinstance(entry.value, str):
            raise ConfigError(path, entry.line, "Subject in permissions array cannot be cast to string")
    return [entry.value for entry in item.value]


def _allow_responses(item: Value, path: Path) -> dict | bool:
    """`true`, or `{max: n, expires: "1m"}` (0 = the default, negative = unlimited)."""
    if isinstance(item.value, bool):
        return item.value
    if not isinstance(item.value, dict):
        raise ConfigError(path, item.line, "error parsing response permissions, expected a boolean or a map")
    out: dict = {}
    for key, sub in item.value.items():
        name = key.lower()
        if name in ("max", "max_msgs", "max_messages", "max_responses"):
            out["max"] = expect_int(sub.value, path, sub.line, key)
        elif name in ("expires", "expiration", "ttl"):
            if not isinstance(sub.value, str):
                raise ConfigError(path, sub.line, "error parsing expires, not a duration string")
            try:
                out["expires"] = go_duration(sub.value)
            except ValueError as err:
                raise ConfigError(path, sub.line, f"error parsing expires: {err}") from None
        else:
            raise ConfigError(path, sub.line, f'Unknown field "{key}" parsing permissions')
    return out or True
