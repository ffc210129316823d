"""Validate a table against the schema with pandera, reporting every problem at once.

This module is *machinery*: the pandera schema is derived from the project's schema
(:data:`churn_model.domain.schema.SCHEMA`), never written out a second time, so editing the schema
is all it takes to change the rules. Validation is lazy: one run collects every problem (missing
columns, wrong types, nulls, ranges, categories, duplicate ids, non-finite numbers, row count and
class balance) into one readable report, one line per column and rule, with a few offending rows.

Columns that the schema does not know are ignored and dropped from the result: real extracts often
carry extra columns, the pipeline selects its inputs by name, and a misspelt required column is
still reported, as missing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.spec import Column, Label, Schema

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
    return series.map(
        lambda value: (
            value if pd.isna(value) else BOOL_TOKENS.get(str(value).strip().lower(), value)
        )
    )


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


def _pandera_column(column: Column, *, required: bool) -> pa.Column:
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
        unique=column.kind == "id",
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
def build_schema(schema: Schema = SCHEMA, *, require_label: bool = True) -> pa.DataFrameSchema:
    """Derive the pandera schema from a :class:`~churn_model.spec.Schema` (the project's).

    With ``require_label=False`` (batch-scoring input) the label and the id may be absent and the
    dataset-wide rules (row count, class balance) are not checked.
    """
    checks = (
        [pa.Check(rule.passes, name=rule.name) for rule in _dataset_rules(schema)]
        if require_label
        else []
    )
    columns = {c.name: _pandera_column(c, required=True) for c in schema.features}
    if schema.id is not None:
        columns = {schema.id.name: _pandera_column(schema.id, required=require_label), **columns}
    columns[schema.label.name] = _label_column(schema.label, required=require_label)
    return pa.DataFrameSchema(columns, checks=checks, strict="filter", name="dataset")


def _show(value: object) -> str:
    """Render an offending value as in the file: ``-4`` rather than ``-4.0``, text quoted."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _examples(cases: pd.DataFrame, *, show_values: bool) -> str:
    """Render up to :data:`EXAMPLES` offending rows (1-based) with their values."""
    ordered = cases.assign(_row=pd.to_numeric(cases["index"], errors="coerce")).sort_values("_row")
    parts = []
    for row, value in zip(
        ordered["_row"].head(EXAMPLES), ordered["failure_case"].head(EXAMPLES), strict=True
    ):
        where = "row ?" if pd.isna(row) else f"row {int(row) + 1}"
        parts.append(f"{where} ({_show(value)})" if show_values else where)
    return ", ".join(parts) + (", ..." if len(cases) > EXAMPLES else "")


def _kinds(schema: Schema) -> dict[str, str]:
    """Each column's kind by name, the label's as ``label``-typed (``int``, ``str``, ``bool``)."""
    kinds = {c.name: c.kind for c in schema.features}
    if schema.id is not None:
        kinds[schema.id.name] = schema.id.kind
    return {**kinds, schema.label.name: schema.label.kind}


def _describe(failures: pd.DataFrame, frame: pd.DataFrame, schema: Schema) -> list[str]:
    """Turn pandera's failure cases into one readable line per column and rule."""
    lines: list[str] = []
    is_schema = failures["schema_context"] == "DataFrameSchema"
    schema_level = failures[is_schema]
    for _, case in schema_level[schema_level["check"] == "column_in_dataframe"].iterrows():
        lines.append(f"{case['failure_case']}: required: the column is missing")
    column_level = failures[~is_schema]
    kinds = _kinds(schema)
    order = {name: i for i, name in enumerate(schema.column_names())}
    for column, cases in sorted(
        column_level.groupby("column"), key=lambda g: order.get(str(g[0]), 0)
    ):
        checks = cases["check"].astype(str)
        coerce_failed = checks.str.startswith("coerce_dtype").any()
        for check, group in cases.groupby(checks, sort=False):
            if check.startswith("dtype(") or (coerce_failed and check.startswith("coerce_dtype")):
                continue
            if coerce_failed and check not in _TYPE_INDEPENDENT:
                continue
            rule = _RULE_NAMES.get(check, check)
            found = f"{len(group):,} row{'s' if len(group) != 1 else ''}"
            lines.append(
                f"{column}: {rule}: {found}, "
                f"e.g. {_examples(group, show_values=check != 'not_nullable')}"
            )
        if coerce_failed:
            kind = kinds.get(str(column), "value")
            bad = cases[checks.str.startswith("coerce_dtype")]
            lines.append(
                f"{column}: type {kind}: {len(bad):,} value{'s' if len(bad) != 1 else ''} "
                f"cannot be read as {_KIND_WORDS.get(kind, kind)}, "
                f"e.g. {_examples(bad, show_values=True)}"
            )
    failed_rules = set(schema_level["check"].astype(str))
    lines += [
        f"{schema.label.name}: {rule.name}: {rule.found(frame)}"
        for rule in _dataset_rules(schema)
        if rule.name in failed_rules
    ]
    return lines


def _casts(schema: Schema) -> dict[str, str]:
    """The dtypes a validated frame gets: whole numbers and booleans as such where never missing.

    A nullable boolean becomes a float (1.0, 0.0, NaN), as a nullable whole number stays one.
    """
    casts = {c.name: "int64" for c in schema.features if c.kind == "int" and not c.nullable}
    casts |= {c.name: "bool" for c in schema.features if c.kind == "bool" and not c.nullable}
    casts |= {c.name: "float64" for c in schema.features if c.kind == "bool" and c.nullable}
    label = schema.label
    return casts | {label.name: {"int": "int64", "bool": "bool", "str": "str"}[label.kind]}


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
    expected = schema.column_names() if require_label else schema.feature_names()
    if not frame.columns.isin(expected).any():
        header = ", ".join(repr(str(name)) for name in frame.columns[:5]) or "nothing"
        raise DataValidationError(
            f"{source}: not a table of this schema: none of the expected columns "
            f"({', '.join(expected)}) is present; its header row holds {header}."
        )
    try:
        valid = build_schema(schema, require_label=require_label).validate(frame, lazy=True)
    except SchemaErrors as errors:
        lines = _describe(errors.failure_cases, frame, schema) or [str(errors)]
        header = f"{source}: {len(lines)} problem{'s' if len(lines) != 1 else ''} found"
        raise DataValidationError(
            "\n".join([f"{header} (rows are numbered from 1, after the header):"])
            + "".join(f"\n  - {line}" for line in lines)
        ) from None
    names = [name for name in schema.column_names() if name in valid.columns]
    casts = _casts(schema)
    return valid[names].astype({k: v for k, v in casts.items() if k in names})
