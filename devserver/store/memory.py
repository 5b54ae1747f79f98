"""The memory store: messages kept as `StoredMsg` objects beside the shared index.

Mirrors nats-server's memstore.go: accounted size is `subject + headers + payload + 16`, nothing
survives the process, `flush`/`sync` have nothing to do.

May import: devserver.store.base, devserver.store.index.
"""

from __future__ import annotations

from devserver.store.base import StoredMsg, memory_msg_size
from devserver.store.indexed import IndexedStore, subject_len


class MemoryStore(IndexedStore):
    """A stream store in memory (`storage: memory`)."""

    def _extra_column(self) -> list[StoredMsg | None]:
        return []

    def _persist_msg(
        self, seq: int, subject: str, headers: bytes | None, data: bytes, ts: int
    ) -> tuple[int, StoredMsg]:
        if headers is not None and type(headers) is not bytes:
            headers = bytes(headers)
        if type(data) is not bytes:
            data = bytes(data)
        size = memory_msg_size(subject_len(subject), len(headers) if headers else 0, len(data))
        return size, StoredMsg(seq, subject, headers, data, ts)

    def _read(self, pos: int) -> StoredMsg | None:
        return self._extra[pos]

    def _has_headers(self, pos: int) -> bool:
        return self._extra[pos].headers is not None

    def _ts_at(self, pos: int) -> int:
        return self._extra[pos].ts

    def _dropped(self, pos: int) -> None:
        self._extra[pos] = None

    def flush(self) -> None:
        """Nothing is buffered."""

    def sync(self) -> None:
        """Nothing to make durable."""

    def maybe_sync(self, now_ns: int) -> bool:
        return False

    def close(self) -> None:
        """Nothing to release."""

    def delete(self) -> None:
        self.compact(0)
