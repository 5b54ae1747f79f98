"""Fixtures for the store tests: `store` runs each contract test on the memory and the file store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from devserver.store import FileStore, MemoryStore, StreamStore


@pytest.fixture(params=["memory", "file"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def make_store(kind, tmp_path) -> Iterator[Callable[..., StreamStore]]:
    """make_store(**file_options) -> a fresh store of the parametrized kind."""
    made: list[StreamStore] = []

    def make(**options) -> StreamStore:
        store = MemoryStore() if kind == "memory" else FileStore(tmp_path / f"s{len(made)}", **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store) -> StreamStore:
    return make_store()


@pytest.fixture
def reopen(kind) -> Callable[[StreamStore], StreamStore]:
    """Close a file store and open it again (a memory store is returned as it is)."""

    def again(store: StreamStore) -> StreamStore:
        if kind == "memory":
            return store
        store.close()
        return FileStore(store.directory)

    return again
