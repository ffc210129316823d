"""How the text of a field becomes a value: one strict rule, in files as over HTTP.

This module is *machinery*: every reader of a table (validation, ``train``, ``validate``,
``infer-schema``, ``predict``) reads a field through it, column by column with Arrow's kernels, so
the rule is applied the same way everywhere and fast.

- **A number** is written as JSON writes one (RFC 8259, section 6): an optional minus sign, ASCII
  digits without a leading zero, an optional fraction, an optional exponent: ``27``, ``-0.5``,
  ``1e3``, ``2.5E-4``. Nothing else is a number: not ``1_000``, ``1,000``, ``+5``, ``.5``, ``5.``,
  ``007``, `` 5``, ``٣``, ``0x1F``, ``inf``. The HTTP API reads its body with a JSON parser, which
  applies the same grammar, so a value a file may hold is a value a request may send, and the other
  way round. A whole number is a number without a fractional part (``27``, ``27.0``, ``2.7e1``).
- **A boolean** is ``true`` or ``false`` in any case, or a number equal to 1 or 0 (``1``, ``0.0``).
- **A missing value** is an empty field, a field of spaces only, or one of :data:`MISSING_TEXT`
  (``NA``, ``null``, ...). Over HTTP it is JSON ``null``.
- **Text** (an id, a category, a text label) is kept exactly as written.

A typed column (Parquet, or a frame) is read by its type: numbers as numbers (NaN is missing),
booleans as booleans, text by the rules above; a value of any other type cannot be read.
"""

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

NUMBER_PATTERN = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
"""The text of a number: JSON's grammar (RFC 8259, section 6)."""

_NUMBER = f"^{NUMBER_PATTERN}$"
_NUMBER_RE = re.compile(NUMBER_PATTERN)

MISSING_TEXT = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
"""The texts a field reads as a missing value (besides blanks): pandas' defaults, spelt out."""

BOOL_TOKENS = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
"""The usual spellings of a boolean (lowercased): how a draft schema recognises a boolean column.
Validation takes any number equal to 1 or 0 besides the words."""

BOOLEAN_WORDS = {"true": True, "false": False}
"""The words a boolean may be written as, in any case (or a number equal to 1 or 0)."""

_MISSING = pa.array(sorted(MISSING_TEXT), pa.string())
_SPELT_BOOLEANS = pa.array(["true", "false", "True", "False", "TRUE", "FALSE", "1", "0"])

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Reading:
    """A column read by one rule: its values, which are missing, and which cannot be read.

    ``values`` holds NaN (numbers), or null (text), where a value is missing or unreadable.
    """

    values: "npt.NDArray[np.float64] | pa.Array"
    missing: Mask
    unreadable: Mask


def is_number(text: str) -> bool:
    """Whether ``text`` is a number by the rule (JSON's grammar)."""
    return _NUMBER_RE.fullmatch(text) is not None


def _array(column: "pa.Array | pa.ChunkedArray") -> "pa.Array":
    """One contiguous array, dictionary-encoded values decoded."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column


def _mask(values: "pa.Array") -> Mask:
    """A boolean Arrow array as a NumPy mask, a null counting as false."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _is_text(kind: "pa.DataType") -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def missing_text(text: "pa.Array") -> Mask:
    """Where a text column holds a missing value: null, blank, or one of :data:`MISSING_TEXT`."""
    spelt = pc.or_kleene(pc.is_in(text, value_set=_MISSING), pc.utf8_is_space(text))
    return _mask(pc.or_kleene(spelt, pc.is_null(text)))


def _numbers_of_text(text: "pa.Array") -> Reading:
    """Read text as numbers by the rule; only the values that are no number are looked at twice."""
    readable = _mask(pc.match_substring_regex(text, _NUMBER))
    missing = np.zeros(len(text), dtype=np.bool_)
    if not readable.all():
        rest = np.flatnonzero(~readable)
        missing[rest] = missing_text(text.take(pa.array(rest)))
    kept = text if readable.all() else pc.if_else(pa.array(readable), text, None)
    values = pc.cast(kept, pa.float64()).to_numpy(zero_copy_only=False)
    return Reading(values=values, missing=missing, unreadable=~readable & ~missing)


def read_numbers(column: "pa.Array | pa.ChunkedArray") -> Reading:
    """Read a column as numbers (float64): text by the rule, numeric types as they are."""
    array = _array(column)
    kind = array.type
    if _is_text(kind):
        return _numbers_of_text(array)
    nothing = np.zeros(len(array), dtype=np.bool_)
    if pa.types.is_null(kind):
        return Reading(np.full(len(array), np.nan), ~nothing, nothing)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = np.asarray(
            pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        return Reading(values, np.isnan(values), nothing)
    absent = _mask(pc.is_null(array))
    return Reading(np.full(len(array), np.nan), absent, ~absent)


def read_booleans(column: "pa.Array | pa.ChunkedArray") -> Reading:
    """Read a column as booleans, as 1.0 and 0.0: words in any case, or numbers equal to 1 or 0."""
    array = _array(column)
    if pa.types.is_boolean(array.type):
        absent = _mask(pc.is_null(array))
        values = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
        return Reading(np.asarray(values, dtype=np.float64), absent, np.zeros_like(absent))
    if _is_text(array.type) and _mask(pc.is_in(array, value_set=_SPELT_BOOLEANS)).all():
        lowered = pc.utf8_lower(array)
        values = _mask(pc.or_(pc.equal(lowered, "true"), pc.equal(array, "1")))
        nothing = np.zeros(len(array), dtype=np.bool_)
        return Reading(values.astype(np.float64), nothing, nothing)
    numbers = read_numbers(array)
    values = numbers.values
    if _is_text(array.type):  # the words, where the text is no number
        lowered = pc.utf8_lower(array)
        words = _mask(pc.is_in(lowered, value_set=pa.array(list(BOOLEAN_WORDS))))
        values = np.where(words, _mask(pc.equal(lowered, "true")).astype(np.float64), values)
        unreadable = numbers.unreadable & ~words
    else:
        unreadable = numbers.unreadable
    with np.errstate(invalid="ignore"):
        neither = ~numbers.missing & ~unreadable & (values != 0.0) & (values != 1.0)
    unreadable = unreadable | neither
    values = np.where(unreadable | numbers.missing, np.nan, values)
    return Reading(values, numbers.missing, unreadable)


def read_text(column: "pa.Array | pa.ChunkedArray") -> Reading:
    """Read a column as text (ids, categories, a text label); whole numbers become their digits.

    The values are a string array, null where missing or unreadable.
    """
    array = _array(column)
    kind = array.type
    if pa.types.is_integer(kind):
        array = pc.cast(array, pa.string())
    elif pa.types.is_null(kind):
        array = pa.nulls(len(array), pa.string())
    elif not _is_text(kind):
        absent = _mask(pc.is_null(array))
        return Reading(pa.nulls(len(array), pa.string()), absent, ~absent)
    missing = missing_text(array)
    values = pc.if_else(pa.array(missing), None, array) if missing.any() else array
    return Reading(values, missing, np.zeros(len(array), dtype=np.bool_))


def shown(column: "pa.Array | pa.ChunkedArray", rows: npt.NDArray[np.intp]) -> list[object]:
    """The values at ``rows`` as written (text, or the typed value), for a report."""
    return [scalar.as_py() for scalar in _array(column).take(pa.array(rows, pa.int64()))]
