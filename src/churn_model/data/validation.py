"""Validate a table against the schema, chunk by chunk, reporting every problem at once.

This module is *machinery*: each column's rules are derived from the project's schema
(:data:`churn_model.domain.schema.SCHEMA`), never written out a second time, so editing
the schema is all it takes to change them. Every reader of a table goes through the
same validator, one chunk at a time: ``validate``, ``train`` and ``calibrate`` (the
whole table, :func:`validate_file`), ``predict`` (chunk by chunk,
:class:`TableValidation`) and a frame already in memory (:func:`validate`).

A chunk is checked column by column with Arrow and NumPy kernels: each field's text is
read by the rule of :mod:`churn_model.data.parsing` (numbers, booleans, missing
values), then every rule of its column is checked on every value that could be read, so
one unreadable value never hides an out-of-range one beside it. What is found is kept
per column and rule as a count and a few offending rows
(:mod:`churn_model.data.problems`): memory holds one chunk, whatever the table's length
and however many cells are wrong. A table whose first :data:`HOPELESS_ROWS` rows all
have problems is not read further: its report comes at once.

Columns that the schema does not know are ignored and dropped from the result: real extracts often
carry extra columns, the pipeline selects its inputs by name, and a misspelt required column is
still reported, as missing, with the columns the schema does not declare named after it.
:func:`validate_file` names them for a valid file too (:class:`ValidTable`): what the schema
leaves out is said, never silent.
"""

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from churn_model.data.id_ledger import IdLedger
from churn_model.data.parsing import (
    Reading,
    read_booleans,
    read_numbers,
    read_text,
    shown,
)
from churn_model.data.problems import (
    EXAMPLES,
    NOT_NULLABLE,
    TYPE,
    UNIQUE,
    DataValidationError,
    Example,
    Problems,
)
from churn_model.data.tables import CHUNK_ROWS, check_whole, read_chunks
from churn_model.domain.schema import SCHEMA
from churn_model.table import Column, Label, Schema

__all__ = [
    "EXAMPLES",
    "DataValidationError",
    "TableValidation",
    "Typed",
    "ValidTable",
    "validate",
    "validate_file",
]

HOPELESS_ROWS = 100_000
"""A table whose first this many rows all have problems is not read further (one chunk)."""

Values = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class _Check:
    """A rule one value must meet: its name in the report, and where it fails."""

    name: str
    fails: Callable[[Values], Mask]


@dataclass(frozen=True, slots=True)
class _Target:
    """A column the schema checks: how its fields are read, its rules, its type once valid."""

    name: str
    kind: str
    """``int``, ``float``, ``bool``, ``category``, ``id``, or ``str`` (a text label)."""
    read: Callable[["pa.Array | pa.ChunkedArray"], Reading]
    checks: tuple[_Check, ...]
    allowed: tuple[object, ...] | None
    """The values a category or the label may take (checked on the values read), if any."""
    unreadable: str
    """The rule an unreadable value breaks: its type, or the rule that names the values."""
    nullable: bool
    required: bool
    dtype: str
    """The column's dtype in a validated frame: ``int64``, ``float64``, ``bool`` or ``str``."""
    blank: str = ""
    """What to do about a blank value the column refuses, said after the rows (if anything)."""


def _bound(name: str, value: float, fails: Callable[[Values, float], Mask]) -> _Check:
    return _Check(f"{name}({value})", lambda values: fails(values, value))


def _number_checks(column: Column) -> tuple[_Check, ...]:
    """A number column's rules: finite, whole (an int), then its bounds, as the schema orders."""
    checks = [_Check("finite", lambda values: ~np.isfinite(values))]
    if column.kind == "int":  # whole, and within int64 (beyond it a cast would wrap)
        checks.append(
            _Check(
                "whole_number",
                lambda v: np.isfinite(v) & ((v != np.floor(v)) | (np.abs(v) >= 2.0**63)),
            )
        )
    if column.ge is not None:
        checks.append(_bound("greater_than_or_equal_to", column.ge, lambda v, b: v < b))
    if column.gt is not None:
        checks.append(_bound("greater_than", column.gt, lambda v, b: v <= b))
    if column.le is not None:
        checks.append(_bound("less_than_or_equal_to", column.le, lambda v, b: v > b))
    return tuple(checks)


