"""Unit tests of schemas.errors: the catalogue's numbers, placeholder filling and lookups."""

from __future__ import annotations

import pytest

import schemas
from schemas import errors

# (constant, code, err_code, description) as nats-server 2.15.1 defines them (server/errors.json).
KNOWN = [
    ("JSAccountResourcesExceededErr", 400, 10002, "resource limits exceeded for account"),
    ("JSBadRequestErr", 400, 10003, "bad request"),
    ("JSConsumerCreateErrF", 500, 10012, "{err}"),
    ("JSConsumerNameExistErr", 400, 10013, "consumer name already in use"),
    ("JSConsumerNotFoundErr", 404, 10014, "consumer not found"),
    (
        "JSConsumerDurableNameNotMatchSubjectErr",
        400,
        10017,
        "consumer name in subject does not match durable name in request",
    ),
    (
        "JSConsumerDurableNameNotSetErr",
        400,
        10018,
        "consumer expected to be durable but a durable name was not set",
    ),
    (
        "JSConsumerEphemeralWithDurableNameErr",
        400,
        10020,
        "consumer expected to be ephemeral but a durable name was set in request",
    ),
    ("JSInsufficientResourcesErr", 503, 10023, "insufficient resources"),
    ("JSInvalidJSONErr", 400, 10025, "invalid JSON: {err}"),
    ("JSMaximumConsumersLimitErr", 400, 10026, "maximum consumers limit reached"),
    ("JSMaximumStreamsLimitErr", 400, 10027, "maximum number of streams reached"),
    ("JSNoMessageFoundErr", 404, 10037, "no message found"),
    ("JSNotEmptyRequestErr", 400, 10038, "expected an empty request payload"),
    ("JSNotEnabledForAccountErr", 503, 10039, "JetStream not enabled for account"),
    ("JSSequenceNotFoundErrF", 400, 10043, "sequence {seq} not found"),
    ("JSStreamCreateErrF", 500, 10049, "{err}"),
    ("JSStreamInvalidConfigF", 500, 10052, "{err}"),
    ("JSStreamMessageExceedsMaximumErr", 400, 10054, "message size exceeds maximum allowed"),
    ("JSStreamMismatchErr", 400, 10056, "stream name in subject does not match request"),
    ("JSStreamMsgDeleteFailedF", 500, 10057, "{err}"),
    ("JSStreamNameExistErr", 400, 10058, "stream name already in use with a different configuration"),
    ("JSStreamNotFoundErr", 404, 10059, "stream not found"),
    ("JSStreamNotMatchErr", 400, 10060, "expected stream does not match"),
    ("JSStreamRestoreErrF", 500, 10062, "restore failed: {err}"),
    ("JSStreamSnapshotErrF", 500, 10064, "snapshot failed: {err}"),
    ("JSStreamSubjectOverlapErr", 400, 10065, "subjects overlap with an existing stream"),
    ("JSStreamTemplateNotFoundErr", 404, 10068, "template not found"),
    ("JSStreamWrongLastMsgIDErrF", 400, 10070, "wrong last msg ID: {id}"),
    ("JSStreamWrongLastSequenceErrF", 400, 10071, "wrong last sequence: {seq}"),
    ("JSStreamReplicasNotSupportedErr", 500, 10074, "replicas > 1 not supported in non-clustered mode"),
    ("JSNotEnabledErr", 503, 10076, "JetStream not enabled"),
    ("JSStreamStoreFailedF", 503, 10077, "{err}"),
    ("JSStreamSealedErr", 400, 10109, "invalid operation on sealed stream"),
    ("JSConsumerNameContainsPathSeparatorsErr", 400, 10127, "Consumer name can not contain path separators"),
    ("JSStreamNameContainsPathSeparatorsErr", 400, 10128, "Stream name can not contain path separators"),
    (
        "JSConsumerCreateFilterSubjectMismatchErr",
        400,
        10131,
        "Consumer create request did not match filtered subject from create subject",
    ),
    ("JSConsumerAlreadyExists", 400, 10148, "consumer already exists"),
    ("JSConsumerDoesNotExist", 400, 10149, "consumer does not exist"),
    ("JSRequiredApiLevelErr", 412, 10185, "JetStream minimum api level required"),
]


@pytest.mark.parametrize(("name", "code", "err_code", "description"), KNOWN, ids=[k[0] for k in KNOWN])
def test_known_errors_have_nats_server_numbers_and_words(name, code, err_code, description):
    entry = errors.get(name)
    assert (entry.code, entry.err_code, entry.description) == (code, err_code, description)
    assert errors.by_err_code(err_code) is entry


def test_catalogue_is_complete_and_consistent():
    table = errors.catalogue()
    assert len(table) == 226
    codes = [entry.err_code for entry in table.values()]
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)
    assert {entry.code for entry in table.values()} <= {400, 404, 408, 409, 412, 429, 500, 503}
    assert all(name == entry.name for name, entry in table.items())


def test_every_entry_fills_into_a_valid_api_error():
    for entry in errors.catalogue().values():
        filled = errors.error(entry.name, **{p: "x" for p in entry.placeholders})
        assert schemas.validate("api_error", filled) == [], entry.name
        assert "{" not in filled["description"]


def test_error_fills_placeholders():
    assert errors.error("JSStreamNotFoundErr") == {
        "code": 404,
        "err_code": 10059,
        "description": "stream not found",
    }
    assert errors.error("JSStreamWrongLastSequenceErrF", seq=6)["description"] == "wrong last sequence: 6"
    assert errors.error("JSInvalidJSONErr", err='json: unknown field "foo"')["description"] == (
        'invalid JSON: json: unknown field "foo"'
    )


def test_error_refuses_missing_or_unknown_placeholders():
    with pytest.raises(ValueError):
        errors.error("JSSequenceNotFoundErrF")
    with pytest.raises(ValueError):
        errors.error("JSStreamNotFoundErr", err="x")


def test_unknown_names_and_codes_raise_key_error():
    with pytest.raises(KeyError):
        errors.error("JSNoSuchErr")
    with pytest.raises(KeyError):
        errors.by_err_code(1)


def test_api_error_round_trip_and_identity():
    err = errors.ApiError.from_dict({"code": 404, "err_code": 10014, "description": "consumer not found"})
    assert err.is_a("JSConsumerNotFoundErr")
    assert not err.is_a("JSStreamNotFoundErr")
    assert err.as_dict() == errors.error("JSConsumerNotFoundErr")
    assert str(err) == "consumer not found (code 404, err_code 10014)"
