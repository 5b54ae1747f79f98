"""Subject transforms for stream `subject_transform`, `republish` and the mirror and source
`subject_transforms` (nats-server's subject_transform.go, and sublist.go's ValidateMapping).

Owns `compile_transform(src, dest)`: a function from a literal subject to its mapped subject, or
None when the subject does not match `src` (or `dest` is empty: no transform at all); it raises
MappingError, worded as nats-server, for a pair nats-server cannot build. `validate_mapping`
adds the checks nats-server makes on configured destinations first.

Destination tokens: literals, `>` (the source's `>` tokens), `$N` and the mustache functions
wildcard, partition, split, splitFromLeft, splitFromRight, sliceFromLeft, sliceFromRight, left,
right and random. Wildcard numbers count the source's `*` tokens only. As in Go, the slicing
functions count UTF-8 bytes; a piece that cuts a character in two is decoded with U+FFFD.
May import: devserver.subjects.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import NamedTuple

from devserver import subjects as subj

_BAD = "invalid mapping destination"
INVALID_TRANSFORM = f"{_BAD}: invalid transform"
UNKNOWN_FUNCTION = f"{_BAD}: unknown function"
OUT_OF_RANGE = f"{_BAD}: wildcard index out of range"
NOT_ENOUGH_ARGS = f"{_BAD}: not enough arguments passed to the function"
INVALID_ARG = f"{_BAD}: function argument is invalid or in the wrong format"
TOO_MANY_ARGS = f"{_BAD}: too many arguments passed to the function"
BAD_SUBJECT = "invalid subject"

_GO_SPACE = "[\t\n\f\r ]"  # Go's regexp \s (Python's also takes \v and Unicode spaces)
_ARG_SEPARATOR = re.compile(f",{_GO_SPACE}*")
_INT = re.compile(r"[+-]?[0-9]+")
_INT64, _INT32 = 2**63, 2**31


class MappingError(ValueError):
    """A transform nats-server refuses; str() is its error text."""

    def __init__(self, err: str, token: str = "") -> None:
        super().__init__(f"{err} in {token}" if token else err)


def _function(name: str) -> re.Pattern[str]:
    """nats-server's pattern for `{{name(args)}}`: each word's first letter in either case."""
    words = re.findall(r"[a-z]+|[A-Z][a-z]*", name)
    spelled = "".join(f"[{w[0].lower()}{w[0].upper()}]{w[1:]}" for w in words)
    return re.compile(rf"\{{\{{{_GO_SPACE}*{spelled}{_GO_SPACE}*\((.*)\){_GO_SPACE}*\}}\}}")


# in the order nats-server tries them
_FUNCTIONS = {
    name: _function(name)
    for name in (
        "wildcard",
        "partition",
        "splitFromLeft",
        "splitFromRight",
        "sliceFromLeft",
        "sliceFromRight",
        "right",
        "left",
        "split",
        "random",
    )
}


class _Step(NamedTuple):
    """One destination token: a literal (kind ""), or a function of source tokens `indexes`
    (positions in the subject), an int argument and a string argument."""

    kind: str
    text: str = ""
    indexes: tuple[int, ...] = ()
    number: int = 0


# (kind, wildcard numbers, int argument, string argument); kind "" is a literal token
_Parsed = tuple[str, list[int], int, str]


def _atoi(text: str) -> int | None:
    """Go's strconv.Atoi: optional sign and decimal digits within int64, else None."""
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if -_INT64 <= value < _INT64 else None


def _int32(value: int) -> int:
    """Go's int32(value) conversion: wraps around."""
    return (value + _INT32) % 2**32 - _INT32


def _is_function(token: str) -> bool:
    return len(token) > 4 and token.startswith("{{") and token.endswith("}}")


def _args(name: str, token: str) -> list[str] | None:
    found = _FUNCTIONS[name].search(token)
    return _ARG_SEPARATOR.split(found.group(1)) if found else None


