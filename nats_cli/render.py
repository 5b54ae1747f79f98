"""Pure rendering: API JSON -> human text blocks and table specs. No I/O, no rich.

Key/value blocks follow the seed's layout: a heading line, then titled sections whose labels
are right-aligned against a colon. Tables come back as `Table` values that terminal.py draws.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field

from nats_cli.units import format_duration, format_int, format_size

Row = tuple[str, str]
Section = tuple[str | None, list[Row]]

ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass
class Table:
    """A table for terminal.py to draw: title, column headers, rows of cells, right-aligned columns."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    right: set[int] = field(default_factory=set)  # right-aligned column indexes


def kv_block(heading: str | None, sections: list[Section]) -> str:
    """Seed-style block: heading, blank line, then `Title:` sections of right-aligned labels.

    A section titled "" continues the one before after a blank line; None adds no blank line.
    """
    labels = [label for _, rows in sections for label, _ in rows]
    width = max((len(label) for label in labels), default=0)
    lines: list[str] = []
    if heading:
        lines += [heading, ""]
    for title, rows in sections:
        if not rows:
            continue
        if title is not None and lines and lines[-1] != "":
            lines.append("")
        if title:
            lines += [f"{title}:", ""]
        for label, value in rows:
            lines.append(f"  {label.rjust(width)}: {value}" if label else f"  {' ' * width}  {value}")
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines)


def to_json(obj: object) -> str:
    """The server's JSON as it came (key order kept), indented; `-j` output."""
    return json.dumps(obj, indent=2, ensure_ascii=False)


def without_envelope(reply: dict) -> dict:
    return {k: v for k, v in reply.items() if k != "type"}


# values -------------------------------------------------------------------------------------


def parse_time(value: str | None) -> _dt.datetime | None:
    """RFC 3339 with up to nanoseconds; None for missing or Go's zero time."""
    if not value or value.startswith("0001-01-01"):
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def format_time(value: str | None) -> str:
    t = parse_time(value)
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S") if t else "never"


def format_ago(value: str | None, now: _dt.datetime | None = None) -> str:
    t = parse_time(value)
    if t is None:
        return "never"
    now = now or _dt.datetime.now(_dt.UTC)
    seconds = max(0.0, (now - t).total_seconds())
    return compact_duration(int(seconds * 1e9))


def compact_duration(ns: int) -> str:
    """Short human age: 306µs, 512ms, 12.34s, 5m3s, 2h0m0s, 1d2h3m4s, 1y3d0h0m0s."""
    if ns < 1_000_000_000:
        unit = 1_000_000 if ns >= 1_000_000 else 1_000 if ns >= 1_000 else 1
        return format_duration(ns - ns % unit)
    secs = ns / 1e9
    if secs < 60:
        return f"{secs:.2f}s"
    s = int(secs)
    years, s = divmod(s, 365 * 86400)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if years:
        return f"{years}y{days}d{hours}h{minutes}m{s}s"
    if days:
        return f"{days}d{hours}h{minutes}m{s}s"
    if hours:
        return f"{hours}h{minutes}m{s}s"
    return f"{minutes}m{s}s"


def limit(value: int | None, fmt=format_int) -> str:
    """-1 (or missing) reads as unlimited."""
    if value is None or value < 0:
        return "unlimited"
    return fmt(value)


def yes_no(flag: object) -> str:
    return "true" if flag else "false"


def title_word(value: str | None) -> str:
    return {"workqueue": "Work Queue", "limits": "Limits", "interest": "Interest"}.get(
        value or "", (value or "").replace("_", " ").title()
    )


# streams ------------------------------------------------------------------------------------


