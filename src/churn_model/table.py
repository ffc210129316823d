"""The words a domain uses to describe its table: columns, the label, slices, dataset rules.

This module is *machinery*. ``churn_model.domain.schema`` builds one :class:`Schema`
out of these records; everything else (validation, the HTTP contract, synthetic data, evaluation
slices, the model card) reads that object and nothing else. A schema checks itself when it is built,
so a slice that names an unknown column or operator fails on import, with a message naming the
slice, before any data is read.

Slices are small structured records (a column, an operator, a value), never code or query strings:
they can be checked against the columns, and evaluating one cannot run anything.
"""

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_model.errors import UserError

ColumnKind = Literal["id", "int", "float", "bool", "category"]
"""How a column's values are typed: an identifier, a whole number, a number, a boolean, or one of
a fixed set of strings."""

SliceOp = Literal["is_missing", "eq", "in", "each", "lt", "le", "gt", "ge", "between"]
"""How a slice selects rows (see :class:`Slice`)."""

LabelValue = bool | int | str
"""A value of the label column: ``1``, ``"Yes"``, ``True``, ..."""

Threshold = int | float
SliceValue = (
    Threshold | str | bool | tuple[Threshold, Threshold] | tuple[Threshold | str | bool, ...] | None
)

_NUMERIC = frozenset({"int", "float"})
_COMPARISONS = frozenset({"lt", "le", "gt", "ge"})


