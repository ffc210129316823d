"""Readers with bounds: a hostile or broken file is refused before it is parsed, in one sentence.

Unbounded, a 5 MB CSV of one line of commas ran for 501 s and died with a MemoryError, and a 2 GB
sparse file after 13 KB of valid CSV took 37 s and 6.5 GB before being refused (a binary check
that looks at the first 8 KB only). Each case below fails without the bounds of
:mod:`churn_model.data.tables`; the sizes are the
smallest that cross a bound, so the suite stays fast (a benchmark times the full-size files).
"""

import io
from pathlib import Path

import pandas as pd
import pytest

from churn_model.data import tables
from churn_model.data.pinning import read_table
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import (
    EXTRA_COLUMNS,
    MAX_LINE_BYTES,
    MAX_TABLE_BYTES,
    max_columns,
    read_chunks,
    write_csv,
)
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError


@pytest.fixture
def valid_csv(tmp_path: Path) -> Path:
    """A small valid table of the schema, ~13 KB as in the review."""
    path = tmp_path / "valid.csv"
    write_csv(synthetic_frame(120, seed=3), path)
    return path


def _sparse_tail(path: Path, extra: int) -> int:
    """Extend ``path`` by ``extra`` bytes of zeros (a sparse hole: no disk used); its old size."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size + extra)
    return size


def test_zeros_after_the_first_kilobytes_are_refused_where_they_start(valid_csv: Path) -> None:
    start = _sparse_tail(valid_csv, 64 << 20)
    for read in (lambda: read_table(valid_csv), lambda: list(read_chunks(valid_csv, 50))):
        with pytest.raises(UserError, match="binary content") as refused:
            read()
        assert str(refused.value).startswith(f"{valid_csv}: ")
        assert f"a NUL byte at byte {start:,}" in str(refused.value)


def test_a_file_too_large_to_hold_whole_is_refused_before_reading(valid_csv: Path) -> None:
    _sparse_tail(valid_csv, MAX_TABLE_BYTES)
    with pytest.raises(UserError, match=r"MiB a whole-table read holds in memory") as refused:
        read_table(valid_csv)
    assert "`just predict` streams any size" in str(refused.value)


def test_a_header_of_one_endless_line_is_refused_by_its_length(tmp_path: Path) -> None:
    path = tmp_path / "commas.csv"
    path.write_bytes(b"," * (MAX_LINE_BYTES + 1))
    with pytest.raises(UserError, match="line 1 is longer than 1,048,576 bytes"):
        read_table(path)


def test_a_row_longer_than_the_bound_is_refused_naming_its_line(valid_csv: Path) -> None:
    lines = valid_csv.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(40, "x" * (MAX_LINE_BYTES + 1) + "\n")
    valid_csv.write_text("".join(lines), encoding="utf-8")
    for read in (lambda: read_table(valid_csv), lambda: list(read_chunks(valid_csv, 7))):
        with pytest.raises(UserError, match="line 41 is longer than"):
            read()


def test_a_header_with_more_columns_than_the_schema_allows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    allowed = max_columns()
    names = [*SCHEMA.column_names(), *(f"extra{i}" for i in range(EXTRA_COLUMNS + 1))]
    path.write_text(",".join(names) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=f"more than the {allowed:,} a table of this schema"):
        read_table(path)


def test_a_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    name = SCHEMA.feature_names()[0]
    path.write_text(f"{name},{name}\n1,2\n", encoding="utf-8")
    with pytest.raises(UserError, match=f"names the column '{name}' twice"):
        read_table(path)


def test_a_parquet_file_with_too_many_columns_is_refused_from_its_footer(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pd.DataFrame({f"c{i}": [1] for i in range(max_columns() + 1)}).to_parquet(path)
    for read in (lambda: read_table(path), lambda: list(read_chunks(path, 10))):
        with pytest.raises(UserError, match=f"{max_columns() + 1:,} columns, more than"):
            read()


def test_a_parquet_row_group_over_the_bound_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.parquet"
    synthetic_frame(500, seed=2).to_parquet(path)
    monkeypatch.setattr(tables, "MAX_ROW_GROUP_BYTES", 1_000)
    with pytest.raises(UserError, match=r"row group 0 holds .* rewrite it with smaller row groups"):
        list(read_chunks(path, 100))


@pytest.mark.parametrize("buffer", [1, 3, 4, 64])
def test_line_lengths_are_counted_across_the_blocks_a_parser_pulls(
    tmp_path: Path, buffer: int
) -> None:
    """Lines of at most the bound pass, whatever the block size; one byte more is refused."""
    path = tmp_path / "lines.csv"
    path.write_bytes(b"abcd\nab\n\nabcd\nabcde\nab")

    def read(limit: int) -> bytes:
        checked = tables._CheckedBytes(path.open("rb"), path, limit)
        with io.BufferedReader(checked, buffer_size=buffer) as handle:
            return handle.read()

    assert read(5) == path.read_bytes()
    with pytest.raises(UserError, match="line 5 is longer than 4 bytes"):
        read(4)


def test_chunks_number_their_rows_in_the_input_and_keep_the_text(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    path.write_text("a,b\n007,NA\n1.50,\n,x\n", encoding="utf-8")
    chunks = list(read_chunks(path, 2))
    assert [chunk.first_row for chunk in chunks] == [0, 2]
    assert [chunk.table.num_rows for chunk in chunks] == [2, 1]
    rows = [row for chunk in chunks for row in chunk.table.to_pylist()]
    assert rows == [{"a": "007", "b": "NA"}, {"a": "1.50", "b": ""}, {"a": "", "b": "x"}]


def test_a_header_only_file_gives_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b\n", encoding="utf-8")
    (chunk,) = read_chunks(path, 10)
    assert chunk.table.column_names == ["a", "b"]
    assert chunk.table.num_rows == 0


def test_header_names_are_kept_exactly_and_a_blank_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text(" a,b c,Unnamed: 2\n1,2,3\n", encoding="utf-8")
    (chunk,) = read_chunks(path, 10)
    assert chunk.table.column_names == [" a", "b c", "Unnamed: 2"]
    path.write_text("a,,c\n1,2,3\n", encoding="utf-8")
    for read in (lambda: read_table(path), lambda: list(read_chunks(path, 10))):
        with pytest.raises(UserError, match="the header's column 2 has no name") as refused:
            read()
        assert str(refused.value).startswith(f"{path}: ")
