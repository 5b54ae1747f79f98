"""pynats: a nats-style command-line tool for NATS JetStream administration."""

__version__ = "0.1.0"
