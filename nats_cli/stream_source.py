"""A stream's mirror and sources from `--mirror` / `--source` values and natscli's sub-dialog.

A value is either a StreamSource JSON object (`{"name": "ORDERS", "opt_start_seq": 10}`), checked
against our `stream_source` schema, or a bare stream name. At a terminal, without `--defaults`,
each bare name gets natscli's sub-dialog (start, filters and transforms, another domain or
account); the JSON form is the flag that sets every one of those answers. Without a terminal a
bare name stays a bare name. Imports prompts.py for the dialog; no other I/O.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from nats_cli import prompts
from nats_cli.errors import CliError

SOURCE_TYPE = "io.nats.jetstream.api.v1.stream_source"
# natscli reads start times as UTC `YYYY:MM:DD HH:MM:SS`; the usual dashed date works as well
TIME_FORMATS = ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S")


def is_json(value: str) -> bool:
    # a stream name cannot sensibly start with "{": treat it as (maybe broken) JSON for a clear error
    return value.lstrip().startswith("{")


def parse_source(flag: str, value: str) -> dict[str, Any]:
    """A `--mirror`/`--source` value as a StreamSource; CliError naming the flag when it is bad."""
    if not is_json(value):
        return {"name": value}
    try:
        doc = json.loads(value)
    except ValueError as e:
        raise CliError(f"invalid {flag}: not valid JSON: {e}") from None
    problems = _problems(doc)
    if problems:
        raise CliError(f"invalid {flag}: " + "; ".join(problems))
    return doc


def _problems(doc: dict) -> list[str]:
    import schemas

    # nats-server refuses unknown keys at any depth (10025): name the typo before sending
    field = schemas.unknown_field(SOURCE_TYPE, doc)
    problems = ([f'unknown field "{field}"'] if field else []) + schemas.validate(SOURCE_TYPE, doc)
    if not problems and not doc["name"]:
        problems.append("name: a stream name is required")
    return problems


def parse_start_time(text: str) -> str:
    """A UTC `YYYY:MM:DD HH:MM:SS` (or dashed) time as RFC 3339; ValueError when it is neither."""
    for fmt in TIME_FORMATS:
        try:
            moment = _dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        return moment.replace(tzinfo=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise ValueError(f'invalid time "{text}": use YYYY:MM:DD HH:MM:SS (UTC)')


def _start_sequence(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f'"{text}" is not a sequence number') from None
    if value < 0:
        raise ValueError("a start sequence cannot be negative")
    return value


START = '"opt_start_seq": 100'
START_TIME = '"opt_start_time": "2024-01-31T12:00:00Z"'
TRANSFORMS = '"subject_transforms": [{"src": "a.>", "dest": "b.>"}]'
EXTERNAL = '"external": {"api": "$JS.hub.API", "deliver": "deliver.hub"}'


class Dialog:
    """The questions about one bare name; each names the JSON value that answers it (`example`)."""

    def __init__(self, flag: str, name: str, mirror: bool) -> None:
        self.flag, self.name, self.mirror = flag, name, mirror
        self.target = f'{"mirror" if mirror else "source"} "{name}"'

    def _flag(self, example: str) -> str:
        return f"""{self.flag} '{{"name": "{self.name}", {example}}}'"""

    async def confirm(self, label: str, help_text: str, example: str) -> bool:
        return await prompts.confirm(label, flag=self._flag(example), help=help_text, default=False)

    async def text(self, label: str, help_text: str, example: str, **kw: Any) -> str:
        return await prompts.text(label, flag=self._flag(example), help=help_text, **kw)

    async def start(self, source: dict[str, Any]) -> None:
        text = await self.text(
            "Start sequence", "0 starts at the first message.", START, default="0", validate=_start_sequence
        )
        seq = _start_sequence(text)
        if seq:
            source["opt_start_seq"] = seq
        if self.mirror and seq:  # a mirror starts at a sequence or at a time, not both
            return
        when = await self.text(
            "Start time (UTC, YYYY:MM:DD HH:MM:SS; blank for none)",
            "Only messages stored from this moment on are copied.",
            START_TIME,
            validate=lambda t: parse_start_time(t) if t else None,
        )
        if when:
            source["opt_start_time"] = parse_start_time(when)

    async def transforms(self) -> list[dict[str, str]]:
        out = []
        while True:
            src = await self.text(
                "Filter subject (blank to finish)", "Copy messages on this subject.", TRANSFORMS
            )
            if not src:
                return out
            dest = await self.text(
                "Transform destination (blank to keep the subject)",
                "Store the messages under this subject instead.",
                TRANSFORMS,
            )
            out.append({"src": src, "dest": dest})

    async def external(self) -> dict[str, str] | None:
        if await self.confirm(
            f"Import the {self.target} from another JetStream domain",
            "The stream lives in another JetStream domain, reached over a leaf node.",
            EXTERNAL,
        ):
            domain = await self.text(
                "JetStream domain", "The domain the stream lives in.", EXTERNAL, required=True
            )
            external = {"api": f"$JS.{domain}.API"}
            deliver = await self.text(
                "Delivery prefix (blank for none)",
                "Prefix of the subjects messages are delivered on.",
                EXTERNAL,
            )
            if deliver:
                external["deliver"] = deliver
            return external
        if await self.confirm(
            f"Import the {self.target} from another account",
            "The stream lives in another account whose JetStream API this account imports.",
            EXTERNAL,
        ):
            api = await self.text(
                "API prefix of the other account",
                "Where the other account's JetStream API is imported, like $JS.other.API.",
                EXTERNAL,
                required=True,
            )
            deliver = await self.text(
                "Delivery prefix of the other account",
                "Where the other account's delivery subjects are imported.",
                EXTERNAL,
                required=True,
            )
            return {"api": api, "deliver": deliver}
        return None


async def ask_source(source: dict[str, Any], flag: str, mirror: bool) -> dict[str, Any]:
    """natscli's sub-dialog for one bare name: every question defaults to No, changing nothing."""
    dialog = Dialog(flag, source["name"], mirror)
    if await dialog.confirm(
        f"Adjust where the {dialog.target} starts",
        "Start at a sequence or a time, not at the first message.",
        START,
    ):
        await dialog.start(source)
    if await dialog.confirm(
        f"Filter or transform the subjects of the {dialog.target}",
        "Copy only some subjects, optionally storing them under other subjects.",
        TRANSFORMS,
    ):
        transforms = await dialog.transforms()
        if transforms:
            source["subject_transforms"] = transforms
    external = await dialog.external()
    if external:
        source["external"] = external
    return source


async def ask_sourcing(cfg: dict, opts: dict[str, Any], defaults: bool) -> None:
    """Run the sub-dialog for each bare `--mirror`/`--source` name, at a terminal only."""
    if defaults or not prompts.interactive():
        return
    if opts.get("mirror") and not is_json(opts["mirror"]):
        cfg["mirror"] = await ask_source(cfg["mirror"], "--mirror", mirror=True)
    for i, value in enumerate(opts.get("source") or ()):
        if not is_json(value):
            cfg["sources"][i] = await ask_source(cfg["sources"][i], "--source", mirror=False)
