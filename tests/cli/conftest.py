"""CLI test helpers: run `pynats` in-process with CliRunner against a server, with fixed output.

Every run gets NO_COLOR=1, COLUMNS=100, a private XDG_CONFIG_HOME (so no real context leaks in),
no NATS_* variables from the outer environment, and PYNATS_DEBUG=1 so an unexpected exception
fails the test with its traceback instead of becoming an error line.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass

import pytest
from click.testing import CliRunner, Result

from nats_cli.app import cli as root

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def mask(text: str) -> str:
    """Replace local timestamps with <time> so outputs can be compared exactly."""
    return TIME.sub("<time>", text)


@dataclass
class Run:
    result: Result

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def out(self) -> str:
        return self.result.stdout

    @property
    def err(self) -> str:
        return self.result.stderr

    @property
    def output(self) -> str:
        return self.result.output

    def ok(self) -> Run:
        assert self.code == 0, f"exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"
        return self

    def fails(self, code: int = 1) -> Run:
        assert self.code == code, f"exit {self.code}, wanted {code}\nstdout:\n{self.out}\nstderr:\n{self.err}"
        assert "Traceback" not in self.output
        return self


class Pynats:
    """`pynats(...)` runs the CLI: pynats("str", "ls") or pynats("str ls -j")."""

    def __init__(self, url: str | None, config_home: str) -> None:
        self.url = url
        self.config_home = config_home

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str | None]:
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("NATS_")}
        env.update(
            NO_COLOR="1",
            COLUMNS="100",
            LINES="24",
            XDG_CONFIG_HOME=self.config_home,
            PYNATS_DEBUG="1",
            TERM="dumb",
        )
        if self.url:
            env["NATS_URL"] = self.url
        env.update(extra or {})
        return env

    def __call__(self, *args: str, input: str | bytes | None = None, env: dict | None = None) -> Run:
        argv = shlex.split(args[0]) if len(args) == 1 else list(args)
        runner = CliRunner()
        result = runner.invoke(root, argv, input=input, env=self.env(env), catch_exceptions=False)
        return Run(result)


@pytest.fixture
def config_home(tmp_path) -> str:
    path = tmp_path / "config"
    path.mkdir()
    return str(path)


@pytest.fixture
def pynats(server, config_home) -> Pynats:
    return Pynats(server.url, config_home)


@pytest.fixture
def pynats_offline(config_home) -> Pynats:
    """The CLI with no server (for contexts, argument errors, --help)."""
    return Pynats(None, config_home)
