"""Mirrors and sources of interest and workqueue origins, on both servers: nats-server reads such
an origin through durable consumers it shows (`JS_MIRROR_<hash>`, `JS_SRC_<hash>`, ack policy
`flow_control`, `sourcing: true`) whose acks remove what was copied (it acks on the flow control
reply, up to a second later; devserver at once, so every check polls)."""

from __future__ import annotations

import pytest

from devserver.jetstream.sourcing import short_hash
from schemas import subjects as S
from tests.jetstream.conftest import Clocked, JetStreamHelper, wait_for
from tests.jetstream.test_stream_sourcing import connect, filled, messages, source_fields

pytestmark = pytest.mark.timeout(90)

MIRROR_M = "JS_MIRROR_" + short_hash("M $G")  # hash of "<stream> <account>"
SOURCE_S = "JS_SRC_" + short_hash(short_hash("S $G"))  # hashed again for a source


@pytest.fixture
async def js(server):
    helper = await connect(server)
    yield helper
    await helper.nc.close()


async def consumers(js: JetStreamHelper, stream: str) -> dict[str, dict]:
    return {c["name"]: c for c in (await js.ok(S.consumer_list(stream)))["consumers"]}


async def linked(js: JetStreamHelper, stream: str, names: set[str], timeout: float = 5.0) -> dict[str, dict]:
    """The origin's consumers once exactly `names` are there and the sourcing ones bound."""

    async def bound():
        found = await consumers(js, stream)
        sourcing = [c for c in found.values() if c["config"].get("sourcing")]
        return found if set(found) == names and all(c.get("push_bound") for c in sourcing) else None

    found = await wait_for(bound, timeout)
    assert found is not None, await consumers(js, stream)
    return found


async def drained(js: JetStreamHelper, stream: str, first_seq: int, timeout: float = 5.0) -> None:
    async def empty():
        state = await js.state(stream)
        return (state["messages"], state["first_seq"]) == (0, first_seq)

    assert await wait_for(empty, timeout), await js.state(stream)


async def mirror_and_source(js: JetStreamHelper, retention: str) -> None:
    await js.create("O", subjects=["o.>"], retention=retention)
    await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
    await js.ok(S.stream_create("S"), {"name": "S", "sources": [{"name": "O"}]})


@pytest.mark.parametrize("retention", ["workqueue", "interest"])
async def test_interest_and_workqueue_origins_hand_copied_messages_over(js, retention):
    """Devserver used to copy without a consumer: a workqueue origin kept every message and an
    interest origin, seeing no interest, stored nothing, leaving its mirror and sources empty."""
    await mirror_and_source(js, retention)
    found = await linked(js, "O", {MIRROR_M, SOURCE_S})
    assert (await js.state("O"))["consumer_count"] == 2
    assert (await js.ok(S.consumer_names("O")))["consumers"] == [MIRROR_M, SOURCE_S]
    for name, kind, stream, prefix in ((MIRROR_M, "mirror", "M", "$JS.M."), (SOURCE_S, "src", "S", "$JS.S.")):
        config = found[name]["config"]
        assert config.pop("deliver_subject").startswith(prefix)
        assert config == {
            "durable_name": name,
            "name": name,
            "deliver_policy": "all",
            "ack_policy": "flow_control",
            "max_deliver": -1,
            "replay_policy": "instant",
            "max_ack_pending": 1000,
            "flow_control": True,
            "idle_heartbeat": 1_000_000_000,
            "num_replicas": 0,
            "sourcing": True,
            "metadata": {f"_nats.{kind}.acc": "$G", f"_nats.{kind}.stream": stream, "_nats.req.level": "4"},
        }
    for _ in range(3):
        await js.stored("o.a")
    await filled(js, "M", 3)
    await filled(js, "S", 3)
    await drained(js, "O", 4)

    async def acked():
        infos = [await js.ok(S.consumer_info("O", name)) for name in (MIRROR_M, SOURCE_S)]
        floors = [(i["ack_floor"]["stream_seq"], i["num_ack_pending"], i["num_pending"]) for i in infos]
        return floors == [(3, 0, 0), (3, 0, 0)]

    assert await wait_for(acked)


async def test_limits_origin_shows_no_consumers(js):
    await js.create("O", subjects=["o.>"])
    await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
    await js.stored("o.a")
    await filled(js, "M", 1)
    assert (await js.ok(S.consumer_names("O")))["consumers"] == []
    assert (await js.state("O"))["messages"] == 1


async def test_deleting_the_mirror_and_removing_the_source_delete_their_consumers(js):
    """Each gone follower's consumer goes, what only it held goes with it, and an interest
    origin without followers keeps nothing; a filtered source's consumer filters too."""
    await js.create("O", subjects=["o.>"], retention="interest")
    await js.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "O"}})
    await js.ok(S.stream_create("S"), {"name": "S", "sources": [{"name": "O", "filter_subject": "o.a"}]})
    found = await linked(js, "O", {MIRROR_M, SOURCE_S})
    assert found[SOURCE_S]["config"]["filter_subject"] == "o.a"
    for subject in ("o.a", "o.b", "o.a", "o.b"):
        await js.stored(subject)
    await filled(js, "M", 4)
    await filled(js, "S", 2)
    await drained(js, "O", 5)

    await js.ok(S.stream_delete("M"))
    await linked(js, "O", {SOURCE_S})
    await js.stored("o.b")  # nobody wants it
    await js.stored("o.a")
    await filled(js, "S", 3)
    await drained(js, "O", 7)

    await js.ok(S.stream_update("S"), {"name": "S", "sources": []})
    await linked(js, "O", set())
    await js.stored("o.a")
    assert (await js.state("O"))["messages"] == 0
    assert [source_fields(m)[1] for m in await messages(js, "S")] == ["1", "3", "6"]


