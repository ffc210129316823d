"""The bundled example's data, thresholds and baseline: tests of the example, not the machinery.

They live in ``tests/example/``, apart from the machinery's tests: a project that adopts the
template with its own data replaces this folder with tests of its own data (or deletes it).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from churn_model.config import TimingConfig, load_gate_config, load_model_config
from churn_model.data.pinning import DATA_FILE, DVC_FILE
from churn_model.data.tables import write_csv
from churn_model.data.validation import validate
from churn_model.domain.churn_sample import SAMPLE_ROWS, generate_sample
from churn_model.domain.schema import SCHEMA
from churn_model.release.gate_rows import read_baseline

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of the full sample as `just data` writes it (without needing data/ to exist)."""
    path = tmp_path_factory.mktemp("sample") / DATA_FILE.name
    write_csv(generate_sample(), path)
    return path.read_bytes()


def test_the_pinned_sample_is_what_the_example_generates(sample_bytes: bytes) -> None:
    pinned = (ROOT / DVC_FILE).read_text(encoding="utf-8")
    assert f"size: {len(sample_bytes)}" in pinned


def test_the_sample_tells_its_story() -> None:
    frame = validate(generate_sample(), "sample")
    churned = SCHEMA.label.encode(frame[SCHEMA.label.name])
    never = frame["days_since_last_purchase"].isna().to_numpy()
    assert len(frame) == SAMPLE_ROWS
    assert 0.2 < churned.mean() < 0.3
    assert churned[never].mean() > 2 * churned[~never].mean()


def test_the_committed_gate_and_baseline_are_the_calibrated_example() -> None:
    gates = load_gate_config(ROOT / "ci/gates.toml")
    assert gates.slice_floors["never_purchased"]["recall"] >= 0.8
    baseline = read_baseline(ROOT / "ci/baseline.json")
    assert baseline is not None, "ci/baseline.json is missing: run `just promote`"
    auc = baseline.metrics.overall.roc_auc
    assert auc is not None
    assert auc > gates.floors["roc_auc"]


@pytest.mark.slow
def test_just_data_rebuilds_and_verifies_the_sample_in_a_fresh_clone(
    tmp_path: Path, sample_bytes: bytes
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(ROOT / ".venv"), "UV_NO_SYNC": "1"}
    result = subprocess.run(
        ["just", "data"], cwd=clone, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert f"{DATA_FILE}: {SAMPLE_ROWS} rows" in result.stdout
    assert (clone / DATA_FILE).read_bytes() == sample_bytes


def test_the_generator_is_imported_only_when_build_sample_runs() -> None:
    """Loading the domain and the data machinery never imports the example's generator.

    It builds the example's own columns: a project whose schema has others sets ``build_sample =
    None`` and must be able to run every command without it (``just validate`` first of all).
    """
    probe = (
        "import sys\n"
        "import churn_model.cli\n"
        "import churn_model.data.pinning\n"
        "import churn_model.data.validation\n"
        "from churn_model.domain import example\n"
        "name = 'churn_model.domain.churn_sample'\n"
        "print(name in sys.modules)\n"
        "assert example.build_sample is not None\n"
        "example.build_sample()\n"
        "print(name in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.split() == ["False", "True"]


def test_the_examples_config_times_the_declared_plan() -> None:
    # The example's configs/model.toml writes the default [timing] out, for a reader to edit.
    assert load_model_config(ROOT / "configs/model.toml").timing == TimingConfig()
