"""Record copies for snapshots and restores (jetstream/storage.py export_records/import_records):
the file store's bulk path and the message-by-message path of other stores give and take the
same records, and a copy is the original (sequences, gaps, subjects, headers, payloads, times)."""

from __future__ import annotations

import pytest

from devserver.jetstream.storage import StoreError, export_records, import_records
from devserver.store import FileStore, MemoryStore
from devserver.store.base import SequenceMismatch


def fill(store) -> None:
    for i in range(1, 301):
        headers = b"NATS/1.0\r\nI: %d\r\n\r\n" % i if i % 4 == 0 else None
        store.store(f"s.{i % 9}", headers, b"data %d" % i * (i % 17), 1_000_000 + i)
    for seq in (1, 2, 50, 51, 150, 300):
        store.remove(seq, erase=seq == 150)


def export_blocks(store, chunk: int = 1500) -> list[bytes]:
    out, seq = [], store.first_seq
    while seq <= store.last_seq:
        block, seq = export_records(store, seq, store.last_seq, chunk)
        out.append(block)
    return out


def export_all(store, chunk: int = 1500) -> bytes:
    return b"".join(export_blocks(store, chunk))


def messages(store) -> list:
    out, msg = [], store.load_next(1)
    while msg is not None:
        out.append(msg)
        msg = store.load_next(msg.seq + 1)
    return out


@pytest.mark.parametrize("target", ["file", "memory"])
@pytest.mark.parametrize("source", ["file", "memory"])
def test_a_copy_is_the_original(tmp_path, source, target):
    original = FileStore(tmp_path / "a", block_size=4096) if source == "file" else MemoryStore()
    fill(original)
    copy = FileStore(tmp_path / "b", block_size=4096) if target == "file" else MemoryStore()
    for block in export_blocks(original):
        import_records(copy, block)
    assert messages(copy) == messages(original)
    assert (copy.msgs, copy.first_seq, copy.last_seq) == (original.msgs, 3, 299)
    if target == "file":
        copy.close()
        reopened = FileStore(tmp_path / "b")
        assert messages(reopened) == messages(original)
        reopened.close()
    if source == "file":
        original.close()


def test_both_paths_give_the_same_bytes(tmp_path):
    file_store, memory_store = FileStore(tmp_path / "f", block_size=4096), MemoryStore()
    fill(file_store)
    fill(memory_store)
    assert export_all(file_store, 700) == export_all(memory_store, 700)
    file_store.close()


@pytest.mark.parametrize("target", ["file", "memory"])
def test_damaged_or_misplaced_records_are_refused(tmp_path, target):
    source = MemoryStore()
    fill(source)
    data = bytearray(export_all(source))

    def make(name: str):
        return FileStore(tmp_path / name) if target == "file" else MemoryStore()

    damaged = bytes(data[:40]) + bytes([data[40] ^ 1]) + bytes(data[41:])
    with pytest.raises(StoreError):
        import_records(make("damaged"), damaged)
    twice = make("twice")
    import_records(twice, bytes(data))
    with pytest.raises(SequenceMismatch):
        import_records(twice, bytes(data))
