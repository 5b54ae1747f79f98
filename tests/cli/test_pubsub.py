"""`pynats pub`, `sub`, `req` and `account info`, on both servers."""

from __future__ import annotations

import json
import subprocess
import sys
from textwrap import dedent

import pytest

from tests.cli.test_stream import SEED_ADD


@pytest.fixture
def orders(pynats):
    pynats(SEED_ADD).ok()
    return pynats


def stored(pynats, stream="ORDERS"):
    return json.loads(pynats(f"str info {stream} -j").ok().out)["state"]["messages"]


def test_pub_body_stdin_count_and_headers(orders):
    assert orders("pub ORDERS.scratch hello").ok().err == "Published 5 bytes to ORDERS.scratch\n"
    assert (
        orders("pub ORDERS.scratch", input="from stdin").ok().err == "Published 10 bytes to ORDERS.scratch\n"
    )
    run = orders("pub ORDERS.scratch 'n {{Count}}' --count 3 -H A:1 -H 'B: two'").ok()
    assert run.err == "Published 3 bytes to ORDERS.scratch\n" * 3
    assert orders("pub ORDERS.scratch quiet -q").ok().err == ""
    assert stored(orders) == 6
    msg = json.loads(orders("str get ORDERS 5 -j").ok().out)
    assert msg["data"] == "biAz"  # "n 3"
    assert orders("str get ORDERS 5").ok().out.endswith("Headers:\n\n  A: 1\n  B: two\n\nn 3\n")


def test_pub_wait_prints_the_puback(orders):
    assert orders("pub ORDERS.scratch hello --wait").ok().out == "Stored in Stream: ORDERS Sequence: 1\n"
    assert (
        orders("pub ORDERS.scratch hello -J -H Nats-Msg-Id:1").ok().out
        == "Stored in Stream: ORDERS Sequence: 2\n"
    )
    run = orders("pub ORDERS.scratch again -J -H Nats-Msg-Id:1").ok()
    assert run.out == "Stored in Stream: ORDERS Sequence: 2 Duplicate: true\n"
    run = orders("pub nowhere hello -J").fails()
    assert run.err == "pynats: error: no stream listens on nowhere (no responders)\n"


def test_pub_wait_shows_stream_errors(orders):
    orders("str edit ORDERS --max-msg-size 4 -f").ok()
    run = orders("pub ORDERS.scratch toolong -J").fails()
    assert run.err == "pynats: error: message size exceeds maximum allowed (code 400, err_code 10054)\n"


def test_req_prints_the_reply_and_dedupes_with_headers(orders):
    run = orders("req ORDERS.new hello1 -H Trace:1").ok()
    assert run.out == '{"stream":"ORDERS","seq":1}\n'
    assert run.err.startswith("Sending request on ORDERS.new\nReceived with 27 bytes on _INBOX.")
    for i in (2, 3, 4):
        assert (
            orders(f"req -H Nats-Msg-Id:1 ORDERS.new hello{i} --raw")
            .ok()
            .out.startswith('{"stream":"ORDERS"')
        )
    assert orders("req ORDERS.new x -r").ok().output == '{"stream":"ORDERS","seq":3}\n'
    assert stored(orders) == 3
    assert orders("req nobody.home hi").fails().err.endswith("pynats: error: no responders for nobody.home\n")
    assert (
        orders("pub x y -H novalue").fails().err
        == 'pynats: error: invalid header "novalue": use -H Name:Value\n'
    )


def spawn(pynats, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in pynats.env().items() if v is not None}
    import os

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NATS_")}, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "nats_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def wait_listening(proc: subprocess.Popen) -> str:
    line = proc.stderr.readline()
    assert line.startswith("Listening on"), line + proc.stderr.read()
    return line


def test_sub_prints_messages_with_headers_and_stops_after_count(orders):
    proc = spawn(orders, "sub", "ORDERS.*", "other", "--count", "3")
    try:
        assert wait_listening(proc) == "Listening on [ORDERS.*, other]\n"
        orders("pub ORDERS.processed 'order 3'").ok()
        orders("pub ORDERS.new 'order 4' -H Team:ops").ok()
        orders("pub other x --reply answer.here").ok()
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out == dedent("""\
        [#1] Received on ORDERS.processed
        order 3

        [#2] Received on ORDERS.new
        Team: ops

        order 4

        [#3] Received on other with reply answer.here
        x

        """)


def test_sub_reads_a_push_consumer(orders):
    for i in (1, 2, 3):
        orders(f"pub ORDERS.processed 'order {i}' -J").ok()
    orders(
        "con add ORDERS MONITOR --ack none --target monitor.ORDERS --deliver last --replay instant "
        "--filter ''"
    ).ok()
    proc = spawn(orders, "sub", "monitor.ORDERS", "--count", "2", "--raw")
    try:
        wait_listening(proc)
        orders("pub ORDERS.processed 'order 4'").ok()
        out, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert out == "order 3\norder 4\n"


def test_account_info(orders):
    orders(
        "con add ORDERS DISPATCH --filter ORDERS.processed --ack explicit --pull --deliver all "
        "--max-deliver 20"
    ).ok()
    orders("pub ORDERS.processed hello -J").ok()
    assert orders("account info").ok().out == dedent("""\
        Account Information

        JetStream Account Information:

             Memory: 0 B of unlimited
            Storage: 51 B of unlimited
            Streams: 1 of unlimited
          Consumers: 1 of unlimited
        """)
    info = json.loads(orders("a info -j").ok().out)
    assert (info["streams"], info["consumers"], info["limits"]["max_streams"]) == (1, 1, -1)
