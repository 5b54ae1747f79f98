"""Streams: one object per stream, owning its store, subscriptions, limits and persistence.

Owns `Stream` (nats-server's stream.go minus the publish path, which is `publish.Publisher`):
subscribing to the configured subjects (and to DIRECT.GET when `allow_direct`), state and info,
config updates, purge, message delete (expiry by age and TTL is `expiry.Expiry`), and the stream's
folder `<store_dir>/jetstream/<account>/streams/<name>/` with its `meta.inf` (config and created
time, replaced atomically) from which file streams are recovered at start.

What consumers (consumers.py, consumer_api.py) may use:
    stream.name                 the stream name
    stream.config               the config dict, nats-server's JSON shape (read only)
    stream.store                the store (see storage.py: load, load_next, num_pending, ...)
    stream.consumers            dict[str, consumer]: add and remove your consumers here
    stream.remove_msg(seq)      drop a message (workqueue / interest retention acks) -> bool
    stream.jsa                  the account's JsAccount (`send()` to publish as the server)
and what a stream calls on a consumer object, when it has the method:
    consumer.on_message(seq, subject)          after each new stored message
    consumer.on_removed(seq, subject)          a message left otherwise than by purge (limits,
                                               max_age, MSG.DELETE, remove_msg)
    consumer.on_purge(filter, first_seq)       after a purge (filter None = all; first_seq = the
                                               first sequence left that the purge filter covers)
    consumer.matches(subject) -> bool          interest retention: is it interested in subject
    consumer.on_stream_close()                 the server stops (keep state, drop timers)
    consumer.on_stream_delete()                the stream is being deleted
May import: schemas, devserver.*, devserver.jetstream.*. asyncio only via jetstream timers.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devserver.jetstream import stream_config, versioning
from devserver.jetstream.accounts import MEMORY
from devserver.jetstream.api import ApiError
from devserver.jetstream.batch import AtomicBatches
from devserver.jetstream.expiry import Expiry
from devserver.jetstream.fast_batch import FastBatches
from devserver.jetstream.publish import MSG_ID, Publisher
from devserver.jetstream.scheduler import Scheduler
from devserver.jetstream.sourcing import Sourcing
from devserver.jetstream.storage import open_store
from devserver.jetstream.timefmt import format_time, parse_time
from devserver.jetstream.timers import Timer
from devserver.jetstream.transform import compile_transform
from devserver.protocol.headers import get as header
from devserver.store.atomic import write_atomic

if TYPE_CHECKING:
    from devserver.jetstream.accounts import JsAccount

log = logging.getLogger("devserver.jetstream")

META_FILE = "meta.inf"


class Stream(Publisher, Expiry, Scheduler):
    def __init__(self, jsa: JsAccount, config: dict[str, Any], created: int, directory: Path | None) -> None:
        self.jsa = jsa
        self.js = jsa.js
        self.server = jsa.server
        self.name: str = config["name"]
        self.config = config
        self.storage: str = config["storage"]  # as configured, even when kept in memory
        self.created = created
        self.directory = directory
        self.store = open_store(directory, config.get("first_seq", 0), self.js.options.sync_interval)
        self.consumers: dict[str, Any] = {}
        self.followers: list[Any] = []  # mirrors and sources reading this stream
        self.sourcing = Sourcing(self)
        self.msg_ids: dict[str, tuple[int, int]] = {}
        self.last_msg_id = ""
        self.batches = AtomicBatches(self)
        self.fast_batches = FastBatches(self)
        self._subs: list = []
        self._expiry: Timer | None = None
        self._route = self.server.route
        self._account = jsa.account
        self._clock = self.server.clock
        self._apply_config()

    # -- lifecycle

    def _apply_config(self) -> None:
        cfg = self.config
        transform = cfg.get("subject_transform")
        self._transform = compile_transform(transform["src"], transform["dest"]) if transform else None
        republish = cfg.get("republish")
        self._republish = (
            (compile_transform(republish["src"], republish["dest"]), republish.get("headers_only", False))
            if republish
            else None
        )
        self._setup_expiry()
        self._setup_schedules()
        self._setup_publish()

    def start(self) -> None:
        """Listen on the stream's subjects (and DIRECT.GET when allowed)."""
        self._start_expiry()
        self._start_schedules()
        server, account = self.server, self.jsa.account
        on_msg = self.on_msg if self._transform is None else self._on_transformed
        for subject in self.config.get("subjects", []):
            self._subs.append(server.subscribe(account, subject, on_msg))
        if self.config["allow_direct"]:
            from devserver.jetstream.direct import subscribe_direct  # noqa: PLC0415 - direct imports us

            self._subs.extend(subscribe_direct(self))
        self.sourcing.start()

    def stop(self) -> None:
        for sub in self._subs:
            self.server.unsubscribe(self.jsa.account, sub)
        self._subs.clear()
        self._stop_expiry()
        self._stop_schedules()

    def _on_transformed(self, subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        mapped = self._transform(subject.decode())
        self.on_msg(mapped.encode() if mapped else subject, reply, hdr, payload)

    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        self.stop()
        self.sourcing.stop()
        for consumer in list(self.consumers.values()):
            hook = getattr(consumer, "on_stream_close", None)
            if hook is not None:
                hook()
        self.store.close()

    def delete(self) -> None:
        """Remove the stream, its consumers and its files."""
        self.stop()
        self.batches.drop_all()
        self.fast_batches.drop_all()
        self.sourcing.stop(forget=True)
        for follower in list(self.followers):
            follower.on_origin_deleted()
        for consumer in list(self.consumers.values()):
            hook = getattr(consumer, "on_stream_delete", None)
            if hook is not None:
                hook()
        self.consumers.clear()
        self.js.dirty.discard(self)
        self.store.delete()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- config

    def update(self, config: dict[str, Any]) -> None:
        """Apply a config already checked by stream_config.check_update."""
        old_subjects = self.config.get("subjects", [])
        old_direct = self.config["allow_direct"]
        self.config = config
        if config.get("subjects", []) != old_subjects or config["allow_direct"] != old_direct:
            self.stop()
            self.start()
        self._apply_config()
        if not config.get("allow_atomic"):
            self.batches.drop_all()
        if not config.get("allow_batched"):
            self.fast_batches.drop_all()
        self.sourcing.update(config)
        self._stop_expiry()
        self._start_expiry()
        self._start_schedules()
        if self._limited:
            self._trim()
        self.write_meta()

    def _trim(self) -> None:
        """Apply lowered limits to what is stored (discard policy aside, as nats-server does)."""
        store = self.store
        if self._max_per > 0:
            for subject in list(store.subjects()):
                while store.subject_count(subject) > self._max_per:
                    self.remove_msg(store.subject_first(subject))
        while self._max_msgs > 0 and store.msgs > self._max_msgs:
            self.remove_msg(store.first_seq)
        while self._max_bytes > 0 and store.bytes > self._max_bytes and store.msgs:
            self.remove_msg(store.first_seq)

    # -- info

    def store_bytes(self) -> int:
        return self.store.bytes

    def state(self, details: bool = False, subjects: dict[str, int] | None = None) -> dict[str, Any]:
        store = self.store
        state: dict[str, Any] = {
            "messages": store.msgs,
            "bytes": store.bytes,
            "first_seq": store.first_seq,
            "first_ts": format_time(store.first_ts),
            "last_seq": store.last_seq,
            "last_ts": format_time(store.last_ts),
        }
        num_subjects = store.num_subjects()
        if num_subjects:
            state["num_subjects"] = num_subjects
        if subjects:
            state["subjects"] = subjects
        if store.msgs:
            num_deleted = store.last_seq - store.first_seq + 1 - store.msgs
            if num_deleted:
                state["num_deleted"] = num_deleted
                if details:
                    state["deleted"] = store.deleted()
        lost = store.state().lost
        if lost is not None:
            state["lost"] = {"msgs": lost.msgs, "bytes": lost.bytes}  # what a damaged store lost
        state["consumer_count"] = len(self.consumers)
        return state

    def info(
        self,
        *,
        dynamic: bool = True,
        cluster: bool = False,
        details: bool = False,
        subjects: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """StreamInfo; `dynamic` adds the `_nats.ver`/`_nats.level` metadata of direct replies."""

        config = versioning.with_dynamic_metadata(self.config) if dynamic else self.config
        info: dict[str, Any] = {
            "config": config,
            "created": format_time(self.created),
            "state": self.state(details, subjects),
        }
        if cluster:
            info["cluster"] = {"leader": self.server.server_name}
        self.sourcing.add_info(info)
        info["ts"] = format_time(self._clock.now_ns())
        return info

    # -- removal

    def purge(self, filter_subject: str | None = None, seq: int = 0, keep: int = 0) -> int:
        purged = self.store.purge(filter_subject, seq, keep)
        first = self.store.first_seq
        if filter_subject:
            nxt = self.store.load_next(first, filter_subject)
            first = nxt.seq if nxt is not None else self.store.last_seq + 1
        for consumer in list(self.consumers.values()):
            hook = getattr(consumer, "on_purge", None)
            if hook is not None:
                hook(filter_subject, first)
        self.js.dirty.add(self)
        return purged

    def remove_msg(self, seq: int, erase: bool = False) -> bool:
        """Drop one message (acks on workqueue and interest streams, MSG.DELETE, limits, age),
        overwriting its bytes when `erase`; the consumers hear of it through `on_removed`."""
        if not self.consumers:
            removed = self.store.remove(seq, erase)
        else:
            msg = self.store.load(seq)
            removed = msg is not None and self.store.remove(seq, erase)
            if removed:
                for consumer in list(self.consumers.values()):
                    hook = getattr(consumer, "on_removed", None)
                    if hook is not None:
                        hook(seq, msg.subject)
        if removed:
            self.js.dirty.add(self)
        return removed

    def rebuild_dedupe(self) -> None:
        """After recovery: the message ids still inside the duplicate window, and the last id.

        Only messages with headers can carry an id, and the store skips the others cheaply."""
        store = self.store
        if not store.msgs:
            return
        window = self.config.get("duplicate_window", 0)
        if window:
            msg = store.load_next_with_headers(store.seq_for_time(self._clock.now_ns() - window))
            while msg is not None:
                raw = header(msg.headers, MSG_ID)
                if raw:
                    self._record(raw.decode(), msg.seq, msg.ts)
                msg = store.load_next_with_headers(msg.seq + 1)
        last = store.load_last()
        raw = header(last.headers, MSG_ID) if last is not None and last.headers else None
        self.last_msg_id = raw.decode() if raw else ""

    # -- persistence

    def write_meta(self) -> None:
        """`meta.inf`: the config and the created time, replaced atomically."""
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        doc = {"created": format_time(self.created), "config": self.config}
        write_atomic(self.directory / META_FILE, json.dumps(doc, indent=2).encode())


def stream_dir(jsa: JsAccount, name: str, storage: str) -> Path | None:
    """Where a stream lives on disk; None for memory streams and memory-only servers."""
    folder = jsa.js.account_dir(jsa.name)
    if folder is None or storage == MEMORY:
        return None
    return folder / name


def create_stream(jsa: JsAccount, config: dict[str, Any]) -> Stream:
    """A new stream from a checked config: registered, persisted and listening."""
    stream = Stream(
        jsa, config, jsa.server.clock.now_ns(), stream_dir(jsa, config["name"], config["storage"])
    )
    stream.write_meta()
    jsa.streams[stream.name] = stream
    stream.start()
    return stream


def recover_stream(jsa: JsAccount, path: Path) -> Stream | None:
    """Load a file stream from its folder at start; a folder without a readable meta is skipped."""
    try:
        doc = json.loads((path / META_FILE).read_text())
        config = stream_config.normalize(doc["config"])
        created = parse_time(doc["created"])
    except (OSError, ValueError, KeyError) as exc:
        log.warning("Skipping stream folder %s: %s", path, exc)
        return None
    stream = Stream(jsa, config, created, path)
    for warning in getattr(stream.store, "warnings", []):
        log.warning("Stream %s > %s: %s", jsa.name, stream.name, warning)
    stream.rebuild_dedupe()
    jsa.streams[stream.name] = stream
    stream.start()
    from devserver.jetstream.consumer_api import recover_consumers  # noqa: PLC0415 - it imports us

    recover_consumers(stream)
    log.info("  Restored stream %s > %s", jsa.name, stream.name)
    return stream


def lookup(jsa: JsAccount, name: str) -> Stream:
    stream = jsa.streams.get(name)
    if stream is None:
        raise ApiError("JSStreamNotFoundErr")
    return stream
