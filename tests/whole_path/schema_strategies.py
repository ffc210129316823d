"""Hypothesis strategies that draw whole schemas, and the tables the machinery is proven on.

:func:`drawn_tables` draws a :class:`~drawn_tables.DrawnTable`: a
:class:`~churn_model.table.Schema` (features of every kind with bounds, nullability
and categories; a label; an optional id; slices; dataset rules) and the seed and size of its
synthetic rows. It
reaches what real tables bring, each named in :data:`CORNERS` with the test that says whether a
table is in it: no boolean column, no numeric column, no category, only categories, a category of
200 values, a column missing in most rows, a slice of at most three rows (so at most three held-out
rows), two slices with identical rows, an id or none, labels as 0/1, true/false, Yes/No or
good/bad with the positive class the minority or the majority, column names with spaces, dashes
and capitals, 30 columns and more.

Category values and column names avoid what a file cannot carry as text: the spellings of a
missing value (``NA``, ``None``, ...), of a boolean (``true``, ``0``, ...) and of a number, which
a reader types before the schema is applied.
"""

from collections.abc import Callable
from itertools import combinations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from churn_model.table import (
    Column,
    ColumnKind,
    Label,
    LabelValue,
    Schema,
    Slice,
    SliceOp,
)

from drawn_tables import DrawnTable, as_written, rare_slice, table_frame

WORDS = (
    "tenure", "amount", "age", "balance", "region", "plan", "score", "visits", "income", "rate",
    "days", "status", "segment", "channel", "tier", "count", "ratio", "level", "group", "weight",
    "month", "total", "credit", "loan", "debt", "claims", "support", "email", "phone", "city",
    "gender", "education", "hours", "capital", "gain", "loss", "purpose", "housing", "job",
    "duration", "installment", "residence", "dependents", "checking", "savings", "employment",
)  # fmt: skip
"""Words column names are made of (none ends in ``id``, which drafting reads as an id)."""

CATEGORY_WORDS = (
    "north", "south", "East", "West", "month-to-month", "one year", "Two Year", "credit card",
    "bank transfer", "Electronic check", "mailed check", "basic", "Premium", "gold", "silver",
    "bronze", "café", "A", "B", "C", "low", "medium", "HIGH", "urban", "rural", "DSL",
    "Fiber optic", "self-employed", "private", "Gov", "married", "single", "unknown", "other",
    "St. Louis", "Dr.", "a/b", "50% off", "(none)",
)  # fmt: skip
"""Category values: spaces, dashes, capitals, an accent, dots and other signs; never a number, a
boolean or a spelling of a missing value."""

LABEL_VALUES: tuple[tuple[LabelValue, LabelValue], ...] = (
    (1, 0),
    (0, 1),
    (True, False),
    (False, True),
    ("Yes", "No"),
    ("No", "Yes"),
    ("good", "bad"),
    ("bad", "good"),
)
"""The label's (positive, negative) values: each pair both ways round."""

KIND_MIXES: dict[str, tuple[ColumnKind, ...]] = {
    "any": ("int", "float", "bool", "category"),
    "no bool": ("int", "float", "category"),
    "no numeric": ("bool", "category"),
    "no category": ("int", "float", "bool"),
    "only categories": ("category",),
}
"""The kinds a table's features are drawn from."""

MAX_FEATURES = 40
HUGE_CATEGORY = 200
MAX_EACH = 12
"""An ``each`` slice is drawn on a category of at most this many values (one slice per value)."""

_SEPARATORS = (" ", "-", "_", "")
_CASES = ("lower", "title", "upper", "camel")


def _styled(words: list[str], separator: str, case: str) -> str:
    if case == "title":
        words = [word.title() for word in words]
    elif case == "upper":
        words = [word.upper() for word in words]
    elif case == "camel":
        words = [words[0], *(word.title() for word in words[1:])]
    return separator.join(words)


NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(
        _styled([first, *([second] if second else [])], separator, case)
        for first in WORDS
        for second in ("", *WORDS)
        for separator in _SEPARATORS
        for case in _CASES
        if first != second
    )
)
"""Column names: one or two words, spaced, dashed, underscored or joined, in four cases."""

