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
    return rows


def consumer_info(info: dict) -> str:
    cfg = info.get("config") or {}
    name = info.get("name") or cfg.get("durable_name") or cfg.get("name", "")
    heading = f"Information for Consumer {info.get('stream_name', '')} > {name}"
    if parse_time(info.get("created")):
        heading += f" created {format_time(info['created'])}"
    sections: list[Section] = [("Configuration", consumer_config_rows(cfg))]
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
