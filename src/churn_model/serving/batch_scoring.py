"""``churn-model predict``: score a CSV/Parquet table of any length in constant memory.

The input is read chunk by chunk (:func:`churn_model.data.tables.read_chunks`), each
chunk validated against the schema like training data (without requiring the label), scored, and
appended to a temporary file beside the output, which is renamed into place only when the whole
table was valid and scored. So memory holds one chunk whatever the table's length, and a failed run
(invalid rows in any chunk, a repeated id anywhere, a full disk, an interrupt) leaves no partial
file and an existing output untouched.

Validation keeps the promise of the one-piece path: every problem of every chunk is reported at
once, rows numbered in the input, and a repeated id is found across chunk boundaries
(:class:`churn_model.data.validation.TableValidation`). Once a chunk is invalid
nothing more is scored (the output will be discarded), but the rest is still validated, so the
report is complete.

The output is the input, every column in input order with its text (a CSV input's fields are
written back as read, a Parquet input's columns keep their types), plus ``<label>_probability``
(of the label's positive value) and ``<label>_predicted`` (the label's own value, spelt as a
training file spells it: ``1``/``0``, ``true``/``false``, ``Yes``/``No``; typed in Parquet). The
model reads the features only: every other column is carried through as read. A label column, if
the file has one, may be blank in any row (the rows one scores are those whose outcome is not known
yet), and stays blank; a label value present is still checked against the label's two values.
"""

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_model.data.tables import CHUNK_ROWS, check_table, read_chunks
from churn_model.data.validation import TableValidation, Typed, ids_at
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.files import atomic_path, disk_full, is_disk_full
from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.served_model import (
    CompiledModel,
    load_compiled_model,
    score_frame,
)
from churn_model.table import LabelValue
from churn_model.threads import limited

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

__all__ = ["CHUNK_ROWS", "THREADS", "predict_file", "spelt"]

OUTPUT_SUFFIXES = (".csv", ".parquet")

THREADS = 1
"""Threads the model scores with. One: the trees' OpenMP team meets at a barrier once per tree and
chunk, and on a machine shared with other work a descheduled thread makes the others wait; on this
template's busy two-core machine one thread scored a million rows in 22 s, two in 41 s. On a
machine of your own, raise it (``--threads``), or score several files side by side."""


def _check_paths(input_path: Path, output_path: Path) -> None:
    """Refuse an output path that cannot be written, or that is the input itself.

    Everything about the output (and the input's header or footer) is checked here, before the
    model is loaded or a row scored: a folder that cannot take the file would otherwise show only
    when the scores are written.

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
    check_table(input_path, schema=SCHEMA)
    # The same file by another name (a symlink, a hard link, "./in.csv"): writing the output
    # would replace the input it is computed from.
    if input_path.resolve() == output_path.resolve() or (
        output_path.exists() and input_path.samefile(output_path)
    ):
        raise UserError(
            f"{output_path}: is the input file itself; write the scores to another file "
            "(the input is never overwritten)."
        )


@dataclass(frozen=True, slots=True)
class _Scored:
    """One chunk as read, with its answers: what is appended to the output."""

    stored: "pa.Table"
    """The chunk's columns as stored in the input."""
    text: bool
    """Whether ``stored`` is a CSV file's text (else typed columns, from Parquet)."""
    probability: npt.NDArray[np.float64]
    positive: npt.NDArray[np.int64]
    """1 where the label's positive value is predicted, else 0."""


class _Output:
    """The scored table, appended chunk by chunk to ``path`` as CSV or Parquet (by suffix)."""

    def __init__(self, path: Path, suffix: str) -> None:
        """Write to ``path`` (a temporary file) in the format of ``suffix``."""
        self._path, self._suffix = path, suffix
        self._text: TextIO | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, chunk: _Scored) -> None:
        """Append one chunk: its columns as stored in the input, then the two answer columns."""
        if self._suffix == ".csv":
            self._write_csv(chunk)
        else:
            self._write_parquet(chunk)

    def _write_csv(self, chunk: _Scored) -> None:
        stored, probability, positive = chunk.stored, chunk.probability, chunk.positive
        if self._text is None:
            self._text = self._path.open("x", encoding="utf-8", newline="")
            header = [*stored.column_names, *_answer_columns()]
            csv.writer(self._text, lineterminator="\n").writerow(header)
        if chunk.text:
            self._text.flush()
            self._text.buffer.write(_csv_lines(stored, probability, positive))
            return
        # A Parquet chunk keeps its types through Arrow-backed columns: a whole number stays
        # 27, not 27.0; a null is an empty field.
        frame: pd.DataFrame = stored.to_pandas(types_mapper=pd.ArrowDtype)
        label = SCHEMA.label
        predicted = np.where(positive == 1, spelt(label.positive), spelt(label.negative))
        added = dict(zip(_answer_columns(), (probability, predicted), strict=True))
        frame.assign(**added).to_csv(self._text, index=False, header=False, lineterminator="\n")

    def _write_parquet(self, chunk: _Scored) -> None:
        import pyarrow as pa  # noqa: PLC0415 -- the train extra (checked up front)
        import pyarrow.compute as pc  # noqa: PLC0415 -- as above
        import pyarrow.parquet as pq  # noqa: PLC0415 -- as above

        # A CSV chunk's text is written as large strings; a Parquet chunk keeps the file's
        # metadata (pandas' dtypes, e.g. Int64).
        table = chunk.stored
        if chunk.text:
            table = table.cast(pa.schema([(n, pa.large_string()) for n in table.column_names]))
        label = SCHEMA.label
        kind = {"bool": pa.bool_(), "int": pa.int64(), "str": pa.string()}[label.kind]
        predicted = pc.if_else(
            pa.array(chunk.positive == 1, pa.bool_()),
            pa.scalar(label.positive, kind),
            pa.scalar(label.negative, kind),
        )
        probability_column, predicted_column = _answer_columns()
        table = table.append_column(probability_column, pa.array(chunk.probability, pa.float64()))
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