def stream_config_rows(cfg: dict) -> list[Row]:
    rows: list[Row] = []
    if cfg.get("description"):
        rows.append(("Description", cfg["description"]))
    if cfg.get("subjects"):
        rows.append(("Subjects", ", ".join(cfg["subjects"])))
    rows.append(("Acknowledgements", yes_no(not cfg.get("no_ack"))))
    rows.append(
        (
            "Retention",
            f"{title_word(cfg.get('storage', 'file'))} - {title_word(cfg.get('retention', 'limits'))}",
        )
    )
    rows.append(("Replicas", str(cfg.get("num_replicas", 1))))
    discard = title_word(cfg.get("discard", "old"))
    if cfg.get("discard_new_per_subject"):
        discard += " Per Subject"
    rows.append(("Discard Policy", discard))
    rows.append(("Duplicate Window", format_duration(cfg.get("duplicate_window", 0))))
    if cfg.get("compression") and cfg["compression"] != "none":
        rows.append(("Compression", cfg["compression"]))
    if cfg.get("sealed"):
        rows.append(("Sealed", "true"))
    rows.append(("Allows Msg Delete", yes_no(not cfg.get("deny_delete"))))
    rows.append(("Allows Purge", yes_no(not cfg.get("deny_purge"))))
    rows.append(("Allows Rollups", yes_no(cfg.get("allow_rollup_hdrs"))))
    if cfg.get("allow_msg_ttl"):
        rows.append(("Allows Per-Message TTL", "true"))
    rows.append(("Maximum Messages", limit(cfg.get("max_msgs"))))
    rows.append(("Maximum Per Subject", limit(cfg.get("max_msgs_per_subject"))))
    rows.append(("Maximum Bytes", limit(cfg.get("max_bytes"), format_size)))
    age = cfg.get("max_age") or 0
    rows.append(("Maximum Age", format_duration(age) if age > 0 else "unlimited"))
    rows.append(("Maximum Message Size", limit(cfg.get("max_msg_size"), format_size)))
    rows.append(("Maximum Consumers", limit(cfg.get("max_consumers"))))
    if (cfg.get("first_seq") or 0) > 1:
        rows.append(("First Sequence", format_int(cfg["first_seq"])))
    return rows


def cluster_rows(cluster: dict | None, group_label: str) -> list[Row]:
    """natscli's Cluster Information: Name, the RAFT group, Leader, one Replica row per follower.

    Empty for a server that is not in a cluster (its replies name only the leader).
    """
    if not cluster or not cluster.get("name"):
        return []
    rows: list[Row] = [("Name", cluster["name"])]
    if cluster.get("raft_group"):
        rows.append((group_label, cluster["raft_group"]))
    leader = cluster.get("leader") or "none"
    if cluster.get("leader") and parse_time(cluster.get("leader_since")):
        leader += f" (since {format_time(cluster['leader_since'])})"
    rows.append(("Leader", leader))
    for peer in sorted(cluster.get("replicas") or [], key=lambda r: r.get("name", "")):
        words = [peer.get("name", ""), "current" if peer.get("current") else "outdated"]
        if peer.get("offline"):
            words.append("OFFLINE")
        active = peer.get("active") or 0
        words.append(f"seen {compact_duration(active)} ago" if active > 0 else "not seen")
        lag = peer.get("lag") or 0
        if lag > 0:
            words.append(f"{format_int(lag)} operation{'s' if lag != 1 else ''} behind")
        rows.append(("Replica", ", ".join(words)))
    return rows


def stream_state_rows(state: dict) -> list[Row]:
    rows: list[Row] = [
        ("Messages", format_int(state.get("messages"))),
        ("Bytes", format_size(state.get("bytes", 0))),
        ("FirstSeq", format_int(state.get("first_seq"))),
        ("LastSeq", format_int(state.get("last_seq"))),
    ]
    if state.get("num_deleted"):
        rows.append(("Deleted Messages", format_int(state["num_deleted"])))
    rows.append(("Active Consumers", format_int(state.get("consumer_count"))))
    return rows


def source_summary(source: dict) -> str:
    """One configured mirror or source, as natscli's Replication rows show it."""
    parts = [source.get("name", "")]
    if source.get("opt_start_seq"):
        parts.append(f"Start Seq: {format_int(source['opt_start_seq'])}")
    if parse_time(source.get("opt_start_time")):
        parts.append(f"Start Time: {format_time(source['opt_start_time'])}")
    external = source.get("external") or {}
    if external.get("api"):
        parts.append(f"API Prefix: {external['api']}")
    if external.get("deliver"):
        parts.append(f"Delivery Prefix: {external['deliver']}")
    consumer = source.get("consumer") or {}
    if consumer.get("name"):
        deliver = f" ({consumer['deliver_subject']})" if consumer.get("deliver_subject") else ""
        parts.append(f"Consumer Name: {consumer['name']}{deliver}")
    return ", ".join(parts)


def replication_rows(cfg: dict) -> list[Row]:
    """The Replication section of the configuration: the mirror, then the sources by name."""
    rows: list[Row] = []
    if cfg.get("mirror"):
        rows.append(("Mirror", source_summary(cfg["mirror"])))
    rows += [
        ("Sources" if i == 0 else "", source_summary(s)) for i, s in enumerate(_by_name(cfg.get("sources")))
    ]
    return rows


