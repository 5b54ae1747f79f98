"""Who may connect, to which account, and what they may publish and subscribe to."""

from __future__ import annotations

import hmac

from devserver.options import Options, User
from devserver.subjects import match


def _equal(expected: str, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


class Permissions:
    """publish/subscribe allow and deny lists with wildcards; deny wins over allow."""

    def __init__(self, spec: dict) -> None:
        self.pub_allow, self.pub_deny = _lists(spec.get("publish"))
        self.sub_allow, self.sub_deny = _lists(spec.get("subscribe"))
        self._pub_cache: dict[bytes, bool] = {}

    def can_publish(self, subject: bytes) -> bool:
        hit = self._pub_cache.get(subject)
        if hit is None:
            hit = _allowed(subject.decode("latin-1"), self.pub_allow, self.pub_deny)
            self._pub_cache[subject] = hit
        return hit

    def can_subscribe(self, subject: bytes, queue: bytes | None) -> bool:
        if queue == b"_sys_":
            return False
        return _allowed(subject.decode("latin-1"), self.sub_allow, self.sub_deny)


def _lists(spec) -> tuple[list[str] | None, list[str]]:
    if spec is None:
        return None, []
    if isinstance(spec, (str, list)):
        return _as_list(spec), []
    return (_as_list(spec["allow"]) if "allow" in spec else None), _as_list(spec.get("deny", []))


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _allowed(subject: str, allow: list[str] | None, deny: list[str]) -> bool:
    if allow is not None and not any(match(subject, p) or subject == p for p in allow):
        return False
    return not any(match(subject, p) or subject == p for p in deny)


class Authenticator:
    """Checks CONNECT credentials against the options: one user, a token, or a users list."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.users: dict[str, User] = {u.name: u for u in options.users}

    def check(self, connect: dict) -> User | None:
        """The authenticated user (account and permissions), or None to refuse."""
        opts = self.options
        if not opts.auth_required:
            return User(name="")
        if opts.token:
            return User(name="") if _equal(opts.token, connect.get("auth_token")) else None
        if opts.user:
            ok = _equal(opts.user, connect.get("user")) and _equal(
                opts.password or "", connect.get("pass", "")
            )
            return User(name=opts.user) if ok else None
        user = self.users.get(str(connect.get("user", "")))
        if user is None or not _equal(user.password or "", connect.get("pass", "")):
            return None
        return user
