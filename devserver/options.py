"""Server options, and the command line parsed the way nats-server parses it.

nats-server uses Go's flag package: one or two dashes mean the same, a value follows either as
the next argument or after `=` (`-p 4222`, `-p=4222`, `--port=4222`), and boolean flags take no
value (`-js`, `-DV`). Scripts written for nats-server therefore run unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 4222
RANDOM_PORT = -1
MAX_PAYLOAD = 1024 * 1024
MAX_PENDING = 64 * 1024 * 1024
MAX_CONTROL_LINE = 4096
PING_INTERVAL = 120.0
PING_MAX = 2
AUTH_TIMEOUT = 2.0
SYNC_INTERVAL = 120.0


@dataclass
class User:
    name: str
    password: str | None = None
    account: str = "$G"
    permissions: dict = field(default_factory=dict)


@dataclass
class Options:
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    server_name: str = ""
    jetstream: bool = False
    store_dir: Path | None = None
    memory_only: bool = False
    max_mem: int = -1
    max_file: int = -1
    sync_interval: float | str = SYNC_INTERVAL  # seconds, or "always"
    max_payload: int = MAX_PAYLOAD
    max_pending: int = MAX_PENDING
    max_control_line: int = MAX_CONTROL_LINE
    ping_interval: float = PING_INTERVAL
    ping_max: int = PING_MAX
    auth_timeout: float = AUTH_TIMEOUT
    user: str | None = None
    password: str | None = None
    token: str | None = None
    users: list[User] = field(default_factory=list)
    no_auth_user: str | None = None  # the user a client without credentials logs in as
    accounts: dict[str, dict] = field(default_factory=dict)
    system_account: str | None = None
    http_port: int = 0
    config_file: Path | None = None
    debug: bool = False
    trace: bool = False
    pid_file: Path | None = None
    # cert_file, key_file, ca_file, verify, timeout (seconds), handshake_first; empty: no TLS
    tls: dict = field(default_factory=dict)

    @property
    def auth_required(self) -> bool:
        return bool(self.user or self.token or self.users)


class UsageError(Exception):
    """A bad command line; the message says which flag and why."""


# flag name -> (Options attribute, kind); kinds: str int bool path size, and tls: a key of
# Options.tls (`-tls` and `-tlsverify` are boolean)
_FLAGS: dict[str, tuple[str, str]] = {
    "a": ("host", "str"),
    "addr": ("host", "str"),
    "net": ("host", "str"),
    "p": ("port", "int"),
    "port": ("port", "int"),
    "n": ("server_name", "str"),
    "name": ("server_name", "str"),
    "server_name": ("server_name", "str"),
    "js": ("jetstream", "bool"),
    "jetstream": ("jetstream", "bool"),
    "sd": ("store_dir", "path"),
    "store_dir": ("store_dir", "path"),
    "memory": ("memory_only", "bool"),
    "c": ("config_file", "path"),
    "config": ("config_file", "path"),
    "user": ("user", "str"),
    "pass": ("password", "str"),
    "auth": ("token", "str"),
    "max_payload": ("max_payload", "size"),
    "m": ("http_port", "int"),
    "http_port": ("http_port", "int"),
    "P": ("pid_file", "path"),
    "pid": ("pid_file", "path"),
    "tls": ("tls", "tls"),
    "tlscert": ("cert_file", "tls"),
    "tlskey": ("key_file", "tls"),
    "tlscacert": ("ca_file", "tls"),
    "tlsverify": ("verify", "tls"),
    "D": ("debug", "bool"),
    "debug": ("debug", "bool"),
    "V": ("trace", "bool"),
    "trace": ("trace", "bool"),
}
_COMBINED = {"DV": ("debug", "trace"), "VV": ("trace",), "DVV": ("debug", "trace")}
_ACTIONS = {"v": "version", "version": "version", "h": "help", "help": "help"}

USAGE = """\
Usage: devserver [options]

Server options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222; 0 or -1: a free port)
    -n, --name <server_name>         Server name (default: server id)
    -m, --http_port <port>           Use port for http monitoring
    -c, --config <file>              Configuration file
    -P, --pid <file>                 File to store the process id
    --max_payload <size>             Largest message payload (default: 1MB)

JetStream options:
    -js, --jetstream                 Enable JetStream
    -sd, --store_dir <dir>           Store directory
    --memory                         Keep every stream in memory, no store directory

TLS options:
    --tls                            Enable TLS, do not verify clients (default: false)
    --tlscert <file>                 Server certificate file
    --tlskey <file>                  Private key for server certificate
    --tlsverify                      Enable TLS, verify client certificates
    --tlscacert <file>               Client certificate CA for verification

Authorization options:
    --user <user>                    User required for connections
    --pass <password>                Password required for connections
    --auth <token>                   Authorization token required for connections

Logging options:
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -DV                              Debug and trace

Common options:
    -h, --help                       Show this message
    -v, --version                    Show version
"""


def parse_size(text: str) -> int:
    """Sizes as nats-server reads them: 1024, 1K, 512MB, 1G, 2GiB (1024-based)."""
    s = text.strip().upper().removesuffix("IB").removesuffix("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    mult = units.get(s[-1:], 1)
    number = s[:-1] if s[-1:] in units else s
    try:
        return int(float(number) * mult)
    except ValueError:
        raise UsageError(f"invalid size {text!r}") from None


def parse_args(argv: list[str], opts: Options | None = None) -> tuple[Options, str | None]:
    """Parse nats-server style flags into Options; the second value is "help", "version" or None."""
    opts = opts or Options()
    tls_off = False  # -tls=false wins over every other TLS flag, as in nats-server
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-") or arg in ("-", "--"):
            raise UsageError(f"unexpected argument {arg!r}")
        name, eq, value = arg.lstrip("-").partition("=")
        if name in _ACTIONS:
            return opts, _ACTIONS[name]
        if name in _COMBINED:
            for attr in _COMBINED[name]:
                setattr(opts, attr, True)
            continue
        if name not in _FLAGS:
            raise UsageError(f"flag provided but not defined: -{name}")
        attr, kind = _FLAGS[name]
        if kind == "tls" and attr in ("tls", "verify"):  # boolean: any TLS flag turns TLS on
            on = value.lower() not in ("false", "0") if eq else True
            if attr == "verify":
                opts.tls["verify"] = on
            elif on:
                opts.tls.setdefault("verify", False)
            else:
                tls_off = True
            continue
        if kind == "bool":
            setattr(opts, attr, value.lower() not in ("false", "0") if eq else True)
            continue
        if not eq:
            if i >= len(argv):
                raise UsageError(f"flag needs an argument: -{name}")
            value = argv[i]
            i += 1
        _set(opts, attr, kind, _convert(name, kind, value))
    if opts.port == 0:
        opts.port = RANDOM_PORT
    if tls_off:
        opts.tls.clear()
    return opts, None


def _convert(name: str, kind: str, value: str):
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise UsageError(f'invalid value "{value}" for flag -{name}: parse error') from None
    if kind == "size":
        return parse_size(value)
    if kind == "path":
        return Path(value).expanduser()
    return value


def _set(opts: Options, attr: str, kind: str, value) -> None:
    if kind == "tls":
        opts.tls[attr] = str(value)
    else:
        setattr(opts, attr, value)
