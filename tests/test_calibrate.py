"""Calibration reports a gate config that names a metric the model does not have, clearly."""

from pathlib import Path

import pytest

from churn_model.calibrate import calibrate
from churn_model.config import load_gate_config, load_model_config
from churn_model.domain.example import generate_sample
from churn_model.errors import UserError
from model_support import ROOT, fast_config, fast_latency


def test_an_unknown_slice_in_the_gate_config_is_a_user_error(tmp_path: Path) -> None:
    config = load_model_config(fast_config(tmp_path / "model.toml"))
    gates = load_gate_config(ROOT / "ci/gates.toml")
    typo = gates.model_copy(update={"slice_floors": {"never_purchsed": {"recall": 0.8}}})
    with fast_latency(), pytest.raises(UserError, match="never_purchsed"):
        calibrate(generate_sample(1_500, seed=3), config, typo, [1])
