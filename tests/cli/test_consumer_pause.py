"""`pynats consumer` pause, resume, unpin and priority groups, non-interactively, on both servers."""

from __future__ import annotations

import datetime as _dt
import json
import re
from textwrap import dedent

import pytest

from nats_cli.consumer_config import local_time, parse_pause_until
from tests.cli.conftest import mask
from tests.cli.test_consumer import config_of
from tests.cli.test_stream import SEED_ADD

LEFT = re.compile(r"\((\d+h)?(\d+m)?\d+s( remaining)?\)")


def shown(text: str) -> str:
    """mask() and the time left of a pause, which depends on when the test runs."""
    return LEFT.sub(lambda m: "(<left> remaining)" if m.group(3) else "(<left>)", mask(text))


@pytest.fixture
def orders(pynats):
    pynats(SEED_ADD).ok()
    return pynats


def test_pause_until_reads_local_times_and_durations():
    now = _dt.datetime(2030, 1, 31, 12, 0, tzinfo=_dt.UTC)
    assert parse_pause_until("1h30m", now) == now + _dt.timedelta(minutes=90)
    local = parse_pause_until("2030-01-31 17:00:00")
    assert local_time(local) == "2030-01-31 17:00:00"
    assert parse_pause_until("2030-01-31T17:00:00Z") == _dt.datetime(2030, 1, 31, 17, tzinfo=_dt.UTC)
    for bad, why in (("soon", "use a local time like"), ("-1", "must be positive"), ("0", "positive")):
        with pytest.raises(ValueError, match=why):
            parse_pause_until(bad)


def test_add_paused_pinned_shows_deadline_policy_and_groups(orders):
    run = orders("con add ORDERS PINNED --pull --defaults --pause 1h --pinned-groups jobs --pinned-ttl 1m")
    assert shown(run.ok().out) == dedent("""\
        Information for Consumer ORDERS > PINNED created <time>

        Configuration:

                    Durable Name: PINNED
                       Pull Mode: true
                  Deliver Policy: All
                      Ack Policy: explicit
                        Ack Wait: 30s
                   Replay Policy: instant
                 Max Ack Pending: 1,000
               Max Waiting Pulls: 512
           Paused Until Deadline: <time> (<left> remaining)
                 Priority Policy: Pinned Client
                 Priority Groups: jobs
                      Pinned TTL: 1m0s

        State:

          Last Delivered Message: Consumer sequence: 0 Stream sequence: 0
            Acknowledgment floor: Consumer sequence: 0 Stream sequence: 0
                Pending Messages: 0
            Redelivered Messages: 0
            Unprocessed Messages: 0
                   Waiting Pulls: 0 of maximum 512
                    Paused Until: <time> (<left> remaining)
                 Priority Groups: jobs: No client
        """)
    info = json.loads(orders("con info ORDERS PINNED -j").ok().out)
    assert info["paused"] is True
    assert 3500 * 10**9 < info["pause_remaining"] <= 3600 * 10**9


def test_priority_flags_set_policy_and_groups(orders):
    orders("con add ORDERS O --pull --defaults --overflow-groups a,b --overflow-groups c").ok()
    cfg = config_of(orders, "ORDERS", "O")
    assert (cfg["priority_policy"], cfg["priority_groups"]) == ("overflow", ["a", "b", "c"])
    orders("con add ORDERS P --pull --defaults --pinned-groups a").ok()
    cfg = config_of(orders, "ORDERS", "P")
    assert (cfg["priority_policy"], cfg["priority_groups"]) == ("pinned_client", ["a"])
    assert cfg["priority_timeout"] == 120 * 10**9  # the server's default pinned TTL
    assert "Priority Policy: Overflow\n" in orders("con info ORDERS O").ok().out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            "--pinned-groups a --overflow-groups b",
            "--pinned-groups, --overflow-groups and --prioritized-groups",
        ),
        ("--pinned-ttl 1m", "--pinned-ttl is only for pinned client consumers (give --pinned-groups)"),
        ("--overflow-groups a --pinned-ttl 1m", "--pinned-ttl is only for pinned client consumers"),
        ("--pause soon", 'invalid --pause: invalid pause time "soon"'),
    ],
)
def test_add_refuses_conflicting_priority_and_pause_flags(orders, flags, message):
    run = orders(f"con add ORDERS X --pull --defaults {flags}").fails()
    assert message in run.err
    assert orders("con ls ORDERS -n").ok().out == ""


