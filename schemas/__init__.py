"""The JetStream API contract shared by nats_cli and devserver: JSON Schemas by type name.

Owns `schemas/jetstream/**.json` (one JSON Schema per request, response, configuration, advisory and
metric type, `$id` = the type name nats-server puts in `type`) and the functions to load and check
documents against them. Subjects live in `schemas.subjects`, error codes in `schemas.errors`.

How strict each kind is:
- responses accept unknown keys (a newer server may add fields) but require what nats-server always
  sends and check every known field's type and enum; `{type, error}` replaces the success shape.
- requests check types and enums and refuse unknown top-level keys; `unknown_field` finds unknown
  keys at any depth, as nats-server's strict JSON decoding does (10025). Value rules that the
  server answers with a specific error (names, ranges, required fields) are left to the server.

Imports only the standard library, and lazily: importlib.resources on first load, jsonschema on
first validation, because `pynats --help` must stay fast.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "SchemaError",
    "UnknownTypeError",
    "check",
    "load",
    "type_id",
    "types",
    "unknown_field",
    "validate",
    "validator",
]

API_NAMESPACE = "io.nats.jetstream.api.v1"
NAMESPACES = (API_NAMESPACE, "io.nats.jetstream.advisory.v1", "io.nats.jetstream.metric.v1")
DEFINITIONS = f"{API_NAMESPACE}.definitions"


class SchemaError(ValueError):
    """A document does not match its schema; `problems` lists every mismatch."""

    def __init__(self, type_name: str, problems: list[str]):
        self.type_name = type_name
        self.problems = problems
        super().__init__(f"{type_name}: " + "; ".join(problems))


class UnknownTypeError(KeyError):
    """No schema has this type name."""


def _path(full_id: str) -> tuple[str, ...]:
    namespace, _, name = full_id.rpartition(".")
    return (*namespace.removeprefix("io.nats.").split("."), f"{name}.json")


@functools.cache
def _index() -> dict[str, tuple[str, ...]]:
    """Every schema file, keyed by its full type name."""
    from importlib import resources

    index = {}
    for namespace in NAMESPACES:
        folder = resources.files(__name__).joinpath(*_path(f"{namespace}.x")[:-1])
        for entry in folder.iterdir():
            if entry.name.endswith(".json"):
                full = f"{namespace}.{entry.name.removesuffix('.json')}"
                index[full] = _path(full)
    return index


def type_id(type_name: str) -> str:
    """The full `io.nats.jetstream...` name for a full or short name (`stream_info` -> api.v1)."""
    index = _index()
    if type_name in index:
        return type_name
    for namespace in NAMESPACES:
        if f"{namespace}.{type_name}" in index:
            return f"{namespace}.{type_name}"
    raise UnknownTypeError(type_name)


def types() -> list[str]:
    """Full names of every type with a schema (the shared `definitions` are not a type)."""
    return sorted(name for name in _index() if name != DEFINITIONS)


@functools.cache
def _load(full_id: str) -> str:
    from importlib import resources

    return resources.files(__name__).joinpath(*_index()[full_id]).read_text(encoding="utf-8")


def load(type_name: str) -> dict[str, Any]:
    """The JSON Schema of a type, as a fresh dict (full or short name)."""
    return json.loads(_load(type_id(type_name)))


@functools.cache
def _registry():
    from referencing import Registry, Resource

    return Registry().with_resources((name, Resource.from_contents(load(name))) for name in _index())


@functools.cache
def _validator(full_id: str) -> Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load(full_id), registry=_registry())


def validator(type_name: str) -> Validator:
    """The cached jsonschema validator of a type, for callers that need the raw errors."""
    return _validator(type_id(type_name))


def _describe(error) -> str:
    from jsonschema.exceptions import best_match

    if error.context:
        error = best_match(error.context)
    where = ".".join(str(part) for part in error.absolute_path) or "<root>"
    return f"{where}: {error.message}"


def validate(type_name: str, doc: Any) -> list[str]:
    """Human-readable problems of `doc` against the type's schema; empty when it is valid."""
    errors = _validator(type_id(type_name)).iter_errors(doc)
    return sorted(_describe(error) for error in errors)


def check(type_name: str, doc: Any) -> None:
    """Raise SchemaError unless `doc` matches the type's schema."""
    problems = validate(type_name, doc)
    if problems:
        raise SchemaError(type_id(type_name), problems)


def unknown_field(type_name: str, doc: Any) -> str | None:
    """The first key, at any depth, that the type's schema does not name (None when all are known).

    Objects whose schema gives no `properties` (maps such as `metadata`) take any key.
    """
    resolver = _registry().resolver(base_uri=type_id(type_name))
    return _unknown(resolver, load(type_name), doc)


def _unknown(resolver, schema: dict[str, Any], doc: Any) -> str | None:
    props, items = _known(resolver, schema)
    if isinstance(doc, dict) and props is not None:
        for key, value in doc.items():
            if key not in props:
                return key
            found = _unknown(resolver, props[key], value)
            if found:
                return found
    elif isinstance(doc, list) and items is not None:
        for value in doc:
            found = _unknown(resolver, items, value)
            if found:
                return found
    return None


def _known(resolver, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The properties (merged across `$ref` and `allOf`) and the `items` schema of a schema."""
    props: dict[str, Any] | None = dict(schema["properties"]) if "properties" in schema else None
    items = schema.get("items")
    parts = list(schema.get("allOf", []))
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        parts.append(resolved.contents)
        resolver = resolved.resolver
    for part in parts:
        more, more_items = _known(resolver, part)
        if more is not None:
            props = {**more, **(props or {})}
        items = items or more_items
    return props, items
