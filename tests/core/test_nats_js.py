"""nats.js (Node) against both servers: what a JavaScript client sees must not differ.

Needs `npm ci --prefix tests/js` (CI runs it); skipped with that reason otherwise.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent.parent / "js"


@pytest.fixture
def node() -> str:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "nats").is_dir():
        pytest.skip("nats.js not installed: run `npm ci --prefix tests/js`")
    return node


def test_nats_js_core_and_jetstream(server, node):
    result = subprocess.run(
        [node, "smoke.mjs", server.url], cwd=JS_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    report.pop("version")
    assert report == {
        "headers": True,
        "subscribed": [["js.smoke.a", "one", "v"], ["js.smoke.b", "two", None]],
        "reply": "re:hi",
        "noResponders": "503",
        "acks": [1, 2, 3],
        "fetched": ["m0", "m1", "m2"],
        "streamMsgs": 3,
    }
