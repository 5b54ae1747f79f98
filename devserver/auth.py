"""Who may connect, to which account, and what they may publish and subscribe to.

Owns `Authenticator` (CONNECT credentials -> `User`: one user, a token, a users list from
`authorization` and `accounts` blocks, `no_auth_user`) and `Permissions`, the checks nats-server
makes for one connection (client.go canSubscribe, pubAllowedFullCheck, checkDenySub,
responseAllowed):

* publish/subscribe allow and deny lists with wildcards; deny wins. A list that is absent or
  empty allows everything. A subscribe entry may name a queue (`"orders.* workers"`): it then
  only admits queue subscriptions in that group.
* A subscription subject is matched against the lists token by token, so `foo.*` in an allow
  list admits `SUB foo.>` (nats-server's sublist does the same).
* A wildcard (or queue) subscription that overlaps a subscribe deny entry is accepted, and the
  denied subjects are filtered out when messages are delivered.
* `allow_responses`: the connection may publish to the reply subject of each message it
  received, up to `max` times within `expires`, even where its publish list says no.

May import: devserver.options, devserver.subjects.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from devserver.options import Options, User
from devserver.subjects import collide, is_valid, match

# reply subjects a client may not use: service-import, JetStream ack and gateway replies
RESERVED_REPLIES = (b"_R_.", b"$JS.ACK.", b"_GR_.")
NRG_PREFIX = b"$NRG."  # Raft traffic: no client may publish there
SYS_QUEUE = b"_sys_"  # a queue group no client may join
RESPONSE_MAX = 1  # allow_responses: true = one response ...
RESPONSE_EXPIRES = 120.0  # ... within two minutes (seconds)
_CACHE_MAX = 4096  # publish verdicts remembered per connection
_PRUNE_EVERY = 4096  # reply permissions recorded between two prunes


def _equal(expected: str, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def _subjects(value) -> list[str] | None:
    """An allow or deny list as nats-server keeps it: None when absent or empty."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else [str(v) for v in value]
    return items or None


def _split(spec) -> tuple[list[str] | None, list[str] | None]:
    """`publish:`/`subscribe:` as a subject, a list (both allow lists) or {allow, deny}."""
    if spec is None or isinstance(spec, (str, list, tuple)):
        return _subjects(spec), None
    return _subjects(spec.get("allow")), _subjects(spec.get("deny"))


def _with_queue(entry: str) -> tuple[str, str | None]:
    """A subscribe entry: `subject` or `subject queue`."""
    parts = entry.split()
    return (parts[0], parts[1]) if len(parts) == 2 else (entry, None)


def check_permissions(spec: dict) -> None:
    """Raise ValueError with nats-server's text for a subject it would refuse in `spec`."""
    for key, queues in (("publish", False), ("subscribe", True)):
        allow, deny = _split(spec.get(key))
        for entry in (allow or []) + (deny or []):
            if is_valid(entry):
                continue
            parts = entry.split()
            if not queues or len(parts) != 2:
                raise ValueError(f'subject "{entry}" is not a valid subject')
            if not is_valid(parts[0]):
                raise ValueError(f'subject "{parts[0]}" is not a valid subject')
            if not is_valid(parts[1]):
                raise ValueError(f'queue "{parts[1]}" is not a valid queue')


def _queue_matches(queue: str, groups: list[str]) -> bool:
    """nats-server's queueMatches: the queue is named, or falls under a wildcard group."""
    return any(queue == g or (("*" in g or ">" in g) and match(queue, g)) for g in groups)


