"""devserver embedded in a user's code: DevServer, ServerThread and the pytest plugin."""

from __future__ import annotations

import nats

from devserver import DevServer, ServerThread

pytest_plugins = ["pytester"]


async def test_dev_server_context_manager(tmp_path):
    async with DevServer(port=0, jetstream=True, store_dir=tmp_path) as srv:
        nc = await nats.connect(srv.client_url)
        assert nc.is_connected
        assert srv.port > 0
        await nc.close()


async def test_server_thread_serves_clients():
    with ServerThread(port=0) as srv:
        nc = await nats.connect(srv.client_url)
        await nc.publish("x", b"y")
        await nc.flush()
        await nc.close()


def test_pytest_plugin_gives_users_a_jetstream_server(pytester):
    pytester.makepyfile(
        """
        import asyncio, nats

        def test_it(jetstream_server):
            async def go():
                nc = await nats.connect(jetstream_server.client_url)
                info = nc._server_info
                await nc.close()
                return info
            assert asyncio.run(go())["jetstream"] is True
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "0")
    result.assert_outcomes(passed=1)