SIGNED_NAMES = ("No. of visits", "Amount (USD)", "Rate %", "Score/100")
"""Column names with the signs a spreadsheet's header has (none of them in :data:`NAMES`)."""


@st.composite
def column_names(draw: st.DrawFn, count: int) -> list[str]:
    """``count`` distinct column names (ignoring case), one of them maybe with signs."""
    names = draw(
        st.lists(
            st.sampled_from(NAMES), min_size=count, max_size=count, unique_by=lambda n: n.lower()
        )
    )
    if draw(st.booleans()):
        names[draw(st.integers(0, count - 1))] = draw(st.sampled_from(SIGNED_NAMES))
    return names


@st.composite
def category_values(draw: st.DrawFn, *, huge: bool) -> tuple[str, ...]:
    """A category's values: usually a few words, sometimes dozens, with ``huge`` 200."""
    if huge:
        prefix = draw(st.sampled_from(CATEGORY_WORDS))
        return tuple(f"{prefix} {index:03d}" for index in range(HUGE_CATEGORY))
    if draw(st.integers(0, 7)) == 7:
        prefix = draw(st.sampled_from(CATEGORY_WORDS))
        return tuple(f"{prefix}-{index}" for index in range(draw(st.integers(9, 60))))
    values = st.lists(st.sampled_from(CATEGORY_WORDS), min_size=1, max_size=8, unique=True)
    return tuple(draw(values))


@st.composite
def feature_columns(draw: st.DrawFn, name: str, kind: ColumnKind, *, huge: bool) -> Column:
    """One feature of ``kind``: bounds of every shape for numbers, categories, nullability."""
    description = f'What "{name}" holds.'
    nullable = draw(st.booleans())
    if kind == "bool":
        return Column(name, "bool", description, nullable=nullable)
    if kind == "category":
        values = draw(category_values(huge=huge))
        return Column(name, "category", description, categories=values, nullable=nullable)
    if kind == "int":
        low: float = draw(st.integers(-1_000, 1_000))
        span: float = draw(st.integers(1, 100_000))
    else:  # round bounds, as a person writes them
        low = draw(st.integers(-1_000_000, 1_000_000)) / 100
        span = draw(st.integers(1, 100_000_000)) / 100
    lower = draw(st.sampled_from(("ge", "gt", None)))
    upper = low + span if draw(st.booleans()) else None
    return Column(
        name,
        kind,
        description,
        ge=low if lower == "ge" else None,
        gt=low if lower == "gt" else None,
        le=upper,
        nullable=nullable,
    )


def _present(frame: pd.DataFrame, name: str) -> "np.ndarray":
    return np.asarray(frame[name].dropna(), dtype=np.float64)


@st.composite
def ordinary_slices(draw: st.DrawFn, schema: Schema, frame: pd.DataFrame, name: str) -> Slice:
    """One slice of any operator its drawn column allows, its value taken from the rows."""
    column = draw(st.sampled_from(schema.features))
    ops: list[SliceOp] = ["is_missing"] if column.nullable else []
    if column.kind == "bool":
        ops += ["each", "eq"]
    elif column.kind == "category":
        ops += ["eq", "each"] if len(column.categories) <= MAX_EACH else ["eq"]
    else:
        ops += ["eq", "lt", "le", "gt", "ge", "between"]
    op = draw(st.sampled_from(ops))
    if op in {"is_missing", "each"}:
        return Slice(name, column.name, op)
    if column.kind == "bool":
        return Slice(name, column.name, "eq", draw(st.booleans()))
    if column.kind == "category":
        return Slice(name, column.name, "eq", draw(st.sampled_from(column.categories)))
    present = _present(frame, column.name)
    if op == "eq":
        value = as_written(draw(st.sampled_from(present.tolist()))) if len(present) else 0.0
        return Slice(name, column.name, "eq", value)
    quantiles = sorted(draw(st.lists(st.integers(0, 100), min_size=2, max_size=2)))
    low, high = (
        round(float(np.quantile(present, q / 100)), 2) if len(present) else 0.0 for q in quantiles
    )
    if op == "between":
        return Slice(name, column.name, "between", (low, high))
    return Slice(name, column.name, op, high)


