"""The seed's CLI walkthrough, start to finish: streams, consumers, the ack model, the deep dive.

Every command is the seed's (`nats` -> `pynats`), run without a terminal, so the interactive
steps use the one-line equivalents the seed gives next to them (test_interactive.py answers the
prompts themselves). Where today's nats-server differs from the 2020 preview the seed shows, the
assertion follows the server and a comment gives the seed's figure:
- "Last Delivered Message" is the last delivered sequence; the preview showed the next one (+1).
- deduplication reads the `Nats-Msg-Id` header (the preview's was `Msg-Id`).
- `nats req` on a stream subject returns a JSON PubAck (the preview answered `+OK`), and pull
  requests go to `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` (was `$JS.NEXT...`).
- an unacknowledged message is redelivered after its ack wait, so DISPATCH gets a short --wait.
"""

from __future__ import annotations

import json
import time

from schemas import subjects
from tests.cli.conftest import mask
from tests.cli.test_pubsub import spawn, wait_listening

ORDERS = (
    'str add ORDERS --subjects "ORDERS.*" --ack --max-msgs=-1 --max-bytes=-1 --max-age=1y --storage file '
    "--retention limits --max-msg-size=-1 --defaults"
)


def state_block(text: str) -> str:
    return text[text.index("State:") :]


def stream_state(pynats, name="ORDERS") -> str:
    return state_block(pynats(f"str info {name}").ok().out)


def consumer_state(pynats, name) -> str:
    return state_block(pynats(f"con info ORDERS {name}").ok().out)


def test_streams_section(pynats, tmp_path):
    assert "    Streams: 0 of unlimited\n" in pynats("account info").ok().out
    run = pynats(ORDERS + " --discard old").ok()
    assert run.err == "Stream ORDERS was created\n\n"
    assert "    Streams: 1 of unlimited\n" in pynats("account info").ok().out
    assert pynats("str ls -n").ok().out == "ORDERS\n"
    info = mask(pynats("str info ORDERS").ok().out)
    assert info.startswith("Information for Stream ORDERS created <time>\n\nConfiguration:\n\n")
    for line in ("Subjects: ORDERS.*", "Acknowledgements: true", "Retention: File - Limits", "Replicas: 1",
                 "Maximum Age: 8760h0m0s", "Maximum Consumers: unlimited"):  # fmt: skip
        assert f" {line}\n" in info
    cfg = json.loads(pynats("str info ORDERS -j").ok().out)["config"]
    seed_json = {
        "name": "ORDERS", "subjects": ["ORDERS.*"], "retention": "limits", "max_consumers": -1,
        "max_msgs": -1, "max_bytes": -1, "max_age": 31536000000000000, "storage": "file", "num_replicas": 1,
    }  # fmt: skip
    assert {k: cfg[k] for k in seed_json} == seed_json
    orders_json = tmp_path / "orders.json"
    orders_json.write_text(json.dumps(cfg))

    # Copying
    run = pynats('str cp ORDERS ARCHIVE --subjects "ORDERS_ARCVHIVE.*" --max-age 2y').ok()
    assert "              Subjects: ORDERS_ARCVHIVE.*\n" in run.out
    assert "           Maximum Age: 17520h0m0s\n" in run.out

    # Editing: an ORDERS created with the wrong subject, fixed
    pynats("str rm ORDERS -f").ok()
    pynats("str add ORDERS --subjects ORDERS.new --defaults --max-age 1y").ok()
    assert json.loads(pynats("str info ORDERS -j").ok().out)["config"]["subjects"] == ["ORDERS.new"]
    run = pynats('str edit ORDERS --subjects "ORDERS.*" -f').ok()
    assert "Stream ORDERS was updated" in run.err
    assert "              Subjects: ORDERS.*\n" in run.out
    pynats(f"str edit ORDERS --config {orders_json} -f").ok()
    assert pynats(f"str edit ORDERS --config {orders_json} -f").ok().err.endswith("no differences\n")

    # Publishing into a stream
    assert pynats("pub ORDERS.scratch hello").ok().err == "Published 5 bytes to ORDERS.scratch\n"
    assert pynats("req ORDERS.scratch hello").ok().out == '{"stream":"ORDERS","seq":2}\n'  # seed: '+OK'
    pynats("pub ORDERS.scratch hello").ok()
    assert stream_state(pynats) == (
        "State:\n\n"
        "              Messages: 3\n"
        "                 Bytes: 147 B\n"
        "              FirstSeq: 1\n"
        "               LastSeq: 3\n"
        "      Active Consumers: 0\n"
    )

    # Deleting a message, then all data
    assert pynats("str rmm ORDERS 1 -f").ok().err == "Message 1 was removed from Stream ORDERS\n"
    run = pynats("str purge ORDERS -f").ok()
    assert run.err == "Purged 2 messages from ORDERS\n\n"
    assert state_block(run.out) == (
        "State:\n\n"
        "              Messages: 0\n"
        "                 Bytes: 0 B\n"
        "              FirstSeq: 4\n"
        "               LastSeq: 3\n"
        "      Active Consumers: 0\n"
    )

    # Deleting sets
    pynats("str rm ORDERS -f").ok()
    pynats(ORDERS).ok()
    # Configuration management: the same stream again from `str info ORDERS -j | jq .config`
    pynats("str rm ORDERS -f").ok()
    pynats(f"str add ORDERS --config {orders_json}").ok()
    assert json.loads(pynats("str info ORDERS -j").ok().out)["config"]["max_age"] == 31536000000000000


