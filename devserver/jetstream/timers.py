"""Deadlines on the server's clock, fired from its event loop: JetStream's only notion of time.

Owns `Timers`, one per server (`Timers.of(server)`): callbacks due at a `server.clock.now_ns()`
deadline. A single loop timer is armed for the earliest deadline; when it fires, everything
due by the clock runs. With a `ManualClock`, tests move time with `clock.advance()` and call
`run_due()` (on the loop's thread) instead of sleeping. Ack wait, heartbeats, pull request
expiry and inactivity deletes are all scheduled here.

May import: the standard library. Uses asyncio only through `server.loop`.
"""

from __future__ import annotations

import heapq
import itertools
import weakref
from collections.abc import Callable
from typing import Any

_BY_SERVER: weakref.WeakKeyDictionary[Any, Timers] = weakref.WeakKeyDictionary()


class Timer:
    """A scheduled callback; `cancel()` makes it a no-op."""

    __slots__ = ("deadline", "callback", "cancelled")

    def __init__(self, deadline: int, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback: Callable[[], None] | None = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.callback = None  # a cancelled timer keeps nothing alive


class Timers:
    """A heap of deadlines (clock nanoseconds) with one loop timer for the earliest."""

    def __init__(self, server: Any) -> None:
        self._server = weakref.ref(server)  # the registry is weak on servers: no cycle back
        self.clock = server.clock
        self._heap: list[tuple[int, int, Timer]] = []
        self._ids = itertools.count()
        self._handle = None
        self._armed_for: int | None = None

    @classmethod
    def of(cls, server: Any) -> Timers:
        """The server's timers, created on first use."""
        timers = _BY_SERVER.get(server)
        if timers is None:
            timers = _BY_SERVER[server] = cls(server)
        return timers

    def now(self) -> int:
        return self.clock.now_ns()

    def at(self, deadline: int, callback: Callable[[], None]) -> Timer:
        """Run `callback` once the clock reaches `deadline` (ns)."""
        timer = Timer(deadline, callback)
        heapq.heappush(self._heap, (deadline, next(self._ids), timer))
        if self._armed_for is None or deadline < self._armed_for:
            self._arm()
        return timer

    def after(self, delay: int, callback: Callable[[], None]) -> Timer:
        """Run `callback` `delay` nanoseconds from now."""
        return self.at(self.clock.now_ns() + delay, callback)

    def run_due(self) -> int:
        """Fire every timer whose deadline has passed; returns how many ran."""
        ran = 0
        heap = self._heap
        while heap:
            deadline, _, timer = heap[0]
            if timer.cancelled:
                heapq.heappop(heap)
                continue
            if deadline > self.clock.now_ns():
                break
            heapq.heappop(heap)
            callback, timer.callback = timer.callback, None
            timer.cancelled = True
            ran += 1
            if callback is not None:
                callback()
        self._arm()
        return ran

    def _arm(self) -> None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_for = None
        server = self._server()
        loop = server.loop if server is not None else None
        if not heap or loop is None:
            return
        deadline = heap[0][0]
        delay = max(0.0, (deadline - self.clock.now_ns()) / 1e9)
        self._armed_for = deadline
        self._handle = loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_for = None
        self.run_due()
