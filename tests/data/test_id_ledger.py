"""Repeated ids in a table read chunk by chunk: found alike held in memory or spilled to files."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from churn_model.data.id_ledger import IdLedger, Repeats


def _ledger_of(
    chunks: list[list[str]], folder: Path | None, spill_rows: int
) -> tuple[Repeats, bool]:
    ledger = IdLedger(folder, buckets=4, spill_rows=spill_rows)
    start = 0
    for chunk in chunks:
        rows = np.arange(start, start + len(chunk), dtype=np.int64)
        ledger.add(np.array(chunk, dtype=object), rows)
        start += len(chunk)
    return ledger.repeats(examples=3), ledger.spilled


def _expected(chunks: list[list[str]]) -> Repeats:
    ids = [value for chunk in chunks for value in chunk]
    repeated = [row for row, value in enumerate(ids) if ids.count(value) > 1]
    return Repeats(count=len(repeated), first_rows=tuple(repeated[:3]))


@settings(max_examples=40, deadline=None, database=None)
@given(
    chunks=st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=6), max_size=6),
    spill_rows=st.integers(0, 12),
)
def test_repeats_are_the_same_held_or_spilled(
    chunks: list[list[str]], spill_rows: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("ledger")
    found, spilled = _ledger_of(chunks, folder, spill_rows)
    assert found == _expected(chunks)
    assert spilled == (sum(map(len, chunks)) > spill_rows)
    assert bool(list(folder.iterdir())) == (spilled and any(chunks))


def test_a_table_within_the_memory_share_writes_no_file(tmp_path: Path) -> None:
    found, spilled = _ledger_of([["x", "y"], ["z", "x"]], tmp_path, spill_rows=4)
    assert (found, spilled) == (Repeats(count=2, first_rows=(0, 3)), False)
    assert list(tmp_path.iterdir()) == []
