"""devserver: a pure-Python asyncio NATS server with JetStream."""
