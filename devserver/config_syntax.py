"""nats-server's configuration file syntax (conf/lex.go, conf/parse.go): text -> values.

`key value`, `key: value` or `key = value`; maps in braces, arrays in brackets; entries end at a
newline, `,` or `;`; comments start with `#` or `//`; strings may be quoted or bare; numbers may
carry a size suffix (1k = 1000, 1kb = 1024, 1G, 512MB); `$NAME` refers to a variable defined
earlier or in the environment; `include file` reads another file. Every value remembers its
line, and every error names the file and the line. Also here: the typed accessors the option
modules use, and Go's duration syntax.

May import: the standard library only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


class ConfigError(Exception):
    """A file nats-server would refuse: `file:line: reason` (no line for whole-file checks)."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")
        self.line = line
        self.reason = reason


class Value:
    """A parsed value with the line it came from, so semantic errors can point at it."""

    __slots__ = ("value", "line")

    def __init__(self, value, line: int) -> None:
        self.value = value
        self.line = line


_INTEGER = re.compile(r"-?\d+")
_SIZED = re.compile(r"(-?\d+)([kmgtpe][bi]*)", re.IGNORECASE)
_FLOAT = re.compile(r"-?\d+\.\d+")
_BAD_FLOAT = re.compile(r"-?\d+\.\d+[^\d.]")
# conf/parse.go: k, m, g ... are powers of 1000; kb, ki, kib ... powers of 1024
_SUFFIXES = {
    s + tail: (1024 if tail else 1000) ** (i + 1)
    for i, s in enumerate("kmgtpe")
    for tail in ("", "b", "i", "ib")
}
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _number(text: str, fail, line: int):
    """A bare value as conf/lex.go reads it: 10, -1, 1.5, 512MB (2**20 each), 1G (10**9 each);
    anything else starting with a digit (127.0.0.1:4222, 10s, 100B) is a string."""
    if _INTEGER.fullmatch(text):
        return int(text)
    sized = _SIZED.fullmatch(text)
    if sized:
        factor = _SUFFIXES.get(sized.group(2).lower())
        if factor is None:
            raise fail(f"invalid size suffix in {text!r}", line)
        return int(sized.group(1)) * factor
    if _FLOAT.fullmatch(text):
        return float(text)
    if _BAD_FLOAT.match(text):
        raise fail(f"expected a number, got {text!r}", line)
    return text