def spelt(value: LabelValue) -> str:
    """A label value as a training file spells it: ``1``, ``Yes``, a boolean ``true``/``false``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


_NEEDS_QUOTES = '[",\r\n]'
"""A CSV field holding any of these is written quoted (a bare carriage return too: pandas'
reader would take it for the end of a line)."""


def _csv_lines(
    text: "pa.Table", probability: npt.NDArray[np.float64], positive: npt.NDArray[np.int64]
) -> bytes:
    """The rows of a CSV text chunk plus its answers, as CSV lines.

    Arrow's string kernels build the lines in C++, about twenty times faster than
    ``DataFrame.to_csv`` on text: at a million rows that is the difference between writing taking
    ~5 s and ~0.3 s. The text of every field is written back as read (quoted when it must be), the
    probability with the shortest text that reads back as the same number (as ``repr``), the
    predicted value as :func:`spelt` spells it (quoted when it must be).
    """
    import pyarrow as pa  # noqa: PLC0415 -- the train extra (read_chunks checked it)
    import pyarrow.compute as pc  # noqa: PLC0415 -- as above

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
    columns = [quoted(pc.cast(column, pa.large_string())) for column in text.columns]
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


def _refuse_clashes(input_path: Path, columns: list[str]) -> None:
    """Refuse an input that already has a column the output adds (a scored file, perhaps)."""
    clashing = [name for name in _answer_columns() if name in columns]
    if clashing:
        raise UserError(
            f"{input_path}: already has the column {clashing[0]!r} that scoring adds (is it a "
            "scored file?); drop or rename it, the input's columns are kept as they are."
        )


def _score(
    model: CompiledModel, typed: Typed
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Score one valid chunk: through the compiled path when the model has one, else the pipeline.

    The compiled path (:mod:`churn_model.serving.fast_path`) gives the pipeline's
    probabilities bit for bit (it is kept only if it does, on probe rows) without
    pandas' per-column costs.
    """
    if not len(typed):  # a header without rows: the output is that header, with the answers
        return np.empty(0, np.float64), np.empty(0, np.int64)
    if model.compiled is None:
        return score_frame(model, typed.frame())
    probability = model.compiled.positive_probability(typed.arrays(SCHEMA.feature_names()))
    return probability, (probability >= model.card.threshold).astype(np.int64)


def _score_chunks(
    input_path: Path,
    output: _Output,
    model: CompiledModel,
    scratch: Path,
    *,
    chunk_rows: int,
    threads: int | None,
) -> int:
    """Validate every chunk, score and write the valid ones while all are; the rows scored.

    A table whose first rows all have problems is not read to its end (the report says so).
    """
    validation = TableValidation(
        str(input_path), schema=SCHEMA, require_label=False, scratch=scratch
    )
    text = input_path.suffix.lower() == ".csv"
    scored = 0
    for chunk in read_chunks(input_path, chunk_rows, schema=SCHEMA):
        if chunk.first_row == 0:
            _refuse_clashes(input_path, chunk.table.column_names)
        typed = validation.chunk(chunk.table, chunk.first_row)
        if validation.hopeless:
            validation.stop()
            break
        if typed is None or validation.problems:
            continue  # the output will be discarded: validate the rest, score nothing more
        with limited(threads):
            probability, positive = _score(model, typed)
        output.write(_Scored(chunk.table, text, probability, positive))
        scored += len(typed)
    validation.finish(lambda rows: ids_at(input_path, rows, SCHEMA))
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
    model = load_compiled_model(model_dir)
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
