"""Stream restores: `$JS.API.STREAM.RESTORE.<stream>` and the upload that follows it.

Owns nats-server's jsStreamRestoreRequest and processStreamRestore. The request `{config, state}`
is checked in nats-server's order (empty 10003, JSON 10025, name 10056/10128, the stream config
rules, limits, an existing stream 10130; every error reply also carries `"deliver_subject":""`),
RESTORE_CREATE goes out and the reply names `$JS.SNAPSHOT.RESTORE.<stream>.<id>`. Each chunk
sent there as a request is answered with an empty message (written out at once, so the client
sends the next one while this one is decoded, as nats-server acks a chunk once it is set aside)
and decoded (archive.py) into a store of its own, a batch of messages at a time (a file store
takes each batch's records and index columns whole: storage.import_batch); an empty chunk ends
the upload and is answered with a `stream_create_response`
(the new stream's info, or 10062 `restore failed: ...`). As in nats-server, a broken archive
still gets its chunk acked and fails on the next chunk or at the end; a chunk without a reply
subject aborts; no chunk for 5 s abandons the restore silently.

Nothing is visible before the end: a file stream is rebuilt under
`<account>/restores/<id>/` (its store fsynced, its meta.inf written) and renamed into
`streams/` only when complete, the open store moving with it; a memory stream's store is held
aside. A failed or stalled restore leaves nothing behind, and what a crash left in `restores/`
is removed when the account is recovered (`clear_leftovers`). The restored stream
has the archive's messages with their sequences (gaps included), timestamps and headers, and
its consumers with their delivery and ack state.

May import: schemas, devserver.jetstream.*. asyncio only via jetstream timers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devserver import subjects as subj
from devserver.jetstream import advisories, archive, consumer_store, stream_config, stream_events
from devserver.jetstream.api import ApiError, Request, Route, encode, envelope, error_envelope
from devserver.jetstream.consumers import Consumer
from devserver.jetstream.storage import (
    MSGS_DIR,
    FileStore,
    StoreError,
    Subjects,
    fsync_dir,
    import_batch,
    open_store,
)
from devserver.jetstream.streams import Stream, stream_dir
from devserver.jetstream.timers import Timer, Timers
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.accounts import JsAccount

log = logging.getLogger("devserver.jetstream")

STALL = 5_000_000_000  # no chunk for this long: the restore is abandoned
RESTORES_DIR = "restores"  # beside the account's streams/ folder: restores in progress
CREATE_RESPONSE = "stream_create_response"


def clear_leftovers(streams_dir: Path) -> None:
    """Remove the restores a crash interrupted (they sit beside the account's streams/ folder)."""
    shutil.rmtree(streams_dir.parent / RESTORES_DIR, ignore_errors=True)


def stream_restore(req: Request) -> dict[str, Any]:
    """The RESTORE endpoint: the checks, then where to send the archive."""
    if req.is_empty():
        raise ApiError("JSBadRequestErr")
    body = req.json()
    name = req.tokens[-1]
    raw = dict(body.get("config") or {})
    if not raw.get("name"):
        raw["name"] = name
    if raw["name"] != name:
        raise ApiError("JSStreamMismatchErr")
    if "/" in name or "\\" in name:
        raise ApiError("JSStreamNameContainsPathSeparatorsErr")
    jsa = req.jsa
    config = stream_config.check(raw, jsa)
    if 0 < jsa.limits.max_streams <= len(jsa.streams):
        raise ApiError("JSMaximumStreamsLimitErr")
    jsa.check_reservation(config)
    if name in jsa.streams:
        raise ApiError("JSStreamNameExistRestoreFailedErr")
    restore = Restore(jsa, config, advisories.client_info(jsa, req.reply))
    return {"deliver_subject": restore.subject}


class Restore:
    """One upload in progress."""

    def __init__(self, jsa: JsAccount, config: dict[str, Any], client: dict[str, Any]) -> None:
        self.jsa = jsa
        self.server = jsa.server
        self.config = config
        self.name: str = config["name"]
        self.client = client
        self.timers = Timers.of(self.server)
        self.start = self.server.clock.now_ns()
        self.id = advisories.event_id()
        self.subject = subjects.snapshot_restore(self.name, self.id)
        self.reader = archive.Reader()
        self.subjects = Subjects()
        self.size = 0
        self.error = ""
        self.directory = self._work_dir()
        self.store = open_store(self.directory, 0, self.server.options.sync_interval)
        self.headed = False
        log.info("Starting restore for stream '%s > %s'", jsa.name, self.name)
        advisories.restore_create(jsa, self.name, client)
        self._sub = self.server.subscribe(jsa.account, self.subject, self._on_chunk)
        self._timer: Timer | None = self.timers.after(STALL, self._stalled)

    def _work_dir(self) -> Path | None:
        final = stream_dir(self.jsa, self.name, self.config["storage"])
        if final is None:
            return None
        return final.parent.parent / RESTORES_DIR / self.id

    # -- the upload

    def _on_chunk(self, subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
        data = payload[hdr:] if hdr >= 0 else payload
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not reply:
            log.warning(
                "Restore for stream '%s > %s' requires reply subject for each chunk", self.jsa.name, self.name
            )
            self._close()
            self._complete()
            return
        if not data:
            self._finish(reply.decode())
            return
        if self.error:  # the archive already failed: this write fails, the upload ends here
            self._close()
            self._complete()
            self._reply(reply.decode(), self._failure())
            return
        self.size += len(data)
        self.jsa.send(reply, b"")
        self.server.flush_now()
        try:
            self._take(data)
        except (archive.ArchiveError, StoreError) as exc:
            self.error = str(exc)
        self._timer = self.timers.after(STALL, self._stalled)

    def _take(self, data: bytes) -> None:
        """Decode more of the archive into the store."""
        reader, store = self.reader, self.store
        if reader.done:
            raise archive.ArchiveError("data after the end of the archive")
        reader.feed(data)
        for batch in reader.batches():
            if not self.headed:
                self._start_at()
            import_batch(store, batch, self.subjects)
        if reader.header is not None and not self.headed:
            self._start_at()
        if reader.done and reader.last_seq > store.last_seq:
            store.skip_msgs(reader.last_seq - store.last_seq, reader.last_ts)

    def _start_at(self) -> None:
        """Before the first message: the stream begins at the archive's first sequence."""
        self.headed = True
        first = (self.reader.header or {}).get("state", {}).get("first_seq", 0)
        if first > 1:
            self.store.compact(first)

    def _stalled(self) -> None:
        self._timer = None
        log.warning("Restore for stream '%s > %s' is stalled", self.jsa.name, self.name)
        self._close()

    def _close(self) -> None:
        """Stop listening and drop the work (the store is kept only when it became the stream)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sub is not None:
            self.server.unsubscribe(self.jsa.account, self._sub)
            self._sub = None
        if self.store is not None:
            self.store.delete()
            self.store = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self._drop_restores_dir()

    def _drop_restores_dir(self) -> None:
        """The restores folder goes when no other restore is using it."""
        with contextlib.suppress(OSError):
            self.directory.parent.rmdir()

    def _complete(self) -> None:
        end = self.server.clock.now_ns()
        advisories.restore_complete(self.jsa, self.name, self.start, end, self.size, self.client)

    def _reply(self, reply: str, doc: dict[str, Any]) -> None:
        self.jsa.send(reply, encode(doc))

    def _failure(self, exc: ApiError | None = None) -> dict[str, Any]:
        if exc is None:
            exc = ApiError("JSStreamRestoreErrF", err=self.error)
        log.warning("Restore failed for stream '%s > %s': %s", self.jsa.name, self.name, exc)
        return error_envelope(CREATE_RESPONSE, exc)

    # -- the end

    def _finish(self, reply: str) -> None:
        """The last (empty) chunk: build the stream, or say why not."""
        if not self.error:
            reader = self.reader
            if reader.leftover() and not reader.done:
                self.error = archive.CORRUPT if not reader.header else "backup was truncated"
            elif not reader.done:
                self.error = "EOF" if not self.size else "backup was truncated"
        try:
            if self.error:
                raise ApiError("JSStreamRestoreErrF", err=self.error)
            stream = self._build()
        except ApiError as exc:
            if self._sub is not None:
                self.server.unsubscribe(self.jsa.account, self._sub)
                self._sub = None
            self._close()
            self._complete()
            self._reply(reply, self._failure(exc))
            return
        stream_events.stream_action(self.jsa, self.name, "create")
        self._complete()
        log.info("Completed restore for stream '%s > %s'", self.jsa.name, self.name)
        self._reply(reply, envelope(CREATE_RESPONSE, stream.info(dynamic=True)))

    def _build(self) -> Stream:
        """The stream from the restored store and the archive's consumers, registered and live."""
        jsa, name = self.jsa, self.name
        if name in jsa.streams:
            raise ApiError("JSStreamNameExistRestoreFailedErr")
        subjects_ = self.config.get("subjects", [])
        for other in jsa.streams.values():
            if any(subj.collide(a, b) for a in subjects_ for b in other.config.get("subjects", [])):
                overlap = ApiError("JSStreamSubjectOverlapErr")
                text = f"{overlap.error['description']} ({overlap.error['err_code']})"
                raise ApiError("JSStreamRestoreErrF", err=f"error adding stream: {text}")
        if self._sub is not None:
            self.server.unsubscribe(jsa.account, self._sub)
            self._sub = None
        now = self.server.clock.now_ns()
        store, self.store = self.store, None
        if self.directory is None:
            stream = Stream(jsa, self.config, now, None)
            stream.store = store
        else:
            stream = self._move_in(store, now)
        stream.rebuild_dedupe()
        consumers = [self._consumer(stream, doc) for doc in (self.reader.header or {}).get("consumers", [])]
        jsa.streams[name] = stream
        stream.start()
        for consumer in consumers:
            consumer.start()
        return stream

    def _move_in(self, store: FileStore, now: int) -> Stream:
        """The complete file stream, made durable in the work folder, renamed into streams/ at
        once; its store stays open (reopening would read back every block)."""
        work, final = self.directory, stream_dir(self.jsa, self.name, self.config["storage"])
        stream = Stream(self.jsa, self.config, now, None)
        stream.directory = work
        stream.write_meta()
        store.sync()
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, final)
        fsync_dir(final.parent)
        store.moved(final / MSGS_DIR)
        self._drop_restores_dir()
        self.directory = None
        stream.directory, stream.store = final, store
        return stream

    def _consumer(self, stream: Stream, doc: dict[str, Any]) -> Consumer:
        """A consumer as the archive recorded it: config, delivery and ack state."""
        consumer = Consumer(stream, doc["name"], doc["config"], doc["created"])
        consumer_store.apply_state(consumer, doc["state"])
        consumer.recount()
        if stream.directory is not None and consumer.durable and not doc["config"].get("mem_storage"):
            path = consumer_store.consumers_dir(stream.directory) / consumer.name
            sync = self.server.options.sync_interval == "always"
            consumer.store = consumer_store.ConsumerStore(consumer, path, sync)
            consumer.store.write_meta()
            consumer.store.sync()
        stream.consumers[consumer.name] = consumer
        return consumer


HANDLERS = [Route(subjects.STREAM_RESTORE, stream_restore, (("deliver_subject", ""),))]
