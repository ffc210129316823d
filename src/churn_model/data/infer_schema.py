"""Drafting the domain's schema from a real extract: ``just infer-schema FILE``.

This module is *machinery*. It reads a CSV or Parquet extract, decides each column's kind (a whole
number, a number, a boolean, a category, an identifier), its bounds (what the extract holds, with a
margin; no upper one for a year, as the rows to score come later), its categories (in order, marked
``ordered``, when they are the levels of a scale it recognises) and whether it has missing values;
it picks the label and its positive value (given, or guessed and said so), an id column if one is
unique, and slices worth watching (each column's missing values, each category's values) that the
held-out split can measure: a slice whose estimated held-out rows or positives fall under the
minimum of ``ci/gates.toml`` is not drafted, a category's small values are measured together, and of
slices selecting the same rows one is kept (:func:`draft_slices`, which says in the notes what it
dropped or merged). Rows without a label value (still to be scored) are read for the features only:
the label, its positive rate, ``min_rows`` and the slices come from the labelled rows, the rows
training reads (a feature missing only in the others is asked about: training never sees it
missing). A feature that alone tells the label apart on them is asked about as a possible leak and
gets no slice (:mod:`~churn_model.data.label_leaks`). The result is a
:class:`~churn_model.table.Schema` (so the draft is checked like any schema)
rendered as the Python source of ``schema.py``, for a human to review: the draft never replaces
the domain's file by itself. Every guess is said twice: in the notes printed to the user, and as
a comment beside the drafted column.
"""

import math
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_model.config import SliceMinimum, load_slice_minimum, load_split_config
from churn_model.data.label_leaks import label_leaks
from churn_model.data.parsing import BOOL_TOKENS, NUMBER_PATTERN
from churn_model.data.pinning import read_table
from churn_model.errors import UserError
from churn_model.table import Column, Label, LabelValue, Schema, Slice

MAX_CATEGORIES = 100
"""By default, a text column with more distinct values than this is left out as free text, and
said (``--max-categories N`` keeps larger categories, such as a 200-value region code)."""

MIN_SCALE_LEVELS = 3
"""A column is drafted as an ordered scale only when it holds at least this many levels."""

MAX_SCALE_LEVELS = 12
"""A column with more distinct values is a code or a name, never taken for a scale (an 11-point
rating still is one)."""

MIN_HINTS = 2
"""A column is noted as maybe a scale when this many of its values suggest one (one is chance)."""

SCALES: tuple[tuple[str, ...], ...] = (
    ("very low", "low", "medium|med|moderate|mid|average", "high", "very high"),
    ("below college", "college", "bachelor", "master", "doctor"),
    ("primary", "secondary", "tertiary"),
    ("below average", "average", "above average"),
    ("very poor", "poor|bad", "fair|average|ok", "good", "very good", "excellent"),
    ("never", "rarely|seldom", "sometimes|occasionally", "often|frequently|usually", "always"),
    (
        "strongly disagree",
        "disagree",
        "somewhat disagree",
        "neutral|neither agree nor disagree",
        "somewhat agree",
        "agree",
        "strongly agree",
    ),
    ("very dissatisfied", "dissatisfied", "neutral", "satisfied", "very satisfied"),
    ("very unlikely", "unlikely", "neutral", "likely", "very likely"),
    ("extra small|xs", "small", "medium", "large", "extra large|xl"),
)
"""The scales recognised as ordered, each lowest level first; ``|`` separates spellings of one
level. Values match a level loosely: case, ``_``, ``-`` and spaces do not matter (``Very_High``,
``very-high`` and ``VeryHigh`` are ``very high``)."""

MARGIN = 0.1
"""Bounds are widened by this share of the observed range (never below 0 if nothing was)."""

YEAR_NAME = re.compile(r"(?i)year|(^|[\W_])yr([\W_]|$)")
"""A name that says "year": ``year``, ``model_year``, ``YearBuilt``, ``yr_built``."""
YEARS = (1800, 2100)
"""The whole numbers a column named like a year holds to be drafted as one."""
YEAR_BOUND = (
    "a year ({low} to {high}): no upper bound drafted, since the rows to score come later; add "
    "`le=` if there is one"
)

LINE_LENGTH = 100
"""The project's line length (ruff): a slice that fits stays on one line, as ruff formats it."""

_LABEL_HINTS = ("target", "label", "class", "outcome", "response")
"""Words a label's name often holds, whatever the table is about (no domain's own words)."""
_POSITIVE_WORDS = ("yes", "y", "true", "t", "positive", "pos")


@dataclass
class Inferred:
    """A drafted schema, what the extract looked like, and what was guessed (said to the user).

    ``remarks`` are the guesses about one column (or why it was left out), keyed by its name:
    the draft shows each as a comment beside the column.
    """

    schema: Schema
    rows: int
    notes: list[str] = field(default_factory=list)
    remarks: dict[str, str] = field(default_factory=dict)