def test_consumers_section(pynats, tmp_path):
    pynats(ORDERS).ok()
    assert pynats("con ls ORDERS").ok().err == "No Consumers defined\n"

    # NEW (the seed answers prompts; these are the same answers as flags)
    run = pynats(
        "con add ORDERS NEW --pull --deliver all --filter ORDERS.received --max-deliver 20 --sample 100"
    )
    out = run.ok().out
    for line in ("Durable Name: NEW", "Pull Mode: true", "Filter Subject: ORDERS.received",
                 "Deliver Policy: All", "Ack Policy: explicit", "Ack Wait: 30s", "Replay Policy: instant",
                 "Maximum Deliveries: 20", "Sampling Rate: 100"):  # fmt: skip
        assert f" {line}\n" in out
    pynats(
        "con add ORDERS DISPATCH --filter ORDERS.processed --ack explicit --pull --deliver all --sample 100 "
        "--max-deliver 20"
    ).ok()
    monitor = tmp_path / "monitor.json"
    run = pynats(
        "con add ORDERS MONITOR --ack none --target monitor.ORDERS --deliver last --replay instant "
        "--filter ''"
    )
    for line in ("Durable Name: MONITOR", "Delivery Subject: monitor.ORDERS", "Deliver Policy: Last",
                 "Ack Policy: none", "Replay Policy: instant"):  # fmt: skip
        assert f" {line}\n" in run.ok().out
    monitor.write_text(json.dumps(json.loads(pynats("con info ORDERS MONITOR -j").ok().out)["config"]))
    pynats(f"con add ORDERS MONITOR2 --config {monitor}").ok()
    pynats("con rm ORDERS MONITOR2 -f").ok()
    assert pynats("con ls ORDERS -n").ok().out == "DISPATCH\nMONITOR\nNEW\n"

    info = pynats("con info ORDERS DISPATCH").ok().out
    for line in ("Durable Name: DISPATCH", "Pull Mode: true", "Filter Subject: ORDERS.processed",
                 "Ack Policy: explicit", "Ack Wait: 30s", "Sampling Rate: 100"):  # fmt: skip
        assert f" {line}\n" in info

    # Consuming pull-based consumers
    for i in (1, 2, 3):
        pynats(f'pub ORDERS.processed "order {i}"').ok()
    for i in (1, 2):
        run = pynats("con next ORDERS DISPATCH").ok()
        assert run.output == f"--- received on ORDERS.processed\norder {i}\n\nAcknowledged message\n"
    next_subject = subjects.consumer_msg_next("ORDERS", "DISPATCH")  # the seed's $JS.NEXT.ORDERS.DISPATCH
    run = pynats("req", next_subject, "").ok()
    assert run.out == "order 3\n"
    assert "Received with 7 bytes on ORDERS.processed" in run.err

    # Consuming push-based consumers. MONITOR was made on an empty stream, so "last" is the first
    # order; the seed's listing starts at [#3] because its MONITOR had already sent two.
    proc = spawn(pynats, "sub", "monitor.ORDERS", "--count", "4")
    try:
        assert wait_listening(proc) == "Listening on [monitor.ORDERS]\n"
        pynats('pub ORDERS.processed "order 4"').ok()
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert out == "".join(f"[#{i}] Received on ORDERS.processed\norder {i}\n\n" for i in (1, 2, 3, 4))


