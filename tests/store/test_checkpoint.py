"""File store only: each sealed block's own index (`<n>.idx`), so a crash costs a scan of the
newest block only, with every damage guarantee of a full scan kept."""

from __future__ import annotations

import pytest

from devserver.store import FileStore, fileindex
from devserver.store.file import BLOCK_INDEX_SUFFIX, INDEX_FILE
from tests.store.test_bulk import copy_into, export, summary
from tests.store.test_bulk import fill as fill_varied
from tests.store.test_file import block_files, busy_store, crash_image, fill, snapshot

BLOCK = 1000  # 83-byte records (`fill`): eleven or twelve to a block


@pytest.fixture
def directory(tmp_path):
    return tmp_path / "msgs"


@pytest.fixture
def replayed(monkeypatch) -> list[tuple[int, int]]:
    """(block number, offset) of every block scan an open does."""
    calls: list[tuple[int, int]] = []
    real = FileStore._replay

    def spy(self, blk, start, newest):
        calls.append((blk.num, start))
        real(self, blk, start, newest)

    monkeypatch.setattr(FileStore, "_replay", spy)
    return calls


def index_files(directory) -> list[int]:
    return sorted(int(p.stem) for p in directory.iterdir() if p.suffix == BLOCK_INDEX_SUFFIX)


def block_nums(directory) -> list[int]:
    return [int(p.stem) for p in block_files(directory)]


def reopen(where) -> FileStore:
    store = FileStore(where, block_size=BLOCK)
    assert store.warnings == []
    return store


def test_a_crash_scans_only_the_newest_block(directory, tmp_path, replayed):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    store.remove(40)
    newest = max(store._blocks)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    assert not (image / INDEX_FILE).exists()
    assert index_files(image) == block_nums(image)[:-1]  # every sealed block has its own
    again = reopen(image)
    assert snapshot(again) == expected
    assert replayed == [(newest, 0)]
    again.close()


def test_each_block_index_is_written_once_at_its_seal(directory, monkeypatch):
    saved: list[str] = []
    real = fileindex.save

    def save(path, meta, columns):
        saved.append(path)
        real(path, meta, columns)

    monkeypatch.setattr(fileindex, "save", save)
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 3000)
    sealed = len(store._blocks) - 1
    assert len(saved) == len(set(saved)) == sealed
    assert all(path.endswith(BLOCK_INDEX_SUFFIX) for path in saved)
    store.close()
    assert saved[-1].endswith(INDEX_FILE) and len(saved) == sealed + 1  # a clean close: index.db


def test_every_kind_of_change_survives_a_crash(directory, tmp_path, replayed):
    store = busy_store(directory, block_size=256)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    again = reopen(image)
    assert snapshot(again) == expected
    assert replayed == [(max(block_nums(image)), 0)]
    again.close()


def test_subject_ids_freed_and_reused_across_blocks(directory, tmp_path):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 30, subject="a")
    fill(store, 30, subject="b", first=31)
    store.purge("a")  # its id is free, and taken by the next new subject
    fill(store, 30, subject="c", first=61)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    again = reopen(image)
    assert snapshot(again) == expected
    again.store("a", None, b"x", 9_000)
    assert again.subjects() == {"a": 1, "b": 30, "c": 30}
    again.close()


def test_blocks_deleted_since_their_seal_take_their_index(directory, tmp_path):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    for seq in range(1, store._blocks[3].hi + 1):  # blocks 1-3 go; the markers are in the newest
        store.remove(seq)
    store.flush()
    assert block_nums(directory)[0] == 4 and index_files(directory)[0] == 4
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    again = reopen(image)
    assert snapshot(again) == expected
    again.close()


def test_a_purge_leaves_no_index_behind(directory, tmp_path):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    store.purge()
    fill(store, 30, first=96)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    assert set(index_files(image)) <= set(block_nums(image))
    again = reopen(image)
    assert snapshot(again) == expected
    again.close()


def test_an_erase_in_a_sealed_block_drops_its_index(directory, tmp_path, replayed):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    store.remove(20, erase=True)
    erased_in = store._block_of(21).num
    assert erased_in not in index_files(directory)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    again = reopen(image)
    assert snapshot(again) == expected
    assert replayed == [(erased_in, 0), (max(block_nums(image)), 0)]
    again.close()


def test_a_block_missing_since_its_seal_is_reported_lost(directory, tmp_path):
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
    assert 3 not in index_files(image)
    again.close()


def test_damage_in_a_sealed_block_falls_back_to_a_scan_of_it(directory, tmp_path, replayed):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    block = image / "2.blk"
    data = bytearray(block.read_bytes())
    data[500] ^= 0xFF
    block.write_bytes(bytes(data))
    again = FileStore(image, block_size=BLOCK)
    assert replayed == [(2, 0), (max(block_nums(image)), 0)]
    lost = again.state().lost
    assert lost is not None and len(lost.msgs) == 1 and again.msgs == 94
    assert 2 not in index_files(image)  # its index no longer holds; the damage is found each time
    again.close()


@pytest.mark.parametrize("damage", ["flipped", "truncated", "missing"])
def test_a_damaged_or_missing_block_index_falls_back_to_a_scan(directory, tmp_path, replayed, damage):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 95)
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    index = image / f"3{BLOCK_INDEX_SUFFIX}"
    data = bytearray(index.read_bytes())
    if damage == "missing":
        index.unlink()
    else:
        data[len(data) // 2] ^= 0x10
        index.write_bytes(bytes(data) if damage == "flipped" else bytes(data[: len(data) // 2]))
    again = FileStore(image, block_size=BLOCK)
    assert snapshot(again) == expected
    assert replayed == [(3, 0), (max(block_nums(image)), 0)]
    noted = [w for w in again.warnings if "3.idx: not usable" in w]
    assert len(noted) == len(again.warnings) == (damage != "missing")
    assert index_files(image) == block_nums(image)[:-1]  # the scan wrote it again
    replayed.clear()
    twice = reopen(crash_image(again, tmp_path / "crash again"))
    assert snapshot(twice) == expected
    assert replayed == [(max(block_nums(image)), 0)]
    twice.close()
    again.close()


def test_a_torn_tail_after_the_last_seal_is_cut(directory, tmp_path):
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


def test_a_crash_after_a_clean_restart_uses_index_db_and_the_newer_indexes(directory, tmp_path, replayed):
    store = FileStore(directory, block_size=BLOCK)
    fill(store, 50)
    store.remove(7)
    store.close()
    store = reopen(directory)
    active, size = store._active.num, store._active.size  # at the close, and sealed since
    fill(store, 50, first=51)
    store.remove(8)  # a marker after index.db, for a block it lists
    expected = snapshot(store)
    image = crash_image(store, tmp_path / "crash")
    store.close()
    replayed.clear()
    again = reopen(image)
    assert snapshot(again) == expected
    assert replayed == [(active, size), (max(block_nums(image)), 0)]
    again.close()


def test_a_restore_leaves_block_indexes(tmp_path, replayed):
    source = FileStore(tmp_path / "source", block_size=4096)
    fill_varied(source)
    target = FileStore(tmp_path / "target", block_size=BLOCK)
    copy_into(target, export(source))
    expected = summary(source)
    image = crash_image(target, tmp_path / "crash")
    target.close()
    source.close()
    assert index_files(image) == block_nums(image)[:-1]
    again = reopen(image)
    assert summary(again) == expected
    assert replayed == [(max(block_nums(image)), 0)]
    again.close()
