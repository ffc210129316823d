"""Validate a table against the schema with pandera, reporting every problem at once.

This module is *machinery*: the pandera schema is derived from the project's schema
(:data:`churn_model.domain.schema.SCHEMA`), never written out a second time, so
editing the schema is all it takes to change the rules. Validation is lazy: one run collects every
problem (missing columns, wrong types, nulls, ranges, categories, duplicate ids, non-finite
numbers, row count and class balance) into one readable report, one line per column and rule, with
a few offending rows.

Columns that the schema does not know are ignored and dropped from the result: real extracts often
carry extra columns, the pipeline selects its inputs by name, and a misspelt required column is
still reported, as missing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from churn_model.data.id_ledger import IdLedger
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.table import Column, Label, Schema

EXAMPLES = 5
"""How many offending rows each line of the report shows."""

BOOL_TOKENS: dict[str, bool] = {"true": True, "false": False, "1": True, "0": False}
BOOL_TOKENS |= {"1.0": True, "0.0": False}
"""How a boolean may be written in a file (any case): true/false or the number 1/0. The HTTP API
accepts the same values as JSON: ``true``/``false`` or the numbers ``1``/``0``."""

_KIND_WORDS = {"int": "a number", "float": "a number"}
_RULE_NAMES = {"column_in_dataframe": "required", "field_uniqueness": "unique"}
# Rules that still make sense on a column whose values could not be converted to its type.
_TYPE_INDEPENDENT = {"not_nullable", "field_uniqueness"}


class DataValidationError(UserError):
    """The data breaks one or more rules of the schema; the message lists every problem."""


def _to_bool(series: pd.Series) -> pd.Series:
    """Map the spellings of a boolean (true/false, 1/0, any case) to bools; leave others as-is."""
    if pd.api.types.is_bool_dtype(series):
        return series
    # Vectorised (a chunked read gives every column as text, ten million values a run): the
    # spelling of each value, looked up; a value that is no spelling of a boolean stays as it is.
    present = series.notna()
    spelt = series.astype(str).str.strip().str.lower().map(BOOL_TOKENS)
    known = spelt.notna() & present
    return series.astype(object).where(~known, spelt.astype(object))


def _blank_as_missing(series: pd.Series) -> pd.Series:
    """Read a blank text field (``""``, ``" "``) in a number column as a missing value."""
    if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
        return series
    return series.mask(series.astype(str).str.strip() == "")


def _column_checks(column: Column) -> list[pa.Check]:
    """Translate one column's bounds and kind into pandera checks."""
    checks: list[pa.Check] = []
    if column.kind in {"int", "float"}:
        checks.append(pa.Check(np.isfinite, name="finite"))
    if column.kind == "int":
        checks.append(pa.Check(lambda s: s == np.floor(s), name="whole_number"))
    if column.ge is not None:
        checks.append(pa.Check.ge(column.ge))
    if column.gt is not None:
        checks.append(pa.Check.gt(column.gt))
    if column.le is not None:
        checks.append(pa.Check.le(column.le))
    if column.kind == "category":
        checks.append(pa.Check.isin(list(column.categories)))
    if column.kind == "bool":
        checks.append(pa.Check(lambda s: s.isin([True, False]), name="boolean"))
    return checks


def _pandera_column(column: Column, *, required: bool, unique: bool = True) -> pa.Column:
    """Build the pandera column for one feature or id column.

    Integers are checked as floats (then cast), so a value such as 2.5 is reported as not whole
    instead of being silently truncated by the cast; a blank field in a number column is a
    missing value; booleans are parsed from their usual spellings instead of cast, because casting
    any non-empty text to bool gives True.
    """
    dtype: Any = {"id": "str", "category": "str", "bool": None}.get(column.kind, "float64")
    parsers = {"bool": [pa.Parser(_to_bool)], "int": [pa.Parser(_blank_as_missing)]}
    parsers["float"] = parsers["int"]
    return pa.Column(
        dtype,
        checks=_column_checks(column),
        parsers=parsers.get(column.kind),
        nullable=column.nullable,
        unique=unique and column.kind == "id",
        coerce=dtype is not None,
        required=required,
        description=column.description,
    )


def _label_column(label: Label, *, required: bool) -> pa.Column:
    """Build the pandera column for the label: one of its two declared values, nothing else.

    A numeric label is checked as a float (``1.0`` is ``1``), a boolean label parsed like any
    boolean, a text label compared as text.
    """
    dtype: Any = {"int": "float64", "str": "str", "bool": None}[label.kind]
    return pa.Column(
        dtype,
        checks=[pa.Check.isin([label.negative, label.positive])],
        parsers=[pa.Parser(_to_bool)] if label.kind == "bool" else None,
        coerce=dtype is not None,
        required=required,
        description=label.description,
    )


