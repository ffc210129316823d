"""The gate states each quality row's resolution, and flags a limit that sits inside it.

On a small table (1,500 rows, about 16 % positives: a few hundred held-out rows, a few dozen
positives), as a real first table often is. A regression is planted by raising the baseline by a
multiple of the verdict's own resolution, with each allowed drop set to that resolution
(``planted``): one inside the noise is reported as undetectable, one beyond it fails.
"""

import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from churn_model.config import GateConfig
from churn_model.errors import UserError
from churn_model.model.candidate import create_candidate
from churn_model.release.gate import run_gate
from churn_model.release.gate_report import render_markdown, render_table
from churn_model.release.gate_rows import (
    UNDETECTABLE,
    GateRow,
    gate_rows,
    threshold_rows,
)
from churn_model.release.verdict import Verdict, require_rows_still_pass

from model_support import fast_config, fast_model_config, lenient_gates
from planted import (
    GATED,
    drops_at_resolution,
    planted_baseline,
    rate_for,
    resolution_of,
    write_table,
)

FAST_MODEL = fast_model_config()
UNDETECTABLE_TEXT = "Undetectable at this size: "
QUALITY_CHECKS = {"floor", "slice floor", "regression"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("resolution")
    return create_candidate(
        write_table(tmp / "small.csv", 1_500, 0.16),
        config_path=fast_config(tmp / "model.toml"),
        root=tmp / "candidates",
    )


@pytest.fixture(scope="module")
def verdict(folder: Path) -> Verdict:
    return run_gate(folder, lenient_gates(), None, FAST_MODEL)


def rows_of(verdict: Verdict, config: GateConfig, scale: float) -> dict[str, GateRow]:
    """The regression rows of ``verdict``'s figures against a baseline ``scale`` resolutions up."""
    baseline = planted_baseline(verdict, scale)
    assert verdict.serving is not None
    rows = gate_rows(verdict.metrics, verdict.serving, config, baseline, verdict.resolution)
    return {row.metric: row for row in rows if row.check == "regression"}


def test_every_quality_row_states_its_resolution(verdict: Verdict) -> None:
    quality = [row for row in verdict.rows if row.check in QUALITY_CHECKS]
    assert {row.check for row in quality} >= {"floor", "regression"}
    for row in quality:
        assert row.resolution == verdict.resolution[row.metric]
    assert all(r.resolution is not None for r in quality if r.metric.startswith("overall."))
    overall = verdict.metrics.overall
    assert 200 < overall.rows < 500
    assert overall.positives / overall.rows == pytest.approx(rate_for(0.16), abs=0.06)
    # The bootstrap agrees with the binomial noise of an accuracy on this many rows.
    assert overall.accuracy is not None
    binomial = 1.96 * math.sqrt(overall.accuracy * (1 - overall.accuracy) / overall.rows)
    assert resolution_of(verdict, "accuracy") == pytest.approx(binomial, rel=0.2)
    summary = render_markdown(verdict)
    assert "| resolution |" in summary
    for row in quality:
        if row.resolution is not None and row.value is not None:
            assert f"| {row.metric} | {row.value:.4f} | ±{row.resolution:.4f} |" in summary
    console = Console(record=True, width=250)
    console.print(render_table(verdict))
    assert f"±{resolution_of(verdict, 'roc_auc'):.4f}" in console.export_text()


def test_a_regression_inside_the_resolution_is_undetectable_and_one_beyond_it_fails(
    verdict: Verdict,
) -> None:
    config = drops_at_resolution(lenient_gates(), verdict)
    unchanged = rows_of(verdict, config, 0.0)
    assert {row.status for row in unchanged.values()} == {"pass"}
    inside = rows_of(verdict, config, 0.5)
    assert {row.status for row in inside.values()} == {"warn"}
    for metric in GATED:
        note = inside[f"overall.{metric}"].note
        assert f"{UNDETECTABLE}: " in note
        assert "held-out rows" in note
        assert "positives" in note
    beyond = rows_of(verdict, config, 2.5)
    assert {row.status for row in beyond.values()} == {"fail"}
    assert not any(UNDETECTABLE in row.note for row in beyond.values())


def test_the_gate_reports_an_undetectable_row_and_promotion_recomputes_it(folder: Path) -> None:
    first = run_gate(folder, lenient_gates(), None, FAST_MODEL)
    config = drops_at_resolution(lenient_gates(), first)
    baseline = planted_baseline(first, 0.5)
    warned = run_gate(folder, config, baseline, FAST_MODEL)
    assert warned.passed
    assert {r.status for r in warned.rows if r.check == "regression"} == {"warn"}
    summary = render_markdown(warned)
    assert "| WARN |" not in summary
    assert "| **WARN** |" in summary
    (sentence,) = [line for line in summary.splitlines() if line.startswith(UNDETECTABLE_TEXT)]
    assert "regression overall." in sentence  # after any slice floor the schema's rows flag
    require_rows_still_pass(warned, config, baseline)  # promotion's recomputation agrees
    hidden = [
        r.model_copy(update={"status": "pass"}) if r.status == "warn" else r for r in warned.rows
    ]
    with pytest.raises(UserError, match="is not what"):
        require_rows_still_pass(warned.model_copy(update={"rows": hidden}), config, baseline)
    failed = run_gate(folder, config, planted_baseline(first, 2.5), FAST_MODEL)
    assert not failed.passed


def test_a_floor_within_its_resolution_is_flagged_on_either_side(verdict: Verdict) -> None:
    value, noise = verdict.metrics.overall.roc_auc, resolution_of(verdict, "roc_auc")
    assert value is not None
    found = {}
    for offset in (-2.0, -0.5, 0.5, 2.0):
        config = lenient_gates().model_copy(update={"floors": {"roc_auc": value + offset * noise}})
        row = threshold_rows(verdict.metrics, config, None, verdict.resolution)[0]
        found[offset] = (row.status, UNDETECTABLE in row.note)
    assert found == {
        -2.0: ("pass", False),
        -0.5: ("warn", True),
        0.5: ("fail", True),
        2.0: ("fail", False),
    }


def test_a_figure_without_a_resolution_is_flagged_and_an_old_verdict_is_not(
    verdict: Verdict,
) -> None:
    unstable = {**verdict.resolution, "overall.roc_auc": None}
    row = threshold_rows(verdict.metrics, lenient_gates(), None, unstable)[0]
    assert (row.metric, row.status, row.resolution) == ("overall.roc_auc", "warn", None)
    assert f"{UNDETECTABLE}: " in row.note
    assert "has no resolution" in row.note
    assert "cannot measure its noise" in row.note
    # A perfect figure has none either, and the note says why: no resample moves it.
    perfect = verdict.metrics.overall.model_copy(update={"roc_auc": 1.0})
    metrics = verdict.metrics.model_copy(update={"overall": perfect})
    at_one = threshold_rows(metrics, lenient_gates(), None, unstable)[0]
    assert "1.000 has no resolution: no resample of its " in at_one.note
    assert at_one.note.endswith("moves a figure at 1")
    summary = render_markdown(verdict.model_copy(update={"rows": [row]}))
    assert "| n/a |" in summary
    assert "or the figure's noise cannot be measured there (n/a: it never varies)" in summary
    # A verdict written before the gate measured resolutions: its rows carry none, and recompute.
    assert verdict.serving is not None
    old_rows = gate_rows(verdict.metrics, verdict.serving, lenient_gates(), None)
    assert all(r.resolution is None and r.status != "warn" for r in old_rows)
    written = verdict.model_copy(update={"rows": old_rows}).model_dump(mode="json")
    del written["resolution"]
    for row in written["rows"]:
        del row["resolution"]
    old = Verdict.model_validate_json(json.dumps(written))
    assert old.resolution == {}
    require_rows_still_pass(old, lenient_gates(), None)
