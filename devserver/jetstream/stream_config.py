"""Stream configuration: nats-server's defaults, checks and update rules (stream.go).

Owns what happens to a `StreamConfig` between the request and the stream: `check()` fills the
defaults and refuses what `checkStreamCfg` refuses, in its order (the first failing check names
the error); `check_update()` adds the rules of `configUpdateCheck`; `normalize()` gives the JSON
shape nats-server sends back (Go struct order, omitempty, maps sorted); the `_nats.*` metadata
keys are added as `setStaticStreamMetadata` / `setDynamicStreamMetadata` do.

A config is a plain dict with nats-server's JSON keys; durations are integer nanoseconds; a key
whose Go field is omitempty is absent when zero. Errors are raised as `api.ApiError` with the
`schemas.errors` constant names. May import: schemas, devserver.subjects, devserver.jetstream.api,
devserver.jetstream.timefmt, devserver.jetstream.sourcing (a source's identity),
devserver.jetstream.transform.
"""

from __future__ import annotations

from typing import Any

from devserver import subjects as subj
from devserver.jetstream.api import ApiError
from devserver.jetstream.sourcing import index_name
from devserver.jetstream.timefmt import normalize_time
from devserver.jetstream.transform import MappingError, compile_transform, validate_mapping
from devserver.jetstream.versioning import DYNAMIC_KEYS, REQUIRED_LEVEL_KEY
from schemas.subjects import API_PREFIX

SECOND = 1_000_000_000
MILLISECOND = 1_000_000
DUPLICATE_WINDOW_DEFAULT = 120 * SECOND
MAX_NAME_LEN = 255
MAX_DESCRIPTION_LEN = 4096
MAX_METADATA_LEN = 128 * 1024
MAX_REPLICAS = 5

LIMITS, INTEREST, WORKQUEUE = "limits", "interest", "workqueue"

# StreamConfig's JSON keys in Go struct order with their zero value; None = always emitted.
_FIELDS: tuple[tuple[str, Any], ...] = (
    ("name", None),
    ("description", ""),
    ("subjects", []),
    ("retention", None),
    ("max_consumers", None),
    ("max_msgs", None),
    ("max_bytes", None),
    ("max_age", None),
    ("max_msgs_per_subject", None),
    ("max_msg_size", 0),
    ("discard", None),
    ("storage", None),
    ("num_replicas", None),
    ("no_ack", False),
    ("template_owner", ""),  # set only on streams a stream template made (templates.py)
    ("duplicate_window", 0),
    ("placement", {}),
    ("mirror", {}),
    ("sources", []),
    ("compression", None),
    ("first_seq", 0),
    ("subject_transform", {}),
    ("republish", {}),
    ("allow_direct", None),
    ("mirror_direct", None),
    ("discard_new_per_subject", False),
    ("sealed", None),
    ("deny_delete", None),
    ("deny_purge", None),
    ("allow_rollup_hdrs", None),
    ("consumer_limits", None),
    ("allow_msg_ttl", None),
    ("subject_delete_marker_ttl", 0),
    ("allow_msg_counter", False),
    ("allow_atomic", False),
    ("allow_msg_schedules", False),
    ("persist_mode", ""),
    ("allow_batched", False),
    ("metadata", {}),
)
# Go zero values of the always-emitted fields, as the JSON decoder leaves them
_ZERO = {
    "name": "",
    "retention": LIMITS,
    "max_consumers": 0,
    "max_msgs": 0,
    "max_bytes": 0,
    "max_age": 0,
    "max_msgs_per_subject": 0,
    "discard": "old",
    "storage": "file",
    "num_replicas": 0,
    "compression": "none",
    "allow_direct": False,
    "mirror_direct": False,
    "sealed": False,
    "deny_delete": False,
    "deny_purge": False,
    "allow_rollup_hdrs": False,
    "consumer_limits": {},
    "allow_msg_ttl": False,
}
# nested shapes: key -> (subkey, zero or None for always)
_SOURCE_FIELDS = (
    ("name", None),
    ("opt_start_seq", 0),
    ("opt_start_time", ""),
    ("filter_subject", ""),
    ("subject_transforms", []),
    ("external", {}),
    ("consumer", {}),
)
_NESTED: dict[str, tuple[tuple[str, Any], ...]] = {
    "placement": (("cluster", ""), ("tags", []), ("preferred", "")),
    "subject_transform": (("src", None), ("dest", None)),
    "republish": (("src", ""), ("dest", None), ("headers_only", False)),
    "consumer_limits": (("inactive_threshold", 0), ("max_ack_pending", 0)),
    "external": (("api", None), ("deliver", None)),
    "consumer": (("name", ""), ("deliver_subject", "")),
}
_NESTED_ZERO = {"src": "", "dest": "", "name": "", "api": "", "deliver": ""}


