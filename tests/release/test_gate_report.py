"""The gate's terminal table shows every metric name whole, however narrow the console.

A slice's rows differ only at the end of their metric names (``slices.<slice>.roc_auc``,
``slices.<slice>.recall``): a name cut short leaves two rows nobody can tell apart. Rich prints
80 columns when there is no terminal, so the table is read at that width too.
"""

import pytest

from churn_model.model.evaluation import ClassificationMetrics, LatencyStats, Metrics
from churn_model.release.gate_report import render_markdown, render_table
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


@pytest.mark.parametrize(
    ("auc", "resolution", "said"),
    [
        (0.85, 0.05, None),
        (0.58, 0.1, "overall ROC AUC 0.580 ± 0.100 on 400 held-out rows"),
        (0.5, None, "overall ROC AUC 0.500 on 400 held-out rows"),  # one score for every row
        (0.45, 0.02, "overall ROC AUC 0.450 ± 0.020 on 400 held-out rows"),
        # A verdict written before the gate measured resolutions: only the figure can tell.
        (0.49, "absent", "overall ROC AUC 0.490 on 400 held-out rows"),
        (0.52, "absent", None),
    ],
)
def test_a_model_not_shown_to_beat_chance_is_said_whatever_its_rows(
    auc: float, resolution: float | str | None, said: str | None
) -> None:
    verdict = verdict_with_a_long_slice()
    overall = verdict.metrics.overall.model_copy(update={"roc_auc": auc})
    metrics = verdict.metrics.model_copy(update={"overall": overall})
    measured = {} if resolution == "absent" else {"overall.roc_auc": resolution}
    verdict = verdict.model_copy(update={"metrics": metrics, "resolution": measured})
    markdown, table = render_markdown(verdict), rendered(render_table(verdict), 200)
    if said is None:
        assert "chance" not in markdown
        assert "chance" not in table
    else:
        assert f"Not shown to beat chance: {said}, where 0.5 ranks rows at random." in markdown
        assert "Not shown to beat chance" in table


@pytest.mark.parametrize("auc", [1.0, 0.999])
def test_a_perfect_ranking_of_the_held_out_rows_asks_about_leaks(auc: float) -> None:
    verdict = verdict_with_a_long_slice()
    overall = verdict.metrics.overall.model_copy(update={"roc_auc": auc})
    verdict = verdict.model_copy(
        update={"metrics": verdict.metrics.model_copy(update={"overall": overall})}
    )
    markdown, table = render_markdown(verdict), rendered(render_table(verdict), 200)
    said = "Perfect on the held-out rows: overall ROC AUC 1 on 400 rows"
    assert (said in markdown, "Perfect on the held-out rows" in table) == (auc == 1.0,) * 2
    assert ("restates the label" in markdown) == (auc == 1.0)


@pytest.mark.parametrize("unseen", [[], ["a column", "another_one"]])
def test_features_never_missing_in_the_training_rows_are_named_under_the_table(
    unseen: list[str],
) -> None:
    verdict = verdict_with_a_long_slice().model_copy(update={"missing_unseen": unseen})
    markdown, table = render_markdown(verdict), rendered(render_table(verdict), 200)
    said = "Never missing in the training rows, though the schema lets them be: "
    assert (said + "a column, another_one. " in markdown) == bool(unseen)
    assert (said in " ".join(table.split())) == bool(unseen)


def test_a_slice_measured_with_no_floor_is_named_under_the_table() -> None:
    verdict = verdict_with_a_long_slice()
    assert "No floor" not in render_markdown(verdict)  # its one slice has floors
    small = ClassificationMetrics(
        rows=4, positives=3, accuracy=1.0, precision=1.0, recall=1.0, f1=1.0, roc_auc=1.0
    )
    slices = {**verdict.metrics.slices, "decade=1980s": small}
    verdict = verdict.model_copy(
        update={"metrics": verdict.metrics.model_copy(update={"slices": slices})}
    )
    markdown, table = render_markdown(verdict), rendered(render_table(verdict), 200)
    said = "No floor: decade=1980s (4 held-out rows, 3 positives): the schema declares"
    assert said in markdown
    assert said in " ".join(table.split())
    assert LONG_SLICE not in markdown.split("No floor:")[1]
