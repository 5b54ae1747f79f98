"""Stream configuration from flags, a --config file and prompts (`stream add`, `cp`, `edit`).

One table, FIELDS, describes each prompted setting once: its flag, prompt wording (the seed's
where it has one), help text, parser and default. Flags shared by add/cp/edit are declared once
by `config_options`. No I/O besides reading --config files and prompting through prompts.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from nats_cli import prompts
from nats_cli.errors import CliError
from nats_cli.stream_source import ask_sourcing, parse_source
from nats_cli.units import UNLIMITED, parse_count, parse_duration, parse_size

RETENTION = {"limits": "limits", "interest": "interest", "workqueue": "workqueue", "work": "workqueue"}
RETENTION_CHOICES = {"Limits": "limits", "Interest": "interest", "Work Queue": "workqueue"}
STORAGE = {"file": "file", "f": "file", "memory": "memory", "m": "memory", "mem": "memory"}
DISCARD = {"old": "old", "new": "new"}
COMPRESSION = ("none", "s2")


def split_subjects(values: tuple[str, ...] | list[str] | str) -> list[str]:
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        out += [s for s in value.replace(",", " ").split() if s]
    return out


def _age(text: str) -> int:
    ns = parse_duration(text)
    return 0 if ns < 0 else ns


def _window(text: str) -> int:
    ns = parse_duration(text)
    return 0 if ns < 0 else ns


@dataclass(frozen=True)
class Field:
    key: str  # config JSON key
    option: str  # click parameter name
    flag: str
    prompt: str
    help: str
    parse: Callable[[str], Any] | None = None
    default: str = "-1"
    choices: dict[str, str] | None = None  # select prompt: shown title -> value


# prompt order is the seed's: subjects, storage, retention, discard, count, per-subject, size, age,
# message size, duplicate window; then the yes/no questions
FIELDS: list[Field] = [
    Field(
        "storage",
        "storage",
        "--storage",
        "Storage backend",
        "Where messages are kept: file (on disk, survives restarts) or memory.",
        choices={"file": "file", "memory": "memory"},
        default="file",
    ),
    Field(
        "retention",
        "retention",
        "--retention",
        "Retention Policy",
        "When messages are removed: Limits (only by the limits below), Interest (once every consumer "
        "has acknowledged) or Work Queue (once any consumer has acknowledged).",
        choices=RETENTION_CHOICES,
        default="Limits",
    ),
    Field(
        "discard",
        "discard",
        "--discard",
        "Discard Policy",
        "What happens when a limit is reached: Old removes the oldest messages, New refuses new ones.",
        choices={"Old": "old", "New": "new"},
        default="Old",
    ),
    Field(
        "max_msgs",
        "max_msgs",
        "--max-msgs",
        "Message count limit",
        "How many messages the stream keeps in total; -1 for unlimited.",
        parse_count,
    ),
    Field(
        "max_msgs_per_subject",
        "max_msgs_per_subject",
        "--max-msgs-per-subject",
        "Per subject message limit",
        "How many messages are kept for each subject; -1 for unlimited.",
        parse_count,
    ),
    Field(
        "max_bytes",
        "max_bytes",
        "--max-bytes",
        "Message size limit",
        "Total size of all messages in the stream, like 1GB or 512MiB (1024-based); -1 for unlimited.",
        parse_size,
    ),
    Field(
        "max_age",
        "max_age",
        "--max-age",
        "Maximum message age limit",
        "Oldest message the stream keeps, like 1y, 2w, 3d, 4h, 5m, 6s; -1 for unlimited.",
        _age,
    ),
    Field(
        "max_msg_size",
        "max_msg_size",
        "--max-msg-size",
        "Maximum individual message size",
        "Largest message the stream accepts, like 1KiB or 1MB; -1 for unlimited.",
        parse_size,
    ),
    Field(
        "duplicate_window",
        "dupe_window",
        "--dupe-window",
        "Duplicate tracking time window",
        "How long Nats-Msg-Id headers are remembered to drop duplicate publishes, like 2m.",
        _window,
        default="2m",
    ),
]
FIELD_BY_OPTION = {f.option: f for f in FIELDS}

# yes/no prompts: (config key, option, flag, prompt, help, default answer, answer -> value)
CONFIRMS = [
    ("allow_rollup_hdrs", "allow_rollup", "--allow-rollup", "Allow message Roll-ups",
     "Lets a publisher replace all earlier messages on a subject (Nats-Rollup header).", False, False),
    ("deny_delete", "deny_delete", "--deny-delete", "Allow message deletion",
     "Lets clients delete single messages (stream rmm).", True, True),
    ("deny_purge", "deny_purge", "--deny-purge", "Allow purging subjects or the entire stream",
     "Lets clients purge the stream or some of its subjects (stream purge).", True, True),
]  # fmt: skip


def config_options(edit: bool = False):
    """The stream config flags, shared by add, cp and edit (edit leaves out the fixed ones)."""

    def choice(values):
        return click.Choice(sorted(values), case_sensitive=False)

    opts = [
        click.option("--subjects", multiple=True, help="Subjects to consume (repeatable, comma separated)"),
        click.option("--description", help="A short description of the stream"),
        click.option("--replicas", type=int, help="Number of replicas (default 1)"),
        click.option("--retention", type=choice(RETENTION), help="Retention: limits, interest, workqueue"),
        click.option("--discard", type=choice(DISCARD), help="Discard policy when full: old or new"),
        click.option("--discard-per-subject/--no-discard-per-subject", default=None,
                     help="Apply discard new to each subject's limit"),
        click.option("--max-msgs", metavar="N", help="Message count limit (-1 unlimited)"),
        click.option("--max-msgs-per-subject", metavar="N", help="Per subject message limit (-1 unlimited)"),
        click.option("--max-bytes", metavar="SIZE", help="Total stream size limit, like 1GB (-1 unlimited)"),
        click.option("--max-age", metavar="DURATION", help="Maximum message age, like 1y (-1 unlimited)"),
        click.option("--max-msg-size", metavar="SIZE", help="Maximum individual message size (-1 unlimited)"),
        click.option("--max-consumers", metavar="N", help="Maximum number of consumers (-1 unlimited)"),
        click.option("--dupe-window", metavar="DURATION", help="Duplicate tracking window (default 2m)"),
        click.option("--ack/--no-ack", default=None, help="Acknowledge publishes (default on)"),
        click.option("--allow-rollup/--no-allow-rollup", default=None, help="Allow Nats-Rollup headers"),
        click.option("--deny-delete/--no-deny-delete", default=None, help="Deny deleting single messages"),
        click.option("--deny-purge/--no-deny-purge", default=None, help="Deny purging the stream"),
        click.option("--allow-direct/--no-allow-direct", default=None, help="Allow direct get of messages"),
        click.option("--allow-msg-ttl/--no-allow-msg-ttl", default=None, help="Allow per-message TTLs"),
        click.option("--compression", type=choice(COMPRESSION), help="Storage compression: none or s2"),
        click.option("--metadata", multiple=True, metavar="K=V", help="Metadata key=value (repeat)"),
    ]  # fmt: skip
    if not edit:
        opts += [
            click.option("--storage", type=choice(STORAGE), help="Storage backend: file or memory"),
            click.option("--first-sequence", type=int, metavar="N", help="Sequence of the first message"),
        ]
    # edit has them too, as natscli, only to say that --config changes a mirror or sources
    refused = "Refused here: change mirrors and sources with --config"
    mirror_help = refused if edit else "Mirror a stream: a name or StreamSource JSON"
    source_help = refused if edit else "Source messages from a stream: a name or StreamSource JSON (repeat)"
    opts += [
        click.option("--mirror", metavar="STREAM|JSON", help=mirror_help),
        click.option("--source", multiple=True, metavar="STREAM|JSON", help=source_help),
    ]
    if edit:
        opts.append(
            click.option("--no-mirror", is_flag=True, help="Remove the mirror: a normal stream from now on")
        )

    def decorate(f):
        for opt in reversed(opts):
            f = opt(f)
        return f

    return decorate


def _parse(option: str, flag: str, parse: Callable[[str], Any], value: str) -> Any:
    try:
        return parse(value)
    except ValueError as e:
        raise CliError(f"invalid {flag}: {e}") from None


def parse_metadata(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        sep = "=" if "=" in item else ":"
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise CliError(f'invalid --metadata "{item}": use KEY=VALUE')
        out[key.strip()] = value.strip()
    return out


def apply_flags(cfg: dict, opts: dict[str, Any]) -> dict:
    """Every flag that was given sets its field; flags left out change nothing."""
    if opts.get("subjects"):
        cfg["subjects"] = split_subjects(opts["subjects"])
    if opts.get("description") is not None:
        cfg["description"] = opts["description"]
    if opts.get("replicas") is not None:
        cfg["num_replicas"] = opts["replicas"]
    if opts.get("storage"):
        cfg["storage"] = STORAGE[opts["storage"].lower()]
    if opts.get("retention"):
        cfg["retention"] = RETENTION[opts["retention"].lower()]
    if opts.get("discard"):
        cfg["discard"] = opts["discard"].lower()
    if opts.get("discard_per_subject") is not None:
        cfg["discard_new_per_subject"] = opts["discard_per_subject"]
    for field in FIELDS:
        if field.parse and opts.get(field.option) is not None:
            cfg[field.key] = _parse(field.option, field.flag, field.parse, opts[field.option])
    if opts.get("max_consumers") is not None:
        cfg["max_consumers"] = _parse("max_consumers", "--max-consumers", parse_count, opts["max_consumers"])
    if opts.get("ack") is not None:
        cfg["no_ack"] = not opts["ack"]
    for key, option in (
        ("allow_rollup_hdrs", "allow_rollup"),
        ("deny_delete", "deny_delete"),
        ("deny_purge", "deny_purge"),
        ("allow_direct", "allow_direct"),
        ("allow_msg_ttl", "allow_msg_ttl"),
    ):
        if opts.get(option) is not None:
            cfg[key] = opts[option]
    if opts.get("compression"):
        cfg["compression"] = opts["compression"].lower()
    if opts.get("first_sequence") is not None:
        cfg["first_seq"] = opts["first_sequence"]
    if opts.get("metadata"):
        cfg["metadata"] = parse_metadata(opts["metadata"])
    if opts.get("mirror"):
        cfg["mirror"] = parse_source("--mirror", opts["mirror"])
    if opts.get("source"):
        cfg["sources"] = [parse_source("--source", value) for value in opts["source"]]
    return cfg


def apply_edit_flags(cfg: dict, opts: dict[str, Any]) -> dict:
    """`str edit`'s flags: mirrors and sources change only through --config, as in natscli."""
    if opts.get("mirror") or opts.get("source"):
        raise CliError("a mirror or sources cannot be edited with flags: use --config (or --no-mirror)")
    if opts.get("no_mirror"):
        cfg.pop("mirror", None)
    return apply_flags(cfg, opts)


