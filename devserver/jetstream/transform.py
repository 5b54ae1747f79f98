"""Subject transforms for stream `subject_transform` and `republish` (nats-server's transform.go).

Owns `compile_transform(src, dest)`: a function from a literal subject to its mapped subject, or
None when the subject does not match `src`. Supported destination forms: literal tokens, `*`
(the source's wildcards in order), a trailing `>`, `$N`, `{{wildcard(N)}}` and
`{{partition(buckets[,N...])}}` (FNV-1a of the chosen tokens, as nats-server hashes them). The
other mapping functions nats-server knows (split, slice...) are not implemented here.
May import: devserver.subjects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from devserver import subjects as subj

_WILDCARD_FN = re.compile(r"^\{\{\s*[Ww]ildcard\s*\(\s*(\d+)\s*\)\s*\}\}$")
_DOLLAR = re.compile(r"^\$(\d+)$")
_PARTITION_FN = re.compile(r"^\{\{\s*[Pp]artition\s*\(\s*(\d+)\s*((?:,\s*\d+\s*)*)\)\s*\}\}$")
LITERAL, WILDCARD, REST, PARTITION = 0, 1, 2, 3


def fnv1a_32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def compile_transform(src: str, dest: str) -> Callable[[str], str | None]:
    """`src` (default `>`) and `dest` (default: the subject unchanged) to a mapping function."""
    src = src or ">"
    src_tokens = src.split(".")
    positions = [i for i, t in enumerate(src_tokens) if t in ("*", ">")]
    dest_tokens = dest.split(".") if dest else []
    plan: list[tuple[int, Any]] = []  # (LITERAL, token) (WILDCARD, n) (REST, 0) (PARTITION, (k, [n]))
    star = 0
    for token in dest_tokens:
        found = _WILDCARD_FN.match(token) or _DOLLAR.match(token)
        part = _PARTITION_FN.match(token)
        if part:
            indexes = [int(n) - 1 for n in re.findall(r"\d+", part.group(2))]
            plan.append((PARTITION, (int(part.group(1)), indexes)))
        elif found:
            plan.append((WILDCARD, int(found.group(1)) - 1))
        elif token == "*":
            plan.append((WILDCARD, star))
            star += 1
        elif token == ">":
            plan.append((REST, 0))
        else:
            plan.append((LITERAL, token))

    def apply(subject: str) -> str | None:
        if not subj.match(subject, src):
            return None
        if not plan:
            return subject
        tokens = subject.split(".")
        values = []
        for i in positions:
            values.append(".".join(tokens[i:]) if src_tokens[i] == ">" else tokens[i])
        out = []
        for kind, arg in plan:
            if kind == WILDCARD:
                out.append(values[arg] if 0 <= arg < len(values) else "")
            elif kind == REST:
                out.append(values[-1] if values and src_tokens[-1] == ">" else "")
            elif kind == PARTITION:
                buckets, indexes = arg
                key = "".join(values[i] for i in indexes) if indexes else subject
                out.append(str(fnv1a_32(key.encode()) % buckets) if buckets else "0")
            else:
                out.append(arg)
        return ".".join(out)

    return apply
