"""The server process: a start it cannot make is one fatal log line and exit status 1, as nats-server."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.servers import nats_server_binary


def _command(server_kind: str) -> list[str]:
    if server_kind == "real":
        return [nats_server_binary() or "nats-server"]
    return [sys.executable, "-m", "devserver"]


def _run(server_kind: str, *flags: str) -> tuple[int, list[str]]:
    done = subprocess.run([*_command(server_kind), *flags], capture_output=True, text=True, timeout=20)
    return done.returncode, (done.stdout + done.stderr).splitlines()


def _fatal(lines: list[str]) -> str:
    """The text of the last log line, which must be the fatal one."""
    head, fatal, text = lines[-1].partition(" [FTL] ")
    assert fatal, lines
    return text


def test_port_in_use(server_kind):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, lines = _run(server_kind, "-a", "127.0.0.1", "-p", str(port))
    assert code == 1
    assert _fatal(lines) == (
        f"Error listening on port: 127.0.0.1:{port}, "
        f'"listen tcp 127.0.0.1:{port}: bind: address already in use"'
    )
    assert not any("Traceback" in line for line in lines)


def test_store_directory_cannot_be_created(server_kind):
    code, lines = _run(server_kind, "-a", "127.0.0.1", "-p", "-1", "-js", "-sd", "/proc/nope/store")
    assert code == 1
    assert _fatal(lines) == (
        "Can't start JetStream: could not create storage directory - "
        "mkdir /proc/nope: no such file or directory"
    )
    assert not any("Traceback" in line for line in lines)
