"""Messages the file store keeps decoded in memory, so reading fresh messages skips the blocks.

Owns `MsgWindow`: the messages of a run of consecutive sequences, bounded by a byte budget:
past it, the oldest go, a sixteenth of the budget at a time. The file store (file.py) keeps the
messages it wrote last in one, write-through, as nats-server keeps its newest block cached.
Every entry is a live message: the store discards one when its message is removed, so a hit
needs no more checks. A message is held as a plain `(seq, subject, headers, data, ts)` tuple,
which the garbage collector stops tracking once it has seen it (it would walk a `StoredMsg` at
every full collection), and made a `StoredMsg` when read.

May import: devserver.store.base.
"""

from __future__ import annotations

from array import array

from devserver.store.base import StoredMsg

SLOT_BYTES = 8  # a list slot, which a hole holds too
# What a message holds beside its record's length (as measured with tracemalloc): the tuple (80),
# its payload's bytes object (33, rounded up), its seq and ts ints (32 each), the list slot and
# its cost (12), allocator rounding, less the record's own framing and subject (30 + ~10).
ENTRY_BYTES = 176
GAP = 64  # sequences a window fills with holes to stay one run; a longer jump starts a new run

new_msg = tuple.__new__  # new_msg(StoredMsg, (seq, ...)) skips the named tuple's Python __new__

Entry = tuple[int, str, bytes | None, bytes, int]  # a StoredMsg's fields


class MsgWindow:
    """Messages of sequences `base`, `base + 1`, ...; None marks a sequence not held."""

    __slots__ = ("_base", "_items", "_costs", "_bytes", "_limit")

    def __init__(self, limit: int) -> None:
        self._base = 0
        self._items: list[Entry | None] = []
        self._costs = array("I")  # what each slot holds, by the estimate above
        self._bytes = 0  # their sum
        self._limit = limit

    @property
    def bytes(self) -> int:
        """Estimated memory held."""
        return self._bytes

    def get(self, seq: int) -> StoredMsg | None:
        """The message with sequence `seq`, if held."""
        i = seq - self._base
        items = self._items
        if 0 <= i < len(items):
            entry = items[i]
            if entry is not None:
                return new_msg(StoredMsg, entry)
        return None

    def follows(self, seq: int) -> bool:
        """Does `seq` come at most `GAP` sequences after the last one held?"""
        return bool(self._items) and 0 <= seq - self._base - len(self._items) <= GAP

    def put(self, seq: int, entry: Entry, size: int) -> None:
        """Hold a message, whose record is `size` bytes long; a sequence that does not follow
        the window starts it afresh."""
        items = self._items
        if seq != self._base + len(items):
            self._move_to(seq)
        items.append(entry)
        cost = ENTRY_BYTES + size
        self._costs.append(cost)
        self._bytes += cost
        if self._bytes > self._limit:
            self._evict()

    def discard(self, seq: int) -> None:
        """Forget a message (it was removed), if held."""
        i = seq - self._base
        if 0 <= i < len(self._items) and self._items[i] is not None:
            self._items[i] = None
            self._bytes -= self._costs[i] - SLOT_BYTES
            self._costs[i] = SLOT_BYTES

    def clear(self) -> None:
        self._items.clear()
        del self._costs[:]
        self._bytes = 0

    def _move_to(self, seq: int) -> None:
        """Make `seq` the next sequence: holes up to it, or a fresh start."""
        end = self._base + len(self._items)
        if self._items and end < seq <= end + GAP:
            self._items.extend([None] * (seq - end))
            self._costs.extend([SLOT_BYTES] * (seq - end))
            self._bytes += SLOT_BYTES * (seq - end)
        else:
            self.clear()
            self._base = seq

    def _evict(self) -> None:
        """Drop the oldest entries until a sixteenth of the budget is free."""
        left, target, drop = self._bytes, self._limit - self._limit // 16, 0
        for cost in self._costs:
            if left <= target:
                break
            left -= cost
            drop += 1
        del self._items[:drop]
        del self._costs[:drop]
        self._base += drop
        self._bytes = left
