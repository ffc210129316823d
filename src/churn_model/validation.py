"""Validate a table against the schema with pandera, reporting every problem at once.

This module is *machinery*: the pandera schema is derived from
:data:`churn_model.domain.schema.COLUMNS`, never written out a second time, so editing the schema is
all it takes to change the rules. Validation is lazy: one run collects every problem (missing
columns, wrong types, nulls, ranges, categories, duplicate ids, non-finite numbers, row count and
class balance) into one readable report, one line per column and rule, with a few offending rows.

Columns that the schema does not know are ignored and dropped from the result: real extracts often
carry extra columns, the pipeline selects its inputs by name, and a misspelt required column is
still reported, as missing.
"""

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from churn_model.domain.schema import COLUMNS, MIN_ROWS, POSITIVE_RATE_RANGE, TARGET, Column
from churn_model.errors import UserError

EXAMPLES = 5
"""How many offending rows each line of the report shows."""

_BOOL_TOKENS: dict[str, bool] = {"true": True, "false": False, "1": True, "0": False}
_BOOL_TOKENS |= {"1.0": True, "0.0": False}
_KIND_WORDS = {"int": "a number", "float": "a number", "label": "a 0/1 number"}
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
            value if pd.isna(value) else _BOOL_TOKENS.get(str(value).strip().lower(), value)
        )
    )


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
    if column.kind == "label":
        checks.append(pa.Check.isin([0, 1]))
    return checks


def _pandera_column(column: Column, *, require_label: bool) -> pa.Column:
    """Build the pandera column for one schema column.

    Integers and the label are checked as floats (then cast), so a value such as 2.5 is reported as
    not whole instead of being silently truncated by the cast; booleans are parsed from their usual
    spellings instead of cast, because casting any non-empty text to bool gives True.
    """
    dtype: Any = {"id": "str", "category": "str", "bool": None}.get(column.kind, "float64")
    return pa.Column(
        dtype,
        checks=_column_checks(column),
        parsers=[pa.Parser(_to_bool)] if column.kind == "bool" else None,
        nullable=column.nullable,
        unique=column.kind == "id",
        coerce=dtype is not None,
        required=require_label or column.kind != "label",
        description=column.description,
    )


def _labels(frame: pd.DataFrame) -> pd.Series:
    """Return the label column as numbers (non-numbers as NaN), or an empty series if absent."""
    if TARGET.name not in frame.columns:
        return pd.Series([], dtype="float64")
    return pd.to_numeric(frame[TARGET.name], errors="coerce").dropna()


def _positive_rate(frame: pd.DataFrame) -> float:
    """Share of rows labelled 1 (NaN when there are no labels)."""
    labels = _labels(frame)
    return float((labels == 1).mean()) if len(labels) else float("nan")


def _rate_ok(frame: pd.DataFrame) -> bool:
    """Whether the positive rate is sane; vacuously true without labels (reported elsewhere)."""
    rate = _positive_rate(frame)
    low, high = POSITIVE_RATE_RANGE
    return bool(np.isnan(rate) or low <= rate <= high)


# Dataset-wide rules: name -> (passes?, what was found). Checked only when labels are required.
_DATASET_RULES: dict[str, tuple[Callable[[pd.DataFrame], bool], Callable[[pd.DataFrame], str]]] = {
    f"min_rows({MIN_ROWS})": (
        lambda frame: len(frame) >= MIN_ROWS,
        lambda frame: (
            f"{len(frame):,} row{'s' if len(frame) != 1 else ''}, at least {MIN_ROWS} "
            "are needed to train and evaluate"
        ),
    ),
    "both_classes": (
        lambda frame: set(_labels(frame).unique()) >= {0, 1},
        lambda frame: (
            f"label values present: {sorted(int(v) for v in _labels(frame).unique()) or 'none'}"
        ),
    ),
    "positive_rate({:g}-{:g})".format(*POSITIVE_RATE_RANGE): (
        _rate_ok,
        lambda frame: f"{_positive_rate(frame):.3f} of rows are labelled 1",
    ),
}


