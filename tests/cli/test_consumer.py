"""`pynats consumer`: add, ls, info, next, rm, edit, non-interactively, on both servers."""

from __future__ import annotations

import json
from textwrap import dedent

import pytest

from tests.cli.conftest import mask
from tests.cli.test_stream import NOT_INTERACTIVE, SEED_ADD

DISPATCH = (
    "con add ORDERS DISPATCH --filter ORDERS.processed --ack explicit --pull --deliver all --sample 100 "
    "--max-deliver 20"
)
MONITOR = (
    "con add ORDERS MONITOR --ack none --target monitor.ORDERS --deliver last --replay instant --filter ''"
)


@pytest.fixture
def orders(pynats):
    pynats(SEED_ADD).ok()
    return pynats


def config_of(pynats, stream, name):
    cfg = json.loads(pynats(f"con info {stream} {name} -j").ok().out)["config"]
    cfg.pop("metadata", None)
    return cfg


def test_add_pull_with_the_seeds_flags(orders):
    run = orders(DISPATCH).ok()
    assert mask(run.out) == dedent("""\
        Information for Consumer ORDERS > DISPATCH created <time>

        Configuration:

                    Durable Name: DISPATCH
                       Pull Mode: true
                  Filter Subject: ORDERS.processed
                  Deliver Policy: All
                      Ack Policy: explicit
                        Ack Wait: 30s
                   Replay Policy: instant
              Maximum Deliveries: 20
                   Sampling Rate: 100
                 Max Ack Pending: 1,000
               Max Waiting Pulls: 512

        State:

          Last Delivered Message: Consumer sequence: 0 Stream sequence: 0
            Acknowledgment floor: Consumer sequence: 0 Stream sequence: 0
                Pending Messages: 0
            Redelivered Messages: 0
            Unprocessed Messages: 0
                   Waiting Pulls: 0 of maximum 512
        """)


def test_add_push_with_the_seeds_flags(orders):
    run = orders(MONITOR).ok()
    assert mask(run.out) == dedent("""\
        Information for Consumer ORDERS > MONITOR created <time>

        Configuration:

                    Durable Name: MONITOR
                Delivery Subject: monitor.ORDERS
                  Deliver Policy: Last
                      Ack Policy: none
                   Replay Policy: instant

        State:

          Last Delivered Message: Consumer sequence: 0 Stream sequence: 0
            Acknowledgment floor: Consumer sequence: 0 Stream sequence: 0
                Pending Messages: 0
            Redelivered Messages: 0
            Unprocessed Messages: 0
                 Active Interest: false
        """)


def test_add_defaults(orders):
    orders("con add ORDERS PULL --pull --defaults").ok()
    cfg = config_of(orders, "ORDERS", "PULL")
    assert (cfg["ack_policy"], cfg["deliver_policy"], cfg["replay_policy"], cfg["max_deliver"]) == (
        "explicit", "all", "instant", -1,
    )  # fmt: skip
    assert "filter_subject" not in cfg
    orders("con add ORDERS PUSH --target out --defaults").ok()
    cfg = config_of(orders, "ORDERS", "PUSH")
    assert (cfg["ack_policy"], cfg["deliver_subject"]) == ("none", "out")


def test_add_every_flag(orders):
    orders(
        "con add ORDERS ALL --target out.all --deliver-group workers --description everything "
        "--filter ORDERS.a --filter ORDERS.b --ack all --replay original --max-deliver 5 --max-pending 10 "
        "--sample 50 --wait 10s "
        "--heartbeat 5s --flow-control --headers-only --metadata team=ops --deliver 2"
    ).ok()
    cfg = config_of(orders, "ORDERS", "ALL")
    want = {
        "deliver_subject": "out.all", "deliver_group": "workers", "description": "everything",
        "filter_subjects": ["ORDERS.a", "ORDERS.b"], "ack_policy": "all", "replay_policy": "original",
        "max_deliver": 5, "max_ack_pending": 10, "sample_freq": "50%", "ack_wait": 10 * 10**9,
        "idle_heartbeat": 5 * 10**9, "flow_control": True, "headers_only": True,
        "deliver_policy": "by_start_sequence", "opt_start_seq": 2,
    }  # fmt: skip
    assert {k: cfg.get(k) for k in want} == want
    orders("con add ORDERS P --pull --defaults --max-waiting 7 --inactive-threshold 1h --memory").ok()
    cfg = config_of(orders, "ORDERS", "P")
    assert (cfg["max_waiting"], cfg["inactive_threshold"], cfg["mem_storage"]) == (7, 3600 * 10**9, True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("con add ORDERS X --defaults", "pass --pull or --target SUBJECT"),
        ("con add ORDERS --pull --defaults", "pass the CONSUMER argument or --ephemeral"),
        ("con add ORDERS X --pull --target t", "--pull and --target cannot be used together"),
        ("con add ORDERS X --pull --defaults --deliver soon", "invalid --deliver: invalid start policy"),
        ("con add ORDERS X --pull --defaults --wait 10", 'invalid --wait: missing unit in duration "10"'),
        ("con add ORDERS X --pull --defaults --heartbeat 1s", "--heartbeat is only for push consumers"),
        ("con add ORDERS X --ephemeral --pull", "an --ephemeral consumer has no name"),
        ("con add NOPE X --pull --defaults", "stream not found (code 404, err_code 10059)"),
    ],
)
def test_add_refusals_are_one_line(orders, args, message):
    run = orders(args).fails()
    assert message in run.err
    assert run.err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        ("con add ORDERS X --pull", "--deliver"),
        ("con add ORDERS X --pull --deliver all", "--filter"),
        ("con add ORDERS X --pull --deliver all --filter ''", "--max-deliver"),
        ("con add ORDERS X --target out --deliver all", "--ack"),
        ("con add ORDERS X --target out --deliver all --ack explicit", "--replay"),
    ],
)
def test_add_without_a_terminal_names_the_missing_flag(orders, args, flag):
    run = orders(args).fails()
    assert run.err == f"pynats: error: {flag} {NOT_INTERACTIVE}\n"
    assert orders("con ls ORDERS -n").ok().out == ""
    orders(args + " --defaults").ok()


