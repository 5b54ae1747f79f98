"""Subject transforms for stream `subject_transform` and `republish` (nats-server's transform.go).

Owns `compile_transform(src, dest)`: a function from a literal subject to its mapped subject, or
None when the subject does not match `src`. Supported destination forms: literal tokens, `*`
(the source's wildcards in order), a trailing `>`, `$N` and `{{wildcard(N)}}`. The mapping
functions nats-server also knows (partition, split, slice...) are not implemented here.
May import: devserver.subjects.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from devserver import subjects as subj

_WILDCARD_FN = re.compile(r"^\{\{\s*[Ww]ildcard\s*\(\s*(\d+)\s*\)\s*\}\}$")
_DOLLAR = re.compile(r"^\$(\d+)$")
LITERAL, WILDCARD, REST = 0, 1, 2


def compile_transform(src: str, dest: str) -> Callable[[str], str | None]:
    """`src` (default `>`) and `dest` (default: the subject unchanged) to a mapping function."""
    src = src or ">"
    src_tokens = src.split(".")
    positions = [i for i, t in enumerate(src_tokens) if t in ("*", ">")]
    dest_tokens = dest.split(".") if dest else []
    plan: list[tuple[int, str | int]] = []  # (LITERAL, token) (WILDCARD, n) (REST, 0)
    star = 0
    for token in dest_tokens:
        found = _WILDCARD_FN.match(token) or _DOLLAR.match(token)
        if found:
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
            else:
                out.append(arg)
        return ".".join(out)

    return apply
