"""Per-account JetStream state: streams, limits, usage, and `$JS.API.INFO`.

Owns `JsAccount` (nats-server's jsAccount): the streams of one account, its JetStream limits
(`AccountLimits`, -1 = unlimited), the API counters, the reservation checks made when a stream
is created or updated (account limits and the server's `max_mem`/`max_file`), and the
account-info response. May import: schemas, devserver.jetstream.api.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from devserver.jetstream.api import ApiError, Request, Route
from devserver.version import API_LEVEL
from schemas import subjects

if TYPE_CHECKING:
    from devserver.jetstream.jetstream import JetStream
    from devserver.jetstream.streams import Stream
    from devserver.server import Account


MEMORY = "memory"
FILE = "file"


@dataclass
class AccountLimits:
    """JetStreamAccountLimits, in nats-server's JSON key order; -1 = unlimited."""

    max_memory: int = -1
    max_storage: int = -1
    max_streams: int = -1
    max_consumers: int = -1
    max_ack_pending: int = -1
    memory_max_stream_bytes: int = -1
    storage_max_stream_bytes: int = -1
    max_bytes_required: bool = False


class _JetStreamClient:
    """The publisher of JetStream's own messages (API replies, acks, direct gets)."""

    echo = True
    no_responders = False


JS_CLIENT = _JetStreamClient()


class JsAccount:
    """The JetStream side of one account."""

    def __init__(
        self, js: JetStream, account: Account, limits: AccountLimits | None = None, enabled: bool = True
    ) -> None:
        self.js = js
        self.enabled = enabled  # False: the account has no JetStream and every request gets 10039
        self.server = js.server
        self.account = account
        self.name = account.name
        self.limits = limits or AccountLimits()
        self.streams: dict[str, Stream] = {}
        self.api_total = 0
        self.api_errors = 0
        self._route = js.server.route
        self.api_subs: list = []

    # -- messaging

    def send(self, subject: str | bytes, payload: bytes, headers: bytes | None = None) -> None:
        """Publish as the server inside this account (a reply, an ack, an advisory)."""
        if isinstance(subject, str):
            subject = subject.encode()
        if headers is None:
            self._route(JS_CLIENT, self.account, subject, None, -1, payload)
        else:
            self._route(JS_CLIENT, self.account, subject, None, len(headers), headers + payload)

    # -- usage and limits

    def usage(self) -> tuple[int, int]:
        """Bytes used by memory streams and by file streams (accounted sizes)."""
        mem = store = 0
        for stream in self.streams.values():
            if stream.storage == MEMORY:
                mem += stream.store_bytes()
            else:
                store += stream.store_bytes()
        return mem, store

    def reserved(self, exclude: Stream | None = None) -> tuple[int, int]:
        """Sum of `max_bytes` of the streams that set it, per storage type."""
        mem = store = 0
        for stream in self.streams.values():
            max_bytes = stream.config["max_bytes"]
            if stream is exclude or max_bytes <= 0:
                continue
            if stream.config["storage"] == MEMORY:
                mem += max_bytes
            else:
                store += max_bytes
        return mem, store

    def check_reservation(self, config: dict[str, Any], current: Stream | None = None) -> None:
        """Would a stream with this config fit in the account's and the server's limits?

        nats-server's checkLimits/checkBytesLimits: a stream without max_bytes reserves one
        byte; an update first gives back the stream's own reservation.
        """
        limits = self.limits
        if config["max_consumers"] > 0 and 0 < limits.max_consumers < config["max_consumers"]:
            raise ApiError("JSMaximumConsumersLimitErr")
        add = config["max_bytes"] if config["max_bytes"] > 0 else 1
        mem_res, store_res = self.reserved(exclude=current)
        server_mem, server_store = self.js.reserved(exclude=current)
        if config["storage"] == MEMORY:
            limit = limits.max_memory
            if limit >= 0 and (mem_res > limit or add > limit - mem_res):
                raise ApiError("JSMemoryResourcesExceededErr")
            cap = self.js.max_memory
            if server_mem > cap or add > cap - server_mem:
                raise ApiError("JSMemoryResourcesExceededErr")
        else:
            if limits.max_storage >= 0 and (
                store_res > limits.max_storage or add > limits.max_storage - store_res
            ):
                raise ApiError("JSStorageResourcesExceededErr")
            cap = self.js.max_store
            if server_store > cap or add > cap - server_store:
                raise ApiError("JSStorageResourcesExceededErr")

    def check_max_bytes(self, config: dict[str, Any]) -> None:
        """The account's max_bytes_required and per-stream byte caps (checkStreamCfg)."""
        limits = self.limits
        cap = (
            limits.memory_max_stream_bytes if config["storage"] == MEMORY else limits.storage_max_stream_bytes
        )
        if limits.max_bytes_required and config["max_bytes"] <= 0:
            raise ApiError("JSStreamMaxBytesRequired")
        if cap > 0 and config["max_bytes"] > cap:
            raise ApiError("JSStreamMaxStreamBytesExceeded")

    def would_exceed(self, storage: str, size: int) -> bool:
        """Publish-time check: would `size` more bytes pass the account's max_memory/max_storage?"""
        limit = self.limits.max_memory if storage == MEMORY else self.limits.max_storage
        if limit < 0:
            return False
        mem, store = self.usage()
        return (mem if storage == MEMORY else store) + size > limit

    # -- account info

    def info(self) -> dict[str, Any]:
        mem, store = self.usage()
        reserved_mem, reserved_store = self.reserved()
        return {
            "memory": mem,
            "storage": store,
            "reserved_memory": reserved_mem,
            "reserved_storage": reserved_store,
            "streams": len(self.streams),
            "consumers": sum(len(s.consumers) for s in self.streams.values()),
            "limits": asdict(self.limits),
            "api": {"level": API_LEVEL, "total": self.api_total, "errors": self.api_errors},
        }


def account_info(req: Request) -> dict[str, Any]:
    """`$JS.API.INFO`: the body is ignored."""
    return req.jsa.info()


HANDLERS = [Route(subjects.INFO, account_info)]
