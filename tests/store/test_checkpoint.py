"""File store only: index.db checkpoints at block seals, so a crash costs a scan of the newest
blocks only, with every damage guarantee of a full scan kept."""

from __future__ import annotations

import pytest

from devserver.store import FileStore, fileindex
from devserver.store.file import CHECKPOINT_SPACING, INDEX_ENTRY_BYTES, INDEX_FILE
from tests.store.test_file import block_files, crash_image, fill, snapshot

BLOCK = 1000  # 83-byte records (`fill`): eleven or twelve to a block


@pytest.fixture
def directory(tmp_path):
    return tmp_path / "msgs"


@pytest.fixture
def replayed(monkeypatch) -> list[tuple[int, int]]:
    """(block number, offset) of every block replay an open does."""
    calls: list[tuple[int, int]] = []
    real = FileStore._replay

    def spy(self, blk, start, newest):
        calls.append((blk.num, start))
        real(self, blk, start, newest)

    monkeypatch.setattr(FileStore, "_replay", spy)
    return calls


def reopen(where) -> FileStore:
    store = FileStore(where, block_size=BLOCK)
    assert store.warnings == []
    return store


def test_a_crash_replays_only_the_blocks_after_the_checkpoint(directory, tmp_path, replayed):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    store.remove(40)
    newest = max(store._blocks)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    assert (image / INDEX_FILE).exists()  # written by a checkpoint, not by close()
    again = reopen(image)
    assert snapshot(again) == expected
    assert replayed == [(newest, 0)]  # the older blocks are in the checkpoint
    again.close()


def test_checkpoints_thin_out_as_the_index_grows(directory, tmp_path, replayed, monkeypatch):
    saved: list[int] = []
    real = fileindex.save

    def save(path, meta, columns):
        saved.append(meta["msgs"])
        real(path, meta, columns)

    monkeypatch.setattr(fileindex, "save", save)
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 3000)
    sealed = len(store._blocks) - 1
    image = crash_image(store, tmp_path / "crash")
    store.close()
    # each checkpoint came after sealed blocks of CHECKPOINT_SPACING times the index before it
    for before, after in zip(saved, saved[1:-1], strict=False):
        assert (after - before) * 83 >= before * INDEX_ENTRY_BYTES * CHECKPOINT_SPACING
    assert 1 < len(saved) - 1 < sealed // 4
    replayed.clear()
    again = reopen(image)
    assert again.msgs == 3000
    assert (len(replayed) - 1) * 900 <= 3000 * INDEX_ENTRY_BYTES * CHECKPOINT_SPACING
    again.close()


def test_blocks_deleted_since_the_checkpoint_are_not_missed(directory, tmp_path):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    for seq in range(1, store._blocks[3].hi + 1):  # blocks 1-3 go; the markers are in the newest
        store.remove(seq)
    store.flush()
    assert block_files(directory)[0].name == "4.blk"
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    again = reopen(image)
    assert snapshot(again) == expected
    again.close()


def test_a_block_missing_since_the_checkpoint_is_reported_lost(directory, tmp_path):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    lo, hi = store._blocks[3].lo, store._blocks[3].hi
    image = crash_image(store, tmp_path / "crash")
    store.close()
    (image / "3.blk").unlink()
    again = FileStore(image, block_size=BLOCK)
    assert any("3.blk is missing" in w for w in again.warnings)
    lost = again.state().lost
    assert lost is not None and lost.msgs == list(range(lo, hi + 1))
    assert again.msgs == 95 - (hi + 1 - lo)
    assert (again.load(lo - 1).seq, again.load(lo), again.load(hi + 1).seq) == (lo - 1, None, hi + 1)
    again.close()


def test_damage_in_a_checkpointed_block_falls_back_to_a_full_scan(directory, tmp_path, replayed):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    block = image / "2.blk"
    data = bytearray(block.read_bytes())
    data[500] ^= 0xFF
    block.write_bytes(bytes(data))
    again = FileStore(image, block_size=BLOCK)
    assert len(replayed) == len(block_files(image))  # every block scanned
    lost = again.state().lost
    assert lost is not None and len(lost.msgs) == 1 and again.msgs == 94
    again.close()


def test_a_torn_tail_after_the_checkpoint_is_cut(directory, tmp_path):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    newest = block_files(image)[-1]
    data = newest.read_bytes()
    newest.write_bytes(data[:-7])
    again = FileStore(image, block_size=BLOCK)
    assert any("cut" in w for w in again.warnings)
    assert (again.msgs, again.last_seq, again.state().lost) == (94, 94, None)
    assert again.store("s", None, b"again", 5_000)[0] == 95
    again.close()
