"""The interest index: which subscriptions match a published subject.

A trie over subject tokens with `*` and `>` branches (as nats-server's sublist.go), plus a
match cache, since publishers repeat subjects and the publish path must stay cheap. Any
change to the index clears the cache.

Interest in a literal subject can be watched (sublist.go's RegisterNotification): push
consumers learn at once that someone listens on their deliver subject, instead of polling.
"""

from __future__ import annotations

from collections.abc import Callable

from devserver.subjects import is_literal, is_valid, match

CACHE_MAX = 4096
# JetStream ack subjects are each used once: caching them would only evict the subjects that
# recur. Who hears an ack depends, unless some subscription looks deeper, only on its first
# tokens `$JS.ACK.<stream>.<consumer>`: those results are cached by that prefix instead.
UNCACHED_PREFIX = b"$JS.ACK."
ACK_KEY_TOKENS = 4


class Subscription:
    """One SUB of a client (or an internal handler: anything with `deliver`)."""

    __slots__ = ("client", "subject", "queue", "sid", "max", "delivered")

    def __init__(self, client, subject: bytes, queue: bytes | None, sid: bytes) -> None:
        self.client = client
        self.subject = subject
        self.queue = queue
        self.sid = sid
        self.max: int | None = None
        self.delivered = 0


class _Node:
    __slots__ = ("literal", "pwc", "fwc", "plain", "queues")

    def __init__(self) -> None:
        self.literal: dict[bytes, _Node] = {}
        self.pwc: _Node | None = None
        self.fwc: _Node | None = None
        self.plain: list[Subscription] = []
        self.queues: dict[bytes, list[Subscription]] = {}

    def empty(self) -> bool:
        return not (self.literal or self.pwc or self.fwc or self.plain or self.queues)


Result = tuple[list[Subscription], list[list[Subscription]]]
_EMPTY: Result = ([], [])


