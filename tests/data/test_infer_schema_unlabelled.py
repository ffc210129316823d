"""`infer-schema` drafts from an extract holding rows still to be scored (no label value yet).

The label and all that depends on it (its positive rate, ``min_rows``, the slices) come from the
labelled rows, the training table's rows; the features come from every row, so the rows to score
pass the draft too. The extract is written here by hand: 360 labelled rows, a third of them
positive, and 40 without a label, the only rows where ``mass`` is missing or above 20.
"""

from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.config import SliceMinimum
from churn_model.data.infer_schema import Inferred, infer, render
from churn_model.data.problems import DataValidationError
from churn_model.data.validation import validate
from churn_model.errors import UserError

from project_tools import assert_ruff_clean

ROOT = Path(__file__).resolve().parents[2]
LABELLED = 360
UNLABELLED = 40
MINIMUM = SliceMinimum(min_rows=20, min_positives=5)
TEST_SIZE = 0.5
NOTE = (
    "label: 40 of 400 rows have no 'kind' value: the label's values, its positive rate, min_rows "
    "and the slices are drafted from the 360 labelled rows, the features (kinds, bounds, missing "
    "values, categories) from every row. Training refuses rows without a label: put them in a "
    "file of their own and score them with `just predict`"
)


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    kind = np.array(["p", "q", "q"] * (LABELLED // 3), dtype=object)
    # "far": 30 labelled rows (15 held out, under the minimum of 20), 70 with the unlabelled ones.
    site = np.array(["near"] * (LABELLED - 30) + ["far"] * 30, dtype=object)
    mass = rng.uniform(10, 20, LABELLED + UNLABELLED).round(1)
    mass[LABELLED : LABELLED + 20] = np.nan
    mass[-1] = 35.0
    return pd.DataFrame(
        {
            "mass": mass,
            "site": [*site, *(["far"] * (UNLABELLED - 5)), *(["island"] * 5)],
            "count": rng.integers(0, 9, LABELLED + UNLABELLED),
            "kind": [*kind, *([None] * UNLABELLED)],
        }
    )


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("unlabelled") / "extract.csv"
    _frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def inferred(extract: Path) -> Inferred:
    return infer(extract, label="kind", positive="p", test_size=TEST_SIZE, minimum=MINIMUM)


def _load(source: str) -> ModuleType:
    module = ModuleType("drafted")
    exec(compile(source, "drafted.py", "exec"), module.__dict__)  # noqa: S102 -- our own draft
    return module


def test_the_label_and_what_depends_on_it_come_from_the_labelled_rows(inferred: Inferred) -> None:
    schema = inferred.schema
    assert (schema.label.positive, schema.label.negative) == ("p", "q")
    assert schema.positive_rate == (0.16, 0.67)  # around 1/3, not 120 of all 400 rows (0.3)
    assert schema.min_rows == LABELLED // 2
    assert "far" in schema.feature("site").categories
    assert "site=far" not in schema.slice_names()  # 35 held-out rows of all 400, 15 labelled
    assert "33.3% of 360 labelled rows are 'p')" in schema.label.description


def test_the_features_come_from_every_row(inferred: Inferred) -> None:
    mass = inferred.schema.feature("mass")
    assert mass.nullable  # missing only where there is no label
    assert mass.le is not None
    assert mass.le >= 35
    assert "island" in inferred.schema.feature("site").categories


def test_a_feature_missing_only_in_rows_without_a_label_is_questioned(inferred: Inferred) -> None:
    # Training never sees mass missing: the draft says so beside it, and of no other column.
    said = (
        "missing only in rows without a label (20 of the 40): training never sees it missing, so "
        "the model never learns what its absence means"
    )
    assert said in inferred.remarks["mass"]
    assert not [
        remark
        for name, remark in inferred.remarks.items()
        if "missing only" in remark and name != "mass"
    ]
    assert any(note.startswith(f"mass: {said}") for note in inferred.notes)


def test_the_notes_and_the_draft_say_what_was_read_and_what_to_do(inferred: Inferred) -> None:
    assert NOTE in inferred.notes
    draft = render(inferred, "extract.csv")
    above_label = " ".join(draft.split("    label=Label(")[0].split("\n    # "))
    assert NOTE in above_label


def test_the_draft_takes_the_labelled_rows_to_train_and_the_others_to_score(
    tmp_path: Path, inferred: Inferred
) -> None:
    source = render(inferred, "extract.csv")
    (tmp_path / "schema.py").write_text(source)
    assert_ruff_clean(tmp_path / "schema.py")
    drafted = _load(source).SCHEMA
    assert drafted == inferred.schema
    frame = _frame()
    labelled, unlabelled = frame[:LABELLED], frame[LABELLED:].drop(columns="kind")
    assert len(validate(labelled, "labelled", schema=drafted)) == LABELLED
    scored = validate(unlabelled, "to score", schema=drafted, require_label=False)
    assert len(scored) == UNLABELLED
    with pytest.raises(DataValidationError, match="kind"):
        validate(frame, "extract", schema=drafted)  # as the note says: training refuses them


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([None, None, None, None], "label 'kind': no row has a label value"),
        (["p", None, "p", None], "label 'kind': a label has two values, this one has 1: 'p'"),
    ],
)
def test_a_label_without_two_values_among_labelled_rows_is_refused(
    tmp_path: Path, labels: list[str | None], message: str
) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": [1, 2, 3, 4], "kind": labels}).to_csv(path, index=False)
    with pytest.raises(UserError, match=message):
        infer(path, label="kind", test_size=TEST_SIZE, minimum=MINIMUM)


def test_the_cli_drafts_and_prints_the_note(
    tmp_path: Path, extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    output = tmp_path / "schema.py"
    result = CliRunner().invoke(
        app, ["infer-schema", str(extract), "--label", "kind", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert f"note: {NOTE}\n" in result.stdout
    assert output.exists()
