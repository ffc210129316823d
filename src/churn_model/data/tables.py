"""Reading CSV and Parquet tables within bounds: whole, or chunk by chunk in constant memory.

This module is *machinery*. Every read of a table (training, ``validate``, ``infer-schema``,
batch scoring) goes through it, and every one is bounded *before* the bytes reach a parser, so a
hostile or broken file is refused in milliseconds with one sentence naming it, instead of
exhausting memory first:

- **line length**: no line of a CSV file may be longer than :data:`MAX_LINE_BYTES`; checked on
  every block the parser pulls, so a file of one endless line stops at the first block past it;
- **binary content**: a NUL byte anywhere (not only in the first kilobytes) means the file is not
  text: also checked on every block, so text followed by gigabytes of zeros stops at the zeros;
- **column count**: the header may name the schema's columns plus :data:`EXTRA_COLUMNS` others
  (an extract carries its own extra columns; a header of a million commas is no table); a Parquet
  file's column count comes from its footer, before any data is read;
- **size**: a whole-table read (training, validation) holds the table in memory, several times
  its size on disk, so it refuses files over :data:`MAX_TABLE_BYTES` (a Parquet file by the
  uncompressed size its footer declares); a chunked read holds one chunk at a time and takes files
  of any size, refusing only a Parquet row group over :data:`MAX_ROW_GROUP_BYTES` (it is decoded
  whole).

A chunked read (:func:`read_chunks`) yields each chunk twice: as the parser types it for
validation, and as stored, so batch scoring can write every input column back unchanged: a CSV
chunk as the text of its fields, a Parquet chunk as its Arrow record batch. pyarrow (the ``train``
extra) is imported only for Parquet files: CSV files need pandas alone, as in the serving image.
"""

import csv
import io
import warnings
from collections import Counter
from collections.abc import Buffer, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError, first_line
from churn_model.files import atomic_path
from churn_model.table import Schema

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

MAX_LINE_BYTES = 1 << 20
"""The longest line a CSV file may have (1 MiB): a row of any table this template trains on is a
few hundred bytes, so a longer line is a wrong file (or a field that belongs in another store)."""

EXTRA_COLUMNS = 1_000
"""How many columns beyond the schema's a file may carry (extracts bring their own extras)."""

MAX_TABLE_BYTES = 1 << 30
"""The largest file a whole-table read takes (1 GiB; in memory it becomes several times that). Batch
scoring (``churn-model predict``) streams and takes any size."""

MAX_ROW_GROUP_BYTES = 256 << 20
"""The largest uncompressed Parquet row group a chunked read takes (it decodes one at a time)."""

FLOAT_FORMAT = "%.15g"
"""Fifteen significant digits: every decimal with up to 15 digits round-trips exactly, and the
text is produced by C ``printf`` rules, so the bytes do not depend on pandas or numpy versions."""


def _is_boolean(values: pd.Series) -> bool:
    """Whether ``values`` are booleans: a bool column, or one of booleans and missing values."""
    if pd.api.types.is_bool_dtype(values):
        return True
    present = values.dropna()
    return (
        values.dtype == object
        and len(present) > 0
        and all(isinstance(v, bool | np.bool_) for v in present)
    )


def write_csv(frame: pd.DataFrame, path: Path, *, schema: Schema = SCHEMA) -> None:
    """Write ``frame`` as a CSV whose bytes depend only on its values, atomically.

    ``schema``'s columns come first, in its order (the project's schema by default), then any
    others; floats use :data:`FLOAT_FORMAT`,
    booleans ``true``/``false``, missing values an empty field, lines end with a bare line feed.
    The file is written beside ``path`` and renamed over it, so a crash never leaves a half-written
    file.
    """
    known = [name for name in schema.column_names() if name in frame.columns]
    ordered = frame[known + [c for c in frame.columns if c not in known]]
    text = ordered.assign(
        **{
            name: ordered[name].map({True: "true", False: "false"})  # a missing value stays one
            for name in ordered.columns
            if _is_boolean(ordered[name])
        }
    )
    with atomic_path(path) as temp, temp.open("x", encoding="utf-8", newline="") as out:
        text.to_csv(out, index=False, float_format=FLOAT_FORMAT, na_rep="", lineterminator="\n")


