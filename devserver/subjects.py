"""Subject rules (ADR-6), pure: validate, tokenize, match and collide.

A subject is `.`-separated tokens; `*` as a whole token matches one token, `>` as the last
token matches one or more. Tokens may hold any printable character but whitespace.
"""

from __future__ import annotations

_WHITESPACE = frozenset(" \t\n\r\f\v")


def _valid_token(token: str) -> bool:
    return bool(token) and _WHITESPACE.isdisjoint(token)


def is_valid(subject: str) -> bool:
    """A subscription subject or filter: wildcards allowed, `>` only last."""
    if not subject:
        return False
    tokens = subject.split(".")
    for i, token in enumerate(tokens):
        if not _valid_token(token):
            return False
        if token == ">" and i != len(tokens) - 1:
            return False
    return True


def is_literal(subject: str) -> bool:
    return all(token not in ("*", ">") for token in subject.split("."))


def is_valid_publish(subject: str) -> bool:
    return is_valid(subject) and is_literal(subject)


def is_valid_config_subject(subject: str) -> bool:
    """Stream and consumer configs also refuse an embedded NUL."""
    return is_valid(subject) and "\0" not in subject


def match(subject: str, pattern: str) -> bool:
    """Does the literal `subject` fall under `pattern` (which may hold wildcards)?"""
    if pattern == subject or pattern == ">":
        return True
    s = subject.split(".")
    p = pattern.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(s) == len(p)


def collide(a: str, b: str) -> bool:
    """Can some literal subject match both patterns?"""
    ta = a.split(".")
    tb = b.split(".")
    for i in range(max(len(ta), len(tb))):
        x = ta[i] if i < len(ta) else None
        y = tb[i] if i < len(tb) else None
        if x == ">" or y == ">":
            return x is not None and y is not None
        if x is None or y is None:
            return False
        if x != y and x != "*" and y != "*":
            return False
    return True


def is_subset(sub: str, sup: str) -> bool:
    """Is every subject matched by `sub` also matched by `sup`?"""
    ts = sub.split(".")
    tp = sup.split(".")
    for i, token in enumerate(tp):
        if token == ">":
            return len(ts) > i
        if i >= len(ts):
            return False
        if token == "*":
            if ts[i] == ">":
                return False
        elif ts[i] != token:
            return False
    return len(ts) == len(tp)
