"""The JetStream engine of one server: accounts, the API subscription, server-wide limits.

Owns `JetStream` (nats-server's jetStream): it enables JetStream per account (the global
account `$G` at start), subscribes each to `$JS.API.>` and hands requests to `api.Api`,
recovers file streams from `<store_dir>/jetstream/<account>/streams/<name>/`, flushes the
stores before every output flush and closes them at stop. Server-wide `max_mem`/`max_file`
(nats-server's defaults when unset: 75% of RAM, the free disk space) cap the reservations.
May import: schemas, devserver.jetstream.*, devserver.options. asyncio only via server.loop.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from devserver.jetstream import stream_events, templates
from devserver.jetstream.accounts import MEMORY, AccountLimits, JsAccount
from devserver.jetstream.api import API_SUBSCRIPTIONS, Api
from devserver.jetstream.restore import clear_leftovers
from devserver.jetstream.streams import recover_stream
from devserver.jetstream.timers import Timers
from devserver.version import API_LEVEL

if TYPE_CHECKING:
    from devserver.jetstream.streams import Stream
    from devserver.server import Account, Server

log = logging.getLogger("devserver.jetstream")

STORE_SUBDIR = "jetstream"
SECOND = 1_000_000_000  # nats-server appends this to the configured store_dir


class JetStream:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.options = server.options
        self.api = Api(audit=stream_events.api_audit)
        self.accounts: dict[str, JsAccount] = {}
        self.memory_only = bool(self.options.memory_only)
        base = self.options.store_dir or Path(tempfile.gettempdir()) / "nats"
        self.store_dir: Path | None = None if self.memory_only else Path(base) / STORE_SUBDIR
        self.max_memory = self.options.max_mem if self.options.max_mem > 0 else _default_memory()
        self.max_store = self.options.max_file if self.options.max_file > 0 else self._default_store()
        self.dirty: set[Stream] = set()
        self.unflushed_acks = 0
        # server-wide limits are only checked per message when configured (like a test would)
        self.server_limited = self.options.max_mem > 0 or self.options.max_file > 0

    def _default_store(self) -> int:
        if self.store_dir is None:
            return _default_memory()
        try:
            self.store_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # worded as nats-server's fatal start error
            why = f"mkdir {err.filename}: {os.strerror(err.errno).lower()}"
            raise OSError(err.errno, f"could not create storage directory - {why}") from err
        return shutil.disk_usage(self.store_dir).free

    # -- lifecycle

    def start(self) -> None:
        """JetStream for `$G`, or, with an `accounts` block, for the accounts that ask for it."""
        from devserver.server import GLOBAL_ACCOUNT  # noqa: PLC0415 - server imports us lazily

        configured = self.options.accounts
        if not configured:
            self.enable_account(self.server.accounts[GLOBAL_ACCOUNT])
        else:
            self.refuse_account(self.server.account(GLOBAL_ACCOUNT))
            for name, conf in configured.items():
                account = self.server.account(name)
                js_conf = (conf or {}).get("jetstream")
                if js_conf is None:
                    self.refuse_account(account)
                else:
                    self.enable_account(account, limits_from_config(js_conf))
        self.server.before_flush.append(self.flush)
        self.server.on_stop.append(self.stop)
        sync = self.options.sync_interval
        if self.store_dir is not None and sync != "always":
            self._sync_every = int(float(sync) * SECOND)
            Timers.of(self.server).after(self._sync_every, self._sync_tick)
        log.info("Starting JetStream")
        log.info("  Store Directory: %s", self.store_dir if self.store_dir else "(memory only)")
        log.info("  API Level:       %d", API_LEVEL)

    def enable_account(self, account: Account, limits: AccountLimits | None = None) -> JsAccount:
        """Give an account JetStream: its API subscription and its recovered streams."""
        jsa = JsAccount(self, account, limits)
        account.jetstream = jsa
        self.accounts[account.name] = jsa
        api = self.api

        def on_api(subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
            header = payload[:hdr] if hdr >= 0 else None
            body = payload[hdr:] if hdr >= 0 else payload
            api.dispatch(jsa, subject.decode(), reply.decode() if reply else None, header, body)

        jsa.api_subs = [self.server.subscribe(account, subject, on_api) for subject in API_SUBSCRIPTIONS]
        self.recover(jsa)
        templates.recover(jsa)
        return jsa

    def refuse_account(self, account: Account) -> None:
        """An account without JetStream: every API request answers 10039."""
        jsa = JsAccount(self, account, enabled=False)
        api = self.api

        def on_api(subject: bytes, reply: bytes | None, hdr: int, payload: bytes) -> None:
            api.dispatch(jsa, subject.decode(), reply.decode() if reply else None, None, b"")

        jsa.api_subs = [self.server.subscribe(account, subject, on_api) for subject in API_SUBSCRIPTIONS]

    def recover(self, jsa: JsAccount) -> None:
        """Load the file streams of an account from the store directory."""
        folder = self.account_dir(jsa.name)
        if folder is None:
            return
        clear_leftovers(folder)
        if not folder.is_dir():
            return
        for path in sorted(folder.iterdir()):
            if path.is_dir():
                recover_stream(jsa, path)

    def flush(self) -> None:
        """Hand what the stores buffered to the OS before any acknowledgement leaves."""
        self.unflushed_acks = 0
        if self.dirty:
            dirty = list(self.dirty)
            self.dirty.clear()  # cleared in place: streams hold its bound `add`
            for stream in dirty:
                stream.flush()

    def _sync_tick(self) -> None:
        """The fsync policy `sync_interval`: each file store syncs what it wrote since the last."""
        now = self.server.clock.now_ns()
        for jsa in self.accounts.values():
            for stream in jsa.streams.values():
                stream.store.maybe_sync(now)
        Timers.of(self.server).after(self._sync_every, self._sync_tick)

    def stop(self) -> None:
        for jsa in self.accounts.values():
            for stream in list(jsa.streams.values()):
                try:
                    stream.close()
                except OSError as err:  # e.g. its directory was removed under us: close the others
                    log.error("Error closing stream '%s > %s': %s", jsa.name, stream.name, err)

    # -- paths and resources

    def account_dir(self, account: str) -> Path | None:
        """`<store_dir>/jetstream/<account>/streams`, or None when nothing is kept on disk."""
        if self.store_dir is None:
            return None
        return self.store_dir / account / "streams"

    def reserved(self, exclude: Stream | None = None) -> tuple[int, int]:
        """Reserved bytes of all accounts: memory, file."""
        mem = store = 0
        for jsa in self.accounts.values():
            m, s = jsa.reserved(exclude)
            mem += m
            store += s
        return mem, store

    def limits_exceeded(self, storage: str) -> bool:
        """Is the server's max_mem / max_file already used up (publish answers 10023)?"""
        total = 0
        for jsa in self.accounts.values():
            mem, store = jsa.usage()
            total += mem if storage == MEMORY else store
        return total > (self.max_memory if storage == MEMORY else self.max_store)


def limits_from_config(conf: dict) -> AccountLimits:
    """An account's `jetstream { ... }` block (config.py names) as AccountLimits."""
    names = {
        "max_mem": "max_memory",
        "max_file": "max_storage",
        "max_streams": "max_streams",
        "max_consumers": "max_consumers",
        "max_ack_pending": "max_ack_pending",
        "mem_max_stream_bytes": "memory_max_stream_bytes",
        "disk_max_stream_bytes": "storage_max_stream_bytes",
        "max_bytes_required": "max_bytes_required",
    }
    return AccountLimits(**{field: conf[key] for key, field in names.items() if key in conf})


def _default_memory() -> int:
    """nats-server's default max_mem: 75% of the machine's memory."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 3 // 4
    except (ValueError, OSError, AttributeError):
        return 1 << 34
