"""The JetStream API level devserver serves (nats-server's jetstream_versioning.go).

Owns the check of the `Nats-Required-Api-Level` header that newer clients put on API requests,
against the level devserver announces (devserver/version.py), and the `_nats.*` metadata keys.
May import: devserver.protocol, devserver.version.
"""

from __future__ import annotations

import re
from typing import Any

from devserver.protocol import headers
from devserver.version import API_LEVEL, VERSION

REQUIRED_LEVEL = b"Nats-Required-Api-Level"
# stream and consumer metadata: the level a config needs is stored with it; the server's
# version and level are added to create, update and info responses only
REQUIRED_LEVEL_KEY = "_nats.req.level"
SERVER_VERSION_KEY = "_nats.ver"
SERVER_LEVEL_KEY = "_nats.level"
DYNAMIC_KEYS = (SERVER_VERSION_KEY, SERVER_LEVEL_KEY)
_INTEGER = re.compile(rb"[+-]?[0-9]+")


def level_unmet(header: bytes | None) -> bool:
    """Does the request require a newer API level than ours (or name none we can read)?"""
    if not header:
        return False
    value = headers.get(header, REQUIRED_LEVEL)
    if not value:
        return False
    return not _INTEGER.fullmatch(value) or int(value) > API_LEVEL


def with_dynamic_metadata(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of a stream or consumer config for responses: server version and API level added."""
    metadata = {**config.get("metadata", {}), SERVER_VERSION_KEY: VERSION, SERVER_LEVEL_KEY: str(API_LEVEL)}
    return {**config, "metadata": dict(sorted(metadata.items()))}
