"""Unit tests of schemas.subjects: builders, patterns, the endpoint map and ack-subject parsing."""

from __future__ import annotations

import pathlib

import pytest

import schemas
from schemas import subjects as s

BUILT = [
    (s.account_info(), "$JS.API.INFO", s.INFO),
    (s.stream_create("O"), "$JS.API.STREAM.CREATE.O", s.STREAM_CREATE),
    (s.stream_update("O"), "$JS.API.STREAM.UPDATE.O", s.STREAM_UPDATE),
    (s.stream_info("O"), "$JS.API.STREAM.INFO.O", s.STREAM_INFO),
    (s.stream_delete("O"), "$JS.API.STREAM.DELETE.O", s.STREAM_DELETE),
    (s.stream_purge("O"), "$JS.API.STREAM.PURGE.O", s.STREAM_PURGE),
    (s.stream_names(), "$JS.API.STREAM.NAMES", s.STREAM_NAMES),
    (s.stream_list(), "$JS.API.STREAM.LIST", s.STREAM_LIST),
    (s.stream_msg_get("O"), "$JS.API.STREAM.MSG.GET.O", s.STREAM_MSG_GET),
    (s.stream_msg_delete("O"), "$JS.API.STREAM.MSG.DELETE.O", s.STREAM_MSG_DELETE),
    (s.stream_snapshot("O"), "$JS.API.STREAM.SNAPSHOT.O", s.STREAM_SNAPSHOT),
    (s.stream_restore("O"), "$JS.API.STREAM.RESTORE.O", s.STREAM_RESTORE),
    (s.stream_peer_remove("O"), "$JS.API.STREAM.PEER.REMOVE.O", s.STREAM_PEER_REMOVE),
    (s.stream_peer_evacuate("O"), "$JS.API.STREAM.PEER.EVACUATE.O", s.STREAM_PEER_EVACUATE),
    (s.stream_cancel_move("O"), "$JS.API.STREAM.CANCEL_MOVE.O", s.STREAM_CANCEL_MOVE),
    (s.stream_leader_stepdown("O"), "$JS.API.STREAM.LEADER.STEPDOWN.O", s.STREAM_LEADER_STEPDOWN),
    (s.stream_template_create("T"), "$JS.API.STREAM.TEMPLATE.CREATE.T", s.STREAM_TEMPLATE_CREATE),
    (s.stream_template_info("T"), "$JS.API.STREAM.TEMPLATE.INFO.T", s.STREAM_TEMPLATE_INFO),
    (s.stream_template_delete("T"), "$JS.API.STREAM.TEMPLATE.DELETE.T", s.STREAM_TEMPLATE_DELETE),
    (s.stream_template_names(), "$JS.API.STREAM.TEMPLATE.NAMES", s.STREAM_TEMPLATE_NAMES),
    (s.direct_get("O"), "$JS.API.DIRECT.GET.O", s.DIRECT_GET),
    (s.direct_get_last("O", "orders.new.1"), "$JS.API.DIRECT.GET.O.orders.new.1", s.DIRECT_GET_LAST),
    (s.consumer_create("O"), "$JS.API.CONSUMER.CREATE.O", s.CONSUMER_CREATE),
    (s.consumer_create_named("O", "C"), "$JS.API.CONSUMER.CREATE.O.C", s.CONSUMER_CREATE_NAMED),
    (
        s.consumer_create_named("O", "C", "orders.*"),
        "$JS.API.CONSUMER.CREATE.O.C.orders.*",
        s.CONSUMER_CREATE_NAMED,
    ),
    (s.consumer_durable_create("O", "D"), "$JS.API.CONSUMER.DURABLE.CREATE.O.D", s.CONSUMER_DURABLE_CREATE),
    (s.consumer_info("O", "C"), "$JS.API.CONSUMER.INFO.O.C", s.CONSUMER_INFO),
    (s.consumer_delete("O", "C"), "$JS.API.CONSUMER.DELETE.O.C", s.CONSUMER_DELETE),
    (s.consumer_names("O"), "$JS.API.CONSUMER.NAMES.O", s.CONSUMER_NAMES),
    (s.consumer_list("O"), "$JS.API.CONSUMER.LIST.O", s.CONSUMER_LIST),
    (s.consumer_msg_next("O", "C"), "$JS.API.CONSUMER.MSG.NEXT.O.C", s.CONSUMER_MSG_NEXT),
    (s.consumer_pause("O", "C"), "$JS.API.CONSUMER.PAUSE.O.C", s.CONSUMER_PAUSE),
    (s.consumer_unpin("O", "C"), "$JS.API.CONSUMER.UNPIN.O.C", s.CONSUMER_UNPIN),
    (s.consumer_reset("O", "C"), "$JS.API.CONSUMER.RESET.O.C", s.CONSUMER_RESET),
    (
        s.consumer_leader_stepdown("O", "C"),
        "$JS.API.CONSUMER.LEADER.STEPDOWN.O.C",
        s.CONSUMER_LEADER_STEPDOWN,
    ),
    (s.meta_leader_stepdown(), "$JS.API.META.LEADER.STEPDOWN", s.META_LEADER_STEPDOWN),
    (s.meta_rescue(), "$JS.API.META.RESCUE", s.META_RESCUE),
    (s.server_remove(), "$JS.API.SERVER.REMOVE", s.SERVER_REMOVE),
    (s.server_evacuate(), "$JS.API.SERVER.EVACUATE", s.SERVER_EVACUATE),
    (s.account_purge("A"), "$JS.API.ACCOUNT.PURGE.A", s.ACCOUNT_PURGE),
    (s.account_stream_move("A", "O"), "$JS.API.ACCOUNT.STREAM.MOVE.A.O", s.ACCOUNT_STREAM_MOVE),
    (
        s.account_stream_cancel_move("A", "O"),
        "$JS.API.ACCOUNT.STREAM.CANCEL_MOVE.A.O",
        s.ACCOUNT_STREAM_CANCEL_MOVE,
    ),
]


