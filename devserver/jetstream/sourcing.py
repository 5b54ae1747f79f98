"""Mirrors and sources: a stream filled from other streams of its account (stream.go's sourcing).

Owns `Sourcing` (a stream's mirror link or source links: start, stop, config updates, recovery of
the source positions from the `Nats-Stream-Source` headers, the info blocks) and `Link` (one
origin stream: position, lag, last contact, error, retries).

nats-server drives each link with an internal push consumer on the origin (flow control, idle
heartbeats every second, a health check every 10 s). Here a link reads the origin's store and
the origin calls `on_origin_message` after each message it stores; what a client sees follows
nats-server: a mirror keeps the origin's sequences (skipping what the origin no longer has),
subjects, headers and timestamps; a source appends with new sequences and adds
`Nats-Stream-Source: <stream> <seq> <filters> <destinations> <subject> <identity>`; setups are
retried on nats-server's schedule (2 s apart at least, backoff 10 s per failure up to 2 min,
100-200 ms jitter) with the error in the info block; `active` is the time since the last message
or heartbeat. Links with `external` never connect: devserver has no domains and no account
imports, and nats-server's request to the prefixed API goes unanswered the same way.
The internal consumers are not shown on a limits origin, as nats-server hides them there; on
an interest or workqueue origin a link keeps a durable consumer that clients see, and acks each
copy on it (sourcing_consumer.py).
May import: devserver.jetstream.*, devserver.protocol.
"""

from __future__ import annotations

import hashlib
import logging
import random
from typing import TYPE_CHECKING, Any

from devserver import subjects
from devserver.jetstream import sourcing_consumer
from devserver.jetstream.api import ApiError
from devserver.jetstream.publish import STREAM_SOURCE, Reject
from devserver.jetstream.timefmt import format_time, parse_time
from devserver.jetstream.timers import Timer, Timers
from devserver.jetstream.transform import compile_transform
from devserver.protocol.headers import get as header

if TYPE_CHECKING:
    from devserver.jetstream.consumers import Consumer
    from devserver.jetstream.streams import Stream
    from devserver.store.base import StoredMsg

log = logging.getLogger("devserver.jetstream")

MS = 1_000_000
SECOND = 1_000 * MS
HEARTBEAT = SECOND  # the internal consumer's idle heartbeat
HEALTH_CHECK = 10 * SECOND  # how often a link is checked, and how long a silence means stalled
RETRY_GAP = 2 * SECOND  # setups no closer than this
BACKOFF, BACKOFF_MAX = 5 * SECOND, 120 * SECOND
BATCH = 1024  # messages copied per loop turn while catching up

_STRIPPED = (b"Nats-Expected-", b"Nats-Batch-")  # the origin checked these already
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
NOT_FOUND = {"code": 404, "err_code": 10059, "description": "stream not found"}


def short_hash(text: str) -> str:
    """nats-server's 8-character base-62 digest (getHash)."""
    return "".join(_DIGITS[b % 62] for b in hashlib.sha256(text.encode()).digest()[:8])


def identity(stream: Stream) -> str:
    """What tells a recreated origin from the one a source followed: its creation time."""
    return short_hash(format_time(stream.created))


def _jitter() -> int:
    return (100 + random.randrange(100)) * MS


def _backoff(fails: int) -> int:
    return min(BACKOFF * fails * 2, BACKOFF_MAX)


