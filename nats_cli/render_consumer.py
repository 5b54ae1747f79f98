"""Pure rendering of consumers: `consumer info` / `--state` blocks and the `consumer ls` table.

Split from render.py (which owns the block layout and value formats); no I/O, no rich.
"""

from __future__ import annotations

import datetime as _dt

from nats_cli.render import (
    Row,
    Section,
    Table,
    cluster_rows,
    format_ago,
    format_time,
    kv_block,
    parse_time,
    yes_no,
)
from nats_cli.units import format_duration, format_int, format_size

_DELIVER = {"all": "All", "last": "Last", "new": "New", "last_per_subject": "Last Per Subject"}


def deliver_policy(cfg: dict) -> str:
    policy = cfg.get("deliver_policy", "all")
    if policy == "by_start_sequence":
        return f"From Sequence {cfg.get('opt_start_seq')}"
    if policy == "by_start_time":
        return f"Since {format_time(cfg.get('opt_start_time'))}"
    return _DELIVER.get(policy, policy)


def consumer_config_rows(cfg: dict) -> list[Row]:
    rows: list[Row] = []
    if cfg.get("durable_name"):
        rows.append(("Durable Name", cfg["durable_name"]))
    elif cfg.get("name"):
        rows.append(("Name", cfg["name"]))
    if cfg.get("description"):
        rows.append(("Description", cfg["description"]))
    if cfg.get("deliver_subject"):
        rows.append(("Delivery Subject", cfg["deliver_subject"]))
    else:
        rows.append(("Pull Mode", "true"))
    if cfg.get("filter_subject"):
        rows.append(("Filter Subject", cfg["filter_subject"]))
    if cfg.get("filter_subjects"):
        rows.append(("Filter Subjects", ", ".join(cfg["filter_subjects"])))
    rows.append(("Deliver Policy", deliver_policy(cfg)))
    if cfg.get("deliver_group"):
        rows.append(("Deliver Queue Group", cfg["deliver_group"]))
    ack = cfg.get("ack_policy", "none")
    rows.append(("Ack Policy", ack))
    if ack != "none" and cfg.get("ack_wait"):
        rows.append(("Ack Wait", format_duration(cfg["ack_wait"])))
    rows.append(("Replay Policy", cfg.get("replay_policy", "instant")))
    if (cfg.get("max_deliver") or 0) > 0:
        rows.append(("Maximum Deliveries", format_int(cfg["max_deliver"])))
    if cfg.get("sample_freq"):
        rows.append(("Sampling Rate", str(cfg["sample_freq"]).rstrip("%")))
    if cfg.get("rate_limit_bps"):
        rows.append(("Rate Limit", f"{format_size(cfg['rate_limit_bps'])} / second"))
    if (cfg.get("max_ack_pending") or 0) > 0:
        rows.append(("Max Ack Pending", format_int(cfg["max_ack_pending"])))
    if not cfg.get("deliver_subject") and (cfg.get("max_waiting") or 0) > 0:
        rows.append(("Max Waiting Pulls", format_int(cfg["max_waiting"])))
    if cfg.get("idle_heartbeat"):
        rows.append(("Idle Heartbeat", format_duration(cfg["idle_heartbeat"])))
    if cfg.get("flow_control"):
        rows.append(("Flow Control", "true"))
    if cfg.get("headers_only"):
        rows.append(("Headers Only", "true"))
    if cfg.get("inactive_threshold"):
        rows.append(("Inactive Threshold", format_duration(cfg["inactive_threshold"])))
    if cfg.get("max_batch"):
        rows.append(("Max Pull Batch", format_int(cfg["max_batch"])))
    if cfg.get("max_expires"):
        rows.append(("Max Pull Expire", format_duration(cfg["max_expires"])))
    if cfg.get("backoff"):
        rows.append(("Backoff", ", ".join(format_duration(b) for b in cfg["backoff"])))
    if cfg.get("mem_storage"):
        rows.append(("Memory Storage", "true"))
    if cfg.get("num_replicas"):
        rows.append(("Replicas", str(cfg["num_replicas"])))
    return rows


_PRIORITY = {"overflow": "Overflow", "pinned_client": "Pinned Client", "prioritized": "Prioritized"}


