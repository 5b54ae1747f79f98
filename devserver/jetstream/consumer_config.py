"""Consumer configuration: nats-server's defaults, checks and update rules (consumer.go).

Owns what happens to a `ConsumerConfig` between the request and the consumer: defaults filled
as `setConsumerConfigDefaults` does, refusals with the error `checkConsumerCfg` gives (in its
order, since the first failing check names the error), the fields an update may change
(`checkNewConsumerConfig`) and the JSON shape nats-server sends back (struct order, omitempty).

A config is a plain dict with nats-server's JSON keys; durations are integer nanoseconds. Errors
are raised as `api.ApiError` with the `schemas.errors` constant names.

May import: schemas, devserver.subjects, devserver.jetstream.api, devserver.jetstream.timefmt.
"""

from __future__ import annotations

import re
from typing import Any

from devserver import subjects as subj
from devserver.jetstream.api import ApiError
from devserver.jetstream.timefmt import ZERO_TIME, go_duration, parse_time
from devserver.jetstream.versioning import DYNAMIC_KEYS, REQUIRED_LEVEL_KEY

SECOND = 1_000_000_000
MILLISECOND = 1_000_000
ACK_WAIT_DEFAULT = 30 * SECOND
DELETE_WAIT_DEFAULT = 5 * SECOND
MAX_ACK_PENDING_DEFAULT = 1000
WAIT_QUEUE_DEFAULT_MAX = 512
PINNED_TTL_DEFAULT = 120 * SECOND
MAX_DESCRIPTION_LEN = 4096
MAX_METADATA_LEN = 128 * 1024
MIN_HEARTBEAT = 100 * MILLISECOND
MAX_NAME_LEN = 255

DELIVER_POLICIES = ("all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject")
ACK_POLICIES = ("none", "all", "explicit", "flow_control")
REPLAY_POLICIES = ("instant", "original")
PRIORITY_POLICIES = ("none", "overflow", "pinned_client", "prioritized")

# ConsumerConfig's JSON keys in Go struct order; the ones in ALWAYS have no omitempty.
FIELDS = (
    "durable_name",
    "name",
    "description",
    "deliver_policy",
    "opt_start_seq",
    "opt_start_time",
    "ack_policy",
    "ack_wait",
    "max_deliver",
    "backoff",
    "filter_subject",
    "filter_subjects",
    "replay_policy",
    "rate_limit_bps",
    "sample_freq",
    "max_waiting",
    "max_ack_pending",
    "flow_control",
    "headers_only",
    "max_batch",
    "max_expires",
    "max_bytes",
    "deliver_subject",
    "deliver_group",
    "idle_heartbeat",
    "inactive_threshold",
    "num_replicas",
    "mem_storage",
    "direct",
    "sourcing",
    "metadata",
    "pause_until",
    "priority_groups",
    "priority_policy",
    "priority_timeout",
)
ALWAYS = frozenset(("deliver_policy", "ack_policy", "replay_policy", "num_replicas"))
# Fields an update may not change, with nats-server's words (checkNewConsumerConfig order).
_IMMUTABLE = (
    ("deliver_policy", "deliver policy can not be updated"),
    ("mem_storage", "storage type can not be updated"),
    ("direct", "direct can not be updated"),
    ("sourcing", "sourcing can not be updated"),
    ("opt_start_seq", "start sequence can not be updated"),
)
_IMMUTABLE_LATE = (
    ("ack_policy", "ack policy can not be updated"),
    ("replay_policy", "replay policy can not be updated"),
    ("idle_heartbeat", "heart beats can not be updated"),
    ("flow_control", "flow control can not be updated"),
)
GROUP_NAME = re.compile(r"^[a-zA-Z0-9/_=-]{1,16}$")
_BAD_NAME_CHARS = frozenset(" \t\r\n\f.*>\\/")


def is_valid_name(name: str) -> bool:
    """nats-server's isValidAssetName: no whitespace, `.`, `*`, `>`, path separators."""
    return bool(name) and _BAD_NAME_CHARS.isdisjoint(name)


def filters_of(config: dict[str, Any]) -> list[str]:
    """The subject filters of a config (`filter_subject` or `filter_subjects`), possibly empty."""
    if config.get("filter_subject"):
        return [config["filter_subject"]]
    return list(config.get("filter_subjects") or ())


def is_durable(config: dict[str, Any]) -> bool:
    return bool(config.get("durable_name"))