def load_config_file(path: str) -> dict:
    """A bare StreamConfig/ConsumerConfig, or the full `info -j` output (its `config` is used)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise CliError(f"{path} is not valid JSON: {e}") from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]
    if not isinstance(data, dict):
        raise CliError(f"{path} does not hold a JSON object")
    return data


def strip_system_metadata(cfg: dict) -> dict:
    """Drop the server's own `_nats.*` metadata so a config read back can be sent again."""
    meta = cfg.get("metadata")
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if not k.startswith("_nats")}
        if kept:
            cfg["metadata"] = kept
        else:
            cfg.pop("metadata", None)
    return cfg


def fresh_config(name: str) -> dict:
    """The settings natscli sends for a new stream before prompts and flags fill them in."""
    return {
        "name": name,
        "subjects": [],
        "retention": "limits",
        "max_consumers": -1,
        "max_msgs": -1,
        "max_bytes": -1,
        "max_age": 0,
        "max_msgs_per_subject": -1,
        "max_msg_size": -1,
        "discard": "old",
        "storage": "file",
        "num_replicas": 1,
        "duplicate_window": 120_000_000_000,
        "allow_direct": True,
        "deny_delete": False,
        "deny_purge": False,
        "allow_rollup_hdrs": False,
    }


async def ask_missing(cfg: dict, opts: dict[str, Any], defaults: bool) -> dict:
    """Prompt, in the seed's order, for every setting no flag gave.

    `--defaults` takes each setting's default instead; the subjects have none, so they always
    come from --subjects or a prompt. Without a terminal and without `--defaults`, the first
    setting no flag gave fails, naming its flag.
    """
    needs_subjects = not (cfg.get("mirror") or cfg.get("sources"))
    if needs_subjects and not cfg.get("subjects"):
        answer = await prompts.text(
            "Subjects to consume",
            flag="--subjects",
            help="Subjects the stream listens on, wildcards allowed (ORDERS.*); space or comma separated.",
            required=True,
        )
        cfg["subjects"] = split_subjects(answer)
    for field in FIELDS:
        given = opts.get(field.option) is not None
        if given or (field.key == "max_msgs_per_subject" and not cfg.get("subjects")):
            continue
        if field.key == "duplicate_window" and cfg.get("mirror"):  # the origin dropped duplicates already
            continue
        if field.key == "duplicate_window":
            age = cfg.get("max_age") or 0
            default = field.default if not 0 < age < 120_000_000_000 else f"{age // 1_000_000}ms"
        else:
            default = field.default
        if not defaults:
            prompts.require_flag(field.flag)
        if field.choices:
            if defaults:
                cfg[field.key] = field.choices[default]
            else:
                title = await prompts.select(
                    field.prompt, list(field.choices), flag=field.flag, help=field.help, default=default
                )
                cfg[field.key] = field.choices[title]
            continue
        text = default
        if not defaults:
            text = await prompts.text(
                field.prompt, flag=field.flag, help=field.help, default=default, validate=field.parse
            )
        value = field.parse(text) if field.parse else text
        if field.key in ("max_msgs", "max_msgs_per_subject", "max_bytes", "max_msg_size") and value <= 0:
            value = UNLIMITED
        cfg[field.key] = value
    if not defaults:
        for key, option, flag, prompt, help_text, default, invert in CONFIRMS:
            if opts.get(option) is not None:
                continue
            prompts.require_flag(f"{flag}/--no-{flag[2:]}")
            answer = await prompts.confirm(
                prompt, flag=f"{flag}/--no-{flag[2:]}", help=help_text, default=default
            )
            cfg[key] = (not answer) if invert else answer
    await ask_sourcing(cfg, opts, defaults)
    return cfg


def schema_errors(type_name: str, doc: dict) -> list[str]:
    """Problems of a config against our JSON Schema; empty when valid.

    The schema lets unknown keys pass (replies may grow), but nats-server refuses them at any
    depth (10025): name the first one before anything is sent.
    """
    import schemas

    field = schemas.unknown_field(type_name, doc)
    return ([f'unknown field "{field}"'] if field else []) + schemas.validate(type_name, doc)
