"""hybrid_plugin.files: commits that an interrupt cannot split, swaps that never replace another run's output
unasked, the working folder never swapped away, a folder held by one run."""

from __future__ import annotations

import signal

import pytest

from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import (
    atomic_files,
    check_output,
    output_lock,
    replace_folder,
    signals_deferred,
    staged_folder,
)


def test_a_signal_inside_a_deferred_block_takes_effect_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            signal.raise_signal(signal.SIGINT)
            done.append("rest of the block")
    assert done == ["rest of the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_atomic_files_change_all_or_none(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    with pytest.raises(RuntimeError):
        with atomic_files() as open_new:
            with open_new(tmp_path / "a.txt") as handle:
                handle.write("new a")
            raise RuntimeError("the second file failed")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"] and (tmp_path / "a.txt").read_text() == "old a"
    with atomic_files() as open_new:
        for name in ("a.txt", "b/c.txt"):
            with open_new(tmp_path / name) as handle:
                handle.write(f"new {name}")
    assert (tmp_path / "a.txt").read_text() == "new a.txt" and (tmp_path / "b" / "c.txt").read_text() == "new b/c.txt"


def test_without_overwrite_a_swap_keeps_what_another_run_put_there(tmp_path):
    final, new = tmp_path / "out", tmp_path / "new"
    (final / "sub").mkdir(parents=True)
    (final / "sub" / "theirs.txt").write_text("theirs")
    new.mkdir()
    with pytest.raises(UsageError, match="filled by another run meanwhile"):
        replace_folder(new, final, overwrite=False)
    assert (final / "sub" / "theirs.txt").read_text() == "theirs" and new.is_dir()
    (final / "sub" / "theirs.txt").unlink()
    (final / "sub").rmdir()  # an empty folder may be replaced
    replace_folder(new, final, overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_working_folder_is_never_swapped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for out in (".", str(tmp_path), ".."):
        with pytest.raises(UsageError, match="working folder"):
            with staged_folder(out):
                pass
    with pytest.raises(UsageError, match="working folder"):
        check_output(".", overwrite=True)
    check_output(".", overwrite=False, resumable=True)  # written in place (training): allowed
    assert list(tmp_path.iterdir()) == []


def test_a_folder_is_held_by_one_run(tmp_path):
    with output_lock(tmp_path / "run"):
        with pytest.raises(UsageError, match="in use by another hybrid-plugin run"):
            with output_lock(tmp_path / "run"):
                pass
    with output_lock(tmp_path / "run"):  # released
        pass