def is_push(config: dict[str, Any]) -> bool:
    return bool(config.get("deliver_subject"))


def sample_frequency(config: dict[str, Any]) -> int:
    """The ack sampling percentage (0 = off); the config was checked before."""
    text = config.get("sample_freq") or ""
    return int(text.removesuffix("%")) if text else 0


def _pedantic(text: str) -> ApiError:
    return ApiError("JSPedanticErrF", err=text)


def apply_defaults(
    config: dict[str, Any],
    stream_config: dict[str, Any],
    limits: dict[str, int] | None = None,
    pedantic: bool = False,
) -> None:
    """Fill defaults in place as setConsumerConfigDefaults does (or refuse them if pedantic).

    `limits` holds the server and account caps: `max_ack_pending`, `max_request_batch` (0 = none).
    """
    limits = limits or {}
    max_deliver = config.get("max_deliver", 0)
    if max_deliver == 0 or max_deliver < -1:
        if pedantic and max_deliver < -1:
            raise _pedantic("max_deliver must be set to -1")
        config["max_deliver"] = -1
    for key, minimum, text in (
        ("max_waiting", 0, "max_waiting must not be negative"),
        ("max_ack_pending", -1, "max_ack_pending must be set to -1"),
        ("max_batch", 0, "max_batch must not be negative"),
        ("max_expires", 0, "max_expires must not be negative"),
        ("max_bytes", 0, "max_bytes must not be negative"),
        ("idle_heartbeat", 0, "idle_heartbeat must not be negative"),
        ("inactive_threshold", 0, "inactive_threshold must not be negative"),
        ("priority_timeout", 0, "priority_timeout must not be negative"),
    ):
        if config.get(key, 0) < minimum:
            if pedantic:
                raise _pedantic(text)
            config[key] = minimum
    ack_policy = config.get("ack_policy", "none")
    push = is_push(config)
    if not push and not config.get("max_waiting"):
        config["max_waiting"] = WAIT_QUEUE_DEFAULT_MAX
    if not config.get("ack_wait") and ack_policy in ("explicit", "all"):
        config["ack_wait"] = ACK_WAIT_DEFAULT
    backoff = config.get("backoff") or []
    if backoff:
        if pedantic and config.get("ack_wait", 0) != backoff[0]:
            raise _pedantic("first backoff value has to equal batch AckWait")
        config["ack_wait"] = backoff[0]
    consumer_limits = stream_config.get("consumer_limits") or {}
    if not config.get("max_ack_pending"):
        if pedantic and consumer_limits.get("max_ack_pending", 0) > 0:
            raise _pedantic("max_ack_pending must be set if it's configured in stream limits")
        config["max_ack_pending"] = consumer_limits.get("max_ack_pending", 0)
    if not config.get("inactive_threshold"):
        if pedantic and consumer_limits.get("inactive_threshold", 0) > 0:
            raise _pedantic("inactive_threshold must be set if it's configured in stream limits")
        config["inactive_threshold"] = consumer_limits.get("inactive_threshold", 0)
    if not config.get("max_ack_pending") and ack_policy != "none":
        pending = MAX_ACK_PENDING_DEFAULT
        for cap in (limits.get("server_max_ack_pending", 0), limits.get("max_ack_pending", 0)):
            if 0 < cap < pending:
                pending = cap
        config["max_ack_pending"] = pending
    max_request_batch = limits.get("max_request_batch", 0)
    if not push and not config.get("max_batch") and max_request_batch > 0:
        if pedantic:
            raise _pedantic("max_request_batch must be set if it's JetStream limits are set")
        config["max_batch"] = max_request_batch
    if config.get("priority_policy") == "pinned_client" and not config.get("priority_timeout"):
        config["priority_timeout"] = PINNED_TTL_DEFAULT


