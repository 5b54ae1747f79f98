"""devserver: a pure-Python asyncio NATS server with JetStream.

Embed it in tests::

    async with DevServer(port=0, jetstream=True) as srv:
        nc = await nats.connect(srv.client_url)

or, from synchronous code, `with ServerThread(port=0) as srv: ...`.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from devserver.config import options_from_args
from devserver.options import RANDOM_PORT, Options
from devserver.server import Server
from devserver.version import VERSION

__all__ = ["DevServer", "ServerThread", "Options", "VERSION"]


def _options(argv: list[str] | None, port: int, host: str, jetstream: bool, store_dir, **extra) -> Options:
    if "options" in extra:
        return extra["options"]
    if argv is not None:
        opts, _ = options_from_args(argv)
        return opts
    opts = Options(host=host, port=RANDOM_PORT if port in (0, -1) else port, jetstream=jetstream)
    opts.store_dir = Path(store_dir) if store_dir else None
    opts.memory_only = jetstream and store_dir is None
    for key, value in extra.items():
        if not hasattr(opts, key):
            raise TypeError(f"unknown option {key!r}")
        setattr(opts, key, value)
    return opts


class DevServer:
    """An in-process server on the running event loop; `async with` starts and stops it.

    With no `store_dir`, JetStream keeps everything in memory. `argv` takes nats-server flags
    instead of keywords; `options=` a ready Options.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        jetstream: bool = True,
        store_dir=None,
        *,
        argv: list[str] | None = None,
        **options,
    ) -> None:
        self.options = _options(argv, port, host, jetstream, store_dir, **options)
        self.server = Server(self.options)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def client_url(self) -> str:
        host = "127.0.0.1" if self.options.host in ("0.0.0.0", "") else self.options.host
        return f"nats://{host}:{self.port}"

    async def start(self) -> DevServer:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    async def __aenter__(self) -> DevServer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()


class ServerThread:
    """A DevServer on its own thread and event loop, for synchronous code and fixtures."""

    def __init__(self, argv: list[str] | None = None, **kwargs) -> None:
        self.dev = DevServer(argv=argv, **kwargs) if argv is not None else DevServer(**kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def client_url(self) -> str:
        return self.dev.client_url

    @property
    def port(self) -> int:
        return self.dev.port

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread = threading.Thread(target=self._run, name="devserver", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("devserver did not start")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.dev.start())
        except BaseException as err:  # noqa: BLE001 - handed to the starting thread
            self._error = err
            self._started.set()
            loop.close()
            return
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(self.dev.stop())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed: the event loop is a large share of a Python server's cost."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
