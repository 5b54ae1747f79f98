"""Unit tests of schemas/: loading, the type list, well-formed schemas, and what they accept or refuse."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

import schemas

API = "io.nats.jetstream.api.v1."

BRIEF_TYPES = """
stream_configuration stream_state stream_info stream_create_request stream_create_response
stream_update_request stream_update_response stream_info_request stream_info_response
stream_names_request stream_names_response stream_list_request stream_list_response
stream_delete_response stream_purge_request stream_purge_response stream_msg_get_request
stream_msg_get_response stream_msg_delete_request stream_msg_delete_response stream_snapshot_request
stream_snapshot_response stream_restore_request stream_restore_response stream_template_configuration
stream_template_create_request stream_template_create_response stream_template_info_response
stream_template_names_request stream_template_names_response stream_template_delete_response
consumer_configuration consumer_create_request consumer_create_response consumer_info_response
consumer_names_request consumer_names_response consumer_list_request consumer_list_response
consumer_delete_response consumer_getnext_request account_info_response pub_ack_response api_error
""".split()

EVENT_TYPES = [
    "io.nats.jetstream.metric.v1.consumer_ack",
    "io.nats.jetstream.advisory.v1.max_deliver",
    "io.nats.jetstream.advisory.v1.consumer_action",
    "io.nats.jetstream.advisory.v1.stream_action",
    "io.nats.jetstream.advisory.v1.api_audit",
    "io.nats.jetstream.advisory.v1.terminated",
    "io.nats.jetstream.advisory.v1.nak",
]

# Captured from nats-server 2.15.1 (`nats-server -js`), trimmed only where noted.
REAL_STREAM_INFO = {
    "type": "io.nats.jetstream.api.v1.stream_info_response",
    "total": 0,
    "offset": 0,
    "limit": 0,
    "config": {
        "name": "S1",
        "subjects": ["s1.>"],
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
        "duplicate_window": 120000000000,
        "compression": "none",
        "allow_direct": False,
        "mirror_direct": False,
        "sealed": False,
        "deny_delete": False,
        "deny_purge": False,
        "allow_rollup_hdrs": False,
        "consumer_limits": {},
        "allow_msg_ttl": False,
        "metadata": {"_nats.level": "5", "_nats.req.level": "0", "_nats.ver": "2.15.1"},
    },
    "created": "2026-11-28T05:00:45.549355639Z",
    "state": {
        "messages": 0,
        "bytes": 0,
        "first_seq": 0,
        "first_ts": "0001-01-01T00:00:00Z",
        "last_seq": 0,
        "last_ts": "0001-01-01T00:00:00Z",
        "consumer_count": 0,
    },
    "cluster": {"leader": "NBEIBUYVDRX7QCL3TKDVDHTNIUAN3RQFEHAGVYUTCPVBDV6USNB46RRH"},
    "ts": "2026-11-28T05:00:45.552133717Z",
}

REAL_ERRORS = [
    (
        "stream_info_response",
        {
            "type": API + "stream_info_response",
            "error": {"code": 404, "err_code": 10059, "description": "stream not found"},
            "total": 0,
            "offset": 0,
            "limit": 0,
        },
    ),
    (
        "stream_names_response",
        {
            "type": API + "stream_names_response",
            "error": {
                "code": 400,
                "err_code": 10025,
                "description": 'invalid JSON: json: unknown field "foo"',
            },
            "total": 0,
            "offset": 0,
            "limit": 0,
            "streams": None,
        },
    ),
    (
        "stream_purge_response",
        {
            "type": API + "stream_purge_response",
            "error": {"code": 400, "err_code": 10003, "description": "bad request"},
            "purged": 0,
        },
    ),
    (
        "pub_ack_response",
        {
            "error": {"code": 400, "err_code": 10071, "description": "wrong last sequence: 6"},
            "stream": "S",
            "seq": 0,
        },
    ),
]


def refs(node):
    """Every $ref value anywhere in a schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_every_type_the_contract_names_has_a_schema():
    missing = [name for name in BRIEF_TYPES + EVENT_TYPES if schemas.type_id(name) not in schemas.types()]
    assert missing == []


