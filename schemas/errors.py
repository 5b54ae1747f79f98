"""JetStream API errors with nats-server's numbers and words, read from `errors.json`.

Owns the error catalogue: every entry of nats-server's `server/errors.json`, keyed by its constant
name (`JSStreamNotFoundErr`), with the HTTP-like `code`, the stable `err_code` and the
`description` template whose `{placeholders}` are filled per error. Standard library only.

    error("JSStreamNotFoundErr")   -> {"code": 404, "err_code": 10059, "description": "stream not found"}
    error("JSSequenceNotFoundErrF", seq=5)  -> {..., "description": "sequence 5 not found"}
    by_err_code(10059).name        -> "JSStreamNotFoundErr"
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["ApiError", "ErrorDef", "by_err_code", "catalogue", "error", "get"]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class ApiError:
    """One error as it travels in a response: `{"code", "err_code", "description"}`."""

    code: int
    err_code: int
    description: str

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ApiError:
        return cls(int(doc["code"]), int(doc.get("err_code", 0)), str(doc.get("description", "")))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def is_a(self, name: str) -> bool:
        """True when this error is the catalogue entry `name` (compared by err_code)."""
        return self.err_code == get(name).err_code

    def __str__(self) -> str:
        return f"{self.description} (code {self.code}, err_code {self.err_code})"


@dataclass(frozen=True)
class ErrorDef:
    """A catalogue entry: nats-server's constant name and its description template."""

    name: str
    code: int
    err_code: int
    description: str

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.description))

    def fill(self, **values: object) -> ApiError:
        """The error with every placeholder replaced; a missing or unknown one raises ValueError."""
        wanted, given = set(self.placeholders), set(values)
        if wanted != given:
            raise ValueError(f"{self.name} takes {sorted(wanted)}, got {sorted(given)}")
        text = _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), self.description)
        return ApiError(self.code, self.err_code, text)


@functools.cache
def catalogue() -> Mapping[str, ErrorDef]:
    """Every error by constant name, in err_code order."""
    from importlib import resources

    raw = json.loads(resources.files(__package__).joinpath("errors.json").read_text(encoding="utf-8"))
    return MappingProxyType({name: ErrorDef(name, **entry) for name, entry in raw.items()})


@functools.cache
def _by_code() -> Mapping[int, ErrorDef]:
    return MappingProxyType({entry.err_code: entry for entry in catalogue().values()})


def get(name: str) -> ErrorDef:
    """The catalogue entry for a nats-server constant name; KeyError if there is none."""
    return catalogue()[name]


def by_err_code(err_code: int) -> ErrorDef:
    """The catalogue entry with this err_code; KeyError if there is none."""
    return _by_code()[err_code]


def error(name: str, **placeholders: object) -> dict[str, Any]:
    """The `error` object of an API response for `name`, placeholders filled in."""
    return get(name).fill(**placeholders).as_dict()
