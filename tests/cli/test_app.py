"""The root group: global options, their environment variables, errors, start-up speed."""

from __future__ import annotations

import json
import os
import resource
import ssl
import subprocess
import sys
import time

import pytest

from schemas import subjects
from tests.cli.conftest import Pynats

PYNATS = os.path.join(os.path.dirname(sys.executable), "pynats")


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys; from nats_cli.app import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "heavy = ('rich', 'questionary', 'nats', 'jsonschema', 'prompt_toolkit')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"
    # wall time when the machine is quiet; CPU time (unaffected by other tests' load) when it is not
    best = min(_time([PYNATS, "--help"]) for _ in range(5))
    if best > 0.060:
        cpu = min(_cpu([PYNATS, "--help"]) for _ in range(10))
        assert cpu <= 0.060, f"pynats --help took {best * 1000:.0f} ms, {cpu * 1000:.0f} ms of CPU"


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - start


def _cpu(argv: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_help_lists_commands_and_global_options(pynats_offline):
    out = pynats_offline("--help").ok().out
    for word in ("account", "consumer", "context", "pub", "req", "stream", "sub"):
        assert f"\n  {word} " in out
    for flag in ("--server", "--user", "--password", "--token", "--creds", "--nkey", "--tlscert", "--tlskey",
                 "--tlsca", "--timeout", "--context", "--no-context", "--trace"):  # fmt: skip
        assert flag in out
    assert "[env: NATS_URL]" in out and "NATS_TIMEOUT]" in out
    assert pynats_offline("--version").ok().out == "pynats, version 0.1.0\n"


def test_usage_errors_are_short(pynats_offline):
    run = pynats_offline("nope")
    assert run.code == 2 and "No such command 'nope'" in run.err and "Traceback" not in run.output
    run = pynats_offline("str add --storage tape")
    assert run.code == 2 and "'tape' is not one of" in run.err


def test_aliases(pynats):
    pynats("stream add S --subjects s --defaults").ok()
    for cmd in ("str ls -n", "st list -n", "s l -n", "stream ls -n"):
        assert pynats(cmd).ok().out == "S\n"
    pynats("con add S C --pull --defaults").ok()
    for cmd in ("con ls S -n", "consumer list S -n", "obs ls S -n", "c ls S -n"):
        assert pynats(cmd).ok().out == "C\n"


def test_server_flag_env_and_list(server, config_home):
    offline = Pynats(None, config_home)
    assert offline("-s", server.url, "account", "info", "-j").ok()
    assert offline("account", "info", "-j", env={"NATS_URL": server.url}).ok()
    host_port = server.url.removeprefix("nats://")
    assert offline("-s", f"nats://127.0.0.1:1,{host_port}", "account", "info", "-j").ok()
    run = offline("-s", "nats://127.0.0.1:1", "account", "info").fails()
    assert run.err == "pynats: error: could not connect to nats://127.0.0.1:1: connection refused\n"


def test_timeout_and_trace(pynats):
    assert pynats("--timeout 2s str ls -n").ok()
    assert pynats("str ls -n", env={"NATS_TIMEOUT": "1.5"}).ok()
    run = pynats("--timeout soon str ls").fails()
    assert run.err.startswith('pynats: error: invalid --timeout: invalid duration "soon"')
    run = pynats("--trace str info NOPE").fails()
    assert run.err.splitlines()[:3] == [
        f">>> {subjects.stream_info('NOPE')}",
        "(empty)",
        f"<<< {subjects.stream_info('NOPE')}",
    ]
    assert '"err_code":10059' in run.err
    assert run.err.endswith("pynats: error: stream not found (code 404, err_code 10059)\n")


def test_user_password_and_token(make_server, config_home):
    srv = make_server(["--user", "app", "--pass", "s3cret"])
    cli = Pynats(srv.url, config_home)
    assert cli("--user app --password s3cret account info -j").ok()
    assert cli("account info -j", env={"NATS_USER": "app", "NATS_PASSWORD": "s3cret"}).ok()
    run = cli("--user app --password wrong account info").fails()
    assert run.err == f"pynats: error: could not connect to {srv.url}: Authorization Violation\n"
    tok = make_server(["--auth", "t0ken"])
    cli = Pynats(tok.url, config_home)
    assert cli("--token t0ken account info -j").ok()
    assert cli("account info -j", env={"NATS_TOKEN": "t0ken"}).ok()
    assert cli("--user t0ken account info -j").ok()  # natscli: a user without a password is a token
    assert "Authorization Violation" in cli("account info").fails().err


def test_tls_ca_cert_and_key(make_server, config_home, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_pem, server_key, ca_pem = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(server_pem)
    cert.private_key_pem.write_to_path(server_key)
    ca.cert_pem.write_to_path(ca_pem)
    srv = make_server(["--tls", "--tlscert", str(server_pem), "--tlskey", str(server_key)])
    cli = Pynats(srv.url.replace("nats://", "tls://"), config_home)
    assert cli(f"--tlsca {ca_pem} account info -j").ok()
    assert cli("account info -j", env={"NATS_CA": str(ca_pem)}).ok()
    assert "could not connect" in cli("account info").fails().err
    client = ca.issue_cert("client")
    client_pem, client_key = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(client_pem)
    client.private_key_pem.write_to_path(client_key)
    assert cli(f"--tlsca {ca_pem} --tlscert {client_pem} --tlskey {client_key} account info -j").ok()
    run = cli(f"--tlsca {ca_pem} --tlscert {client_pem} account info").fails()
    assert run.err == "pynats: error: --tlscert and --tlskey must be given together\n"
    run = cli(f"--tlsca {tmp_path / 'missing.pem'} account info").fails()
    assert run.err == f"pynats: error: --tlsca file {tmp_path / 'missing.pem'} does not exist\n"
    (tmp_path / "junk.pem").write_text("junk")
    run = cli(f"--tlsca {tmp_path / 'junk.pem'} account info").fails()
    assert run.err.startswith("pynats: error: cannot load TLS files:")
    assert ssl  # the stdlib does the TLS


def test_contexts_give_settings_and_flags_override(server, config_home, tmp_path):
    cli = Pynats(None, config_home)
    contexts_dir = os.path.join(config_home, "nats", "context")
    cli("context", "add", "local", "--server", server.url, "--description", "the test server").ok()
    cli("context", "add", "broken", "--server", "nats://127.0.0.1:1").ok()
    assert cli("--context local account info -j").ok()
    assert cli("account info -j", env={"NATS_CONTEXT": "local"}).ok()
    assert "connection refused" in cli("--context broken account info").fails().err
    assert cli("--context", "broken", "-s", server.url, "account", "info", "-j").ok()
    cli("context select broken").ok()
    assert "connection refused" in cli("account info").fails().err
    assert cli("--no-context account info -j", env={"NATS_URL": server.url}).ok()
    assert cli("account info -j", env={"NATS_URL": server.url}).ok()
    path = os.path.join(contexts_dir, "local.json")
    assert cli("--context", path, "account", "info", "-j").ok()
    os.remove(os.path.join(contexts_dir, "broken.json"))
    run = cli("account info -j", env={"NATS_URL": server.url}).ok()
    assert run.err == 'selected context "broken" does not exist, unselecting it\n'
    assert not os.path.exists(os.path.join(config_home, "nats", "context.txt"))
    run = cli("--context nope account info").fails()
    assert run.err == 'pynats: error: unknown context "nope"\n'


def test_no_traceback_for_odd_input(pynats):
    for args in (
        "str info '' ",
        "str info a.b",
        "con info S ''",
        "str get S notanumber",
        "str add 'bad name' --subjects x --defaults",
        "con add S 'bad.name' --pull --defaults",
        "pub '' x",
        "sub ''",
        "--timeout 0s str ls",
    ):
        run = pynats(args, env={"PYNATS_DEBUG": ""})
        assert run.code in (1, 2), args
        assert "Traceback" not in run.output, args
        assert len(run.err.strip().splitlines()) <= 4, (args, run.err)


def test_json_output_has_no_colour(pynats):
    pynats("str add S --subjects s --defaults").ok()
    out = pynats("str info S -j", env={"NO_COLOR": None, "FORCE_COLOR": "1"}).ok().out
    assert "\x1b[" not in out
    json.loads(out)


def _leaves(group, prefix=()):
    import click

    from nats_cli.app import cli

    group = group or cli
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        if name == "devserver":
            continue
        cmd = group.get_command(ctx, name)
        if cmd is None:
            continue
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_command_has_help_and_no_traceback_without_arguments(pynats):
    pynats("str add S --subjects s --defaults").ok()
    pynats("con add S C --pull --defaults").ok()
    commands = list(_leaves(None))
    assert ("stream", "add") in commands and ("consumer", "next") in commands and ("pub",) in commands
    for command in commands:
        assert pynats(*command, "--help").ok().out.startswith(f"Usage: pynats {' '.join(command)}")
        if command in (("sub",), ("events",)):
            continue  # waits for messages
        run = pynats(*command, env={"PYNATS_DEBUG": ""}, input="")
        assert run.code in (0, 1, 2), (command, run.output)
        assert "Traceback" not in run.output, command


def test_global_options_may_follow_the_command(server, config_home):
    cli = Pynats(None, config_home)
    cli("stream", "add", "S", "--subjects", "s", "--defaults", "-s", server.url).ok()
    assert cli("str", "ls", "-n", "--server", server.url).ok().out == "S\n"
    run = cli("str", "info", "S", f"--server={server.url}", "--trace", "-j").ok()
    assert run.err.startswith(f">>> {subjects.stream_info('S')}\n")
    cli("context", "add", "here", "-s", server.url).ok()
    assert cli("str", "ls", "-n", "--context", "here").ok().out == "S\n"
