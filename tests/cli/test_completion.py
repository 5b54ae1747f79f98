"""Shell completion: the checked-in scripts are current, and completion works in real shells.

The scripts are regenerated here and compared with `completions/`. bash and zsh source the
checked-in script in a pty (pexpect) and press TAB; fish answers `complete -C`. Stream and consumer
names are completed against both servers. CliRunner cases drive click's completion protocol
directly (`_PYNATS_COMPLETE`). A shell that is not installed is skipped with a reason.
"""

from __future__ import annotations

import os
import shlex
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
    assert complete(pynats, "pynats con pause ORDERS ") == ["AUDIT", "DISPATCH"]
    assert complete(pynats, "pynats con unpin ORDERS AUDIT ") == []  # a group name is not a consumer's
    assert complete(pynats, "pynats con info OTHER ") == []
    assert complete(pynats, "pynats con info NOPE ") == []
    assert complete(pynats, "pynats con add ") == ["ORDERS", "OTHER"]  # an existing stream...
    assert complete(pynats, "pynats con add ORDERS ") == []  # ...but the new consumer's name is new
    assert complete(pynats, "pynats str add ") == []


def test_no_server_offers_nothing_quietly(pynats_offline):
    assert complete(pynats_offline, "pynats -s nats://127.0.0.1:1 str info ") == []
    assert complete(Pynats("nats://127.0.0.1:1", pynats_offline.config_home), "pynats con info S ") == []


# -- real shells ----------------------------------------------------------------------------------

pexpect = pytest.importorskip("pexpect")

SETUP = {  # shell -> (arguments, set-up line before sourcing the script)
    "bash": (["--norc", "--noprofile"],
             "PS1='$ '; bind 'set enable-bracketed-paste off'; bind 'set bell-style none'"),
    "zsh": (["-f"], "bindkey -e; PS1='$ '; unsetopt beep; autoload -U compinit; compinit -u"),
}  # fmt: skip


def shell_env(url: str, config_home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        XDG_CONFIG_HOME=config_home,
        INPUTRC=os.devnull,
        TERM="dumb",
        HISTFILE=os.devnull,
        NATS_URL=url,
    )
    return env


class Shell:
    """An interactive bash or zsh in a pty with the checked-in completion script sourced."""

    def __init__(self, shell: str, url: str, config_home: str) -> None:
        args, setup = SETUP[shell]
        self.child = pexpect.spawn(
            shutil.which(shell) or shell, args, env=shell_env(url, config_home), encoding="utf-8",
            timeout=30, dimensions=(40, 200),
        )  # fmt: skip
        self.run(setup)
        self.run(f"source {ROOT / 'completions' / completion.SCRIPTS[shell]}")

    def run(self, command: str) -> None:
        self.child.sendline(command + "; echo done-$((40+2))")
        self.child.expect_exact("done-42")

    def tab(self, typed: str) -> str:
        """Type `typed`, press TAB, and return the command line as completed (echoed back by the shell)."""
        self.child.send(typed + "\t")
        self.child.expect_exact(typed)  # the line editor echoes what we typed before completing
        self.child.send("\x01echo '<'\x05'>'\r")  # Ctrl-A, quote the line, Ctrl-E, run it as `echo`
        self.child.expect(r"\n<(.*)>\r")
        return self.child.match.group(1).rstrip()  # zsh drops its added space as the cursor moves

    def close(self) -> None:
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()


def installed(*shells: str) -> list:
    return [pytest.param(s, marks=pytest.mark.skipif(not shutil.which(s), reason=f"{s} is not installed"))
            for s in shells]  # fmt: skip


@pytest.fixture
def open_shell(config_home):
    shells: list[Shell] = []

    def start(kind: str, url: str = "nats://127.0.0.1:1") -> Shell:  # by default nothing listens there
        shells.append(Shell(kind, url, config_home))
        return shells[-1]

    yield start
    for shell in shells:
        shell.close()


@pytest.mark.parametrize("kind", installed("bash", "zsh"))
def test_commands_and_options_complete_in_the_shell(open_shell, kind):
    sh = open_shell(kind)
    assert sh.tab("pynats str i") == "pynats str info"
    assert sh.tab("pynats con ad") == "pynats con add"
    assert sh.tab("pynats comp") == "pynats completion"
    assert sh.tab("pynats bench js pul") == "pynats bench js pull"
    assert sh.tab("pynats str add --stor") == "pynats str add --storage"
    assert sh.tab("pynats str info ") == "pynats str info"  # no server: nothing, and no noise


@pytest.mark.parametrize("kind", installed("bash", "zsh"))
def test_names_complete_from_the_server_in_the_shell(open_shell, kind, server, pynats):
    pynats("str add ORDERS --subjects ORDERS.* --defaults").ok()
    pynats("con add ORDERS DISPATCH --pull --defaults").ok()
    sh = open_shell(kind, server.url)
    assert sh.tab("pynats str info O") == "pynats str info ORDERS"
    assert sh.tab("pynats str info ") == "pynats str info ORDERS"
    assert sh.tab("pynats con info ORDERS ") == "pynats con info ORDERS DISPATCH"


@pytest.mark.skipif(not shutil.which("fish"), reason="fish is not installed")
def test_fish_completes_commands_and_names(server, pynats, config_home):
    pynats("str add ORDERS --subjects ORDERS.* --defaults").ok()
    pynats("con add ORDERS DISPATCH --pull --defaults").ok()
    script = ROOT / "completions" / completion.SCRIPTS["fish"]

    def fish(line: str) -> list[str]:
        command = f"source {script}; complete -C {shlex.quote(line)}"
        out = subprocess.run(["fish", "--no-config", "-c", command], env=shell_env(server.url, config_home),
                             capture_output=True, text=True, timeout=60, check=True).stdout  # fmt: skip
        return [row.split("\t")[0] for row in out.splitlines()]

    assert fish("pynats str i") == ["info"]
    assert fish("pynats bench js p") == ["pub", "pull", "push"]
    assert fish("pynats str info ") == ["ORDERS"]
    assert fish("pynats con info ORDERS ") == ["DISPATCH"]