async def test_workqueue_origin_rules_leave_sourcing_consumers_out(js):
    """A source does not count as a workqueue consumer nor against max_consumers."""
    await js.create("W", subjects=["w.>"], retention="workqueue", max_consumers=1)
    for _ in range(3):
        await js.stored("w.a")
    await js.ok(S.stream_create("S"), {"name": "S", "sources": [{"name": "W"}]})
    await linked(js, "W", {SOURCE_S})
    await filled(js, "S", 3)
    await drained(js, "W", 4)
    user = {"durable_name": "user", "ack_policy": "explicit", "filter_subject": "w.b"}
    await js.ok(S.consumer_durable_create("W", "user"), {"stream_name": "W", "config": user})
    assert (await js.state("W"))["consumer_count"] == 2
    other = {"durable_name": "other", "ack_policy": "explicit"}
    await js.fails(
        S.consumer_durable_create("W", "other"),
        {"stream_name": "W", "config": other},
        "JSMaximumConsumersLimitErr",
    )


async def test_restart_keeps_copying_without_duplicates_or_losses(server):
    """The consumers are durable: the origin keeps what is published before the links are back
    (nats-server relinks about 10 s after its start)."""
    js = await connect(server)
    try:
        await mirror_and_source(js, "interest")
        await linked(js, "O", {MIRROR_M, SOURCE_S})
        for i in range(3):
            await js.stored("o.a", f"m{i}".encode())
        await filled(js, "M", 3)
        await filled(js, "S", 3)
        await drained(js, "O", 4)
    finally:
        await js.nc.close()

    server.restart()
    js = await connect(server)
    try:
        assert set(await consumers(js, "O")) == {MIRROR_M, SOURCE_S}
        for i in range(3, 5):
            await js.stored("o.a", f"m{i}".encode())
        await filled(js, "M", 5, timeout=30)
        await filled(js, "S", 5, timeout=30)
        await drained(js, "O", 6)
        assert [m["data"] for m in await messages(js, "M")] == [f"m{i}" for i in range(5)]
        assert [source_fields(m)[1] for m in await messages(js, "S")] == ["1", "2", "3", "4", "5"]
    finally:
        await js.nc.close()


async def test_a_deleted_sourcing_consumer_comes_back(clocked: Clocked):
    """A client may delete it; the link's health check notices the silence and sets it up again,
    from where the copy stopped: 10-20 s after the delete, by the check's phase (nats-server
    2.15.1, by hand: 12 s)."""
    js = clocked.js
    await mirror_and_source(js, "interest")

    async def bound():
        found = await consumers(js, "O")
        return len(found) == 2 and all(c.get("push_bound") for c in found.values())

    await clocked.until(bound, 3)
    await js.stored("o.a")
    await js.ok(S.consumer_delete("O", SOURCE_S))
    assert set(await consumers(js, "O")) == {MIRROR_M}
    waited = await clocked.until(bound, 30)
    assert 10 <= waited <= 25
    await js.stored("o.a")
    await clocked.until(lambda: _has(js, "S", 2), 3)
    assert [source_fields(m)[1] for m in await messages(js, "S")] == ["1", "2"]
    await clocked.until(lambda: _empty(js, "O"), 3)


async def _has(js: JetStreamHelper, stream: str, last_seq: int) -> bool:
    return (await js.state(stream))["last_seq"] >= last_seq


async def _empty(js: JetStreamHelper, stream: str) -> bool:
    return (await js.state(stream))["messages"] == 0


async def test_kill_right_after_the_copies_neither_duplicates_nor_strands(make_server):
    """Killed before the sourcing consumers' acks reached the disk, while a client's consumer
    still holds the messages: the next setup finds the copies there and acks them (nats-server
    redelivers from the ack floor and the follower skips what it has), so once the client acks
    too the origin drains."""
    server = make_server(proc=True)
    js = await connect(server)
    try:
        await mirror_and_source(js, "interest")
        user = {"durable_name": "user", "ack_policy": "explicit"}
        await js.ok(S.consumer_durable_create("O", "user"), {"stream_name": "O", "config": user})
        await linked(js, "O", {MIRROR_M, SOURCE_S, "user"})
        for i in range(3):
            await js.stored("o.a", f"m{i}".encode())
        await filled(js, "M", 3)
        await filled(js, "S", 3)
    finally:
        await js.nc.close()
    server.kill()

    server.start()
    js = await connect(server)
    try:
        await linked(js, "O", {MIRROR_M, SOURCE_S, "user"}, timeout=30)
        pull = await js.nc.jetstream().pull_subscribe_bind("user", "O")
        for msg in await pull.fetch(3):
            await msg.ack_sync()
        await drained(js, "O", 4)
        await js.stored("o.a", b"m3")
        await filled(js, "M", 4)
        await filled(js, "S", 4)
        assert [m["data"] for m in await messages(js, "M")] == [f"m{i}" for i in range(4)]
        assert [source_fields(m)[1] for m in await messages(js, "S")] == ["1", "2", "3", "4"]
    finally:
        await js.nc.close()
