"""The seed's interactive flows in a real pseudo-terminal (pexpect): prompts, pickers, `?`, confirms."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from tests.cli.test_stream import SEED_ADD

pexpect = pytest.importorskip("pexpect")

PYNATS = os.path.join(os.path.dirname(sys.executable), "pynats")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


class Tty:
    """pynats in a pty: `ask` answers a text prompt, `choose` a list, `confirm` a yes/no."""

    def __init__(self, server, config_home: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
        env.update(
            NATS_URL=server.url,
            XDG_CONFIG_HOME=config_home,
            NO_COLOR="1",
            TERM="xterm-256color",
            PROMPT_TOOLKIT_NO_CPR="1",
            COLUMNS="100",
            LINES="40",
        )
        self.child = pexpect.spawn(
            PYNATS, list(args), env=env, encoding="utf-8", timeout=15, dimensions=(40, 100)
        )
        self.transcript = ""

    def expect(self, text: str) -> str:
        self.child.expect_exact(text)
        seen = self.child.before + self.child.after
        self.transcript += seen
        return seen

    def ask(self, label: str, answer: str) -> None:
        self.expect(label)
        self.expect("[? for help]")
        self.child.sendline(answer)

    def choose(self, label: str, filter_text: str = "") -> None:
        self.expect(label)
        self.expect("? for help)")
        self.child.send(filter_text + "\r")

    def confirm(self, label: str, yes: bool) -> None:
        self.expect(label)
        self.child.expect(r"\((y/N|Y/n), \? for help\)")
        self.child.send("y" if yes else "n")

    def help(self, label: str, flag: str) -> str:
        """Press ? at the prompt; returns the help text shown."""
        self.expect(label)
        self.expect("help")
        self.child.send("?")
        shown = self.expect(f"Set this with {flag}")
        return ANSI.sub("", shown)

    def finish(self) -> tuple[int, str]:
        self.child.expect(pexpect.EOF)
        self.transcript += self.child.before
        self.child.close()
        return self.child.exitstatus, ANSI.sub("", self.transcript)


@pytest.fixture
def tty(server, config_home):
    return lambda *args: Tty(server, config_home, *args)


def test_stream_add_orders_answering_the_seeds_prompts(tty, pynats):
    t = tty("str", "add", "ORDERS")
    t.ask("Subjects to consume", "ORDERS.*")
    t.choose("Storage backend")  # file
    t.choose("Retention Policy")  # Limits
    t.choose("Discard Policy")  # Old
    t.ask("Message count limit", "-1")
    t.ask("Per subject message limit", "")
    t.ask("Message size limit", "-1")
    t.ask("Maximum message age limit", "1y")
    t.ask("Maximum individual message size", "-1")
    t.ask("Duplicate tracking time window", "")
    t.confirm("Allow message Roll-ups", False)
    t.confirm("Allow message deletion", True)
    t.confirm("Allow purging subjects or the entire stream", True)
    code, out = t.finish()
    assert code == 0, out
    assert "Stream ORDERS was created" in out
    assert "           Maximum Age: 8760h0m0s\n" in out
    cfg = json.loads(pynats("str info ORDERS -j").ok().out)["config"]
    assert (cfg["subjects"], cfg["storage"], cfg["retention"], cfg["discard"], cfg["max_age"]) == (
        ["ORDERS.*"], "file", "limits", "old", 31536000000000000,
    )  # fmt: skip
    assert (cfg["max_msgs"], cfg["max_bytes"], cfg["max_msg_size"], cfg["duplicate_window"]) == (
        -1, -1, -1, 120_000_000_000,
    )  # fmt: skip


def test_question_mark_shows_help_and_the_flag_and_bad_answers_ask_again(tty, pynats):
    t = tty("str", "add", "MEM", "--subjects", "mem.>")
    assert "file (on disk, survives restarts) or memory" in t.help("Storage backend", "--storage")
    t.choose("Storage backend", "memory")
    t.choose("Retention Policy", "Work")
    t.choose("Discard Policy", "New")
    assert "-1 for unlimited" in t.help("Message count limit", "--max-msgs")
    t.ask("Message count limit", "lots")
    t.expect('invalid number "lots"')
    t.child.send("\x15")  # Ctrl-U clears the answer
    t.child.sendline("1,000")
    t.ask("Per subject message limit", "10")
    t.ask("Message size limit", "512MiB")
    t.ask("Maximum message age limit", "10")
    t.expect('missing unit in duration "10"')
    t.child.send("\x15")
    t.child.sendline("1d 12h")
    t.ask("Maximum individual message size", "1KB")
    t.ask("Duplicate tracking time window", "30s")
    t.confirm("Allow message Roll-ups", True)
    t.confirm("Allow message deletion", False)
    t.confirm("Allow purging subjects or the entire stream", True)
    code, out = t.finish()
    assert code == 0, out
    cfg = json.loads(pynats("str info MEM -j").ok().out)["config"]
    want = {
        "storage": "memory", "retention": "workqueue", "discard": "new", "max_msgs": 1000,
        "max_msgs_per_subject": 10, "max_bytes": 512 << 20, "max_age": 36 * 3600 * 10**9,
        "max_msg_size": 1024,
        "duplicate_window": 30 * 10**9, "allow_rollup_hdrs": True, "deny_delete": True, "deny_purge": False,
    }  # fmt: skip
    assert {k: cfg[k] for k in want} == want


def test_consumer_add_new_pull_with_the_stream_picker(tty, pynats):
    pynats(SEED_ADD).ok()
    t = tty("con", "add", "--sample", "100")
    t.choose("Select a Stream")
    t.ask("Consumer name", "NEW")
    t.ask("Delivery target (empty for Pull Consumers)", "")
    t.ask("Start policy (all, last, new, 1h, msg sequence)", "all")
    t.ask("Filter Stream by subject (blank for all)", "ORDERS.received")
    t.ask("Maximum Allowed Deliveries", "20")
    code, out = t.finish()
    assert code == 0, out
    assert "Information for Consumer ORDERS > NEW" in out
    for line in ("Durable Name: NEW", "Pull Mode: true", "Filter Subject: ORDERS.received",
                 "Deliver Policy: All", "Ack Policy: explicit", "Ack Wait: 30s", "Replay Policy: instant",
                 "Maximum Deliveries: 20", "Sampling Rate: 100"):  # fmt: skip
        assert line in out


def test_consumer_add_monitor_push(tty, pynats):
    pynats(SEED_ADD).ok()
    for i in (1, 2, 3):
        pynats(f"pub ORDERS.processed 'order {i}' -J").ok()
    t = tty("con", "add")
    t.choose("Select a Stream")
    t.ask("Consumer name", "MONITOR")
    t.ask("Delivery target (empty for Pull Consumers)", "monitor.ORDERS")
    t.ask("Start policy (all, last, new, 1h, msg sequence)", "last")
    t.choose("Acknowledgement policy", "none")
    t.choose("Replay policy")
    t.ask("Filter Stream by subject (blank for all)", "")
    code, out = t.finish()
    assert code == 0, out
    for line in ("Durable Name: MONITOR", "Delivery Subject: monitor.ORDERS", "Deliver Policy: Last",
                 "Ack Policy: none", "Replay Policy: instant"):  # fmt: skip
        assert line in out
    assert "Maximum Allowed Deliveries" not in out  # nothing to redeliver without acks


def test_stream_picker_for_info(tty, pynats):
    pynats("str add A --subjects a --defaults").ok()
    pynats("str add B --subjects b --defaults").ok()
    t = tty("str", "info")
    t.choose("Select a Stream", "B")
    code, out = t.finish()
    assert code == 0, out
    assert "Information for Stream B created" in out


def test_confirmations(tty, pynats):
    pynats(SEED_ADD).ok()
    t = tty("str", "rm", "ORDERS")
    t.confirm("Really delete Stream ORDERS", False)
    code, out = t.finish()
    assert code == 0, out
    assert pynats("str ls -n").ok().out == "ORDERS\n"
    t = tty("str", "purge", "ORDERS")
    assert "This cannot be undone." in t.help("Really purge Stream ORDERS", "-f/--force")
    t.confirm("Really purge Stream ORDERS", True)
    code, out = t.finish()
    assert code == 0 and "Purged 0 messages from ORDERS" in out
    t = tty("str", "edit", "ORDERS", "--max-msgs", "10")
    t.expect('+  "max_msgs": 10,')
    t.confirm("Really edit Stream ORDERS", True)
    code, out = t.finish()
    assert code == 0 and "Stream ORDERS was updated" in out
    t = tty("str", "rm", "ORDERS")
    t.confirm("Really delete Stream ORDERS", True)
    code, out = t.finish()
    assert code == 0 and "Stream ORDERS was deleted" in out
    assert pynats("str ls -n").ok().out == ""


def test_consumer_pause_asks_until_and_confirms_then_resume(tty, pynats):
    pynats(SEED_ADD).ok()
    pynats("con add ORDERS C --pull --defaults").ok()
    t = tty("con", "pause", "ORDERS")
    t.choose("Select a Consumer")
    assert "or a duration from now like 1h30m" in t.help(
        "Pause until (time or duration)", "the UNTIL argument"
    )
    t.ask("Pause until (time or duration)", "")  # the default: an hour from now
    t.confirm("Really pause Consumer ORDERS > C until", True)
    code, out = t.finish()
    assert code == 0 and "Paused ORDERS > C until" in out, out
    info = json.loads(pynats("con info ORDERS C -j").ok().out)
    assert info["paused"] and 3500 * 10**9 < info["pause_remaining"] <= 3600 * 10**9
    t = tty("con", "resume", "ORDERS", "C")
    assert "Deliveries start again now" in t.help("Really resume Consumer ORDERS > C", "-f/--force")
    t.confirm("Really resume Consumer ORDERS > C", True)
    code, out = t.finish()
    assert code == 0 and "Consumer ORDERS > C was resumed while previously paused until" in out, out


def test_consumer_unpin_picks_a_pinned_group(tty, pynats):
    pynats(SEED_ADD).ok()
    pynats("con add ORDERS W --pull --defaults --pinned-groups jobs --pinned-ttl 1m").ok()
    pynats("pub ORDERS.processed x").ok()
    pynats("con next ORDERS W --group jobs").ok()
    t = tty("con", "unpin", "ORDERS", "W")
    t.choose("Select a Group")
    t.confirm("Really unpin client from group ORDERS > W > jobs", True)
    code, out = t.finish()
    assert code == 0 and "from Priority Group ORDERS > W > jobs" in out, out
    assert "pinned_client_id" not in pynats("con info ORDERS W -j").ok().out


def test_ctrl_c_at_a_prompt_stops_quietly(tty):
    t = tty("str", "add", "X")
    t.expect("Subjects to consume")
    t.expect("[? for help]")
    t.child.sendcontrol("c")
    code, out = t.finish()
    assert code == 130
    assert "Traceback" not in out


def test_source_sub_dialog_once_per_bare_name(tty, pynats):
    pynats(SEED_ADD).ok()
    pynats("str add EVENTS --subjects 'EVENTS.*' --defaults").ok()
    flags = (
        "--storage file --retention limits --discard old --max-msgs=-1 --max-bytes=-1 --max-age=-1 "
        "--max-msg-size=-1 --dupe-window 2m --no-allow-rollup --no-deny-delete --no-deny-purge"
    ).split()
    t = tty("str", "add", "ALL", *flags, "--source", "ORDERS", "--source", '{"name": "EVENTS"}')
    t.confirm('Adjust where the source "ORDERS" starts', True)
    flag = """--source '{"name": "ORDERS", "opt_start_seq": 100}'"""
    assert "0 starts at the first message." in t.help("Start sequence", flag)
    t.ask("Start sequence", "2")
    t.ask("Start time (UTC, YYYY:MM:DD HH:MM:SS; blank for none)", "")
    t.confirm('Filter or transform the subjects of the source "ORDERS"', True)
    t.ask("Filter subject (blank to finish)", "ORDERS.new")
    t.ask("Transform destination (blank to keep the subject)", "ALL.new")
    t.ask("Filter subject (blank to finish)", "ORDERS.old")
    t.ask("Transform destination (blank to keep the subject)", "")
    t.ask("Filter subject (blank to finish)", "")
    t.confirm('Import the source "ORDERS" from another JetStream domain', True)
    t.ask("JetStream domain", "hub")
    t.ask("Delivery prefix (blank for none)", "")
    code, out = t.finish()
    assert code == 0, out
    assert "EVENTS" not in out.split("Stream ALL was created")[0]  # the JSON value asked nothing
    assert "Sources: EVENTS\n" in out and "ORDERS, Start Seq: 2, API Prefix: $JS.hub.API\n" in out
    sources = json.loads(pynats("str info ALL -j").ok().out)["config"]["sources"]
    assert sources == [
        {"name": "ORDERS", "opt_start_seq": 2, "external": {"api": "$JS.hub.API", "deliver": ""},
         "subject_transforms": [{"src": "ORDERS.new", "dest": "ALL.new"}, {"src": "ORDERS.old", "dest": ""}]},
        {"name": "EVENTS"},
    ]  # fmt: skip
