"""Shell completion: the checked-in scripts are current, and completion works in a real bash.

The scripts are regenerated here and compared with `completions/`; the bash tests source the
checked-in script in a pty (pexpect) and press TAB, against both servers for stream and consumer
names. CliRunner cases drive click's completion protocol directly (`_PYNATS_COMPLETE`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nats_cli.app import COMMANDS, cli
from nats_cli.commands import completion
from tests.cli.conftest import Pynats, Run

ROOT = Path(__file__).resolve().parents[2]
BIN = os.path.dirname(sys.executable)
REGENERATE = "for s in bash zsh fish; do pynats completion $s > completions/<file>; done"


@pytest.mark.parametrize("shell", sorted(completion.SCRIPTS))
def test_checked_in_scripts_are_current(shell, pynats_offline):
    path = ROOT / "completions" / completion.SCRIPTS[shell]
    fresh = completion.script(shell)
    assert path.read_text() == fresh, f"{path} is stale; regenerate: {REGENERATE}"
    assert pynats_offline(f"completion {shell}").ok().out == fresh
    assert "_PYNATS_COMPLETE" in fresh


def test_unknown_shell_is_a_usage_error(pynats_offline):
    run = pynats_offline("completion tcsh")
    assert run.code == 2 and "'tcsh' is not one of" in run.err


def complete(pynats: Pynats, line: str) -> list[str]:
    """What `pynats` offers for `line` (the cursor at its end), through click's bash protocol."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    env = pynats.env({"_PYNATS_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(cword)})
    run = Run(CliRunner().invoke(cli, [], env=env, prog_name="pynats"))
    return [row.partition(",")[2] for row in run.ok().out.splitlines() if row]


def test_commands_options_and_subcommands_complete_offline(pynats_offline):
    assert complete(pynats_offline, "pynats ") == sorted(COMMANDS)  # every lazily loaded command is offered
    assert complete(pynats_offline, "pynats s") == ["stream", "sub"]
    assert "--server" in complete(pynats_offline, "pynats --se")
    assert complete(pynats_offline, "pynats str i") == ["info"]  # through an alias
    assert complete(pynats_offline, "pynats con ne") == ["next"]
    assert complete(pynats_offline, "pynats completion ") == ["bash", "fish", "zsh"]
    assert complete(pynats_offline, "pynats str add --storage ") == ["f", "file", "m", "mem", "memory"]


def test_top_level_completion_imports_no_command_module():
    code = (
        "import os, sys; from nats_cli.app import cli\n"
        "os.environ.update(_PYNATS_COMPLETE='bash_complete', COMP_WORDS='pynats ', COMP_CWORD='1')\n"
        "try:\n    cli.main(prog_name='pynats')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('nats_cli.commands.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_names_complete_from_the_server(pynats):
    pynats("str add ORDERS --subjects ORDERS.* --defaults").ok()
    pynats("str add OTHER --subjects OTHER.* --defaults").ok()
    pynats("con add ORDERS DISPATCH --pull --defaults").ok()
    pynats("con add ORDERS AUDIT --pull --defaults").ok()
    assert complete(pynats, "pynats str info ") == ["ORDERS", "OTHER"]
    assert complete(pynats, "pynats stream rm OR") == ["ORDERS"]
    assert complete(pynats, "pynats con ls ") == ["ORDERS", "OTHER"]
    assert complete(pynats, "pynats con info ORDERS ") == ["AUDIT", "DISPATCH"]
    assert complete(pynats, "pynats con next ORDERS D") == ["DISPATCH"]
    assert complete(pynats, "pynats con info OTHER ") == []
    assert complete(pynats, "pynats con info NOPE ") == []
    assert complete(pynats, "pynats con add ") == ["ORDERS", "OTHER"]  # an existing stream...
    assert complete(pynats, "pynats con add ORDERS ") == []  # ...but the new consumer's name is new
    assert complete(pynats, "pynats str add ") == []


def test_no_server_offers_nothing_quietly(pynats_offline):
    assert complete(pynats_offline, "pynats -s nats://127.0.0.1:1 str info ") == []
    assert complete(Pynats("nats://127.0.0.1:1", pynats_offline.config_home), "pynats con info S ") == []


# -- a real bash ----------------------------------------------------------------------------------

pexpect = pytest.importorskip("pexpect")


class Bash:
    """An interactive bash in a pty with the checked-in completion script sourced."""

    def __init__(self, url: str, config_home: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            XDG_CONFIG_HOME=config_home,
            INPUTRC=os.devnull,
            TERM="dumb",
            HISTFILE=os.devnull,
            NATS_URL=url,
        )
        self.child = pexpect.spawn(
            shutil.which("bash") or "bash", ["--norc", "--noprofile"], env=env, encoding="utf-8",
            timeout=30, dimensions=(40, 200),
        )  # fmt: skip
        self.run("PS1='$ '; bind 'set enable-bracketed-paste off'; bind 'set bell-style none'")
        self.run(f"source {ROOT / 'completions' / completion.SCRIPTS['bash']}")

    def run(self, command: str) -> None:
        self.child.sendline(command + "; echo done-$((40+2))")
        self.child.expect_exact("done-42")

    def tab(self, typed: str) -> str:
        """Type `typed`, press TAB, and return the command line as completed (echoed back by bash)."""
        self.child.send(typed + "\t")
        self.child.expect_exact(typed)  # readline echoes what we typed before completing
        self.child.send("\x01echo '<'\x05'>'\r")  # Ctrl-A, quote the line, Ctrl-E, run it as `echo`
        self.child.expect(r"\n<(.*)>\r")
        return self.child.match.group(1)

    def close(self) -> None:
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()


@pytest.fixture
def bash_shell(request, config_home):
    shells: list[Bash] = []

    def start(url: str = "nats://127.0.0.1:1") -> Bash:  # by default a port where nothing listens
        shells.append(Bash(url, config_home))
        return shells[-1]

    yield start
    for shell in shells:
        shell.close()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_and_options(bash_shell):
    sh = bash_shell()
    assert sh.tab("pynats str i") == "pynats str info "
    assert sh.tab("pynats con ad") == "pynats con add "
    assert sh.tab("pynats comp") == "pynats completion "
    assert sh.tab("pynats str add --stor") == "pynats str add --storage "
    assert sh.tab("pynats str info ") == "pynats str info "  # no server: nothing, and no noise


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_stream_and_consumer_names_from_the_server(bash_shell, server, pynats):
    pynats("str add ORDERS --subjects ORDERS.* --defaults").ok()
    pynats("con add ORDERS DISPATCH --pull --defaults").ok()
    sh = bash_shell(server.url)
    assert sh.tab("pynats str info O") == "pynats str info ORDERS "
    assert sh.tab("pynats str info ") == "pynats str info ORDERS "
    assert sh.tab("pynats con info ORDERS ") == "pynats con info ORDERS DISPATCH "