def _text(values: pd.Series) -> pd.Series:
    """The non-missing values as stripped text (a blank field counts as missing)."""
    text = values.dropna().astype(str).str.strip()
    return text[text != ""]


def _is_bool(text: pd.Series) -> bool:
    return bool(len(text)) and bool(text.str.lower().isin(list(BOOL_TOKENS)).all())


def _numbers(text: pd.Series) -> pd.Series | None:
    """The values as numbers, or ``None`` if some value is not a number by the rule.

    The rule is validation's (:mod:`churn_model.data.parsing`): a column holding
    ``1_000`` is drafted as text, never as a number validation would then refuse.
    """
    if not text.str.fullmatch(NUMBER_PATTERN).all():
        return None
    numbers = pd.to_numeric(text, errors="coerce")
    if not len(text) or numbers.isna().any() or not np.isfinite(numbers).all():
        return None
    return numbers


def _step(span: float) -> float:
    """A round step to move bounds outward by: a tenth of the span's order of magnitude."""
    return 10.0 ** (math.floor(math.log10(span)) - 1) if span > 0 else 1.0


def _bounds(numbers: pd.Series, whole: bool) -> tuple[float, float]:
    """``(ge, le)``: the observed range widened by :data:`MARGIN`, rounded outward."""
    low, high = float(numbers.min()), float(numbers.max())
    span = high - low or max(abs(high), 1.0)
    step = max(_step(span), 1.0) if whole else _step(span)
    ge = round(math.floor((low - MARGIN * span) / step) * step, 10)
    le = round(math.ceil((high + MARGIN * span) / step) * step, 10)
    return (max(ge, 0.0) if low >= 0 else ge), le


