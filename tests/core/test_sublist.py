"""The sublist against a brute-force model: every match, cached or not, equals a linear scan."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from devserver.subjects import match
from devserver.sublist import Sublist, Subscription

TOKENS = st.sampled_from(["a", "b", "c", "*", ">"])
LITERALS = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def patterns(draw) -> str:
    tokens = draw(st.lists(TOKENS, min_size=1, max_size=4))
    if ">" in tokens:
        tokens = tokens[: tokens.index(">") + 1]
    return ".".join(tokens)


subjects = st.lists(LITERALS, min_size=1, max_size=5).map(".".join)
# every subject of up to three tokens, so neighbours that differ in one token meet the caches
EVERY_SHORT = [".".join(t) for n in (1, 2, 3) for t in itertools.product("abcd", repeat=n)]


def expected(subs: list[Subscription], subject: str) -> tuple[set, set]:
    plain = {id(s) for s in subs if s.queue is None and match(subject, s.subject.decode())}
    groups = {s.queue for s in subs if s.queue is not None and match(subject, s.subject.decode())}
    return plain, groups


def matched(sublist: Sublist, subject: str) -> tuple[set, set]:
    plain, queues = sublist.match(subject.encode())
    return {id(s) for s in plain}, {group[0].queue for group in queues}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(patterns(), st.sampled_from([None, b"q1", b"q2"])), max_size=12),
    st.lists(subjects, min_size=1, max_size=20),
    st.data(),
)
def test_matches_equal_a_linear_scan(specs, probes, data):
    sublist = Sublist()
    subs = []
    for i, (pattern, queue) in enumerate(specs):
        sub = Subscription(None, pattern.encode(), queue, str(i).encode())
        assert sublist.insert(sub)
        subs.append(sub)
    for subject in probes + EVERY_SHORT + probes:  # later passes are answered from the caches
        assert matched(sublist, subject) == expected(subs, subject), subject
    for sub in data.draw(st.lists(st.sampled_from(subs), unique_by=id)) if subs else []:
        sublist.remove(sub)
        subs.remove(sub)
    for subject in probes:
        assert matched(sublist, subject) == expected(subs, subject), subject


# what follows `$JS.ACK.`, token by token: stream, consumer, then the ack's own numbers
ACK_TAILS = st.tuples(
    *(st.sampled_from(choices) for choices in (["S", "T", "*"], ["C", "D", "*"], ["1", "*"], ["1", "2", "*"]))
).flatmap(lambda t: st.integers(0, 4).map(lambda n: [*t[:n], ">"] if n < 4 else list(t)))
ACK_SUBJECTS = [f"$JS.ACK.{s}.{c}.{d}.{n}.1" for s in "ST" for c in "CD" for d in "12" for n in "12"]
ACK_SUBJECTS.append("$JS.ACK.S.C")


@settings(max_examples=300, deadline=None)
@given(st.lists(ACK_TAILS, max_size=8), st.data())
def test_ack_subjects_equal_a_linear_scan(tails, data):
    """Ack results are cached by `$JS.ACK.<stream>.<consumer>` unless a subscription looks deeper."""
    sublist = Sublist()
    subs = []
    for i, tail in enumerate(tails):
        sub = Subscription(None, ".".join(["$JS", "ACK", *tail]).encode(), None, str(i).encode())
        assert sublist.insert(sub)
        subs.append(sub)
    for subject in ACK_SUBJECTS + ACK_SUBJECTS:  # the second pass is answered from the cache
        assert matched(sublist, subject) == expected(subs, subject), subject
    for sub in data.draw(st.lists(st.sampled_from(subs), unique_by=id)) if subs else []:
        sublist.remove(sub)
        subs.remove(sub)
        for subject in ACK_SUBJECTS:
            assert matched(sublist, subject) == expected(subs, subject), subject


def test_unique_reply_subjects_under_one_wildcard_inbox():
    sublist = Sublist()
    inbox = Subscription(None, b"_INBOX.abc.*", None, b"1")
    sublist.insert(inbox)
    for i in range(10_000):
        plain, _ = sublist.match(b"_INBOX.abc.%d" % i)
        assert plain == [inbox]
    exact = Subscription(None, b"_INBOX.abc.7", None, b"2")
    sublist.insert(exact)
    assert {s.sid for s in sublist.match(b"_INBOX.abc.7")[0]} == {b"1", b"2"}
    assert [s.sid for s in sublist.match(b"_INBOX.abc.8")[0]] == [b"1"]
    assert sublist.match(b"_INBOX.abc.")[0] == []


def test_watch_reports_interest_flips_only():
    sublist = Sublist()
    seen: list[bool] = []
    early = Subscription(None, b"deliver.x", None, b"1")
    sublist.insert(early)
    assert sublist.watch(b"deliver.x", seen.append) is True
    sublist.remove(early)
    wild = Subscription(None, b"deliver.*", None, b"2")
    queue = Subscription(None, b"deliver.>", b"q", b"3")
    other = Subscription(None, b"elsewhere.x", None, b"4")
    for sub in (wild, queue, other):
        sublist.insert(sub)
    sublist.remove(wild)
    sublist.remove(queue)
    assert seen == [False, True, False]
    sublist.unwatch(b"deliver.x", seen.append)
    sublist.insert(wild)
    assert seen == [False, True, False]
