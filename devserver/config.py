"""nats-server's configuration file syntax, for the keys a devserver needs.

The syntax (conf/lex.go): `key value`, `key: value` or `key = value`; maps in braces, arrays in
brackets; entries end at a newline, `,` or `;`; comments start with `#` or `//`; strings may be
quoted or bare; numbers may carry a size suffix (1K, 512MB, 1G); `$NAME` refers to a variable
defined earlier or in the environment; `include file` reads another file. Every error names the
file and the line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from devserver.options import Options, User, parse_args, parse_size


class ConfigError(Exception):
    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")


class _Value:
    """A parsed value with the line it came from, so semantic errors can point at it."""

    __slots__ = ("value", "line")

    def __init__(self, value, line: int) -> None:
        self.value = value
        self.line = line


_NUMBER = re.compile(r"^-?\d+(\.\d+)?([KMGT]I?B?|B)?$", re.IGNORECASE)
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class _Reader:
    def __init__(self, text: str, path: Path) -> None:
        self.text = text
        self.path = path
        self.pos = 0
        self.line = 1
        self.variables: dict[str, object] = {}
        self.used: set[str] = set()

    def fail(self, reason: str, line: int | None = None) -> ConfigError:
        return ConfigError(self.path, line or self.line, reason)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, newlines: bool = True) -> None:
        """Skip blanks and comments (and entry separators when `newlines`)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\n":
                if not newlines:
                    return
                self.line += 1
                self.pos += 1
            elif ch in " \t\r" or (newlines and ch in ",;"):
                self.pos += 1
            elif ch == "#" or self.text.startswith("//", self.pos):
                while self.pos < len(self.text) and self.text[self.pos] != "\n":
                    self.pos += 1
            else:
                return

    def parse_map(self, closing: str = "") -> dict[str, _Value]:
        out: dict[str, _Value] = {}
        while True:
            self.skip()
            ch = self.peek()
            if not ch:
                if closing:
                    raise self.fail(f"unexpected end of file, missing '{closing}'")
                return out
            if ch == closing:
                self.pos += 1
                return out
            line = self.line
            key = self.key()
            self.skip(newlines=False)
            if self.peek() in ":=":
                self.pos += 1
                self.skip(newlines=False)
            if key == "include":
                out.update(self.include(self.scalar_text(), line))
                continue
            value = self.value()
            self.variables[key] = value.value
            out[key] = value

    def key(self) -> str:
        ch = self.peek()
        if ch in "\"'":
            return self.quoted()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in " \t\r\n:={}[],;#":
            self.pos += 1
        if start == self.pos:
            raise self.fail(f"unexpected character {ch!r} where a key was expected")
        return self.text[start : self.pos]

    def value(self) -> _Value:
        line = self.line
        ch = self.peek()
        if ch == "{":
            self.pos += 1
            return _Value(self.parse_map("}"), line)
        if ch == "[":
            self.pos += 1
            return _Value(self.parse_array(), line)
        if ch in "\"'":
            return _Value(self.quoted(), line)
        if not ch or ch in "\n,;}]":
            raise self.fail("missing value")
        return _Value(self.bare(self.scalar_text(), line), line)

    def parse_array(self) -> list[_Value]:
        items: list[_Value] = []
        while True:
            self.skip()
            ch = self.peek()
            if not ch:
                raise self.fail("unexpected end of file, missing ']'")
            if ch == "]":
                self.pos += 1
                return items
            items.append(self.value())

    def quoted(self) -> str:
        quote = self.text[self.pos]
        end = self.text.find(quote, self.pos + 1)
        if end < 0 or "\n" in self.text[self.pos : end]:
            raise self.fail("unterminated string")
        raw = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return raw.encode().decode("unicode_escape") if quote == '"' and "\\" in raw else raw

    def scalar_text(self) -> str:
        if self.peek() in "\"'":
            return self.quoted()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in "\n,;}]#":
            if self.text.startswith("//", self.pos):
                break
            self.pos += 1
        return self.text[start : self.pos].strip()

    def bare(self, text: str, line: int):
        if text.lower() in _BOOLS:
            return _BOOLS[text.lower()]
        if text.startswith("$"):
            name = text[1:]
            self.used.add(name)
            if name in self.variables:
                return self.variables[name]
            if name in os.environ:
                return os.environ[name]
            raise self.fail(f"variable reference for '{name}' on line {line} can not be found", line)
        if _NUMBER.match(text):
            if text[-1:].isdigit():
                return float(text) if "." in text else int(text)
            return parse_size(text)
        return text

    def include(self, name: str, line: int) -> dict[str, _Value]:
        path = (self.path.parent / name).resolve()
        try:
            text = path.read_text()
        except OSError as err:
            raise self.fail(f"error opening include file {name!r}: {err.strerror}", line) from None
        reader = _Reader(text, path)
        reader.variables = self.variables
        reader.used = self.used
        return reader.parse_map()


