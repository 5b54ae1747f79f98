"""nats.go (Go) against both servers: what a Go client sees must not differ.

tests/go/natsgo.go drives core messaging, JetStream, KeyValue and ObjectStore through
nats.go's own API and prints a transcript of values that depend neither on timing nor on the
server's identity. Each server's transcript must equal tests/go/expected.txt, which is
nats-server's: so devserver and nats-server agree line by line (the differential oracle).
After changing natsgo.go, regenerate it from nats-server:
`tests/go/natsgo nats://127.0.0.1:4222 > tests/go/expected.txt` (built as below, server
started with `nats-server -js`).

Builds offline against Debian's packages (`apt-get install golang-go
golang-github-nats-io-go-nats-dev`, nats.go 1.22.1 in GOPATH mode); skipped with that reason
otherwise. The binary is built once per source hash and kept in the temp directory.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

GO_DIR = Path(__file__).resolve().parent.parent / "go"
SOURCE = GO_DIR / "natsgo.go"
EXPECTED = GO_DIR / "expected.txt"
GOPATH = Path("/usr/share/gocode")  # where Debian's golang-*-dev packages put sources
INSTALL = "apt-get install golang-go golang-github-nats-io-go-nats-dev"


@pytest.fixture(scope="session")
def natsgo() -> str:
    go = shutil.which("go")
    if go is None:
        pytest.skip(f"go not installed: {INSTALL}")
    if not (GOPATH / "src/github.com/nats-io/nats.go").is_dir():
        pytest.skip(f"nats.go sources not in {GOPATH}: {INSTALL}")
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256(SOURCE.read_bytes() + version.encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"pynats-natsgo-{os.getuid()}"
    binary = cache / f"natsgo-{key}"
    if binary.exists():
        return str(binary)
    cache.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(cache / "gocache"),
        "GOFLAGS": "",
    }
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        env["CGO_ENABLED"] = "0"  # Go 1.19 would otherwise call a C compiler for net
    # Build to a private name, then rename: xdist workers may build at the same time.
    partial = cache / f"natsgo-{key}.{os.getpid()}"
    result = subprocess.run(
        [go, "build", "-o", str(partial), str(SOURCE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"go build failed:\n{result.stderr}"
    partial.replace(binary)
    return str(binary)


def test_nats_go_client(server, natsgo):
    result = subprocess.run([natsgo, server.url], capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    got = result.stdout.splitlines()
    expected = EXPECTED.read_text().splitlines()
    if got != expected:
        diff = difflib.unified_diff(expected, got, "nats-server (expected.txt)", server.kind, lineterm="")
        hint = "expected.txt is stale: regenerate it, see above" if server.is_real else "devserver differs"
        pytest.fail(hint + "\n" + "\n".join(diff))
    lines = set(got)
    # A few values spelled out, so a regenerated expected.txt cannot quietly lose them.
    assert 'core.request: "re:hi" Echo="hq"' in lines
    assert "core.no_responders: ErrNoResponders" in lines
    assert "core.queue: group=20 plain=20" in lines
    assert "publish.msgid_again: stream=GO seq=3 duplicate=true" in lines
    assert 'publish.expect_seq_wrong: ErrKeyExists api(400 10071 "wrong last sequence: 3")' in lines
    assert 'stream.info_missing: ErrStreamNotFound api(404 10059 "stream not found")' in lines
    assert 'consumer.info_missing: ErrConsumerNotFound api(404 10014 "consumer not found")' in lines
    assert "pull.fetch: n=2 ok" in lines
    assert 'kv.get: KeyValuePutOp a="2" rev=2 delta=0' in lines
    assert "kv.get_missing: ErrKeyNotFound" in lines
    assert f"obj.get: len=307200 sha256={hashlib.sha256(b'0123456789abcdef' * 19200).hexdigest()}" in lines
