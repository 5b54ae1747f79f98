"""`pynats backup DIR [--data]` and `pynats restore DIR [--update-streams]`: the seed's flow, both servers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re

import nats
import pytest

from schemas import subjects as S
from tests.cli.backup_support import consumers, fill_orders, fresh_server, messages, stable, stream_config
from tests.cli.test_stream import SEED_ADD

CLOCK = re.compile(r"^\d\d:\d\d:\d\d ", re.MULTILINE)


def lines(text: str) -> list[str]:
    """Log lines without their HH:MM:SS prefix (every line must have one)."""
    out = text.splitlines()
    assert all(CLOCK.match(line) for line in out), text
    return [CLOCK.sub("", line) for line in out]


@pytest.fixture
def second(server, tmp_path, config_home):
    with fresh_server(server.kind, tmp_path, config_home) as pair:
        yield pair


@pytest.fixture
def seed(pynats):
    pynats(SEED_ADD).ok()
    pynats("con add ORDERS NEW --filter ORDERS.received --ack explicit --pull --deliver all --max-deliver=-1 "
           "--sample 100 --defaults").ok()  # fmt: skip
    return pynats


def test_the_seeds_backup_and_restore_update_streams(seed, tmp_path):
    target = tmp_path / "js-backup"
    run = seed(f"backup {target}").ok()
    assert run.out == ""
    assert lines(run.err) == [
        f"Creating JetStream backup into {target}",
        f"Stream ORDERS to {target}/stream_ORDERS.json",
        f"Consumer ORDERS > NEW to {target}/stream_ORDERS_consumer_NEW.json",
        "Configuration backup complete",
    ]
    assert sorted(os.listdir(target)) == ["stream_ORDERS.json", "stream_ORDERS_consumer_NEW.json"]

    run = seed(f"restore {target} --update-streams").ok()
    assert lines(run.err) == [
        f"Reading file {target}/stream_ORDERS.json",
        f"Reading file {target}/stream_ORDERS_consumer_NEW.json",
        "Updating Stream ORDERS configuration",
        "Restoring Consumer ORDERS > NEW",
    ]


def test_files_are_natscli_backup_data(seed, tmp_path):
    seed(f"backup {tmp_path / 'b'}").ok()
    for path, kind in (("stream_ORDERS.json", "stream"), ("stream_ORDERS_consumer_NEW.json", "consumer")):
        data = json.loads((tmp_path / "b" / path).read_text())
        assert sorted(data) == ["checksum", "configuration", "time", "type"]
        assert data["type"] == kind
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["time"])
        raw = base64.b64decode(data["configuration"])
        assert hashlib.sha256(raw).hexdigest() == data["checksum"]
        config = json.loads(raw)
        if kind == "stream":
            assert stable(config) == stream_config(seed, "ORDERS")
        else:
            assert (config["name"], config["stream"]) == ("NEW", "ORDERS")
            assert stable(config["config"]) == consumers(seed, "ORDERS")["NEW"]["config"]


def test_restore_into_a_fresh_server(seed, second, tmp_path):
    seed("con add ORDERS DISPATCH --pull --filter ORDERS.processed --defaults").ok()
    seed("str add OTHER --subjects other.* --storage memory --defaults").ok()
    seed(f"backup {tmp_path / 'b'}").ok()
    _, cli = second
    run = cli(f"restore {tmp_path / 'b'}").ok()
    assert [line for line in lines(run.err) if not line.startswith("Reading file")] == [
        "Restoring Stream ORDERS",
        "Restoring Stream OTHER",
        "Restoring Consumer ORDERS > DISPATCH",
        "Restoring Consumer ORDERS > NEW",
    ]
    for name in ("ORDERS", "OTHER"):
        assert stream_config(cli, name) == stream_config(seed, name)
    assert {k: v["config"] for k, v in consumers(cli, "ORDERS").items()} == {
        k: v["config"] for k, v in consumers(seed, "ORDERS").items()
    }


def test_existing_streams_need_update_streams_which_puts_the_backup_back(seed, tmp_path):
    seed(f"backup {tmp_path / 'b'}").ok()
    run = seed(f"restore {tmp_path / 'b'}").fails()
    assert run.err.endswith("pynats: error: Stream ORDERS exists and --update-streams was not given\n")
    seed("str edit ORDERS --max-msgs 10 --description changed -f").ok()
    seed(f"restore {tmp_path / 'b'} --update-streams").ok()
    cfg = stream_config(seed, "ORDERS")
    assert (cfg["max_msgs"], cfg.get("description")) == (-1, None)


def test_a_changed_file_fails_its_checksum(seed, tmp_path):
    seed(f"backup {tmp_path / 'b'}").ok()
    path = tmp_path / "b" / "stream_ORDERS.json"
    data = json.loads(path.read_text())
    cfg = json.loads(base64.b64decode(data["configuration"]))
    cfg["max_msgs"] = 5
    data["configuration"] = base64.b64encode(json.dumps(cfg).encode()).decode()
    path.write_text(json.dumps(data))
    run = seed(f"restore {tmp_path / 'b'} --update-streams").fails()
    assert run.err.endswith(f"pynats: error: data checksum failed for {path}\n")
    path.write_text("{}")
    assert "is not a pynats/natscli backup file" in seed(f"restore {tmp_path / 'b'}").fails().err


def test_data_and_ephemeral_consumers(server, pynats, second, tmp_path):
    fill_orders(pynats)

    async def ephemeral() -> str:
        nc = await nats.connect(server.url)
        body = {
            "stream_name": "ORDERS",
            "config": {"ack_policy": "explicit", "inactive_threshold": 60_000_000_000},
        }
        reply = json.loads((await nc.request(S.consumer_create("ORDERS"), json.dumps(body).encode())).data)
        await nc.close()
        return reply["name"]

    name = asyncio.run(ephemeral())
    target = tmp_path / "b"
    run = pynats(f"backup {target} --data").ok()
    got = lines(run.err)
    assert f"Consumer ORDERS > {name} skipped" in got
    data_line = next(line for line in got if line.startswith("Stream ORDERS data to "))
    assert re.fullmatch(rf"Stream ORDERS data to {target}/stream_ORDERS: \S+ \S+ in 1 chunks", data_line)
    assert sorted(os.listdir(target / "stream_ORDERS")) == ["backup.json", "stream.tar.s2"]
    assert not (target / f"stream_ORDERS_consumer_{name}.json").exists()

    other, cli = second
    cli(f"str restore {target / 'stream_ORDERS'}").ok()
    assert messages(other.url, "ORDERS") == messages(server.url, "ORDERS")
    run = cli(f"restore {target} --update-streams").ok()  # configuration again, over the restored data
    assert lines(run.err)[-4:] == [
        "Updating Stream ORDERS configuration",
        "Restoring Consumer ORDERS > DISPATCH",
        "Restoring Consumer ORDERS > MONITOR",
        "Restoring Consumer ORDERS > NEW",
    ]


def test_backup_wants_a_new_or_empty_directory(seed, tmp_path):
    (tmp_path / "empty").mkdir()
    seed(f"backup {tmp_path / 'empty'}").ok()
    run = seed(f"backup {tmp_path / 'empty'}").fails()
    assert run.err == f"pynats: error: {tmp_path / 'empty'} already exists: choose a new or empty directory\n"
    (tmp_path / "file").write_text("x")
    assert seed(f"backup {tmp_path / 'file'}").fails().code == 1
    assert seed(f"restore {tmp_path / 'missing'}").fails(2).err.endswith("does not exist.\n")


def test_stream_templates_are_backed_up_and_restored(server, pynats, second, tmp_path):
    if server.is_real:
        pytest.skip("nats-server 2.15 has no stream templates (removed from nats-server)")
    pynats("str template add CLIENTS --subjects CLIENT.* --max-streams 10 --defaults").ok()
    pynats("pub CLIENT.acme hello").ok()
    managed = pynats("str ls -n").ok().out.split()
    assert len(managed) == 1
    target = tmp_path / "b"
    got = lines(pynats(f"backup {target}").ok().err)
    assert got[1] == f"Stream Template CLIENTS to {target}/stream_template_CLIENTS.json"
    _, cli = second
    got = lines(cli(f"restore {target}").ok().err)
    assert got[-2:] == ["Restoring Stream Template CLIENTS", f"Skipping Template managed Stream {managed[0]}"]
    assert cli("str template ls -n").ok().out == "CLIENTS\n"
    assert cli("str ls -n").ok().out == ""