@st.composite
def slice_lists(draw: st.DrawFn, schema: Schema, frame: pd.DataFrame) -> tuple[Slice, ...]:
    """Up to four slices, maybe one holding at most three rows, maybe a second name for one."""
    pieces = [
        draw(ordinary_slices(schema, frame, f"slice {index}"))
        for index in range(draw(st.integers(0, 4)))
    ]
    numeric = [c.name for c in schema.features if c.kind in {"int", "float"}]
    rare = draw(st.booleans())
    if numeric and rare:
        column = draw(st.sampled_from(numeric))
        pieces.append(rare_slice(frame, "few rows", column, draw(st.integers(0, 3))))
    single = [piece for piece in pieces if piece.op != "each"]
    twins = draw(st.booleans())
    if single and twins:
        twin = draw(st.sampled_from(single))
        pieces.append(Slice(f"{twin.name} again", twin.column, twin.op, twin.value))
    return tuple(pieces)


@st.composite
def labels(draw: st.DrawFn, name: str) -> Label:
    """The label: 0/1, true/false or text, either value the positive one."""
    positive, negative = draw(st.sampled_from(LABEL_VALUES))
    return Label(name, positive, negative, f"Whether the row is {positive!r}.")


@st.composite
def drawn_tables(draw: st.DrawFn) -> DrawnTable:
    """A whole schema and the size and seed of its synthetic rows (see the module docstring)."""
    kinds = KIND_MIXES[draw(st.sampled_from(list(KIND_MIXES)))]
    count = draw(st.integers(1, MAX_FEATURES))
    names = draw(column_names(count + 2))
    features: list[Column] = []
    huge_left = True
    for name in names[:count]:
        kind = draw(st.sampled_from(kinds))
        huge = huge_left and kind == "category" and draw(st.integers(0, 15)) == 15
        huge_left = huge_left and not huge
        features.append(draw(feature_columns(name, kind, huge=huge)))
    identifier = None
    if draw(st.booleans()):
        identifier = Column(names[count + 1], "id", "The row's own identifier.")
    rate = draw(st.integers(10, 90)) / 100
    width = round(min(0.15, rate - 0.02, 0.98 - rate), 2)
    rows = draw(st.integers(300, 800))
    base = Schema(
        features=tuple(features),
        label=draw(labels(names[count])),
        id=identifier,
        min_rows=draw(st.integers(2, rows)),
        positive_rate=(round(rate - width, 2), round(rate + width, 2)),
    )
    seed = draw(st.integers(0, 2**32 - 1))
    nullable = [column.name for column in features if column.nullable]
    sparse: tuple[str, ...] = ()
    blank = draw(st.booleans())
    if nullable and blank:
        sparse = (draw(st.sampled_from(nullable)),)
    frame = table_frame(base, rows, seed, sparse)
    schema = Schema(
        features=base.features,
        label=base.label,
        id=base.id,
        slices=draw(slice_lists(base, frame)),
        min_rows=base.min_rows,
        positive_rate=base.positive_rate,
    )
    return DrawnTable(schema=schema, rows=rows, seed=seed, sparse=sparse)


# ---------------------------------------------------------------- the corners a table can be in


def _kinds(table: DrawnTable) -> set[str]:
    return {column.kind for column in table.schema.features}


def _names(table: DrawnTable) -> list[str]:
    return table.schema.column_names()


def _label_pair(table: DrawnTable) -> set[LabelValue]:
    label = table.schema.label
    return {label.positive, label.negative}


def _positive_share(table: DrawnTable) -> float:
    return sum(table.schema.positive_rate) / 2  # the synthetic rows' expected positive rate


def _masks(table: DrawnTable) -> dict[str, "np.ndarray"]:
    return table.schema.slice_masks(table.frame())


