"""`infer-schema` asks about every feature that alone tells the label apart: a likely leak.

The extract is written here by hand: a label (``won``/``lost``), columns that restate it (a text
copy, a number that separates it perfectly or all but once, a number present only with one label
value) and columns that only correlate with it, however strongly; 20 rows have no label yet, and
what they hold is not judged.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_model.config import SliceMinimum
from churn_model.data.infer_schema import Inferred, infer, render
from churn_model.data.label_leaks import MIN_EACH, label_leaks
from churn_model.table import Column, Label

from project_tools import assert_ruff_clean

LABELLED = 400
UNLABELLED = 20
ANY = SliceMinimum(min_rows=1, min_positives=1)
"""Any slice with a row and a positive: a leak's slices would all be drafted but for the check."""
QUESTION = (
    "Is it the label restated, or known only after the outcome? Leave it out unless it is known "
    "when you predict, by deleting its Column line (no slice is drafted on it)"
)
LEAKS = {"restated", "score", "nearly", "closed"}
CORRELATED = {"agrees", "strong", "name", "noise"}


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    won = rng.random(LABELLED) < 0.4
    agrees = np.where(rng.random(LABELLED) < 0.9, won, ~won)  # the label in 90 % of rows
    nearly = won * 10.0 + rng.uniform(0, 5, LABELLED)
    nearly[np.flatnonzero(won)[0]] = 1.0  # one winner among the losers
    frame = pd.DataFrame(
        {
            "rowid": range(LABELLED),
            "restated": np.where(won, "W", "L"),
            "agrees": np.where(agrees, "true", "false"),
            "score": won * 10.0 + rng.uniform(0, 5, LABELLED),
            "nearly": nearly,
            "strong": won + rng.normal(0, 0.35, LABELLED),  # a single-column ROC AUC near 0.97
            "closed": np.where(won, rng.uniform(1, 9, LABELLED), np.nan),
            "name": [f"n{i}" for i in range(LABELLED)],  # each value alone: trivially one label
            "noise": rng.choice(["a", "b", "c"], LABELLED),
            "outcome": np.where(won, "won", "lost"),
        }
    )
    unlabelled = frame.sample(UNLABELLED, random_state=1).assign(
        rowid=range(LABELLED, LABELLED + UNLABELLED),
        restated="W",
        score=rng.uniform(0, 15, UNLABELLED),
        outcome=None,
    )
    return pd.concat([frame, unlabelled], ignore_index=True)


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("leaks") / "extract.csv"
    _frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def inferred(extract: Path) -> Inferred:
    return infer(
        extract,
        label="outcome",
        positive="won",
        max_categories=LABELLED + UNLABELLED,
        test_size=0.5,
        minimum=ANY,
    )


def test_every_column_that_tells_the_label_apart_is_asked_about(inferred: Inferred) -> None:
    assert set(inferred.schema.feature_names()) == LEAKS | CORRELATED
    asked = {name for name, remark in inferred.remarks.items() if "possible leak" in remark}
    assert asked == LEAKS
    said = [note for note in inferred.notes if "possible leak" in note]
    assert len(said) == len(LEAKS)
    assert all(note.endswith(QUESTION) for note in said)


def test_each_note_says_how_the_column_tells_the_label_apart(inferred: Inferred) -> None:
    notes = set(inferred.notes)
    assert (
        "restated: possible leak: it alone tells the label apart on the labelled rows (each "
        "value goes with one label value: 'L' with 'lost', 'W' with 'won'). " + QUESTION
    ) in notes
    score = next(note for note in notes if note.startswith("score: "))
    assert "(a single-column ROC AUC of 1.000 over its 400 labelled rows with a value" in score
    assert "higher values go with 'won')" in score
    nearly = next(note for note in notes if note.startswith("nearly: "))
    assert "a single-column ROC AUC of 0.99" in nearly
    assert (
        "closed: possible leak: it alone tells the label apart on the labelled rows (it is "
        "missing in every 'lost' row and present in every 'won' row). " + QUESTION
    ) in notes


def test_no_slice_is_drafted_on_a_leak(inferred: Inferred) -> None:
    columns = {piece.column for piece in inferred.schema.slices}
    assert "noise" in columns  # the minimum lets any slice through
    assert not columns & LEAKS


def test_the_question_is_a_comment_beside_the_column_in_a_clean_draft(
    tmp_path: Path, inferred: Inferred
) -> None:
    draft = render(inferred, "extract.csv")
    for name in LEAKS:
        above = draft.split(f'            "{name}",\n')[0].rsplit("Column(", 1)[0]
        assert f"        # {name}: possible leak: it alone tells the label apart" in above, name
    (tmp_path / "schema.py").write_text(draft)
    assert_ruff_clean(tmp_path / "schema.py")


LABEL = Label("y", positive=1, negative=0, description="The outcome.")


@pytest.mark.parametrize(
    ("column", "values", "leak"),
    [
        (Column("c", "category", "c", categories=("a", "b")), ["a", "b"] * 20, True),
        (
            Column("c", "category", "c", categories=("a", "b", "c")),
            ["a", "b", "c", "a"] * 10,
            False,
        ),
        (Column("b", "bool", "b"), ["true", "False"] * 20, True),
        (Column("b", "bool", "b"), ["1", "0", "1", "1"] * 10, False),
        (Column("n", "int", "n", ge=0, le=99), [str(i) for i in range(40)], False),
        (Column("n", "int", "n", ge=0, le=99), [str(i % 2 * 50 + i) for i in range(40)], True),
        (Column("m", "float", "m", nullable=True), ["", "1.5"] * 20, True),
        (Column("m", "float", "m", nullable=True), ["", "1.5", "1.5", ""] * 10, False),
    ],
    ids=[
        "restating-category",
        "mixed-category",
        "restating-bool",
        "mixed-bool",
        "mixed-numbers",
        "separating-numbers",
        "missing-with-one-label",
        "missing-with-both",
    ],
)
def test_a_column_is_judged_on_its_own(column: Column, values: list[str], leak: bool) -> None:
    positives = np.array([True, False] * 20)
    frame = pd.DataFrame({column.name: pd.Series(values, dtype=object).replace("", None)})
    found = label_leaks(frame, (column,), positives, LABEL)
    assert (column.name in found) is leak


@pytest.mark.parametrize(
    ("column", "positive", "negative"),
    [
        (Column("c", "category", "c", categories=("a", "b")), "a", "b"),
        (Column("n", "float", "n", ge=0, le=9), "1.5", "2.5"),
        (Column("m", "float", "m", nullable=True), "", "2.5"),
    ],
    ids=["category", "number", "missing"],
)
def test_too_few_rows_of_a_label_value_are_never_called_a_leak(
    column: Column, positive: str, negative: str
) -> None:
    for hits, leak in ((MIN_EACH - 1, False), (MIN_EACH, True)):
        positives = np.array([True] * hits + [False] * 30)
        values = pd.Series([positive] * hits + [negative] * 30, dtype=object).replace("", None)
        found = label_leaks(pd.DataFrame({column.name: values}), (column,), positives, LABEL)
        assert (column.name in found) is leak, hits