def _shape(doc: dict[str, Any] | None, fields: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    doc = doc or {}
    for key, zero in fields:
        value = doc.get(key)
        if zero is None:
            out[key] = _NESTED_ZERO.get(key, _ZERO.get(key)) if value is None else value
        elif value is not None and value != zero:
            out[key] = value
    for key, fields_of in _NESTED.items():
        if key in out and isinstance(out[key], dict):
            out[key] = _shape(out[key], fields_of)
    return out


def _source(doc: dict[str, Any]) -> dict[str, Any]:
    out = _shape(doc, _SOURCE_FIELDS)
    if "opt_start_time" in out:
        out["opt_start_time"] = normalize_time(out["opt_start_time"])
    if "subject_transforms" in out:
        out["subject_transforms"] = [
            _shape(t, _NESTED["subject_transform"]) for t in out["subject_transforms"]
        ]
    for key in ("external", "consumer"):
        if key in out:
            out[key] = _shape(out[key], _NESTED[key])
    return out


def normalize(doc: dict[str, Any]) -> dict[str, Any]:
    """The config as nats-server marshals it: struct order, omitempty, metadata sorted."""
    out = _shape(doc, _FIELDS)
    if "mirror" in out:
        out["mirror"] = _source(out["mirror"])
    if "sources" in out:
        out["sources"] = [_source(s or {}) for s in out["sources"]]
    if "metadata" in out:
        out["metadata"] = dict(sorted(out["metadata"].items()))
    return out


def is_valid_name(name: str) -> bool:
    """nats-server's isValidAssetName: non-empty, no whitespace, `.`, `*`, `>`, `/`, `\\`."""
    return bool(name) and not any(c in name for c in " \t\r\n\f.*>\\/")


def _invalid(text: str) -> ApiError:
    return ApiError("JSStreamInvalidConfigF", err=text)


def _pedantic(text: str) -> ApiError:
    return ApiError("JSPedanticErrF", err=text)


def check(raw: dict[str, Any], jsa, pedantic: bool = False) -> dict[str, Any]:
    """checkStreamCfg: the config with defaults filled, or ApiError for the first problem."""
    cfg = normalize(raw)
    name = cfg["name"]
    if not is_valid_name(name):
        raise _invalid("stream name is required and can not contain '.', '*', '>', '\\', '/'")
    if len(name.encode()) > MAX_NAME_LEN:
        raise _invalid(f"stream name is too long, maximum allowed is {MAX_NAME_LEN}")
    if len(cfg.get("description", "").encode()) > MAX_DESCRIPTION_LEN:
        raise _invalid(f"stream description is too long, maximum allowed is {MAX_DESCRIPTION_LEN}")
    metadata = cfg.get("metadata", {})
    if sum(len(k) + len(v) for k, v in metadata.items()) > MAX_METADATA_LEN:
        raise _invalid(f"stream metadata exceeds maximum size of {MAX_METADATA_LEN} bytes")

    if cfg["num_replicas"] == 0:
        cfg["num_replicas"] = 1
    if cfg["num_replicas"] > MAX_REPLICAS:
        raise _invalid(f"maximum replicas is {MAX_REPLICAS}")
    if cfg["num_replicas"] < 0:
        raise ApiError("JSReplicasCountCannotBeNegative")
    for key in ("max_msgs", "max_msgs_per_subject", "max_bytes", "max_msg_size", "max_consumers"):
        value = cfg.get(key, 0)
        if value == 0 or value < -1:
            if pedantic and value < -1:
                raise _pedantic(f"{key} must be set to -1")
            cfg[key] = -1
    max_age = cfg["max_age"]
    if max_age < 0:
        raise _invalid("max age can not be negative")
    if 0 < max_age < 100 * MILLISECOND:
        raise _invalid("max age needs to be >= 100ms")

    window = cfg.get("duplicate_window", 0)
    if window == 0 and "mirror" not in cfg and "sources" not in cfg:
        if 0 < max_age < DUPLICATE_WINDOW_DEFAULT:
            if pedantic:
                raise _pedantic("duplicate window cannot be bigger than max age")
            window = max_age
        else:
            window = DUPLICATE_WINDOW_DEFAULT
    if window < 0:
        raise _invalid("duplicates window can not be negative")
    if max_age and window > max_age:
        raise _invalid("duplicates window can not be larger then max age")
    if 0 < window < 100 * MILLISECOND:
        raise _invalid("duplicates window needs to be >= 100ms")
    if window:
        cfg["duplicate_window"] = window

    if cfg["deny_purge"] and cfg["allow_rollup_hdrs"]:
        raise _invalid("roll-ups require the purge permission")
    _check_features(cfg, pedantic)
    _check_sources(cfg, jsa)
    _check_subjects(cfg)

    jsa.check_max_bytes(cfg)
    _check_transforms(cfg, pedantic)

    placement = cfg.get("placement")
    if placement is not None and not placement:
        del cfg["placement"]
    elif placement and placement.get("preferred"):
        raise _invalid("preferred server not permitted in placement")
    return normalize(cfg)


def _check_features(cfg: dict[str, Any], pedantic: bool) -> None:
    """Counters, discard-new-per-subject, delete markers, schedules, persist mode (2.11+)."""
    if cfg.get("allow_msg_counter"):
        if cfg["discard"] == "new":
            raise _invalid("counter stream cannot use discard new")
        if cfg["allow_msg_ttl"]:
            raise _invalid("counter stream cannot use message TTLs")
        if cfg.get("allow_msg_schedules"):
            raise _invalid("counter stream cannot use message schedules")
        if cfg["retention"] != LIMITS:
            raise _invalid("counter stream can only use limits retention")
    if cfg.get("discard_new_per_subject"):
        if cfg["discard"] != "new":
            raise _invalid("discard new per subject requires discard new policy to be set")
        if cfg["max_msgs_per_subject"] <= 0:
            raise _invalid("discard new per subject requires max msgs per subject > 0")
    marker_ttl = cfg.get("subject_delete_marker_ttl", 0)
    if marker_ttl > 0:
        if marker_ttl < SECOND:
            raise _invalid("subject delete marker TTL must be at least 1 second")
        if not cfg["allow_msg_ttl"]:
            if pedantic:
                raise _invalid("subject delete marker cannot be set if message TTLs are disabled")
            cfg["allow_msg_ttl"] = True
        if not cfg["allow_rollup_hdrs"]:
            if pedantic:
                raise _invalid("subject delete marker cannot be set if roll-ups are disabled")
            cfg["allow_rollup_hdrs"], cfg["deny_purge"] = True, False
    elif marker_ttl < 0:
        raise _invalid("subject delete marker TTL must not be negative")
    if cfg.get("allow_msg_schedules"):
        if cfg["discard"] == "new":
            raise _invalid("message scheduling cannot use discard new")
        if not cfg["allow_rollup_hdrs"]:
            if pedantic:
                raise _invalid("message scheduling cannot be set if roll-ups are disabled")
            cfg["allow_rollup_hdrs"], cfg["deny_purge"] = True, False
    if cfg.get("persist_mode") == "async":
        if cfg["storage"] != "file":
            raise _invalid("async persist mode is only supported on file storage")
        if cfg["num_replicas"] > 1:
            raise _invalid("async persist mode is not supported on replicated streams")
        if cfg.get("allow_atomic"):
            raise _invalid("async persist mode is not supported with atomic batch publish")


def _check_sources(cfg: dict[str, Any], jsa) -> None:
    """Mirror and sources: checkStreamCfg's checks, in its order."""
    mirror = cfg.get("mirror")
    if mirror is not None:
        if cfg.get("first_seq"):
            raise ApiError("JSMirrorWithFirstSeqErr")
        if cfg.get("subjects"):
            raise ApiError("JSMirrorWithSubjectsErr")
        if cfg.get("sources"):
            raise ApiError("JSMirrorWithSourcesErr")
        if cfg.get("allow_msg_counter"):
            raise ApiError("JSMirrorWithCountersErr")
        if cfg.get("allow_atomic"):
            raise ApiError("JSMirrorWithAtomicPublishErr")
        if cfg.get("allow_batched"):
            raise ApiError("JSMirrorWithBatchPublishErr")
        if cfg.get("allow_msg_schedules"):
            raise ApiError("JSMirrorWithMsgSchedulesErr")
        if not _durable_ok(mirror):
            raise ApiError("JSMirrorDurableConsumerCfgInvalid")
        if mirror.get("filter_subject") and mirror.get("subject_transforms"):
            raise ApiError("JSMirrorMultipleFiltersNotAllowed")
        if cfg.get("subject_delete_marker_ttl", 0) > 0:
            raise _invalid("subject delete markers forbidden on mirrors")
        transforms = mirror.get("subject_transforms", [])
        for i, tr in enumerate(transforms):
            src = tr.get("src", "")
            if src and not subj.is_valid(src):
                raise ApiError("JSMirrorInvalidSubjectFilter", err=f"invalid subject {src}")
            problem = validate_mapping(src, tr.get("dest", ""))
            if problem:
                raise ApiError("JSMirrorInvalidTransformDestination", err=problem)
            for j, other in enumerate(transforms):
                if i != j and subj.collide(src or ">", other.get("src") or ">"):
                    raise ApiError("JSMirrorOverlappingSubjectFilters")
        if "external" not in mirror:
            if not is_valid_name(mirror["name"]):
                raise ApiError("JSMirrorInvalidStreamName")
            origin = jsa.streams.get(mirror["name"])
            if origin is not None:
                size = cfg.get("max_msg_size", 0)
                if size > 0 and 0 < origin.config["max_msg_size"] and size < origin.config["max_msg_size"]:
                    raise ApiError("JSMirrorMaxMessageSizeTooBigErr")
                cfg["mirror_direct"] = origin.config["allow_direct"]
    if cfg.get("sources") and cfg.get("allow_msg_schedules"):
        raise ApiError("JSSourceWithMsgSchedulesErr")
    seen: set[str] = set()
    durables: set[tuple[str, str, str]] = set()
    for src in cfg.get("sources", []):
        if not is_valid_name(src.get("name", "")):
            raise ApiError("JSSourceInvalidStreamName")
        if index_name(src) in seen:
            raise ApiError("JSSourceDuplicateDetected")
        seen.add(index_name(src))
        if src.get("filter_subject") and src.get("subject_transforms"):
            raise ApiError("JSSourceMultipleFiltersNotAllowed")
        _check_source_transforms(src.get("subject_transforms", []))
        if "consumer" in src:
            if not _durable_ok(src):
                raise ApiError("JSSourceDurableConsumerCfgInvalid")
            durable = (src["name"], src.get("external", {}).get("api", ""), src["consumer"].get("name", ""))
            if durable in durables:
                raise ApiError("JSSourceDurableConsumerDuplicateDetected")
            durables.add(durable)
        origin = jsa.streams.get(src["name"]) if "external" not in src else None
        if origin is not None:
            size, theirs = cfg.get("max_msg_size", 0), origin.config["max_msg_size"]
            if 0 < size < theirs:
                raise ApiError("JSSourceMaxMessageSizeTooBigErr")
    _check_external(cfg, jsa)
    _check_cycle(cfg, jsa)


def _check_source_transforms(transforms: list[dict[str, Any]]) -> None:
    for tr in transforms:
        src = tr.get("src", "")
        if src and not subj.is_valid(src):
            raise ApiError("JSSourceInvalidSubjectFilter", err=f"invalid subject {src}")
        problem = validate_mapping(src, tr.get("dest", ""))
        if problem:
            raise ApiError("JSSourceInvalidTransformDestination", err=problem)
    for i, tr in enumerate(transforms):
        for j, other in enumerate(transforms):
            if i != j and subj.is_subset(tr.get("src", ""), other.get("src", "")):
                raise ApiError("JSSourceOverlappingSubjectFilters")


def _durable_ok(link: dict[str, Any]) -> bool:
    """A durable consumer named for a mirror or source (none is fine): a valid name, a literal
    deliver subject, and no start position or filter of the link's own."""
    consumer = link.get("consumer")
    if consumer is None:
        return True
    deliver = consumer.get("deliver_subject", "")
    return (
        is_valid_name(consumer.get("name", ""))
        and subj.is_literal(deliver)
        and subj.is_valid(deliver)
        and not link.get("opt_start_seq")
        and "opt_start_time" not in link
        and not link.get("filter_subject")
    )


def _check_external(cfg: dict[str, Any], jsa) -> None:
    """External delivery prefixes must be literal and not reach the subjects of the local origins
    (whose messages they would catch); API prefixes must not reach this account's own API."""
    links = ([cfg["mirror"]] if "mirror" in cfg else []) + cfg.get("sources", [])
    local = [
        jsa.streams[link["name"]] for link in links if "external" not in link and link["name"] in jsa.streams
    ]
    origin_subjects = [s for origin in local for s in origin.config.get("subjects", [])]
    for link in links:
        prefix = link.get("external", {}).get("deliver", "")
        if not prefix:
            continue
        if not subj.is_valid_publish(prefix):
            raise ApiError("JSStreamInvalidExternalDeliverySubjErrF", prefix=prefix)
        for subject in origin_subjects:
            if subj.collide(subject, f"{prefix}.{subject}"):
                raise ApiError("JSStreamExternalDelPrefixOverlapsErrF", prefix=prefix, subject=subject)
    for link in links:
        api = link.get("external", {}).get("api", "")
        if not api:
            continue
        if not subj.is_valid_publish(api):
            raise _invalid(f'stream external api prefix "{api}" must be a valid subject without wildcards')
        if subj.collide(api, API_PREFIX):
            raise ApiError("JSStreamExternalApiOverlapErrF", prefix=api, subject=API_PREFIX)


def _check_cycle(cfg: dict[str, Any], jsa) -> None:
    """A stream may not (through other streams) source or mirror itself: sourcing would loop."""
    visited: set[str] = set()
    queue = [cfg]
    while queue:
        current = queue.pop(0)
        visited.add(current["name"])
        for src in current.get("sources", []):
            if "external" in src:
                continue
            if src["name"] in visited:
                pattern = src.get("filter_subject", "")
                if not pattern or any(subj.collide(s, pattern) for s in current.get("subjects", [])):
                    raise _invalid("detected cycle")
            elif src["name"] in jsa.streams:
                queue.append(jsa.streams[src["name"]].config)
        mirror = current.get("mirror")
        if mirror and "external" not in mirror:
            if mirror["name"] in visited:
                raise _invalid("detected cycle")
            if mirror["name"] in jsa.streams:
                queue.append(jsa.streams[mirror["name"]].config)


_RESERVED = ("$JS.>", "$JSC.>", "$NRG.>")


def _check_subjects(cfg: dict[str, Any]) -> None:
    subjects = cfg.get("subjects", [])
    if not subjects:
        if "mirror" not in cfg and "sources" not in cfg:
            cfg["subjects"] = [cfg["name"]]
        return
    if "mirror" in cfg:
        raise ApiError("JSMirrorWithSubjectsErr")
    for i, s in enumerate(subjects):
        if not subj.is_valid_config_subject(s):
            raise _invalid("invalid subject")
        if s == ">":
            if not cfg.get("no_ack"):
                raise _invalid("capturing all subjects requires no-ack to be true")
            if cfg["num_replicas"] != 1:
                raise _invalid("capturing all subjects requires replicas of 1")
        if not cfg.get("no_ack"):
            for namespace in _RESERVED:
                if subj.collide(s, namespace) and not subj.is_subset(s, "$JS.EVENT.>"):
                    raise _invalid("subjects that overlap with jetstream api require no-ack to be true")
            if subj.collide(s, "$SYS.>") and not subj.is_subset(s, "$SYS.ACCOUNT.>"):
                raise _invalid("subjects that overlap with system api require no-ack to be true")
        for other in subjects[i + 1 :]:
            if subj.collide(other, s):
                raise _invalid(f'subject "{s}" overlaps with "{other}"')


def _check_transforms(cfg: dict[str, Any], pedantic: bool) -> None:
    transform = cfg.get("subject_transform")
    if transform:
        src = transform.get("src", "")
        if src and not subj.is_valid(src):
            raise ApiError("JSStreamTransformInvalidSource", err=f"invalid subject {src}")
        problem = validate_mapping(src, transform.get("dest", ""))
        if problem:
            raise ApiError("JSStreamTransformInvalidDestination", err=problem)
    if cfg.get("republish"):
        _check_republish(cfg, pedantic)


def _check_republish(cfg: dict[str, Any], pedantic: bool) -> None:
    """nats-server builds the transform (no ValidateMapping) after the cycle check."""
    republish = cfg["republish"]
    if not republish.get("src"):
        if pedantic:
            raise _pedantic("republish source can not be empty")
        republish["src"] = ">"
    transform, subjects = cfg.get("subject_transform"), cfg.get("subjects", [])
    if republish["src"] == republish.get("dest") == ">" and transform and subjects == [transform.get("src")]:
        # everything the stream stores, under its transformed subject: no cycle
        if pedantic:
            raise _pedantic("implicit republish based on subject transform")
        republish["src"] = republish["dest"] = transform.get("dest", "")
    dest = republish.get("dest", "")
    if any(subj.collide(dest, s) for s in subjects):
        raise _invalid("stream configuration for republish destination forms a cycle")
    try:
        compile_transform(republish["src"], dest)
    except MappingError:
        pair = f"from '{republish['src']}' to '{dest}'"
        raise _invalid(f"stream configuration for republish with transform {pair} not valid") from None


def check_update(old: dict[str, Any], raw: dict[str, Any], jsa, pedantic: bool = False) -> dict[str, Any]:
    """configUpdateCheck: the new config after checkStreamCfg and the update rules."""
    cfg = check(raw, jsa, pedantic)
    if cfg["name"] != old["name"]:
        raise _invalid("stream configuration name must match original")
    if cfg["num_replicas"] > 1:
        raise ApiError("JSStreamReplicasNotSupportedErr")
    if cfg["storage"] != old["storage"]:
        raise _invalid("stream configuration update can not change storage type")
    if old.get("template_owner"):
        raise _invalid("stream configuration update not allowed on template owned stream")
    if cfg.get("template_owner"):
        raise _invalid("stream configuration update can not be owned by a template")
    if cfg["retention"] != old["retention"] and WORKQUEUE in (cfg["retention"], old["retention"]):
        raise _invalid("stream configuration update can not change retention policy to/from workqueue")
    if old["sealed"] and not cfg["sealed"]:
        raise _invalid("stream configuration update can not unseal a sealed stream")
    if old["deny_delete"] and not cfg["deny_delete"]:
        raise _invalid("stream configuration update can not cancel deny message deletes")
    if old["deny_purge"] and not cfg["deny_purge"]:
        raise _invalid("stream configuration update can not cancel deny purge")
    if "mirror" in cfg and cfg["mirror"] != old.get("mirror"):
        raise ApiError("JSStreamMirrorNotUpdatableErr")
    if old["allow_msg_ttl"] and not cfg["allow_msg_ttl"]:
        raise _invalid("message TTL status can not be disabled")
    if cfg.get("allow_msg_counter", False) != old.get("allow_msg_counter", False):
        raise _invalid("stream configuration update can not change message counter setting")
    if old.get("allow_msg_schedules") and not cfg.get("allow_msg_schedules"):
        raise _invalid("message schedules can not be disabled")
    if old.get("persist_mode", "") != cfg.get("persist_mode", ""):
        raise _invalid("stream configuration update can not change persist mode")
    if cfg["sealed"]:
        cfg["max_age"] = 0
        cfg["discard"] = "new"
        cfg["deny_delete"] = cfg["deny_purge"] = True
        cfg["allow_rollup_hdrs"] = False
    return normalize(cfg)


def check_updated_republish(cfg: dict[str, Any]) -> None:
    """An update (not a create) reads an empty republish destination, too, as `>`, and builds
    the transform again: nats-server's stream update, after the subject overlap check."""
    republish = cfg.get("republish")
    if not republish:
        return
    src = republish["src"] = republish.get("src") or ">"
    dest = republish["dest"] = republish.get("dest") or ">"
    try:
        compile_transform(src, dest)
    except MappingError as problem:
        err = f"stream configuration for republish from '{src}' to '{dest}': {problem}"
        raise ApiError("JSStreamUpdateErrF", err=err) from None


# -- _nats.* metadata


def set_static_metadata(cfg: dict[str, Any]) -> None:
    """Drop the dynamic keys and stamp the API level the config requires (stored with it)."""
    metadata = {k: v for k, v in cfg.get("metadata", {}).items() if k not in DYNAMIC_KEYS}
    level = 0
    if cfg.get("allow_msg_ttl") or cfg.get("subject_delete_marker_ttl", 0) > 0:
        level = 1
    if (
        cfg.get("allow_msg_counter")
        or cfg.get("allow_atomic")
        or cfg.get("allow_msg_schedules")
        or cfg.get("persist_mode") == "async"
    ):
        level = 2
    if cfg.get("allow_batched"):
        level = 4
    metadata[REQUIRED_LEVEL_KEY] = str(level)
    cfg["metadata"] = dict(sorted(metadata.items()))