class _Reader:
    def __init__(self, text: str, path: Path) -> None:
        self.text = text
        self.path = path
        self.pos = 0
        self.line = 1
        self.variables: dict[str, object] = {}
        self.used: set[str] = set()

    def fail(self, reason: str, line: int | None = None) -> ConfigError:
        return ConfigError(self.path, line or self.line, reason)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, newlines: bool = True) -> None:
        """Skip blanks and comments (and entry separators when `newlines`)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\n":
                if not newlines:
                    return
                self.line += 1
                self.pos += 1
            elif ch in " \t\r" or (newlines and ch in ",;"):
                self.pos += 1
            elif ch == "#" or self.text.startswith("//", self.pos):
                while self.pos < len(self.text) and self.text[self.pos] != "\n":
                    self.pos += 1
            else:
                return

    def parse_map(self, closing: str = "") -> dict[str, Value]:
        out: dict[str, Value] = {}
        while True:
            self.skip()
            ch = self.peek()
            if not ch:
                if closing:
                    raise self.fail(f"unexpected end of file, missing '{closing}'")
                return out
            if ch == closing:
                self.pos += 1
                return out
            line = self.line
            key = self.key()
            self.skip(newlines=False)
            if self.peek() in ":=":
                self.pos += 1
                self.skip(newlines=False)
            if key == "include":
                out.update(self.include(self.scalar_text(), line))
                continue
            value = self.value()
            self.variables[key] = value.value
            out[key] = value

    def key(self) -> str:
        ch = self.peek()
        if ch in "\"'":
            return self.quoted()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in " \t\r\n:={}[],;#":
            self.pos += 1
        if start == self.pos:
            raise self.fail(f"unexpected character {ch!r} where a key was expected")
        return self.text[start : self.pos]

    def value(self) -> Value:
        line = self.line
        ch = self.peek()
        if ch == "{":
            self.pos += 1
            return Value(self.parse_map("}"), line)
        if ch == "[":
            self.pos += 1
            return Value(self.parse_array(), line)
        if ch in "\"'":
            return Value(self.quoted(), line)
        if not ch or ch in "\n,;}]":
            raise self.fail("missing value")
        return Value(self.bare(self.scalar_text(), line), line)

    def parse_array(self) -> list[Value]:
        items: list[Value] = []
        while True:
            self.skip()
            ch = self.peek()
            if not ch:
                raise self.fail("unexpected end of file, missing ']'")
            if ch == "]":
                self.pos += 1
                return items
            items.append(self.value())

    def quoted(self) -> str:
        quote = self.text[self.pos]
        end = self.text.find(quote, self.pos + 1)
        if end < 0 or "\n" in self.text[self.pos : end]:
            raise self.fail("unterminated string")
        raw = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return raw.encode().decode("unicode_escape") if quote == '"' and "\\" in raw else raw

    def scalar_text(self) -> str:
        if self.peek() in "\"'":
            return self.quoted()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in "\n,;}]#":
            if self.text.startswith("//", self.pos):
                break
            self.pos += 1
        return self.text[start : self.pos].strip()

    def bare(self, text: str, line: int):
        if text.lower() in _BOOLS:
            return _BOOLS[text.lower()]
        if text.startswith("$"):
            name = text[1:]
            self.used.add(name)
            if name in self.variables:
                return self.variables[name]
            if name in os.environ:  # read as if it stood in the file: "4222" is a number
                return _Reader(f"v={os.environ[name]}", self.path).parse_map()["v"].value
            raise self.fail(f"variable reference for '{name}' on line {line} can not be found", line)
        return _number(text, self.fail, line)

    def include(self, name: str, line: int) -> dict[str, Value]:
        path = (self.path.parent / name).resolve()
        try:
            text = path.read_text()
        except OSError as err:
            raise self.fail(f"error opening include file {name!r}: {err.strerror}", line) from None
        reader = _Reader(text, path)
        reader.variables = self.variables
        reader.used = self.used
        return reader.parse_map()


def parse(text: str, path: Path | str = "<config>") -> tuple[dict[str, Value], set[str]]:
    """The document, and the names used as `$variables` (such keys are not settings)."""
    reader = _Reader(text, Path(path))
    return reader.parse_map(), reader.used


def plain(value):
    """Strip line numbers: the parsed document as plain Python values."""
    if isinstance(value, Value):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


_DURATION = re.compile(r"(\d*\.?\d*)([a-zµμ]+)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration(text: str) -> float:
    """Seconds from a Go duration string ("500ms", "1h30m", "-2s", "0"); ValueError with the
    text of Go's time.ParseDuration."""
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    total = 0.0
    pos = 0
    while pos < len(body):
        part = _DURATION.match(body, pos)
        if part is None or part.group(1) in ("", "."):
            missing = part is None and body[pos:].replace(".", "").isdigit()
            raise ValueError(f'time: {"missing unit in" if missing else "invalid"} duration "{text}"')
        number, unit = part.groups()
        if unit not in _UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += float(number) * _UNITS[unit]
        pos = part.end()
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    return -total if text.startswith("-") else total


def expect_map(value, path: Path, line: int) -> dict[str, Value]:
    if not isinstance(value, dict):
        raise ConfigError(path, line, f"expected a map, got {plain(value)!r}")
    return value


def expect_int(value, path: Path, line: int, field: str = "value") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, line, f'expected an integer for "{field}", got {plain(value)!r}')
    return value


def expect_str(value, path: Path, line: int, field: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(path, line, f'expected a string for "{field}", got {plain(value)!r}')
    return value


def expect_bool(value, path: Path, line: int, field: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, line, f'expected true or false for "{field}", got {plain(value)!r}')
    return value


def expect_enabled(value, path: Path, line: int) -> bool:
    """`jetstream: true | enabled | disabled` (and `enable`/`disable`)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("enabled", "enable", "disabled", "disable"):
        return value.lower().startswith("enable")
    raise ConfigError(path, line, f"Expected 'enabled' or 'disabled' for string value, got '{value}'")