def _is_sparse(table: DrawnTable) -> bool:
    frame = table.frame()
    return any(frame[name].isna().mean() > 0.5 for name in table.schema.feature_names())


def _identical_slices(table: DrawnTable) -> bool:
    return any(np.array_equal(a, b) for a, b in combinations(_masks(table).values(), 2))


def _is_label(pair: set[LabelValue]) -> Callable[[DrawnTable], bool]:
    # Compared with their types: True == 1 in Python, but a true/false label is not a 0/1 label.
    def holds(table: DrawnTable) -> bool:
        found = _label_pair(table)
        return found == pair and {type(v) for v in found} == {type(v) for v in pair}

    return holds


CORNERS: dict[str, Callable[[DrawnTable], bool]] = {
    "no boolean column": lambda t: "bool" not in _kinds(t),
    "no numeric column": lambda t: not _kinds(t) & {"int", "float"},
    "no category column": lambda t: "category" not in _kinds(t),
    "only category columns": lambda t: _kinds(t) == {"category"},
    "a category of 200 values": lambda t: any(
        len(c.categories) >= HUGE_CATEGORY for c in t.schema.features
    ),
    "a column missing in most rows": _is_sparse,
    "a slice of at most 3 rows": lambda t: any(m.sum() <= 3 for m in _masks(t).values()),
    "two slices with identical rows": _identical_slices,
    "an id column": lambda t: t.schema.id is not None,
    "no id column": lambda t: t.schema.id is None,
    "a 0/1 label": _is_label({0, 1}),
    "a true/false label": _is_label({True, False}),
    "a Yes/No label": _is_label({"Yes", "No"}),
    "a good/bad label": _is_label({"good", "bad"}),
    "the positive class the minority": lambda t: _positive_share(t) < 0.5,
    "the positive class the majority": lambda t: _positive_share(t) > 0.5,
    "a column name with a space": lambda t: any(" " in name for name in _names(t)),
    "a column name with a dash": lambda t: any("-" in name for name in _names(t)),
    "a column name with a capital": lambda t: any(name != name.lower() for name in _names(t)),
    "30 columns or more": lambda t: len(_names(t)) >= 30,
}
"""Every corner the strategies must reach, with the test of whether a table is in it."""


def corners_of(table: DrawnTable) -> set[str]:
    """The corners ``table`` is in."""
    return {name for name, holds in CORNERS.items() if holds(table)}


# ---------------------------------------------------------------- tables written down


def _table(
    base: Schema,
    rows: int,
    seed: int,
    sparse: tuple[str, ...],
    slices: Callable[[pd.DataFrame], tuple[Slice, ...]],
) -> DrawnTable:
    """``base`` with the slices ``slices`` builds from its rows (so a rare slice is rare)."""
    frame = table_frame(base, rows, seed, sparse)
    schema = Schema(
        features=base.features,
        label=base.label,
        id=base.id,
        slices=slices(frame),
        min_rows=base.min_rows,
        positive_rate=base.positive_rate,
    )
    return DrawnTable(schema=schema, rows=rows, seed=seed, sparse=sparse)


def _numbers_only() -> DrawnTable:
    """30 columns, numbers only, names of every style, a sparse column, a slice of no row."""
    described = 'What the column holds ("as exported").'
    features = [
        Column("Days Since-Last Purchase", "float", described, ge=0, le=3_650, nullable=True),
        Column("monthly-charges", "float", described, gt=0, le=200.5),
        Column("TenureMonths", "int", described, ge=0, le=120),
        Column("No. of visits", "int", described, ge=0, le=50, nullable=True),
    ]
    for index in range(24):
        name = _styled([WORDS[index], WORDS[index + 10]], _SEPARATORS[index % 4], _CASES[index % 4])
        kind: ColumnKind = "int" if index % 2 else "float"
        features.append(Column(name, kind, described, ge=-50.0 * index, nullable=index % 5 == 0))
    base = Schema(
        features=tuple(features),
        label=Label("Left-Company", "Yes", "No", "Whether the customer left."),
        id=Column("Customer Id", "id", "The customer."),
        min_rows=300,
        positive_rate=(0.1, 0.4),
    )
    return _table(
        base,
        rows=400,
        seed=17,
        sparse=("Days Since-Last Purchase",),
        slices=lambda frame: (
            rare_slice(frame, "above every bill", "monthly-charges", 0),
            Slice("long tenure", "TenureMonths", "ge", 60),
            Slice("long tenure again", "TenureMonths", "gt", 59),
            Slice("never purchased", "Days Since-Last Purchase", "is_missing"),
            Slice("few visits", "No. of visits", "lt", 5),
        ),
    )