def _parse(token: str) -> _Parsed:
    """nats-server's indexPlaceHolders."""
    if len(token) > 1 and token[0] == "$":
        number = _atoi(token[1:])
        return ("", [], 0, "") if number is None else ("wildcard", [number], 0, "")
    if not _is_function(token):
        return "", [], 0, ""
    for name in _FUNCTIONS:
        args = _args(name, token)
        if args is not None:
            return _PARSERS[name](token, args)
    raise MappingError(UNKNOWN_FUNCTION, token)


def _number(token: str, text: str) -> int:
    value = _atoi(text.strip(" "))
    if value is None:
        raise MappingError(INVALID_ARG, token)
    return value


def _count(token: str, text: str) -> int:
    """A bucket count or ceiling: any int up to MaxInt32, kept as Go's int32 conversion keeps it."""
    value = _number(token, text)
    if value >= _INT32:
        raise MappingError(INVALID_ARG, token)
    return _int32(value)


def _parse_wildcard(token: str, args: list[str]) -> _Parsed:
    if args == [""]:
        raise MappingError(NOT_ENOUGH_ARGS, token)
    if len(args) > 1:
        raise MappingError(TOO_MANY_ARGS, token)
    return "wildcard", [_number(token, args[0])], 0, ""


def _parse_partition(token: str, args: list[str]) -> _Parsed:
    buckets = _count(token, args[0])
    return "partition", [_number(token, a) for a in args[1:]], buckets, ""


def _parse_random(token: str, args: list[str]) -> _Parsed:
    if len(args) != 1:
        raise MappingError(NOT_ENOUGH_ARGS, token)
    return "random", [], _count(token, args[0]), ""


def _two_args(token: str, args: list[str]) -> None:
    if len(args) < 2:
        raise MappingError(NOT_ENOUGH_ARGS, token)
    if len(args) > 2:
        raise MappingError(TOO_MANY_ARGS, token)


def _parse_split(token: str, args: list[str]) -> _Parsed:
    _two_args(token, args)
    index = _number(token, args[0])
    if " " in args[1] or "." in args[1]:
        raise MappingError(INVALID_ARG, token)
    return "split", [index], 0, args[1]


# the functions of one token and a size, on its UTF-8 bytes, for sizes in (0, len)
_SIZED: dict[str, Callable[[bytes, int], list[bytes]]] = {
    "splitFromLeft": lambda raw, n: [raw[:n], raw[n:]],
    "splitFromRight": lambda raw, n: [raw[:-n], raw[-n:]],
    "sliceFromLeft": lambda raw, n: _slices(raw, n, 0),
    "sliceFromRight": lambda raw, n: _slices(raw, n, len(raw) % n),
    "left": lambda raw, n: [raw[:n]],
    "right": lambda raw, n: [raw[-n:]],
}


def _index_and_int(kind: str) -> Callable[[str, list[str]], _Parsed]:
    def parse(token: str, args: list[str]) -> _Parsed:
        _two_args(token, args)
        index = _number(token, args[0])
        size = _atoi(args[1].strip(" "))
        if size is None or not -_INT32 <= size < _INT32:  # Go parses it as an int32
            raise MappingError(INVALID_ARG, token)
        return kind, [index], size, ""

    return parse


_PARSERS = {
    "wildcard": _parse_wildcard,
    "partition": _parse_partition,
    "random": _parse_random,
    "split": _parse_split,
    **{name: _index_and_int(name) for name in _SIZED},
}


def _subject_info(subject: str) -> tuple[bool, list[str], int, bool]:
    """(valid, tokens, number of `*`, has `>`) as nats-server's subjectInfo sees them."""
    tokens = subject.split(".")
    has_fwc = False
    for token in tokens:
        if not token or has_fwc:
            return False, [], 0, False
        has_fwc = token == ">"
    return True, tokens, tokens.count("*"), has_fwc