def _words(value: str) -> str:
    """A value reduced for matching a scale's level: ``Very_High``, ``very-high``: ``very high``."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", value)  # VeryHigh: Very High
    return " ".join(word for word in re.split(r"[\s_-]+", spaced.lower()) if word)


def _ranks(scale: tuple[str, ...]) -> dict[str, int]:
    """Each spelling of a scale's levels, and the level's rank (0 for the lowest)."""
    return {spelling: rank for rank, level in enumerate(scale) for spelling in level.split("|")}


_RANKS = tuple(_ranks(scale) for scale in SCALES)
_MENTIONS = tuple(
    re.compile(r"\b(?:" + "|".join(re.escape(s) for s in sorted(ranks, key=len)[::-1]) + r")\b")
    for ranks in _RANKS
)
_NUMBERED = re.compile(r"\s*(\d+)\s*(?:[-.:)_]\s*|\s+)\S")  # "1 - Low", "2. Medium", "3) High"


def _scale_order(values: list[str]) -> tuple[list[str], str] | None:
    """``values`` in the order of a scale they form, and how it was recognised; else ``None``.

    Numbered levels (``"1 - Low"``, ``"2 - Medium"``) go by their numbers, which must differ;
    other values must each be a different level of one of :data:`SCALES`.
    """
    if not MIN_SCALE_LEVELS <= len(values) <= MAX_SCALE_LEVELS:
        return None
    numbers = [int(match.group(1)) for value in values if (match := _NUMBERED.match(value))]
    if len(numbers) == len(values) and len(set(numbers)) == len(values):
        by_number = dict(zip(values, numbers, strict=True))
        return sorted(values, key=by_number.__getitem__), "numbered levels, by their numbers"
    words = [_words(value) for value in values]
    for ranks in _RANKS:
        if all(w in ranks for w in words) and len({ranks[w] for w in words}) == len(values):
            by_rank = {value: ranks[w] for value, w in zip(values, words, strict=True)}
            return sorted(values, key=by_rank.__getitem__), "the levels of a known scale"
    return None


def _scale_like(values: list[str]) -> list[str]:
    """The values that suggest a scale not recognised as one: empty if fewer than two do.

    Those mentioning levels of one known scale (``Travel_Rarely``, ``Travel_Frequently``;
    ``primary``, ``secondary`` beside ``unknown``), else those starting with a number.
    """
    if len(values) > MAX_SCALE_LEVELS:
        return []
    for mentions in _MENTIONS:
        hits = [value for value in values if mentions.search(_words(value))]
        if len(hits) >= MIN_HINTS:
            return hits
    numbered = [value for value in values if _NUMBERED.match(value)]
    return numbered if len(numbered) >= MIN_HINTS else []


def _shown(values: list[str], separator: str, most: int = 6) -> str:
    """Up to ``most`` of ``values`` for a note (``Low < Medium < ... < Extreme``)."""
    shown = values if len(values) <= most else [*values[: most - 1], "...", values[-1]]
    return separator.join(shown)


@dataclass
class _Said:
    """Where the guesses about columns go: :attr:`Inferred.notes` and :attr:`Inferred.remarks`."""

    notes: list[str]
    remarks: dict[str, str]

    def guess(self, name: str, text: str) -> None:
        """Say ``text`` about column ``name`` in the notes, and beside the column in the draft."""
        self.notes.append(f"{name}: {text}")
        self.remarks[name] = f"{self.remarks[name]}; {text}" if name in self.remarks else text


def _category(name: str, distinct: list[str], missing: int, source: str, said: _Said) -> Column:
    """A category column: ordered when its values are a scale, said when they only look like one."""
    description = f"Describe it ({source}: {len(distinct)} values, "
    description += f"{missing:,} missing)." if missing else "never missing)."
    scale = _scale_order(distinct)
    if scale is not None:
        levels, how = scale
        said.guess(
            name,
            f"drafted as ordered, {_shown(levels, ' < ')} ({how}): check the order, or remove "
            "ordered=True to encode each value on its own",
        )
        categories, ordered = tuple(levels), True
    else:
        looks = _scale_like(distinct)
        if looks:
            said.guess(
                name,
                f"looks like a scale ({_shown(looks, ', ')}) but was drafted unordered: if its "
                "values are levels, list them lowest first and add ordered=True",
            )
        categories, ordered = tuple(distinct), False
    return Column(
        name,
        "category",
        description,
        categories=categories,
        nullable=bool(missing),
        ordered=ordered,
    )


def _column(
    name: str, values: pd.Series, source: str, said: _Said, max_categories: int
) -> Column | None:
    """The drafted column for ``values``, or ``None`` (said) when it cannot be a feature."""
    text = _text(values)
    markers = sorted(set(text.unique()) & MISSING_MARKERS)
    if markers:
        marked = text.isin(markers)
        rest = text[~marked]
        typed = not rest.empty and (_is_bool(rest) or _numbers(rest) is not None)
        said.guess(
            name,
            f"{_shown([repr(m) for m in markers], ', ')} in {int(marked.sum()):,} rows: a "
            "missing-value marker? A blank field is missing: write those fields blank in the "
            "extract"
            + (" (drafted as missing here)" if typed else ", or it stays a category value"),
        )
        if typed:
            text = rest
    missing = len(values) - len(text)
    seen = f"{missing:,} missing" if missing else "never missing"
    if text.empty:
        said.guess(name, "every value is missing; left out")
        return None
    if _is_bool(text):
        if not text.str.lower().isin(["true", "false"]).any():
            said.guess(name, "only 0 and 1 seen, drafted as a boolean (make it int if not)")
        return Column(name, "bool", f"Describe it ({source}: {seen}).", nullable=bool(missing))
    numbers = _numbers(text)
    if numbers is not None:
        whole = bool((numbers == np.floor(numbers)).all())
        ge, drafted_le = _bounds(numbers, whole)
        le: float | None = drafted_le
        low, high = (
            (f"{int(numbers.min())}", f"{int(numbers.max())}")  # 13454400, not 1.34544e+07
            if whole
            else (f"{numbers.min():g}", f"{numbers.max():g}")
        )
        observed = f"{low} to {high}, {seen}"
        if whole and YEAR_NAME.search(name) and numbers.between(*YEARS).all():
            le = None
            said.guess(name, YEAR_BOUND.format(low=low, high=high))
        return Column(
            name,
            "int" if whole else "float",
            f"Describe it ({source}: {observed}).",
            ge=ge,
            le=le,
            nullable=bool(missing),
        )
    if when := _dates_or_times(text):
        said.guess(
            name,
            f"{when} ({_shown(sorted(text.unique().tolist())[:3], ', ')}, ...): not a kind of "
            "column; left out (derive what the model should read from it, an hour of the day, a "
            "day of the week, days since an event, as a column of your extract)",
        )
        return None
    distinct = sorted(text.unique().tolist())
    if len(distinct) > max_categories:
        said.guess(
            name,
            f"{len(distinct):,} distinct values, more than the limit of {max_categories:,} "
            "categories: left out as free text (if it is a category, pass --max-categories "
            f"{len(distinct)} to keep it)",
        )
        return None
    return _category(name, distinct, missing, source, said)


MISSING_MARKERS = frozenset(
    {"?", "-", "--", "NA", "N/A", "n/a", "na", "NaN", "nan", "null", "NULL"}
)
"""Values real extracts write for "missing" (a blank field is what validation reads as missing)."""

_DATE = r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
_TIME = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?"
_WHEN = {
    "dates and times": re.compile(rf"{_DATE}[ T]{_TIME}(Z|[+-]\d{{2}}:?\d{{2}})?"),
    "dates": re.compile(_DATE),
    "times of day": re.compile(_TIME),
}
"""How a column of dates, of times of day, or of both is written (ISO, slashes, dots)."""


def _dates_or_times(text: pd.Series) -> str | None:
    """What every value of ``text`` is, when they are all dates, times of day or both."""
    return next((what for what, form in _WHEN.items() if text.str.fullmatch(form).all()), None)


def _guess_label(frame: pd.DataFrame, notes: list[str]) -> str:
    """The column with exactly two values, preferring a label-like name, else the last one."""
    two = [name for name in frame.columns if _text(frame[name]).nunique() == 2]
    if not two:
        raise UserError("no column has exactly two values to predict: pass --label NAME")
    hinted = [name for name in two if any(h in str(name).lower() for h in _LABEL_HINTS)]
    chosen = str((hinted or two)[-1])
    notes.append(f"label: guessed {chosen!r} (pass --label NAME to choose another)")
    return chosen


def _typed(text: str, values: list[str]) -> LabelValue:
    """One label value typed as the label's values are: a boolean, a whole number, or text."""
    lowered = [value.lower() for value in values]
    if all(value in BOOL_TOKENS for value in lowered) and set(lowered) & {"true", "false"}:
        return BOOL_TOKENS[text.lower()]
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    if numbers.notna().all() and (numbers == np.floor(numbers)).all():
        return int(float(text))
    return text