def test_short_and_full_names_load_the_same_schema():
    assert schemas.load("stream_info") == schemas.load(API + "stream_info")
    assert schemas.load("nak")["$id"] == "io.nats.jetstream.advisory.v1.nak"
    assert schemas.type_id("consumer_ack") == "io.nats.jetstream.metric.v1.consumer_ack"


def test_unknown_type_raises():
    with pytest.raises(schemas.UnknownTypeError):
        schemas.load("stream_nonsense")
    with pytest.raises(KeyError):
        schemas.validate("no_such_type", {})


def test_load_returns_a_copy():
    schemas.load("api_error")["required"].clear()
    assert schemas.load("api_error")["required"] == ["code", "err_code", "description"]


@pytest.mark.parametrize("name", schemas.types() + [schemas.DEFINITIONS])
def test_schema_is_valid_json_schema_with_matching_id(name):
    schema = schemas.load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == name
    assert schema["title"] == name
    assert schema["description"]


@pytest.mark.parametrize("name", schemas.types() + [schemas.DEFINITIONS])
def test_every_ref_resolves(name):
    for ref in refs(schemas.load(name)):
        target, _, pointer = ref.partition("#")
        node = schemas.load(target)
        for part in filter(None, pointer.split("/")):
            node = node[part]
        assert isinstance(node, dict), ref


def test_responses_name_their_own_type():
    for name in schemas.types():
        if name.endswith("_response") and name != API + "pub_ack_response":
            assert schemas.load(name)["properties"]["type"] == {"const": name}


def test_real_stream_info_is_valid():
    assert schemas.validate("stream_info_response", REAL_STREAM_INFO) == []


@pytest.mark.parametrize(("name", "doc"), REAL_ERRORS, ids=[name for name, _ in REAL_ERRORS])
def test_real_error_replies_are_valid(name, doc):
    assert schemas.validate(name, doc) == []


def test_wrong_documents_are_refused_with_readable_problems():
    doc = json.loads(json.dumps(REAL_STREAM_INFO))
    doc["config"]["retention"] = "forever"
    doc["state"]["messages"] = -1
    del doc["ts"]
    assert schemas.validate("stream_info_response", doc) == [
        "<root>: 'ts' is a required property",
        "config.retention: 'forever' is not one of ['limits', 'interest', 'workqueue']",
        "state.messages: -1 is less than the minimum of 0",
    ]


def test_wrong_type_string_is_refused():
    doc = dict(REAL_STREAM_INFO, type=API + "stream_create_response")
    assert schemas.validate("stream_info_response", doc) != []


def test_error_branch_needs_a_complete_error():
    doc = {"type": API + "stream_delete_response", "error": {"code": 404, "description": "stream not found"}}
    assert schemas.validate("stream_delete_response", doc) == ["error: 'err_code' is a required property"]


def test_success_branch_needs_success_fields():
    assert schemas.validate("stream_delete_response", {"type": API + "stream_delete_response"}) == [
        "<root>: 'success' is a required property"
    ]


def test_system_response_is_always_an_error():
    assert schemas.validate("system_response", {"type": API + "system_response"}) != []


def test_check_raises_schema_error_listing_problems():
    with pytest.raises(schemas.SchemaError) as caught:
        schemas.check("sequence_info", {"consumer_seq": "1"})
    assert caught.value.type_name == API + "sequence_info"
    assert caught.value.problems == [
        "<root>: 'stream_seq' is a required property",
        "consumer_seq: '1' is not of type 'integer'",
    ]
    schemas.check("sequence_info", {"consumer_seq": 1, "stream_seq": 2})


def test_responses_accept_fields_from_newer_servers():
    doc = json.loads(json.dumps(REAL_STREAM_INFO))
    doc["future_field"] = 1
    doc["config"]["future_option"] = True
    doc["state"]["future_counter"] = 3
    assert schemas.validate("stream_info_response", doc) == []


def test_requests_refuse_unknown_keys_like_strict_nats_server():
    assert schemas.validate("stream_create_request", {"name": "S", "bogus": 1}) == [
        "<root>: Unevaluated properties are not allowed ('bogus' was unexpected)"
    ]
    body = {"stream_name": "S", "config": {"ack_policy": "explicit", "bogus": 1}}
    assert schemas.validate("consumer_create_request", body) == [
        "config: Unevaluated properties are not allowed ('bogus' was unexpected)"
    ]


