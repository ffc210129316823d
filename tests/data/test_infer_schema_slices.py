"""`infer-schema` drafts only slices the held-out split can measure, and says what it left out.

The extract is drawn for a schema with what real tables have: a nullable column missing in about
1 % of rows, a 20-value category with a few large values and many tiny ones, and two columns whose
values select the same rows ("no internet service" in every add-on column of a telecom table).
"""

import tomllib
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.config import SliceMinimum, load_slice_minimum, load_split_config
from churn_model.data.infer_schema import Inferred, infer, render
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.errors import UserError
from churn_model.table import Column, Label, Schema, Slice

from project_tools import assert_ruff_clean

ROOT = Path(__file__).resolve().parents[2]
ROWS = 4_000
TEST_SIZE = 0.25
MINIMUM = SliceMinimum()
PLANS = tuple(f"p{i:02d}" for i in range(20))
LARGE = PLANS[:5]
"""The plan values with enough rows for a slice each; the 15 others hold about 27 rows each."""

SIZED = Schema(
    features=(
        Column("balance", "float", "Balance; missing if unknown.", ge=0, le=1_000, nullable=True),
        Column("plan", "category", "The plan.", categories=PLANS),
        Column(
            "internet", "category", "The internet service.", categories=("fiber", "dsl", "none")
        ),
        Column("security", "category", "Online security.", categories=("yes", "no", "no internet")),
        Column("tenure", "int", "Months as a customer.", ge=0, le=72),
    ),
    label=Label("left", positive="yes", negative="no", description="Whether they left."),
    positive_rate=(0.2, 0.4),
)