def test_ack_model_walkthrough(pynats):
    pynats(ORDERS).ok()
    pynats(
        "con add ORDERS DISPATCH --filter ORDERS.processed --ack explicit --pull --deliver all --sample 100 "
        "--max-deliver 20 --wait 1s"
    ).ok()
    assert stream_state(pynats) == (
        "State:\n\n"
        "              Messages: 0\n"
        "                 Bytes: 0 B\n"
        "              FirstSeq: 0\n"
        "               LastSeq: 0\n"
        "      Active Consumers: 1\n"
    )

    def dispatch(delivered, floor, pending, redelivered):
        assert consumer_state(pynats, "DISPATCH").splitlines()[2:6] == [
            f"  Last Delivered Message: Consumer sequence: {delivered[0]} Stream sequence: {delivered[1]}",
            f"    Acknowledgment floor: Consumer sequence: {floor[0]} Stream sequence: {floor[1]}",
            f"        Pending Messages: {pending}",
            f"    Redelivered Messages: {redelivered}",
        ]

    dispatch((0, 0), (0, 0), 0, 0)  # seed: delivered 1/1 (the next one)
    assert pynats('pub ORDERS.processed "order 4"').ok().err == "Published 7 bytes to ORDERS.processed\n"
    assert stream_state(pynats) == (
        "State:\n\n"
        "              Messages: 1\n"
        "                 Bytes: 53 B\n"
        "              FirstSeq: 1\n"
        "               LastSeq: 1\n"
        "      Active Consumers: 1\n"
    )
    run = pynats("con next ORDERS DISPATCH").ok()
    assert run.output == "--- received on ORDERS.processed\norder 4\n\nAcknowledged message\n"
    dispatch((1, 1), (1, 1), 0, 0)  # seed: 2/2, 1/1

    pynats('pub ORDERS.processed "order 5"').ok()
    assert (
        pynats("con next ORDERS DISPATCH --no-ack").ok().output
        == "--- received on ORDERS.processed\norder 5\n\n"
    )
    dispatch((2, 2), (1, 1), 1, 0)  # seed: 3/3, 1/1, pending 1

    run = _next_after_ack_wait(pynats, "--no-ack")
    assert run.output == "--- received on ORDERS.processed\norder 5\n\n"
    dispatch((3, 2), (1, 1), 1, 1)  # seed: 4/3, 1/1, pending 1, redelivered 1

    run = _next_after_ack_wait(pynats)
    assert run.output == "--- received on ORDERS.processed\norder 5\n\nAcknowledged message\n"
    dispatch((4, 2), (4, 2), 0, 0)  # seed: 5/3 (and an ack floor the preview had not moved)


def _next_after_ack_wait(pynats, *flags):
    """Pull until the unacknowledged message comes back (DISPATCH's ack wait is 1s)."""
    deadline = time.monotonic() + 10
    while True:
        run = pynats("--timeout", "2s", "con", "next", "ORDERS", "DISPATCH", *flags)
        if run.code == 0 or time.monotonic() > deadline:
            return run.ok()


def test_model_deep_dive(pynats):
    # Message deduplication: four requests with the same message id store one message
    pynats(ORDERS).ok()
    for i in (1, 2, 3, 4):
        pynats(f"req -H Nats-Msg-Id:1 ORDERS.new hello{i}").ok()  # seed: -H Msg-Id:1
    state = stream_state(pynats)
    # seed: 67 B, for the preview's shorter Msg-Id header
    assert "              Messages: 1\n" in state and "                 Bytes: 78 B\n" in state

    # Consumer starting position: a new ORDERS with 100 orders, then all / last / a sequence
    pynats("str rm ORDERS -f").ok()
    pynats(ORDERS).ok()
    pynats('pub ORDERS.processed "order {{Count}}" --count 100 -q').ok()
    expected = {"ALL": ("all", 1), "LAST": ("last", 100), "TEN": ("10", 10)}
    for name, (deliver, number) in expected.items():
        pynats(
            f"con add ORDERS {name} --pull --filter ORDERS.processed --ack none --replay instant "
            f"--deliver {deliver}"
        ).ok()
        assert (
            pynats(f"con next ORDERS {name}").ok().out
            == f"--- received on ORDERS.processed\norder {number}\n\n"
        )

    # A time-based start (the seed uses minutes; seconds show the same)
    pynats("str purge ORDERS -f").ok()
    pynats('pub ORDERS.processed "order 1"').ok()
    time.sleep(1.5)
    pynats('pub ORDERS.processed "order 2"').ok()
    pynats('pub ORDERS.processed "order 3"').ok()
    pynats(
        "con add ORDERS 2MIN --pull --filter ORDERS.processed --ack none --replay instant --deliver 1s"
    ).ok()
    assert pynats("con next ORDERS 2MIN").ok().out == "--- received on ORDERS.processed\norder 2\n\n"

    # Ephemeral push consumer and replay at the original pace
    pynats(
        "con add ORDERS --filter '' --ack none --target my.monitor --deliver last --replay instant "
        "--ephemeral"
    ).ok()
    run = pynats(
        "con add ORDERS REPLAY --target out.original --filter ORDERS.processed --ack none --deliver all "
        "--sample 100 "
        "--replay original"
    ).ok()
    assert "           Replay Policy: original\n" in run.out
    assert "           Sampling Rate: 100\n" in run.out
