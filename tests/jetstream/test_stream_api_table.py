"""The API table covers the JetStream subject space of `schemas.subjects`, and nothing twice."""

from __future__ import annotations

from devserver import subjects as subj
from devserver.jetstream.api import (
    API_SUBSCRIPTIONS,
    NOT_SERVED,
    SERVED_ELSEWHERE,
    Api,
)
from schemas import subjects as S


def test_every_endpoint_has_a_handler_or_a_reason():
    routed = {route.pattern for route in Api().routes}
    missing = set(S.ENDPOINTS) - routed - NOT_SERVED - SERVED_ELSEWHERE
    assert missing == set()
    assert routed & (NOT_SERVED | SERVED_ELSEWHERE) == set()


def test_no_pattern_is_registered_twice():
    patterns = [route.pattern for route in Api().routes]
    assert len(patterns) == len(set(patterns))


def test_api_subscriptions_cover_the_api_but_not_what_streams_and_consumers_serve():
    def covered(subject: str) -> int:
        return sum(subj.match(subject, pattern) for pattern in API_SUBSCRIPTIONS)

    examples = {
        S.account_info(): 1,
        S.stream_create("S"): 1,
        S.stream_msg_get("S"): 1,
        S.consumer_create("S"): 1,
        S.consumer_create_named("S", "C"): 1,
        S.consumer_create_named("S", "C", "a.b.c"): 1,
        S.consumer_durable_create("S", "C"): 1,
        S.consumer_info("S", "C"): 1,
        S.consumer_leader_stepdown("S", "C"): 1,
        S.meta_leader_stepdown(): 1,
        S.account_purge("A"): 1,
        S.direct_get("S"): 0,
        S.direct_get_last("S", "a.b"): 0,
        S.consumer_msg_next("S", "C"): 0,
    }
    assert {subject: covered(subject) for subject in examples} == examples


def test_routes_match_exactly_their_pattern():
    api = Api()
    for route in api.routes:
        concrete = S.fill(
            route.pattern,
            *["X"] * route.pattern.count("*"),
            *(["a.b"] if route.pattern.endswith(">") else []),
        )
        assert api.match(concrete.split(".")) is route, concrete
