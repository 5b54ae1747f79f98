"""Consumer configuration from flags, a --config file and prompts (`consumer add`, `edit`).

Prompt order and wording follow the seed: name, delivery target, start policy, (push only) ack
policy and replay policy, filter, maximum deliveries. Pull consumers ack explicitly and replay
instantly unless a flag says otherwise, as in the seed. Pause and priority groups are flags only,
as in natscli. No I/O besides prompting.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import click

from nats_cli import prompts
from nats_cli.errors import CliError
from nats_cli.stream_config import load_config_file, parse_metadata, strip_system_metadata
from nats_cli.units import parse_count, parse_duration

ACK_POLICIES = ("explicit", "all", "none")
REPLAY_POLICIES = ("instant", "original")
_DELIVER_WORDS = {
    "all": "all",
    "last": "last",
    "new": "new",
    "next": "new",
    "last_per_subject": "last_per_subject",
    "last-per-subject": "last_per_subject",
    "subject": "last_per_subject",
}

HELP = {
    "name": "A durable name for the consumer, like NEW. It keeps its position while nobody is connected.",
    "target": "The subject push messages are delivered to, like monitor.ORDERS. "
    "Leave it empty for a pull consumer, whose clients ask for messages.",
    "deliver": "Where to start: all (the first message), last (the latest), new (only messages "
    "published from now on), a duration like 1h (messages from that long ago), or a stream "
    "sequence number like 10.",
    "ack": "explicit: every message is acknowledged; all: acknowledging a message acknowledges the "
    "ones before it; none: no acknowledgements.",
    "replay": "instant: as fast as possible; original: at the pace the messages were published.",
    "filter": "Only messages on this subject (wildcards allowed); blank for all the stream's subjects.",
    "max_deliver": "How many times a message is delivered before it is given up; -1 for unlimited.",
}


def parse_deliver(text: str, now: _dt.datetime | None = None) -> dict[str, Any]:
    """`all`, `last`, `new`, `last_per_subject`, a stream sequence (`10`) or a duration (`1h`)."""
    word = text.strip()
    if word.lower() in _DELIVER_WORDS:
        return {"deliver_policy": _DELIVER_WORDS[word.lower()]}
    if word.isdigit():
        seq = int(word)
        if seq < 1:
            raise ValueError("a start sequence must be 1 or more")
        return {"deliver_policy": "by_start_sequence", "opt_start_seq": seq}
    try:
        ns = parse_duration(word)
    except ValueError:
        raise ValueError(
            f'invalid start policy "{text}": use all, last, new, last_per_subject, a duration like 1h '
            "or a sequence number"
        ) from None
    if ns <= 0:
        raise ValueError(f'invalid start policy "{text}": the duration must be positive')
    start = (now or _dt.datetime.now(_dt.UTC)) - _dt.timedelta(microseconds=ns // 1000)
    return {"deliver_policy": "by_start_time", "opt_start_time": api_time(start)}


def api_time(when: _dt.datetime) -> str:
    """RFC 3339 in UTC, as the API's time fields take it."""
    return when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_time(when: _dt.datetime) -> str:
    """The `YYYY-MM-DD HH:MM:SS` local form that parse_pause_until reads back."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def parse_pause_until(text: str, now: _dt.datetime | None = None) -> _dt.datetime:
    """A local `YYYY-MM-DD HH:MM:SS` (ISO 8601 with a zone is taken in that zone) or a duration from now.

    natscli reads the timestamp as UTC while it shows times in local time; we read what we show.
    """
    word = text.strip()
    try:
        when = _dt.datetime.fromisoformat(word)
    except ValueError:
        pass
    else:
        return when if when.tzinfo else when.astimezone()
    try:
        ns = parse_duration(word)
    except ValueError:
        raise ValueError(
            f'invalid pause time "{text}": use a local time like 2030-01-31 17:00:00 or a duration like 1h30m'
        ) from None
    if ns <= 0:
        raise ValueError(f'invalid pause time "{text}": the duration must be positive')
    return (now or _dt.datetime.now(_dt.UTC)) + _dt.timedelta(microseconds=ns // 1000)


def _check_deliver(text: str) -> None:
    parse_deliver(text)


def _duration_ns(flag: str, text: str) -> int:
    try:
        return max(0, parse_duration(text))
    except ValueError as e:
        raise CliError(f"invalid {flag}: {e}") from None


def _pause_until(text: str) -> str:
    try:
        return api_time(parse_pause_until(text))
    except ValueError as e:
        raise CliError(f"invalid --pause: {e}") from None


def _count(flag: str, text: str) -> int:
    try:
        return parse_count(text)
    except ValueError as e:
        raise CliError(f"invalid {flag}: {e}") from None


def consumer_options(edit: bool = False):
    """Consumer config flags shared by add and edit (edit leaves out the ones fixed at creation)."""

    def choice(values):
        return click.Choice(values, case_sensitive=False)

    opts = [
        click.option("--description", help="A short description of the consumer"),
        click.option("--target", metavar="SUBJECT", help="Push: deliver messages to SUBJECT"),
        click.option("--filter", "filters", multiple=True, metavar="SUBJECT",
                     help="Only messages on SUBJECT (repeat; '' for all)"),
        click.option("--max-deliver", metavar="N", help="Maximum deliveries of a message (-1 unlimited)"),
        click.option("--max-pending", metavar="N", help="Maximum unacknowledged messages"),
        click.option("--sample", metavar="PERCENT", type=click.IntRange(0, 100),
                     help="Percentage of acknowledgements to sample"),
        click.option("--wait", metavar="DURATION", help="Acknowledgement wait time (default 30s)"),
        click.option("--headers-only/--no-headers-only", default=None, help="Deliver headers without bodies"),
        click.option("--inactive-threshold", metavar="DURATION", help="Remove it after idling this long"),
        click.option("--metadata", multiple=True, metavar="K=V", help="Metadata key=value (repeat)"),
    ]  # fmt: skip
    if not edit:
        opts += [
            click.option("--pull", is_flag=True, help="A pull consumer (no delivery target)"),
            click.option("--ephemeral", is_flag=True, help="An ephemeral consumer (no durable name)"),
            click.option("--deliver", metavar="POLICY",
                         help="Start policy: all, last, new, last_per_subject, 1h, or a sequence"),
            click.option("--ack", type=choice(ACK_POLICIES), help="Ack policy: explicit, all, none"),
            click.option("--replay", type=choice(REPLAY_POLICIES), help="Replay policy: instant, original"),
            click.option("--deliver-group", metavar="GROUP", help="Push: deliver to this queue group"),
            click.option("--heartbeat", metavar="DURATION", help="Push: idle heartbeat interval"),
            click.option("--flow-control/--no-flow-control", default=None, help="Push: enable flow control"),
            click.option("--max-waiting", metavar="N", help="Pull: maximum waiting pull requests"),
            click.option("--memory", is_flag=True, default=None, help="Keep the consumer state in memory"),
            click.option("--pause", metavar="TIME|DURATION",
                         help="Start paused until a local time (2030-01-31 17:00:00) or for a duration"),
            click.option("--pinned-groups", multiple=True, metavar="GROUPS",
                         help="Priority groups with a pinned client (repeat or comma-separate)"),
            click.option("--pinned-ttl", metavar="DURATION",
                         help="How long a pinned client may go without pulling before it is unpinned"),
            click.option("--overflow-groups", multiple=True, metavar="GROUPS",
                         help="Priority groups that take messages past a pending threshold"),
            click.option("--prioritized-groups", multiple=True, metavar="GROUPS",
                         help="Priority groups served by the priority of each pull request"),
        ]  # fmt: skip

    def decorate(f):
        for opt in reversed(opts):
            f = opt(f)
        return f

    return decorate


def apply_flags(cfg: dict, opts: dict[str, Any]) -> dict:
    if opts.get("description") is not None:
        cfg["description"] = opts["description"]
    if opts.get("target"):
        cfg["deliver_subject"] = opts["target"]
    if opts.get("pull"):
        cfg.pop("deliver_subject", None)
    if opts.get("filters"):
        subjects = [f for f in opts["filters"] if f.strip()]
        cfg.pop("filter_subject", None)
        cfg.pop("filter_subjects", None)
        if len(subjects) == 1:
            cfg["filter_subject"] = subjects[0]
        elif subjects:
            cfg["filter_subjects"] = subjects
    if opts.get("deliver"):
        try:
            policy = parse_deliver(opts["deliver"])
        except ValueError as e:
            raise CliError(f"invalid --deliver: {e}") from None
        for key in ("opt_start_seq", "opt_start_time"):
            cfg.pop(key, None)
        cfg.update(policy)
    if opts.get("ack"):
        cfg["ack_policy"] = opts["ack"].lower()
    if opts.get("replay"):
        cfg["replay_policy"] = opts["replay"].lower()
    if opts.get("max_deliver") is not None:
        cfg["max_deliver"] = _count("--max-deliver", opts["max_deliver"])
    if opts.get("max_pending") is not None:
        cfg["max_ack_pending"] = _count("--max-pending", opts["max_pending"])
    if opts.get("sample") is not None:
        if opts["sample"]:
            cfg["sample_freq"] = f"{opts['sample']}%"
        else:
            cfg.pop("sample_freq", None)
    if opts.get("wait") is not None:
        cfg["ack_wait"] = _duration_ns("--wait", opts["wait"])
    if opts.get("headers_only") is not None:
        cfg["headers_only"] = opts["headers_only"]
    if opts.get("inactive_threshold") is not None:
        cfg["inactive_threshold"] = _duration_ns("--inactive-threshold", opts["inactive_threshold"])
    if opts.get("metadata"):
        cfg["metadata"] = parse_metadata(opts["metadata"])
    if opts.get("deliver_group"):
        cfg["deliver_group"] = opts["deliver_group"]
    if opts.get("heartbeat") is not None:
        cfg["idle_heartbeat"] = _duration_ns("--heartbeat", opts["heartbeat"])
    if opts.get("flow_control") is not None:
        cfg["flow_control"] = opts["flow_control"]
    if opts.get("max_waiting") is not None:
        cfg["max_waiting"] = _count("--max-waiting", opts["max_waiting"])
    if opts.get("memory"):
        cfg["mem_storage"] = True
    if opts.get("pause"):
        cfg["pause_until"] = _pause_until(opts["pause"])
    _apply_priority(cfg, opts)
    return cfg


_PRIORITY_FLAGS = {
    "pinned_groups": "pinned_client",
    "overflow_groups": "overflow",
    "prioritized_groups": "prioritized",
}


def _apply_priority(cfg: dict, opts: dict[str, Any]) -> None:
    """One priority policy from its --*-groups flag; --pinned-ttl only with pinned groups."""
    given = {policy: opts[key] for key, policy in _PRIORITY_FLAGS.items() if opts.get(key)}
    if len(given) > 1:
        raise CliError("--pinned-groups, --overflow-groups and --prioritized-groups cannot be used together")
    for policy, values in given.items():
        cfg["priority_policy"] = policy
        cfg["priority_groups"] = [g.strip() for v in values for g in v.split(",") if g.strip()]
    if opts.get("pinned_ttl") is not None:
        if cfg.get("priority_policy") != "pinned_client":
            raise CliError("--pinned-ttl is only for pinned client consumers (give --pinned-groups)")
        cfg["priority_timeout"] = _duration_ns("--pinned-ttl", opts["pinned_ttl"])


def from_file(path: str, name: str | None) -> dict:
    """A config file (bare, or `info -j` output); a positional NAME renames it."""
    cfg = strip_system_metadata(load_config_file(path))
    if name:
        cfg["durable_name"] = name
        if "name" in cfg:
            cfg["name"] = name
    return cfg


async def build(name: str | None, opts: dict[str, Any], defaults: bool) -> dict:
    """A new consumer's config from flags, asking (in the seed's order) for anything left.

    The name and pull/push have no default: a flag or a prompt gives them. `--defaults` takes
    the default of every other setting no flag gave; without it and without a terminal, the
    first such setting fails, naming its flag.
    """
    cfg: dict[str, Any] = {}
    if opts.get("ephemeral"):
        if name:
            raise CliError("an --ephemeral consumer has no name: drop the CONSUMER argument")
    else:
        if not name:
            name = await prompts.text(
                "Consumer name", flag="the CONSUMER argument or --ephemeral", help=HELP["name"], required=True
            )
        cfg["durable_name"] = name
    if opts.get("pull") and opts.get("target"):
        raise CliError("--pull and --target cannot be used together")
    if not opts.get("pull") and not opts.get("target"):
        target = await prompts.text(
            "Delivery target (empty for Pull Consumers)",
            flag="--pull or --target SUBJECT",
            help=HELP["target"],
        )
        if target:
            cfg["deliver_subject"] = target
    push = bool(opts.get("target") or cfg.get("deliver_subject"))

    if not opts.get("deliver"):
        text = "all"
        if not defaults:
            prompts.require_flag("--deliver")
            text = await prompts.text(
                "Start policy (all, last, new, 1h, msg sequence)",
                flag="--deliver",
                help=HELP["deliver"],
                default="all",
                validate=_check_deliver,
            )
        cfg.update(parse_deliver(text))
    ack = (opts.get("ack") or "").lower()
    if not ack:
        ack = "none" if push else "explicit"
        if push and not defaults:
            prompts.require_flag("--ack")
            ack = await prompts.select(
                "Acknowledgement policy", ACK_POLICIES, flag="--ack", help=HELP["ack"], default=ack
            )
    cfg["ack_policy"] = ack
    replay = (opts.get("replay") or "").lower()
    if not replay:
        replay = "instant"
        if push and not defaults:
            prompts.require_flag("--replay")
            replay = await prompts.select(
                "Replay policy", REPLAY_POLICIES, flag="--replay", help=HELP["replay"], default="instant"
            )
    cfg["replay_policy"] = replay
    if not opts.get("filters") and not defaults:
        prompts.require_flag("--filter")
        answer = await prompts.text(
            "Filter Stream by subject (blank for all)", flag="--filter", help=HELP["filter"]
        )
        if answer:
            cfg["filter_subject"] = answer
    if opts.get("max_deliver") is None and ack != "none" and not defaults:
        prompts.require_flag("--max-deliver")
        text = await prompts.text(
            "Maximum Allowed Deliveries",
            flag="--max-deliver",
            help=HELP["max_deliver"],
            default="-1",
            validate=parse_count,
        )
        cfg["max_deliver"] = parse_count(text)
    given = {k: v for k, v in opts.items() if k not in ("ack", "replay")}
    apply_flags(cfg, given)
    if cfg.get("max_deliver", -1) <= 0:
        cfg["max_deliver"] = -1
    if not push:
        for flag, key in (("--heartbeat", "idle_heartbeat"), ("--flow-control", "flow_control")):
            if cfg.get(key):
                raise CliError(f"{flag} is only for push consumers (give --target)")
    return cfg
