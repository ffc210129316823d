"""The gate's terminal table shows every metric name whole, however narrow the console.

A slice's rows differ only at the end of their metric names (``slices.<slice>.roc_auc``,
``slices.<slice>.recall``): a name cut short leaves two rows nobody can tell apart. Rich prints
80 columns when there is no terminal, so the table is read at that width too.
"""

from churn_model.model.evaluation import ClassificationMetrics, LatencyStats, Metrics
from churn_model.release.gate_report import render_table
from churn_model.release.verdict import Verdict

from model_support import FAST_TIMING, lenient_gates
from rich_tables import column_text, rendered
from verdicts import verdict_for

LONG_SLICE = "a_rather_long_column_name=a_rather_long_category_value"
"""A slice as a real table names one: a long column name and a long value."""


def verdict_with_a_long_slice() -> Verdict:
    """A verdict whose rows the gate writes for fabricated figures, with LONG_SLICE's floors."""
    figures = ClassificationMetrics(
        rows=400, positives=80, accuracy=0.8, precision=0.6, recall=0.7, f1=0.65, roc_auc=0.85
    )
    latency = LatencyStats(
        batch_size=1, rounds=1, calls=1, cpu_p50_ms=1.0, cpu_p95_ms=1.0, cpu_p99_ms=1.0,
        wall_p50_ms=1.0, wall_p99_ms=1.0,
    )  # fmt: skip
    metrics = Metrics(
        threshold=0.5,
        overall=figures,
        slices={LONG_SLICE: figures},
        latency=dict.fromkeys(FAST_TIMING.runs, latency),
        model_size_bytes=1_000,
        model_loaded_bytes=2_000,
    )
    config = lenient_gates().model_copy(
        update={"slice_floors": {LONG_SLICE: {"roc_auc": 0.5, "recall": 0.5}}}
    )
    return verdict_for(metrics, config)


def test_the_gate_table_shows_every_metric_name_whole_at_80_columns() -> None:
    verdict = verdict_with_a_long_slice()
    names = [row.metric for row in verdict.rows]
    assert {f"slices.{LONG_SLICE}.roc_auc", f"slices.{LONG_SLICE}.recall"} <= set(names)
    for width in (80, 140):
        text = rendered(render_table(verdict), width)
        assert "…" not in text
        assert column_text(text, 1) == "".join(names)
