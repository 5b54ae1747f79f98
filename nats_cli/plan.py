"""Declarative configuration: a folder of stream and consumer JSON files, compared with a server.

Pure apart from reading the folder: `load_folder` turns files into `Desired` resources (checked
against our JSON Schemas, errors naming the file); `plan` compares them with the server's current
configurations and returns `Step`s; `render` turns a plan into text. The commands in
`commands/apply.py` fetch the current state, show the plan and carry it out.

A file manages the fields it sets: a field left out keeps the server's value, at every level of
nesting (`metadata` and lists are compared whole). A field the server leaves out equals its zero
value (false, 0, "", [], {}), as nats-server omits empty fields. So the output of `str info -j` or
`con info -j` matches its own server exactly, and a bare `{"name": "ORDERS", "subjects": [...]}`
manages just those two fields.

Imports the standard library, `schemas`, `nats_cli.errors` and `nats_cli.stream_config`; no I/O
besides reading files.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats_cli.errors import CliError
from nats_cli.stream_config import schema_errors, strip_system_metadata

STREAM_TYPE = "stream_configuration"
CONSUMER_TYPE = "consumer_configuration"
# streams that belong to Key-Value buckets and Object Stores are never pruned
PRUNE_SPARES = ("KV_", "OBJ_")

Check = Callable[[Any, Any], bool]


def _changed(old: Any, new: Any) -> bool:
    return not same(new, old)


def _switched_off(old: Any, new: Any) -> bool:
    return bool(old) and not new


def _push_pull(old: Any, new: Any) -> bool:
    return bool(old) != bool(new)


def _workqueue(old: Any, new: Any) -> bool:
    return old != new and "workqueue" in (old, new)


# Changes an update may not make, in nats-server's words (stream.go configUpdateCheck).
STREAM_IMMUTABLE: dict[str, tuple[Check, str]] = {
    "storage": (_changed, "stream configuration update can not change storage type"),
    "retention": (
        _workqueue,
        "stream configuration update can not change retention policy to/from workqueue",
    ),
    "sealed": (_switched_off, "stream configuration update can not unseal a sealed stream"),
    "deny_delete": (_switched_off, "stream configuration update can not cancel deny message deletes"),
    "deny_purge": (_switched_off, "stream configuration update can not cancel deny purge"),
    "mirror": (_changed, "stream mirror configuration can not be updated"),
    "allow_msg_ttl": (_switched_off, "message TTL status can not be disabled"),
    "allow_msg_counter": (_changed, "stream configuration update can not change message counter setting"),
    "allow_msg_schedules": (_switched_off, "message schedules can not be disabled"),
    "persist_mode": (_changed, "stream configuration update can not change persist mode"),
}
# ... and for consumers (consumer.go checkNewConsumerConfig).
CONSUMER_IMMUTABLE: dict[str, tuple[Check, str]] = {
    "deliver_policy": (_changed, "deliver policy can not be updated"),
    "mem_storage": (_changed, "storage type can not be updated"),
    "direct": (_changed, "direct can not be updated"),
    "sourcing": (_changed, "sourcing can not be updated"),
    "opt_start_seq": (_changed, "start sequence can not be updated"),
    "opt_start_time": (_changed, "start time can not be updated"),
    "ack_policy": (_changed, "ack policy can not be updated"),
    "replay_policy": (_changed, "replay policy can not be updated"),
    "idle_heartbeat": (_changed, "heart beats can not be updated"),
    "flow_control": (_changed, "flow control can not be updated"),
    "deliver_subject": (
        lambda old, new: bool(old) != bool(new),
        "can not update pull consumer to push based",
    ),
    "max_waiting": (_changed, "max waiting can not be updated"),
}


@dataclass
class Desired:
    """One stream or consumer as a file describes it."""

    kind: str  # "stream" or "consumer"
    stream: str
    name: str  # the stream's name, or the consumer's durable name
    config: dict
    path: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.stream, self.name)


@dataclass
class Step:
    """What applying the folder does to one stream or consumer."""

    action: str  # create, update, unchanged, blocked, delete, unmanaged
    kind: str
    stream: str
    name: str
    path: str = ""
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, server, file)
    problems: dict[str, str] = field(default_factory=dict)  # field ("" for none) -> why it cannot be
    config: dict = field(default_factory=dict)  # what to send for create/update

    @property
    def label(self) -> str:
        return f"Stream {self.name}" if self.kind == "stream" else f"Consumer {self.stream} > {self.name}"

    def to_json(self) -> dict:
        out: dict[str, Any] = {"action": self.action, "kind": self.kind, "stream": self.stream}
        if self.kind == "consumer":
            out["consumer"] = self.name
        if self.path:
            out["file"] = self.path
        if self.changes:
            out["changes"] = [{"field": f, "server": old, "file": new} for f, old, new in self.changes]
        if self.problems:
            out["problems"] = [{"field": f, "reason": why} for f, why in self.problems.items()]
        return out


# -- reading the folder ---------------------------------------------------------------------------


@functools.cache
def _only_keys() -> tuple[frozenset[str], frozenset[str]]:
    """(stream-only, consumer-only) configuration keys, from our schemas."""
    import schemas

    stream = set(schemas.load(STREAM_TYPE)["properties"])
    consumer = set(schemas.load(CONSUMER_TYPE)["properties"])
    return frozenset(stream - consumer), frozenset(consumer - stream)


def classify(doc: Any, rel: Path, path: str) -> Desired:
    """A stream or consumer from one file's JSON: `info -j` output, `{stream_name, config}`, or bare."""
    if not isinstance(doc, dict):
        raise CliError(f"{path}: expected a JSON object")
    stream_only, consumer_only = _only_keys()
    stream_name = doc.get("stream_name")
    if isinstance(doc.get("config"), dict):
        cfg = doc["config"]
        is_consumer = stream_name is not None
    else:
        cfg = doc
        is_consumer = bool(consumer_only & cfg.keys())
        if is_consumer and stream_only & cfg.keys():
            mixed = ", ".join(sorted(stream_only & cfg.keys()))
            raise CliError(f"{path}: mixes consumer settings with stream settings ({mixed})")
        if "stream_name" in cfg:
            cfg = {k: v for k, v in cfg.items() if k != "stream_name"}
        else:
            stream_name = rel.parent.name if len(rel.parts) > 1 else None
    cfg = strip_system_metadata(dict(cfg))
    if not is_consumer:
        if not isinstance(cfg.get("name"), str) or not cfg["name"]:
            raise CliError(f"{path}: a stream configuration needs a name")
        return Desired("stream", cfg["name"], cfg["name"], cfg, path)
    if not isinstance(stream_name, str) or not stream_name:
        raise CliError(
            f"{path}: which stream is this consumer on? Use the `con info -j` shape "
            '({"stream_name": ..., "config": ...}) or put the file in a folder named after the stream'
        )
    durable = cfg.get("durable_name")
    if not isinstance(durable, str) or not durable:
        raise CliError(f"{path}: only durable consumers can be applied: set durable_name")
    if cfg.get("name") not in (None, durable):
        raise CliError(f"{path}: name {cfg['name']!r} and durable_name {durable!r} differ")
    filters = cfg.get("filter_subjects")
    if isinstance(filters, list) and len(filters) == 1 and not cfg.get("filter_subject"):
        # the servers keep a single filter as filter_subject
        cfg = {k: v for k, v in cfg.items() if k != "filter_subjects"} | {"filter_subject": filters[0]}
    return Desired("consumer", stream_name, durable, cfg, path)


