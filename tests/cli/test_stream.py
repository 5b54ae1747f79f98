"""`pynats stream`: every subcommand and flag, non-interactively, on both servers."""

from __future__ import annotations

import json
from textwrap import dedent

import pytest

from tests.cli.conftest import mask

SEED_FLAGS = (
    'str add ORDERS --subjects "ORDERS.*" --ack --max-msgs=-1 --max-bytes=-1 --max-age=1y '
    "--storage file --retention limits --max-msg-size=-1 --discard old"
)
SEED_ADD = SEED_FLAGS + " --defaults"  # the seed's flags leave settings to prompts; no terminal here
NOT_INTERACTIVE = "is required when not running interactively (or use --defaults)"

ORDERS_INFO = """\
Information for Stream ORDERS created <time>

Configuration:

              Subjects: ORDERS.*
      Acknowledgements: true
             Retention: File - Limits
              Replicas: 1
        Discard Policy: Old
      Duplicate Window: 2m0s
     Allows Msg Delete: true
          Allows Purge: true
        Allows Rollups: false
      Maximum Messages: unlimited
   Maximum Per Subject: unlimited
         Maximum Bytes: unlimited
           Maximum Age: 8760h0m0s
  Maximum Message Size: unlimited
     Maximum Consumers: unlimited

State:

              Messages: {messages}
                 Bytes: {bytes}
              FirstSeq: {first}
               LastSeq: {last}
      Active Consumers: 0
"""


def orders_info(messages="0", bytes="0 B", first="0", last="0", extra=""):
    text = ORDERS_INFO.format(messages=messages, bytes=bytes, first=first, last=last)
    if extra:
        text = text.replace("      Active Consumers", extra + "      Active Consumers")
    return text


def config_of(pynats, name):
    cfg = json.loads(pynats(f"str info {name} -j").ok().out)["config"]
    cfg.pop("metadata", None)
    return cfg


def test_add_with_the_seeds_flags(pynats):
    run = pynats(SEED_ADD).ok()
    assert run.err == "Stream ORDERS was created\n\n"
    assert mask(run.out) == orders_info()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (SEED_FLAGS, "--max-msgs-per-subject"),  # the first setting the seed's flags leave out
        ("str add ORDERS --subjects ORDERS.*", "--storage"),
        ("str add ORDERS --subjects ORDERS.* --storage file --retention limits --discard old --max-msgs=-1 "
         "--max-msgs-per-subject=-1 --max-bytes=-1 --max-age 1y --max-msg-size=-1 --dupe-window 2m",
         "--allow-rollup/--no-allow-rollup"),
    ],
)  # fmt: skip
def test_add_without_a_terminal_names_the_missing_flag(pynats, args, flag):
    run = pynats(args).fails()
    assert run.err == f"pynats: error: {flag} {NOT_INTERACTIVE}\n"
    assert pynats("str ls -n").ok().out == ""


def test_add_with_every_setting_as_a_flag_needs_no_defaults(pynats):
    pynats(
        "str add ORDERS --subjects ORDERS.* --storage file --retention limits --discard old --max-msgs=-1 "
        "--max-msgs-per-subject=-1 --max-bytes=-1 --max-age 1y --max-msg-size=-1 --dupe-window 2m "
        "--no-allow-rollup --no-deny-delete --no-deny-purge"
    ).ok()
    assert config_of(pynats, "ORDERS")["max_age"] == 365 * 86400 * 10**9


def test_defaults_take_each_settings_default(pynats):
    pynats("str add ORDERS --subjects ORDERS.* --defaults").ok()
    cfg = config_of(pynats, "ORDERS")
    assert (cfg["storage"], cfg["retention"], cfg["discard"], cfg["max_msgs"], cfg["max_age"]) == (
        "file", "limits", "old", -1, 0,
    )  # fmt: skip
    assert cfg["duplicate_window"] == 120_000_000_000