def _extract(path: Path) -> Path:
    frame = synthetic_frame(ROWS, seed=8, schema=SIZED)
    rng = np.random.default_rng(8)
    balance = rng.uniform(0, 1_000, ROWS)
    balance[rng.choice(ROWS, ROWS // 100, replace=False)] = np.nan  # 1 % missing
    frame["balance"] = balance
    tiny = rng.random(ROWS) < 0.1
    frame["plan"] = np.where(tiny, rng.choice(PLANS[5:], ROWS), rng.choice(LARGE, ROWS))
    frame["security"] = np.where(
        frame["internet"] == "none", "no internet", rng.choice(["yes", "no"], ROWS)
    )
    write_csv(frame, path, schema=SIZED)
    return path


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _extract(tmp_path_factory.mktemp("sized") / "extract.csv")


@pytest.fixture(scope="module")
def inferred(extract: Path) -> Inferred:
    return infer(extract, label="left", positive="yes", test_size=TEST_SIZE, minimum=MINIMUM)


def _load(source: str) -> Schema:
    module = ModuleType("drafted")
    exec(compile(source, "drafted.py", "exec"), module.__dict__)  # noqa: S102 -- our own draft
    schema: Schema = module.SCHEMA
    return schema


def _held_out(extract: Path, schema: Schema) -> dict[str, tuple[float, float]]:
    """Each slice's expected held-out rows and positives: its rows in the extract x test size."""
    frame = pd.read_csv(extract)
    positives = (frame["left"] == "yes").to_numpy()
    return {
        name: (mask.sum() * TEST_SIZE, (mask & positives).sum() * TEST_SIZE)
        for name, mask in schema.slice_masks(frame).items()
    }


def test_every_drafted_slice_meets_the_minimum(extract: Path, inferred: Inferred) -> None:
    counts = _held_out(extract, inferred.schema)
    assert counts
    for name, (rows, positives) in counts.items():
        assert MINIMUM.shortfall(rows, positives) is None, name


def test_a_column_missing_in_one_percent_of_rows_gets_no_slice(
    extract: Path, inferred: Inferred
) -> None:
    frame = pd.read_csv(extract)
    missing = frame["balance"].isna()
    assert missing.sum() == ROWS // 100
    positives = (missing & (frame["left"] == "yes")).sum() * TEST_SIZE
    assert "balance_missing" not in inferred.schema.slice_names()
    why = MINIMUM.shortfall(missing.sum() * TEST_SIZE, positives)
    assert f"slice 'balance_missing' not drafted: about {why}" in inferred.notes


def test_a_categorys_tiny_values_are_measured_together(inferred: Inferred) -> None:
    pieces = {piece.name: piece for piece in inferred.schema.slices}
    for value in LARGE:
        assert pieces[f"plan={value}"] == Slice(f"plan={value}", "plan", "eq", value)
    assert pieces["plan=other"] == Slice("plan=other", "plan", "in", PLANS[5:])
    assert not any(f"plan={value}" in pieces for value in PLANS[5:])
    listed = ", ".join(PLANS[5:])
    note = f"slice 'plan=other': {listed} measured together (each alone is under the minimum)"
    assert note in inferred.notes


def test_slices_selecting_the_same_rows_are_drafted_once(inferred: Inferred) -> None:
    names = inferred.schema.slice_names()
    assert "internet=none" in names
    assert "security=no internet" not in names
    assert (
        "slices 'security=no internet' select the same rows as 'internet=none': "
        "only 'internet=none' drafted"
    ) in inferred.notes
    pieces = {piece.name: piece for piece in inferred.schema.slices}
    assert pieces["internet"] == Slice("internet", "internet", "each")  # every value stayed
    assert {"security=yes", "security=no"} <= set(pieces)  # one value went: no `each`


def test_the_notes_say_how_slices_were_sized(inferred: Inferred) -> None:
    sizing = [note for note in inferred.notes if note.startswith("slices: a slice needs")]
    assert len(sizing) == 1
    assert f"a slice needs {MINIMUM.describe()} in the held-out split" in sizing[0]
    assert (
        f"the split holds {TEST_SIZE:g} of the rows: about {ROWS * TEST_SIZE:,.0f} rows"
        in (sizing[0])
    )


def test_the_draft_renders_eq_and_in_slices_formatted_and_lint_clean(
    tmp_path: Path, extract: Path, inferred: Inferred
) -> None:
    source = render(inferred, source=extract.name)
    assert _load(source) == inferred.schema
    draft = tmp_path / "schema.py"
    draft.write_text(source)
    assert_ruff_clean(draft)


def test_a_slice_of_every_row_is_not_drafted(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"kind": ["a"] * 400, "x": range(400), "y": ["n", "y"] * 200}).to_csv(
        path, index=False
    )
    found = infer(path, label="y", positive="y", test_size=0.5, minimum=MINIMUM)
    assert found.schema.slices == ()
    assert "slice 'kind=a' not drafted: it selects every row" in found.notes


def test_the_split_and_the_minimum_come_from_the_config_files(
    tmp_path: Path, extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=r"configs/model\.toml: config file not found"):
        infer(extract, label="left", positive="yes")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs/model.toml").write_text("seed = 1\n[split]\ntest_size = 0.5\n")
    wide = infer(extract, label="left", positive="yes")  # no ci/gates.toml: the defaults
    assert any(f"needs {SliceMinimum().describe()}" in note for note in wide.notes)
    assert any("the split holds 0.5 of the rows" in note for note in wide.notes)
    assert "balance_missing" not in wide.schema.slice_names()  # 20 held-out rows of 50
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci/gates.toml").write_text("[slices]\nmin_rows = 10\nmin_positives = 2\n")
    loose = infer(extract, label="left", positive="yes")
    assert "balance_missing" in loose.schema.slice_names()
    (tmp_path / "ci/gates.toml").write_text("[slices]\nmin_rows = 0\n")
    with pytest.raises(
        UserError, match=r"ci/gates\.toml: invalid configuration\n  slices\.min_rows"
    ):
        infer(extract, label="left", positive="yes")


def test_the_committed_gate_config_states_its_minimum_for_infer_schema() -> None:
    stated = tomllib.loads((ROOT / "ci/gates.toml").read_text(encoding="utf-8"))["slices"]
    assert load_slice_minimum(ROOT / "ci/gates.toml") == SliceMinimum.model_validate(stated)
    assert 0 < load_split_config(ROOT / "configs/model.toml").test_size < 1


def test_the_cli_prints_which_slices_it_left_out(
    tmp_path: Path, extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    output = tmp_path / "schema.py"
    result = CliRunner().invoke(
        app, ["infer-schema", str(extract), "--label", "left", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "note: slice 'balance_missing' not drafted: about" in result.stdout
    assert "note: slices 'security=no internet' select the same rows as" in result.stdout


def test_small_values_too_few_even_together_are_said_and_dropped(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    kind = ["a"] * 760 + ["b"] * 20 + ["other"] * 20  # "other" is a value: the pool is "(other)"
    solo = ["x"] * 790 + ["z"] * 10
    frame = pd.DataFrame({"kind": kind, "solo": solo, "n": range(800), "y": ["n", "y"] * 400})
    frame.to_csv(path, index=False)
    found = infer(path, label="y", positive="y", test_size=0.5, minimum=MINIMUM)
    assert [piece.name for piece in found.schema.slices] == ["kind=a", "solo=x"]
    pooled = MINIMUM.shortfall(20, 10)
    assert f"slice 'kind=(other)' (b, other) not drafted: about {pooled}" in found.notes
    assert f"slice 'solo=z' not drafted: about {MINIMUM.shortfall(5, 2.5)}" in found.notes


def test_values_too_small_alone_that_together_are_every_row_are_said_once(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = 244  # held out at 0.25: 61 rows, so neither 87 nor 157 rows are a slice alone
    sex = ["Female"] * 87 + ["Male"] * 157
    frame = pd.DataFrame({"sex": sex, "n": range(rows), "y": ["n", "y"] * (rows // 2)})
    frame.to_csv(path, index=False)
    found = infer(path, label="y", positive="y", test_size=TEST_SIZE, minimum=MINIMUM)
    assert found.schema.slices == ()
    said = [note for note in found.notes if "sex" in note]
    assert said == [
        "slice 'sex=other' (Female, Male) not drafted: each value alone is under the minimum, "
        "and together they select every row"
    ]


def test_a_pool_selecting_the_same_rows_as_a_kept_slice_is_not_said_measured_together(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.csv"
    rows = 800  # held out at 0.5: a slice needs 50 rows and 20 positives, so 100 rows here
    missing = np.arange(rows) < 160  # the rows where "x" is missing: a slice of its own
    kind = np.where(missing, np.where(np.arange(rows) // 2 % 2 == 0, "s1", "s2"), "big")
    frame = pd.DataFrame(
        {
            "x": np.where(missing, np.nan, np.arange(rows, dtype=float)),
            "kind": kind,
            "y": ["n", "y"] * (rows // 2),
        }
    )
    frame.to_csv(path, index=False)
    found = infer(path, label="y", positive="y", test_size=0.5, minimum=MINIMUM)
    assert "x_missing" in found.schema.slice_names()
    assert "kind=other" not in found.schema.slice_names()
    said = [note for note in found.notes if "kind=other" in note]
    assert said == [
        "slices 'kind=other' select the same rows as 'x_missing': only 'x_missing' drafted"
    ]
