"""The training config's ``[timing]`` table: what latency timing is, read and refused like the rest.

The plan is configuration (``configs/model.toml``): training, calibration and the gate time what
it says. A bad table is refused when the file loads, in one sentence naming the field.
"""

from pathlib import Path

import pytest
import tomlkit

from churn_model.config import (
    DECLARED_RUNS,
    DECLARED_WARMUP_CALLS,
    TimingConfig,
    load_model_config,
)
from churn_model.errors import UserError

from model_support import FAST_TIMING, ROOT, fast_config


def _with_timing(tmp_path: Path, timing: dict[str, object] | None) -> Path:
    """The project's config with ``timing`` as its ``[timing]`` table (``None``: no table)."""
    document = tomlkit.parse((ROOT / "configs/model.toml").read_text(encoding="utf-8"))
    document.pop("timing", None)
    if timing is not None:
        document["timing"] = timing
    path = tmp_path / "model.toml"
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path


def test_the_default_plan_is_the_declared_one() -> None:
    assert TimingConfig().runs == DECLARED_RUNS
    assert TimingConfig().warmup_calls == DECLARED_WARMUP_CALLS


def test_a_config_without_a_timing_table_gets_the_declared_plan(tmp_path: Path) -> None:
    assert load_model_config(_with_timing(tmp_path, None)).timing == TimingConfig()


def test_the_fast_config_states_the_short_plan(tmp_path: Path) -> None:
    assert load_model_config(fast_config(tmp_path / "model.toml")).timing == FAST_TIMING


RUN = {"rows": 1, "calls": 3, "rounds": 1}


@pytest.mark.parametrize(
    ("timing", "refusal"),
    [
        (
            {"runs": {"batch_1": {**RUN, "calls": 0}}},
            r"timing\.runs\.batch_1\.calls: .*greater than or equal to 1",
        ),
        ({"warmup_calls": 0}, r"timing\.warmup_calls: .*greater than or equal to 1"),
        (
            {"runs": {"batch_1": {**RUN, "repeats": 2}}},
            r"timing\.runs\.batch_1\.repeats: Extra inputs",
        ),
        ({"warmup": 1}, r"timing\.warmup: Extra inputs are not permitted"),
        ({"runs": {}}, r"timing\.runs: Dictionary should have at least 1 item"),
        (
            {"runs": {"batch_1": {**RUN, "rows": "1000"}}},
            r"timing\.runs\.batch_1\.rows: .*valid integer",
        ),
    ],
)
def test_a_bad_timing_table_is_refused_naming_the_field(
    tmp_path: Path, timing: dict[str, object], refusal: str
) -> None:
    path = _with_timing(tmp_path, timing)
    with pytest.raises(UserError, match=refusal) as refused:
        load_model_config(path)
    assert str(refused.value).startswith(f"{path}: invalid configuration")
    assert len(str(refused.value).splitlines()) == 2  # the file, then the one bad field