def test_add_needs_subjects_without_a_terminal(pynats):
    run = pynats("str add ORDERS --defaults").fails()
    assert run.err == (
        "pynats: error: Subjects to consume is required: pass --subjects (cannot prompt without a terminal)\n"
    )


def test_add_needs_a_name_without_a_terminal(pynats):
    run = pynats("str add --subjects a --defaults").fails()
    assert "pass the STREAM argument" in run.err


def test_add_every_flag(pynats):
    pynats(
        "str add S --subjects 'a.* b.*' --subjects c --description 'a test' --storage memory --replicas 1 "
        "--retention workqueue --discard new --discard-per-subject --max-msgs 100 --max-msgs-per-subject 10 "
        "--max-bytes 1MiB --max-age 1d --max-msg-size 1KB --max-consumers 5 --dupe-window 1m --no-ack "
        "--allow-rollup --deny-delete --no-deny-purge --no-allow-direct --compression s2 --metadata team=ops "
        "--first-sequence 10"
    ).ok()
    cfg = json.loads(pynats("str info S -j").ok().out)["config"]
    want = {
        "subjects": ["a.*", "b.*", "c"], "description": "a test", "storage": "memory",
        "retention": "workqueue",
        "discard": "new", "discard_new_per_subject": True, "max_msgs": 100, "max_msgs_per_subject": 10,
        "max_bytes": 1 << 20, "max_age": 86400 * 10**9, "max_msg_size": 1024, "max_consumers": 5,
        "duplicate_window": 60 * 10**9, "no_ack": True, "allow_rollup_hdrs": True, "deny_delete": True,
        "deny_purge": False, "allow_direct": False, "compression": "s2", "first_seq": 10,
    }  # fmt: skip
    assert {k: cfg.get(k) for k in want} == want
    assert cfg["metadata"]["team"] == "ops"


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--max-age 10", 'invalid --max-age: missing unit in duration "10"'),
        ("--max-bytes 1XB", 'invalid --max-bytes: invalid size "1XB"'),
        ("--max-msgs lots", 'invalid --max-msgs: invalid number "lots"'),
        ("--dupe-window soon", 'invalid --dupe-window: invalid duration "soon"'),
        ("--metadata novalue", 'invalid --metadata "novalue": use KEY=VALUE'),
    ],
)
def test_add_refuses_bad_values_in_one_line(pynats, flag, message):
    run = pynats(f"str add S --subjects a --defaults {flag}").fails()
    assert run.err.startswith(f"pynats: error: {message}")


def test_server_errors_are_one_line_with_description_and_code(pynats):
    pynats("str add A --subjects 'x.*' --defaults").ok()
    run = pynats("str add B --subjects 'x.*' --defaults").fails()
    assert run.err == "pynats: error: subjects overlap with an existing stream (code 400, err_code 10065)\n"
    run = pynats("str info NOPE").fails()
    assert run.err == "pynats: error: stream not found (code 404, err_code 10059)\n"


def test_add_json(pynats):
    run = pynats("str add ORDERS --subjects ORDERS.* --defaults -j").ok()
    info = json.loads(run.out)
    assert info["config"]["name"] == "ORDERS"
    assert "type" not in info
    assert run.err == ""


def test_info_json_feeds_config_unchanged(pynats, tmp_path):
    pynats(SEED_ADD + " --description orders --max-msgs-per-subject 5").ok()
    full = tmp_path / "full.json"
    full.write_text(pynats("str info ORDERS -j").ok().out)
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(json.loads(full.read_text())["config"]))
    original = config_of(pynats, "ORDERS")
    pynats("str rm ORDERS -f").ok()
    pynats(f"str add --config {bare}").ok()
    assert config_of(pynats, "ORDERS") == original
    pynats("str rm ORDERS -f").ok()
    pynats(f"str add COPY --config {full}").ok()
    assert config_of(pynats, "COPY") == {**original, "name": "COPY"}