class Permissions:
    """The publish and subscribe rights of one connection.

    `spec` has nats-server's shape: `publish` and `subscribe` each a subject, a list or
    `{"allow": [...], "deny": [...]}`; `allow_responses` True or `{"max": n, "expires": seconds}`
    (a negative or zero value means unlimited or the default). `now_ns` is the server clock.
    """

    def __init__(self, spec: dict, now_ns: Callable[[], int]) -> None:
        self.pub_allow, self.pub_deny = _split(spec.get("publish"))
        sub_allow, sub_deny = _split(spec.get("subscribe"))
        self.sub_allow = None if sub_allow is None else [_with_queue(s) for s in sub_allow]
        self.sub_deny = [_with_queue(s) for s in sub_deny or []]
        self.now_ns = now_ns
        self.response_max = 0
        self.response_ttl_ns = 0
        self.replies: dict[bytes, list[int]] | None = None  # reply -> [recorded at, responses sent]
        responses = spec.get("allow_responses")
        if responses:
            limits = responses if isinstance(responses, dict) else {}
            self.response_max = limits.get("max") or RESPONSE_MAX
            self.response_ttl_ns = int((limits.get("expires") or RESPONSE_EXPIRES) * 1e9)
            self.replies = {}
            self._recorded = 0
            if self.pub_allow is None:
                self.pub_allow = []  # responses only: every other publish is refused
        self.filter_deliveries = False  # a subscription overlaps a deny entry: check each message
        self._pub_cache: dict[bytes, bool] = {}
        self._deny_cache: dict[tuple[bytes, bytes | None], bool] = {}

    # -- publish

    def can_publish(self, subject: bytes) -> bool:
        """May this connection publish to `subject` (a response it owes counts as allowed)?"""
        allowed = self._pub_cache.get(subject)
        if allowed is None:
            allowed = self._static_publish(subject.decode("latin-1"))
            if allowed or self.replies is None:
                if len(self._pub_cache) >= _CACHE_MAX:
                    self._pub_cache.clear()
                self._pub_cache[subject] = allowed
        if not allowed and self.replies is not None:
            return self._response_allowed(subject)
        return allowed

    def _static_publish(self, subject: str) -> bool:
        if self.pub_allow is not None and not any(match(subject, p) for p in self.pub_allow):
            return False
        return not (self.pub_deny and any(match(subject, p) for p in self.pub_deny))

    def _response_allowed(self, subject: bytes) -> bool:
        entry = self.replies.get(subject)
        if entry is None:
            return False
        entry[1] += 1
        expired = 0 < self.response_ttl_ns < self.now_ns() - entry[0]
        if (self.response_max > 0 and entry[1] > self.response_max) or expired:
            del self.replies[subject]
            return False
        return True

    def record_reply(self, reply: bytes) -> None:
        """A message with this reply subject was delivered: allow responses to it."""
        if self.replies is None or self._cached_publish(reply):
            return
        self.replies[reply] = [self.now_ns(), 0]
        self._recorded += 1
        if self._recorded > _PRUNE_EVERY:
            self._prune()

    def _cached_publish(self, subject: bytes) -> bool:
        allowed = self._pub_cache.get(subject)
        return self._static_publish(subject.decode("latin-1")) if allowed is None else allowed

    def _prune(self) -> None:
        now = self.now_ns()
        for reply, (at, sent) in list(self.replies.items()):
            if (self.response_max > 0 and sent >= self.response_max) or (0 < self.response_ttl_ns < now - at):
                del self.replies[reply]
        self._recorded = 0

    # -- subscribe

    def can_subscribe(self, subject: bytes, queue: bytes | None) -> bool:
        """May this connection subscribe (in `queue`)? Also arms the delivery filter when the
        subscription could receive subjects the deny list names."""
        subj = subject.decode("latin-1")
        group = queue.decode("latin-1") if queue else ""
        if not self._allowed(subj, group):
            return False
        if not self.filter_deliveries and (group or "*" in subj or ">" in subj):
            self.filter_deliveries = any(collide(d, subj) for d, _ in self.sub_deny)
        return True

    def _allowed(self, subject: str, queue: str) -> bool:
        if self.sub_allow is not None:
            plain, groups = _matching(self.sub_allow, subject)
            allowed = plain
            if queue and groups:
                allowed = _queue_matches(queue, groups)
            if not allowed:
                return False
        plain, groups = _matching(self.sub_deny, subject)
        if plain:
            return False
        return not (queue and groups and _queue_matches(queue, groups))

    def delivery_denied(self, subject: bytes, queue: bytes | None) -> bool:
        """Is a message on `subject` kept from a subscription (in `queue`) by the deny list?"""
        key = (subject, queue)
        denied = self._deny_cache.get(key)
        if denied is None:
            plain, groups = _matching(self.sub_deny, subject.decode("latin-1"))
            denied = plain or bool(queue and groups and _queue_matches(queue.decode("latin-1"), groups))
            if len(self._deny_cache) >= _CACHE_MAX:
                self._deny_cache.clear()
            self._deny_cache[key] = denied
        return denied


def _matching(entries: list[tuple[str, str | None]], subject: str) -> tuple[bool, list[str]]:
    """Does a plain entry match `subject`, and which queue groups do the queue entries name?"""
    plain = False
    groups: list[str] = []
    for pattern, queue in entries:
        if match(subject, pattern):
            if queue is None:
                plain = True
            else:
                groups.append(queue)
    return plain, groups


class Authenticator:
    """Checks CONNECT credentials against the options: one user, a token, or a users list."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.users: dict[str, User] = {u.name: u for u in options.users}
        # no_auth_user: a client without credentials is that user (INFO omits auth_required)
        self.anonymous_allowed = bool(options.no_auth_user)
        # nats-server's rule for a config whose only account is the system account: clients
        # without credentials land in the global account (and INFO still says auth_required)
        system = options.system_account
        self.anonymous_global = bool(
            system
            and not options.no_auth_user
            and not (options.user or options.token)
            and set(options.accounts) == {system}
            and all(u.account == system for u in options.users)
        )

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
        if not any(connect.get(k) for k in ("user", "pass", "auth_token")):
            if self.anonymous_global:
                return User(name="")
            if opts.no_auth_user:
                return self.users.get(opts.no_auth_user)
        user = self.users.get(str(connect.get("user", "")))
        if user is None or not _equal(user.password or "", connect.get("pass", "")):
            return None
        return user