def _categories_only() -> DrawnTable:
    """Only categories (one of 200 values, one sparse), no id, good/bad (good the majority)."""
    features = (
        Column(
            "Postal Area",
            "category",
            "Where.",
            categories=tuple(f"area {i:03d}" for i in range(200)),
        ),
        Column("plan", "category", "The plan.", categories=("basic", "Premium", "gold")),
        Column("region", "category", "Where.", categories=("north", "St. Louis", "East", "Dr.")),
        Column("channel", "category", "How.", categories=("DSL", "Fiber optic"), nullable=True),
    )
    base = Schema(
        features=features,
        label=Label("outcome", "good", "bad", "Whether it went well."),
        min_rows=300,
        positive_rate=(0.55, 0.85),
    )
    return _table(
        base,
        rows=400,
        seed=5,
        sparse=("channel",),
        slices=lambda _: (
            Slice("region", "region", "each"),
            Slice("gold plan", "plan", "eq", "gold"),
            Slice("gold plan again", "plan", "eq", "gold"),
            Slice("no channel", "channel", "is_missing"),
        ),
    )


def _numbers_and_flags() -> DrawnTable:
    """Numbers and booleans, no category, no id, a true/false label (true the minority)."""
    features = (
        Column("amount", "float", "Amount.", gt=0, le=5_000),
        Column("visits", "int", "Visits.", ge=0, le=50, nullable=True),
        Column("member", "bool", "Member.", nullable=True),
        Column("has support", "bool", "Called support."),
    )
    base = Schema(
        features=features,
        label=Label("returned", True, False, "Whether it came back."),
        min_rows=300,
        positive_rate=(0.05, 0.35),
    )
    return _table(
        base,
        rows=400,
        seed=11,
        sparse=(),
        slices=lambda frame: (
            rare_slice(frame, "largest orders", "amount", 3),
            Slice("members", "member", "eq", True),
            Slice("support", "has support", "each"),
        ),
    )


def _flags_and_categories() -> DrawnTable:
    """Booleans and categories, no number, an id, a 0/1 label whose positive value is 0."""
    features = (
        Column("Has Support", "bool", "Called support."),
        Column("segment", "category", "Segment.", categories=("urban", "rural")),
        Column("paperless", "bool", "Paperless billing.", nullable=True),
    )
    base = Schema(
        features=features,
        label=Label("Paid Back", 0, 1, "0 if the loan was paid back."),
        id=Column("Loan", "id", "The loan."),
        min_rows=100,
        positive_rate=(0.55, 0.9),
    )
    return _table(
        base,
        rows=300,
        seed=23,
        sparse=(),
        slices=lambda _: (Slice("support", "Has Support", "each"),),
    )


EXAMPLES = {
    "numbers only": _numbers_only(),
    "categories only": _categories_only(),
    "numbers and flags": _numbers_and_flags(),
    "flags and categories": _flags_and_categories(),
}
"""Tables written down that, together, are in every corner of :data:`CORNERS`."""

FAST_EXAMPLES = ("numbers only", "categories only")
"""The ones ``just check`` runs end to end. Between them: no boolean, no number and no category
column (each leaves a step of the pipeline without input), a category of 200 values, 30 columns,
names of every style, an id and none, a slice of no row, two slices of the same rows, a column
missing in most rows. The slow set runs them all."""
