"""Stream configuration on both servers: defaults, refusals word for word, update rules, overlaps."""

from __future__ import annotations

import pytest

from schemas import errors
from schemas import subjects as S
from tests.jetstream.conftest import SECOND, stable

pytestmark = pytest.mark.timeout(60)

DEFAULTS = {
    "name": "S1",
    "subjects": ["S1"],
    "retention": "limits",
    "max_consumers": -1,
    "max_msgs": -1,
    "max_bytes": -1,
    "max_age": 0,
    "max_msgs_per_subject": -1,
    "max_msg_size": -1,
    "discard": "old",
    "storage": "file",
    "num_replicas": 1,
    "duplicate_window": 120 * SECOND,
    "compression": "none",
    "allow_direct": False,
    "mirror_direct": False,
    "sealed": False,
    "deny_delete": False,
    "deny_purge": False,
    "allow_rollup_hdrs": False,
    "consumer_limits": {},
    "allow_msg_ttl": False,
    "metadata": {"_nats.req.level": "0"},
}
EMPTY_STATE = {
    "messages": 0,
    "bytes": 0,
    "first_seq": 0,
    "first_ts": "0001-01-01T00:00:00Z",
    "last_seq": 0,
    "last_ts": "0001-01-01T00:00:00Z",
    "consumer_count": 0,
}


async def test_minimal_config_gets_nats_server_defaults(jsapi):
    doc = await jsapi.ok(S.stream_create("S1"), {"name": "S1"})
    assert list(doc) == ["type", "config", "created", "state", "ts", "did_create"]
    assert stable(doc["config"]) == DEFAULTS
    assert list(doc["config"]) == list(DEFAULTS)  # Go struct order
    assert doc["state"] == EMPTY_STATE
    assert doc["did_create"] is True
    assert set(doc["config"]["metadata"]) == {"_nats.req.level", "_nats.ver", "_nats.level"}


async def test_limits_zero_or_below_minus_one_become_minus_one(jsapi):
    body = {"name": "S1", "max_msgs": -5, "max_bytes": 0, "max_msg_size": 0, "max_consumers": -3}
    doc = await jsapi.ok(S.stream_create("S1"), {**body, "max_msgs_per_subject": -9})
    config = doc["config"]
    assert [config[k] for k in ("max_msgs", "max_bytes", "max_msg_size", "max_consumers")] == [-1] * 4
    assert config["max_msgs_per_subject"] == -1


async def test_pedantic_refuses_what_would_be_corrected(jsapi):
    await jsapi.fails(
        S.stream_create("S1"),
        {"name": "S1", "max_msgs": -5, "pedantic": True},
        "JSPedanticErrF",
        err="max_msgs must be set to -1",
    )
    await jsapi.fails(
        S.stream_create("S1"),
        {"name": "S1", "max_age": SECOND, "pedantic": True},
        "JSPedanticErrF",
        err="duplicate window cannot be bigger than max age",
    )


async def test_duplicate_window_follows_a_short_max_age(jsapi):
    doc = await jsapi.create("S1", max_age=SECOND)
    assert doc["config"]["duplicate_window"] == SECOND