def parse(text: str, path: Path | str = "<config>") -> tuple[dict[str, _Value], set[str]]:
    """The document, and the names used as `$variables` (such keys are not settings)."""
    reader = _Reader(text, Path(path))
    return reader.parse_map(), reader.used


def plain(value):
    """Strip line numbers: the parsed document as plain Python values."""
    if isinstance(value, _Value):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def parse_duration(value, path: Path | str = "", line: int = 0) -> float:
    """Seconds from "2m", "1h30m", "500ms" or a bare number of seconds, as nats-server reads them."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", str(value))
    if not parts or "".join(a + b for a, b in parts) != str(value).strip():
        raise ConfigError(path, line, f"invalid duration {value!r}")
    return sum(float(n) * units[u] for n, u in parts)


# keys nats-server knows that a devserver accepts and has no use for
_IGNORED = {
    "logtime",
    "logfile",
    "log_file",
    "syslog",
    "pidfile",
    "pid_file",
    "write_deadline",
    "max_connections",
    "max_subscriptions",
    "lame_duck_duration",
    "no_auth_user",
    "system_account",
    "server_tags",
    "max_traced_msg_len",
    "connect_error_reports",
    "reconnect_error_reports",
    "logtime_utc",
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
    return opts


def options_from_args(argv: list[str]) -> tuple[Options, str | None]:
    """Flags as nats-server takes them: the config file first, then every flag on top of it."""
    opts, action = parse_args(argv)
    if opts.config_file is None or action:
        return opts, action
    return parse_args(argv, load(opts.config_file))


def _apply(doc: dict[str, _Value], used: set[str], opts: Options, path: Path) -> None:
    for key, item in doc.items():
        name = key.lower()
        value, line = item.value, item.line
        if name in ("listen",):
            host, _, port = str(value).rpartition(":")
            opts.host, opts.port = host or opts.host, int(port)
        elif name == "port":
            opts.port = _int(value, path, line)
        elif name in ("host", "net"):
            opts.host = str(value)
        elif name in ("server_name",):
            opts.server_name = str(value)
        elif name in ("max_payload", "max_pending", "max_control_line"):
            setattr(opts, name, _size(value, path, line))
        elif name == "ping_interval":
            opts.ping_interval = parse_duration(value, path, line)
        elif name == "ping_max":
            opts.ping_max = _int(value, path, line)
        elif name in ("http_port", "monitor_port"):
            opts.http_port = _int(value, path, line)
        elif name == "http":
            host, _, port = str(value).rpartition(":")
            opts.http_port = int(port)
        elif name in ("debug", "trace"):
            setattr(opts, name, bool(value))
        elif name == "jetstream":
            _jetstream(value, opts, path, line)
        elif name == "authorization":
            _authorization(_map(value, path, line), opts, path)
        elif name == "accounts":
            _accounts(_map(value, path, line), opts, path)
        elif name == "tls":
            opts.tls = plain(_map(value, path, line))
        elif name in _IGNORED or key in used:
            continue
        else:
            raise ConfigError(path, line, f'unknown field "{key}"')


def _jetstream(value, opts: Options, path: Path, line: int) -> None:
    if isinstance(value, bool) or value in ("enabled", "disabled"):
        opts.jetstream = value in (True, "enabled")
        return
    opts.jetstream = True
    for key, item in _map(value, path, line).items():
        name = key.lower()
        if name in ("store_dir", "store", "storedir"):
            opts.store_dir = Path(str(item.value)).expanduser()
        elif name in ("max_mem", "max_memory_store", "max_memory"):
            opts.max_mem = _size(item.value, path, item.line)
        elif name in ("max_file", "max_file_store", "max_store"):
            opts.max_file = _size(item.value, path, item.line)
        elif name == "sync_interval":
            always = str(item.value).lower() == "always"
            opts.sync_interval = "always" if always else parse_duration(item.value, path, item.line)
        elif name in ("enabled", "enable"):
            opts.jetstream = bool(item.value)
        elif name in ("domain", "strict", "max_buffered_msgs", "max_buffered_size", "unique_tag"):
            continue
        else:
            raise ConfigError(path, item.line, f'unknown field "{key}" in jetstream')


def _authorization(doc: dict[str, _Value], opts: Options, path: Path) -> None:
    for key, item in doc.items():
        name = key.lower()
        if name in ("user", "username"):
            opts.user = str(item.value)
        elif name in ("pass", "password"):
            opts.password = str(item.value)
        elif name == "token":
            opts.token = str(item.value)
        elif name == "timeout":
            opts.auth_timeout = parse_duration(item.value, path, item.line)
        elif name == "users":
            opts.users.extend(_users(item, "$G", path))
        else:
            raise ConfigError(path, item.line, f'unknown field "{key}" in authorization')


def _users(item: _Value, account: str, path: Path) -> list[User]:
    if not isinstance(item.value, list):
        raise ConfigError(path, item.line, "users must be an array")
    users = []
    for entry in item.value:
        spec = plain(_map(entry.value, path, entry.line))
        name = spec.get("user") or spec.get("username")
        if not name:
            raise ConfigError(path, entry.line, "user entry without a user name")
        password = spec.get("password", spec.get("pass"))
        users.append(
            User(
                str(name), None if password is None else str(password), account, spec.get("permissions") or {}
            )
        )
    return users


def _accounts(doc: dict[str, _Value], opts: Options, path: Path) -> None:
    for name, item in doc.items():
        spec = _map(item.value, path, item.line)
        account: dict = {"jetstream": None}
        for key, sub in spec.items():
            if key == "users":
                opts.users.extend(_users(sub, name, path))
            elif key == "jetstream":
                account["jetstream"] = _account_jetstream(sub, path)
            elif key in ("exports", "imports", "mappings", "limits"):
                account[key] = plain(sub)
            else:
                raise ConfigError(path, sub.line, f'unknown field "{key}" in account {name}')
        opts.accounts[name] = account


def _account_jetstream(item: _Value, path: Path) -> dict | None:
    value = item.value
    if value in (True, "enabled"):
        return {"max_mem": -1, "max_file": -1, "max_streams": -1, "max_consumers": -1, "max_ack_pending": -1}
    if value in (False, "disabled"):
        return None
    limits = {"max_mem": -1, "max_file": -1, "max_streams": -1, "max_consumers": -1, "max_ack_pending": -1}
    aliases = {
        "max_memory": "max_mem",
        "max_store": "max_file",
        "max_memory_store": "max_mem",
        "max_file_store": "max_file",
    }
    for key, sub in _map(value, path, item.line).items():
        name = aliases.get(key.lower(), key.lower())
        if name not in limits:
            raise ConfigError(path, sub.line, f'unknown field "{key}" in account jetstream')
        limits[name] = (
            _size(sub.value, path, sub.line)
            if name in ("max_mem", "max_file")
            else _int(sub.value, path, sub.line)
        )
    return limits


def _map(value, path: Path, line: int) -> dict[str, _Value]:
    if not isinstance(value, dict):
        raise ConfigError(path, line, "expected a map")
    return value


def _int(value, path: Path, line: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, line, f"expected an integer, got {value!r}")
    return value


def _size(value, path: Path, line: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return parse_size(str(value))
    except Exception:  # noqa: BLE001 - reported with the line
        raise ConfigError(path, line, f"invalid size {value!r}") from None
