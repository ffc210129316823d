"""Atomic writes and content hashes: how the pipeline puts files on disk and recognises them.

Every artifact a reader may look at while it is being written (the sample CSV, verdicts, the
registry pointer, the baseline, scored outputs) is written to a temporary file beside its target and
renamed into place, so a reader or a crash sees the old bytes or the new ones, never a mix. A whole
folder (a candidate, a registered model) is filled in a staging folder beside its target and renamed
into place the same way.

A full disk (or quota) while writing is the user's to fix, not a bug: it becomes a
:class:`UserError` naming the file, and the temporary file is removed.
"""

import errno
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from churn_model.errors import UserError

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
"""The errors that mean "no room left to write": the device is full, or the user's quota is."""


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` means no space was left to write (also inside a ``shutil`` copy error)."""
    if not isinstance(error, OSError):
        return False
    if error.errno in DISK_FULL:
        return True
    # shutil.copytree gathers its failures into one Error whose entries keep only the message.
    reasons = {os.strerror(code) for code in DISK_FULL}
    return isinstance(error, shutil.Error) and any(
        isinstance(entry, tuple) and any(reason in str(entry[-1]) for reason in reasons)
        for entry in (error.args[0] if error.args and isinstance(error.args[0], list) else [])
    )


def disk_full(path: Path | str | None) -> UserError:
    """The one-sentence error for a write (to ``path``, when known) that found no space left."""
    where = f"{path}: cannot write it" if path else "cannot write"
    return UserError(f"{where}: no space left on the device (or over quota)")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; it replaces ``path`` if the block succeeds.

    The caller creates and writes the temporary file (with whatever writer it needs); on an error
    it is removed and ``path`` is untouched. The file gets the usual umask (``mkstemp`` gives 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        temporary.replace(path)
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(path) from None
        raise
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def staged_folder(parent: Path) -> Iterator[Path]:
    """Yield a new empty folder under ``parent`` to fill; it is removed if the block raises.

    The caller renames it into place when it is complete: ``rename`` is atomic and refuses a
    non-empty target, so a reader sees no folder or a whole one, and an existing one is never hit.
    """
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, flushed to disk before the rename."""
    with atomic_path(path) as temporary, temporary.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def append_text(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` (a log such as the CI job summary); a full disk names it."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(path) from None
        raise


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in blocks (files may be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