async def test_full_config_round_trips(jsapi):
    body = {
        "name": "FULL",
        "description": "every field",
        "subjects": ["full.>"],
        "retention": "workqueue",
        "max_consumers": 10,
        "max_msgs": 1000,
        "max_bytes": 1 << 20,
        "max_age": 3600 * SECOND,
        "max_msgs_per_subject": 3,
        "max_msg_size": 1024,
        "discard": "new",
        "storage": "memory",
        "num_replicas": 1,
        "no_ack": True,
        "duplicate_window": 60 * SECOND,
        "placement": {"cluster": "c1", "tags": ["a"]},
        "compression": "s2",
        "first_seq": 100,
        "subject_transform": {"src": "full.>", "dest": "mapped.>"},
        "republish": {"src": "full.>", "dest": "rp.>", "headers_only": True},
        "allow_direct": True,
        "discard_new_per_subject": True,
        "deny_delete": True,
        "allow_rollup_hdrs": True,
        "consumer_limits": {"inactive_threshold": SECOND, "max_ack_pending": 5},
        "allow_msg_ttl": True,
        "subject_delete_marker_ttl": 2 * SECOND,
        "metadata": {"owner": "tests"},
    }
    doc = await jsapi.ok(S.stream_create("FULL"), body)
    config = stable(doc["config"])
    assert config["metadata"] == {"_nats.req.level": "1", "owner": "tests"}  # TTLs need API level 1
    expected = {k: v for k, v in body.items() if k != "metadata"}
    assert {k: config[k] for k in expected} == expected
    assert doc["state"]["first_seq"] == 100 and doc["state"]["last_seq"] == 99