def _feature(column: Column, *, required: bool) -> _Target:
    """The target of one feature or id column."""
    kind, nullable = column.kind, column.nullable
    if kind in {"int", "float"}:
        dtype = "int64" if kind == "int" and not nullable else "float64"
        return _Target(
            column.name, kind, read_numbers, _number_checks(column), None, TYPE, nullable,
            required, dtype,
        )  # fmt: skip
    if kind == "bool":
        dtype = "float64" if nullable else "bool"  # a nullable boolean: 1.0, 0.0 or NaN
        return _Target(
            column.name, kind, read_booleans, (), None, "boolean", nullable, required, dtype
        )
    allowed = column.categories if kind == "category" else None
    return _Target(column.name, kind, read_text, (), allowed, TYPE, nullable, required, "str")


UNLABELLED = (
    "rows without a label cannot be trained on: remove them from the training file "
    "(`just predict` scores them)"
)
"""What a training table's blank labels are told to become."""


def _label(label: Label, *, required: bool) -> _Target:
    """The label's target: one of its two declared values, nothing else.

    Required (a training table), it is never missing. Not required (rows to score, whose
    outcome is not known yet), it may be blank in any row, and is typed as a nullable feature
    is: an integer or boolean label as float64 (NaN where blank), a text label as text.
    """
    allowed = (label.negative, label.positive)
    name = f"isin({list(allowed)!r})"
    reader = {"int": read_numbers, "bool": read_booleans, "str": read_text}[label.kind]
    unreadable = name if label.kind == "bool" else TYPE
    if required:
        dtype, blank = {"int": "int64", "bool": "bool", "str": "str"}[label.kind], UNLABELLED
    else:
        dtype, blank = ("str" if label.kind == "str" else "float64"), ""
    return _Target(
        name=label.name,
        kind=label.kind,
        read=reader,
        checks=(),
        allowed=allowed,
        unreadable=unreadable,
        nullable=not required,
        required=required,
        dtype=dtype,
        blank=blank,
    )


def _targets(schema: Schema, require_label: bool) -> tuple[_Target, ...]:
    """Every column the schema checks, in file order: the id, the features, the label."""
    first = [_feature(schema.id, required=require_label)] if schema.id is not None else []
    features = [_feature(column, required=True) for column in schema.features]
    return (*first, *features, _label(schema.label, required=require_label))


@dataclass(frozen=True, slots=True)
class Typed:
    """One valid chunk's checked columns, in schema order: numbers as float64, text as Arrow."""

    columns: dict[str, "Values | pa.Array"]
    dtypes: dict[str, str]

    def __len__(self) -> int:
        """The chunk's rows."""
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def frame(self) -> pd.DataFrame:
        """The chunk as a validated frame: each column in its dtype (int64, float64, bool, str)."""
        series = {}
        for name, values in self.columns.items():
            dtype = self.dtypes[name]
            if isinstance(values, np.ndarray):
                series[name] = pd.Series(values.astype(dtype, copy=False))
            else:
                series[name] = values.to_pandas()
        return pd.DataFrame(series)

    def arrays(self, names: list[str]) -> dict[str, npt.NDArray[np.generic]]:
        """The columns ``names`` as arrays for a compiled pipeline.

        Numbers and booleans as float64 (NaN where missing), text as an object array of Python
        strings (``None`` where missing).
        """
        arrays: dict[str, npt.NDArray[np.generic]] = {}
        for name in names:
            values = self.columns[name]
            if self.dtypes[name] != "str":
                arrays[name] = np.asarray(values, dtype=np.float64)
                continue
            # Through the dictionary: one Python string per distinct value, not one per row.
            encoded = pc.dictionary_encode(values)
            words = np.asarray([*encoded.dictionary.to_pylist(), None], dtype=object)
            codes = pc.fill_null(encoded.indices, len(encoded.dictionary))
            arrays[name] = words[codes.to_numpy(zero_copy_only=False)]
        return arrays


