"""Batch copies for snapshots and restores (jetstream/storage.py export_batch/import_batch): the
file store's bulk path and the message-by-message path of other stores give and take the same
batches, and a copy is the original (sequences, gaps, subjects, headers, payloads, times; subject
counts, first and last), also where the copy's subject ids differ from the sender's."""

from __future__ import annotations

import dataclasses
from array import array

import pytest

from devserver.jetstream.storage import Batch, StoreError, Subjects, export_batch, import_batch
from devserver.store import FileStore, MemoryStore, records
from devserver.store.base import SequenceMismatch


def fill(store) -> None:
    for i in range(1, 301):
        headers = b"NATS/1.0\r\nI: %d\r\n\r\n" % i if i % 4 == 0 else None
        subject = f"s.{i % 9}" if i < 250 else f"kv.{i % 3}"
        store.store(subject, headers, b"data %d" % i * (i % 17), 1_000_000 + i)
    for seq in (1, 2, 50, 51, 150, 300):
        store.remove(seq, erase=seq == 150)
    store.purge("s.4")  # subject ids freed, then reused by the next new subjects
    for i in range(301, 341):
        store.store(f"new.{i % 4}", None, b"later %d" % i, 1_000_000 + i)


def export(store, chunk: int = 1500) -> list[Batch]:
    out, seq, sent = [], store.first_seq, Subjects()
    while seq <= store.last_seq:
        batch, seq = export_batch(store, seq, store.last_seq, chunk, sent)
        out.append(batch)
    return out


def copy_into(target, batches: list[Batch]) -> None:
    subjects = Subjects()
    for batch in batches:
        import_batch(target, batch, subjects)


def messages(store) -> list:
    out, msg = [], store.load_next(1)
    while msg is not None:
        out.append(msg)
        msg = store.load_next(msg.seq + 1)
    return out


def summary(store) -> dict:
    """What the index answers (bytes aside: the two kinds of store account them differently)."""
    subjects = store.subjects()
    return {
        "state": dataclasses.replace(store.state(deleted=True), bytes=0),
        "subjects": subjects,
        "first": {s: store.subject_first(s) for s in subjects},
        "last": {s: store.load_last(s).seq for s in subjects},
        "last_seqs": store.last_seqs(),
        "pending": [store.num_pending(seq, f) for seq in (1, 100, 260) for f in (None, "s.*", "kv.1")],
    }


def make(kind: str, path, block_size: int = 4096):
    return FileStore(path, block_size=block_size) if kind == "file" else MemoryStore()


@pytest.mark.parametrize("target", ["file", "memory"])
@pytest.mark.parametrize("source", ["file", "memory"])
def test_a_copy_is_the_original(tmp_path, source, target):
    original = make(source, tmp_path / "a")
    fill(original)
    copy = make(target, tmp_path / "b")
    copy_into(copy, export(original))
    assert messages(copy) == messages(original)
    assert summary(copy) == summary(original)
    assert (copy.msgs, copy.first_seq, copy.last_seq) == (original.msgs, 3, 340)
    if source == target:
        assert copy.bytes == original.bytes
    if target == "file":
        copy.close()
        reopened = FileStore(tmp_path / "b")
        assert messages(reopened) == messages(original)
        assert summary(reopened) == summary(original)
        reopened.close()
    if source == "file":
        original.close()


def test_a_copy_goes_on_like_the_original(tmp_path):
    """Writes and removals after a bulk copy keep subject counts, first and last exact."""
    original, copy = MemoryStore(), FileStore(tmp_path / "b", block_size=4096)
    fill(original)
    copy_into(copy, export(original, 700))
    for store in (original, copy):
        store.store("kv.1", None, b"more", 2_000_000)
        store.store("new.9", None, b"more", 2_000_001)
        for seq in (3, 260, 262, 301):
            store.remove(seq)
        store.purge("new.1", keep=2)
    assert messages(copy) == messages(original)
    assert summary(copy) == summary(original)
    copy.close()


def test_both_paths_give_the_same_records(tmp_path):
    file_store, memory_store = FileStore(tmp_path / "f", block_size=4096), MemoryStore()
    fill(file_store)
    fill(memory_store)

    def flat(batches: list[Batch]) -> tuple:
        names: dict[int, str] = {}
        for batch in batches:
            names.update(batch.names)
        subjects = [names[sid] for batch in batches for sid in batch.sids]
        columns = [list(batch.seqs) + list(batch.words) for batch in batches]
        return b"".join(batch.records for batch in batches), columns, subjects

    assert flat(export(file_store, 700)) == flat(export(memory_store, 700))
    file_store.close()


def test_batches_name_each_subject_once(tmp_path):
    store = FileStore(tmp_path / "f", block_size=4096)
    fill(store)
    batches = export(store, 700)
    named = [sid for batch in batches for sid in batch.names]
    assert len(batches) > 5 and sorted(named) == list(range(15))
    store.close()


