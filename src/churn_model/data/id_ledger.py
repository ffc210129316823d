"""Finding repeated ids in a table read chunk by chunk, in memory that does not grow with it.

This module is *machinery*. A chunked read (batch scoring) sees one chunk at a time, but an id may
repeat one seen millions of rows earlier. Keeping every id in memory would make memory grow with
the table, so each id is reduced to a 128-bit hash (two 64-bit SipHash values of its text, with
different keys) and written, with its row number, to one of :data:`BUCKETS` files in a scratch
folder, chosen by the hash. Equal ids land in the same bucket; at the end each bucket (a
:data:`BUCKETS`-th of the rows, 24 bytes a row) is sorted on its own and equal hashes are repeated
ids. Two different ids share a 128-bit hash with a probability around ``rows**2 / 2**129``
(1e-25 at ten million rows): never, in practice. The hashes of the first :data:`SPILL_ROWS` rows
stay in memory, and go to the bucket files only when a table outgrows them: most tables never
touch the disk, and memory stays bounded by that many rows whatever the table's length. A table
already held in memory (a frame) keeps its hashes in memory (no folder).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

BUCKETS = 256
"""Scratch files the hashes are spread over: at ten million rows one holds ~1 MB."""

SPILL_ROWS = 1_000_000
"""Rows whose hashes are held in memory (24 MB) before they are spread over the bucket files."""

_KEYS = ("id-ledger-key-01", "id-ledger-key-02")  # any two distinct 16-character SipHash keys
_RECORD = np.dtype([("low", "<u8"), ("high", "<u8"), ("row", "<i8")])


@dataclass(frozen=True, slots=True)
class Repeats:
    """What :meth:`IdLedger.repeats` found: every row whose id another row also has."""

    count: int
    """How many rows carry an id that appears more than once (every occurrence counts)."""
    first_rows: tuple[int, ...]
    """The first few of those rows (0-based input rows), in input order."""


class IdLedger:
    """Hashes of the ids seen so far, spilled to bucket files under ``folder`` (which must exist).

    The caller owns ``folder`` (a temporary directory) and removes it; the ledger only adds files.
    Without a folder the hashes stay in memory (24 bytes a row): for a table held whole anyway.
    """

    def __init__(
        self, folder: Path | None, buckets: int = BUCKETS, spill_rows: int = SPILL_ROWS
    ) -> None:
        """Start an empty ledger that spills into ``folder`` (if any) past ``spill_rows`` rows."""
        self._folder, self._buckets, self._spill_rows = folder, buckets, spill_rows
        self._held: list[npt.NDArray[np.void]] = []
        self._held_rows = 0
        self._spilled = False

    def add(self, ids: npt.NDArray[np.object_], rows: npt.NDArray[np.int64]) -> None:
        """Record ids (strings) and their rows (0-based in the table); missing ids are left out.

        Validation reports a missing id as missing, not as repeated.
        """
        records = np.empty(len(ids), dtype=_RECORD)
        records["low"] = pd.util.hash_array(ids, hash_key=_KEYS[0], categorize=False)
        records["high"] = pd.util.hash_array(ids, hash_key=_KEYS[1], categorize=False)
        records["row"] = rows
        if self._folder is None or (
            not self._spilled and self._held_rows + len(records) <= self._spill_rows
        ):
            self._held.append(records)
            self._held_rows += len(records)
            return
        if not self._spilled:
            records = np.concatenate([*self._held, records])
            self._held, self._held_rows, self._spilled = [], 0, True
        self._spill(self._folder, records)

    def _bucket(self, folder: Path, index: int) -> Path:
        return folder / f"ids-{index:04d}.bin"

    def _spill(self, folder: Path, records: npt.NDArray[np.void]) -> None:
        """Append ``records`` to the bucket files in ``folder``, each to the one its hash picks."""
        buckets = records["low"] % np.uint64(self._buckets)
        order = np.argsort(buckets, kind="stable")
        records, buckets = records[order], buckets[order]
        bounds = np.searchsorted(buckets, np.arange(self._buckets + 1, dtype=np.uint64))
        for index in np.flatnonzero(np.diff(bounds)):
            with self._bucket(folder, int(index)).open("ab") as handle:
                handle.write(records[bounds[index] : bounds[index + 1]].tobytes())

    def _groups(self) -> Iterator[npt.NDArray[np.void]]:
        """The hashes in groups that share no id: the held ones, or each bucket file's."""
        if self._folder is None or not self._spilled:
            if self._held:
                yield np.concatenate(self._held)
            return
        for index in range(self._buckets):
            path = self._bucket(self._folder, index)
            if path.exists():
                yield np.fromfile(path, dtype=_RECORD)

    @property
    def spilled(self) -> bool:
        """Whether the hashes outgrew memory and went to the bucket files."""
        return self._spilled

    def repeats(self, examples: int) -> Repeats:
        """Every row whose id is also another row's: how many, and the first ``examples``."""
        count, first = 0, np.empty(0, dtype=np.int64)
        for records in self._groups():
            records.sort(order=["low", "high"])
            pairs = records[["low", "high"]]
            same = pairs[1:] == pairs[:-1]
            repeated = np.zeros(len(records), dtype=bool)
            repeated[1:] |= same
            repeated[:-1] |= same
            rows = records["row"][repeated]
            count += len(rows)
            first = np.sort(np.concatenate([first, np.sort(rows)[:examples]]))[:examples]
        return Repeats(count=count, first_rows=tuple(int(row) for row in first))