def test_requests_leave_value_rules_to_the_server():
    # nats-server answers these with 10052/10056, not 10025, so the schema must let them through.
    assert schemas.validate("stream_create_request", {"name": "a.b", "max_age": -5, "num_replicas": 9}) == []
    assert schemas.validate("stream_create_request", {}) == []


@pytest.mark.parametrize(
    ("name", "doc", "problem"),
    [
        ("stream_create_request", {"storage": "disk"}, "storage: 'disk' is not one of ['file', 'memory']"),
        ("stream_create_request", {"discard": "oldest"}, "discard: 'oldest' is not one of ['old', 'new']"),
        ("stream_create_request", {"max_age": "1h"}, "max_age: '1h' is not of type 'integer'"),
        ("stream_create_request", {"subjects": "a.>"}, "subjects: 'a.>' is not of type 'array'"),
        (
            "stream_create_request",
            {"max_msg_size": 2**31},
            "max_msg_size: 2147483648 is greater than the maximum of 2147483647",
        ),
        (
            "consumer_create_request",
            {"config": {"deliver_policy": "first"}},
            "config.deliver_policy: 'first' is not one of ['all', 'last', 'new', 'by_start_sequence', "
            "'by_start_time', 'last_per_subject']",
        ),
        (
            "consumer_create_request",
            {"config": {"ack_policy": "some"}},
            "config.ack_policy: 'some' is not one of ['none', 'all', 'explicit', 'flow_control']",
        ),
        (
            "consumer_create_request",
            {"config": {"replay_policy": "fast"}},
            "config.replay_policy: 'fast' is not one of ['instant', 'original']",
        ),
        (
            "consumer_create_request",
            {"action": "upsert"},
            "action: 'upsert' is not one of ['', 'create', 'update']",
        ),
        ("consumer_create_request", {"config": {"opt_start_time": "yesterday"}}, None),
        ("stream_msg_get_request", {"seq": -1}, "seq: -1 is less than the minimum of 0"),
        ("consumer_getnext_request", {"batch": 1, "expires": 1.5}, "expires: 1.5 is not of type 'integer'"),
    ],
)
def test_requests_refuse_wrong_types_and_enums(name, doc, problem):
    problems = schemas.validate(name, doc)
    assert problems != []
    if problem is not None:
        assert problems == [problem]


def test_validator_is_cached_and_gives_raw_errors():
    assert schemas.validator("stream_info") is schemas.validator(API + "stream_info")
    (error,) = schemas.validator("sequence_info").iter_errors({"consumer_seq": 1})
    assert (error.validator, error.message) == ("required", "'stream_seq' is a required property")


def test_timestamps_must_be_rfc3339():
    good = {"consumer_seq": 1, "stream_seq": 1, "last_active": "2026-11-28T05:00:45.549355639Z"}
    assert schemas.validate("sequence_info", good) == []
    assert schemas.validate("sequence_info", dict(good, last_active="2026-11-28 05:00")) != []


def test_pub_ack_shapes():
    assert schemas.validate("pub_ack_response", {"stream": "S", "seq": 7}) == []
    assert schemas.validate("pub_ack_response", {"stream": "S", "seq": 7, "duplicate": True}) == []
    assert schemas.validate("pub_ack_response", {"stream": "S"}) == ["<root>: 'seq' is a required property"]


def test_advisory_must_carry_its_header():
    doc = {
        "type": "io.nats.jetstream.advisory.v1.nak",
        "id": "D94A8k7TmLppI7eJvuMgOp",
        "timestamp": "2026-11-28T05:05:45.812541246Z",
        "stream": "P",
        "consumer": "C",
        "consumer_seq": 1,
        "stream_seq": 1,
        "deliveries": 1,
    }
    assert schemas.validate("nak", doc) == []
    assert schemas.validate("nak", {k: v for k, v in doc.items() if k != "id"}) == [
        "<root>: 'id' is a required property"
    ]


def test_importing_schemas_does_not_import_jsonschema():
    code = "import sys, schemas, schemas.subjects, schemas.errors; print('jsonschema' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