def _transform(t: dict) -> str:
    return f"{t.get('src', '')} to {t['dest']}" if t.get("dest") else f"{t.get('src', '')} untransformed"


def _last_seen(active: int | None) -> str:
    # the server sends -1 for a link that never made contact
    return compact_duration(active) if active and active > 0 else "never"


def source_info_rows(link: dict) -> list[Row]:
    """One mirror or source's progress from StreamInfo (`mirror` or an entry of `sources`)."""
    rows: list[Row] = [("Stream Name", link.get("name", ""))]
    transforms = link.get("subject_transforms") or []
    if link.get("filter_subject"):
        rows.append(("Subject Filter", link["filter_subject"]))
    elif transforms:
        label = "Subject Filters and Transforms" if len(transforms) > 1 else "Subject Filter and Transform"
        rows += [(label if i == 0 else "", _transform(t)) for i, t in enumerate(transforms)]
    rows.append(("Lag", format_int(link.get("lag"))))
    rows.append(("Last Seen", _last_seen(link.get("active"))))
    if "external" in link:
        external = link["external"] or {}
        rows.append(("Ext. API Prefix", external.get("api", "")))
        if external.get("deliver"):
            rows.append(("Ext. Delivery Prefix", external["deliver"]))
    if link.get("error"):
        rows.append(("Error", link["error"].get("description", "")))
    return rows


def _by_name(sources: list[dict] | None) -> list[dict]:
    # nats-server lists a stream's sources in no fixed order
    return sorted(sources or [], key=lambda s: s.get("name", ""))


def sourcing_sections(info: dict) -> list[Section]:
    """Mirror Information, then Source Information with the sources apart by blank lines."""
    sections: list[Section] = []
    if info.get("mirror"):
        sections.append(("Mirror Information", source_info_rows(info["mirror"])))
    for i, link in enumerate(_by_name(info.get("sources"))):
        sections.append(("Source Information" if i == 0 else "", source_info_rows(link)))
    return sections


def stream_info(info: dict) -> str:
    cfg = info.get("config") or {}
    heading = f"Information for Stream {cfg.get('name', '')}"
    if parse_time(info.get("created")):
        heading += f" created {format_time(info['created'])}"
    sections: list[Section] = [("Configuration", stream_config_rows(cfg))]
    meta = {k: v for k, v in (cfg.get("metadata") or {}).items() if not k.startswith("_nats")}
    if meta:
        sections.append(("Metadata", sorted(meta.items())))
    sections.append(("Replication", replication_rows(cfg)))
    sections.append(("Cluster Information", cluster_rows(info.get("cluster"), "Cluster Group")))
    sections += sourcing_sections(info)
    sections.append(("State", stream_state_rows(info.get("state") or {})))
    return kv_block(heading, sections)


def stream_state(info: dict) -> str:
    name = (info.get("config") or {}).get("name", "")
    sections = [*sourcing_sections(info), ("State", stream_state_rows(info.get("state") or {}))]
    return kv_block(f"State for Stream {name}", sections)


def streams_table(infos: list[dict], now: _dt.datetime | None = None) -> Table:
    t = Table("Streams", ["Name", "Subjects", "Messages", "Size", "Last Message"], right={2, 3})
    for info in sorted(infos, key=lambda i: i["config"]["name"]):
        cfg, state = info["config"], info.get("state") or {}
        last = format_ago(state.get("last_ts"), now) if state.get("last_seq") else "never"
        t.rows.append(
            [
                cfg["name"],
                ", ".join(cfg.get("subjects") or []),
                format_int(state.get("messages")),
                format_size(state.get("bytes", 0)),
                last,
            ]
        )
    return t


def stream_report(infos: list[dict]) -> Table:
    headers = ["Stream", "Storage", "Consumers", "Messages", "Bytes", "Deleted", "Replicas"]
    t = Table("Stream Report", headers, right={2, 3, 4, 5, 6})
    for info in sorted(infos, key=lambda i: (i.get("state") or {}).get("bytes", 0)):
        cfg, state = info["config"], info.get("state") or {}
        t.rows.append(
            [
                cfg["name"],
                title_word(cfg.get("storage")),
                format_int(state.get("consumer_count")),
                format_int(state.get("messages")),
                format_size(state.get("bytes", 0)),
                format_int(state.get("num_deleted")),
                str(cfg.get("num_replicas", 1)),
            ]
        )
    return t