def test_flags_override_the_config_file(pynats, tmp_path):
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"name": "ORDERS", "subjects": ["ORDERS.*"], "max_age": 0, "storage": "file"}))
    pynats(f"str add --config {path} --max-age 1y --subjects 'NEW.*'").ok()
    cfg = config_of(pynats, "ORDERS")
    assert cfg["max_age"] == 365 * 86400 * 10**9
    assert cfg["subjects"] == ["NEW.*"]


def test_config_file_problems_are_one_line(pynats, tmp_path):
    missing = tmp_path / "missing.json"
    run = pynats(f"str add --config {missing}").fails()
    assert run.err.startswith(f"pynats: error: cannot read {missing}")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert "is not valid JSON" in pynats(f"str add --config {bad}").fails().err


def test_validate_prints_and_checks_without_creating(pynats, tmp_path):
    run = pynats("str add ORDERS --subjects ORDERS.* --defaults --validate").ok()
    assert json.loads(run.out)["subjects"] == ["ORDERS.*"]
    assert run.err == "The configuration is a valid io.nats.jetstream.api.v1.stream_configuration\n"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "X", "subjects": "x", "retention": "forever"}))
    run = pynats(f"str add --config {bad} --validate").fails()
    assert "  subjects: 'x' is not of type 'array'" in run.err
    assert run.err.endswith(
        "pynats: error: the configuration is not a valid io.nats.jetstream.api.v1.stream_configuration\n"
    )
    assert pynats("str ls -n").ok().out == ""


def test_output_writes_the_config_without_creating(pynats, tmp_path):
    out = tmp_path / "orders.json"
    pynats(f"str add ORDERS --subjects ORDERS.* --defaults --max-age 1y --output {out}").ok()
    assert json.loads(out.read_text())["max_age"] == 365 * 86400 * 10**9
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert pynats("str ls -n").ok().out == ""
    pynats(f"str add --config {out}").ok()
    assert pynats("str ls -n").ok().out == "ORDERS\n"


def test_ls(pynats):
    assert pynats("str ls").ok().err == "No Streams defined\n"
    assert pynats("str ls -j").ok().out == "[]\n"
    pynats(SEED_ADD).ok()
    pynats("str add ARCHIVE --subjects 'ARCHIVE.*' --defaults").ok()
    pynats("pub ORDERS.new hello").ok()
    run = pynats("str ls").ok()
    lines = run.out.splitlines()
    assert lines[0].strip() == "Streams"
    assert lines[2] == "│ Name    │ Subjects  │ Messages │ Size │ Last Message │"
    assert lines[4] == "│ ARCHIVE │ ARCHIVE.* │        0 │  0 B │ never        │"
    assert lines[5].startswith("│ ORDERS  │ ORDERS.*  │        1 │ 45 B │ ")
    assert pynats("str ls -n").ok().out == "ARCHIVE\nORDERS\n"
    infos = json.loads(pynats("str ls -j").ok().out)
    assert [i["config"]["name"] for i in infos] == ["ARCHIVE", "ORDERS"]
    assert pynats("str ls -n --subject ORDERS.new").ok().out == "ORDERS\n"
    assert pynats("stream list --names").ok().out == "ARCHIVE\nORDERS\n"


def test_info_state_and_the_picker_needs_a_terminal(pynats):
    pynats(SEED_ADD).ok()
    assert mask(pynats("str info ORDERS").ok().out) == orders_info()
    assert pynats("str info ORDERS --state").ok().out == dedent("""\
        State for Stream ORDERS

        State:

                  Messages: 0
                     Bytes: 0 B
                  FirstSeq: 0
                   LastSeq: 0
          Active Consumers: 0
        """)
    run = pynats("str info").fails()
    assert run.err == (
        "pynats: error: cannot pick a Stream without a terminal and no Stream name supplied"
        " (the STREAM argument)\n"
    )