def _remaining(ns: int | None) -> str:
    """The time left of a pause, to the second (as natscli rounds it)."""
    second = 1_000_000_000
    return format_duration((max(0, ns or 0) + second // 2) // second * second)


def pause_and_priority_rows(info: dict) -> list[Row]:
    """The Configuration rows natscli puts last: the pause deadline and the priority groups."""
    cfg = info.get("config") or {}
    rows: list[Row] = []
    if info.get("paused"):
        left = _remaining(info.get("pause_remaining"))
        rows.append(("Paused Until Deadline", f"{format_time(cfg.get('pause_until'))} ({left} remaining)"))
    elif parse_time(cfg.get("pause_until")):
        rows.append(("Paused Until Deadline", f"{format_time(cfg['pause_until'])} (passed)"))
    policy = cfg.get("priority_policy") or "none"
    if policy != "none":
        rows.append(("Priority Policy", _PRIORITY.get(policy, policy)))
        rows.append(("Priority Groups", ", ".join(cfg.get("priority_groups") or [])))
        if policy == "pinned_client":
            rows.append(("Pinned TTL", format_duration(cfg.get("priority_timeout") or 0)))
    return rows


def paused_line(stream: str, name: str, reply: dict) -> str:
    """What `consumer pause` says, from the pause reply."""
    until = format_time(reply.get("pause_until"))
    return f"Paused {stream} > {name} until {until} ({_remaining(reply.get('pause_remaining'))})"


def _seqs(point: dict | None) -> str:
    point = point or {}
    consumer, stream = format_int(point.get("consumer_seq")), format_int(point.get("stream_seq"))
    return f"Consumer sequence: {consumer} Stream sequence: {stream}"


def consumer_state_rows(info: dict) -> list[Row]:
    cfg = info.get("config") or {}
    rows: list[Row] = [
        ("Last Delivered Message", _seqs(info.get("delivered"))),
        ("Acknowledgment floor", _seqs(info.get("ack_floor"))),
        ("Pending Messages", format_int(info.get("num_ack_pending"))),
        ("Redelivered Messages", format_int(info.get("num_redelivered"))),
        ("Unprocessed Messages", format_int(info.get("num_pending"))),
    ]
    if cfg.get("deliver_subject"):
        rows.append(("Active Interest", yes_no(info.get("push_bound"))))
    else:
        max_waiting = cfg.get("max_waiting") or 0
        of = f"of maximum {format_int(max_waiting)}" if max_waiting > 0 else "of unlimited"
        rows.append(("Waiting Pulls", f"{format_int(info.get('num_waiting'))} {of}"))
    if info.get("paused"):
        rows.append(("Paused Until", _paused_until(info)))
    if cfg.get("priority_policy") == "pinned_client":
        rows += _pinned_rows(info.get("priority_groups") or [])
    return rows


def _paused_until(info: dict) -> str:
    """The end of the pause by the server's clock (its `ts`), as natscli shows it."""
    now = parse_time(info.get("ts")) or _dt.datetime.now(_dt.UTC)
    left = info.get("pause_remaining") or 0
    until = now + _dt.timedelta(microseconds=left // 1000)
    return f"{format_time(until.isoformat())} ({_remaining(left)} remaining)"


def _pinned_rows(groups: list[dict]) -> list[Row]:
    """One `group: pinned ID at TIME` (or `No client`) line per group, the label on the first."""
    width = max((len(g["group"]) for g in groups), default=0)
    rows: list[Row] = []
    for g in sorted(groups, key=lambda g: g["group"]):
        state = "No client"
        if g.get("pinned_client_id"):
            state = f"pinned {g['pinned_client_id']} at {format_time(g.get('pinned_ts'))}"
        rows.append(("" if rows else "Priority Groups", f"{g['group'].rjust(width)}: {state}"))
    return rows


def consumer_info(info: dict) -> str:
    cfg = info.get("config") or {}
    name = info.get("name") or cfg.get("durable_name") or cfg.get("name", "")
    heading = f"Information for Consumer {info.get('stream_name', '')} > {name}"
    if parse_time(info.get("created")):
        heading += f" created {format_time(info['created'])}"
    sections: list[Section] = [("Configuration", consumer_config_rows(cfg) + pause_and_priority_rows(info))]
    meta = {k: v for k, v in (cfg.get("metadata") or {}).items() if not k.startswith("_nats")}
    if meta:
        sections.append(("Metadata", sorted(meta.items())))
    sections.append(("Cluster Information", cluster_rows(info.get("cluster"), "Raft Group")))
    sections.append(("State", consumer_state_rows(info)))
    return kv_block(heading, sections)


def consumer_state(info: dict) -> str:
    heading = f"State for Consumer {info.get('stream_name', '')} > {info.get('name', '')}"
    return kv_block(heading, [("State", consumer_state_rows(info))])


def consumers_table(stream: str, infos: list[dict], now: _dt.datetime | None = None) -> Table:
    t = Table(
        f"Consumers for Stream {stream}",
        ["Name", "Mode", "Ack Pending", "Unprocessed", "Last Delivery"],
        right={2, 3},
    )
    for info in sorted(infos, key=lambda i: i["name"]):
        cfg = info.get("config") or {}
        delivered = info.get("delivered") or {}
        t.rows.append(
            [
                info["name"],
                "Push" if cfg.get("deliver_subject") else "Pull",
                format_int(info.get("num_ack_pending")),
                format_int(info.get("num_pending")),
                format_ago(delivered.get("last_active"), now) if delivered.get("last_active") else "never",
            ]
        )
    return t
