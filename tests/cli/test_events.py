"""`pynats con events` and `pynats events`: real acknowledgement samples and advisories on both servers,
the seed's human layout, --json, and the filters."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from nats_cli.commands.events import Filter, event_text
from tests.cli.test_pubsub import spawn
from tests.cli.test_stream import SEED_ADD

STAMP = re.compile(r"^\[\d\d:\d\d:\d\d\] \[[A-Za-z0-9]+\] ", re.MULTILINE)
DELAY = re.compile(r"Delay: [\d.]+(ns|µs|ms|s)$", re.MULTILINE)


def masked(text: str) -> str:
    return DELAY.sub("Delay: <d>", STAMP.sub("[<time>] [<id>] ", text))


def listening(proc: subprocess.Popen, count: int) -> list[str]:
    """The command's 'Listening for ...' lines (and the blank after them): it is subscribed now."""
    lines = [proc.stderr.readline() for _ in range(count + 1)]
    assert lines[-1] == "\n", "".join(lines) + proc.stderr.read()
    return [line.rstrip("\n") for line in lines[:-1]]


def finish(proc: subprocess.Popen) -> str:
    try:
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    return out


@pytest.fixture
def orders(pynats):
    pynats(SEED_ADD).ok()
    pynats("con add ORDERS NEW --filter ORDERS.received --ack explicit --pull --deliver all --max-deliver=-1 "
           "--sample 100 --defaults").ok()  # fmt: skip
    return pynats


def test_ack_samples_for_real_acks_as_the_seed_shows_them(orders):
    proc = spawn(orders, "con", "events", "ORDERS", "NEW", "--count", "3")
    assert listening(proc, 2) == [
        "Listening for Advisories on $JS.EVENT.ADVISORY.CONSUMER.*.ORDERS.NEW",
        "Listening for Metrics on $JS.EVENT.METRIC.CONSUMER.*.ORDERS.NEW",
    ]
    orders("pub ORDERS.received 'order {{Count}}' --count 3 -q").ok()
    orders("con next ORDERS NEW --count 3").ok()
    blocks = masked(finish(proc)).split("\n\n")
    assert blocks[:3] == [
        "[<time>] [<id>] Acknowledgement Sample\n"
        "           Consumer: ORDERS > NEW\n"
        f"    Stream Sequence: {n}\n"
        f"  Consumer Sequence: {n}\n"
        "         Deliveries: 1\n"
        "              Delay: <d>"
        for n in (1, 2, 3)
    ]


def test_ack_samples_as_json(orders):
    proc = spawn(orders, "con", "events", "ORDERS", "NEW", "--count", "2", "--json")
    listening(proc, 2)
    orders("pub ORDERS.received x --count 2 -q").ok()
    orders("con next ORDERS NEW --count 2").ok()
    out, decoder, events = finish(proc), json.JSONDecoder(), []
    pos = 0
    while out[pos:].strip():
        event, pos = decoder.raw_decode(out, pos + len(out[pos:]) - len(out[pos:].lstrip()))
        events.append(event)
    assert [e["stream_seq"] for e in events] == [1, 2]
    for event in events:
        assert event["type"] == "io.nats.jetstream.metric.v1.consumer_ack"
        assert (event["stream"], event["consumer"], event["deliveries"]) == ("ORDERS", "NEW", 1)
        assert event["ack_time"] > 0 and event["consumer_seq"] == event["stream_seq"]
    assert out.startswith('{\n  "type": "io.nats.jetstream.metric.v1.consumer_ack",\n  "id": ')


def test_consumer_advisories_show_up_too(orders):
    orders("con add ORDERS ONCE --pull --max-deliver 1 --wait 1s --defaults").ok()
    proc = spawn(orders, "con", "events", "ORDERS", "ONCE", "--count", "1")
    listening(proc, 2)
    orders("pub ORDERS.received x").ok()
    orders("con next ORDERS ONCE --no-ack").ok()
    assert masked(finish(proc)) == (
        "[<time>] [<id>] Delivery Attempts Exceeded\n"
        "         Consumer: ORDERS > ONCE\n"
        "  Stream Sequence: 1\n"
        "       Deliveries: 1\n\n"
    )


def test_all_events_with_a_type_filter(orders):
    proc = spawn(orders, "events", "--type", "consumer_action", "--count", "1")
    assert listening(proc, 2) == [
        "Listening for Advisories on $JS.EVENT.ADVISORY.>",
        "Listening for Metrics on $JS.EVENT.METRIC.>",
    ]
    orders("con add ORDERS DISPATCH --pull --defaults").ok()
    assert masked(finish(proc)) == (
        "[<time>] [<id>] Consumer Create Action\n    Stream: ORDERS\n  Consumer: DISPATCH\n\n"
    )