def test_info_json_is_the_servers_reply(pynats):
    pynats(SEED_ADD).ok()
    info = json.loads(pynats("str info ORDERS -j").ok().out)
    assert set(info) >= {"config", "created", "state"}
    assert info["config"]["max_age"] == 31536000000000000
    assert info["state"]["first_ts"] == "0001-01-01T00:00:00Z"


def test_cp_copies_the_config_with_changes(pynats):
    pynats(SEED_ADD).ok()
    run = pynats("str cp ORDERS ARCHIVE --subjects 'ORDERS_ARCHIVE.*' --max-age 2y").ok()
    assert run.err == "Stream ARCHIVE was created\n\n"
    assert "              Subjects: ORDERS_ARCHIVE.*\n" in run.out
    assert "           Maximum Age: 17520h0m0s\n" in run.out
    assert {**config_of(pynats, "ORDERS"), "name": "ARCHIVE", "subjects": ["ORDERS_ARCHIVE.*"],
            "max_age": 2 * 31536000000000000} == config_of(pynats, "ARCHIVE")  # fmt: skip


def test_edit_shows_the_diff_and_needs_force_without_a_terminal(pynats, tmp_path):
    pynats("str add ORDERS --subjects ORDERS.new --defaults").ok()
    run = pynats("str edit ORDERS --subjects 'ORDERS.*' --dry-run").fails(1)
    assert run.out == dedent("""\
        Differences (-old +new):
           "subjects": [
        -    "ORDERS.new"
        +    "ORDERS.*"
           ]
        """)
    run = pynats("str edit ORDERS --subjects 'ORDERS.*'").fails()
    assert run.err.endswith('"Really edit Stream ORDERS?"): pass -f/--force\n')
    assert config_of(pynats, "ORDERS")["subjects"] == ["ORDERS.new"]
    run = pynats("str edit ORDERS --subjects 'ORDERS.*' -f").ok()
    assert run.err == "Stream ORDERS was updated\n\n"
    assert "              Subjects: ORDERS.*\n" in run.out
    run = pynats("str edit ORDERS --subjects 'ORDERS.*' -f").ok()
    assert run.err == "Stream ORDERS is already up to date: no differences\n"


def test_edit_from_a_config_file(pynats, tmp_path):
    pynats(SEED_ADD).ok()
    cfg = config_of(pynats, "ORDERS")
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({**cfg, "max_msgs": 1000, "description": "edited"}))
    pynats(f"str edit ORDERS --config {path} -f -j").ok()
    assert config_of(pynats, "ORDERS") == {**cfg, "max_msgs": 1000, "description": "edited"}
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**cfg, "name": "OTHER"}))
    assert "is for stream OTHER, not ORDERS" in pynats(f"str edit ORDERS --config {other} -f").fails().err


def publish(pynats, *pairs):
    for subject, body in pairs:
        pynats("pub", subject, body, "-J").ok()


def test_purge(pynats):
    pynats(SEED_ADD).ok()
    publish(pynats, *[("ORDERS.new", f"n{i}") for i in range(5)])
    publish(pynats, *[("ORDERS.old", f"o{i}") for i in range(3)])
    run = pynats("str purge ORDERS").fails()
    assert run.err.endswith('"Really purge Stream ORDERS?"): pass -f/--force\n')
    run = pynats("str purge ORDERS -f --subject ORDERS.old").ok()
    assert run.err == "Purged 3 messages from ORDERS\n\n"
    run = pynats("str purge ORDERS -f --keep 2").ok()
    assert run.err == "Purged 3 messages from ORDERS\n\n"
    publish(pynats, ("ORDERS.new", "n5"))
    run = pynats("str purge ORDERS -f --seq 9").ok()
    assert run.err == "Purged 2 messages from ORDERS\n\n"
    run = pynats("str purge ORDERS -f").ok()
    assert run.err == "Purged 1 message from ORDERS\n\n"
    assert mask(run.out) == orders_info(first="10", last="9")
    run = pynats("str purge ORDERS -f --seq 1 --keep 1").fails()
    assert "--seq and --keep cannot be used together" in run.err


