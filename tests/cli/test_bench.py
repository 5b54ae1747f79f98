"""`pynats bench`: every mode on both servers with small counts; the JSON summary's shape and counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PYNATS = os.path.join(os.path.dirname(sys.executable), "pynats")
SUMMARY_KEYS = ["mode", "subject", "clients", "size", "msgs", "bytes", "seconds", "msgs_per_sec",
                "bytes_per_sec", "per_client", "latency", "warnings"]  # fmt: skip
CLIENT_KEYS = ["client", "msgs", "seconds", "msgs_per_sec", "bytes_per_sec"]
LATENCY_KEYS = ["operation", "unit", "count", "min", "mean", "max", "stddev", "p50", "p90", "p99", "p99_9"]


def summary(run, mode: str, msgs: int, size: int = 128, clients: int = 1, **extra) -> dict:
    """The JSON summary, checked for its shape and totals."""
    doc = json.loads(run.ok().out)
    assert list(doc) == SUMMARY_KEYS[:2] + list(extra) + SUMMARY_KEYS[2:]
    assert {k: doc[k] for k in extra} == extra
    assert (doc["mode"], doc["msgs"], doc["size"], doc["clients"]) == (mode, msgs, size, clients)
    assert doc["bytes"] == msgs * size
    assert doc["seconds"] > 0 and doc["msgs_per_sec"] > 0
    assert doc["bytes_per_sec"] == pytest.approx(doc["msgs_per_sec"] * size, rel=1e-3)
    assert [list(c) for c in doc["per_client"]] == [CLIENT_KEYS] * clients
    assert [c["client"] for c in doc["per_client"]] == list(range(1, clients + 1))
    assert sum(c["msgs"] for c in doc["per_client"]) == msgs
    latency = doc["latency"]
    if latency is not None:
        assert list(latency) == LATENCY_KEYS and latency["unit"] == "us"
        assert latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    return doc


def test_core_pub(pynats):
    doc = summary(pynats("bench pub bench.core --msgs 2500 --clients 2 -j"), "pub", 2500, clients=2)
    assert [c["msgs"] for c in doc["per_client"]] == [1250, 1250]
    assert doc["latency"] is None and doc["warnings"] == []


def test_core_sub_receives_what_pub_sends_with_end_to_end_latency(pynats, server, config_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env.update(NATS_URL=server.url, XDG_CONFIG_HOME=config_home, NO_COLOR="1")
    sub = subprocess.Popen([PYNATS, "bench", "sub", "bench.core", "--msgs", "1000", "--clients", "2", "-j"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert sub.stderr.readline().startswith(
            "Starting Core NATS subscriber benchmark [clients=2, msgs=1000"
        )
        assert sub.stderr.readline() == "Waiting for 1,000 messages on bench.core per subscriber\n"
        summary(pynats("bench pub bench.core --msgs 1000 --size 64 -j"), "pub", 1000, size=64)
        out, err = sub.communicate(timeout=60)
    finally:
        sub.kill()
    assert sub.returncode == 0, err
    doc = json.loads(out)
    assert (doc["mode"], doc["msgs"], doc["size"]) == ("sub", 2000, 128)  # each subscriber got them all
    assert [c["msgs"] for c in doc["per_client"]] == [1000, 1000]
    assert doc["latency"]["operation"] == "message, end to end"
    assert doc["latency"]["count"] == 20  # one message in 100 carries its send time, for each subscriber


def test_js_pub_then_pull_then_push(pynats):
    run = pynats("bench js pub bench.js --msgs 300 --clients 3 --batch 10 -j")
    doc = summary(run, "js pub", 300, clients=3, stream="benchstream")
    assert run.err.startswith("Created stream benchstream (file) on bench.js\n")
    assert doc["latency"]["operation"] == "publish ack" and doc["latency"]["count"] == 300
    info = json.loads(pynats("str info benchstream -j").ok().out)
    assert (info["config"]["subjects"], info["state"]["messages"]) == (["bench.js"], 300)

    run = pynats("bench js pull bench.js --msgs 300 --clients 2 --batch 50 -j")
    consumer = json.loads(run.ok().out)["consumer"]
    assert consumer.startswith("pynats-bench-")
    doc = summary(run, "js pull", 300, clients=2, stream="benchstream", consumer=consumer)
    assert doc["latency"]["operation"] == "fetch of up to 50" and doc["latency"]["count"] == 6

    run = pynats("bench js push bench.js --msgs 300 --clients 2 -j")
    consumer = json.loads(run.ok().out)["consumer"]
    doc = summary(run, "js push", 300, clients=2, stream="benchstream", consumer=consumer)
    assert doc["latency"] is None
    assert pynats("con ls benchstream -n").ok().out == ""  # the consumers were for the run only


def test_js_pub_purge_memory_storage_and_text_output(pynats):
    run = pynats("bench js pub bench.mem --stream MEM --storage memory --msgs 50 --size 1KiB").ok()
    assert run.out.startswith("js pub on bench.mem: 50 msgs of 1.0 KiB in ")
    assert "  latency per publish ack (µs, 50 samples): min " in run.out
    assert json.loads(pynats("str info MEM -j").ok().out)["config"]["storage"] == "memory"
    run = pynats("bench js pub bench.mem --stream MEM --purge --msgs 20 -j")
    summary(run, "js pub", 20, stream="MEM")
    assert "Purged stream MEM\n" in run.err
    assert json.loads(pynats("str info MEM -j").ok().out)["state"]["messages"] == 20


def test_consumers_stop_with_a_warning_when_the_stream_runs_dry(pynats):
    pynats("bench js pub bench.js --msgs 30 -j").ok()
    run = pynats("--timeout 1s bench js pull bench.js --msgs 50 --batch 20 -j")
    doc = json.loads(run.ok().out)
    assert doc["msgs"] == 30 and doc["warnings"] == [
        "a fetch of 20 returned 10: the stream has no more messages"
    ]
    assert "pynats: warning: a fetch of 20 returned 10" in run.err
    run = pynats("--timeout 1s bench js push bench.js --msgs 50 -j")
    doc = json.loads(run.ok().out)
    assert doc["msgs"] == 30 and doc["warnings"] == ["received 30 of 50 messages: nothing more for 1s"]


def test_errors(pynats):
    run = pynats("bench js pull bench.none --stream NOPE --msgs 5").fails()
    assert run.err == "pynats: error: stream NOPE not found: fill it first with `pynats bench js pub`\n"
    pynats("str add OTHER --subjects other.> --defaults").ok()
    run = pynats("bench js pub bench.x --stream OTHER --msgs 5").fails()
    assert (
        run.err
        == "pynats: error: stream OTHER does not listen on bench.x: pick another --stream or subject\n"
    )
    run = pynats("bench pub x --size lots")
    assert run.code == 2 and "Invalid value for '--size'" in run.err
    run = pynats("bench pub x --msgs 0")
    assert run.code == 2 and "--msgs" in run.err


def test_statistics_and_stamps():
    from nats_cli import benchstats

    assert [benchstats.percentile(list(range(1, 101)), p) for p in (50, 90, 99, 99.9)] == [50, 90, 99, 100]
    stats = benchstats.latency_stats([1000, 2000, 3000, 4000], "op")
    assert stats == {"operation": "op", "unit": "us", "count": 4, "min": 1.0, "mean": 2.5, "max": 4.0,
                     "stddev": 1.1, "p50": 2.0, "p90": 4.0, "p99": 4.0, "p99_9": 4.0}  # fmt: skip
    assert benchstats.latency_stats([], "op") is None
    body = benchstats.payload(16)
    assert benchstats.stamp_age(body) is None
    stamped = benchstats.stamped(body)
    assert len(stamped) == 16 and 0 <= benchstats.stamp_age(stamped) < 10**9
    assert benchstats.stamp_age(stamped[:8]) is None