class Link:
    """One mirror or source: copies what the origin stores into the owning stream."""

    def __init__(self, owner: Stream, source: dict[str, Any], mirror: bool) -> None:
        self.owner, self.source, self.mirror = owner, source, mirror
        self.name: str = source["name"]
        self.external = source.get("external")
        transforms = source.get("subject_transforms", [])
        self._transforms = [compile_transform(t.get("src", ""), t.get("dest", "")) for t in transforms]
        filters = [t.get("src") or ">" for t in transforms] or [source.get("filter_subject") or ">"]
        self.filters: list[str] | None = None if filters == [">"] else filters
        self.iname = index_name(source)
        self.cname = consumer_name(owner, source, mirror)  # its durable on a retaining origin
        self.consumer: Consumer | None = None
        self._stream_part, self._filter_part, self._dest_part = self.iname.split(" ")
        self.sseq = 0  # last origin sequence taken
        self.stored = 0  # origin sequence of the last message stored (sources' info `seq`)
        self.lag = 0
        self.contact = 0  # last message or heartbeat (ns), 0 = never
        self.error: dict[str, Any] | None = None
        self.fails = 0
        self.lreq = 0  # last setup attempt (ns)
        self.ident = ""
        self.recreated = False
        self.origin: Stream | None = None
        self._attached_at = 0
        self._timer: Timer | None = None
        self._pumping = False
        self._clock = owner.server.clock
        self._timers = Timers.of(owner.server)

    # -- setup and retries

    def schedule_setup(self) -> None:
        """The next setup attempt, no sooner than RETRY_GAP after the last, backed off by failures."""
        if self.external:
            return  # the prefixed API has no responder on this server
        now = self._clock.now_ns()
        wait = max(0, RETRY_GAP - (now - self.lreq)) if self.lreq else 0
        self._set_timer(wait + _backoff(self.fails) + _jitter(), self._setup)

    def _setup(self) -> None:
        self._timer = None
        now = self._clock.now_ns()
        if self.mirror and self.lreq and now - self.lreq < RETRY_GAP:
            self.schedule_setup()
            return
        self.lreq = now
        origin = self.owner.jsa.streams.get(self.name)
        if origin is None:
            self.error = NOT_FOUND
            self.fails += 1
            self.schedule_setup()
            return
        if not self.mirror and self.ident and self.ident != identity(origin):
            log.warning(
                "Source stream %r of %r was recreated, resetting source state", self.name, self.owner.name
            )
            # nats-server clears the error and position at once, then retries with the backoff
            self.sseq = self.stored = 0
            self.ident, self.recreated, self.error = "", True, None
            self.schedule_setup()
            return
        if sourcing_consumer.retains(origin):
            try:
                self.consumer = sourcing_consumer.bind(self, origin)
            except ApiError as err:
                self.error = err.error
                self.fails += 1
                self.schedule_setup()
                return
        self.error, self.fails = None, 0
        self._attach(origin, now)

    def _attach(self, origin: Stream, now: int) -> None:
        delivered = self._start_seq(origin) - 1
        if self.consumer is not None:  # what it acked is gone or copied already
            delivered = max(delivered, self.consumer.asflr)
        if self.mirror:
            store = self.owner.store
            if store.last_seq < delivered:
                self._skip_to(delivered)
            self.sseq = max(delivered, store.last_seq)
        else:
            self.sseq = max(self.sseq, delivered)
            self.ident, self.recreated = identity(origin), False
        self._hand_over_through(self.sseq)
        self.origin = origin
        origin.followers.append(self)
        self.contact = self._attached_at = now
        self._pump()
        self._set_timer(HEALTH_CHECK, self._health)

    def _start_seq(self, origin: Stream) -> int:
        """Where the internal consumer would start on the origin."""
        by_seq, by_time = self.start_options()
        store = origin.store
        if by_seq:
            return max(by_seq, store.first_seq)
        if by_time:
            return store.seq_for_time(by_time)
        return store.first_seq or 1

    def start_options(self) -> tuple[int, int]:
        """(start sequence, start time ns) of the next setup, 0 when not set."""
        opt_seq = self.source.get("opt_start_seq", 0)
        opt_time = parse_time(self.source["opt_start_time"]) if "opt_start_time" in self.source else 0
        store = self.owner.store
        if self.mirror:
            if store.msgs or store.first_seq:
                return store.last_seq + 1, 0
            return opt_seq, 0 if opt_seq else opt_time
        if self.sseq:
            return self.sseq + 1, 0
        if opt_seq:
            return opt_seq, 0
        if opt_time:
            return 0, max(opt_time, store.last_ts) if store.last_ts else opt_time
        if store.first_seq > 1 and store.last_ts and not self.recreated:
            return 0, store.last_ts
        return 0, 0

    def _health(self) -> None:
        """A link silent for HEALTH_CHECK (its origin went away) sets itself up again."""
        now = self._clock.now_ns()
        if now - self._last_contact(now) <= HEALTH_CHECK:
            self._set_timer(HEALTH_CHECK, self._health)
            return
        self._timer = None
        if self.mirror:
            self._setup()
        else:
            self.schedule_setup()

    def _set_timer(self, delay: int, callback) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timers.after(delay, callback)

    def stop(self, forget: bool = False) -> None:
        """Stop copying; `forget` (the mirror or source is gone) deletes its origin consumer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._detach()
        if forget and not self.external:
            sourcing_consumer.drop(self)

    def _detach(self) -> None:
        if self.consumer is not None:
            self.consumer.mode.link = None
            self.consumer = None
        if self.origin is not None:
            if self in self.origin.followers:
                self.origin.followers.remove(self)
            self.contact = self._last_contact(self._clock.now_ns())
            self.origin = None

    def on_origin_deleted(self) -> None:
        """No more heartbeats: the health check will notice, as on nats-server."""
        self._detach()

    def consumer_gone(self) -> None:
        """A client deleted the origin consumer: no more heartbeats either."""
        self.consumer = None
        self._detach()

    # -- copying

    def on_origin_message(self, seq: int, subject: str) -> None:
        """The origin stored a message: copy it now unless a catch-up will."""
        if self._pumping or seq <= self.sseq or self.origin is None:
            return
        if self.filters is not None and not any(subjects.match(subject, f) for f in self.filters):
            return
        msg = self.origin.store.load(seq)
        if msg is not None and self._copy(msg):
            self.lag = 0
            self.contact = self._clock.now_ns()

    def _pump(self) -> None:
        """Copy a batch of what the origin holds past our position; the rest on the next turn."""
        self._pumping = False
        origin = self.origin
        if origin is None:
            return
        store = origin.store
        for _ in range(BATCH):
            msg = store.load_next(self.sseq + 1, self.filters)
            if msg is None:
                break
            if not self._copy(msg):
                return
        else:
            self._pumping = True
            self._timers.after(0, self._pump)
        self.lag = store.num_pending(self.sseq + 1, self.filters)
        self.contact = self._clock.now_ns()

    def _copy(self, msg: StoredMsg) -> bool:
        """Store one origin message in the owner; False when the link had to start over."""
        subject = msg.subject
        for transform in self._transforms:
            mapped = transform(subject)
            if mapped is not None:
                subject = mapped
                break
        block = _strip(msg.headers, _STRIPPED) if msg.headers else None
        owner = self.owner
        if self.mirror:
            if msg.seq > owner.store.last_seq + 1:
                self._skip_to(msg.seq - 1)
            self.sseq = msg.seq
            self._ingest(subject, block, msg.data, msg.ts)  # refused: the next one skips the gap
            self._hand_over(msg)
            return True
        before = owner.store.last_seq
        block = self._source_header(block, msg)
        previous, self.sseq = self.sseq, msg.seq
        if not self._ingest(subject, block, msg.data, 0):
            self.sseq = previous  # nats-server asks again from the refused message
            self._detach()
            self.schedule_setup()
            return False
        if owner.store.last_seq != before:
            self.stored = msg.seq
        self._hand_over(msg)
        return True

    def _hand_over(self, msg: StoredMsg) -> None:
        """Ack the copy on the origin's consumer, if it has one."""
        if self.consumer is not None:
            self.consumer.hand_over(msg)

    def _hand_over_through(self, seq: int) -> None:
        """Ack what the owner holds already (a setup after a crash, before the ack was saved)."""
        consumer = self.consumer
        if consumer is None:
            return
        msg = consumer.load_next(consumer.sseq)
        while msg is not None and msg.seq <= seq:
            consumer.hand_over(msg)
            msg = consumer.load_next(msg.seq + 1)

    def _ingest(self, subject: str, block: bytes | None, data: bytes, ts: int) -> bool:
        hdr = len(block) if block else -1
        try:
            self.owner._ingest(subject, hdr, (block or b"") + data, ts, sourced=True)
        except Reject as rej:
            log.warning(
                "Error processing inbound %s message for %r: %s", self.kind, self.owner.name, rej.name
            )
            return False
        return True

    def _skip_to(self, seq: int) -> None:
        """Make the mirror's next sequence seq + 1 (an empty mirror just starts there)."""
        store = self.owner.store
        if not store.msgs:
            store.compact(seq + 1)
        else:
            store.skip_msgs(seq - store.last_seq, self._clock.now_ns())
        self.owner.js.dirty.add(self.owner)

    def _source_header(self, block: bytes | None, msg: StoredMsg) -> bytes:
        value = (
            f"{self._stream_part} {msg.seq} {self._filter_part} {self._dest_part} {msg.subject} {self.ident}"
        )
        base = _strip(block, (STREAM_SOURCE,))[:-2] if block else b"NATS/1.0\r\n"
        return base + STREAM_SOURCE + b": " + value.encode() + b"\r\n\r\n"

    # -- info

    @property
    def kind(self) -> str:
        return "mirror" if self.mirror else "source"

    def _last_contact(self, now: int) -> int:
        """The last message or heartbeat: while attached, a heartbeat every second of silence."""
        if self.origin is None or not self.contact:
            return self.contact
        return self.contact + (now - self.contact) // HEARTBEAT * HEARTBEAT

    def info(self) -> dict[str, Any]:
        """StreamSourceInfo, keys in nats-server's order."""
        now = self._clock.now_ns()
        out: dict[str, Any] = {"name": self.name}
        if self.external:
            out["external"] = self.external
        out["lag"] = self.lag
        if self.stored and not self.mirror:
            out["seq"] = self.stored
        out["active"] = now - self._last_contact(now) if self.contact else -1
        if self.error is not None:
            out["error"] = self.error
        if "filter_subject" in self.source and (self.lreq or not self.mirror):
            out["filter_subject"] = self.source["filter_subject"]
        if "subject_transforms" in self.source:
            out["subject_transforms"] = self.source["subject_transforms"]
        return out


