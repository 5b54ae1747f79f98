"""The JetStream API level devserver serves (nats-server's jetstream_versioning.go).

Owns the check of the `Nats-Required-Api-Level` header that newer clients put on API requests,
against the level devserver announces (devserver/version.py).
May import: devserver.protocol, devserver.version.
"""

from __future__ import annotations

import re

from devserver.protocol import headers
from devserver.version import API_LEVEL

REQUIRED_LEVEL = b"Nats-Required-Api-Level"
_INTEGER = re.compile(rb"[+-]?[0-9]+")


def level_unmet(header: bytes | None) -> bool:
    """Does the request require a newer API level than ours (or name none we can read)?"""
    if not header:
        return False
    value = headers.get(header, REQUIRED_LEVEL)
    if not value:
        return False
    return not _INTEGER.fullmatch(value) or int(value) > API_LEVEL