def test_pause_and_resume(orders):
    orders("con add ORDERS C --pull --defaults").ok()
    run = orders("con pause ORDERS C 90m").fails()
    assert mask(run.err).endswith('("Really pause Consumer ORDERS > C until <time>?"): pass -f/--force\n')
    assert shown(orders("con pause ORDERS C 90m -f").ok().err) == "Paused ORDERS > C until <time> (<left>)\n"
    info = json.loads(orders("con info ORDERS C -j").ok().out)
    assert info["paused"] and 5300 * 10**9 < info["pause_remaining"] <= 5400 * 10**9
    until = local_time(_dt.datetime.now() + _dt.timedelta(hours=2))
    reply = json.loads(orders("con", "pause", "ORDERS", "C", until, "-f", "-j").ok().out)
    assert reply["paused"] is True
    assert local_time(parse_pause_until(reply["pause_until"])) == until
    assert "Really resume Consumer ORDERS > C?" in orders("con resume ORDERS C").fails().err
    run = orders("con resume ORDERS C -f").ok()
    assert run.err == f"Consumer ORDERS > C was resumed while previously paused until {until}\n"
    assert json.loads(orders("con info ORDERS C -j").ok().out).get("paused", False) is False
    assert (
        orders("con resume ORDERS C -f").fails().err == "pynats: error: Consumer ORDERS > C is not paused\n"
    )


def test_pause_refusals(orders):
    orders("con add ORDERS C --pull --defaults").ok()
    run = orders("con", "pause", "ORDERS", "C", "2020-01-01 00:00:00", "-f").fails()
    assert run.err == "pynats: error: Consumer ORDERS > C was not paused: 2020-01-01 00:00:00 has passed\n"
    assert 'invalid pause time "soon"' in orders("con pause ORDERS C soon -f").fails().err
    assert orders("con pause ORDERS C -f").fails().err == (
        "pynats: error: Pause until (time or duration) is required: pass the UNTIL argument"
        " (cannot prompt without a terminal)\n"
    )
    assert "consumer not found" in orders("con pause ORDERS NOPE 1h -f").fails().err


def test_pinned_client_next_and_unpin(orders):
    orders("con add ORDERS W --pull --defaults --pinned-groups jobs --pinned-ttl 1m").ok()
    orders("pub ORDERS.processed 'order {{Count}}' --count 3").ok()
    run = orders("con next ORDERS W --group jobs").ok()
    pin = re.search(r"Nats-Pin-Id: (\S+)\n", run.out)
    assert pin and run.out.endswith("\norder 1\n\n")
    state = orders("con info ORDERS W --state").ok().out
    assert mask(state).endswith(f"Priority Groups: jobs: pinned {pin[1]} at <time>\n")
    # another client (a new connection without the pin id) waits while the pin holds
    assert "(408 Request Timeout)" in orders("--timeout 500ms con next ORDERS W").fails().err
    assert (
        "Really unpin client from group ORDERS > W > jobs?" in orders("con unpin ORDERS W jobs").fails().err
    )
    run = orders("con unpin ORDERS W -f").fails()
    assert "Select a Group is required: pass the GROUP argument" in run.err
    run = orders("con unpin ORDERS W jobs -f").ok()
    assert run.err == f"Unpinned client {pin[1]} from Priority Group ORDERS > W > jobs\n"
    run = orders("con next ORDERS W").ok()  # the only group is used without --group
    assert run.out.endswith("\norder 2\n\n") and pin[1] not in run.out


def test_unpin_and_next_refusals(orders):
    orders("con add ORDERS PLAIN --pull --defaults").ok()
    orders("con add ORDERS TWO --pull --defaults --pinned-groups a,b").ok()
    assert orders("con unpin ORDERS PLAIN a -f").fails().err == (
        "pynats: error: ORDERS > PLAIN is not a pinned client priority consumer\n"
    )
    assert orders("con unpin ORDERS TWO a -f").fails().err == (
        "pynats: error: no priority group of ORDERS > TWO has a pinned client\n"
    )
    assert orders("con next ORDERS TWO").fails().err == (
        "pynats: error: ORDERS > TWO has priority groups a, b: pass --group\n"
    )
    orders("pub ORDERS.processed x").ok()
    orders("con next ORDERS TWO --group a").ok()
    assert orders("con unpin ORDERS TWO b -f").fails().err == (
        "pynats: error: group b of ORDERS > TWO has no pinned client (pinned: a)\n"
    )
