"""The NATS/1.0 header block (ADR-4): parse, build, and the status lines the server sends."""

from __future__ import annotations

VERSION_LINE = b"NATS/1.0"


def parse(block: bytes) -> tuple[int | None, str, dict[str, list[str]]]:
    """Return (status, description, headers) of a header block; keys keep their case."""
    lines = block.split(b"\r\n")
    first = lines[0]
    status: int | None = None
    description = ""
    rest = first[len(VERSION_LINE) :].strip()
    if rest:
        code, _, text = rest.partition(b" ")
        if code.isdigit():
            status = int(code)
            description = text.decode(errors="replace").strip()
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        if not line:
            continue
        key, sep, value = line.partition(b":")
        if not sep:
            continue
        headers.setdefault(key.decode(errors="replace"), []).append(value.strip().decode(errors="replace"))
    return status, description, headers


def get(block: bytes, key: bytes) -> bytes | None:
    """Fast lookup of one header's first value, the way nats-server searches: CRLF + key + ':'."""
    at = block.find(b"\r\n" + key + b":")
    if at < 0:
        return None
    start = at + len(key) + 3
    stop = block.find(b"\r\n", start)
    return block[start : stop if stop >= 0 else len(block)].strip()


def build(
    headers: dict[str, str | list[str]] | None = None, status: int | None = None, description: str = ""
) -> bytes:
    """A complete header block ending with the blank line."""
    first = VERSION_LINE
    if status is not None:
        first += b" %d" % status
        if description:
            first += b" " + description.encode()
    out = [first]
    for key, value in (headers or {}).items():
        values = value if isinstance(value, list) else [value]
        out.extend(key.encode() + b": " + str(v).encode() for v in values)
    return b"\r\n".join(out) + b"\r\n\r\n"


def strip_status(block: bytes) -> bytes:
    """Drop an inline status from the first line (streams store messages without one)."""
    nl = block.find(b"\r\n")
    if block[:nl] == VERSION_LINE:
        return block
    return VERSION_LINE + block[nl:]


def put(block: bytes, key: bytes, value: bytes) -> bytes:
    """The header block with `key`'s first line set to `value` in place, or appended."""
    lines = block[:-4].split(b"\r\n")
    prefix = key + b":"
    for i, line in enumerate(lines[1:], 1):
        if line.startswith(prefix):
            lines[i] = key + b": " + value
            break
    else:
        lines.append(key + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def drop(block: bytes, *prefixes: bytes) -> bytes:
    """The header block without the lines whose name starts with one of `prefixes`."""
    lines = block[:-4].split(b"\r\n")
    kept = [lines[0]] + [line for line in lines[1:] if not line.split(b":", 1)[0].startswith(prefixes)]
    return b"\r\n".join(kept) + b"\r\n\r\n"
