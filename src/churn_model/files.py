"""Atomic writes and content hashes: how the pipeline puts files on disk and recognises them.

Every artifact a reader may look at while it is being written (the sample CSV, verdicts, the
registry pointer, the baseline, scored outputs) is written to a temporary file beside its target and
renamed into place, so a reader or a crash sees the old bytes or the new ones, never a mix.
"""

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, flushed to disk before the rename."""
    with atomic_path(path) as temporary, temporary.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in blocks (files may be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