def consumer_name(owner: Stream, source: dict[str, Any], mirror: bool) -> str:
    """The durable a link keeps on a retaining origin: a hash of the owner and its account,
    hashed again with the index name when the owner sources that origin more than once
    (createStableConsumerHash, createSourcingConsumerHash)."""
    stable = short_hash(f"{owner.name} {owner.jsa.name}")
    if mirror:
        return "JS_MIRROR_" + stable
    twice = sum(src["name"] == source["name"] for src in owner.config.get("sources", [])) > 1
    return "JS_SRC_" + short_hash(f"{stable} {index_name(source)}" if twice else stable)


def index_name(source: dict[str, Any]) -> str:
    """`<stream>[:<api hash>][:C=<consumer hash>] <filters> <destinations>` (the `\\f`-joined
    transforms, else the filter and `>`): identifies a source, and its messages by their
    Nats-Stream-Source header (composeIName)."""
    name = source["name"]
    if "external" in source:
        name += ":" + short_hash(source["external"].get("api", ""))
    if "consumer" in source:
        name += ":C=" + short_hash(source["consumer"].get("name", ""))
    transforms = source.get("subject_transforms", [])
    if transforms:
        srcs = "\f".join(t.get("src") or ">" for t in transforms)
        dests = "\f".join(t.get("dest") or ">" for t in transforms)
        return f"{name} {srcs} {dests}"
    return f"{name} {source.get('filter_subject') or '>'} >"