class TableValidation:
    """Validate a table chunk by chunk, reporting as if it had been validated in one piece.

    Each chunk (an Arrow table: the text of a CSV file, or typed columns) is checked against the
    schema; its problems are gathered with their rows numbered in the input; ids are checked
    unique across the whole table through an
    :class:`~churn_model.data.id_ledger.IdLedger`
    (spilling to ``scratch``, or in memory without it). With ``require_label`` (a training table)
    the id and the label are required, the label in every row, and the dataset rules (row count,
    class balance) apply; without it (batch-scoring input) the id and the label are checked only
    when present, and the label may be blank in any row (the rows one scores are those whose
    outcome is not known yet).
    """

    def __init__(
        self,
        source: str,
        *,
        schema: Schema = SCHEMA,
        require_label: bool = True,
        scratch: Path | None = None,
    ) -> None:
        """Validate table ``source``; ``scratch`` is an empty folder, which the caller removes."""
        self.source, self.schema, self.require_label = source, schema, require_label
        self.problems = Problems()
        self.rows = 0
        self._bad_rows = self._blank_rows = 0
        self._ledger = IdLedger(scratch)
        self._targets = _targets(schema, require_label)
        self._labels = dict.fromkeys((schema.label.negative, schema.label.positive), 0)
        self._names: list[str] | None = None
        self._stopped = False

    @property
    def hopeless(self) -> bool:
        """Whether the first :data:`HOPELESS_ROWS` rows (or more) all have problems.

        The caller then stops reading and says so (:meth:`stop`): the report will not change its
        verdict, and a file of millions of empty rows is answered in a second.
        """
        return self.rows >= HOPELESS_ROWS and self._bad_rows == self.rows

    @property
    def ignored(self) -> tuple[str, ...]:
        """The table's columns the schema does not declare, in file order (none before a chunk).

        They are left out of the typed columns; read from the first chunk's header.
        """
        declared = set(self.schema.column_names())
        return tuple(dict.fromkeys(name for name in self._names or () if name not in declared))

    def stop(self) -> None:
        """Note that the table was not read to its end (the report says so)."""
        self._stopped = True

    def _columns(self, names: list[str]) -> None:
        """Check the first chunk's columns: refuse another table, note the missing ones."""
        expected = self.schema.column_names() if self.require_label else self.schema.feature_names()
        if not set(names) & set(expected):
            header = ", ".join(repr(name) for name in names[:5]) or "nothing"
            raise DataValidationError(
                f"{self.source}: not a table of this schema: none of the expected columns "
                f"({', '.join(expected)}) is present; its header row holds {header}."
            )
        self.problems.missing = [
            target.name for target in self._targets if target.required and target.name not in names
        ]
        self._names = names
        self.problems.ignored = list(self.ignored)

    def chunk(self, table: "pa.Table", first_row: int) -> Typed | None:
        """Check one chunk starting at ``first_row`` (0-based); its typed columns, or None if bad.

        Returns None as soon as the table has a problem (in this chunk or an earlier one): what
        follows is only checked, for the report.

        Raises:
            DataValidationError: at once, if the first chunk has none of the schema's columns.
        """
        if self._names is None:
            self._columns([str(name) for name in table.column_names])
        rows = table.num_rows
        bad = np.zeros(rows, dtype=np.bool_)
        blank = np.ones(rows, dtype=np.bool_)
        columns: dict[str, Values | pa.Array] = {}
        for order, target in enumerate(self._targets):
            if target.name not in table.column_names:
                continue
            column = table.column(target.name)
            reading = target.read(column)
            bad |= self._check(target, order, column, reading, first_row)
            blank &= reading.missing
            columns[target.name] = reading.values
        self.rows += rows
        self._bad_rows += int(bad.sum())
        self._blank_rows += int(blank.sum()) if columns else 0
        if self.problems:
            return None
        return Typed(columns, {target.name: target.dtype for target in self._targets})

    def _check(
        self,
        target: _Target,
        order: int,
        column: "pa.Array | pa.ChunkedArray",
        reading: Reading,
        first_row: int,
    ) -> Mask:
        """Check one column of a chunk against its rules; the rows with a problem."""
        present = ~reading.missing & ~reading.unreadable
        failures: list[tuple[str, Mask, bool]] = []
        if not target.nullable:
            failures.append((NOT_NULLABLE, reading.missing, False))
        failures.append((target.unreadable, reading.unreadable, True))
        values = reading.values
        if target.checks:
            for check in target.checks:
                with np.errstate(invalid="ignore"):
                    failures.append((check.name, check.fails(values) & present, False))
        if target.allowed is not None:
            name = f"isin({list(target.allowed)!r})"
            if isinstance(values, np.ndarray):
                inside = np.isin(values, np.asarray(target.allowed, dtype=np.float64))
            else:
                known = pa.array([str(value) for value in target.allowed], pa.string())
                inside = np.asarray(
                    pc.fill_null(pc.is_in(values, value_set=known), False).to_numpy(
                        zero_copy_only=False
                    ),
                    dtype=np.bool_,
                )
            failures.append((name, ~inside & present, False))
            if target.name == self.schema.label.name:
                self._count_labels(values, inside & present)
        bad = np.zeros(len(present), dtype=np.bool_)
        for rule, where, as_written in failures:
            count = int(where.sum())
            if not count:
                continue
            bad |= where
            self._record(
                target,
                (order, rule),
                where,
                count=count,
                values=column if as_written else values,
                first_row=first_row,
            )
        if target.kind == "id":
            self._add_ids(values, present, first_row)
        return bad

    def _record(
        self,
        target: _Target,
        place: tuple[int, str],
        where: Mask,
        *,
        count: int,
        values: "Values | pa.Array | pa.ChunkedArray",
        first_row: int,
    ) -> None:
        """Count one rule's failures in a chunk, keeping the first rows while they are wanted.

        ``place`` is the column's place among the targets and the rule's name.
        """
        order, rule = place
        shows_value = rule != NOT_NULLABLE
        examples: list[Example] = []
        if self.problems.wants_examples(target.name, rule):
            rows = np.flatnonzero(where)[:EXAMPLES]
            if not shows_value:
                shown_values: list[object] = [None] * len(rows)
            elif isinstance(values, np.ndarray):
                shown_values = [float(value) for value in values[rows]]
            else:
                shown_values = shown(values, rows)
            examples = [
                (first_row + int(row), value) for row, value in zip(rows, shown_values, strict=True)
            ]
        rank = self._rank(target, rule)
        self.problems.record(
            target.name,
            rule,
            count,
            examples,
            order=(order, rank),
            kind=target.kind,
            advice=target.blank if rule == NOT_NULLABLE else "",
        )

    @staticmethod
    def _rank(target: _Target, rule: str) -> int:
        """Where a rule's line goes among its column's: missing, type, checks, values, unique."""
        names = [NOT_NULLABLE, target.unreadable, *(check.name for check in target.checks)]
        return names.index(rule) if rule in names else len(names) + (rule == UNIQUE)

    def _count_labels(self, values: "Values | pa.Array", valid: Mask) -> None:
        """Count the positive and negative labels (what the dataset rules judge)."""
        label = self.schema.label
        if isinstance(values, np.ndarray):
            chosen = values[valid]
            self._labels[label.positive] += int((chosen == float(label.positive)).sum())
            self._labels[label.negative] += int((chosen == float(label.negative)).sum())
            return
        text = values.filter(pa.array(valid))
        self._labels[label.positive] += int(
            pc.sum(pc.equal(text, str(label.positive))).as_py() or 0
        )
        self._labels[label.negative] += int(
            pc.sum(pc.equal(text, str(label.negative))).as_py() or 0
        )

    def _add_ids(self, values: "pa.Array", present: Mask, first_row: int) -> None:
        """Record the chunk's present ids in the ledger, with their rows in the table."""
        rows = np.flatnonzero(present)
        ids = values.filter(pa.array(present)).to_numpy(zero_copy_only=False)
        self._ledger.add(np.asarray(ids, dtype=object), (first_row + rows).astype(np.int64))

    def _dataset_rules(self) -> list[str]:
        """The lines of the dataset rules a training table breaks: rows, both classes, the rate."""
        schema, label = self.schema, self.schema.label
        lines = []
        if self.rows < schema.min_rows:
            plural = "s" if self.rows != 1 else ""
            needed = f"at least {schema.min_rows} are needed to train and evaluate"
            lines.append(f"min_rows({schema.min_rows}): {self.rows:,} row{plural}, {needed}")
        present = sorted((value for value, n in self._labels.items() if n), key=str)
        if len(present) != 2:
            lines.append(f"both_classes: label values present: {present or 'none'}")
        labelled = sum(self._labels.values())
        low, high = schema.positive_rate
        if labelled and not low <= self._labels[label.positive] / labelled <= high:
            rate = self._labels[label.positive] / labelled
            lines.append(
                f"positive_rate({low:g}-{high:g}): {rate:.3f} of rows are labelled "
                f"{label.positive!r}"
            )
        return [f"{label.name}: {line}" for line in lines]

    def finish(self, values_at: Callable[[list[int]], dict[int, object]]) -> None:
        """Check the ids across chunks and the dataset rules, then raise the report if bad.

        ``values_at`` gives the ids of a few rows (0-based), read again from the input: the
        ledger keeps hashes, and the report shows the repeated ids themselves.

        Raises:
            DataValidationError: listing every problem of every chunk (with one sentence alone
                when the table was not read to its end and its rows held no value at all).
        """
        stopped = self.rows if self._stopped else None
        if stopped is not None and self._blank_rows == self.rows:
            raise DataValidationError(
                f"{self.source}: the first {self.rows:,} rows are empty (no value in any of the "
                "schema's columns), so the rest of the file was not read."
            )
        id_column = self.schema.id
        if id_column is not None:
            repeats = self._ledger.repeats(EXAMPLES)
            if repeats.count:
                values = values_at(list(repeats.first_rows))
                examples: list[Example] = [(row, values.get(row)) for row in repeats.first_rows]
                order = (0, self._rank(self._targets[0], UNIQUE))
                self.problems.record(
                    id_column.name, UNIQUE, repeats.count, examples, order=order, kind="id"
                )
        if self.require_label and stopped is None:
            self.problems.dataset = self._dataset_rules()
        if self.problems:
            raise self.problems.error(self.source, stopped)