class Sublist:
    def __init__(self) -> None:
        self._root = _Node()
        self._cache: dict[bytes, Result] = {}
        # results that do not depend on the subject's last token, by the rest of the subject:
        # nats-py's reply inboxes are all different, under one `_INBOX.<id>.*` subscription
        self._by_prefix: dict[bytes, Result] = {}
        self._by_ack: dict[bytes, Result] = {}
        self.count = 0
        self.inserts = self.removes = self.matches = self.cache_hits = 0
        # watched literal subject -> [has interest, callbacks]
        self._watches: dict[bytes, list] = {}

    def insert(self, sub: Subscription) -> bool:
        """Add a subscription; False if its subject or queue name is not valid."""
        subject = sub.subject.decode("latin-1")
        if not is_valid(subject) or (sub.queue is not None and not sub.queue.strip()):
            return False
        node = self._root
        for token in sub.subject.split(b"."):
            if token == b"*":
                node.pwc = node.pwc or _Node()
                node = node.pwc
            elif token == b">":
                node.fwc = node.fwc or _Node()
                node = node.fwc
            else:
                node = node.literal.setdefault(token, _Node())
        if sub.queue is None:
            node.plain.append(sub)
        else:
            node.queues.setdefault(sub.queue, []).append(sub)
        self.count += 1
        self.inserts += 1
        self._clear_caches()
        if self._watches:
            self._notify(sub.subject)
        return True

    def remove(self, sub: Subscription) -> None:
        path: list[tuple[_Node, bytes]] = []
        node = self._root
        for token in sub.subject.split(b"."):
            nxt = node.pwc if token == b"*" else node.fwc if token == b">" else node.literal.get(token)
            if nxt is None:
                return
            path.append((node, token))
            node = nxt
        group = node.plain if sub.queue is None else node.queues.get(sub.queue, [])
        if sub not in group:
            return
        group.remove(sub)
        if sub.queue is not None and not group:
            del node.queues[sub.queue]
        self.count -= 1
        self.removes += 1
        self._clear_caches()
        # prune empty branches so a churn of inboxes does not grow the trie
        for parent, token in reversed(path):
            if not node.empty():
                break
            if token == b"*":
                parent.pwc = None
            elif token == b">":
                parent.fwc = None
            else:
                del parent.literal[token]
            node = parent
        if self._watches:
            self._notify(sub.subject)

    def watch(self, subject: bytes, notify: Callable[[bool], None]) -> bool:
        """Call `notify(interest)` whenever interest in a literal subject comes or goes.

        Returns whether there is interest now.
        """
        entry = self._watches.get(subject)
        if entry is None:
            plain, queues = self.match(subject)
            entry = self._watches[subject] = [bool(plain or queues), []]
        entry[1].append(notify)
        return entry[0]

    def unwatch(self, subject: bytes, notify: Callable[[bool], None]) -> None:
        entry = self._watches.get(subject)
        if entry is not None and notify in entry[1]:
            entry[1].remove(notify)
            if not entry[1]:
                del self._watches[subject]

    def _notify(self, changed: bytes) -> None:
        """A subscription on `changed` came or went: tell the watchers whose interest flipped."""
        if is_literal(changed.decode("latin-1")):
            watched = [changed] if changed in self._watches else []
        else:
            pattern = changed.decode("latin-1")
            watched = [w for w in self._watches if match(w.decode("latin-1"), pattern)]
        for subject in watched:
            entry = self._watches[subject]
            plain, queues = self.match(subject)
            interest = bool(plain or queues)
            if interest != entry[0]:
                entry[0] = interest
                for notify in list(entry[1]):
                    notify(interest)

    def match(self, subject: bytes) -> Result:
        """Plain subscriptions and queue groups (by name) whose subject matches."""
        self.matches += 1
        hit = self._cache.get(subject)
        if hit is not None:
            self.cache_hits += 1
            return hit
        cut = subject.rfind(b".")
        prefix = subject[:cut] if 0 < cut < len(subject) - 1 else None
        if prefix is not None:
            hit = self._by_prefix.get(prefix)
            if hit is not None:
                self.cache_hits += 1
                return hit
        if subject.startswith(UNCACHED_PREFIX):
            return self._match_ack(subject)
        plain: list[Subscription] = []
        queues: dict[bytes, list[Subscription]] = {}
        tokens = subject.split(b".")
        varies = all(tokens) and _collect(self._root, tokens, 0, plain, queues)
        result = (plain, list(queues.values())) if plain or queues else _EMPTY
        if len(self._cache) + len(self._by_prefix) >= CACHE_MAX:
            self._clear_caches()
        if prefix is not None and not varies:
            self._by_prefix[prefix] = result
        else:
            self._cache[subject] = result
        return result

    def _match_ack(self, subject: bytes) -> Result:
        tokens = subject.split(b".")
        if len(tokens) <= ACK_KEY_TOKENS or not all(tokens):
            return self._collect_all(tokens)
        key = b".".join(tokens[:ACK_KEY_TOKENS])
        hit = self._by_ack.get(key)
        if hit is not None:
            self.cache_hits += 1
            return hit
        result = self._collect_all(tokens)
        if self._shallow(tokens[:ACK_KEY_TOKENS]):
            if len(self._by_ack) >= CACHE_MAX:
                self._by_ack.clear()
            self._by_ack[key] = result
        return result

    def _collect_all(self, tokens: list[bytes]) -> Result:
        plain: list[Subscription] = []
        queues: dict[bytes, list[Subscription]] = {}
        if all(tokens):
            _collect(self._root, tokens, 0, plain, queues)
        return (plain, list(queues.values())) if plain or queues else _EMPTY

    def _shallow(self, prefix: list[bytes]) -> bool:
        """Does no subscription under `prefix` look at the tokens after it (only `>` there)?"""
        nodes = [self._root]
        for token in prefix:
            nxt = [n.literal[token] for n in nodes if token in n.literal]
            nodes = nxt + [n.pwc for n in nodes if n.pwc is not None]
        return all(not n.literal and n.pwc is None for n in nodes)

    def _clear_caches(self) -> None:
        self._cache.clear()
        self._by_prefix.clear()
        self._by_ack.clear()

    def stats(self) -> dict[str, int]:
        """Counters and the fan-out of the cached results, as sublist.go's Stats."""
        fanouts = [len(plain) + len(queues) for plain, queues in self._cache.values()]
        return {
            "subs": self.count,
            "cache": len(fanouts),
            "inserts": self.inserts,
            "removes": self.removes,
            "matches": self.matches,
            "cache_hits": self.cache_hits,
            "fanout": sum(fanouts),
            "max_fanout": max(fanouts, default=0),
        }

    def all(self) -> list[Subscription]:
        out: list[Subscription] = []
        stack = [self._root]
        while stack:
            node = stack.pop()
            out.extend(node.plain)
            for group in node.queues.values():
                out.extend(group)
            stack.extend(node.literal.values())
            stack.extend(n for n in (node.pwc, node.fwc) if n is not None)
        return out


def _collect(node: _Node, tokens: list[bytes], i: int, plain: list, queues: dict) -> bool:
    """Gather the matches; True when the result depends on the value of the last token."""
    last = len(tokens)
    if node.fwc is not None and i < last:
        _add(node.fwc, plain, queues)
    if i == last:
        _add(node, plain, queues)
        return False
    varies = i == last - 1 and bool(node.literal)
    nxt = node.literal.get(tokens[i])
    if nxt is not None:
        varies = _collect(nxt, tokens, i + 1, plain, queues) or varies
    if node.pwc is not None:
        varies = _collect(node.pwc, tokens, i + 1, plain, queues) or varies
    return varies


def _add(node: _Node, plain: list, queues: dict) -> None:
    plain.extend(node.plain)
    for name, group in node.queues.items():
        queues.setdefault(name, []).extend(group)
