"""The problems found in a table, gathered in memory that does not grow with them, and reported.

This module is *machinery*. Validation (:mod:`churn_model.data.validation`) finds
problems chunk by chunk; here they are kept per column and rule as a count and the
first :data:`EXAMPLES` offending rows, never one record per bad cell: a table of three
million empty rows costs what a table of one bad row costs. The report has one line per
column and rule, rows numbered in the input from 1 (the first row after the header),
whatever the chunks were.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from churn_model.errors import UserError

EXAMPLES = 5
"""How many offending rows each line of the report shows."""

REQUIRED = "required"
NOT_NULLABLE = "not_nullable"
TYPE = "type"
UNIQUE = "unique"

NAMES_SHOWN = 5
"""How many names a list of columns shows before it says how many more there are."""

_KIND_WORDS = {"int": "a number", "float": "a number"}


def names_text(names: Sequence[str]) -> str:
    """Column names as a short list: ``a, b, c``; a long one cut to its first few and a count.

    A name a reader could misread in the list (empty, padded with spaces, holding a comma) is
    quoted.
    """
    shown = [
        name if name and name.strip() == name and "," not in name else repr(name) for name in names
    ]
    if len(shown) <= NAMES_SHOWN + 1:  # "and 1 more" would take the room of the name
        return ", ".join(shown)
    return f"{', '.join(shown[:NAMES_SHOWN])} and {len(shown) - NAMES_SHOWN} more"


class DataValidationError(UserError):
    """The data breaks one or more rules of the schema; the message lists every problem."""


Example = tuple[int, object]
"""An offending row (0-based in the input) and its value (``None`` when the rule shows none)."""


@dataclass(slots=True)
class _Found:
    """What one rule found in one column: how many rows, the first few, where it goes."""

    count: int
    examples: list[Example]
    order: tuple[int, int]
    """The column's place in the schema, then the rule's among the column's rules."""
    kind: str
    """The column's kind (``int``, ``float``, ``bool``, ``category``, ``id``, ``str``)."""
    advice: str = ""
    """What to do about it, said after the rows (if anything)."""


def _show(value: object) -> str:
    """Render an offending value as in the file: ``-4`` rather than ``-4.0``, text quoted."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


class Problems:
    """Every problem found in a table, gathered from one or many chunks, in bounded memory.

    Per column and rule it keeps the count and the first :data:`EXAMPLES` offending rows, so a
    table read in chunks is reported exactly as if it had been validated in one piece.
    """

    def __init__(self) -> None:
        """Start with no problem found."""
        self.missing: list[str] = []
        self.ignored: list[str] = []  # the table's columns the schema does not declare
        self.found: dict[tuple[str, str], _Found] = {}
        self.dataset: list[str] = []

    def __bool__(self) -> bool:
        """Whether any problem was found."""
        return bool(self.missing or self.found or self.dataset)

    def wants_examples(self, column: str, rule: str) -> bool:
        """Whether the rule still shows fewer than :data:`EXAMPLES` rows (chunks come in order)."""
        found = self.found.get((column, rule))
        return found is None or len(found.examples) < EXAMPLES

    def record(
        self,
        column: str,
        rule: str,
        count: int,
        examples: list[Example],
        *,
        order: tuple[int, int],
        kind: str,
        advice: str = "",
    ) -> None:
        """Count ``count`` more rows failing ``rule`` on ``column``, with the first few of them.

        ``advice`` says what to do about them, after the rows in the report.
        """
        key = (column, rule)
        found = self.found.setdefault(key, _Found(0, [], order, kind, advice))
        found.count += count
        found.examples = sorted([*found.examples, *examples], key=lambda e: e[0])[:EXAMPLES]

    def _line(self, column: str, rule: str, found: _Found) -> str:
        show_values = rule != NOT_NULLABLE
        parts = [
            f"row {row + 1:,}" + (f" ({_show(value)})" if show_values else "")
            for row, value in found.examples
        ]
        more = ", ..." if found.count > EXAMPLES else ""
        count, plural = found.count, "s" if found.count != 1 else ""
        if rule == TYPE:
            words = _KIND_WORDS.get(found.kind, "text")
            what = f"type {found.kind}: {count:,} value{plural} cannot be read as {words}"
        else:
            what = f"{rule}: {count:,} row{plural}"
        advice = f"; {found.advice}" if found.advice else ""
        return f"{column}: {what}, e.g. " + ", ".join(parts) + more + advice

    def lines(self) -> list[str]:
        """One line per column and rule: missing columns, rules in schema order, the dataset's."""
        lines = [f"{name}: {REQUIRED}: the column is missing" for name in self.missing]
        ordered = sorted(self.found.items(), key=lambda item: item[1].order)
        lines += [self._line(column, rule, found) for (column, rule), found in ordered]
        return lines + self.dataset

    def error(self, source: str, stopped_after: int | None = None) -> DataValidationError:
        """The report of every problem, as one :class:`DataValidationError`.

        ``stopped_after`` says the table was not read past that many rows (all of them bad). When a
        column is missing, the table's columns the schema does not declare end the report.
        """
        lines = self.lines() or ["the data breaks the schema"]
        found = f"{len(lines)} problem{'s' if len(lines) != 1 else ''} found"
        if stopped_after is not None:
            found = (
                f"the first {stopped_after:,} rows all have problems, so the rest was not read; "
                f"{found} in them"
            )
        unknown = ""
        if self.missing and self.ignored:  # one of them may be a missing column, spelt otherwise
            unknown = f"\ncolumns not in the schema: {names_text(self.ignored)}"
        return DataValidationError(
            f"{source}: {found} (rows are numbered from 1, after the header):"
            + "".join(f"\n  - {line}" for line in lines)
            + unknown
        )
