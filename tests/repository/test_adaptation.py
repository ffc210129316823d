"""Adopting the template for another table is the documented path, with no machinery edit.

For each of four structurally different tables, in a copy of the repository (its own git history
and virtual environment), this test does exactly what ``docs/adapting.md`` tells a new user to do
with an extract of their own, in that order:

1. ``just infer-schema`` drafts the schema, moved into the domain's ``schema.py``; then ``just
   validate`` checks the extract against it (nothing else changed yet);
2. the two lines of the domain's ``example.py`` (``DATA_FILE``, ``build_sample = None``);
3. the data pinned with ``dvc add``;
4. the example's tests replaced by one of the user's;
5. the decision objective declared in ``configs/model.toml``, ``ci/baseline.json`` removed, ``just
   calibrate --draft``; the proposed threshold set as the draft says, the draft made again, then
   copied to ``ci/gates.toml``;
6. everything committed, then ``just pipeline`` and ``just promote`` (a clean first champion: no
   ``--allow-dirty``), ``just package``, a prediction from the packaged model (over HTTP, when the
   project serves) and ``just check``.

The files touched by hand must all be the schema, the two lines, the example's tests, the data
pin, ``configs/model.toml`` and ``ci/``. The tables: (a) no boolean column and a 200-value
category (the user raises infer-schema's category limit); (b) a text label good/bad with missing
values in several columns; (c) a Yes/No label with several 0/1 columns; (d) one number, a text
label and a few hundred rows (what the machinery's own tests assume of a schema shows there).
"""

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from churn_model.data.synthetic import synthetic_frame
from churn_model.table import Column, Label, Schema

from repo_copy import copy_repository

# >>> serving
from running_service import ask_service, just_serve

# <<< serving

pytestmark = pytest.mark.slow

SCHEMA_FILE = "src/churn_model/domain/schema.py"
EXAMPLE_FILE = "src/churn_model/domain/example.py"
MODEL_CONFIG = "configs/model.toml"

ALLOWED = (SCHEMA_FILE, EXAMPLE_FILE, "tests/example/", "data.dvc", MODEL_CONFIG, "ci/")
"""Where a user adopting the template edits by hand: the schema, the two lines of the example's
data module, the example's own tests, the data pin, the model config's decision, the gate."""

WRITTEN_BY_RECIPES = ("ci/baseline.json", "docs/model/")
"""What `just promote` rewrites (committed, as for the example)."""

USER_TEST = '''"""Rows drawn from the schema are valid rows of it (a test that needs no data)."""

from churn_model.data.synthetic import synthetic_frame
from churn_model.data.validation import validate
from churn_model.domain.schema import SCHEMA


def test_rows_drawn_from_the_schema_validate() -> None:
    frame = synthetic_frame(SCHEMA.min_rows, seed=1)
    assert len(validate(frame, "drawn rows")) == SCHEMA.min_rows
'''


@dataclass(frozen=True)
class Table:
    """One table a user adopts the template for, and what they tell infer-schema about it."""

    name: str
    schema: Schema
    """What the extract is drawn from (the test then infers its schema, as a user would)."""
    rows: int
    options: tuple[str, ...]
    """infer-schema's options beyond the label and its positive value."""
    objective: str
    """The ``[decision]`` objective lines the user declares in configs/model.toml."""
    extract: Callable[[pd.DataFrame], pd.DataFrame] = lambda frame: frame
    """How the extract writes the drawn frame (0/1 integers for booleans, say)."""
    slice_line: str | None = None
    """A slice the user adds to the draft, as docs/adapting.md shows."""


DEPARTMENTS = tuple(f"dept-{number:03d}" for number in range(200))

WIDE = Table(
    name="staff",
    schema=Schema(
        features=(
            Column("tenure_years", "float", "Years employed.", ge=0, le=40),
            Column("salary", "int", "Yearly salary.", ge=12_000, le=240_000),
            Column(
                "department", "category", "The department.", categories=DEPARTMENTS, nullable=True
            ),
            Column("rating", "int", "Last review, 1 to 5.", ge=1, le=5),
            Column("overtime_hours", "float", "Monthly overtime.", ge=0, le=80),
        ),
        label=Label("left", positive=1, negative=0, description="Left within a year."),
        positive_rate=(0.05, 0.25),
    ),
    rows=6_000,
    options=("--max-categories", "250"),
    objective='objective = "f1"\n',
    slice_line=(
        '        Slice("new_staff", "tenure_years", "lt", 1),\n'
        '        Slice("dept-007", "department", "eq", "dept-007"),\n'
    ),
)
"""(a) No boolean column, and a 200-value category with missing values (over infer-schema's
default limit), a slice on one of its values (a few held-out rows, often no positive)."""

