"""Atomic writes, staged folders and content hashes: a reader sees the old bytes or the new ones."""

import errno
import hashlib
import os
import shutil
from pathlib import Path

import pytest

from churn_model.errors import UserError
from churn_model.files import (
    append_text,
    atomic_path,
    is_disk_full,
    sha256_of,
    staged_folder,
    write_atomic,
)


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "verdict.json"
    write_atomic(target, b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(path.name for path in target.parent.iterdir()) == ["verdict.json"]


def test_a_block_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "pointer.json"
    target.write_bytes(b"old")

    def write_half() -> None:
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        write_half()
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["pointer.json"]


def test_a_full_disk_is_one_sentence_naming_the_target(tmp_path: Path) -> None:
    target = tmp_path / "scored.csv"
    with pytest.raises(UserError) as caught, atomic_path(target):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert (
        str(caught.value)
        == f"{target}: cannot write it: no space left on the device (or over quota)"
    )
    assert not target.exists()
    assert not is_disk_full(FileNotFoundError(errno.ENOENT, "no such file"))


def test_a_log_is_appended_to_and_another_failure_is_not_called_a_full_disk(
    tmp_path: Path,
) -> None:
    summary = tmp_path / "summary.md"
    append_text(summary, "a")
    append_text(summary, "b")
    assert summary.read_text(encoding="utf-8") == "ab"
    with pytest.raises(FileNotFoundError):
        append_text(tmp_path / "missing" / "summary.md", "x")


def test_a_full_disk_inside_a_folder_copy_is_recognised() -> None:
    copy_error = shutil.Error([("a", "b", f"[Errno 28] {os.strerror(errno.ENOSPC)}")])
    assert is_disk_full(copy_error)
    assert is_disk_full(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)))
    assert not is_disk_full(shutil.Error([("a", "b", "permission denied")]))
    assert not is_disk_full(ValueError("no space left"))


def test_a_staged_folder_that_fails_is_removed_and_one_that_succeeds_stays(tmp_path: Path) -> None:

    def fill_half() -> None:
        with staged_folder(tmp_path / "candidates") as staging:
            (staging / "model.skops").write_bytes(b"half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fill_half()
    assert list((tmp_path / "candidates").iterdir()) == []
    with staged_folder(tmp_path / "candidates") as staging:
        (staging / "card.json").write_text("{}", encoding="utf-8")
    staging.rename(tmp_path / "candidates" / "model-1")
    assert [path.name for path in (tmp_path / "candidates").iterdir()] == ["model-1"]


def test_the_hash_is_of_the_bytes_read_in_blocks(tmp_path: Path) -> None:
    data = os.urandom(3 << 20) + b"tail"  # more than one block
    path = tmp_path / "model.skops"
    path.write_bytes(data)
    assert sha256_of(path) == hashlib.sha256(data).hexdigest()
