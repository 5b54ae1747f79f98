"""JetStream for devserver: streams, consumers and the `$JS.API` they are managed through.

Driven by the server (messages routed to internal subscriptions) and its clock; no asyncio here
except timers scheduled on `server.loop`. `JetStream` (jetstream.py) is the entry point the
server starts; `api.py` dispatches requests to the handler modules it lists.
"""

from devserver.jetstream.jetstream import JetStream

__all__ = ["JetStream"]
