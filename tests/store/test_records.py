"""The record format: round trips, erasure, and scans of damaged blocks (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devserver.store import FileStore, file_msg_size, records


def block(count, data=b"payload"):
    recs = [
        records.pack_msg(seq, seq * 10, b"sub.j", b"NATS/1.0\r\n\r\n" if seq % 2 else None, data)
        for seq in range(1, count + 1)
    ]
    return recs, b"".join(recs)


def test_record_length_is_the_accounted_size():
    assert len(records.pack_msg(1, 2, b"abc", None, b"0123456789")) == file_msg_size(3, 0, 10)
    assert len(records.pack_msg(1, 2, b"abc", b"h" * 18, b"0123456789")) == file_msg_size(3, 18, 10)
    assert len(records.pack_marker(records.F_DEL, 5, 0)) == records.MARKER_LEN


def test_scan_reads_back_what_was_packed():
    recs, buf = block(5)
    found = list(records.scan(buf))
    assert [seq for _, _, seq, _, _ in found] == [1, 2, 3, 4, 5]
    assert [ts for _, _, _, ts, _ in found] == [10, 20, 30, 40, 50]
    assert all(records.intact(r, 0, len(r)) for r in recs)


def test_erased_record_keeps_its_place_and_loses_its_content():
    rec = records.pack_msg(7, 70, b"secret.subject", b"NATS/1.0\r\nX: y\r\n\r\n", b"secret data")
    gone = records.erased(rec)
    assert len(gone) == len(rec) and records.intact(gone, 0, len(gone))
    assert b"secret" not in gone
    flags, seq, ts, _ = records.HEAD.unpack_from(gone)
    assert flags & records.F_ERASED and (seq, ts) == (7, 70)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_scan_of_garbage_never_raises(buf):
    end = 0
    for off, flags, seq, _, _ in records.scan(buf):
        assert off >= end
        end = seq if flags == records.DAMAGED else off + (flags & records.LEN_MASK)
    assert end == len(buf) or not buf


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 1000), st.binary(min_size=1, max_size=40))
def test_damage_loses_only_the_records_it_touches(at, junk):
    recs, buf = block(12)
    at = at % len(buf)
    damaged = buf[:at] + junk + buf[at + len(junk) :]
    damaged = damaged[: len(buf)]
    found = {seq for _, flags, seq, _, _ in records.scan(damaged) if flags != records.DAMAGED}
    offset = 0
    for seq, rec in enumerate(recs, 1):
        untouched = offset + len(rec) <= at or offset >= at + len(junk)
        if untouched:
            assert seq in found
        offset += len(rec)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300))
def test_file_store_opens_any_block_file(tmp_path_factory, buf):
    directory = tmp_path_factory.mktemp("garbage")
    FileStore(directory).close()
    (directory / "index.db").unlink()
    (directory / "1.blk").write_bytes(buf)
    store = FileStore(directory)
    store.store("after", None, b"x", 1)
    store.close()
    store = FileStore(directory)
    assert store.load(store.last_seq).subject == "after"
    store.close()