def load_folder(folder: str) -> list[Desired]:
    """Every `*.json` under `folder` (subfolders too, hidden ones skipped), checked against the schemas.

    Raises FolderError with one line per problem, each naming its file: unreadable JSON, an
    unknown field, a schema mismatch, a stream or consumer defined twice.
    """

    root = Path(folder)
    files = sorted(
        p for p in root.rglob("*.json") if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not files:
        raise CliError(f"{folder} holds no .json files")
    problems: list[str] = []
    found: dict[tuple[str, str, str], Desired] = {}
    out: list[Desired] = []
    for p in files:
        path = str(p)
        try:
            doc = json.loads(p.read_text())
            desired = classify(doc, p.relative_to(root), path)
        except OSError as e:
            problems.append(f"{path}: cannot read: {e.strerror}")
            continue
        except ValueError as e:
            problems.append(f"{path}: not valid JSON: {e}")
            continue
        except CliError as e:
            problems.append(str(e))
            continue
        type_name = STREAM_TYPE if desired.kind == "stream" else CONSUMER_TYPE
        errors = schema_errors(type_name, desired.config)
        if errors:
            problems += [f"{path}: not a valid {desired.kind} configuration: {e}" for e in errors]
            continue
        if desired.key in found:
            what = "Stream" if desired.kind == "stream" else f"Consumer {desired.stream} >"
            problems.append(f"{path}: {what} {desired.name} is also defined in {found[desired.key].path}")
            continue
        found[desired.key] = desired
        out.append(desired)
    if problems:
        raise FolderError(problems)
    return out


class FolderError(CliError):
    """Files that cannot be applied; `problems` has one line each, naming the file."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(problems[-1])


# -- comparing ----------------------------------------------------------------------------------


def _zero(value: Any) -> bool:
    return value is None or value in (False, 0, "") or value == [] or value == {}


def same(want: Any, have: Any) -> bool:
    """Does the server's `have` satisfy the file's `want`? Dicts: the keys `want` sets."""
    if have is None or want is None:
        return _zero(want) and _zero(have)
    if isinstance(want, dict) and isinstance(have, dict):
        return all(same(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list) and isinstance(have, list):
        return len(want) == len(have) and all(same(w, h) for w, h in zip(want, have, strict=True))
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    return want == have


def changes(want: dict, have: dict) -> list[tuple[str, Any, Any]]:
    """(field, server value, file value) for each top-level field the file sets differently."""
    out = []
    for key in sorted(want):
        if key == "metadata":
            if (want[key] or {}) != (have.get(key) or {}):
                out.append((key, have.get(key), want[key]))
        elif not same(want[key], have.get(key)):
            out.append((key, have.get(key), want[key]))
    return out


def merge(have: dict, want: dict) -> dict:
    """`have` with every field `want` sets, nested dicts merged the same way (metadata replaced)."""
    out = dict(have)
    for key, value in want.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "metadata":
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _problems(rules: dict[str, tuple[Check, str]], diff: list[tuple[str, Any, Any]]) -> dict[str, str]:
    out = {}
    for key, old, new in diff:
        if key in rules and rules[key][0](old, new):
            text = rules[key][1]
            if key == "deliver_subject" and not new:
                text = "can not update push consumer to pull based"
            out[key] = text
    return out


def compare(desired: Desired, current: dict | None) -> Step:
    """The step for one file: create, update, unchanged, or blocked (an immutable field changes)."""
    step = Step("create", desired.kind, desired.stream, desired.name, desired.path, config=desired.config)
    if current is None:
        return step
    have = strip_system_metadata(dict(current))
    step.changes = changes(desired.config, have)
    if not step.changes:
        step.action = "unchanged"
        return step
    rules = STREAM_IMMUTABLE if desired.kind == "stream" else CONSUMER_IMMUTABLE
    step.problems = _problems(rules, step.changes)
    step.action = "blocked" if step.problems else "update"
    step.config = merge(have, desired.config)
    return step


def plan(
    desired: list[Desired],
    streams: dict[str, dict],
    consumers: dict[str, dict[str, dict]],
    prune: bool,
) -> list[Step]:
    """Steps for the folder against the server's `streams` {name: config} and `consumers`
    {stream: {name: config}} (fetched for the folder's streams that exist). Without `prune`,
    what the folder does not mention is `unmanaged`; with it, `delete`. Ephemeral consumers and
    Key-Value/Object Store streams are never deleted.
    """
    steps = []
    defined = {d.stream for d in desired if d.kind == "stream"}
    for d in desired:
        current = streams.get(d.name) if d.kind == "stream" else consumers.get(d.stream, {}).get(d.name)
        step = compare(d, current)
        if d.kind == "consumer" and d.stream not in streams and d.stream not in defined:
            step.action = "blocked"
            step.problems[""] = f"stream {d.stream} does not exist and no file in the folder defines it"
        steps.append(step)
    extra = "delete" if prune else "unmanaged"
    named = {d.key for d in desired}
    mentioned = {d.stream for d in desired}  # streams with a file, or with consumers in one
    for name in sorted(streams):
        if name not in mentioned and not name.startswith(PRUNE_SPARES):
            steps.append(Step(extra, "stream", name, name))
    for stream in sorted(consumers):
        for name, cfg in sorted(consumers[stream].items()):
            if ("consumer", stream, name) not in named and cfg.get("durable_name"):
                steps.append(Step(extra, "consumer", stream, name))
    return sorted(steps, key=lambda s: (s.stream, s.kind != "stream", s.name))  # consumers under streams


def pending(steps: list[Step]) -> list[Step]:
    """The steps that change the server, in the order to carry them out: deletions of consumers,
    then of streams, then streams created or updated, then consumers."""

    def rank(step: Step) -> int:
        if step.action == "delete":
            return 0 if step.kind == "consumer" else 1
        return 2 if step.kind == "stream" else 3

    return sorted((s for s in steps if s.action in ("create", "update", "delete")), key=rank)


# -- showing ------------------------------------------------------------------------------------

MARKS = {"create": "+", "update": "~", "delete": "-", "unchanged": "=", "blocked": "!", "unmanaged": "?"}
_NOTES = {
    "create": "create",
    "update": "update",
    "delete": "delete: not in the folder",
    "unchanged": "unchanged",
    "blocked": "cannot be updated",
    "unmanaged": "not in the folder, kept (--prune deletes it)",
}


def _value(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value, separators=(", ", ": "))


def render(steps: list[Step]) -> str:
    """The plan as text: one line per stream or consumer, changed fields indented below."""
    lines = []
    for step in steps:
        source = f" [{step.path}]" if step.path else ""
        lines.append(f"{MARKS[step.action]} {step.label}: {_NOTES[step.action]}{source}")
        for key, old, new in step.changes:
            why = f"  ({step.problems[key]})" if key in step.problems else ""
            lines.append(f"    {key}: {_value(old)} -> {_value(new)}{why}")
        if "" in step.problems:
            lines.append(f"    {step.problems['']}")
    lines.append(summary(steps))
    return "\n".join(lines)


def summary(steps: list[Step]) -> str:
    words = {
        "create": "to create",
        "update": "to update",
        "delete": "to delete",
        "unchanged": "unchanged",
        "blocked": "cannot be updated",
        "unmanaged": "not in the folder",
    }
    counts = {action: sum(1 for s in steps if s.action == action) for action in words}
    return "Plan: " + ", ".join(f"{n} {words[a]}" for a, n in counts.items() if n)
