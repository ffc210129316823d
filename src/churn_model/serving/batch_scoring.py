"""``churn-model predict``: score a CSV/Parquet table of any length in constant memory.

The input is read chunk by chunk (:func:`churn_model.data.tables.read_chunks`), each
chunk validated against the schema like training data (without requiring the label), scored, and
appended to a temporary file beside the output, which is renamed into place only when the whole
table was valid and scored. So memory holds one chunk whatever the table's length, and a failed run
(invalid rows in any chunk, a repeated id anywhere, a full disk, an interrupt) leaves no partial
file and an existing output untouched.

Validation keeps the promise of the one-piece path: every problem of every chunk is reported at
once, rows numbered in the input, and a repeated id is found across chunk boundaries
(:class:`churn_model.data.validation.ChunkedValidation`). Once a chunk is invalid
nothing more is scored (the output will be discarded), but the rest is still validated, so the
report is complete.

The output is the input, every column in input order with its text (a CSV input's fields are
written back as read, a Parquet input's columns keep their types), plus ``<label>_probability``
(of the label's positive value) and ``<label>_predicted`` (the label's own value, spelt as a
training file spells it: ``1``/``0``, ``true``/``false``, ``Yes``/``No``; typed in Parquet). The
model reads the features only: every other column is carried through as read (a label column, if
the file has one, is still checked against its two values).
"""

import csv
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import numpy.typing as npt
import pandas as pd
from threadpoolctl import threadpool_limits

from churn_model.data.tables import check_path, read_chunks
from churn_model.data.validation import ChunkedValidation
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.files import atomic_path, disk_full, is_disk_full
from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.served_model import (
    ServedModel,
    load_served_model,
    score_frame,
)
from churn_model.table import LabelValue

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

OUTPUT_SUFFIXES = (".csv", ".parquet")

CHUNK_ROWS = 100_000
"""Rows read, validated and scored at a time: large enough that per-chunk costs vanish (about
1 % of the time), small enough that one chunk holds a few tens of MB (docs/batch-scoring.md)."""

THREADS = 1
"""Threads the model scores with. One: the trees' OpenMP team meets at a barrier once per tree and
chunk, and on a machine shared with other work a descheduled thread makes the others wait; on this
template's busy two-core machine one thread scored a million rows in 22 s, two in 41 s. On a
machine of your own, raise it (``--threads``), or score several files side by side."""


def _check_paths(input_path: Path, output_path: Path) -> None:
    """Refuse an output path that cannot be written, or that is the input itself.

    Everything about the output is checked here, before the model is loaded or a row scored: a
    folder that cannot take the file would otherwise show only when the scores are written.

    Raises:
        UserError: the output is a directory, of an unsupported type, in a missing or unwritable
            folder, or the input itself.
    """
    if output_path.is_dir():
        raise UserError(
            f"{output_path}: is a directory; name the file to write the scores to "
            f"({' or '.join(OUTPUT_SUFFIXES)})."
        )
    if output_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise UserError(
            f"{output_path}: unsupported output type {output_path.suffix!r} "
            f"(expected {' or '.join(OUTPUT_SUFFIXES)})"
        )
    if not output_path.parent.is_dir():
        raise UserError(f"{output_path.parent}: output folder does not exist")
    try:  # the scores and the id ledger's scratch files are written there
        with tempfile.TemporaryFile(dir=output_path.parent):
            pass
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(output_path) from None
        raise UserError(
            f"{output_path.parent}: cannot write the output in this folder "
            f"({error.strerror or error})."
        ) from None
    if output_path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet  # noqa: F401, PLC0415 -- only whether it is there (the train extra)
        except ImportError as error:
            raise UserError(f"{output_path}: cannot write Parquet ({error})") from None
    check_path(input_path)
    # The same file by another name (a symlink, a hard link, "./in.csv"): writing the output
    # would replace the input it is computed from.
    if input_path.resolve() == output_path.resolve() or (
        output_path.exists() and input_path.samefile(output_path)
    ):
        raise UserError(
            f"{output_path}: is the input file itself; write the scores to another file "
            "(the input is never overwritten)."
        )