def _strip(block: bytes, prefixes: tuple[bytes, ...]) -> bytes:
    """The header block without the lines whose name starts with one of `prefixes`."""
    lines = block.split(b"\r\n")
    kept = [lines[0]] + [line for line in lines[1:] if line and not line.startswith(prefixes)]
    return b"\r\n".join(kept) + b"\r\n\r\n"


class Sourcing:
    """A stream's mirror or sources; idle for a stream with neither."""

    def __init__(self, owner: Stream) -> None:
        self.owner = owner
        self.mirror: Link | None = None
        self.sources: dict[str, Link] = {}
        self.started = False

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        config = self.owner.config
        if "mirror" in config:
            self.mirror = Link(self.owner, config["mirror"], mirror=True)
            self.mirror.schedule_setup()
        self._add_sources(config.get("sources", []))

    def _add_sources(self, configs: list[dict[str, Any]]) -> None:
        links = [Link(self.owner, src, mirror=False) for src in configs]
        recover_positions(self.owner, links)
        for link in links:
            self.sources[link.iname] = link
            link.schedule_setup()

    def update(self, config: dict[str, Any]) -> None:
        """Stop what the new config dropped (a mirror, sources; their origin consumers are
        deleted unless a kept source uses the same name) and start the added sources."""
        if self.mirror is not None and "mirror" not in config:
            self.mirror.stop(forget=True)
            self.mirror = None
        sources = config.get("sources", [])
        wanted = {index_name(src): src for src in sources}
        names = {consumer_name(self.owner, src, False) for src in sources}
        for iname in [i for i in self.sources if i not in wanted]:
            link = self.sources.pop(iname)
            link.stop(forget=link.cname not in names)
        for iname, src in wanted.items():
            if iname in self.sources:
                self.sources[iname].source = src
        self._add_sources([src for iname, src in wanted.items() if iname not in self.sources])

    def stop(self, forget: bool = False) -> None:
        """Stop every link; `forget` (the stream is deleted) deletes their origin consumers."""
        for link in self.links():
            link.stop(forget)
        self.started = False

    def links(self) -> list[Link]:
        return ([self.mirror] if self.mirror else []) + list(self.sources.values())

    def add_info(self, info: dict[str, Any]) -> None:
        """The `mirror` and `sources` blocks of StreamInfo (sources in config order)."""
        if self.mirror is not None:
            info["mirror"] = self.mirror.info()
        if self.sources:
            info["sources"] = [link.info() for link in self.sources.values()]


def recover_positions(owner: Stream, links: list[Link]) -> None:
    """Each source's last origin sequence, from the newest message its header names."""
    wanted = {link.iname: link for link in links}
    store = owner.store
    seq = store.last_seq
    while wanted and seq >= store.first_seq and seq > 0:
        msg = store.load(seq)
        seq -= 1
        value = header(msg.headers, STREAM_SOURCE) if msg is not None and msg.headers else None
        if value is None:
            continue
        fields = value.decode(errors="replace").split(" ")
        if len(fields) < 5 or not fields[1].isdigit():
            continue
        link = wanted.pop(f"{fields[0]} {fields[2]} {fields[3]}", None)
        if link is not None:
            link.sseq = link.stored = int(fields[1])
            link.ident = fields[5] if len(fields) > 5 else ""
