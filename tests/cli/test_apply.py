"""`pynats apply DIR` and `pynats diff DIR`: plans, updates, immutable changes, --prune; both servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HOUR = 3_600_000_000_000
YEAR = 365 * 24 * HOUR


def write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    return path


def config_of(pynats, *names: str) -> dict:
    kind = "str" if len(names) == 1 else "con"
    return json.loads(pynats(kind, "info", *names, "-j").ok().out)["config"]


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "desired"
    path.mkdir()
    return path


def seed(pynats) -> None:
    """ORDERS with a pull and a push consumer, and EVENTS, made by the other commands."""
    pynats("str add ORDERS --subjects ORDERS.* --max-age 1y --metadata team=shop --defaults").ok()
    pynats("str add EVENTS --subjects events.> --storage memory --max-msgs 1000 --defaults").ok()
    pynats("con add ORDERS DISPATCH --pull --filter ORDERS.new --max-deliver 20 --defaults").ok()
    pynats("con add ORDERS MONITOR --target monitor.orders --defaults").ok()


def export(pynats, folder: Path) -> None:
    """What a user would do: `str info -j` and `con info -j` into files."""
    for name in ("ORDERS", "EVENTS"):
        (folder / f"{name.lower()}.json").write_text(pynats(f"str info {name} -j").ok().out)
    for name in ("DISPATCH", "MONITOR"):
        (folder / f"orders-{name.lower()}.json").write_text(pynats(f"con info ORDERS {name} -j").ok().out)


def test_info_json_round_trips_to_no_differences(pynats, folder):
    seed(pynats)
    export(pynats, folder)
    run = pynats("diff", str(folder)).ok()
    assert run.out == (
        f"= Stream EVENTS: unchanged [{folder}/events.json]\n"
        f"= Stream ORDERS: unchanged [{folder}/orders.json]\n"
        f"= Consumer ORDERS > DISPATCH: unchanged [{folder}/orders-dispatch.json]\n"
        f"= Consumer ORDERS > MONITOR: unchanged [{folder}/orders-monitor.json]\n"
        "Plan: 4 unchanged\n"
    )
    assert pynats("apply", str(folder)).ok().err == f"Nothing to do: the server matches {folder}\n"


def test_apply_creates_from_bare_configs_then_reports_nothing_to_do(pynats, folder):
    write(folder / "orders.json", {"name": "ORDERS", "subjects": ["ORDERS.*"], "max_age": HOUR})
    dispatch = {"durable_name": "DISPATCH", "ack_policy": "explicit", "filter_subjects": ["ORDERS.new"]}
    write(folder / "ORDERS" / "dispatch.json", dispatch | {"max_deliver": 5})
    write(folder / "audit.json", {"stream_name": "ORDERS", "config": {"durable_name": "AUDIT"}})
    run = pynats("diff", str(folder)).fails(1)
    assert run.out == (
        f"+ Stream ORDERS: create [{folder}/orders.json]\n"
        f"+ Consumer ORDERS > AUDIT: create [{folder}/audit.json]\n"
        f"+ Consumer ORDERS > DISPATCH: create [{folder}/ORDERS/dispatch.json]\n"
        "Plan: 3 to create\n"
    )
    run = pynats("apply", str(folder), "-f").ok()
    assert run.out.endswith("Plan: 3 to create\n")
    assert run.err == (
        "Stream ORDERS was created\n"
        "Consumer ORDERS > AUDIT was created\n"
        "Consumer ORDERS > DISPATCH was created\n"
        "Applied 3 changes\n"
    )
    cfg = config_of(pynats, "ORDERS", "DISPATCH")
    assert (cfg["filter_subject"], cfg["max_deliver"], cfg["ack_policy"]) == ("ORDERS.new", 5, "explicit")
    assert config_of(pynats, "ORDERS")["max_age"] == HOUR
    assert pynats("diff", str(folder)).ok().out.endswith("Plan: 3 unchanged\n")


def test_update_of_mutable_fields_shows_the_field_diff(pynats, folder):
    seed(pynats)
    export(pynats, folder)
    doc = json.loads((folder / "orders.json").read_text())
    doc["config"].update(max_msgs=500, description="all orders", metadata={"team": "sales"})
    write(folder / "orders.json", doc)
    doc = json.loads((folder / "orders-dispatch.json").read_text())
    doc["config"]["max_deliver"] = 3
    write(folder / "orders-dispatch.json", doc)
    run = pynats("diff", str(folder)).fails(1)
    assert run.out == (
        f"= Stream EVENTS: unchanged [{folder}/events.json]\n"
        f"~ Stream ORDERS: update [{folder}/orders.json]\n"
        '    description: (unset) -> "all orders"\n'
        "    max_msgs: -1 -> 500\n"
        '    metadata: {"team": "shop"} -> {"team": "sales"}\n'
        f"~ Consumer ORDERS > DISPATCH: update [{folder}/orders-dispatch.json]\n"
        "    max_deliver: 20 -> 3\n"
        f"= Consumer ORDERS > MONITOR: unchanged [{folder}/orders-monitor.json]\n"
        "Plan: 2 to update, 2 unchanged\n"
    )
    plan = json.loads(pynats("diff", str(folder), "-j").fails(1).out)
    assert plan[1] == {
        "action": "update", "kind": "stream", "stream": "ORDERS", "file": f"{folder}/orders.json",
        "changes": [
            {"field": "description", "server": None, "file": "all orders"},
            {"field": "max_msgs", "server": -1, "file": 500},
            {"field": "metadata", "server": {"team": "shop"}, "file": {"team": "sales"}},
        ],
    }  # fmt: skip
    assert [step["action"] for step in plan] == ["unchanged", "update", "update", "unchanged"]
    run = pynats("apply", str(folder), "-f").ok()
    assert run.err == "Stream ORDERS was updated\nConsumer ORDERS > DISPATCH was updated\nApplied 2 changes\n"
    cfg = config_of(pynats, "ORDERS")
    assert (cfg["max_msgs"], cfg["description"], cfg["max_age"]) == (500, "all orders", YEAR)
    assert cfg["metadata"]["team"] == "sales"
    assert config_of(pynats, "ORDERS", "DISPATCH")["max_deliver"] == 3
    assert pynats("diff", str(folder)).ok().out.endswith("Plan: 4 unchanged\n")


def test_a_partial_file_manages_only_its_fields(pynats, folder):
    seed(pynats)
    write(folder / "orders.json", {"name": "ORDERS", "max_msgs": 10})
    run = pynats("apply", str(folder), "-f").ok()
    assert "    max_msgs: -1 -> 10\n" in run.out
    cfg = config_of(pynats, "ORDERS")
    assert (cfg["max_msgs"], cfg["subjects"], cfg["max_age"]) == (10, ["ORDERS.*"], YEAR)


def test_immutable_changes_stop_the_plan_before_anything_changes(pynats, folder):
    seed(pynats)
    export(pynats, folder)
    doc = json.loads((folder / "events.json").read_text())
    doc["config"].update(storage="file", max_msgs=5)
    write(folder / "events.json", doc)
    doc = json.loads((folder / "orders-dispatch.json").read_text())
    doc["config"]["ack_policy"] = "all"
    write(folder / "orders-dispatch.json", doc)
    doc = json.loads((folder / "orders-monitor.json").read_text())
    doc["config"].pop("deliver_subject")
    write(folder / "orders-monitor.json", doc)
    run = pynats("diff", str(folder)).fails(1)
    assert run.out == (
        f"! Stream EVENTS: cannot be updated [{folder}/events.json]\n"
        "    max_msgs: 1000 -> 5\n"
        '    storage: "memory" -> "file"  (stream configuration update can not change storage type)\n'
        f"= Stream ORDERS: unchanged [{folder}/orders.json]\n"
        f"! Consumer ORDERS > DISPATCH: cannot be updated [{folder}/orders-dispatch.json]\n"
        '    ack_policy: "explicit" -> "all"  (ack policy can not be updated)\n'
        f"= Consumer ORDERS > MONITOR: unchanged [{folder}/orders-monitor.json]\n"
        "Plan: 2 unchanged, 2 cannot be updated\n"
    )
    run = pynats("apply", str(folder), "-f").fails()
    assert run.err == (
        "pynats: error: the server cannot make these changes: Stream EVENTS, Consumer ORDERS > DISPATCH; "
        "nothing was changed (to change such settings, delete and re-create the stream or consumer)\n"
    )
    assert config_of(pynats, "EVENTS")["max_msgs"] == 1000


def test_push_to_pull_is_reported(pynats, folder):
    seed(pynats)
    doc = json.loads(pynats("con info ORDERS MONITOR -j").ok().out)
    doc["config"]["deliver_subject"] = ""
    write(folder / "monitor.json", doc)
    run = pynats("diff", str(folder)).fails(1)
    assert (
        '    deliver_subject: "monitor.orders" -> ""  (can not update push consumer to pull based)\n'
        in run.out
    )


def test_what_the_server_refuses_is_named_with_its_file(pynats, folder):
    pynats("str add ORDERS --subjects ORDERS.* --defaults").ok()
    write(folder / "clash.json", {"name": "CLASH", "subjects": ["ORDERS.*"]})
    run = pynats("apply", str(folder), "-f").fails()
    assert run.err.startswith(f"pynats: error: Stream CLASH [{folder}/clash.json]: subjects overlap")
    assert run.err.endswith("; 0 of 1 changes were made\n")


def test_prune_deletes_what_the_folder_does_not_define(pynats, folder):
    seed(pynats)
    pynats("str add KV_settings --subjects $KV.settings.> --defaults").ok()
    (folder / "orders.json").write_text(pynats("str info ORDERS -j").ok().out)
    (folder / "dispatch.json").write_text(pynats("con info ORDERS DISPATCH -j").ok().out)
    run = pynats("diff", str(folder)).ok()  # without --prune the rest is only listed
    assert run.out == (
        "? Stream EVENTS: not in the folder, kept (--prune deletes it)\n"
        f"= Stream ORDERS: unchanged [{folder}/orders.json]\n"
        f"= Consumer ORDERS > DISPATCH: unchanged [{folder}/dispatch.json]\n"
        "? Consumer ORDERS > MONITOR: not in the folder, kept (--prune deletes it)\n"
        "Plan: 2 unchanged, 2 not in the folder\n"
    )
    run = pynats("diff", str(folder), "--prune").fails(1)
    assert run.out == (
        "- Stream EVENTS: delete: not in the folder\n"
        f"= Stream ORDERS: unchanged [{folder}/orders.json]\n"
        f"= Consumer ORDERS > DISPATCH: unchanged [{folder}/dispatch.json]\n"
        "- Consumer ORDERS > MONITOR: delete: not in the folder\n"
        "Plan: 2 to delete, 2 unchanged\n"
    )
    run = pynats("apply", str(folder), "--prune").fails()  # no terminal to ask, no -f
    assert "pass -f/--force" in run.err
    run = pynats("apply", str(folder), "--prune", "-f").ok()
    assert run.err == (
        "Consumer ORDERS > MONITOR was deleted\nStream EVENTS was deleted\nApplied 2 changes\n"
    )
    assert pynats("str ls -n").ok().out == "KV_settings\nORDERS\n"  # Key-Value streams are kept
    assert pynats("con ls ORDERS -n").ok().out == "DISPATCH\n"
    assert pynats("diff", str(folder), "--prune").ok()


def test_consumers_on_a_stream_nobody_defines(pynats, folder):
    write(folder / "NOPE" / "c.json", {"durable_name": "C"})
    run = pynats("diff", str(folder)).fails(1)
    assert run.out == (
        f"! Consumer NOPE > C: cannot be updated [{folder}/NOPE/c.json]\n"
        "    stream NOPE does not exist and no file in the folder defines it\n"
        "Plan: 1 cannot be updated\n"
    )


# -- files that cannot be applied (checked before connecting) --------------------------------------


@pytest.mark.parametrize(
    "name, doc, message",
    [
        ("bad.json", "{nope", "bad.json: not valid JSON: Expecting property name enclosed in double quotes"),
        ("list.json", [], "list.json: expected a JSON object"),
        ("s.json", {"name": "S", "max_age": "1d"},
         "s.json: not a valid stream configuration: max_age: '1d' is not of type 'integer'"),
        ("s.json", {"name": "S", "max_agee": 1},
         's.json: not a valid stream configuration: unknown field "max_agee"'),
        ("s.json", {"subjects": ["a"]}, "s.json: a stream configuration needs a name"),
        ("c.json", {"durable_name": "C", "ack_policy": "sometimes"},
         "c.json: which stream is this consumer on?"),
        ("S/c.json", {"durable_name": "C", "ack_policy": "sometimes"},
         "c.json: not a valid consumer configuration: ack_policy: 'sometimes' is not one of"),
        ("S/c.json", {"ack_policy": "none"},
         "c.json: only durable consumers can be applied: set durable_name"),
        ("S/c.json", {"durable_name": "C", "subjects": ["x"]},
         "c.json: mixes consumer settings with stream settings (subjects)"),
    ],
)  # fmt: skip
def test_bad_files_are_named(pynats_offline, folder, name, doc, message):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    run = pynats_offline("diff", str(folder)).fails()
    assert run.err.startswith(f"pynats: error: {path.parent}/"), run.err
    assert message in run.err
    assert pynats_offline("apply", str(folder), "-f").fails().err == run.err


def test_every_problem_is_listed_and_duplicates_are_found(pynats_offline, folder):
    write(folder / "a.json", {"name": "S", "subjects": ["s"]})
    write(folder / "b.json", {"config": {"name": "S"}})
    write(folder / "c.json", {"name": "T", "retention": "forever"})
    write(folder / ".hidden" / "x.json", {"nonsense": True})
    run = pynats_offline("diff", str(folder)).fails()
    assert run.err == (
        f"pynats: error: {folder}/b.json: Stream S is also defined in {folder}/a.json\n"
        f"pynats: error: {folder}/c.json: not a valid stream configuration: "
        "retention: 'forever' is not one of ['limits', 'interest', 'workqueue']\n"
    )


def test_an_empty_folder_or_a_missing_one(pynats_offline, folder):
    assert (
        pynats_offline("diff", str(folder)).fails().err == f"pynats: error: {folder} holds no .json files\n"
    )
    run = pynats_offline("apply", str(folder / "missing"))
    assert run.code == 2 and "does not exist" in run.err


def test_mirrors_and_sources_round_trip(pynats, folder):
    pynats("str add ORDERS --subjects ORDERS.* --defaults").ok()
    pynats("str add COPY --mirror ORDERS --defaults").ok()
    pynats("str add EVENTS --subjects events.> --defaults").ok()
    pynats("str add ALL --source ORDERS --source EVENTS --defaults").ok()
    for name in ("ORDERS", "COPY", "EVENTS", "ALL"):
        (folder / f"{name}.json").write_text(pynats(f"str info {name} -j").ok().out)
    assert pynats("diff", str(folder), "--prune").ok().out.endswith("Plan: 4 unchanged\n")
    doc = json.loads((folder / "ALL.json").read_text())
    doc["config"]["sources"] = [{"name": "ORDERS"}]
    write(folder / "ALL.json", doc)
    run = pynats("apply", str(folder), "-f").ok()
    assert '    sources: [{"name": "ORDERS"}, {"name": "EVENTS"}] -> [{"name": "ORDERS"}]\n' in run.out
    assert [s["name"] for s in config_of(pynats, "ALL")["sources"]] == ["ORDERS"]


def test_apply_asks_at_a_terminal(server, folder, config_home, pynats):
    from tests.cli.test_interactive import Tty

    write(folder / "orders.json", {"name": "ORDERS", "subjects": ["ORDERS.*"]})
    t = Tty(server, config_home, "apply", str(folder))
    t.expect("+ Stream ORDERS: create")
    t.confirm(f"Really apply 1 change to {server.url}", False)
    assert t.finish()[0] == 0
    assert pynats("str ls -n").ok().out == ""
    t = Tty(server, config_home, "apply", str(folder))
    t.confirm("Really apply 1 change", True)
    code, out = t.finish()
    assert code == 0 and "Stream ORDERS was created" in out and "Applied 1 change" in out
    assert pynats("str ls -n").ok().out == "ORDERS\n"