MISSING_TEXT = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
"""The texts a CSV field reads as a missing value: pandas' defaults, spelt out so that the chunked
reader, which keeps every field's text, reads them exactly as the whole-table reader does."""

_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "pipe"}
_NEWLINE = 10


def max_columns(schema: Schema = SCHEMA) -> int:
    """The most columns a table of ``schema`` may have: its own plus :data:`EXTRA_COLUMNS`."""
    return len(schema.column_names()) + EXTRA_COLUMNS


def text_columns(schema: Schema = SCHEMA) -> dict[str, str]:
    """Columns read as text whatever they look like (ids, categories, a text label): ``00123``."""
    names = [c.name for c in schema.features if c.kind == "category"]
    names += [schema.id.name] if schema.id is not None else []
    names += [schema.label.name] if schema.label.kind == "str" else []
    return dict.fromkeys(names, "str")


def check_path(path: Path) -> str:
    """Refuse a path that cannot be a table (missing, a folder, another type, empty); its suffix.

    Raises:
        UserError: one sentence naming the file.
    """
    if not path.exists():
        raise UserError(f"{path}: file not found.")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a CSV or Parquet file.")
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet"}:
        raise UserError(f"{path}: unsupported file type '{suffix}'; use a .csv or .parquet file.")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the file is empty (not even a header row).")
    return suffix


# ---------------------------------------------------------------- CSV: bytes checked as read


class _CheckedBytes(io.RawIOBase):
    """A binary file whose every block is checked, as the parser pulls it, before it is parsed.

    A NUL byte or a line longer than the bound raises :class:`UserError` at once, so a file is
    refused after reading at most one block past its first bad byte.
    """

    def __init__(self, raw: io.BufferedReader, path: Path, max_line: int) -> None:
        super().__init__()
        self._raw, self._path, self._max_line = raw, path, max_line
        self._offset = 0  # bytes checked so far
        self._line = 1  # the line the next byte belongs to
        self._line_bytes = 0  # bytes of that line seen so far

    def readable(self) -> bool:
        """This stream is read, never written."""
        return True

    def readinto(self, buffer: Buffer) -> int:
        """Fill ``buffer`` from the file, then check what was read."""
        count = self._raw.readinto(buffer)
        if count:
            self._check(bytes(memoryview(buffer)[:count]))
        return count

    def _check(self, block: bytes) -> None:
        nul = block.find(b"\0")
        if nul >= 0:
            raise UserError(
                f"{self._path}: binary content (a NUL byte at byte {self._offset + nul:,}), "
                "not a CSV text file."
            )
        ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == _NEWLINE)
        # Each line's length: the first ends at ends[0] after the bytes carried over, the next
        # ones between consecutive newlines; the bytes after the last newline carry over.
        starts = np.concatenate(([-1 - self._line_bytes], ends[:-1]))
        lengths = ends - starts - 1
        if lengths.size and int(lengths.max()) > self._max_line:
            self._too_long(self._line + int(lengths.argmax()))
        self._line += int(ends.size)
        self._line_bytes = (
            len(block) - 1 - int(ends[-1]) if ends.size else self._line_bytes + len(block)
        )
        if self._line_bytes > self._max_line:
            self._too_long(self._line)
        self._offset += len(block)

    def _too_long(self, line: int) -> None:
        raise UserError(
            f"{self._path}: line {line:,} is longer than {self._max_line:,} bytes, far longer "
            "than a row of a table; it is not a CSV file of this project's tables."
        )

    def close(self) -> None:
        """Close the underlying file too."""
        self._raw.close()
        super().close()