def _plan(src: str, dest: str) -> tuple[list[str], list[_Step]]:
    """nats-server's NewSubjectTransform (not strict): the source tokens and one step per
    destination token."""
    src_ok, src_tokens, stars, src_fwc = _subject_info(src)
    dest_ok, dest_tokens, dest_stars, dest_fwc = _subject_info(dest)
    if not src_ok or not dest_ok or dest_stars or src_fwc != dest_fwc:
        raise MappingError(BAD_SUBJECT)
    # wildcard number -> its token's position; nats-server reads a missing number (0 or less) as 0
    positions = {n: i for n, i in enumerate((i for i, t in enumerate(src_tokens) if t == "*"), 1)}
    wildcards = stars > 0 or src_fwc
    steps = []
    for token in dest_tokens:
        kind, numbers, number, text = _parse(token)
        if not kind:
            steps.append(_Step("", token))
        elif kind == "random" or (kind == "partition" and not wildcards):
            steps.append(_Step(kind, number=number))  # partition(n, ...) of no wildcard: whole subject
        elif not wildcards:
            raise MappingError(OUT_OF_RANGE, token)
        else:
            for n in numbers:
                if n > stars:
                    raise MappingError(OUT_OF_RANGE, f"{token}: [{n}]")
            steps.append(_Step(kind, text, tuple(positions.get(n, 0) for n in numbers), number))
    return src_tokens, steps


def validate_mapping(src: str, dest: str) -> str | None:
    """nats-server's ValidateMapping: why `dest` is no destination for `src`, or None."""
    if not dest:
        return None
    after_fwc = False
    for token in dest.split("."):
        if not token or after_fwc:
            return str(MappingError(INVALID_TRANSFORM, token))
        if _is_function(token):
            if not any(pattern.search(token) for pattern in _FUNCTIONS.values()):
                return str(MappingError(UNKNOWN_FUNCTION, token))
        elif token == ">":
            after_fwc = True
        elif any(c in token for c in "\t\n\f\r "):
            return INVALID_TRANSFORM
    try:
        _plan(src or ">", dest)
    except MappingError as problem:
        return str(problem)
    return None


def fnv1a_32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def _text(pieces: list[bytes]) -> str:
    return ".".join(p.decode("utf-8", "replace") for p in pieces)


def _slices(token: bytes, size: int, first: int) -> list[bytes]:
    """`token[:first]` (when not empty), then pieces of `size` bytes."""
    head = [token[:first]] if first else []
    return head + [token[i : i + size] for i in range(first, len(token), size)]


def _split(token: str, delimiter: str) -> str:
    """Go's strings.Split, joined as nats-server joins it: a dot before each non-empty piece
    but the first, and also before the second when the first is empty (`--a` -> `.a`)."""
    parts = token.split(delimiter) if delimiter else list(token)
    out = []
    for j, part in enumerate(parts):
        out.append(part)
        if j + 1 < len(parts) and parts[j + 1] and (j or part):
            out.append(".")
    return "".join(out)


def _sized(kind: str, token: str, n: int) -> str:
    """A size out of (0, len) leaves the token whole."""
    raw = token.encode()
    return _text(_SIZED[kind](raw, n)) if 0 < n < len(raw) else token


def _bucket(key: str, buckets: int) -> str:
    return str(fnv1a_32(key.encode()) % (buckets & 0xFFFFFFFF)) if buckets else "0"


def _apply(step: _Step, tokens: list[str]) -> str:
    kind, indexes = step.kind, step.indexes
    if not kind:
        return step.text
    if kind == "partition":
        key = "".join(tokens[i] for i in indexes) if indexes else ".".join(tokens)
        return _bucket(key, step.number)
    if kind == "random":
        return str(random.randrange(_INT32) % abs(step.number)) if step.number else "0"
    token = tokens[indexes[0]]
    if kind == "wildcard":
        return token
    if kind == "split":
        return _split(token, step.text)
    return _sized(kind, token, step.number)


def _never(subject: str) -> None:
    return None


def compile_transform(src: str, dest: str) -> Callable[[str], str | None]:
    """`src` (default `>`) to `dest`; an empty `dest` is no transform: nothing maps."""
    if not dest:
        return _never
    src = src or ">"
    src_tokens, steps = _plan(src, dest)
    dest_fwc = dest.split(".")[-1] == ">"
    if dest_fwc:
        steps.pop()

    def apply(subject: str) -> str | None:
        if not subj.match(subject, src):
            return None
        tokens = subject.split(".")
        mapped = [_apply(step, tokens) for step in steps]
        if dest_fwc:
            mapped += tokens[len(src_tokens) - 1 :]
        return ".".join(mapped)

    return apply