def check(
    config: dict[str, Any], stream_config: dict[str, Any], limits: dict[str, int] | None = None
) -> None:
    """Refuse a config (defaults applied) with checkConsumerCfg's first failing error."""
    limits = limits or {}
    name, durable = config.get("name", ""), config.get("durable_name", "")
    if name and not is_valid_name(name):
        raise ApiError("JSStreamInvalidConfigF", err="consumer name can not contain '.', '*', '>', '\\', '/'")
    if durable and not is_valid_name(durable):
        raise ApiError(
            "JSStreamInvalidConfigF", err="consumer durable name can not contain '.', '*', '>', '\\', '/'"
        )
    replicas, stream_replicas = config.get("num_replicas", 0), stream_config.get("num_replicas", 1)
    if replicas > 0 and replicas > stream_replicas:
        raise ApiError("JSConsumerReplicasExceedsStream")
    if replicas < 0:
        raise ApiError("JSReplicasCountCannotBeNegative")
    if stream_config.get("retention") in ("interest", "workqueue") and replicas not in (0, stream_replicas):
        raise ApiError("JSConsumerReplicasShouldMatchStream")
    if any(b < 0 for b in config.get("backoff") or ()):
        raise ApiError("JSConsumerBackOffNegativeErr")
    if config.get("ack_wait", 0) < 0:
        raise ApiError("JSConsumerAckWaitNegativeErr")
    ack_policy = config.get("ack_policy", "none")
    push = is_push(config)
    if ack_policy == "flow_control":
        _check_ack_flow_control(config)
    backoff, max_deliver = config.get("backoff") or (), config.get("max_deliver", -1)
    if backoff and max_deliver != -1 and len(backoff) > max_deliver:
        raise ApiError("JSConsumerMaxDeliverBackoffErr")
    if len(config.get("description", "")) > MAX_DESCRIPTION_LEN:
        raise ApiError("JSConsumerDescriptionTooLongErrF", max=MAX_DESCRIPTION_LEN)
    heartbeat = config.get("idle_heartbeat", 0)
    if push:
        _check_push(config, stream_config, heartbeat)
    else:
        _check_pull(config, stream_config, heartbeat, limits)
    max_ack_pending = config.get("max_ack_pending", 0)
    consumer_limits = stream_config.get("consumer_limits") or {}
    for cap in (
        limits.get("server_max_ack_pending", 0),
        limits.get("max_ack_pending", 0),
        consumer_limits.get("max_ack_pending", 0),
    ):
        if cap > 0 and max_ack_pending > cap:
            raise ApiError("JSConsumerMaxPendingAckExcessErrF", limit=cap)
    threshold_cap = consumer_limits.get("inactive_threshold", 0)
    if threshold_cap > 0 and config.get("inactive_threshold", 0) > threshold_cap:
        raise ApiError("JSConsumerInactiveThresholdExcess", limit=go_duration(threshold_cap))
    if config.get("direct"):
        if not push:
            raise ApiError("JSConsumerDirectRequiresPushErr")
        if durable:
            raise ApiError("JSConsumerDirectRequiresEphemeralErr")
    _check_filters(config)
    _check_start(config)
    _check_misc(config)


def _check_ack_flow_control(config: dict[str, Any]) -> None:
    if not is_push(config):
        raise ApiError("JSConsumerAckFCRequiresPushErr")
    if not config.get("flow_control"):
        raise ApiError("JSConsumerAckFCRequiresFCErr")
    if config.get("idle_heartbeat", 0) != SECOND:
        raise ApiError("JSStreamInvalidConfigF", err="flow control ack policy heartbeat needs to be 1s")
    if config.get("max_ack_pending", 0) <= 0:
        raise ApiError("JSConsumerAckFCRequiresMaxAckPendingErr")
    if config.get("ack_wait") or config.get("backoff"):
        raise ApiError("JSConsumerAckFCRequiresNoAckWaitErr")
    if config.get("max_deliver", -1) > 0:
        raise ApiError("JSConsumerAckFCRequiresNoMaxDeliverErr")


def _check_push(config: dict[str, Any], stream_config: dict[str, Any], heartbeat: int) -> None:
    deliver = config["deliver_subject"]
    if not subj.is_literal(deliver):
        raise ApiError("JSConsumerDeliverToWildcardsErr")
    if not subj.is_valid(deliver):
        raise ApiError("JSConsumerInvalidDeliverSubject")
    if any(subj.is_subset(deliver, s) for s in stream_config.get("subjects") or ()):
        raise ApiError("JSConsumerDeliverCycleErr")
    if config.get("max_waiting", 0) != 0:
        raise ApiError("JSConsumerPushMaxWaitingErr")
    if config.get("max_ack_pending", 0) > 0 and config.get("ack_policy", "none") == "none":
        raise ApiError("JSConsumerMaxPendingAckPolicyRequiredErr")
    if 0 < heartbeat < MIN_HEARTBEAT:
        raise ApiError("JSConsumerSmallHeartbeatErr")


