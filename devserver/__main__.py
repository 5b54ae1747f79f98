"""python -m devserver: run the server with nats-server's flags and log format."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time

from devserver import DevServer, new_event_loop
from devserver.config import ConfigError, options_from_args
from devserver.options import USAGE, Options, UsageError
from devserver.server import StartError
from devserver.version import VERSION


class _NatsFormatter(logging.Formatter):
    """`[pid] 2026/11/28 04:59:55.949555 [INF] text`, as nats-server logs."""

    LEVELS = {"DEBUG": "DBG", "INFO": "INF", "WARNING": "WRN", "ERROR": "ERR", "CRITICAL": "FTL"}

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(record.created))
        micros = int((record.created % 1) * 1_000_000)
        level = self.LEVELS.get(record.levelname, record.levelname[:3])
        return f"[{os.getpid()}] {stamp}.{micros:06d} [{level}] {record.getMessage()}"


def setup_logging(opts: Options) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_NatsFormatter())
    logger = logging.getLogger("devserver")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if opts.debug or opts.trace else logging.INFO)
    logger.propagate = False


async def serve(opts: Options) -> None:
    dev = DevServer(options=opts)
    await dev.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logging.getLogger("devserver").info("Trapped signal; stopping")
    await dev.stop()


def main(argv: list[str] | None = None, defaults: list[str] | None = None) -> int:
    """Run until SIGINT/SIGTERM; `defaults` are flags applied before the user's (pynats devserver)."""
    try:
        opts, action = options_from_args([*(defaults or []), *(sys.argv[1:] if argv is None else argv)])
    except UsageError as err:
        print(f"devserver: {err}\n\n{USAGE}", file=sys.stderr)
        return 1
    except ConfigError as err:
        print(f"devserver: configuration error: {err}", file=sys.stderr)
        return 1
    if action == "help":
        print(USAGE)
        return 0
    if action == "version":
        print(f"nats-server: v{VERSION} (devserver)")
        return 0
    setup_logging(opts)
    loop = new_event_loop()
    try:
        loop.run_until_complete(serve(opts))
    except StartError as err:
        logging.getLogger("devserver").critical("%s", err)
        return 1
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
