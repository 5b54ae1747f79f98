"""Connection settings: natscli-compatible context files, environment variables and flags.

Owns the environment variable names (ENV) and the on-disk layout natscli uses, so a context
written by `nats context add` works here and the other way round:

    $XDG_CONFIG_HOME/nats/context/<name>.json   (else ~/.config/nats/...)  one file per context
    $XDG_CONFIG_HOME/nats/context.txt            the selected context's name
    $XDG_CONFIG_HOME/nats/previous-context.txt   the one selected before it

Standard library only (it is imported on every start-up).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_URL = "nats://127.0.0.1:4222"

# global option -> environment variable; the one place these names are spelled
ENV = {
    "server": "NATS_URL",
    "user": "NATS_USER",
    "password": "NATS_PASSWORD",
    "token": "NATS_TOKEN",
    "creds": "NATS_CREDS",
    "nkey": "NATS_NKEY",
    "tlscert": "NATS_CERT",
    "tlskey": "NATS_KEY",
    "tlsca": "NATS_CA",
    "timeout": "NATS_TIMEOUT",
    "context": "NATS_CONTEXT",
}

# the JSON keys natscli writes, in its order; every file we write carries all of them
FIELDS: dict[str, object] = {
    "description": "",
    "url": "",
    "socks_proxy": "",
    "token": "",
    "user": "",
    "password": "",
    "creds": "",
    "nkey": "",
    "cert": "",
    "key": "",
    "ca": "",
    "nsc": "",
    "jetstream_domain": "",
    "jetstream_api_prefix": "",
    "jetstream_event_prefix": "",
    "inbox_prefix": "",
    "user_jwt": "",
    "user_seed": "",
    "color_scheme": "",
    "tls_first": False,
    "windows_cert_store": "",
    "windows_cert_match_by": "",
    "windows_cert_match": "",
    "windows_ca_certs_match": None,
}

# global option -> context field it overrides
OPTION_FIELDS = {
    "server": "url",
    "user": "user",
    "password": "password",
    "token": "token",
    "creds": "creds",
    "nkey": "nkey",
    "tlscert": "cert",
    "tlskey": "key",
    "tlsca": "ca",
}
_PATH_FIELDS = ("creds", "nkey", "cert", "key", "ca")

SELECTED_FILE = "context.txt"
PREVIOUS_FILE = "previous-context.txt"


class ContextError(Exception):
    """A context cannot be read, written or found; the message is ready to show."""


@dataclass
class Settings:
    """What a connection needs, after context + environment + flags are merged."""

    url: str = DEFAULT_URL
    user: str = ""
    password: str = ""
    token: str = ""
    creds: str = ""
    nkey: str = ""
    cert: str = ""
    key: str = ""
    ca: str = ""
    inbox_prefix: str = ""
    jetstream_domain: str = ""
    jetstream_api_prefix: str = ""
    tls_first: bool = False
    context: str | None = None  # the context the values came from, if any
    notices: list[str] = field(default_factory=list)

    @property
    def servers(self) -> list[str]:
        out = []
        for part in self.url.split(","):
            part = part.strip()
            if part and "://" not in part:
                part = "nats://" + part
            if part:
                out.append(part)
        return out or [DEFAULT_URL]


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "nats"


def context_dir() -> Path:
    return config_dir() / "context"


def valid_name(name: str) -> bool:
    return bool(name) and ".." not in name and "/" not in name and "\\" not in name


def _check_name(name: str) -> None:
    if not valid_name(name):
        raise ContextError(f'invalid context name "{name}"')


def path_of(name: str) -> Path:
    _check_name(name)
    return context_dir() / f"{name}.json"


def names() -> list[str]:
    """Known contexts, sorted; ignores files that are not .json or are empty."""
    d = context_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.iterdir() if p.suffix == ".json" and p.is_file() and p.stat().st_size)


def exists(name: str) -> bool:
    return valid_name(name) and path_of(name).is_file()


def selected() -> str:
    """The selected context name, "" when none is selected."""
    try:
        return (config_dir() / SELECTED_FILE).read_text().strip()
    except OSError:
        return ""


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def select(name: str) -> None:
    if not exists(name):
        raise ContextError(f'unknown context "{name}"')
    current = selected()
    if current and current != name:
        _write_private(config_dir() / PREVIOUS_FILE, current)
    _write_private(config_dir() / SELECTED_FILE, name)


def unselect() -> None:
    try:
        (config_dir() / SELECTED_FILE).unlink()
    except FileNotFoundError:
        pass


def load(name_or_file: str) -> dict:
    """The raw JSON of a context, by name or by the path of a .json file."""
    path = Path(name_or_file)
    if not (name_or_file.endswith(".json") and path.is_file()):
        if not exists(name_or_file):
            _check_name(name_or_file)
            raise ContextError(f'unknown context "{name_or_file}"')
        path = path_of(name_or_file)
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError) as e:
        raise ContextError(f"cannot read context {path}: {e}") from None
    if not isinstance(data, dict):
        raise ContextError(f"cannot read context {path}: not a JSON object")
    return data


def save(name: str, values: dict) -> Path:
    """Write a context with every natscli key, keeping keys we do not know about."""
    path = path_of(name)
    data = dict(FIELDS)
    if path.is_file():
        try:
            data.update(json.loads(path.read_text() or "{}"))
        except ValueError:
            pass
    data.update({k: v for k, v in values.items() if v is not None})
    _write_private(path, json.dumps(data, indent=2) + "\n")
    return path


def remove(name: str) -> None:
    path = path_of(name)
    if not path.is_file():
        raise ContextError(f'unknown context "{name}"')
    path.unlink()
    if selected() == name:
        unselect()


def expand(value: str) -> str:
    """`~` and `$VAR` in file references; `file://` prefixes dropped; `env://NAME` read."""
    if not value:
        return value
    if value.startswith("env://"):
        return os.environ.get(value[len("env://") :], "")
    if value.startswith("file://"):
        value = value[len("file://") :]
    return os.path.expandvars(os.path.expanduser(value))


def resolve(context: str | None, no_context: bool, overrides: dict[str, str | None]) -> Settings:
    """Merge: chosen context (flag/env > selected), then every non-empty option overrides its field."""
    s = Settings()
    data: dict = {}
    if not no_context:
        name = context or ""
        if not name:
            name = selected()
            if name and not exists(name):
                s.notices.append(f'selected context "{name}" does not exist, unselecting it')
                unselect()
                name = ""
        if name:
            data = load(name)
            s.context = name
    for key in ("url", "user", "password", "token", "inbox_prefix", "jetstream_domain"):
        if data.get(key):
            setattr(s, key, str(data[key]))
    if data.get("jetstream_api_prefix"):
        s.jetstream_api_prefix = str(data["jetstream_api_prefix"])
    s.tls_first = bool(data.get("tls_first"))
    for key in _PATH_FIELDS:
        if data.get(key):
            setattr(s, key, expand(str(data[key])))
    for option, key in OPTION_FIELDS.items():
        value = overrides.get(option)
        if value:
            setattr(s, key, expand(value) if key in _PATH_FIELDS else value)
    return s