def _header(path: Path, max_line: int, schema: Schema) -> list[str]:
    """Read and check the header line (bounded): its length, encoding, columns and separator."""
    with path.open("rb") as handle:
        head = handle.read(max_line + 1)
    first = head.split(b"\n", 1)[0]
    if b"\r" in first[:max_line].rstrip(b"\r"):
        raise UserError(
            f"{path}: its lines end with a bare carriage return (old Mac line endings), which "
            "the CSV reader does not take; save it with LF or CRLF line endings."
        )
    if len(first) > max_line:
        raise UserError(
            f"{path}: line 1 is longer than {max_line:,} bytes, far longer than a header of a "
            "table; it is not a CSV file of this project's tables."
        )
    if b"\0" in first:
        raise UserError(f"{path}: binary content (a NUL byte in the header), not a CSV text file.")
    try:
        text = first.decode("utf-8").removeprefix("\ufeff").rstrip("\r")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file, so not a readable CSV file.") from None
    names = next(csv.reader([text]), [])
    allowed = max_columns(schema)
    if len(names) > allowed:
        raise UserError(
            f"{path}: the header has {len(names):,} columns, more than the {allowed:,} a table of "
            f"this schema may have ({len(schema.column_names())} of its own and "
            f"{EXTRA_COLUMNS:,} others)."
        )
    named = [name for name in names if name]
    twice = next((name for name in named if named.count(name) > 1), None)
    if twice is not None:
        raise UserError(f"{path}: the header names the column {twice!r} twice.")
    if len(names) == 1:
        for separator, name in _SEPARATORS.items():
            if separator in names[0]:
                raise UserError(
                    f"{path}: the header is one column '{names[0][:60]}', so the file looks "
                    f"{name}-separated; save it comma-separated."
                )
    return names


def _checked_csv(path: Path, max_line: int, schema: Schema) -> io.BufferedReader:
    """Check the header, then open the file for a parser, every block checked as it is read."""
    _header(path, max_line, schema)
    return io.BufferedReader(_CheckedBytes(path.open("rb"), path, max_line))


def _csv_error(path: Path, error: Exception) -> UserError:
    """The one sentence for a file pandas cannot parse as CSV."""
    if isinstance(error, UnicodeDecodeError):
        return UserError(f"{path}: not a UTF-8 text file, so not a readable CSV file.")
    return UserError(f"{path}: not a readable CSV file ({first_line(error)}).")


_CSV_ERRORS = (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError)


def read_csv(path: Path, *, as_text: bool = False, schema: Schema = SCHEMA) -> pd.DataFrame:
    """Read a whole CSV file within the bounds (see the module); ids and categories as text.

    ``as_text`` reads every column as text (nothing is lost to type guessing).
    """
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise _too_large(path, size)
    try:
        with _checked_csv(path, MAX_LINE_BYTES, schema) as handle, warnings.catch_warnings():
            # Mixed types in a column (numbers in some chunks, text in others) mean bad values,
            # which validation reports row by row; reading the whole file at once instead
            # (low_memory=False) is ~1.7 times slower at a million rows.
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return pd.read_csv(
                handle,
                dtype=str if as_text else text_columns(schema),
                encoding="utf-8",
                keep_default_na=False,
                na_values=sorted(MISSING_TEXT),
            )
    except _CSV_ERRORS as error:
        raise _csv_error(path, error) from None


def _too_large(path: Path, size: int) -> UserError:
    return UserError(
        f"{path}: {size / 2**20:,.0f} MiB, more than the {MAX_TABLE_BYTES / 2**20:,.0f} MiB a "
        "whole-table read holds in memory (batch scoring with `just predict` streams any size)."
    )


# ---------------------------------------------------------------- Parquet: bounded by the footer


def _parquet_file(path: Path, schema: Schema) -> "pq.ParquetFile":
    """Open a Parquet file and check its footer's column count before reading any data."""
    try:
        import pyarrow.parquet as pq  # noqa: PLC0415 -- the train extra: CSV needs pandas only
    except ImportError:
        raise UserError(
            f"{path}: reading Parquet needs pyarrow; install the 'train' extra "
            "(`uv sync --extra train`)."
        ) from None
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError) as error:
        raise _parquet_error(path, error) from None
    allowed = max_columns(schema)
    if parquet.metadata.num_columns > allowed:
        raise UserError(
            f"{path}: {parquet.metadata.num_columns:,} columns, more than the {allowed:,} a "
            f"table of this schema may have ({len(schema.column_names())} of its own and "
            f"{EXTRA_COLUMNS:,} others)."
        )
    counts = Counter(parquet.schema_arrow.names)
    twice = next((name for name, count in counts.items() if count > 1), None)
    if twice is not None:
        raise UserError(f"{path}: the file has the column {twice!r} twice.")
    return parquet


def _parquet_error(path: Path, error: Exception) -> UserError:
    return UserError(f"{path}: not a readable Parquet file ({first_line(error)}).")