def test_start_by_time(orders):
    orders("pub ORDERS.processed 'order 1' -J").ok()
    orders("con add ORDERS RECENT --pull --defaults --deliver 1h").ok()
    cfg = config_of(orders, "ORDERS", "RECENT")
    assert cfg["deliver_policy"] == "by_start_time"
    assert cfg["opt_start_time"].endswith("Z")
    assert "--- received on ORDERS.processed\norder 1\n" in orders("con next ORDERS RECENT").ok().out


def test_ephemeral(orders):
    run = orders(
        "con add ORDERS --filter '' --ack none --target my.monitor --deliver last --replay instant "
        "--ephemeral"
    )
    info = json.loads(orders("con ls ORDERS -j").ok().out)
    assert run.ok() and len(info) == 1
    assert "durable_name" not in info[0]["config"]


def test_info_json_feeds_config_unchanged(orders, tmp_path):
    orders(DISPATCH).ok()
    orders(MONITOR).ok()
    for name in ("DISPATCH", "MONITOR"):
        full = tmp_path / f"{name}.json"
        full.write_text(orders(f"con info ORDERS {name} -j").ok().out)
        bare = tmp_path / f"{name}-bare.json"
        bare.write_text(json.dumps(json.loads(full.read_text())["config"]))
        original = config_of(orders, "ORDERS", name)
        orders(f"con add ORDERS {name}2 --config {full}").ok()
        orders(f"con add ORDERS {name}3 --config {bare}").ok()
        for copy in (f"{name}2", f"{name}3"):
            assert config_of(orders, "ORDERS", copy) == {**original, "durable_name": copy, "name": copy}
        orders(f"con rm ORDERS {name} -f").ok()
        orders(f"con add ORDERS --config {bare}").ok()
        assert config_of(orders, "ORDERS", name) == original


def test_config_flags_override_and_validate(orders, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"durable_name": "C", "ack_policy": "explicit", "max_deliver": 3}))
    orders(f"con add ORDERS --config {path} --max-deliver 9 --description flagged").ok()
    cfg = config_of(orders, "ORDERS", "C")
    assert (cfg["max_deliver"], cfg["description"]) == (9, "flagged")
    run = orders("con add ORDERS V --pull --defaults --validate").ok()
    assert json.loads(run.out)["durable_name"] == "V"
    assert run.err == "The configuration is a valid io.nats.jetstream.api.v1.consumer_configuration\n"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"durable_name": "B", "ack_policy": "sometimes"}))
    run = orders(f"con add ORDERS --config {bad} --validate").fails()
    assert "ack_policy" in run.err
    out = tmp_path / "out.json"
    orders(f"con add ORDERS O --pull --defaults --output {out}").ok()
    assert json.loads(out.read_text())["durable_name"] == "O"
    assert orders("con ls ORDERS -n").ok().out == "C\n"


def test_ls(orders):
    assert orders("con ls ORDERS").ok().err == "No Consumers defined\n"
    orders(DISPATCH).ok()
    orders(MONITOR).ok()
    orders("con add ORDERS NEW --pull --defaults --filter ORDERS.received").ok()
    assert orders("con ls ORDERS -n").ok().out == "DISPATCH\nMONITOR\nNEW\n"
    assert orders("con ls ORDERS").ok().out == dedent("""\
                          Consumers for Stream ORDERS
        ╭──────────┬──────┬─────────────┬─────────────┬───────────────╮
        │ Name     │ Mode │ Ack Pending │ Unprocessed │ Last Delivery │
        ├──────────┼──────┼─────────────┼─────────────┼───────────────┤
        │ DISPATCH │ Pull │           0 │           0 │ never         │
        │ MONITOR  │ Push │           0 │           0 │ never         │
        │ NEW      │ Pull │           0 │           0 │ never         │
        ╰──────────┴──────┴─────────────┴─────────────┴───────────────╯
        """)
    assert [i["name"] for i in json.loads(orders("con ls ORDERS -j").ok().out)] == [
        "DISPATCH",
        "MONITOR",
        "NEW",
    ]
    assert "cannot pick a Stream without a terminal" in orders("con ls").fails().err