# ---------------------------------------------------------------- a frame, or a whole file


def _arrow_column(series: pd.Series) -> "pa.Array":
    """A frame's column as Arrow: its own type, or the text of each value when types mix."""
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        text = [None if _is_missing(value) else str(value) for value in series.tolist()]
        return pa.array(text, pa.string())


def _is_missing(value: object) -> bool:
    """Whether one value of a frame is a missing value (None, NaN, pandas' NA)."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def arrow_table(frame: pd.DataFrame, source: str) -> "pa.Table":
    """A frame as the Arrow table validation reads: one array per column, names as text.

    Raises:
        DataValidationError: two columns share a name (one of them would be read, silently).
    """
    names = [str(name) for name in frame.columns]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise DataValidationError(f"{source}: the column {twice!r} appears twice.")
    return pa.table(
        [_arrow_column(frame[name]) for name in frame.columns],
        names=names,
    )


def validate(
    frame: pd.DataFrame, source: str, *, require_label: bool = True, schema: Schema = SCHEMA
) -> pd.DataFrame:
    """Check a frame against the schema and return it typed, with columns in schema order.

    Args:
        frame: The table as read from a file or built in memory.
        source: Where the table came from (a path), named in the report.
        require_label: ``True`` for training data; ``False`` for batch-scoring input, where the
            label and the id are optional, the label may be blank in any row, and the
            dataset-wide rules (row count, class balance) do not apply.
        schema: The schema to check against (the project's by default).

    Returns:
        The validated frame: integers as ``int64``, booleans as ``bool``, identifiers and
        categories as strings, the label as its declared values (for batch-scoring input, an
        integer or boolean label as ``float64``, NaN where blank), a fresh 0-based index, unknown
        columns dropped, rows in input order.

    Raises:
        DataValidationError: listing every problem, one line per column and rule, with a few
            offending rows numbered from 1 (the first data row after the header).
    """
    frame = frame.reset_index(drop=True)
    validation = TableValidation(source, schema=schema, require_label=require_label)
    typed = validation.chunk(arrow_table(frame, source), 0)
    id_name = schema.id.name if schema.id is not None else None
    validation.finish(lambda rows: {row: frame[id_name].iloc[row] for row in rows})
    if typed is None:  # pragma: no cover -- finish() has raised the report
        raise validation.problems.error(source)
    return typed.frame()


def ids_at(path: Path, rows: list[int], schema: Schema = SCHEMA) -> dict[int, object]:
    """The ids of a few rows (0-based) of the file ``path``, read again (for a report)."""
    if schema.id is None or not rows:
        return {}
    wanted, found = sorted(rows), dict[int, object]()
    for chunk in read_chunks(path, CHUNK_ROWS, schema=schema):
        last = chunk.first_row + chunk.table.num_rows
        inside = [row for row in wanted if chunk.first_row <= row < last]
        if inside:
            offsets = np.asarray(inside) - chunk.first_row
            values = shown(chunk.table.column(schema.id.name), offsets)
            found.update(zip(inside, values, strict=True))
        if last > wanted[-1]:
            break
    return found


@dataclass(frozen=True, slots=True)
class ValidTable:
    """A file that passed validation: its table, typed, and the columns the schema ignored."""

    frame: pd.DataFrame
    """The validated table, as :func:`validate` returns it (only the schema's columns)."""
    ignored: tuple[str, ...]
    """The file's columns the schema does not declare, in file order: read, never used."""


def validate_file(path: Path, *, require_label: bool = True, schema: Schema = SCHEMA) -> ValidTable:
    """Read a CSV or Parquet file chunk by chunk through the validator; the whole table, typed.

    The table is held in memory (so the file is bounded as every whole-table read is), valid
    chunk after valid chunk; once a problem is found only the report grows, by a few rows per
    column and rule, and a table whose first rows all have problems is not read to its end. The
    file's columns the schema does not declare come with it, named (``ignored``), so that what was
    left out is said, never silent.

    Raises:
        UserError: the file is not a table within the bounds
            (:mod:`churn_model.data.tables`).
        DataValidationError: listing every problem, as :func:`validate` does.
    """
    check_whole(path, schema=schema)
    parts: list[pd.DataFrame] = []
    with tempfile.TemporaryDirectory(prefix="churn-model-ids-") as scratch:
        validation = TableValidation(
            str(path), schema=schema, require_label=require_label, scratch=Path(scratch)
        )
        for chunk in read_chunks(path, CHUNK_ROWS, schema=schema):
            typed = validation.chunk(chunk.table, chunk.first_row)
            if typed is None:
                parts.clear()
            else:
                parts.append(typed.frame())
            if validation.hopeless:
                validation.stop()
                break
        validation.finish(lambda rows: ids_at(path, rows, schema))
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return ValidTable(frame.reset_index(drop=True), validation.ignored)
