"""pytest plugin (registered as the `devserver` pytest11 entry point): a JetStream server fixture.

In your own test suite::

    def test_orders(jetstream_server):
        nc = await nats.connect(jetstream_server.client_url)

The server runs on a free port, on its own thread, with its store in a temporary folder.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def jetstream_server(tmp_path_factory):
    from devserver import ServerThread

    store = tmp_path_factory.mktemp("jetstream")
    with ServerThread(port=0, jetstream=True, store_dir=store) as srv:
        yield srv
