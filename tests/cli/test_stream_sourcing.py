"""Mirrors and sources from the CLI: `--mirror`/`--source` names and JSON, info, report, edit, cp.

Runs on both servers; replication is waited for by polling `str info -j` with a deadline.
"""

from __future__ import annotations

import json
import re
import time

from tests.cli.test_stream import SEED_ADD, config_of, publish

TRANSFORM = {"src": "EVENTS.*", "dest": "ALL.{{wildcard(1)}}"}
EVENTS_FROM_2 = json.dumps({"name": "EVENTS", "opt_start_seq": 2, "subject_transforms": [TRANSFORM]})
ALL_SOURCES = f"str add ALL --source ORDERS --defaults --source '{EVENTS_FROM_2}'"


def info_of(pynats, name: str) -> dict:
    return json.loads(pynats(f"str info {name} -j").ok().out)


def wait_caught_up(pynats, name: str, messages: int, deadline: float = 15.0) -> dict:
    """The stream's info once it holds `messages` and every link reports lag 0."""
    until = time.monotonic() + deadline
    while True:
        info = info_of(pynats, name)
        links = [info["mirror"]] if info.get("mirror") else info.get("sources") or []
        if info["state"]["messages"] == messages and links and all(link["lag"] == 0 for link in links):
            return info
        assert time.monotonic() < until, f"{name} did not catch up: {json.dumps(info, indent=1)}"
        time.sleep(0.05)