def test_info_state_and_pickers(orders):
    orders(DISPATCH).ok()
    assert orders("con info ORDERS DISPATCH --state").ok().out == dedent("""\
        State for Consumer ORDERS > DISPATCH

        State:

          Last Delivered Message: Consumer sequence: 0 Stream sequence: 0
            Acknowledgment floor: Consumer sequence: 0 Stream sequence: 0
                Pending Messages: 0
            Redelivered Messages: 0
            Unprocessed Messages: 0
                   Waiting Pulls: 0 of maximum 512
        """)
    run = orders("con info ORDERS").fails()
    assert run.err == (
        "pynats: error: cannot pick a Consumer without a terminal and no Consumer name supplied"
        " (the CONSUMER argument)\n"
    )
    assert "consumer not found" in orders("con info ORDERS NOPE").fails().err


def test_next_acks_and_no_ack_leaves_it_pending(orders):
    orders(DISPATCH).ok()
    for i in (1, 2):
        orders(f"pub ORDERS.processed 'order {i}'").ok()
    run = orders("con next ORDERS DISPATCH").ok()
    assert run.output == "--- received on ORDERS.processed\norder 1\n\nAcknowledged message\n"
    assert run.err == "Acknowledged message\n"
    run = orders("con next ORDERS DISPATCH --no-ack").ok()
    assert run.output == "--- received on ORDERS.processed\norder 2\n\n"
    info = json.loads(orders("con info ORDERS DISPATCH -j").ok().out)
    assert (info["delivered"]["stream_seq"], info["ack_floor"]["stream_seq"], info["num_ack_pending"]) == (
        2,
        1,
        1,
    )
    run = orders("--timeout 500ms con next ORDERS DISPATCH").fails()
    assert run.err.startswith("pynats: error: no message")


def test_next_count_raw_and_headers(orders):
    orders("con add ORDERS ALL --pull --defaults --ack none").ok()
    orders("pub ORDERS.processed 'order {{Count}}' --count 3 -H Team:ops").ok()
    assert orders("con next ORDERS ALL --count 2 --raw").ok().output == "order 1\norder 2\n"
    assert (
        orders("con next ORDERS ALL").ok().output
        == "--- received on ORDERS.processed\nTeam: ops\n\norder 3\n\n"
    )


def test_next_refuses_push_consumers(orders):
    orders(MONITOR).ok()
    run = orders("con next ORDERS MONITOR").fails()
    assert (
        run.err
        == "pynats: error: ORDERS > MONITOR is a push consumer: read it with `pynats sub monitor.ORDERS`\n"
    )


def test_rm(orders):
    orders(DISPATCH).ok()
    run = orders("con rm ORDERS DISPATCH").fails()
    assert run.err.endswith('("Really delete Consumer ORDERS > DISPATCH?"): pass -f/--force\n')
    assert (
        orders("con rm ORDERS -f").fails().err
        == "pynats: error: --force needs the STREAM and CONSUMER arguments\n"
    )
    assert orders("con rm ORDERS DISPATCH -f").ok().err == "Consumer ORDERS > DISPATCH was deleted\n"
    assert orders("con ls ORDERS -n").ok().out == ""


def test_edit(orders, tmp_path):
    orders(DISPATCH).ok()
    run = orders("con edit ORDERS DISPATCH --max-deliver 10 --dry-run").fails(1)
    assert run.out == dedent("""\
        Differences (-old +new):
           "max_ack_pending": 1000,
        -  "max_deliver": 20,
        +  "max_deliver": 10,
           "max_waiting": 512,
        """)
    assert "pass -f/--force" in orders("con edit ORDERS DISPATCH --max-deliver 10").fails().err
    run = orders("con edit ORDERS DISPATCH --max-deliver 10 --description edited -f").ok()
    assert run.err == "Consumer ORDERS > DISPATCH was updated\n\n"
    assert "      Maximum Deliveries: 10\n" in run.out
    cfg = config_of(orders, "ORDERS", "DISPATCH")
    assert (cfg["max_deliver"], cfg["description"]) == (10, "edited")
    path = tmp_path / "d.json"
    path.write_text(json.dumps({**cfg, "max_deliver": 7}))
    orders(f"con edit ORDERS DISPATCH --config {path} -f").ok()
    assert config_of(orders, "ORDERS", "DISPATCH")["max_deliver"] == 7
    assert orders(f"con edit ORDERS DISPATCH --config {path} -f").ok().err == (
        "Consumer ORDERS > DISPATCH is already up to date: no differences\n"
    )