@cache
def build_schema(*, require_label: bool = True) -> pa.DataFrameSchema:
    """Derive the pandera schema from :data:`churn_model.domain.schema.COLUMNS`.

    With ``require_label=False`` (batch-scoring input) the label may be absent and the
    dataset-wide rules (row count, class balance) are not checked.
    """
    checks = (
        [pa.Check(rule, name=name) for name, (rule, _) in _DATASET_RULES.items()]
        if require_label
        else []
    )
    return pa.DataFrameSchema(
        {c.name: _pandera_column(c, require_label=require_label) for c in COLUMNS},
        checks=checks,
        strict="filter",
        name="churn",
    )


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


def _describe(failures: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """Turn pandera's failure cases into one readable line per column and rule."""
    lines: list[str] = []
    is_schema = failures["schema_context"] == "DataFrameSchema"
    schema_level = failures[is_schema]
    for _, case in schema_level[schema_level["check"] == "column_in_dataframe"].iterrows():
        lines.append(f"{case['failure_case']}: required: the column is missing")
    column_level = failures[~is_schema]
    order = {c.name: i for i, c in enumerate(COLUMNS)}
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
            kind = next((c.kind for c in COLUMNS if c.name == str(column)), "value")
            bad = cases[checks.str.startswith("coerce_dtype")]
            lines.append(
                f"{column}: type {kind}: {len(bad):,} value{'s' if len(bad) != 1 else ''} "
                f"cannot be read as {_KIND_WORDS.get(kind, kind)}, "
                f"e.g. {_examples(bad, show_values=True)}"
            )
    failed_rules = set(schema_level["check"].astype(str))
    for name, (_, detail) in _DATASET_RULES.items():
        if name in failed_rules:
            lines.append(f"{TARGET.name}: {name}: {detail(frame)}")
    return lines


def validate(frame: pd.DataFrame, source: str, *, require_label: bool = True) -> pd.DataFrame:
    """Check ``frame`` against the schema and return it typed, with columns in schema order.

    Args:
        frame: The table as read from a file or a request.
        source: Where the table came from (a path), named in the report.
        require_label: ``True`` for training data; ``False`` for batch-scoring input, where the
            label is optional and the dataset-wide rules (row count, class balance) do not apply.

    Returns:
        The validated frame: integers as ``int64``, booleans as ``bool``, identifiers and
        categories as strings, a fresh 0-based index, unknown columns dropped.

    Raises:
        DataValidationError: listing every problem, one line per column and rule, with a few
            offending rows numbered from 1 (the first data row after the header).
    """
    frame = frame.reset_index(drop=True)
    expected = [c.name for c in COLUMNS if require_label or c.kind != "label"]
    if not frame.columns.isin(expected).any():
        header = ", ".join(repr(str(name)) for name in frame.columns[:5]) or "nothing"
        raise DataValidationError(
            f"{source}: not a customer table: none of the expected columns "
            f"({', '.join(expected)}) is present; its header row holds {header}."
        )
    try:
        valid = build_schema(require_label=require_label).validate(frame, lazy=True)
    except SchemaErrors as errors:
        lines = _describe(errors.failure_cases, frame) or [str(errors)]
        header = f"{source}: {len(lines)} problem{'s' if len(lines) != 1 else ''} found"
        raise DataValidationError(
            "\n".join([f"{header} (rows are numbered from 1, after the header):"])
            + "".join(f"\n  - {line}" for line in lines)
        ) from None
    names = [c.name for c in COLUMNS if c.name in valid.columns]
    casts = {c.name: "int64" for c in COLUMNS if c.kind in {"int", "label"} and not c.nullable}
    casts |= {c.name: "bool" for c in COLUMNS if c.kind == "bool" and not c.nullable}
    return valid[names].astype({k: v for k, v in casts.items() if k in names})
