"""Stream snapshots over NATS: the backup and restore wire flows, on nats-py primitives.

Owns natscli's backup directory layout (`backup.json` + `stream.tar.s2`) and the two flows:
- backup: subscribe to an inbox, ask `STREAM.SNAPSHOT.<s>` to deliver there; acknowledge each
  chunk by publishing an empty message to its reply subject (that opens the server's window),
  write it straight to the data file; an empty message with status 204 ends the stream, any other
  status is the server giving up (408 no flow/interest, 500 with its reason).
- restore: `STREAM.RESTORE.<s>` gives a subject; send the data file to it in chunks, each a request
  (a window of them in flight, every one answered, empty = stored); an empty request ends it and
  is answered with the new stream's info.
The data file is kept as the server sent it (opaque: S2-framed tar on nats-server); only its S2
frame headers are read, to count the uncompressed bytes for progress. Imports nats-py through the
client; no terminal output (callers pass `notify`).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nats_cli.errors import ApiError, CliError

if TYPE_CHECKING:
    from nats_cli.client import Client

META_FILE = "backup.json"
DATA_FILE = "stream.tar.s2"
DEFAULT_CHUNK = 128 * 1024  # what jsm.go asks for when no --chunk-size is given
RESTORE_CHUNK = 128 * 1024  # bytes per restore message
RESTORE_WINDOW = 64  # restore messages in flight (8 MiB, the server's default snapshot window)
FINISH_TIMEOUT = 3600.0  # the last restore request waits while the server rebuilds the stream
MIN_IDLE = 5.0  # a backup fails when no chunk arrives for max(this, --timeout) seconds
READ_SIZE = 1 << 20  # bytes nats-py reads from the socket at a time during a backup


@dataclass
class Progress:
    """A transfer so far; the flows update it in place and call `notify` after each chunk."""

    expected: int = 0  # backup: the stream's bytes (uncompressed); restore: the data file's size
    bytes: int = 0  # data moved, as stored in the data file
    chunks: int = 0
    uncompressed: int | None = None  # backup of S2 data: bytes after decompression
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0

    @property
    def done(self) -> int:
        """The figure that grows towards `expected`."""
        return self.uncompressed if self.uncompressed is not None else self.bytes

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started


Notify = Callable[[Progress], None]


class S2Meter:
    """Counts the uncompressed bytes of an S2 (or Snappy) framed stream from its frame headers.

    Each frame is a type byte and a 3-byte little-endian length; a compressed frame's body is a
    4-byte checksum then the block, which starts with its uncompressed length as a uvarint, and an
    uncompressed frame holds its data after the checksum. Nothing is decompressed. `count` is None
    when the stream does not start with an S2/Snappy stream identifier.
    """

    IDENTIFIERS = (b"S2sTwO", b"sNaPpY")

    def __init__(self) -> None:
        self.count: int | None = 0
        self._skip = 0  # bytes of the current frame still to come
        self._carry = b""  # the start of a frame header cut by a chunk boundary
        self._first = True

    def feed(self, data: bytes) -> None:
        if self.count is None:
            return
        if self._carry:
            data, self._carry = self._carry + data, b""
        pos, end = self._skip, len(data)
        while pos < end:
            length = int.from_bytes(data[pos + 1 : pos + 4], "little")
            want = min(4 + length, 18)  # header, checksum and the longest uvarint
            if end - pos < want:
                self._carry = data[pos:]
                pos = end
                break
            kind = data[pos]
            if self._first:
                self._first = False
                if kind != 0xFF or data[pos + 4 : pos + 4 + length] not in self.IDENTIFIERS:
                    self.count = None
                    return
            elif kind == 0x00:
                self.count += _uvarint(data, pos + 8)
            elif kind == 0x01:
                self.count += length - 4
            pos += 4 + length
        self._skip = pos - end


def _uvarint(data: bytes, pos: int) -> int:
    value = shift = 0
    while True:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value
        pos += 1
        shift += 7


def widen_reads() -> None:
    """Have connections made after this read the socket in READ_SIZE pieces.

    nats-py reads 32 KiB at a time and stops reading the socket beyond 64 KiB buffered (both from
    its module constant DEFAULT_BUFFER_SIZE); against a server streaming a snapshot as fast as it can
    compress, that lets the socket fill and the server wait, and a backup then takes up to half as
    long again as one read by a plain socket. With 1 MiB reads it keeps pace. Call before connecting.
    """
    from nats.aio import client as nats_client

    if getattr(nats_client, "DEFAULT_BUFFER_SIZE", READ_SIZE) < READ_SIZE:
        nats_client.DEFAULT_BUFFER_SIZE = READ_SIZE


def read_meta(directory: str) -> dict:
    """The backup's `{config, state}` from backup.json, checked for the parts a restore needs."""
    path = os.path.join(directory, META_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise CliError(f"{path} does not exist: is {directory} a stream backup?") from None
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read {path}: {e}") from None
    config = meta.get("config") if isinstance(meta, dict) else None
    if not isinstance(config, dict) or not config.get("name"):
        raise CliError(f"{path} is not a stream backup: it has no config with a stream name")
    if not os.path.isfile(os.path.join(directory, DATA_FILE)):
        raise CliError(f"{os.path.join(directory, DATA_FILE)} does not exist: the backup is incomplete")
    return meta


async def backup(
    client: Client,
    stream: str,
    directory: str,
    *,
    consumers: bool = True,
    chunk_size: int | None = None,
    window_size: int | None = None,
    check: bool = False,
    notify: Notify | None = None,
) -> tuple[dict, Progress]:
    """Snapshot `stream` into `directory`; returns the server's `{config, state}` and the figures.

    backup.json is written last, so a directory without it holds no finished backup; a failed
    transfer removes its partial data file (and the directory, when it made it).
    """
    nc = client.nc
    made = not os.path.isdir(directory)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    data_path = os.path.join(directory, DATA_FILE)
    progress = Progress()
    meter = S2Meter()
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[CliError | None] = loop.create_future()  # None = complete
    last_chunk = time.monotonic()
    announced = False  # notify only once the reply has said how much to expect
    out = os.fdopen(os.open(data_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")

    async def on_message(msg: Any) -> None:
        nonlocal last_chunk
        data = msg.data
        if data:
            if msg.reply:  # ack first: the data is in memory, the server may send the next
                await nc.publish(msg.reply, b"")
            try:
                out.write(data)
            except OSError as e:
                if not finished.done():
                    finished.set_result(CliError(f"cannot write {data_path}: {e.strerror or e}"))
                return
            progress.bytes += len(data)
            progress.chunks += 1
            meter.feed(data)
            progress.uncompressed = meter.count
            last_chunk = time.monotonic()
            if announced and notify is not None:
                notify(progress)
        elif not finished.done():
            headers = msg.headers or {}
            status = headers.get("Status", "")
            if status and status != "204":
                said = f"{status} {headers.get('Description', '')}".strip()
                finished.set_result(CliError(f"backup failed: the server ended the snapshot with {said}"))
            else:
                finished.set_result(None)

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=on_message, pending_msgs_limit=0, pending_bytes_limit=0)
    ok = False
    try:
        request: dict[str, Any] = {
            "deliver_subject": inbox,
            "no_consumers": not consumers,
            "chunk_size": chunk_size or DEFAULT_CHUNK,
        }
        if window_size:
            request["window_size"] = window_size
        if check:
            request["jsck"] = True
        try:
            reply = await client.api(client.subjects.stream_snapshot(stream), request)
        except ApiError as e:
            raise await _refused(client, stream, e) from None
        meta = {"config": reply.get("config") or {}, "state": reply.get("state") or {}}
        progress.expected = int(meta["state"].get("bytes") or 0)
        if notify is not None:
            notify(progress)
            announced = True
        idle = max(MIN_IDLE, client.timeout)
        while not finished.done():
            try:
                await asyncio.wait_for(asyncio.shield(finished), idle)
            except TimeoutError:
                if time.monotonic() - last_chunk >= idle:
                    raise CliError(
                        f"backup timed out: no data received from the server for {idle:g}s"
                    ) from None
        failure = finished.result()
        if failure is not None:
            raise failure
        out.close()
        progress.ended = time.monotonic()
        _write_json(os.path.join(directory, META_FILE), meta)
        ok = True
        return meta, progress
    finally:
        out.close()
        if not ok:
            _remove(data_path)
            if made:
                _remove(directory)
        try:
            await sub.unsubscribe()
        except Exception:  # the connection may be gone already; nothing left to undo
            pass


async def _refused(client: Client, stream: str, error: ApiError) -> CliError:
    """A snapshot refusal, explained when it is about memory storage."""
    try:
        storage = (await client.stream_info(stream))["config"].get("storage")
    except CliError:
        return error
    if storage == "memory":
        return CliError(
            f"the server cannot back up Stream {stream}: it uses memory storage, and snapshots "
            f"are of file storage only (server: {error.description})"
        )
    return error


async def restore(
    client: Client,
    directory: str,
    *,
    config: dict | None = None,
    notify: Notify | None = None,
) -> tuple[dict, Progress]:
    """Restore the backup in `directory` as a new stream; returns the stream's info and the figures.

    `config` replaces the backup's configuration but must keep its stream name: the server ties
    the data to the name. Fails when the stream exists.
    """
    nc = client.nc
    meta = read_meta(directory)
    name = meta["config"]["name"]
    cfg = dict(config) if config else meta["config"]
    cfg.setdefault("name", name)
    if cfg["name"] != name:
        raise CliError(
            f'stream names may not be changed during restore: the backup is of Stream "{name}", '
            f'the configuration names "{cfg["name"]}"'
        )
    if await stream_exists(client, name):
        raise CliError(f'Stream "{name}" already exists: remove it first to restore the backup')
    data_path = os.path.join(directory, DATA_FILE)
    progress = Progress(expected=os.path.getsize(data_path))
    request = {"config": cfg, "state": meta.get("state") or {}}
    reply = await client.api(client.subjects.stream_restore(name), request)
    deliver = reply.get("deliver_subject")
    if not deliver:
        raise CliError(f"the server did not say where to send the data: {json.dumps(reply)[:200]}")

    in_flight = 0
    opened = asyncio.Event()
    failure: list[str] = []

    async def on_reply(msg: Any) -> None:
        nonlocal in_flight
        in_flight -= 1
        if msg.data and not failure:
            failure.append(_error_text(msg.data))
        if in_flight < RESTORE_WINDOW:
            opened.set()

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=on_reply, pending_msgs_limit=0, pending_bytes_limit=0)
    try:
        with open(data_path, "rb") as f:
            while chunk := f.read(RESTORE_CHUNK):
                while in_flight >= RESTORE_WINDOW and not failure:
                    opened.clear()
                    await _wait(opened, client.timeout)
                if failure:
                    break
                await nc.publish(deliver, chunk, reply=inbox)
                in_flight += 1
                progress.bytes += len(chunk)
                progress.chunks += 1
                if notify is not None:
                    notify(progress)
        while in_flight > 0 and not failure:
            opened.clear()
            await _wait(opened, client.timeout)
        if failure:
            raise CliError(f"restore failed: {failure[0]}")
    finally:
        try:
            await sub.unsubscribe()
        except Exception:  # the connection may be gone already; nothing left to undo
            pass
    final = await nc.request(deliver, b"", timeout=FINISH_TIMEOUT)
    progress.ended = time.monotonic()
    try:
        info = json.loads(final.data)
    except ValueError:
        raise CliError(f"restore failed: unexpected final reply {final.data[:200]!r}") from None
    err = info.get("error") if isinstance(info, dict) else None
    if err:
        raise ApiError(int(err.get("code", 0)), int(err.get("err_code", 0)), str(err.get("description", "")))
    return info, progress


async def _wait(event: asyncio.Event, timeout: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        raise CliError(f"restore stalled: the server did not acknowledge data for {timeout:g}s") from None


def _error_text(data: bytes) -> str:
    try:
        err = json.loads(data).get("error") or {}
        return f"{err.get('description', '')} (code {err.get('code', 0)}, err_code {err.get('err_code', 0)})"
    except (ValueError, AttributeError):
        return data.decode(errors="replace")[:200]


async def stream_exists(client: Client, name: str) -> bool:
    try:
        await client.stream_info(name)
    except ApiError as e:
        if e.code == 404:
            return False
        raise
    return True


def _write_json(path: str, obj: object) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def _remove(path: str) -> None:
    """Remove a file, or an empty directory; anything else stays."""
    try:
        if os.path.isdir(path):
            os.rmdir(path)
        else:
            os.remove(path)
    except OSError:
        pass