class _Output:
    """The scored table, appended chunk by chunk to ``path`` as CSV or Parquet (by suffix)."""

    def __init__(self, path: Path, suffix: str) -> None:
        """Write to ``path`` (a temporary file) in the format of ``suffix``."""
        self._path, self._suffix = path, suffix
        self._text: TextIO | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(
        self,
        stored: "pd.DataFrame | pa.RecordBatch",
        probability: npt.NDArray[np.float64],
        positive: npt.NDArray[np.int64],
    ) -> None:
        """Append one chunk: its columns as stored in the input, then the two answer columns.

        ``positive`` is 1 where the label's positive value is predicted, else 0.
        """
        if self._suffix == ".csv":
            self._write_csv(stored, probability, positive)
        else:
            self._write_parquet(stored, probability, positive)

    def _write_csv(
        self,
        stored: "pd.DataFrame | pa.RecordBatch",
        probability: npt.NDArray[np.float64],
        positive: npt.NDArray[np.int64],
    ) -> None:
        if self._text is None:
            self._text = self._path.open("x", encoding="utf-8", newline="")
            header = [*_names(stored), *_answer_columns()]
            csv.writer(self._text, lineterminator="\n").writerow(header)
        if isinstance(stored, pd.DataFrame):
            lines = _csv_lines(stored, probability, positive)
            if lines is not None:
                self._text.flush()
                self._text.buffer.write(lines)
                return
            frame = stored
        else:
            # A Parquet batch keeps its types through Arrow-backed columns: a whole number
            # stays 27, not 27.0; a null is an empty field.
            frame = _arrow_frame(stored)
        label = SCHEMA.label
        predicted = np.where(positive == 1, spelt(label.positive), spelt(label.negative))
        added = dict(zip(_answer_columns(), (probability, predicted), strict=True))
        frame.assign(**added).to_csv(self._text, index=False, header=False, lineterminator="\n")

    def _write_parquet(
        self,
        stored: "pd.DataFrame | pa.RecordBatch",
        probability: npt.NDArray[np.float64],
        positive: npt.NDArray[np.int64],
    ) -> None:
        import pyarrow as pa  # noqa: PLC0415 -- the train extra (checked up front): CSV needs pandas
        import pyarrow.compute as pc  # noqa: PLC0415 -- as above
        import pyarrow.parquet as pq  # noqa: PLC0415 -- as above

        if isinstance(stored, pd.DataFrame):  # text: its pandas metadata describes the chunk
            table = pa.Table.from_pandas(stored, preserve_index=False).replace_schema_metadata()
        else:  # a Parquet batch keeps the file's metadata (pandas' dtypes, e.g. Int64)
            table = pa.Table.from_batches([stored])
        label = SCHEMA.label
        kind = {"bool": pa.bool_(), "int": pa.int64(), "str": pa.string()}[label.kind]
        predicted = pc.if_else(
            pa.array(positive == 1, pa.bool_()),
            pa.scalar(label.positive, kind),
            pa.scalar(label.negative, kind),
        )
        probability_column, predicted_column = _answer_columns()
        table = table.append_column(probability_column, pa.array(probability, pa.float64()))
        table = table.append_column(predicted_column, predicted)
        if self._parquet is None or self._schema is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(self._path, self._schema)
        self._parquet.write_table(table.cast(self._schema))

    def close(self) -> None:
        """Finish the file (the Parquet footer), flushed to disk; a table of no rows too."""
        if self._text is not None:
            self._text.flush()
            os.fsync(self._text.fileno())
            self._text.close()
        if self._parquet is not None:
            self._parquet.close()


def _answer_columns() -> tuple[str, str]:
    """The columns scoring adds, named after the label: its probability, its predicted value."""
    return probability_field(SCHEMA), predicted_field(SCHEMA)


def _names(stored: "pd.DataFrame | pa.RecordBatch") -> list[str]:
    """The column names of a chunk, in input order."""
    return [
        str(name)
        for name in (stored.columns if isinstance(stored, pd.DataFrame) else stored.schema.names)
    ]