@pytest.mark.parametrize(("built", "expected", "pattern"), BUILT, ids=[b[1] for b in BUILT])
def test_builder_fills_its_pattern_and_maps_back_to_it(built, expected, pattern):
    assert built == expected
    assert s.endpoint_for(built) is s.ENDPOINTS[pattern]
    matching = [p for p in s.ENDPOINTS if s.captures(p, built) is not None]
    assert matching == [pattern]


def test_every_endpoint_has_a_builder_test():
    assert {pattern for _, _, pattern in BUILT} == set(s.ENDPOINTS)


def test_endpoint_schemas_exist_and_are_requests_and_responses():
    for endpoint in s.ENDPOINTS.values():
        if endpoint.request:
            assert schemas.type_id(endpoint.request).endswith("_request")
        if endpoint.response:
            assert schemas.type_id(endpoint.response).endswith("_response")
        assert endpoint.response or endpoint.pattern in (s.DIRECT_GET, s.DIRECT_GET_LAST, s.CONSUMER_MSG_NEXT)


def test_every_request_and_response_schema_is_used_by_an_endpoint():
    used = {schemas.type_id(t) for e in s.ENDPOINTS.values() for t in (e.request, e.response) if t}
    api = {t for t in schemas.types() if t.endswith(("_request", "_response"))}
    unused = api - used - {schemas.type_id(t) for t in ("pub_ack_response", "system_response")}
    assert unused == set()