@pytest.mark.parametrize(
    ("config", "error", "placeholders"),
    [
        (
            {"sealed": True},
            "JSStreamInvalidConfigF",
            {"err": "stream configuration for create can not be sealed"},
        ),
        ({"max_age": 50_000_000}, "JSStreamInvalidConfigF", {"err": "max age needs to be >= 100ms"}),
        ({"max_age": -1}, "JSStreamInvalidConfigF", {"err": "max age can not be negative"}),
        (
            {"max_age": SECOND, "duplicate_window": 2 * SECOND},
            "JSStreamInvalidConfigF",
            {"err": "duplicates window can not be larger then max age"},
        ),
        (
            {"duplicate_window": -5},
            "JSStreamInvalidConfigF",
            {"err": "duplicates window can not be negative"},
        ),
        (
            {"duplicate_window": 5},
            "JSStreamInvalidConfigF",
            {"err": "duplicates window needs to be >= 100ms"},
        ),
        (
            {"subjects": ["a.*", "a.b"]},
            "JSStreamInvalidConfigF",
            {"err": 'subject "a.*" overlaps with "a.b"'},
        ),
        (
            {"subjects": ["x.a", "x.a"]},
            "JSStreamInvalidConfigF",
            {"err": 'subject "x.a" overlaps with "x.a"'},
        ),
        (
            {"subjects": [">"]},
            "JSStreamInvalidConfigF",
            {"err": "capturing all subjects requires no-ack to be true"},
        ),
        (
            {"subjects": ["$JS.API.>"]},
            "JSStreamInvalidConfigF",
            {"err": "subjects that overlap with jetstream api require no-ack to be true"},
        ),
        (
            {"subjects": ["$SYS.>"]},
            "JSStreamInvalidConfigF",
            {"err": "subjects that overlap with system api require no-ack to be true"},
        ),
        ({"subjects": ["a..b"]}, "JSStreamInvalidConfigF", {"err": "invalid subject"}),
        ({"subjects": ["a b"]}, "JSStreamInvalidConfigF", {"err": "invalid subject"}),
        ({"num_replicas": 3}, "JSStreamReplicasNotSupportedErr", {}),
        ({"num_replicas": 6}, "JSStreamInvalidConfigF", {"err": "maximum replicas is 5"}),
        ({"num_replicas": -1}, "JSReplicasCountCannotBeNegative", {}),
        (
            {"deny_purge": True, "allow_rollup_hdrs": True},
            "JSStreamInvalidConfigF",
            {"err": "roll-ups require the purge permission"},
        ),
        (
            {"discard_new_per_subject": True},
            "JSStreamInvalidConfigF",
            {"err": "discard new per subject requires discard new policy to be set"},
        ),
        (
            {"discard": "new", "discard_new_per_subject": True},
            "JSStreamInvalidConfigF",
            {"err": "discard new per subject requires max msgs per subject > 0"},
        ),
        (
            {"mirror_direct": True},
            "JSStreamInvalidConfigF",
            {"err": "stream has no mirror but does have mirror direct"},
        ),
        (
            {"placement": {"preferred": "x"}},
            "JSStreamInvalidConfigF",
            {"err": "preferred server not permitted in placement"},
        ),
        (
            {"description": "x" * 4097},
            "JSStreamInvalidConfigF",
            {"err": "stream description is too long, maximum allowed is 4096"},
        ),
        ({"mirror": {"name": "O"}, "subjects": ["m"]}, "JSMirrorWithSubjectsErr", {}),
        (
            {"mirror": {"name": "O", "subject_transforms": [{"src": "o.*", "dest": "x.$2"}]}},
            "JSMirrorInvalidTransformDestination",
            {"err": "invalid mapping destination: wildcard index out of range in $2: [2]"},
        ),
        (
            {"sources": [{"name": "O", "subject_transforms": [{"src": "o.*", "dest": "x.$2"}]}]},
            "JSSourceInvalidTransformDestination",
            {"err": "invalid mapping destination: wildcard index out of range in $2: [2]"},
        ),
        (  # one filter within the other; filters that only collide (o.*.b, o.a.*) pass
            {"sources": [{"name": "O", "subject_transforms": [{"src": "o.a", "dest": "y"}, {"src": "o.*"}]}]},
            "JSSourceOverlappingSubjectFilters",
            {},
        ),
        ({"sources": [{"name": "O"}, {"name": "O", "filter_subject": ">"}]}, "JSSourceDuplicateDetected", {}),
        (
            {
                "sources": [
                    {"name": "O", "filter_subject": "o.a"},
                    {"name": "O", "subject_transforms": [{"src": "o.a"}]},
                ]
            },
            "JSSourceDuplicateDetected",
            {},
        ),
        (
            {"sources": [{"name": "O", "external": {"api": "$JS.x.API"}}] * 2},
            "JSSourceDuplicateDetected",
            {},
        ),
        (  # checked before the API prefix
            {"sources": [{"name": "O", "external": {"api": "a.*", "deliver": "b.*"}}]},
            "JSStreamInvalidExternalDeliverySubjErrF",
            {"prefix": "b.*"},
        ),
        (
            {"mirror": {"name": "O", "external": {"api": "$JS.x.API", "deliver": "a b"}}},
            "JSStreamInvalidExternalDeliverySubjErrF",
            {"prefix": "a b"},
        ),
        (
            {"mirror": {"name": "O", "consumer": {"deliver_subject": "d"}}},
            "JSMirrorDurableConsumerCfgInvalid",
            {},
        ),
        (
            {"sources": [{"name": "O", "consumer": {"name": "c", "deliver_subject": "d.*"}}]},
            "JSSourceDurableConsumerCfgInvalid",
            {},
        ),
        (
            {
                "sources": [
                    {"name": "O", "opt_start_seq": 3, "consumer": {"name": "c", "deliver_subject": "d"}}
                ]
            },
            "JSSourceDurableConsumerCfgInvalid",
            {},
        ),
        (
            {
                "sources": [
                    {"name": "O", "consumer": {"name": "c", "deliver_subject": "d"}},
                    {"name": "O", "filter_subject": "o.a", "consumer": {"name": "c", "deliver_subject": "e"}},
                ]
            },
            "JSSourceDurableConsumerCfgInvalid",  # a durable source takes no filter of its own
            {},
        ),
        (
            {
                "sources": [
                    {"name": "O", "consumer": {"name": "c", "deliver_subject": "d"}},
                    {
                        "name": "O",
                        "subject_transforms": [{"src": "o.a"}],
                        "consumer": {"name": "c", "deliver_subject": "e"},
                    },
                ]
            },
            "JSSourceDurableConsumerDuplicateDetected",
            {},
        ),
        (
            {"max_msgs": "x"},
            "JSInvalidJSONErr",
            {
                "err": "json: cannot unmarshal string into Go struct field "
                "StreamConfigRequest.max_msgs of type int64"
            },
        ),
        ({"foo": 1}, "JSInvalidJSONErr", {"err": 'json: unknown field "foo"'}),
        ({"placement": {"foo": 1}}, "JSInvalidJSONErr", {"err": 'json: unknown field "foo"'}),
        (
            {"subjects": ["s.*"], "subject_transform": {"src": "s.*", "dest": "t.$1", "foo": 1}},
            "JSInvalidJSONErr",
            {"err": 'json: unknown field "foo"'},
        ),
        (
            {"sources": [{"name": "O", "external": {"api": "$JS.x.API", "foo": 1}}]},
            "JSInvalidJSONErr",
            {"err": 'json: unknown field "foo"'},
        ),
        ({"retention": "bogus"}, "JSInvalidJSONErr", {"err": 'can not unmarshal "\\"bogus\\""'}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_invalid_configs_are_refused_word_for_word(jsapi, config, error, placeholders):
    await jsapi.fails(S.stream_create("S1"), {"name": "S1", **config}, error, **placeholders)


@pytest.mark.parametrize(
    "sources",
    [
        [{"name": "O", "filter_subject": "o.*"}, {"name": "O", "filter_subject": "o.a"}],
        [
            {"name": "O", "subject_transforms": [{"src": "o.a", "dest": "x"}]},
            {"name": "O", "subject_transforms": [{"src": "o.a", "dest": "y"}]},
        ],
        [{"name": "O", "subject_transforms": [{"src": "o.*.b"}, {"src": "o.a.*"}]}],
        [{"name": "O", "external": {"api": "$JS.x.API"}}, {"name": "O", "external": {"api": "$JS.y.API"}}],
    ],
    ids=["overlapping filters", "same filter other destination", "colliding filters", "other domains"],
)
async def test_source_lists_that_look_alike_are_accepted(jsapi, sources):
    doc = await jsapi.ok(S.stream_create("S1"), {"name": "S1", "sources": sources})
    assert [src["name"] for src in doc["config"]["sources"]] == ["O"] * len(sources)


async def test_external_delivery_prefix_may_not_catch_a_local_origins_subjects(jsapi):
    await jsapi.create("O", subjects=["o.>"])
    external = {"name": "P", "external": {"api": "$JS.x.API", "deliver": "o"}}
    refused = await jsapi.request(S.stream_create("S1"), {"name": "S1", "sources": [{"name": "O"}, external]})
    # `subject` is both a placeholder and fails()'s first parameter
    assert refused["error"] == errors.error(
        "JSStreamExternalDelPrefixOverlapsErrF", prefix="o", subject="o.>"
    )
    # the stream's own subjects are not checked
    body = {
        "name": "S1",
        "subjects": ["d.>"],
        "sources": [{**external, "external": {"api": "$JS.x.API", "deliver": "d"}}],
    }
    await jsapi.ok(S.stream_create("S1"), body)


@pytest.mark.parametrize(
    ("subject", "body", "err"),
    [
        (
            S.stream_info("J"),
            {"offset": "x"},
            "cannot unmarshal string into Go struct field JSApiStreamInfoRequest.offset of type int",
        ),
        (
            S.stream_purge("J"),
            {"seq": "x"},
            "cannot unmarshal string into Go struct field JSApiStreamPurgeRequest.seq of type uint64",
        ),
        (
            S.stream_msg_get("J"),
            {"seq": -1},
            "cannot unmarshal number -1 into Go struct field JSApiMsgGetRequest.seq of type uint64",
        ),
        (
            S.stream_names(),
            {"subject": 1},
            "cannot unmarshal number into Go struct field JSApiStreamNamesRequest.subject of type string",
        ),
        (
            S.stream_create("J2"),
            {"name": "J2", "subjects": [1]},
            "cannot unmarshal number into StreamConfigRequest.subjects.0 of type string",
        ),
        (
            S.stream_create("J2"),
            {"name": "J2", "max_msg_size": 3_000_000_000},
            "cannot unmarshal number 3000000000 into Go struct field "
            "StreamConfigRequest.max_msg_size of type int32",
        ),
        (
            S.stream_create("J2"),
            {"name": "J2", "metadata": {"a": 1}},
            "cannot unmarshal number into Go struct field StreamConfigRequest.metadata.a of type string",
        ),
    ],
)
async def test_type_errors_name_the_go_field(jsapi, subject, body, err):
    await jsapi.create("J")
    await jsapi.fails(subject, body, "JSInvalidJSONErr", err=f"json: {err}")


@pytest.mark.parametrize(
    ("body", "error", "placeholders"),
    [
        (
            b"{name:1}",
            "JSInvalidJSONErr",
            {"err": "invalid character 'n' looking for beginning of object key string at offset 2"},
        ),
        (
            b'{"name":"S1"}x',
            "JSInvalidJSONErr",
            {"err": "invalid character 'x' looking for beginning of value at offset 14"},
        ),
        (b'{"name":"S1"', "JSInvalidJSONErr", {"err": "unexpected EOF"}),
        (
            b"[1]",
            "JSInvalidJSONErr",
            {"err": "json: cannot unmarshal array into Go value of type server.StreamConfigRequest"},
        ),
        (b"", "JSStreamMismatchErr", {}),
        (b"{}", "JSStreamMismatchErr", {}),
        (b'{"name":"OTHER"}', "JSStreamMismatchErr", {}),
    ],
)
async def test_bodies_that_do_not_name_the_stream(jsapi, body, error, placeholders):
    await jsapi.fails(S.stream_create("S1"), body, error, **placeholders)


@pytest.mark.parametrize("name", ["a*b", "a>b"])
async def test_names_with_wildcards_are_refused(jsapi, name):
    err = "stream name is required and can not contain '.', '*', '>', '\\', '/'"
    subject = S.STREAM_CREATE.replace("*", name)  # the builders refuse such tokens themselves
    await jsapi.fails(subject, {"name": name}, "JSStreamInvalidConfigF", err=err)


async def test_names_with_path_separators_are_refused(jsapi):
    await jsapi.fails(S.stream_create("a/b"), {"name": "a/b"}, "JSStreamNameContainsPathSeparatorsErr")


@pytest.mark.parametrize("name", ["a b", "a\tb", "a.b", "a*b", "a>b", ""])
async def test_names_that_no_subject_can_carry_are_refused_on_update(jsapi, name):
    """A name with whitespace or a dot cannot be a subject token, but UPDATE checks the body's
    config before comparing names, so it shows the name rule."""
    await jsapi.create("S1")
    err = "stream name is required and can not contain '.', '*', '>', '\\', '/'"
    await jsapi.fails(S.stream_update("S1"), {"name": name}, "JSStreamInvalidConfigF", err=err)


async def test_name_of_256_bytes_is_too_long(jsapi):
    name = "N" * 256
    err = "stream name is too long, maximum allowed is 255"
    await jsapi.fails(S.stream_create(name), {"name": name}, "JSStreamInvalidConfigF", err=err)


async def test_create_is_idempotent_for_the_same_config(jsapi):
    first = await jsapi.create("S1", subjects=["s.>"])
    again = await jsapi.create("S1", subjects=["s.>"])
    assert again["did_create"] is True and again["created"] == first["created"]
    await jsapi.fails(
        S.stream_create("S1"), {"name": "S1", "subjects": ["s.>"], "max_msgs": 5}, "JSStreamNameExistErr"
    )


async def test_subjects_may_not_overlap_another_stream(jsapi):
    await jsapi.create("A", subjects=["x.>"])
    await jsapi.fails(S.stream_create("B"), {"name": "B", "subjects": ["x.y"]}, "JSStreamSubjectOverlapErr")
    await jsapi.fails(S.stream_create("B"), {"name": "B", "subjects": ["x.*"]}, "JSStreamSubjectOverlapErr")
    await jsapi.create("B", subjects=["X"])  # subjects are case sensitive
    await jsapi.fails(S.stream_update("B"), {"name": "B", "subjects": ["x.b"]}, "JSStreamSubjectOverlapErr")


async def test_update_changes_what_may_change(jsapi):
    await jsapi.create("S1", subjects=["s.>"])
    doc = await jsapi.ok(
        S.stream_update("S1"), {"name": "S1", "subjects": ["s.>", "t"], "max_msgs": 10, "allow_direct": True}
    )
    assert list(doc) == ["type", "config", "created", "state", "ts"]
    assert (doc["config"]["subjects"], doc["config"]["max_msgs"], doc["config"]["allow_direct"]) == (
        ["s.>", "t"],
        10,
        True,
    )
    assert (await jsapi.info("S1"))["config"]["max_msgs"] == 10


@pytest.mark.parametrize(
    ("create", "update", "err"),
    [
        ({}, {"storage": "memory"}, "stream configuration update can not change storage type"),
        (
            {},
            {"retention": "workqueue"},
            "stream configuration update can not change retention policy to/from workqueue",
        ),
        ({"deny_delete": True}, {}, "stream configuration update can not cancel deny message deletes"),
        ({"deny_purge": True}, {}, "stream configuration update can not cancel deny purge"),
        ({"allow_msg_ttl": True}, {}, "message TTL status can not be disabled"),
    ],
)
async def test_update_refuses_immutable_changes(jsapi, create, update, err):
    await jsapi.create("S1", **create)
    await jsapi.fails(S.stream_update("S1"), {"name": "S1", **update}, "JSStreamInvalidConfigF", err=err)


async def test_sealing_is_one_way_and_tightens_the_config(jsapi):
    await jsapi.create("S1", max_age=3600 * SECOND, allow_rollup_hdrs=True)
    doc = await jsapi.ok(
        S.stream_update("S1"),
        {"name": "S1", "max_age": 3600 * SECOND, "allow_rollup_hdrs": True, "sealed": True},
    )
    config = doc["config"]
    assert (config["sealed"], config["max_age"], config["discard"]) == (True, 0, "new")
    assert (config["deny_delete"], config["deny_purge"], config["allow_rollup_hdrs"]) == (True, True, False)
    await jsapi.fails(
        S.stream_update("S1"),
        {"name": "S1", **{k: config[k] for k in ("deny_delete", "deny_purge")}},
        "JSStreamInvalidConfigF",
        err="stream configuration update can not unseal a sealed stream",
    )


async def test_update_errors_name_and_existence(jsapi):
    await jsapi.create("S1")
    await jsapi.fails(S.stream_update("S1"), {"name": "OTHER"}, "JSStreamMismatchErr")
    await jsapi.fails(S.stream_update("NOPE"), {"name": "NOPE"}, "JSStreamNotFoundErr")
    await jsapi.fails(
        S.stream_update("S1"), {"name": "S1", "num_replicas": 3}, "JSStreamReplicasNotSupportedErr"
    )


async def test_mirror_can_be_removed_but_not_changed(jsapi):
    await jsapi.create("ORIGIN", subjects=["o.>"])
    doc = await jsapi.ok(S.stream_create("M"), {"name": "M", "mirror": {"name": "ORIGIN"}})
    assert "subjects" not in doc["config"] and "duplicate_window" not in doc["config"]
    assert doc["mirror"] == {"name": "ORIGIN", "lag": 0, "active": -1}
    await jsapi.fails(
        S.stream_update("M"), {"name": "M", "mirror": {"name": "OTHER"}}, "JSStreamMirrorNotUpdatableErr"
    )
    promoted = await jsapi.ok(S.stream_update("M"), {"name": "M"})
    assert promoted["config"]["subjects"] == ["M"] and "mirror" not in promoted["config"]