def replication_report(infos: list[dict]) -> Table | None:
    """natscli's Replication Report: one row per mirror or source link; None when nothing replicates."""
    headers = [
        "Stream",
        "Kind",
        "API Prefix",
        "Source Stream",
        "Filters and Transforms",
        "Active",
        "Lag",
        "Error",
    ]
    t = Table("Replication Report", headers, right={5, 6})
    for info in sorted(infos, key=lambda i: (i.get("state") or {}).get("bytes", 0)):
        links = [("Mirror", info["mirror"])] if info.get("mirror") else []
        links += [("Source", link) for link in _by_name(info.get("sources"))]
        for kind, link in links:
            if link.get("subject_transforms"):
                filters = ", ".join(_transform(x) for x in link["subject_transforms"])
            else:
                filters = f"{link['filter_subject']} untransformed" if link.get("filter_subject") else ""
            t.rows.append(
                [
                    info["config"]["name"],
                    kind,
                    (link.get("external") or {}).get("api", ""),
                    link.get("name", ""),
                    filters,
                    _last_seen(link.get("active")),
                    format_int(link.get("lag")),
                    (link.get("error") or {}).get("description", ""),
                ]
            )
    return t if t.rows else None


def subjects_table(stream: str, subjects: dict[str, int]) -> Table:
    noun = "Subject" if len(subjects) == 1 else "Subjects"
    t = Table(f"{len(subjects):,} {noun} in stream {stream}", ["Subject", "Count"], right={1})
    for subj, count in sorted(subjects.items(), key=lambda kv: (-kv[1], kv[0])):
        t.rows.append([subj, format_int(count)])
    return t


def stored_message(stream: str, msg: dict, headers: dict[str, list[str]], body: bytes) -> str:
    received = format_time(msg.get("time"))
    lines = [f"Item: {stream}#{msg.get('seq')} received {received} on Subject {msg.get('subject')}"]
    if headers:
        lines += ["", "Headers:", ""]
        for name, values in headers.items():
            lines += [f"  {name}: {v}" for v in values]
    lines += ["", body.decode(errors="replace")]
    return "\n".join(lines)


# account ------------------------------------------------------------------------------------


def _used_of(used: int, lim: int | None, fmt) -> str:
    return f"{fmt(used)} of {limit(lim, fmt)}"


def account_info(info: dict) -> str:
    lim = info.get("limits") or {}
    rows: list[Row] = []
    if info.get("domain"):
        rows.append(("Domain", info["domain"]))
    rows += [
        ("Memory", _used_of(info.get("memory", 0), lim.get("max_memory"), format_size)),
        ("Storage", _used_of(info.get("storage", 0), lim.get("max_storage"), format_size)),
        ("Streams", _used_of(info.get("streams", 0), lim.get("max_streams"), format_int)),
        ("Consumers", _used_of(info.get("consumers", 0), lim.get("max_consumers"), format_int)),
    ]
    sections: list[Section] = [("JetStream Account Information", rows)]
    return kv_block("Account Information", sections)


# contexts -----------------------------------------------------------------------------------


def contexts_table(rows: list[tuple[str, str, bool]]) -> Table:
    t = Table("Known Contexts", ["Name", "Description"])
    for name, description, is_selected in rows:
        t.rows.append([name + ("*" if is_selected else ""), description])
    return t


def context_info(name: str, data: dict, checks: dict[str, str]) -> str:
    rows: list[Row] = [("Description", data.get("description") or "")]
    rows.append(("Server URLs", data.get("url") or "(default)"))
    for key, label in (("user", "Username"), ("password", "Password"), ("token", "Token")):
        if data.get(key):
            rows.append((label, "*********" if key != "user" else data[key]))
    for key, label in (
        ("creds", "Credentials"),
        ("nkey", "NKey"),
        ("cert", "Certificate"),
        ("key", "Key"),
        ("ca", "CA"),
    ):
        if data.get(key):
            rows.append((label, f"{data[key]} ({checks.get(key, 'OK')})"))
    for key, label in (
        ("jetstream_domain", "JetStream Domain"),
        ("jetstream_api_prefix", "JetStream API Prefix"),
        ("inbox_prefix", "Inbox Prefix"),
    ):
        if data.get(key):
            rows.append((label, data[key]))
    return kv_block(f'NATS Configuration Context "{name}"', [(None, rows)])