def test_body_rules():
    assert s.ENDPOINTS[s.STREAM_DELETE].body == "empty"
    assert s.ENDPOINTS[s.CONSUMER_INFO].body == "empty"
    assert s.ENDPOINTS[s.STREAM_MSG_GET].body == "required"
    assert s.ENDPOINTS[s.INFO].body == "ignored"
    assert s.ENDPOINTS[s.STREAM_TEMPLATE_NAMES].legacy
    assert s.ENDPOINTS[s.META_LEADER_STEPDOWN].needs_cluster
    assert s.ENDPOINTS[s.META_LEADER_STEPDOWN].system_only
    assert s.ENDPOINTS[s.ACCOUNT_PURGE].system_only
    assert not s.ENDPOINTS[s.ACCOUNT_PURGE].needs_cluster
    assert s.ENDPOINTS[s.STREAM_LEADER_STEPDOWN].needs_cluster
    assert not s.ENDPOINTS[s.STREAM_LEADER_STEPDOWN].system_only
    assert not s.ENDPOINTS[s.STREAM_CREATE].needs_cluster


def test_domain_prefix():
    prefix = s.api_prefix("hub")
    assert prefix == "$JS.hub.API"
    assert s.api_prefix(None) == "$JS.API"
    assert s.stream_info("O", prefix=prefix) == "$JS.hub.API.STREAM.INFO.O"
    assert s.consumer_create_named("O", "C", "a.b", prefix=prefix) == "$JS.hub.API.CONSUMER.CREATE.O.C.a.b"
    assert s.endpoint_for("$JS.hub.API.STREAM.INFO.O", prefix=prefix) is s.ENDPOINTS[s.STREAM_INFO]
    assert s.endpoint_for("$JS.hub.API.STREAM.INFO.O") is None


@pytest.mark.parametrize("bad", ["", "a.b", "a b", "*", ">", "a\tb"])
def test_builders_refuse_names_that_are_not_one_token(bad):
    with pytest.raises(ValueError):
        s.stream_info(bad)
    with pytest.raises(ValueError):
        s.consumer_create_named("O", bad)


def test_fill_checks_token_count():
    with pytest.raises(ValueError):
        s.fill(s.CONSUMER_INFO, "O")
    with pytest.raises(ValueError):
        s.fill(s.STREAM_INFO, "O", "extra")
    with pytest.raises(ValueError):
        s.fill(s.DIRECT_GET_LAST, "O")


def test_captures():
    assert s.captures(s.CONSUMER_CREATE_NAMED, "$JS.API.CONSUMER.CREATE.O.C.a.>") == ["O", "C.a.>"]
    assert s.captures(s.CONSUMER_INFO, "$JS.API.CONSUMER.INFO.O.C") == ["O", "C"]
    assert s.captures(s.CONSUMER_INFO, "$JS.API.CONSUMER.INFO.O") is None
    assert s.captures(s.CONSUMER_INFO, "$JS.API.CONSUMER.INFO.O.C.D") is None
    assert s.captures(s.DIRECT_GET_LAST, "$JS.API.DIRECT.GET.O") is None
    assert s.endpoint_for("$JS.API.STREAM.FROB.O") is None


def test_ack_subject_round_trip():
    subject = s.ack("ORDERS", "worker", 1, 42, 17, 1700000000123456789, 5)
    assert subject == "$JS.ACK.ORDERS.worker.1.42.17.1700000000123456789.5"
    info = s.parse_ack(subject)
    assert (info.stream, info.consumer, info.delivered, info.stream_seq) == ("ORDERS", "worker", 1, 42)
    assert (info.consumer_seq, info.timestamp_ns, info.pending, info.domain) == (
        17,
        1700000000123456789,
        5,
        "",
    )


def test_parse_ack_v2_and_rejects():
    v2 = s.parse_ack("$JS.ACK.hub.AbCd1234.ORDERS.worker.2.42.18.1700000000123456789.0.extra")
    assert (v2.domain, v2.account_hash, v2.stream, v2.delivered, v2.pending) == (
        "hub",
        "AbCd1234",
        "ORDERS",
        2,
        0,
    )
    assert s.parse_ack("$JS.ACK._.AbCd1234.O.C.1.2.3.4.5").domain == ""
    assert s.parse_ack("$JS.ACK.O.C.1.2.3") is None
    assert s.parse_ack("$JS.ACK.O.C.x.2.3.4.5") is None
    assert s.parse_ack("$JS.ACK.O.C.1.2.3.4.5.6") is None
    assert s.parse_ack("orders.1") is None