def test_rmm_and_get(pynats):
    pynats(SEED_ADD).ok()
    pynats("pub ORDERS.new one -J -H Nats-Msg-Id:m1 -H Team:ops").ok()
    publish(pynats, ("ORDERS.new", "two"), ("ORDERS.old", "three"))
    run = pynats("str get ORDERS 1").ok()
    assert mask(run.out) == dedent("""\
        Item: ORDERS#1 received <time> on Subject ORDERS.new

        Headers:

          Nats-Msg-Id: m1
          Team: ops

        one
        """)
    assert mask(pynats("str get ORDERS --last-for ORDERS.new").ok().out) == (
        "Item: ORDERS#2 received <time> on Subject ORDERS.new\n\ntwo\n"
    )
    msg = json.loads(pynats("str get ORDERS -S ORDERS.old -j").ok().out)
    assert (msg["seq"], msg["subject"], msg["data"]) == (3, "ORDERS.old", "dGhyZWU=")
    assert "pass the SEQ argument or --last-for" in pynats("str get ORDERS").fails().err
    assert pynats("str rmm ORDERS 1").fails().err.endswith("pass -f/--force\n")
    assert pynats("str rmm ORDERS 1 -f").ok().err == "Message 1 was removed from Stream ORDERS\n"
    assert pynats("str rmm ORDERS 2 -f --no-erase").ok().err == "Message 2 was removed from Stream ORDERS\n"
    assert "no message found" in pynats("str get ORDERS 1").fails().err
    info = json.loads(pynats("str info ORDERS -j").ok().out)
    assert info["state"]["messages"] == 1


def test_rm(pynats):
    pynats(SEED_ADD).ok()
    assert pynats("str rm ORDERS").fails().err.endswith('"Really delete Stream ORDERS?"): pass -f/--force\n')
    assert pynats("str rm -f").fails().err == "pynats: error: --force needs the STREAM argument\n"
    assert pynats("str rm ORDERS -f").ok().err == "Stream ORDERS was deleted\n"
    assert pynats("str ls -n").ok().out == ""
    assert "stream not found" in pynats("str rm ORDERS -f").fails().err


def test_subjects(pynats):
    pynats(SEED_ADD).ok()
    publish(pynats, ("ORDERS.new", "1"), ("ORDERS.new", "2"), ("ORDERS.old", "3"))
    run = pynats("str subjects ORDERS").ok()
    assert run.out == dedent("""\
         2 Subjects in stream ORDERS
        ╭─────────────────┬─────────╮
        │ Subject         │   Count │
        ├─────────────────┼─────────┤
        │ ORDERS.new      │       2 │
        │ ORDERS.old      │       1 │
        ╰─────────────────┴─────────╯
        """)
    assert json.loads(pynats("str subjects ORDERS -j").ok().out) == {"ORDERS.new": 2, "ORDERS.old": 1}
    assert json.loads(pynats("str subjects ORDERS ORDERS.old -j").ok().out) == {"ORDERS.old": 1}
    assert pynats("str subjects ORDERS nothing.here").ok().err == (
        "No subjects found in Stream ORDERS matching nothing.here\n"
    )


def test_report(pynats):
    assert pynats("str report").ok().err == "No Streams defined\n"
    pynats(SEED_ADD).ok()
    publish(pynats, ("ORDERS.new", "hello"))
    assert pynats("str report").ok().out == dedent("""\
                                     Stream Report
        ╭────────┬─────────┬───────────┬──────────┬───────┬─────────┬──────────╮
        │ Stream │ Storage │ Consumers │ Messages │ Bytes │ Deleted │ Replicas │
        ├────────┼─────────┼───────────┼──────────┼───────┼─────────┼──────────┤
        │ ORDERS │ File    │         0 │        1 │  45 B │       0 │        1 │
        ╰────────┴─────────┴───────────┴──────────┴───────┴─────────┴──────────╯
        """)