def label_values(frame: pd.DataFrame, label: Label) -> pd.Series:
    """The label values of ``frame`` that are one of the two declared ones, typed like them.

    Empty when the column is absent; values that are neither are left out (the label's own check
    reports them), so the dataset rules judge only what could be read.
    """
    if label.name not in frame.columns:
        return pd.Series([], dtype=object)
    raw = frame[label.name].dropna()
    if label.kind == "int":
        values = pd.to_numeric(raw, errors="coerce")
    elif label.kind == "bool":
        values = _to_bool(raw)
    else:
        values = raw.astype(str)
    return values[values.isin([label.negative, label.positive])]


@dataclass(frozen=True, slots=True)
class _Rule:
    """A dataset-wide rule: its name in the report, the check, and what it found."""

    name: str
    passes: Callable[[pd.DataFrame], bool]
    found: Callable[[pd.DataFrame], str]


def _dataset_rules(schema: Schema) -> list[_Rule]:
    """The rules a training table must meet as a whole: enough rows, both classes, a sane rate."""
    label = schema.label

    def rate(frame: pd.DataFrame) -> float:
        values = label_values(frame, label)
        return float((values == label.positive).mean()) if len(values) else float("nan")

    def rate_ok(frame: pd.DataFrame) -> bool:
        low, high = schema.positive_rate
        found = rate(frame)
        return bool(np.isnan(found) or low <= found <= high)

    def present(frame: pd.DataFrame) -> str:
        values = sorted(label_values(frame, label).unique().tolist(), key=str)
        return f"label values present: {values or 'none'}"

    def rows(frame: pd.DataFrame) -> str:
        plural = "s" if len(frame) != 1 else ""
        needed = f"at least {schema.min_rows} are needed to train and evaluate"
        return f"{len(frame):,} row{plural}, {needed}"

    return [
        _Rule(f"min_rows({schema.min_rows})", lambda frame: len(frame) >= schema.min_rows, rows),
        _Rule(
            "both_classes",
            lambda frame: label_values(frame, label).nunique() == 2,
            present,
        ),
        _Rule(
            "positive_rate({:g}-{:g})".format(*schema.positive_rate),
            rate_ok,
            lambda frame: f"{rate(frame):.3f} of rows are labelled {label.positive!r}",
        ),
    ]


@cache
def build_schema(
    schema: Schema = SCHEMA, *, require_label: bool = True, unique_id: bool = True
) -> pa.DataFrameSchema:
    """Derive the pandera schema from a :class:`~churn_model.table.Schema`.

    ``schema`` is the project's unless a caller (a test, schema inference) passes another.
    With ``require_label=False`` (batch-scoring input) the label and the id may be absent and the
    dataset-wide rules (row count, class balance) are not checked. ``unique_id=False`` leaves
    the id's uniqueness to the caller (a chunked read checks it across chunks).
    """
    checks = (
        [pa.Check(rule.passes, name=rule.name) for rule in _dataset_rules(schema)]
        if require_label
        else []
    )
    columns = {c.name: _pandera_column(c, required=True) for c in schema.features}
    if schema.id is not None:
        id_column = _pandera_column(schema.id, required=require_label, unique=unique_id)
        columns = {schema.id.name: id_column, **columns}
    columns[schema.label.name] = _label_column(schema.label, required=require_label)
    return pa.DataFrameSchema(columns, checks=checks, strict="filter", name="dataset")