def _check_pull(
    config: dict[str, Any], stream_config: dict[str, Any], heartbeat: int, limits: dict[str, int]
) -> None:
    if config.get("ack_policy", "none") == "none" and stream_config.get("retention") == "workqueue":
        raise ApiError("JSConsumerPullRequiresAckErr")
    if config.get("rate_limit_bps", 0) > 0:
        raise ApiError("JSConsumerPullWithRateLimitErr")
    if config.get("max_waiting", 0) < 0:
        raise ApiError("JSConsumerMaxWaitingNegativeErr")
    if heartbeat > 0:
        raise ApiError("JSConsumerHBRequiresPushErr")
    if config.get("flow_control"):
        raise ApiError("JSConsumerFCRequiresPushErr")
    if config.get("max_batch", 0) < 0:
        raise ApiError("JSConsumerMaxRequestBatchNegativeErr")
    max_expires = config.get("max_expires", 0)
    if max_expires != 0 and max_expires < MILLISECOND:
        raise ApiError("JSConsumerMaxRequestExpiresTooSmall")
    cap = limits.get("max_request_batch", 0)
    if cap > 0 and config.get("max_batch", 0) > cap:
        raise ApiError("JSConsumerMaxRequestBatchExceededF", limit=cap)


def _check_filters(config: dict[str, Any]) -> None:
    if config.get("filter_subject") and config.get("filter_subjects"):
        raise ApiError("JSConsumerDuplicateFilterSubjects")
    if config.get("filter_subject") and not subj.is_valid(config["filter_subject"]):
        raise ApiError("JSStreamInvalidConfigF", err="invalid subject")
    if any(f == "" for f in config.get("filter_subjects") or ()):
        raise ApiError("JSConsumerEmptyFilter")
    filters = filters_of(config)
    for i, outer in enumerate(filters):
        if not subj.is_valid(outer):
            raise ApiError("JSStreamInvalidConfigF", err="invalid subject")
        for j, inner in enumerate(filters):
            if i != j and subj.is_subset(outer, inner):
                raise ApiError("JSConsumerOverlappingSubjectFilters")


def _check_start(config: dict[str, Any]) -> None:
    policy = config.get("deliver_policy", "all")
    seq, time = config.get("opt_start_seq", 0), config.get("opt_start_time")
    words = {
        "all": "all",
        "last": "last",
        "last_per_subject": "last per subject",
        "new": "new",
        "by_start_sequence": "by start sequence",
        "by_start_time": "by start time",
    }[policy]

    def bad_start(start: str) -> ApiError:
        text = f"consumer delivery policy is deliver {words}, but optional start {start} is also set"
        return ApiError("JSConsumerInvalidPolicyErrF", err=text)

    def not_set(what: str) -> ApiError:
        text = f"consumer delivery policy is deliver {words}, but optional {what} is not set"
        return ApiError("JSConsumerInvalidPolicyErrF", err=text)

    if policy in ("all", "last", "last_per_subject", "new"):
        if seq > 0:
            raise bad_start("sequence")
        if time is not None:
            raise bad_start("time")
        if policy == "last_per_subject" and not filters_of(config):
            raise not_set("filter subject")
    elif policy == "by_start_sequence":
        if seq == 0:
            raise not_set("start sequence")
        if time is not None:
            raise bad_start("time")
    elif policy == "by_start_time":
        if time is None:
            raise not_set("start time")
        if seq != 0:
            raise bad_start("start sequence")


