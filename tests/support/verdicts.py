"""A gate verdict for given figures, without training: for the tests of what reads a verdict.

The rows are the gate's own (:func:`gate_rows`); the provenance (data, split, file hashes) is a
placeholder nothing under test reads.
"""

from datetime import UTC, datetime

from churn_model.config import GateConfig
from churn_model.data.pinning import DataInfo
from churn_model.model.card import SplitInfo
from churn_model.model.evaluation import Metrics
from churn_model.release.gate_rows import gate_rows
from churn_model.release.serving_check import ServingCheck
from churn_model.release.verdict import BOUND_FILES, Verdict


def verdict_for(metrics: Metrics, config: GateConfig) -> Verdict:
    """The verdict the gate would store for ``metrics`` under ``config``, with no baseline."""
    serving = ServingCheck(probe_rows=256, gap=0.0)
    rows = gate_rows(metrics, serving, config, None)
    test_rows = metrics.overall.rows
    return Verdict(
        candidate_id="c",
        model_sha256="0" * 64,
        files=dict.fromkeys(BOUND_FILES, "0" * 64),
        data=DataInfo(version="v", source="s.csv", rows=4 * test_rows),
        split=SplitInfo(
            policy="p", test_size=0.25, seed=42, train_rows=3 * test_rows, test_rows=test_rows
        ),
        baseline_id=None,
        checked_at=datetime(2026, 1, 1, tzinfo=UTC),
        passed=all(row.status != "fail" for row in rows),
        metrics=metrics,
        rows=rows,
        serving=serving,
    )