def _show(value: object) -> str:
    """Render an offending value as in the file: ``-4`` rather than ``-4.0``, text quoted."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _kinds(schema: Schema) -> dict[str, str]:
    """Each column's kind by name, the label's as ``label``-typed (``int``, ``str``, ``bool``)."""
    kinds = {c.name: c.kind for c in schema.features}
    if schema.id is not None:
        kinds[schema.id.name] = schema.id.kind
    return {**kinds, schema.label.name: schema.label.kind}


Example = tuple[int | None, object]
"""An offending row (0-based in the input, ``None`` when unknown) and its value."""


def _first(examples: list[Example]) -> list[Example]:
    """The first :data:`EXAMPLES` offending rows, in input order (unknown rows last)."""
    return sorted(examples, key=lambda e: (e[0] is None, e[0] or 0))[:EXAMPLES]


class Problems:
    """Every problem found in a table, gathered from one or many chunks, in bounded memory.

    Per column and rule it keeps the count and the first :data:`EXAMPLES` offending rows, so a
    table read in chunks is reported exactly as if it had been validated in one piece: the same
    lines, the same counts, the rows numbered in the input.
    """

    def __init__(self) -> None:
        """Start with no problem found."""
        self.missing: list[str] = []
        self.rules: set[str] = set()
        self.counts: dict[tuple[str, str], int] = {}
        self.examples: dict[tuple[str, str], list[Example]] = {}

    def __bool__(self) -> bool:
        """Whether any problem was found."""
        return bool(self.missing or self.rules or self.counts)

    def add(self, failures: pd.DataFrame) -> None:
        """Gather pandera's failure cases (indexed by input row) from one frame or chunk."""
        is_schema = failures["schema_context"] == "DataFrameSchema"
        for _, case in failures[is_schema].iterrows():
            if case["check"] == "column_in_dataframe":
                if case["failure_case"] not in self.missing:
                    self.missing.append(str(case["failure_case"]))
            else:
                self.rules.add(str(case["check"]))
        column_level = failures[~is_schema]
        rows = pd.to_numeric(column_level["index"], errors="coerce")
        groups: dict[tuple[str, str], list[Example]] = {}
        for column, check, row, value in zip(
            column_level["column"].astype(str),
            column_level["check"].astype(str),
            rows,
            column_level["failure_case"],
            strict=True,
        ):
            groups.setdefault((column, check), []).append(
                (None if pd.isna(row) else int(row), value)
            )
        for key, found in groups.items():
            self.record(key[0], key[1], len(found), found)

    def record(self, column: str, check: str, count: int, examples: list[Example]) -> None:
        """Count ``count`` more rows failing ``check`` on ``column``, with some examples."""
        key = (column, check)
        self.counts[key] = self.counts.get(key, 0) + count
        self.examples[key] = _first([*self.examples.get(key, []), *_first(examples)])

    def _line(self, column: str, rule: str, checks: list[str], *, show_values: bool) -> str:
        count = sum(self.counts[(column, check)] for check in checks)
        examples = _first([e for check in checks for e in self.examples[(column, check)]])
        parts = [
            ("row ?" if row is None else f"row {row + 1:,}")
            + (f" ({_show(value)})" if show_values else "")
            for row, value in examples
        ]
        more = ", ..." if count > EXAMPLES else ""
        return f"{column}: {rule}: {count:,} row{'s' if count != 1 else ''}, e.g. " + (
            ", ".join(parts) + more
        )

    def lines(self, schema: Schema, frame: pd.DataFrame | None = None) -> list[str]:
        """One readable line per column and rule; ``frame`` says what a dataset rule found."""
        lines = [f"{name}: required: the column is missing" for name in self.missing]
        kinds = _kinds(schema)
        order = {name: i for i, name in enumerate(schema.column_names())}
        by_column: dict[str, list[str]] = {}
        for column, check in self.counts:
            by_column.setdefault(column, []).append(check)
        for column in sorted(by_column, key=lambda name: order.get(name, 0)):
            checks = by_column[column]
            coerced = [check for check in checks if check.startswith("coerce_dtype")]
            for check in checks:
                if check.startswith(("dtype(", "coerce_dtype")):
                    continue
                if coerced and check not in _TYPE_INDEPENDENT:
                    continue
                rule = _RULE_NAMES.get(check, check)
                lines.append(self._line(column, rule, [check], show_values=check != "not_nullable"))
            if coerced:
                kind = kinds.get(column, "value")
                line = self._line(column, f"type {kind}", coerced, show_values=True)
                lines.append(
                    line.replace(" rows, e.g.", " values cannot be read as {}, e.g.", 1)
                    .replace(" row, e.g.", " value cannot be read as {}, e.g.", 1)
                    .format(_KIND_WORDS.get(kind, kind))
                )
        if frame is not None:
            lines += [
                f"{schema.label.name}: {rule.name}: {rule.found(frame)}"
                for rule in _dataset_rules(schema)
                if rule.name in self.rules
            ]
        return lines

    def error(self, source: str, schema: Schema, frame: pd.DataFrame | None = None) -> UserError:
        """The report of every problem, as one :class:`DataValidationError`."""
        lines = self.lines(schema, frame) or ["the data breaks the schema"]
        header = f"{source}: {len(lines)} problem{'s' if len(lines) != 1 else ''} found"
        return DataValidationError(
            f"{header} (rows are numbered from 1, after the header):"
            + "".join(f"\n  - {line}" for line in lines)
        )


def _check_columns(frame: pd.DataFrame, source: str, expected: list[str]) -> None:
    """Refuse a table that has none of the expected columns: it is some other table."""
    if not frame.columns.isin(expected).any():
        header = ", ".join(repr(str(name)) for name in frame.columns[:5]) or "nothing"
        raise DataValidationError(
            f"{source}: not a table of this schema: none of the expected columns "
            f"({', '.join(expected)}) is present; its header row holds {header}."
        )