def _check_misc(config: dict[str, Any]) -> None:
    freq = config.get("sample_freq", "")
    if freq:
        text = freq.removesuffix("%")
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ApiError(
                "JSConsumerInvalidSamplingErrF", err=f'strconv.Atoi: parsing "{text}": invalid syntax'
            )
        if int(text) < 0:
            raise ApiError("JSConsumerInvalidSamplingErrF", err="<nil>")
    if config.get("flow_control") and not config.get("idle_heartbeat"):
        raise ApiError("JSConsumerWithFlowControlNeedsHeartbeats")
    durable, name = config.get("durable_name", ""), config.get("name", "")
    if durable and name and durable != name:
        raise ApiError("JSConsumerCreateDurableAndNameMismatch")
    size = sum(len(k) + len(v) for k, v in (config.get("metadata") or {}).items())
    if size > MAX_METADATA_LEN:
        raise ApiError("JSConsumerMetadataLengthErrF", limit=f"{MAX_METADATA_LEN // 1024}KB")
    policy = config.get("priority_policy", "none") or "none"
    groups = config.get("priority_groups") or []
    if policy != "none":
        if is_push(config):
            raise ApiError("JSConsumerPushWithPriorityGroupErr")
        if not groups:
            raise ApiError("JSConsumerPriorityPolicyWithoutGroup")
        for group in groups:
            if group == "":
                raise ApiError("JSConsumerEmptyGroupName")
            if not GROUP_NAME.match(group):
                raise ApiError("JSConsumerInvalidGroupNameErr")
    else:
        if groups:
            raise ApiError("JSConsumerPriorityGroupWithPolicyNone")
        if config.get("priority_timeout", 0) > 0:
            raise ApiError("JSConsumerPinnedTTLWithoutPriorityPolicyNone")


def check_update(old: dict[str, Any], new: dict[str, Any], deliver_has_interest: bool) -> None:
    """Refuse changes to immutable fields as checkNewConsumerConfig does (both with defaults)."""
    if old == new:
        return
    for key, text in _IMMUTABLE:
        if old.get(key) != new.get(key):
            raise ApiError("JSConsumerCreateErrF", err=text)
    old_time, new_time = old.get("opt_start_time"), new.get("opt_start_time")
    if (old_time is None) != (new_time is None) or (
        old_time is not None and parse_time(old_time) != parse_time(new_time)
    ):
        raise ApiError("JSConsumerCreateErrF", err="start time can not be updated")
    for key, text in _IMMUTABLE_LATE:
        if old.get(key) != new.get(key):
            raise ApiError("JSConsumerCreateErrF", err=text)
    old_deliver, new_deliver = old.get("deliver_subject", ""), new.get("deliver_subject", "")
    if old_deliver != new_deliver:
        if not old_deliver:
            raise ApiError("JSConsumerCreateErrF", err="can not update pull consumer to push based")
        if not new_deliver:
            raise ApiError("JSConsumerCreateErrF", err="can not update push consumer to pull based")
        if deliver_has_interest:
            raise ApiError("JSConsumerNameExistErr")
    if old.get("max_waiting") != new.get("max_waiting"):
        raise ApiError("JSConsumerCreateErrF", err="max waiting can not be updated")
    backoff, max_deliver = new.get("backoff") or (), new.get("max_deliver", -1)
    if backoff and max_deliver != -1 and len(backoff) > max_deliver:
        raise ApiError("JSConsumerMaxDeliverBackoffErr")


def to_json(config: dict[str, Any]) -> dict[str, Any]:
    """The config as nats-server sends it: struct order, empty fields left out, map keys sorted."""
    out: dict[str, Any] = {}
    for key in FIELDS:
        value = config.get(key)
        if key == "metadata" and value:
            value = dict(sorted(value.items()))
        if key in ALWAYS:
            out[key] = value if value is not None else _ZERO[key]
        elif key == "opt_start_time" or key == "pause_until":
            if value is not None:
                out[key] = value
        elif key == "priority_policy":
            if value and value != "none":
                out[key] = value
        elif value:
            out[key] = value
    return out


_ZERO = {"deliver_policy": "all", "ack_policy": "none", "replay_policy": "instant", "num_replicas": 0}


def equal_for_create(config: dict[str, Any], existing: dict[str, Any]) -> bool:
    """Is a create request's config (defaults applied) the same as an existing consumer's?"""
    return to_json(config) == to_json(existing)


# -- _nats.* metadata (as for streams, in stream_config; the keys in versioning)


def set_static_metadata(config: dict[str, Any]) -> None:
    """Drop the dynamic keys and stamp the API level the config requires (stored with it)."""
    metadata = {k: v for k, v in (config.get("metadata") or {}).items() if k not in DYNAMIC_KEYS}
    level = 0
    if config.get("pause_until") and parse_time(config["pause_until"]) != parse_time(ZERO_TIME):
        level = 1
    if config.get("priority_policy", "none") not in ("none", "") or config.get("priority_timeout"):
        level = 1
    if config.get("priority_groups"):
        level = 1
    if config.get("ack_policy") == "flow_control":
        level = 4
    metadata[REQUIRED_LEVEL_KEY] = str(level)
    config["metadata"] = metadata
