"""Adopting the template for another table means editing the domain and ``ci/``, nothing else.

In a copy of the repository (its own git history and virtual environment), this test does what a
new user does with an extract of their own: a loan-default table with other column names, no id
column, a text label with a positive value, a nullable float, a five-value category and a boolean
written as 1.0/0.0. It drafts the schema with ``just infer-schema``, adds a slice on a numeric
threshold, points the domain at the new data file, pins it with DVC, drafts ``ci/gates.toml`` with
``just calibrate``, and replaces the example's own tests with one of its own. Then ``just
pipeline``, ``just promote``, a ``/predict`` over HTTP and ``just check`` must pass, and the files
it touched must all be domain files, ``ci/`` files, the data pin or the example's tests.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest

from churn_model.spec import Column, Label, Schema
from churn_model.synthetic import synthetic_frame

from repo_copy import copy_repository

pytestmark = pytest.mark.slow

LOANS = Schema(
    features=(
        Column("loan_amount", "float", "Amount lent.", gt=0, le=50_000),
        Column("history_months", "int", "Months of credit history.", ge=0, le=240),
        Column(
            "debt_ratio",
            "float",
            "Debt over income; missing if unknown.",
            ge=0,
            le=5,
            nullable=True,
        ),
        Column(
            "purpose",
            "category",
            "What the loan is for.",
            categories=("car", "home", "education", "business", "other"),
        ),
        Column("has_guarantor", "bool", "Whether someone guarantees the loan."),
    ),
    label=Label("defaulted", positive="yes", negative="no", description="Whether it defaulted."),
    positive_rate=(0.05, 0.6),
)
"""The second table, drawn by the synthetic generator (its schema is then inferred, not copied)."""

ALLOWED = ("src/churn_model/domain/", "ci/", "tests/example/", "data.dvc")
"""Where a user adopting the template may have to edit: the domain, the gate, the data pin and the
example's own tests."""

WRITTEN_BY_RECIPES = ("ci/baseline.json", "docs/model/")
"""What `just promote` rewrites (committed, as for the example)."""

USER_TEST = '''"""The loan extract pinned by data.dvc is the one the schema describes."""

from churn_model.data import DATA_FILE, read_table
from churn_model.domain.schema import SCHEMA
from churn_model.validation import validate


def test_the_pinned_extract_validates() -> None:
    frame = validate(read_table(DATA_FILE), str(DATA_FILE))
    assert len(frame) >= SCHEMA.min_rows
'''


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