def _casts(schema: Schema) -> dict[str, str]:
    """The dtypes a validated frame gets: whole numbers and booleans as such where never missing.

    A nullable boolean becomes a float (1.0, 0.0, NaN), as a nullable whole number stays one.
    """
    casts = {c.name: "int64" for c in schema.features if c.kind == "int" and not c.nullable}
    casts |= {c.name: "bool" for c in schema.features if c.kind == "bool" and not c.nullable}
    casts |= {c.name: "float64" for c in schema.features if c.kind == "bool" and c.nullable}
    label = schema.label
    return casts | {label.name: {"int": "int64", "bool": "bool", "str": "str"}[label.kind]}


def _typed(valid: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The validated frame with its final dtypes, columns in schema order, a 0-based index."""
    names = [name for name in schema.column_names() if name in valid.columns]
    casts = _casts(schema)
    typed = valid[names].astype({k: v for k, v in casts.items() if k in names})
    return typed.reset_index(drop=True)


def validate(
    frame: pd.DataFrame, source: str, *, require_label: bool = True, schema: Schema = SCHEMA
) -> pd.DataFrame:
    """Check ``frame`` against the schema and return it typed, with columns in schema order.

    Args:
        frame: The table as read from a file or a request.
        source: Where the table came from (a path), named in the report.
        require_label: ``True`` for training data; ``False`` for batch-scoring input, where the
            label and the id are optional and the dataset-wide rules (row count, class balance)
            do not apply.
        schema: The schema to check against (the project's by default).

    Returns:
        The validated frame: integers as ``int64``, booleans as ``bool``, identifiers and
        categories as strings, the label as its declared values, a fresh 0-based index, unknown
        columns dropped, rows in input order.

    Raises:
        DataValidationError: listing every problem, one line per column and rule, with a few
            offending rows numbered from 1 (the first data row after the header).
    """
    frame = frame.reset_index(drop=True)
    _check_columns(
        frame, source, schema.column_names() if require_label else schema.feature_names()
    )
    try:
        valid = build_schema(schema, require_label=require_label).validate(frame, lazy=True)
    except SchemaErrors as errors:
        problems = Problems()
        problems.add(errors.failure_cases)
        raise problems.error(source, schema, frame) from None
    return _typed(valid, schema)


class ChunkedValidation:
    """Validate a batch-scoring table chunk by chunk, reporting as :func:`validate` would.

    Each chunk is checked against the schema (without the label, as batch-scoring input), its
    problems gathered with their rows numbered in the input; ids are checked unique across the
    whole table through an :class:`~churn_model.data.id_ledger.IdLedger` spilling to
    ``scratch``. Memory holds one chunk and a few examples per rule, whatever the table's length.
    """

    def __init__(self, source: str, scratch: Path, schema: Schema = SCHEMA) -> None:
        """Validate table ``source``; ``scratch`` is an empty folder, which the caller removes."""
        self.source, self.schema = source, schema
        self.problems = Problems()
        self._ledger = IdLedger(scratch)
        self._pandera = build_schema(schema, require_label=False, unique_id=False)

    def chunk(self, frame: pd.DataFrame, first_row: int) -> pd.DataFrame | None:
        """Check one chunk starting at ``first_row`` (0-based); the typed chunk, or None if bad.

        Raises:
            DataValidationError: at once, if the chunk has none of the schema's columns.
        """
        _check_columns(frame, self.source, self.schema.feature_names())
        frame = frame.set_axis(pd.RangeIndex(first_row, first_row + len(frame)))
        id_column = self.schema.id.name if self.schema.id is not None else None
        if id_column is not None and id_column in frame.columns:
            self._ledger.add(frame[id_column], first_row)
        try:
            valid = self._pandera.validate(frame, lazy=True)
        except SchemaErrors as errors:
            self.problems.add(errors.failure_cases)
            return None
        return _typed(valid, self.schema)

    def finish(self, values_at: Callable[[list[int]], dict[int, object]]) -> None:
        """Check the ids across chunks, then raise the report if any chunk had a problem.

        ``values_at`` gives the ids of a few rows (0-based), read again from the input: the
        ledger keeps hashes, and the report shows the repeated ids themselves.

        Raises:
            DataValidationError: listing every problem of every chunk, as :func:`validate` does.
        """
        if self.schema.id is not None:
            repeats = self._ledger.repeats(EXAMPLES)
            if repeats.count:
                values = values_at(list(repeats.first_rows))
                examples: list[Example] = [(row, values.get(row)) for row in repeats.first_rows]
                self.problems.record(
                    self.schema.id.name, "field_uniqueness", repeats.count, examples
                )
        if self.problems:
            raise self.problems.error(self.source, self.schema)