class SchemaError(UserError):
    """The schema itself is inconsistent (an unknown column in a slice, bounds that cross, ...)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the table and the rules its values obey.

    Attributes:
        name: The column name, as in the file and in request bodies.
        kind: ``"id"`` (only for :attr:`Schema.id`), ``"int"``, ``"float"``, ``"bool"`` or
            ``"category"``. A boolean is ``true``/``false`` or the number ``1``/``0``, everywhere
            (files, batch scoring, HTTP); in a file the words may be in any case.
        description: What the column means (shown in the docs and the API's schema). For a
            nullable column, say what a missing value means.
        ge: Inclusive lower bound of a number, if any.
        gt: Exclusive lower bound of a number, if any.
        le: Inclusive upper bound of a number, if any.
        categories: The allowed values of a ``category`` column; for an ordered one, its levels
            from lowest to highest.
        nullable: Whether a value may be missing.
        ordered: Whether a ``category`` column's values are levels in the order of
            :attr:`categories` (``("Low", "Medium", "High")``): the pipeline can then encode a
            value by its rank instead of one indicator per value. Only for ``category`` columns.
    """

    name: str
    kind: ColumnKind
    description: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    categories: tuple[str, ...] = ()
    nullable: bool = False
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class Label:
    """The column the model predicts, and which of its two values is the positive class.

    Attributes:
        name: The column name.
        positive: The value the model scores the probability of (``1``, ``"Yes"``, ``True``).
        negative: The other value. Any third value is refused by validation, never guessed.
        description: What the label means.
    """

    name: str
    positive: LabelValue
    negative: LabelValue
    description: str

    @property
    def kind(self) -> Literal["bool", "int", "str"]:
        """How the label's values are typed, from the type of :attr:`positive`."""
        if isinstance(self.positive, bool):
            return "bool"
        return "int" if isinstance(self.positive, int) else "str"

    def encode(self, values: pd.Series) -> npt.NDArray[np.int64]:
        """Return 1 where ``values`` (validated label values) is the positive value, else 0."""
        return np.asarray(values == self.positive, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Slice:
    """A sub-population the evaluation measures and the gate can put floors on.

    Operators: ``is_missing`` (the value is missing), ``eq`` (equals ``value``), ``in`` (equals
    one of the values of the tuple ``value``: several small categories measured together),
    ``each`` (one slice per category, or per boolean value, named ``<name>=<value>``), ``lt``/
    ``le``/``gt``/``ge`` (compared with the number ``value``; a missing value is in none of them)
    and ``between`` (``value`` is ``(low, high)``, both inclusive).

    Attributes:
        name: The slice's name in metrics and in ``ci/gates.toml`` (``slices.<name>.recall``).
        column: The feature column it looks at.
        op: The operator.
        value: The operand (none for ``is_missing`` and ``each``).
    """

    name: str
    column: str
    op: SliceOp
    value: SliceValue = None


def _fail(what: str, message: str) -> SchemaError:
    return SchemaError(f"invalid schema: {what}: {message}")


def _check_column(column: Column) -> None:
    """Raise :class:`SchemaError` if one column's rules contradict each other."""
    what = f"column {column.name!r}"
    if column.kind not in get_args(ColumnKind):
        kinds = ", ".join(get_args(ColumnKind))
        raise _fail(what, f"unknown kind {column.kind!r}; use one of {kinds}")
    bounds = [b for b in (column.ge, column.gt, column.le) if b is not None]
    if bounds and column.kind not in _NUMERIC:
        raise _fail(what, f"bounds apply to numbers, not to a {column.kind} column")
    if column.ge is not None and column.gt is not None:
        raise _fail(what, "give one lower bound, ge or gt, not both")
    low = column.ge if column.ge is not None else column.gt
    if low is not None and column.le is not None and low > column.le:
        raise _fail(what, f"the lower bound {low:g} is above the upper bound {column.le:g}")
    if column.kind == "int" and low is not None and column.le is not None:
        first = np.floor(low) + 1 if column.gt is not None else np.ceil(low)
        if first > column.le:
            raise _fail(what, "no whole number lies within its bounds")
    if column.kind == "category":
        if not column.categories:
            raise _fail(what, "a category column needs its categories")
        if len(set(column.categories)) != len(column.categories):
            raise _fail(what, "a category is listed twice")
        if column.ordered and len(column.categories) < 2:
            raise _fail(what, "an ordered category needs at least two levels, lowest first")
    elif column.categories:
        raise _fail(what, f"categories apply to category columns, not to a {column.kind} column")
    elif column.ordered:
        raise _fail(what, f"ordered applies to category columns, not to a {column.kind} column")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _possible(value: object, column: Column) -> bool:
    """Whether ``value`` is a value ``column`` can hold (what ``eq`` and ``in`` compare with)."""
    return (
        (column.kind == "category" and value in column.categories)
        or (column.kind == "bool" and isinstance(value, bool))
        or (column.kind in _NUMERIC and _is_number(value))
    )


def _check_in(piece: Slice, column: Column) -> None:
    """Raise :class:`SchemaError` unless an ``in`` slice lists distinct values of its column."""
    what, values = f"slice {piece.name!r}", piece.value
    if not isinstance(values, tuple) or not values:
        raise _fail(what, f"in needs a tuple of values, got {values!r}")
    wrong = [value for value in values if not _possible(value, column)]
    if wrong:
        raise _fail(what, f"{wrong[0]!r} is not a possible value of {column.name!r}")
    if len(set(values)) != len(values):
        raise _fail(what, "a value is listed twice")


def _check_slice_value(piece: Slice, column: Column) -> None:
    """Raise :class:`SchemaError` unless ``piece.value`` suits its operator and column."""
    what = f"slice {piece.name!r}"
    if piece.op in {"is_missing", "each"}:
        if piece.value is not None:
            raise _fail(what, f"{piece.op} takes no value")
        if piece.op == "is_missing" and not column.nullable:
            raise _fail(what, f"column {column.name!r} is not nullable: no row is ever missing")
        if piece.op == "each" and column.kind not in {"category", "bool"}:
            raise _fail(what, "each applies to a category or bool column")
        return
    if piece.op == "eq":
        if not _possible(piece.value, column):
            raise _fail(what, f"{piece.value!r} is not a possible value of {column.name!r}")
        return
    if piece.op == "in":
        _check_in(piece, column)
        return
    if column.kind not in _NUMERIC:
        raise _fail(what, f"{piece.op} compares numbers; {column.name!r} is a {column.kind}")
    if piece.op in _COMPARISONS and not _is_number(piece.value):
        raise _fail(what, f"{piece.op} needs a number, got {piece.value!r}")
    if piece.op == "between":
        pair = piece.value if isinstance(piece.value, tuple) else ()
        numbers = [v for v in pair if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(pair) != 2 or len(numbers) != 2 or numbers[0] > numbers[1]:
            raise _fail(what, f"between needs (low, high) with low <= high, got {piece.value!r}")


@dataclass(frozen=True, slots=True)
class Schema:
    """The whole contract of the table: what one valid row is and what a valid dataset is.

    Attributes:
        features: The model's input columns, in the order the pipeline receives them.
        label: The column to predict.
        id: An identifier column, unique per row, if the table has one: it is checked, carried
            through batch scoring, and echoed by the HTTP API, but never a model input.
        slices: The sub-populations evaluated on their own (see :class:`Slice`).
        min_rows: Fewer training rows than this cannot train and evaluate a model worth gating.
        positive_rate: The share of positive labels a sane extract has; outside it, the extract
            or its labels are broken.
    """

    features: tuple[Column, ...]
    label: Label
    id: Column | None = None
    slices: tuple[Slice, ...] = ()
    min_rows: int = 500
    positive_rate: tuple[float, float] = (0.01, 0.99)

    def __post_init__(self) -> None:
        """Check the schema as a whole; raise :class:`SchemaError` naming what is wrong."""
        if not self.features:
            raise _fail("features", "at least one feature column is needed")
        names = [self.label.name, *(c.name for c in self.features)]
        names += [self.id.name] if self.id is not None else []
        for name in names:
            if not name or names.count(name) > 1:
                raise _fail(f"column {name!r}", "every column needs a distinct, non-empty name")
        for column in self.features:
            if column.kind == "id":
                raise _fail(f"column {column.name!r}", "an id column goes in Schema(id=...)")
            _check_column(column)
        if self.id is not None and (self.id.kind != "id" or self.id.nullable):
            raise _fail(f"column {self.id.name!r}", "the id column has kind 'id', never nullable")
        label = self.label
        if type(label.positive) is not type(label.negative) or label.positive == label.negative:
            raise _fail(
                f"label {label.name!r}", "positive and negative are two different values, one type"
            )
        low, high = self.positive_rate
        if not 0.0 <= low < high <= 1.0:
            raise _fail("positive_rate", f"needs 0 <= low < high <= 1, got {self.positive_rate}")
        if self.min_rows < 2:
            raise _fail("min_rows", "at least 2 rows are needed to hold some out")
        seen: set[str] = set()
        for piece in self.slices:
            for name in self._expand(piece):
                if name in seen:
                    raise _fail(f"slice {piece.name!r}", f"the name {name!r} is used twice")
                seen.add(name)

    def _expand(self, piece: Slice) -> list[str]:
        """Check one slice against the columns and return the names it measures."""
        what = f"slice {piece.name!r}"
        if not piece.name:
            raise _fail(what, "a slice needs a name")
        if piece.op not in get_args(SliceOp):
            ops = ", ".join(get_args(SliceOp))
            raise _fail(what, f"unknown operator {piece.op!r}; use one of {ops}")
        if piece.column not in self.feature_names():
            features = ", ".join(self.feature_names())
            raise _fail(what, f"unknown column {piece.column!r} (the features are: {features})")
        column = self.feature(piece.column)
        _check_slice_value(piece, column)
        if piece.op != "each":
            return [piece.name]
        return [_each_name(piece, value) for value in _each_values(column)]

    def feature_names(self) -> list[str]:
        """The model's input columns, in the order the pipeline expects them."""
        return [column.name for column in self.features]

    def feature(self, name: str) -> Column:
        """The feature column called ``name`` (``KeyError`` if there is none)."""
        for column in self.features:
            if column.name == name:
                return column
        raise KeyError(name)

    def column_names(self) -> list[str]:
        """Every column of a training table, in file order: the id (if any), features, label."""
        first = [self.id.name] if self.id is not None else []
        return [*first, *self.feature_names(), self.label.name]

    def slice_names(self) -> list[str]:
        """Every slice the evaluation measures, ``each`` slices expanded, in declared order."""
        return [name for piece in self.slices for name in self._expand(piece)]

    def slice_masks(self, frame: pd.DataFrame) -> dict[str, npt.NDArray[np.bool_]]:
        """Return each slice as a boolean mask over the rows of ``frame`` (which has the features).

        A missing value is in an ``is_missing`` slice only: every comparison with it is false.
        """
        return dict(_masks(self, frame))


def _each_values(column: Column) -> tuple[str | bool, ...]:
    """The values an ``each`` slice splits ``column`` by."""
    return column.categories if column.kind == "category" else (True, False)


def _each_name(piece: Slice, value: str | bool) -> str:
    """``<slice>=<value>``, a boolean spelt ``true``/``false`` as in the files."""
    return f"{piece.name}={str(value).lower() if isinstance(value, bool) else value}"


_COMPARE: dict[str, Callable[[pd.Series, Any], pd.Series]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _masks(schema: Schema, frame: pd.DataFrame) -> Iterator[tuple[str, npt.NDArray[np.bool_]]]:
    for piece in schema.slices:
        values = frame[piece.column]
        if piece.op == "each":
            for value in _each_values(schema.feature(piece.column)):
                yield _each_name(piece, value), (values == value).to_numpy(dtype=bool)
            continue
        if piece.op == "is_missing":
            mask = values.isna()
        elif piece.op == "in" and isinstance(piece.value, tuple):
            mask = values.isin(piece.value)
        elif piece.op == "between" and isinstance(piece.value, tuple):
            low, high = piece.value
            mask = (values >= low) & (values <= high)
        else:
            mask = _COMPARE[piece.op](values, piece.value)
        yield piece.name, np.asarray(mask, dtype=bool)
