"""The NATS client protocol without I/O: bytes in, ops out; values in, bytes out.

Never imports asyncio, socket or time, so every rule here is testable with plain bytes.
"""

from devserver.protocol.ops import ProtocolError

__all__ = ["ProtocolError"]