class Project:
    """A copy of the repository with its own environment; runs recipes and records timings."""

    def __init__(self, root: Path) -> None:
        """Copy the tracked files of this checkout to ``root`` and commit them."""
        self.root = copy_repository(root)
        # Unlike other copy-based tests, the copy gets a virtual environment of its own (uv links
        # it from its warm cache in seconds): this checkout's would import this checkout's domain.
        own = ("UV_PROJECT_ENVIRONMENT", "UV_NO_SYNC", "VIRTUAL_ENV")
        self.env = {k: v for k, v in os.environ.items() if k not in own} | {"NO_COLOR": "1"}
        _git(root, "init", "--quiet")
        _git(root, "add", "--all")
        _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "clone")
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
        self.times[step] = time.perf_counter() - began
        assert result.returncode == expect, (
            f"just {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        )
        return result

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
        """Every path git sees as changed since the copy (added, modified, deleted)."""
        lines = _git(self.root, "status", "--porcelain", "--untracked-files=all").splitlines()
        return sorted(line[3:] for line in lines)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _served(project: Project) -> Iterator[str]:
    """`just serve` on a free loopback port, until the block ends (SIGTERM to its group)."""
    port = _free_port()
    log = project.root.parent / "serve.log"  # outside the project: git does not see it
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["just", "serve", "--port", str(port)],
            cwd=project.root,
            env=project.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not get ready"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


SCHEMA_FILE = "src/churn_model/domain/schema.py"


def _draft_the_schema(project: Project, extract: Path) -> None:
    """Draft the schema from the extract, then add what only the user knows: a slice."""
    options = ["--label", "defaulted", "--positive", "yes", "--output", SCHEMA_FILE, "--force"]
    drafted = project.just("infer-schema", str(extract), *options)
    assert f"schema drafted to {SCHEMA_FILE}" in drafted.stdout
    text = (project.root / SCHEMA_FILE).read_text(encoding="utf-8")
    assert "id=" not in text  # no unique column: no id
    slice_line = '        Slice("short_history", "history_months", "lt", 12),\n'
    project.edit(SCHEMA_FILE, text.replace("    slices=(\n", "    slices=(\n" + slice_line, 1))


def _a_bad_slice_is_refused_naming_it(project: Project) -> None:
    """A slice naming an unknown column stops every command before any work, in one sentence."""
    good = (project.root / SCHEMA_FILE).read_text(encoding="utf-8")
    project.edit(SCHEMA_FILE, good.replace('"history_months", "lt"', '"history", "lt"'))
    refused = project.just("train", expect=1)
    expected = "error: invalid schema: slice 'short_history': unknown column 'history'"
    assert expected in refused.stderr
    assert "Traceback" not in refused.stderr
    project.edit(SCHEMA_FILE, good)


def _pin_the_data(project: Project, extract: Path) -> None:
    """Point the domain at the data file (no offline generator: a DVC remote holds it), pin it."""
    project.edit(
        "src/churn_model/domain/example.py",
        '"""The pinned data: the loan extract, from the team\'s DVC remote."""\n\n'
        "from collections.abc import Callable\nfrom pathlib import Path\n\nimport pandas as pd\n\n"
        'DATA_FILE = Path("data/loans.csv")\n\n'
        "build_sample: Callable[[], pd.DataFrame] | None = None\n",
    )
    shutil.rmtree(project.root / "data", ignore_errors=True)
    (project.root / "data").mkdir()
    shutil.copy(extract, project.root / "data/loans.csv")
    pin = ["uv", "run", "dvc", "add", "data", "--quiet"]  # as docs/adapting.md says
    subprocess.run(pin, cwd=project.root, env=project.env, check=True)
    project.touched.add("data.dvc")


def _draft_the_gate(project: Project) -> None:
    """The example's baseline goes; the thresholds are drafted from the spreads on the new data."""
    project.remove("ci/baseline.json")
    calibrated = project.just("calibrate", "--draft", "ci/gates.toml", "--force")
    assert "slices.short_history.recall" in calibrated.stdout
    assert "did not measure" in calibrated.stdout  # the example's slices: said, not fatal
    project.touched.add("ci/gates.toml")
    assert "short_history" in (project.root / "ci/gates.toml").read_text(encoding="utf-8")


def _predict_over_http(project: Project, extract: Path) -> None:
    """Serve the packaged champion and score a record copied from the extract, label and all.

    The answer speaks the loans' language: ``defaulted_probability`` and ``defaulted_predicted``,
    ``"yes"`` or ``"no"`` as the extract writes it.
    """
    rows = pd.read_csv(extract, nrows=50)
    record = json.loads(rows[rows["debt_ratio"].isna()].head(1).to_json(orient="records"))[0]
    assert record["debt_ratio"] is None
    assert record["has_guarantor"] in {0.0, 1.0}  # as the extract writes it
    assert record["defaulted"] in {"yes", "no"}  # the label: not read, ignored
    with _served(project) as url:
        answer = httpx.post(f"{url}/predict", json=record, timeout=10)
        assert answer.status_code == 200, answer.text
        assert 0.0 <= answer.json()["defaulted_probability"] <= 1.0
        assert answer.json()["defaulted_predicted"] in {"yes", "no"}
        assert "churn" not in httpx.get(f"{url}/openapi.json", timeout=10).text.replace(
            "churn-model", ""
        )
        card = httpx.get(f"{url}/metadata", timeout=10).json()
        assert [feature["name"] for feature in card["features"]] == LOANS.feature_names()


def test_another_table_needs_only_domain_and_ci_edits(tmp_path: Path) -> None:
    started = time.perf_counter()
    project = Project(tmp_path / "project")
    extract = tmp_path / "loans.csv"
    frame = synthetic_frame(4_000, seed=11, schema=LOANS)
    # As many extracts have it: the boolean written as a float column (1.0/0.0).
    frame.astype({"has_guarantor": float}).to_csv(extract, index=False)

    _draft_the_schema(project, extract)
    _a_bad_slice_is_refused_naming_it(project)
    _pin_the_data(project, extract)
    project.remove("tests/example")  # the example's own tests go; the team's take their place
    project.edit("tests/example/test_loans.py", USER_TEST)
    _draft_the_gate(project)

    assert "Model gate PASSED" in project.just("pipeline").stdout
    project.just("promote")
    project.just("package")
    _predict_over_http(project, extract)
    project.just("check")

    changed = project.changed()
    assert all(name.startswith(ALLOWED) for name in project.touched), sorted(project.touched)
    assert all(name.startswith(ALLOWED + WRITTEN_BY_RECIPES) for name in changed), changed
    print(f"\nadaptation: {len(project.touched)} files edited by hand: {sorted(project.touched)}")
    print(f"git sees {len(changed)} changed paths (promote's included): {changed}")
    for step, seconds in project.times.items():
        print(f"  just {step:<72} {seconds:6.1f} s")
    print(f"  total {time.perf_counter() - started:.1f} s")