def test_subjects_made_between_batches(tmp_path):
    """The first batch names every subject; an id the sender frees and makes again under another
    name between batches is named again (and mapped, the receiver still using it), and a named
    subject whose messages all went before they were sent never appears in the copy."""
    store, copy = FileStore(tmp_path / "a", block_size=4096), FileStore(tmp_path / "b", block_size=4096)
    fill(store)
    sent, received = Subjects(), Subjects()
    batch, seq = export_batch(store, store.first_seq, store.last_seq, 700, sent)
    assert len(batch.names) == len(store.subjects())
    import_batch(copy, batch, received)
    first = messages(copy)
    assert any(m.subject == "s.3" for m in first)
    store.purge("s.3")  # sent already: its id is made again as "late.0"
    store.purge("kv.1")  # never sent
    for i in range(20):
        store.store(f"late.{i % 2}", None, b"late %d" % i, 3_000_000 + i)
    while seq <= store.last_seq:
        batch, seq = export_batch(store, seq, store.last_seq, 700, sent)
        import_batch(copy, batch, received)
    assert messages(copy) == first + [m for m in messages(store) if m.seq > first[-1].seq]
    assert received.moved  # "late.0" could not keep the id "s.3" still has here
    counts = copy.subjects()
    assert counts["late.0"] == counts["late.1"] == 10 and "kv.1" not in counts
    assert counts["s.3"] == sum(m.subject == "s.3" for m in first)
    assert copy.load_last("late.0").data == b"late 18"
    store.close()
    copy.close()


def test_a_copy_into_a_store_whose_ids_differ(tmp_path):
    """The sender's subject ids are taken where free; taken ones are mapped to others."""
    original, copy = MemoryStore(), FileStore(tmp_path / "b", block_size=4096)
    fill(original)
    copy.store("other", None, b"first", 1)
    copy.store("s.5", None, b"second", 2)
    original.compact(3)
    copy_into(copy, export(original, 900))
    assert messages(copy)[2:] == messages(original)
    assert copy.subjects() == {**original.subjects(), "other": 1, "s.5": original.subjects()["s.5"] + 1}
    assert copy.subject_first("s.5") == 2 and copy.load_last("kv.1").seq == original.load_last("kv.1").seq
    copy.close()


def test_a_batch_spans_blocks(tmp_path):
    """Records larger than what is left of a block start the next one, as single writes do."""
    source, copy = MemoryStore(), FileStore(tmp_path / "b", block_size=1000)
    for i in range(1, 60):
        source.store(f"big.{i % 2}", None, b"x" * (i * 7 % 900), i)
    copy_into(copy, export(source, 1 << 20))
    assert messages(copy) == messages(source)
    copy.close()
    reopened = FileStore(tmp_path / "b", block_size=1000)
    assert messages(reopened) == messages(source)
    assert not reopened.warnings
    reopened.close()


@pytest.mark.parametrize("target", ["file", "memory"])
def test_damaged_or_misplaced_batches_are_refused(tmp_path, target):
    source = MemoryStore()
    fill(source)
    (batch,) = export(source, 1 << 20)
    data = batch.records

    def refused(name: str, bad: Batch, error: type[Exception] = StoreError) -> None:
        with pytest.raises(error):
            import_batch(make(target, tmp_path / name), bad, Subjects())

    refused("damaged", batch._replace(records=data[:40] + bytes([data[40] ^ 1]) + data[41:]))
    refused("short", batch._replace(records=data[:-1]))
    refused("unnamed", batch._replace(names={}))
    seqs = array("Q", batch.seqs)
    seqs[0] += 1
    refused("renumbered", batch._replace(seqs=seqs))
    words = array("I", batch.words)
    words[0] |= records.F_DEL
    refused("marker", batch._replace(words=words))
    twice = make(target, tmp_path / "twice")
    import_batch(twice, batch, Subjects())
    with pytest.raises(SequenceMismatch):
        import_batch(twice, batch, Subjects())


def test_a_record_the_columns_misname_is_lost_when_read(tmp_path):
    """A bulk copy checks the batch's shape, not every record against its columns: an intact
    record that is not the one the index names is reported lost when read, like a damaged one."""
    source = MemoryStore()
    for i in range(1, 11):
        source.store("a", None, b"%d" % i, i)
        source.skip_msgs(1)
    (batch,) = export(source, 1 << 20)
    seqs = array("Q", batch.seqs)
    assert seqs[2] == 5
    seqs[2] = 4  # still ascending
    copy = FileStore(tmp_path / "c")
    import_batch(copy, batch._replace(seqs=seqs), Subjects())
    assert copy.load(4) is None
    assert copy.state().lost.msgs == [4]
    assert copy.load(3).data == b"2" and copy.load(7).data == b"4"
    copy.close()