def test_api_audit_events(orders):
    proc = spawn(orders, "events", "--type", "api_audit", "--count", "1")
    listening(proc, 2)
    orders("str info ORDERS").ok()
    block = finish(proc)
    assert STAMP.match(block) and block.splitlines()[0].endswith(" JetStream API Access")
    assert "   Subject: $JS.API.STREAM.INFO.ORDERS\n" in block
    assert '"type":"io.nats.jetstream.api.v1.stream_info_response"' in block.replace(" ", "")


def test_stream_subject_and_regex_filters(orders):
    proc = spawn(orders, "events", "--stream", "OTHER", "--type", "advisory", "--count", "1", "-j")
    listening(proc, 2)
    orders("con add ORDERS DISPATCH --pull --defaults").ok()  # about ORDERS: not shown
    orders("str add OTHER --subjects other --defaults").ok()
    event = json.loads(finish(proc))
    assert (event["type"], event["stream"], event["action"]) == (
        "io.nats.jetstream.advisory.v1.stream_action", "OTHER", "create",
    )  # fmt: skip

    proc = spawn(
        orders, "events", "--subject", "$JS.EVENT.ADVISORY.STREAM.>", "--filter", "deleted?", "--count", "1"
    )
    assert listening(proc, 1) == ["Listening for Events on $JS.EVENT.ADVISORY.STREAM.>"]
    orders("str add THIRD --subjects third --defaults").ok()  # "create": not matched
    time.sleep(0.2)
    orders("str rm THIRD -f").ok()
    assert masked(finish(proc)) == "[<time>] [<id>] Stream Delete Action\n  Stream: THIRD\n\n"


def test_bad_filters_and_names(orders):
    assert orders("events --filter '('").fails().err.startswith("pynats: error: invalid --filter: ")
    run = orders("con events ORDERS NOPE").fails()
    assert run.err == "pynats: error: consumer not found (code 404, err_code 10014)\n"
    assert (
        orders("con events").fails().err.startswith("pynats: error: cannot pick a Stream without a terminal")
    )


# -- rendering ------------------------------------------------------------------------------------

T = "2026-01-02T03:04:05Z"
EVENTS = {
    "nak": (
        {"type": "io.nats.jetstream.advisory.v1.nak", "id": "X", "timestamp": "2026-01-02T03:04:05Z",
         "stream": "S", "consumer": "C", "consumer_seq": 4, "stream_seq": 9, "deliveries": 2},
        "Delivery NAKed\n         Consumer: S > C\n  Stream Sequence: 9\n       Deliveries: 2\n",
    ),
    "terminated": (
        {"type": "io.nats.jetstream.advisory.v1.terminated", "id": "X", "timestamp": "2026-01-02T03:04:05Z",
         "stream": "S", "consumer": "C", "stream_seq": 9, "deliveries": 2, "reason": "bad order"},
        "Delivery Terminated\n         Consumer: S > C\n  Stream Sequence: 9\n       Deliveries: 2\n"
        "           Reason: bad order\n",
    ),
    "snapshot": (
        {"type": "io.nats.jetstream.advisory.v1.snapshot_create", "id": "X", "timestamp": T, "stream": "S",
         "num_blks": 3, "blk_size": 4096, "client": {"acc": "A", "host": "h"}},
        "Stream Snapshot Created\n      Stream: S\n      Blocks: 3\n  Block Size: 4.0 KiB\n"
        "      Client: acc=A host=h\n",
    ),
    "unknown": (
        {"type": "io.nats.jetstream.advisory.v1.domain_leader_elected", "id": "X", "timestamp": "bad",
         "leader": "n1", "cluster": "c", "replicas": [1]},
        "Domain Leader Elected\n   Leader: n1\n  Cluster: c\n",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", EVENTS)
def test_event_text(name):
    event, body = EVENTS[name]
    clock = "--:--:--" if name == "unknown" else event_text(event)[1:9]
    assert event_text(event) == f"[{clock}] [X] " + body


def test_event_text_multi_line_values_are_indented():
    event = {"type": "io.nats.jetstream.advisory.v1.api_audit", "id": "X", "server": "s", "subject": "a",
             "request": "", "response": "line one\nline two"}  # fmt: skip
    assert event_text(event).endswith("  Response: line one\n            line two\n")


def test_type_filter_matches_the_whole_type_its_end_or_its_kind():
    ack = {"type": "io.nats.jetstream.metric.v1.consumer_ack", "stream": "S"}
    assert Filter(("consumer_ack",), None, None).wants(ack, "{}")
    assert Filter(("metric",), None, None).wants(ack, "{}")
    assert Filter(("io.nats.jetstream.metric.v1.consumer_ack",), None, None).wants(ack, "{}")
    assert not Filter(("advisory",), None, None).wants(ack, "{}")
    assert not Filter(("ack",), None, None).wants(ack, "{}")
    assert not Filter((), "T", None).wants(ack, "{}")
    assert Filter((), "S", "CONSUMER").wants(ack, '{"x": "consumer"}')
