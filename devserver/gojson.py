"""JSON as Go's encoding/json writes it for nats-server's monitoring port.

Owns `dumps`: json.MarshalIndent(v, "", "  ") or json.Marshal for dicts, lists, strings, ints,
floats, bools and None. Go escapes `<`, `>`, `&` and U+2028/U+2029 inside strings, keeps other
non-ASCII text as UTF-8, and writes an integral float64 without a fraction (`go_float`). The
indented form is written here rather than by `json.dumps(indent=2)`, whose pure-Python path is
twice as slow; strings go through the C string encoder either way. Standard library only.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def dumps(value: Any, indent: bool = True) -> bytes:
    if indent:
        out: list[str] = []
        _write(value, "\n", out)
        text = "".join(out)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_GO_ESCAPES).encode()


def go_float(value: float) -> float | int:
    """Go writes an integral float64 without a fraction (2, not 2.0)."""
    return int(value) if float(value).is_integer() else value


def _write(value: Any, pad: str, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = pad + "  "
        sep = "{" + inner
        for key, item in value.items():
            out.append(sep)
            out.append(encode_basestring(key))
            out.append(": ")
            _write(item, inner, out)
            sep = "," + inner
        out.append(pad + "}")
    elif kind is list:
        if not value:
            out.append("[]")
            return
        inner = pad + "  "
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _write(item, inner, out)
            sep = "," + inner
        out.append(pad + "]")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif kind is float:
        out.append(float.__repr__(value))
    else:
        raise TypeError(f"cannot encode {kind.__name__} as JSON")