def spelt(value: LabelValue) -> str:
    """A label value as a training file spells it: ``1``, ``Yes``, a boolean ``true``/``false``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


_NEEDS_QUOTES = '[",\r\n]'
"""A CSV field holding any of these is written quoted (a bare carriage return too: pandas'
reader would take it for the end of a line)."""


def _csv_lines(
    text: pd.DataFrame, probability: npt.NDArray[np.float64], positive: npt.NDArray[np.int64]
) -> bytes | None:
    """The rows of a CSV text chunk plus its answers, as CSV lines; None without pyarrow.

    Arrow's string kernels build the lines in C++, about twenty times faster than
    ``DataFrame.to_csv`` on text: at a million rows that is the difference between writing taking
    ~5 s and ~0.3 s. The text of every field is written back as read (quoted when it must be), the
    probability with the shortest text that reads back as the same number (as ``repr``), the
    predicted value as :func:`spelt` spells it (quoted when it must be).
    """
    try:
        import pyarrow as pa  # noqa: PLC0415 -- the train extra: without it, pandas writes
        import pyarrow.compute as pc  # noqa: PLC0415 -- as above
    except ImportError:
        return None

    def big(value: str) -> "pa.Scalar[pa.LargeStringType]":
        return pa.scalar(value, pa.large_string())

    def quoted(field: "pa.Array | pa.ChunkedArray") -> "pa.Array | pa.ChunkedArray":
        quote = pc.match_substring_regex(field, _NEEDS_QUOTES)
        if not pc.any(quote).as_py():
            return field
        escaped = pc.replace_substring(field, '"', '""')
        return pc.if_else(
            quote, pc.binary_join_element_wise(big('"'), escaped, big('"'), big("")), field
        )

    label = SCHEMA.label
    columns = [quoted(pa.array(text[name], type=pa.large_string())) for name in text.columns]
    columns.append(pa.array(probability.astype(str), type=pa.large_string()))
    columns.append(
        quoted(
            pc.if_else(
                pa.array(positive == 1, pa.bool_()),
                big(spelt(label.positive)),
                big(spelt(label.negative)),
            )
        )
    )
    joined = pc.binary_join_element_wise(
        pc.binary_join_element_wise(*columns, big(",")), big("\n"), big("")
    )
    lines = joined.cast(pa.large_string())
    if isinstance(lines, pa.ChunkedArray):  # text read in several blocks gives chunked columns
        lines = lines.combine_chunks()
    # A string array without nulls is its offsets and one buffer of every value back to back:
    # the slice from the first offset to the last is exactly the lines, in order.
    _, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    return bytes(memoryview(data)[int(bounds[0]) : int(bounds[-1])]) if len(lines) else b""


def _arrow_frame(batch: "pa.RecordBatch") -> pd.DataFrame:
    """A Parquet batch as a frame of Arrow-backed columns: types kept as the file has them."""
    frame: pd.DataFrame = batch.to_pandas(types_mapper=pd.ArrowDtype)
    return frame


def _ids_at(path: Path, rows: list[int], chunk_rows: int) -> dict[int, object]:
    """The ids of a few rows (0-based) of ``path``, read again chunk by chunk (for the report)."""
    if SCHEMA.id is None:
        return {}
    wanted, found = sorted(rows), {}
    for chunk in read_chunks(path, chunk_rows):
        last = chunk.first_row + len(chunk.values)
        for row in (row for row in wanted if chunk.first_row <= row < last):
            found[row] = chunk.values[SCHEMA.id.name].iloc[row - chunk.first_row]
        if wanted and last > wanted[-1]:
            break
    return found


def _refuse_clashes(input_path: Path, columns: pd.Index) -> None:
    """Refuse an input that already has a column the output adds (a scored file, perhaps)."""
    clashing = [name for name in _answer_columns() if name in columns]
    if clashing:
        raise UserError(
            f"{input_path}: already has the column {clashing[0]!r} that scoring adds (is it a "
            "scored file?); drop or rename it, the input's columns are kept as they are."
        )


def _score_chunks(
    input_path: Path,
    output: _Output,
    model: ServedModel,
    scratch: Path,
    *,
    chunk_rows: int,
    threads: int | None,
) -> int:
    """Validate every chunk, score and write the valid ones while all are; the rows scored."""
    validation = ChunkedValidation(str(input_path), scratch)
    scored = 0
    for chunk in read_chunks(input_path, chunk_rows):
        if chunk.first_row == 0:
            _refuse_clashes(input_path, chunk.values.columns)
        typed = validation.chunk(chunk.values, chunk.first_row)
        if typed is None or validation.problems:
            continue  # the output will be discarded: validate the rest, score nothing more
        if len(typed):
            with threadpool_limits(limits=threads):
                probability, positive = score_frame(model, typed)
        else:  # a header without rows: the output is that header, with the answer columns
            probability, positive = np.empty(0, np.float64), np.empty(0, np.int64)
        output.write(chunk.stored, probability, positive)
        scored += len(typed)
    validation.finish(lambda rows: _ids_at(input_path, rows, chunk_rows))
    return scored


def predict_file(
    input_path: Path,
    output_path: Path,
    model_dir: Path,
    *,
    chunk_rows: int = CHUNK_ROWS,
    threads: int | None = THREADS,
) -> int:
    """Score every row of a CSV/Parquet table and write it with the two answer columns added.

    Reads, validates, scores and writes ``chunk_rows`` rows at a time, so memory does
    not grow with the table; the output appears (atomically) only if every row was
    valid. It keeps every input column with its text, in input order, and gains
    ``<label>_probability`` and ``<label>_predicted``
    (:func:`churn_model.serving.answer_names.probability_field`). The model scores with
    ``threads`` threads (``None``: the libraries' default, every core). Returns the
    number of rows scored.

    Raises:
        UserError: an output path that cannot be written (a directory, an unsupported type, a
            missing or unwritable folder, the input itself), an unreadable or invalid input
            (every problem listed), an unusable model.
    """
    _check_paths(input_path, output_path)
    model = load_served_model(model_dir)
    with (
        # The id ledger's scratch files go beside the output, not to /tmp (a RAM disk on some
        # systems, which would make memory grow with the table after all): 24 bytes a row.
        tempfile.TemporaryDirectory(
            prefix=f".{output_path.name}.ids-", dir=output_path.parent
        ) as scratch,
        atomic_path(output_path) as temporary,
    ):
        output = _Output(temporary, output_path.suffix.lower())
        try:
            rows = _score_chunks(
                input_path, output, model, Path(scratch), chunk_rows=chunk_rows, threads=threads
            )
        finally:
            output.close()
    return rows
