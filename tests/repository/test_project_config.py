"""The committed gate thresholds and baseline agree with the project's schema.

A schema change that renames or drops a slice leaves ``ci/gates.toml`` (and the baseline of the
promoted model) naming metrics no candidate will have: the gate would then fail every model. This
says so at `just check` time, with what to do.
"""

from pathlib import Path

from churn_model.config import load_gate_config
from churn_model.domain.schema import SCHEMA
from churn_model.release.calibration import gated_names
from churn_model.release.gate_rows import read_baseline

ROOT = Path(__file__).resolve().parents[2]


def test_the_gate_names_only_slices_the_schema_declares() -> None:
    gates = load_gate_config(ROOT / "ci/gates.toml")
    unknown = set(gates.slice_floors) - set(SCHEMA.slice_names())
    assert not unknown, (
        f"ci/gates.toml has floors on slices the schema does not declare: {sorted(unknown)}; "
        "run `just calibrate --draft build/gates.toml` and update ci/gates.toml"
    )
    assert gated_names(gates)


def test_the_baseline_if_any_was_measured_on_the_declared_slices() -> None:
    baseline = read_baseline(ROOT / "ci/baseline.json")
    if baseline is not None:  # none until a first model is promoted
        assert list(baseline.metrics.slices) == SCHEMA.slice_names(), (
            "ci/baseline.json belongs to a model measured on other slices: promote a model "
            "trained on this schema (`just pipeline && just promote`), or delete the file"
        )
