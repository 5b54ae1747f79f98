"""Fixtures for the store tests: `store` runs each contract test on the memory and the file store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devserver.store import FileStore, MemoryStore, StreamStore


@pytest.fixture(params=["memory", "file"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def opened() -> Iterator[list[StreamStore]]:
    """Stores a test opened through the fixtures, closed at teardown."""
    stores: list[StreamStore] = []
    yield stores
    for store in stores:
        store.close()


@pytest.fixture
def make_store(kind, tmp_path, opened) -> Callable[..., StreamStore]:
    """make_store(**file_options) -> a fresh store of the parametrized kind."""

    def make(**options) -> StreamStore:
        store = MemoryStore() if kind == "memory" else FileStore(tmp_path / f"s{len(opened)}", **options)
        opened.append(store)
        return store

    return make


@pytest.fixture
def store(make_store) -> StreamStore:
    return make_store()


@pytest.fixture
def reopen(kind, opened) -> Callable[[StreamStore], StreamStore]:
    """Close a file store and open it again (a memory store is returned as it is)."""

    def again(store: StreamStore) -> StreamStore:
        if kind == "memory":
            return store
        store.close()
        store = FileStore(store.directory)
        assert store.warnings == []
        opened.append(store)
        return store

    return again