def test_reply_and_alias_builders():
    assert s.next_alias("O", "C") == "$JS.NEXT.O.C"
    assert s.flow_control("O", "C", "a1B2") == "$JS.FC.O.C.a1B2"
    assert s.snapshot_ack("O", "id", 1024, 1) == "$JS.SNAPSHOT.ACK.O.id.1024.1"
    assert s.snapshot_restore("O", "id") == "$JS.SNAPSHOT.RESTORE.O.id"


EVENTS = [
    (s.advisory_stream_created("O"), "$JS.EVENT.ADVISORY.STREAM.CREATED.O", "stream_action"),
    (s.advisory_stream_updated("O"), "$JS.EVENT.ADVISORY.STREAM.UPDATED.O", "stream_action"),
    (s.advisory_stream_deleted("O"), "$JS.EVENT.ADVISORY.STREAM.DELETED.O", "stream_action"),
    (
        s.advisory_stream_batch_abandoned("O"),
        "$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.O",
        "stream_batch_abandoned",
    ),
    (s.advisory_snapshot_create("O"), "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE.O", "snapshot_create"),
    (s.advisory_snapshot_complete("O"), "$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.O", "snapshot_complete"),
    (s.advisory_restore_create("O"), "$JS.EVENT.ADVISORY.STREAM.RESTORE_CREATE.O", "restore_create"),
    (s.advisory_restore_complete("O"), "$JS.EVENT.ADVISORY.STREAM.RESTORE_COMPLETE.O", "restore_complete"),
    (s.advisory_consumer_created("O", "C"), "$JS.EVENT.ADVISORY.CONSUMER.CREATED.O.C", "consumer_action"),
    (s.advisory_consumer_deleted("O", "C"), "$JS.EVENT.ADVISORY.CONSUMER.DELETED.O.C", "consumer_action"),
    (s.advisory_consumer_pause("O", "C"), "$JS.EVENT.ADVISORY.CONSUMER.PAUSE.O.C", "consumer_pause"),
    (s.advisory_consumer_pinned("O", "C"), "$JS.EVENT.ADVISORY.CONSUMER.PINNED.O.C", "consumer_group_pinned"),
    (
        s.advisory_consumer_unpinned("O", "C"),
        "$JS.EVENT.ADVISORY.CONSUMER.UNPINNED.O.C",
        "consumer_group_unpinned",
    ),
    (s.advisory_max_deliveries("O", "C"), "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.O.C", "max_deliver"),
    (s.advisory_msg_naked("O", "C"), "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.O.C", "nak"),
    (s.advisory_msg_terminated("O", "C"), "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.O.C", "terminated"),
    (s.metric_consumer_ack("O", "C"), "$JS.EVENT.METRIC.CONSUMER.ACK.O.C", "consumer_ack"),
    (s.ADVISORY_API, "$JS.EVENT.ADVISORY.API", "api_audit"),
    (s.ADVISORY_API_LIMIT_REACHED, "$JS.EVENT.ADVISORY.API.LIMIT_REACHED", "api_limit_reached"),
]


@pytest.mark.parametrize(("built", "expected", "schema_type"), EVENTS, ids=[e[1] for e in EVENTS])
def test_event_subjects_map_to_their_schema(built, expected, schema_type):
    assert built == expected
    assert s.event_type(built) == schemas.type_id(schema_type)


def test_every_event_pattern_is_tested():
    assert len(EVENTS) == len(s.EVENTS)


def test_consumer_events_cover_advisories_and_metrics():
    advisories, metrics = s.consumer_events("O", "C")
    assert s.captures(advisories, s.advisory_msg_naked("O", "C")) == ["MSG_NAKED"]
    assert s.captures(metrics, s.metric_consumer_ack("O", "C")) == ["ACK"]


def test_no_other_module_spells_the_api_prefix():
    root = pathlib.Path(__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for folder in ("nats_cli", "devserver")
        for path in (root / folder).rglob("*.py")
        if '"$JS.API' in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