def _same(written: str, given: str) -> bool:
    """Whether a label value as written in the file is the value given on the command line."""
    if written == given:
        return True
    numbers = pd.to_numeric(pd.Series([written, given]), errors="coerce")
    return bool(numbers.notna().all() and numbers[0] == numbers[1])


def _label(
    frame: pd.DataFrame, name: str, positive: str | None, source: str, notes: list[str]
) -> Label:
    """The label column: its two values, which is positive (given, or guessed and said so).

    Read from the labelled rows; rows without a label value (still to be scored) are said.
    """
    text = _text(frame[name])
    if text.empty:
        raise UserError(f"label {name!r}: no row has a label value")
    unlabelled = len(frame) - len(text)
    if unlabelled:
        notes.append(
            f"label: {unlabelled:,} of {len(frame):,} rows have no {name!r} value: the label's "
            f"values, its positive rate, min_rows and the slices are drafted from the "
            f"{len(text):,} labelled rows, the features (kinds, bounds, missing values, "
            "categories) from every row. Training refuses rows without a label: put them in a "
            "file of their own and score them with `just predict`"
        )
    counts = text.value_counts()
    values = sorted(counts.index.tolist())
    if len(values) != 2:
        shown = ", ".join(repr(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
        raise UserError(
            f"label {name!r}: a label has two values, this one has {len(values)}: {shown}"
            + ("" if len(values) < 2 else _two_valued_advice(name, str(counts.idxmax())))
        )
    if positive is None:
        lowered = {value.lower(): value for value in values}
        words = [lowered[w] for w in _POSITIVE_WORDS if w in lowered]
        numeric = {v.lower() for v in values} <= {"0", "1", "0.0", "1.0"}
        chosen = (
            words[0]
            if words
            else next(v for v in values if v.startswith("1"))
            if numeric
            else str(counts.idxmin())
        )
        notes.append(f"label: positive value guessed as {chosen!r} (pass --positive to choose)")
    else:
        chosen = next((v for v in values if _same(v, positive)), "")
        if not chosen:  # `--positive yes` for Yes/No, `true` for True/False: one value, any case
            alike = [v for v in values if v.casefold() == positive.casefold()]
            chosen = alike[0] if len(alike) == 1 else ""
        if not chosen:
            raise UserError(
                f"--positive {positive!r}: label {name!r} holds {values[0]!r} and {values[1]!r}"
            )
    other = next(v for v in values if v != chosen)
    rate = f"{(text == chosen).mean():.1%}"
    seen = f"{rate} of {len(text):,} labelled rows" if unlabelled else f"{rate} of rows"
    return Label(
        name,
        positive=_typed(chosen, values),
        negative=_typed(other, values),
        description=f"Describe it ({source}: {seen} are {chosen!r}).",
    )


def _two_valued_advice(name: str, value: str) -> str:
    """How to train on a label of more values: one of them against the rest, in a new column."""
    column = re.sub(r"\W+", "_", f"{name}_is_{value}".lower()).strip("_")
    return (
        f"; add a column of two values to the extract, for example {column!r}: yes where "
        f"{name!r} is {value!r}, no elsewhere, and pass it as --label (and delete {name!r}'s "
        "Column from the draft: it restates the new label)"
    )


def _row_number(values: pd.Series) -> str | None:
    """How ``values`` count the rows (``1 to 344``), if they do; else ``None``.

    Whole numbers, one per row, with no gap: a row number, as a spreadsheet's export or a data
    frame's index writes one.
    """
    if len(values) < 2 or values.isna().any():
        return None
    numbers = _numbers(_text(values))
    if numbers is None or not numbers.is_unique or not (numbers % 1 == 0).all():
        return None
    first, last = int(numbers.min()), int(numbers.max())
    return f"{first} to {last}" if last - first == len(values) - 1 else None


ID_NAME = re.compile(r"(?i:(^|[\W_])id)$|[a-z0-9](Id|ID)$")
"""A name that says "id": ``id``, ``sample_id``, ``Record ID``, ``customerID`` (not ``paid``)."""


def _repeats(values: pd.Series) -> str | None:
    """How ``values`` fail to identify rows (``54 values repeat, e.g. '1017023'``), or ``None``."""
    text = _stripped(values)
    repeated = text[text.duplicated(keep=False) & text.notna()]
    missing = int(text.isna().sum())
    found = []
    if not repeated.empty:
        found.append(f"{repeated.nunique():,} values repeat, e.g. {repeated.iloc[0]!r}")
    if missing:
        found.append(f"{missing:,} rows have none")
    return " and ".join(found) or None


def _guess_id(frame: pd.DataFrame, exclude: str, notes: list[str]) -> str | None:
    """A column unique in every row (text, numbers named like an id, or a row number), if any."""
    for name in frame.columns:
        values = frame[name]
        if name == exclude or values.isna().any() or not values.is_unique or len(values) < 2:
            continue
        if _dates_or_times(_text(values)):
            continue  # a timestamp unique in this extract is no identity of the row
        numeric = _numbers(_text(values)) is not None
        # A row number is the id only when some other column is left to be a feature.
        counted = _row_number(values) if numeric and len(frame.columns) > 2 else None
        if not numeric or str(name).lower().endswith("id") or counted:
            why = f"numbered {counted}, a row number" if counted else "unique in every row"
            notes.append(f"id: guessed {str(name)!r}, {why} (pass --id to choose)")
            return str(name)
    return None


ROW_NUMBER = (
    "numbered {counted}, one per row: a row number? A model learns the file's order from it "
    "(the rows' dates, their source); delete this Column unless the number means something"
)
"""What a feature that counts the rows is told, when the id is another column."""


def _rate_range(rate: float) -> tuple[float, float]:
    """A sane positive-rate range around the extract's: half of it to halfway towards 1."""
    low = math.floor(rate / 2 * 100) / 100
    high = math.ceil((1 + rate) / 2 * 100) / 100
    return low, min(high, 1.0)


# ---------------------------------------------------------------- slices the split can measure


@dataclass(frozen=True)
class _Candidate:
    """A slice that may be drafted, the rows it selects, and what to say if it is."""

    piece: Slice
    mask: npt.NDArray[np.bool_]
    kept_note: str | None = None


def _stripped(values: pd.Series) -> pd.Series:
    """Every value as stripped text, as :func:`_text` reads it, missing ones kept missing."""
    return values.astype(str).str.strip().where(values.notna())


def _other_name(column: Column) -> str:
    """The name of the slice of a category's small values: ``<column>=other``, unless taken."""
    word = "other"
    while word in column.categories:
        word = f"({word})"
    return f"{column.name}={word}"


def _category_candidates(
    column: Column,
    values: pd.Series,
    measurable: Callable[[npt.NDArray[np.bool_]], str | None],
    notes: list[str],
) -> list[_Candidate]:
    """A slice per value the split can measure, and one of the others together, if it can."""
    text = _stripped(values)
    found: list[_Candidate] = []
    small: list[str] = []
    for value in column.categories:
        mask = np.asarray(text == value, dtype=bool)
        if measurable(mask) is None:
            found.append(
                _Candidate(Slice(f"{column.name}={value}", column.name, "eq", value), mask)
            )
        else:
            small.append(value)
    if not small:
        return found
    if len(small) == 1:
        mask = np.asarray(text == small[0], dtype=bool)
        notes.append(f"slice '{column.name}={small[0]}' not drafted: about {measurable(mask)}")
        return found
    name = _other_name(column)
    mask = np.asarray(text.isin(small), dtype=bool)
    listed = ", ".join(small)
    under = measurable(mask)
    if under is not None:
        notes.append(f"slice {name!r} ({listed}) not drafted: about {under}")
        return found
    if mask.all():
        notes.append(
            f"slice {name!r} ({listed}) not drafted: each value alone is under the minimum, and "
            "together they select every row"
        )
        return found
    said = f"slice {name!r}: {listed} measured together (each alone is under the minimum)"
    return [*found, _Candidate(Slice(name, column.name, "in", tuple(small)), mask, said)]


def draft_slices(
    frame: pd.DataFrame,
    features: tuple[Column, ...],
    positives: npt.NDArray[np.bool_],
    *,
    test_size: float,
    minimum: SliceMinimum,
    notes: list[str],
) -> tuple[Slice, ...]:
    """The slices of ``features`` the held-out split can measure, said in ``notes``.

    Each nullable column's missing values and each category's values are candidates. A slice's
    held-out rows and positives are estimated as its rows and positives in the extract times
    ``test_size`` (the split is stratified on the label); under ``minimum`` it is not drafted, and
    a category's values under it are measured together as ``<column>=other`` (an ``in`` slice).
    A slice of every row is no slice; of slices that select the same rows, the first is kept (a
    pool of small values is said measured together only when kept). A category whose values all
    stay is drafted as one ``each`` slice.
    """
    held_out = len(frame) * test_size

    def measurable(mask: npt.NDArray[np.bool_]) -> str | None:
        rows, hits = mask.sum() * test_size, (mask & positives).sum() * test_size
        return minimum.shortfall(float(rows), float(hits))

    notes.append(
        f"slices: a slice needs {minimum.describe()} in the held-out split (ci/gates.toml "
        f"[slices]); the split holds {test_size:g} of the rows: about {held_out:,.0f} rows, "
        f"{positives.sum() * test_size:,.0f} positives (configs/model.toml [split])"
    )
    candidates: list[_Candidate] = []
    for column in features:
        values = frame[column.name]
        if column.nullable:
            text = _stripped(values)
            missing = np.asarray(text.isna() | (text == ""), dtype=bool)
            piece = Slice(f"{column.name}_missing", column.name, "is_missing")
            under = measurable(missing)
            if under is None:
                candidates.append(_Candidate(piece, missing))
            else:
                notes.append(f"slice {piece.name!r} not drafted: about {under}")
        if column.kind == "category":
            candidates += _category_candidates(column, values, measurable, notes)
    kept: dict[bytes, _Candidate] = {}
    same: dict[bytes, list[str]] = {}
    for candidate in candidates:
        if candidate.mask.all():
            notes.append(f"slice {candidate.piece.name!r} not drafted: it selects every row")
            continue
        key = np.packbits(candidate.mask).tobytes()
        if key in kept:
            same.setdefault(key, []).append(candidate.piece.name)
        else:
            kept[key] = candidate
            if candidate.kept_note is not None:
                notes.append(candidate.kept_note)
    for key, names in same.items():
        first = kept[key].piece.name
        listed = ", ".join(repr(name) for name in names)
        notes.append(f"slices {listed} select the same rows as {first!r}: only {first!r} drafted")
    return _grouped([candidate.piece for candidate in kept.values()], features)


def _grouped(pieces: list[Slice], features: tuple[Column, ...]) -> tuple[Slice, ...]:
    """``pieces`` with a category whose every value has its own ``eq`` slice as one ``each``."""
    names = {piece.name for piece in pieces}
    whole = {
        column.name
        for column in features
        if column.kind == "category"
        and all(f"{column.name}={value}" in names for value in column.categories)
    }
    out: list[Slice] = []
    for piece in pieces:
        if piece.op != "eq" or piece.column not in whole:
            out.append(piece)
        elif not any(p.op == "each" and p.column == piece.column for p in out):
            out.append(Slice(piece.column, piece.column, "each"))
    return tuple(out)


def _copies(frame: pd.DataFrame) -> list[str]:
    """A note when rows repeat another row field for field, or none.

    The split may put a row in the training part and its copy in the held-out one, where the model
    is scored on a row it learned: the gate's figures flatter it. Copies may be distinct events
    with the same fields, so this is a question, not a rule.
    """
    copies = int(frame.duplicated().sum())
    if not copies:
        return []
    return [
        f"rows: {copies:,} of {len(frame):,} repeat an earlier row field for field: one in the "
        "training split and its copy in the held-out one flatter the gate's figures. Drop the "
        "copies from the extract unless each is an event of its own"
    ]


def infer(
    path: Path,
    *,
    label: str | None = None,
    positive: str | None = None,
    id_column: str | None = None,
    max_categories: int = MAX_CATEGORIES,
    test_size: float | None = None,
    minimum: SliceMinimum | None = None,
) -> Inferred:
    """Draft a schema from the extract at ``path`` (CSV or Parquet).

    Args:
        path: The extract.
        label: The label column; guessed when ``None`` (a two-valued column, label-like names
            first).
        positive: The label's positive value, as written in the file; guessed when ``None``.
        id_column: The id column; guessed when ``None`` (a column unique in every row).
        max_categories: A text column with more distinct values is left out (and said).
        test_size: The held-out share slices are sized for; ``None``: ``[split] test_size`` of
            ``configs/model.toml``.
        minimum: What a slice's held-out split must hold; ``None``: ``[slices]`` of
            ``ci/gates.toml``, or the defaults without one.

    Raises:
        UserError: the file cannot be read, a named column is absent, the label does not have
            exactly two values among the rows that have one, no column can be a feature,
            ``max_categories`` is below 1, or a config file is invalid.
    """
    if max_categories < 1:
        raise UserError(f"--max-categories {max_categories}: a category has at least 1 value")
    frame = read_table(path, as_text=True)
    source = path.name
    notes: list[str] = _copies(frame)
    said = _Said(notes, {})
    named = [repr(str(name)) for name in frame.columns]
    plural = "" if len(named) == 1 else "s"
    header = f"its header names {len(named)} column{plural}: {_shown(named, ', ')}"
    for option, name in (("--label", label), ("--id", id_column)):
        if name is not None and name not in frame.columns:
            raise UserError(f"{option} {name!r}: {path} has no such column ({header})")
    label = label or _guess_label(frame, notes)
    target = _label(frame, label, positive, source, notes)
    if id_column is not None and (repeats := _repeats(frame[id_column])):
        raise UserError(
            f"--id {id_column!r}: {repeats}; an id is unique in every row: pass another "
            "column, or leave --id out"
        )
    id_name = id_column or _guess_id(frame, label, notes)
    identifier = None
    if id_name is not None:
        identifier = Column(id_name, "id", f"Describe it ({source}: unique in every row).")
    features = tuple(
        column
        for name in frame.columns
        if name not in {label, id_name}
        and (column := _column(str(name), frame[name], source, said, max_categories)) is not None
    )
    for column in features:  # a marker drafted as missing reads as missing from here on
        if column.kind != "category":
            marked = _stripped(frame[column.name]).isin(MISSING_MARKERS)
            frame[column.name] = frame[column.name].where(~marked)
    labelled = frame[np.asarray(_stripped(frame[label]).fillna("") != "", dtype=bool)]
    if not features:
        raise UserError(
            f"{path}: no column besides the label and the id can be a feature ({header})"
        )
    for column in features:
        if column.kind == "int" and (counted := _row_number(frame[column.name])):
            said.guess(column.name, ROW_NUMBER.format(counted=counted))
        elif ID_NAME.search(column.name) and (repeats := _repeats(frame[column.name])):
            said.guess(
                column.name,
                f"named like an id, but {repeats}: a code the model would learn rows by? Delete "
                "this Column unless the value means something",
            )
    _missing_only_unlabelled(frame, labelled, features, said)
    positives = target.encode(_typed_labels(labelled[label], target)).astype(bool)
    leaks = label_leaks(labelled, features, positives, target)
    for name, remark in leaks.items():
        said.guess(name, remark)
    slices = draft_slices(
        labelled,
        tuple(column for column in features if column.name not in leaks),
        positives,
        test_size=load_split_config().test_size if test_size is None else test_size,
        minimum=load_slice_minimum() if minimum is None else minimum,
        notes=notes,
    )
    rate = float(positives.mean())
    schema = Schema(
        features=features,
        label=target,
        id=identifier,
        slices=slices,
        min_rows=min(500, max(2, len(labelled) // 2)),
        positive_rate=_rate_range(rate),
    )
    return Inferred(schema=schema, rows=len(frame), notes=notes, remarks=said.remarks)


def _missing_only_unlabelled(
    frame: pd.DataFrame, labelled: pd.DataFrame, features: tuple[Column, ...], said: _Said
) -> None:
    """Question each nullable feature missing only in rows without a label.

    Training reads the labelled rows only: it never sees such a feature missing, and the model
    never learns what its absence means, yet the rows to score may miss it.
    """
    unlabelled = len(frame) - len(labelled)
    for column in features:
        if column.nullable and unlabelled and not labelled[column.name].isna().any():
            said.guess(
                column.name,
                f"missing only in rows without a label ({frame[column.name].isna().sum():,} of "
                f"the {unlabelled:,}): training never sees it missing, so the model never learns "
                "what its absence means (the gate will say so). Make it not nullable if it is "
                "always known when you score",
            )


def _typed_labels(values: pd.Series, label: Label) -> pd.Series:
    """The label column's text typed like the label's values, to count the positives."""
    text = values.astype(str).str.strip()
    if label.kind == "bool":
        return text.str.lower().map(BOOL_TOKENS)
    if label.kind == "int":
        return pd.to_numeric(text, errors="coerce")
    return text


# ---------------------------------------------------------------- rendering the draft


def _literal(value: object) -> str:
    """A Python literal in the project's style (double quotes, whole floats as integers)."""
    if isinstance(value, str):
        quoted = repr(value)
        if quoted.startswith("'"):
            quoted = '"' + quoted[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
        return quoted
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _call(name: str, args: list[str], indent: int) -> list[str]:
    """A call exploded one argument per line with a trailing comma (as ruff format keeps it)."""
    pad = " " * indent
    return [f"{pad}{name}(", *(f"{pad}    {arg}," for arg in args), f"{pad})"]


def _column_lines(column: Column, indent: int) -> list[str]:
    args = [_literal(column.name), _literal(column.kind), _literal(column.description)]
    for bound in ("ge", "gt", "le"):
        value = getattr(column, bound)
        if value is not None:
            args.append(f"{bound}={_literal(value)}")
    lines = _call("Column", args, indent)
    if column.categories:
        pad = " " * (indent + 4)
        lines[-1:-1] = [
            f"{pad}categories=(",
            *(f"{pad}    {_literal(c)}," for c in column.categories),
            f"{pad}),",
        ]
    if column.nullable:
        lines.insert(-1, f"{' ' * (indent + 4)}nullable=True,")
    if column.ordered:
        lines.insert(-1, f"{' ' * (indent + 4)}ordered=True,")
    return lines


def _comment(text: str, indent: int) -> list[str]:
    """``text`` as comment lines within the line length (a value's newlines become spaces)."""
    pad = " " * indent
    width = LINE_LENGTH - indent - len("# ")
    return [f"{pad}# {line}" for line in textwrap.wrap(text, width, break_on_hyphens=False)]


def _values(values: tuple[object, ...], indent: int) -> list[str]:
    return [f"{' ' * indent}{_literal(value)}," for value in values]


def render(inferred: Inferred, source: str) -> str:
    """The Python source of a ``schema.py`` declaring ``inferred.schema``, ready for review."""
    schema = inferred.schema
    label = schema.label
    imported = "Column, Label, Schema, Slice" if schema.slices else "Column, Label, Schema"
    lines = [
        f'"""The table\'s contract, drafted by `just infer-schema` from {source}.',
        "",
        f"Drafted on {datetime.now(UTC):%Y-%m-%d} from {inferred.rows:,} rows. Review every line:",
        "the bounds (the extract's range with a margin), the categories, which columns may be",
        "missing, the label and its positive value, the slices, and each comment beside a column",
        "(a guess, or why a column was left out). Then describe each column.",
        '"""',
        "",
        f"from churn_model.table import {imported}",
        "",
        "SCHEMA = Schema(",
    ]
    guessed = {
        part: [note for note in inferred.notes if note.startswith(f"{part}: ")]
        for part in ("id", "label")
    }
    if schema.id is not None:
        identifier = [_literal(schema.id.name), '"id"', _literal(schema.id.description)]
        lines += [line for note in guessed["id"] for line in _comment(note, 4)]
        lines += _call("id=Column", identifier, 4)
        lines[-1] += ","
    lines += [line for note in guessed["label"] for line in _comment(note, 4)]
    label_args = [
        _literal(label.name),
        f"positive={_literal(label.positive)}",
        f"negative={_literal(label.negative)}",
        f"description={_literal(label.description)}",
    ]
    lines += [*_call("label=Label", label_args, 4)]
    lines[-1] += ","
    lines.append("    features=(")
    drafted = set(schema.feature_names())
    for name, remark in inferred.remarks.items():
        if name not in drafted:
            lines += _comment(f"{name}: {remark}", 8)
    for column in schema.features:
        if column.name in inferred.remarks:
            lines += _comment(f"{column.name}: {inferred.remarks[column.name]}", 8)
        lines += _column_lines(column, 8)
        lines[-1] += ","
    lines.append("    ),")
    lines += [
        "    # The sub-populations evaluated on their own, which ci/gates.toml can put floors on.",
        "    # Add the ones that matter to you; a numeric threshold: lt, le, gt, ge or between.",
        "    slices=(" if schema.slices else "    slices=(),",
    ]
    for piece in schema.slices:
        args = [_literal(piece.name), _literal(piece.column), _literal(piece.op)]
        if isinstance(piece.value, tuple):
            # One value a line, kept so by ruff format's magic trailing comma.
            lines += _call("Slice", args, 8)[:-1]
            lines += [f"{' ' * 12}(", *_values(piece.value, 16), f"{' ' * 12}),", "        ),"]
            continue
        if piece.value is not None:
            args.append(_literal(piece.value))
        line = f"        Slice({', '.join(args)}),"
        if len(line) <= LINE_LENGTH:
            lines.append(line)
        else:
            lines += _call("Slice", args, 8)
            lines[-1] += ","
    if schema.slices:
        lines.append("    ),")
        one = f"    slices=({lines[-2].strip()}),"
        if len(schema.slices) == 1 and lines[-3] == "    slices=(" and len(one) <= LINE_LENGTH:
            # A lone slice's comma makes a one-element tuple, not a magic trailing comma: ruff
            # joins the lines.
            lines[-3:] = [one]
    lines += [
        f"    min_rows={schema.min_rows},",
        f"    positive_rate=({schema.positive_rate[0]:g}, {schema.positive_rate[1]:g}),",
        ")",
    ]
    return "\n".join(lines) + "\n"