CREDIT = Table(
    name="credit",
    schema=Schema(
        features=(
            Column("duration_months", "int", "Loan duration.", ge=4, le=72),
            Column("amount", "float", "Amount lent.", gt=0, le=20_000, nullable=True),
            Column("age", "int", "Age of the borrower.", ge=18, le=80, nullable=True),
            Column(
                "purpose",
                "category",
                "What the loan is for.",
                categories=("car", "furniture", "radio-tv", "education", "business", "repairs"),
                nullable=True,
            ),
            Column("housing", "category", "Housing.", categories=("own", "rent", "free")),
            Column("savings", "float", "Savings.", ge=0, le=50_000, nullable=True),
        ),
        label=Label("risk", positive="bad", negative="good", description="Credit risk."),
        positive_rate=(0.2, 0.4),
    ),
    rows=4_000,
    options=(),
    objective='objective = "min_precision"\nmin_precision = 0.5\n',
)
"""(b) A text label good/bad, with missing values in several columns."""

ATTRITION = Table(
    name="attrition",
    schema=Schema(
        features=(
            Column("age", "int", "Age.", ge=18, le=65),
            Column("monthly_income", "float", "Income.", ge=1_000, le=20_000),
            Column("overtime", "bool", "Works overtime."),
            Column("remote", "bool", "Works remotely."),
            Column("stock_options", "bool", "Holds stock options."),
            Column("single", "bool", "Not married."),
            Column(
                "role",
                "category",
                "Job role.",
                categories=tuple(f"role-{letter}" for letter in "abcdefghi"),
            ),
        ),
        label=Label("Attrition", positive="Yes", negative="No", description="Left."),
        positive_rate=(0.1, 0.22),
    ),
    rows=4_000,
    options=(),
    objective='objective = "cost"\ncost_ratio = 4.0\n',
    extract=lambda frame: frame.astype(
        dict.fromkeys(("overtime", "remote", "stock_options", "single"), "int64")
    ),
    slice_line='        Slice("overtime", "overtime", "eq", True),\n',
)
"""(c) A Yes/No label with several 0/1 columns (booleans as the extract writes them)."""

ONE_NUMBER = Table(
    name="eruptions",
    schema=Schema(
        features=(Column("duration", "float", "Minutes the eruption lasted.", ge=1.5, le=5.5),),
        label=Label("kind", positive="long", negative="short", description="Kind of eruption."),
        positive_rate=(0.3, 0.8),
    ),
    rows=300,
    options=(),
    objective='objective = "f1"\n',
    slice_line='        Slice("mid_duration", "duration", "between", (2.5, 3.8)),\n',
)
"""(d) A few hundred rows of one number: no category, no boolean, no id, a text label."""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