# Columns pandas cannot rebuild from the file's pandas metadata (nested structs or lists, a type
# the metadata misstates) raise pyarrow's NotImplementedError or TypeError subclasses: those are a
# file this reader cannot take, too, not a bug.
_PARQUET_ERRORS = (OSError, ValueError, TypeError, NotImplementedError)


def read_parquet(path: Path, *, schema: Schema = SCHEMA) -> pd.DataFrame:
    """Read a whole Parquet file within the bounds: columns, and the uncompressed size declared."""
    parquet = _parquet_file(path, schema)
    metadata = parquet.metadata
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if size > MAX_TABLE_BYTES:
        raise _too_large(path, size)
    try:
        return pd.read_parquet(path)
    except _PARQUET_ERRORS as error:
        raise _parquet_error(path, error) from None


def read_whole(path: Path, *, as_text: bool = False, schema: Schema = SCHEMA) -> pd.DataFrame:
    """Read a CSV or Parquet file (chosen by suffix) into one frame, within the bounds."""
    if check_path(path) == ".csv":
        return read_csv(path, as_text=as_text, schema=schema)
    return read_parquet(path, schema=schema)


# ---------------------------------------------------------------- chunk by chunk


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of consecutive rows of a table, typed for validation and as stored."""

    first_row: int
    """The 0-based row of the table (after the header) where this chunk starts."""
    values: pd.DataFrame
    """The rows as a whole-table read types them (what validation takes)."""
    stored: "pd.DataFrame | pa.RecordBatch"
    """The rows as the file holds them: every field's text (CSV), or the Arrow batch (Parquet)."""


def read_chunks(path: Path, rows: int, *, schema: Schema = SCHEMA) -> Iterator[Chunk]:
    """Read a CSV or Parquet file chunk by chunk, ``rows`` rows at a time, within the bounds.

    Memory holds one chunk (and, for Parquet, one row group) whatever the file's size. A header
    only file yields one empty chunk, so its columns are still known.

    Raises:
        UserError: the file is not a table within the bounds, whenever that shows (a bad byte
            deep in a file is found when its chunk is read).
    """
    if rows < 1:
        raise ValueError(f"chunks need at least one row, not {rows}")
    if check_path(path) == ".csv":
        yield from _csv_chunks(path, rows, schema)
    else:
        yield from _parquet_chunks(path, rows, schema)


def _csv_chunks(path: Path, rows: int, schema: Schema) -> Iterator[Chunk]:
    first = 0
    try:
        with (
            _checked_csv(path, MAX_LINE_BYTES, schema) as handle,
            pd.read_csv(
                handle, chunksize=rows, dtype=str, na_filter=False, encoding="utf-8"
            ) as reader,
        ):
            for read in reader:
                text = read.set_axis(pd.RangeIndex(len(read)))
                missing = text.isin(MISSING_TEXT)
                values = text.mask(missing) if missing.to_numpy().any() else text
                yield Chunk(first_row=first, values=values, stored=text)
                first += len(text)
    except _CSV_ERRORS as error:
        raise _csv_error(path, error) from None


def _parquet_chunks(path: Path, rows: int, schema: Schema) -> Iterator[Chunk]:
    parquet = _parquet_file(path, schema)
    metadata = parquet.metadata
    for index in range(metadata.num_row_groups):
        size = metadata.row_group(index).total_byte_size
        if size > MAX_ROW_GROUP_BYTES:
            raise UserError(
                f"{path}: row group {index} holds {size / 2**20:,.0f} MiB uncompressed, more "
                f"than the {MAX_ROW_GROUP_BYTES / 2**20:,.0f} MiB read at a time; rewrite it "
                "with smaller row groups."
            )
    first = 0
    try:
        for batch in parquet.iter_batches(batch_size=rows):
            yield Chunk(first_row=first, values=batch.to_pandas(), stored=batch)
            first += batch.num_rows
        if first == 0:
            batch = _no_rows(parquet.schema_arrow)
            yield Chunk(first_row=0, values=batch.to_pandas(), stored=batch)
    except _PARQUET_ERRORS as error:
        raise _parquet_error(path, error) from None


def _no_rows(schema: "pa.Schema") -> "pa.RecordBatch":
    """An empty record batch of ``schema`` (a file of no rows still has its columns)."""
    import pyarrow as pa  # noqa: PLC0415 -- only Parquet files get here, see the module

    return pa.RecordBatch.from_pylist([], schema=schema)
