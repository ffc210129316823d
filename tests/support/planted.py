"""Planted regressions measured in a verdict's own resolution, and small tables at a set rate.

A regression is planted by raising the baseline, not by spoiling the model: the candidate's figures
stay what the gate measured, and the baseline claims each overall metric ``scale`` times its
resolution higher. The allowed drop of each metric is set to its resolution, the sharpest limit the
held-out rows support: so no drop passes cleanly, a drop inside the noise is undetectable, and one
over twice the resolution fails outright. Everything is read from the verdict, never from a
column name or a figure of the example.
"""

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from churn_model.config import GateConfig
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.domain.schema import SCHEMA
from churn_model.release.gate_rows import Baseline
from churn_model.release.verdict import Verdict

GATED = ("roc_auc", "recall", "f1")
"""The overall metrics the planted regressions and allowed drops are on."""


def rate_for(positive_rate: float) -> float:
    """``positive_rate``, or the nearest rate inside the schema's own sane range.

    A project whose range excludes it gets the nearest rate its validation accepts.
    """
    low, high = SCHEMA.positive_rate
    return min(max(positive_rate, low + 0.01), high - 0.01)


def write_table(path: Path, rows: int, positive_rate: float, seed: int = 7) -> Path:
    """Write ``rows`` synthetic rows of the project's schema, about :func:`rate_for` positive."""
    low, high = SCHEMA.positive_rate
    rate = rate_for(positive_rate)
    spread = min(rate - low, high - rate)
    schema = dataclasses.replace(SCHEMA, positive_rate=(rate - spread, rate + spread))
    write_csv(synthetic_frame(rows, seed, schema=schema), path)
    return path


def resolution_of(verdict: Verdict, metric: str) -> float:
    """The resolution the verdict measured for overall ``metric`` (it must have one)."""
    found = verdict.resolution[f"overall.{metric}"]
    assert found is not None, f"overall.{metric} has no resolution on these rows"
    return found


def drops_at_resolution(config: GateConfig, verdict: Verdict) -> GateConfig:
    """``config`` with each of :data:`GATED`'s allowed drop set to its resolution in ``verdict``."""
    drops = {metric: resolution_of(verdict, metric) for metric in GATED}
    return config.model_copy(update={"max_drop": drops})


def planted_baseline(verdict: Verdict, scale: float) -> Baseline:
    """A baseline ``scale`` resolutions above ``verdict``'s figures on each of :data:`GATED`."""
    overall = verdict.metrics.overall
    raised = {m: getattr(overall, m) + scale * resolution_of(verdict, m) for m in GATED}
    metrics = verdict.metrics.model_copy(update={"overall": overall.model_copy(update=raised)})
    return Baseline(
        model_id="planted", promoted_at=datetime(2026, 1, 1, tzinfo=UTC), metrics=metrics
    )