class Project:
    """A copy of the repository with its own environment; runs recipes and records timings."""

    def __init__(self, root: Path) -> None:
        """Copy the tracked files of this checkout to ``root`` and commit them."""
        self.root = copy_repository(root)
        # Unlike other copy-based tests, the copy gets a virtual environment of its own (uv links
        # it from its warm cache, shared by every copy, in seconds): this checkout's would import
        # this checkout's domain.
        own = ("UV_PROJECT_ENVIRONMENT", "UV_NO_SYNC", "VIRTUAL_ENV")
        self.env = {k: v for k, v in os.environ.items() if k not in own} | {"NO_COLOR": "1"}
        _git(root, "init", "--quiet")
        _git(root, "add", "--all")
        _git(root, "commit", "--quiet", "-m", "clone")
        self.first = _git(root, "rev-parse", "HEAD").strip()
        self.times: dict[str, float] = {}
        self.touched: set[str] = set()

    def just(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """Run a recipe in the copy; fail with its output unless it exits with ``expect``."""
        began = time.perf_counter()
        result = subprocess.run(
            ["just", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        step = " ".join(arg for arg in args if not Path(arg).is_absolute())
        self.times[step] = self.times.get(step, 0.0) + time.perf_counter() - began
        assert result.returncode == expect, (
            f"just {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        )
        return result

    def read(self, name: str) -> str:
        """The text of a project file."""
        return (self.root / name).read_text(encoding="utf-8")

    def edit(self, name: str, text: str) -> None:
        """Write a file of the project, as the user would, and remember it."""
        (self.root / name).parent.mkdir(parents=True, exist_ok=True)
        (self.root / name).write_text(text, encoding="utf-8")
        self.touched.add(name)

    def remove(self, name: str) -> None:
        """Delete a file or folder of the project, as the user would, and remember it."""
        path = self.root / name
        self.touched |= {
            str(p.relative_to(self.root)) for p in [path, *path.rglob("*")] if p.is_file()
        }
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    def changed(self) -> list[str]:
        """Every path changed since the copy: committed since, or not committed yet."""
        committed = _git(self.root, "diff", "--name-only", self.first, "HEAD").splitlines()
        status = _git(self.root, "status", "--porcelain", "--untracked-files=all").splitlines()
        return sorted({*committed, *(line[3:] for line in status)})


# ---------------------------------------------------------------- the documented steps


def _add_slice(draft: str, line: str) -> str:
    """Add a slice to a drafted schema, as a user would (importing Slice if the draft had none)."""
    if "    slices=(),\n" in draft:  # one slice: on the line of its tuple, as ruff formats it
        draft = draft.replace(
            "import Column, Label, Schema\n", "import Column, Label, Schema, Slice\n"
        )
        return draft.replace("    slices=(),\n", f"    slices=({line.strip()}),\n", 1)
    return draft.replace("    slices=(\n", "    slices=(\n" + line, 1)


def _draft_the_schema(project: Project, table: Table, extract: Path) -> None:
    """Step 1: draft the schema, review it (a slice of the user's), move it into place."""
    label = table.schema.label
    options = ["--label", label.name, "--positive", str(label.positive), *table.options]
    drafted = project.just("infer-schema", str(extract), *options)
    assert "schema drafted to build/schema.py" in drafted.stdout
    text = (project.root / "build/schema.py").read_text(encoding="utf-8")
    assert "id=" not in text  # no unique column: no id
    if table.slice_line is not None:
        text = _add_slice(text, table.slice_line)
    project.edit(SCHEMA_FILE, text)  # `mv build/schema.py` to the domain's schema.py
    (project.root / "build/schema.py").unlink()


def _the_two_lines(project: Project, table: Table) -> None:
    """Step 2: where the data lives, and no offline generator (a DVC remote holds it)."""
    before = project.read(EXAMPLE_FILE)
    after = before.replace(
        'DATA_FILE = Path("data/churn.csv")', f'DATA_FILE = Path("data/{table.name}.csv")'
    ).replace(
        "build_sample: Callable[[], pd.DataFrame] | None = bundled_sample",
        "build_sample: Callable[[], pd.DataFrame] | None = None",
    )
    lines = zip(before.splitlines(), after.splitlines(), strict=True)
    assert sum(old != new for old, new in lines) == 2, "example.py no longer has the two lines"
    project.edit(EXAMPLE_FILE, after)


def _pin_the_data(project: Project, table: Table, extract: Path) -> None:
    """Step 3: the extract under data/, pinned with DVC (as docs/adapting.md says)."""
    shutil.rmtree(project.root / "data", ignore_errors=True)
    (project.root / "data").mkdir()
    shutil.copy(extract, project.root / f"data/{table.name}.csv")
    pin = ["uv", "run", "dvc", "add", "data", "--quiet"]
    subprocess.run(pin, cwd=project.root, env=project.env, check=True)
    project.touched.add("data.dvc")


def _declare_the_objective(project: Project, table: Table) -> None:
    """Step 5a: the decision objective is the user's, not the example's."""
    config = project.read(MODEL_CONFIG)
    example = 'objective = "cost"\ncost_ratio = 2.0\n'
    assert example in config
    project.edit(MODEL_CONFIG, config.replace(example, table.objective))


def _set_the_proposed_threshold(project: Project, draft: str) -> str:
    """Step 5b: copy the draft's two [decision] lines into configs/model.toml; return them."""
    threshold = re.search(r"(?m)^#   threshold = (0\.\d\d)$", draft)
    calibrated_on = re.search(r'(?m)^#   calibrated_on = "([^"]+)"$', draft)
    assert threshold is not None, draft
    assert calibrated_on is not None, draft
    config = project.read(MODEL_CONFIG)
    config = re.sub(r"(?m)^threshold = .*$", f"threshold = {threshold[1]}", config)
    config = re.sub(r"(?m)^calibrated_on = .*$", f'calibrated_on = "{calibrated_on[1]}"', config)
    project.edit(MODEL_CONFIG, config)
    return threshold[1]


def _calibrate(project: Project, table: Table) -> None:
    """Step 5: the example's baseline goes; threshold and gate are drafted from the new data."""
    _declare_the_objective(project, table)
    project.remove("ci/baseline.json")
    first = project.just("calibrate", "--draft", "build/gates.toml")
    assert "floor, max drop: the limits of build/gates.toml, the draft written now" in first.stdout
    assert "did not measure" in first.stdout  # the example's slices in ci/gates.toml: said
    assert "chosen on other data" in first.stdout  # the example's threshold: said
    threshold = _set_the_proposed_threshold(project, project.read("build/gates.toml"))
    again = project.just("calibrate", "--draft", "build/gates.toml", "--force")
    assert "keep it" in again.stdout, again.stdout
    assert f"the configured threshold {float(threshold):g} was chosen on this data" in again.stdout
    project.edit("ci/gates.toml", project.read("build/gates.toml"))


# >>> serving
def _predict_over_http(project: Project, table: Table, extract: Path) -> None:
    """Serve the packaged champion and score a record copied from the extract, label and all.

    The answer speaks the table's language: ``<label>_probability``, and ``<label>_predicted`` in
    the label's own values, as the extract writes them; nothing in the API names the example.
    """
    label = table.schema.label
    record = json.loads(pd.read_csv(extract, nrows=1).to_json(orient="records"))[0]
    assert record[label.name] in {label.positive, label.negative}  # the label: not read, ignored
    log = project.root.parent / "serve.log"  # outside the project: git does not see it
    with just_serve(project.root, project.env, log) as url:
        answer, document, card = ask_service(url, record)
    assert 0.0 <= answer[f"{label.name}_probability"] <= 1.0, answer
    assert answer[f"{label.name}_predicted"] in {label.positive, label.negative}, answer
    assert "churn" not in document.replace("churn-model", "")
    assert [feature["name"] for feature in card["features"]] == table.schema.feature_names()


# <<< serving
@pytest.mark.parametrize(
    "table", [WIDE, CREDIT, ATTRITION, ONE_NUMBER], ids=lambda table: table.name
)
def test_a_table_is_adopted_by_the_documented_path_alone(tmp_path: Path, table: Table) -> None:
    started = time.perf_counter()
    project = Project(tmp_path / "project")
    extract = tmp_path / f"{table.name}.csv"
    frame = synthetic_frame(table.rows, seed=11, schema=table.schema)
    table.extract(frame).to_csv(extract, index=False)

    _draft_the_schema(project, table, extract)
    project.just("validate", str(extract))  # only the schema replaced: it already works
    _the_two_lines(project, table)
    _pin_the_data(project, table, extract)
    project.remove("tests/example")  # the example's own tests go; the team's take their place
    project.edit(f"tests/example/test_{table.name}.py", USER_TEST)
    _calibrate(project, table)
    _git(project.root, "add", "--all")
    _git(project.root, "commit", "--quiet", "-m", f"Adopt the template for the {table.name} table")

    assert "Model gate PASSED" in project.just("pipeline").stdout
    project.just("promote")  # no --allow-dirty: the docs' order gives a clean first champion
    baseline = json.loads(project.read("ci/baseline.json"))
    card = json.loads(project.read(f"artifacts/registry/models/{baseline['model_id']}/card.json"))
    assert card["git"] == {
        "commit": _git(project.root, "rev-parse", "HEAD").strip(),
        "dirty": False,
    }
    project.just("package")
    # The steps below and the files touched do not depend on each other: all are reported.
    failed: list[str] = []
    steps: list[tuple[str, Callable[[], object]]] = [("just check", lambda: project.just("check"))]
    # >>> serving
    steps.insert(0, ("a /predict over HTTP", lambda: _predict_over_http(project, table, extract)))
    # <<< serving
    for step, run in steps:
        try:
            run()
        except AssertionError as error:
            failed.append(f"{step} failed: {error}")

    by_hand = sorted(name for name in project.touched if not name.startswith(ALLOWED))
    if by_hand:
        failed.append(f"files outside the domain, the config and ci/ were edited: {by_hand}")
    changed = project.changed()
    beyond = [name for name in changed if not name.startswith(ALLOWED + WRITTEN_BY_RECIPES)]
    if beyond:
        failed.append(f"files beyond the documented ones changed: {beyond}")
    print(f"\n{table.name}: {len(project.touched)} files edited by hand: {sorted(project.touched)}")
    for step, seconds in project.times.items():
        print(f"  just {step:<72} {seconds:6.1f} s")
    print(f"  {table.name}: total {time.perf_counter() - started:.1f} s")
    assert not failed, "\n\n".join(failed)