def section(text: str, title: str) -> list[str]:
    """The stripped lines of one `Title:` section of a key/value block (blank lines kept as "")."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") + 2
    end = next((i for i in range(start, len(lines)) if re.fullmatch(r"\S.*:", lines[i])), len(lines))
    body = [line.strip() for line in lines[start:end]]
    return re.sub(r"Last Seen: \S+", "Last Seen: <ago>", "\n".join(body)).strip("\n").split("\n")


def make_origins(pynats) -> None:
    pynats(SEED_ADD).ok()
    pynats("str add EVENTS --subjects 'EVENTS.*' --defaults").ok()
    publish(pynats, ("ORDERS.new", "1"), ("ORDERS.old", "2"), ("ORDERS.new", "3"))
    publish(pynats, ("EVENTS.a", "1"), ("EVENTS.b", "2"), ("EVENTS.c", "3"))


def test_mirror_and_sources_replicate_and_info_shows_them(pynats):
    make_origins(pynats)
    pynats("str add COPY --mirror ORDERS --defaults").ok()
    pynats(ALL_SOURCES).ok()
    copy = wait_caught_up(pynats, "COPY", 3)
    wait_caught_up(pynats, "ALL", 5)  # 3 from ORDERS, EVENTS from its sequence 2
    assert copy["config"]["mirror"] == {"name": "ORDERS"}

    text = pynats("str info COPY").ok().out
    assert section(text, "Replication") == ["Mirror: ORDERS"]
    assert section(text, "Mirror Information") == ["Stream Name: ORDERS", "Lag: 0", "Last Seen: <ago>"]
    assert "Source Information:" not in text

    text = pynats("str info ALL").ok().out
    assert section(text, "Replication") == ["Sources: EVENTS, Start Seq: 2", "ORDERS"]
    assert section(text, "Source Information") == [
        "Stream Name: EVENTS", "Subject Filter and Transform: EVENTS.* to ALL.{{wildcard(1)}}",
        "Lag: 0", "Last Seen: <ago>", "",
        "Stream Name: ORDERS", "Lag: 0", "Last Seen: <ago>",
    ]  # fmt: skip
    subjects = json.loads(pynats("str subjects ALL -j").ok().out)
    assert subjects == {"ORDERS.new": 2, "ORDERS.old": 1, "ALL.b": 1, "ALL.c": 1}
    state = pynats("str info ALL --state").ok().out
    assert state.startswith("State for Stream ALL\n\nSource Information:\n")


def test_report_adds_the_replication_report(pynats):
    make_origins(pynats)
    run = pynats("str report").ok()
    assert "Replication Report" not in run.out
    pynats("str add COPY --mirror ORDERS --defaults").ok()
    pynats(ALL_SOURCES).ok()
    wait_caught_up(pynats, "COPY", 3)
    wait_caught_up(pynats, "ALL", 5)
    out = pynats("str report", env={"COLUMNS": "160"}).ok().out  # wide enough for one line a row
    report = out[out.index("Replication Report") :].splitlines()
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in report if line.startswith("│")]
    assert cells[0] == [
        "Stream", "Kind", "API Prefix", "Source Stream", "Filters and Transforms", "Active", "Lag", "Error",
    ]  # fmt: skip
    rows = sorted([row[:5] + row[6:] for row in cells[1:]])  # Active is a time: left out
    assert rows == [
        ["ALL", "Source", "", "EVENTS", "EVENTS.* to ALL.{{wildcard(1)}}", "0", ""],
        ["ALL", "Source", "", "ORDERS", "", "0", ""],
        ["COPY", "Mirror", "", "ORDERS", "", "0", ""],
    ]
    assert all(re.fullmatch(r"\d[\dµms.]*s", row[5]) for row in cells[1:])


def test_json_values_are_checked_and_bad_ones_are_one_clean_line(pynats):
    bad = {
        '{"name": "ORDERS"': "not valid JSON: Expecting ',' delimiter: line 1 column 18 (char 17)",
        '{"name": "ORDERS", "start_seq": 1}': 'unknown field "start_seq"',
        '{"name": "ORDERS", "opt_start_seq": "1"}': "opt_start_seq: '1' is not of type 'integer'",
        '{"opt_start_seq": 1}': "<root>: 'name' is a required property",
        '{"name": ""}': "name: a stream name is required",
        "{}": "<root>: 'name' is a required property",
    }
    for value, message in bad.items():
        run = pynats("str", "add", "COPY", "--mirror", value, "--defaults").fails()
        assert run.err == f"pynats: error: invalid --mirror: {message}\n"
    run = pynats("str", "add", "ALL", "--source", "ORDERS", "--source", "{[]}", "--defaults").fails()
    assert run.err.startswith("pynats: error: invalid --source: not valid JSON: ")
    assert pynats("str ls -n").ok().out == ""

    source = {"name": "ORDERS", "filter_subject": "ORDERS.new", "external": {"api": "$JS.hub.API"}}
    run = pynats("str", "add", "ALL", "--source", json.dumps(source), "--defaults", "--validate").ok()
    assert json.loads(run.out)["sources"] == [source]


def test_a_bare_name_needs_no_terminal_and_a_mirror_no_dupe_window(pynats):
    pynats(SEED_ADD).ok()
    flags = ("--storage file --retention limits --discard old --max-msgs=-1 --max-bytes=-1 --max-age=-1 "
             "--max-msg-size=-1 --no-allow-rollup --no-deny-delete --no-deny-purge")  # fmt: skip
    pynats(f"str add COPY --mirror ORDERS {flags}").ok()
    assert config_of(pynats, "COPY")["mirror"] == {"name": "ORDERS"}
    run = pynats(f"str add ALL --source ORDERS {flags}").fails()
    assert (
        run.err
        == "pynats: error: --dupe-window is required when not running interactively (or use --defaults)\n"
    )


def test_edit_refuses_mirror_and_source_flags_and_no_mirror_makes_a_normal_stream(pynats):
    make_origins(pynats)
    pynats("str add COPY --mirror ORDERS --defaults").ok()
    wait_caught_up(pynats, "COPY", 3)
    for flag in ("--mirror EVENTS", "--source EVENTS", "--no-mirror --source EVENTS"):
        run = pynats(f"str edit COPY {flag} -f").fails()
        assert run.err == (
            "pynats: error: a mirror or sources cannot be edited with flags: use --config (or --no-mirror)\n"
        )
    assert pynats("str edit ORDERS --no-mirror -f").ok().err == (
        "Stream ORDERS is already up to date: no differences\n"
    )
    run = pynats("str edit COPY --no-mirror --dry-run").fails()
    assert '-  "mirror": {\n-    "name": "ORDERS"\n-  },\n' in run.out
    run = pynats("str edit COPY --no-mirror -f").ok()
    assert "Replication:" not in run.out and "Mirror Information:" not in run.out
    cfg = config_of(pynats, "COPY")
    assert "mirror" not in cfg
    assert cfg["subjects"] == ["COPY"]  # both servers give a stream without subjects its own name
    publish(pynats, ("COPY", "mine"))
    assert info_of(pynats, "COPY")["state"]["messages"] == 4


def test_cp_of_a_mirror_is_another_mirror(pynats):
    make_origins(pynats)
    pynats("str add COPY --mirror ORDERS --defaults").ok()
    run = pynats("str cp COPY COPY2").ok()
    assert "Mirror: ORDERS" in run.out
    assert config_of(pynats, "COPY2") == {**config_of(pynats, "COPY"), "name": "COPY2"}
    wait_caught_up(pynats, "COPY2", 3)
