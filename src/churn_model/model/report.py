"""The human-readable side of an evaluation: a short Markdown report and two plots.

Plots are drawn on a bare ``matplotlib.figure.Figure`` (no pyplot, so no global backend or window
state; matplotlib is imported only when plotting, as it is a training-only dependency) and saved
without the PNG "Software" metadata, so the same scores give the same bytes.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import confusion_matrix, roc_curve

from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.model.evaluation import ClassificationMetrics, Metrics
from churn_model.model.resolution import QUALITY, RESAMPLES, Z

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_FILE = "report.md"
ROC_FILE = "roc.png"
CONFUSION_FILE = "confusion.png"

_PNG_METADATA = {"Software": None}
"""Drop the matplotlib version stamp so the bytes depend on the data only."""

_RATES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The ticks of both axes of the ROC plot."""


def _figure(width: float, height: float) -> "Figure":
    """Return a blank figure; matplotlib is imported here because only training needs it."""
    try:
        from matplotlib.figure import Figure  # noqa: PLC0415 -- `train` extra: serving installs lack it
    except ModuleNotFoundError:
        raise UserError("plotting needs matplotlib: install the `train` extra") from None
    return Figure(figsize=(width, height), dpi=100)


def plot_roc(y_true: np.ndarray, y_score: np.ndarray, auc: float | None, path: Path) -> None:
    """Draw the ROC curve of the held-out scores to ``path`` (PNG)."""
    fpr, tpr, _ = roc_curve(y_true, y_score)
    figure = _figure(4.5, 4.5)
    axes = figure.add_subplot()
    axes.plot(
        fpr, tpr, color="tab:blue", label="model" if auc is None else f"model (AUC {auc:.3f})"
    )
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
    axes.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC (held-out)")
    axes.set(xticks=_RATES, yticks=_RATES, xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    axes.legend(loc="lower right")
    # Fixed margins: every label of this plot has a known width (rates, fixed titles), so the
    # layout engine (a third of the plot's cost) has nothing to find.
    figure.subplots_adjust(left=0.15, right=0.96, bottom=0.11, top=0.93)
    figure.savefig(path, format="png", metadata=_PNG_METADATA)


def plot_confusion(y_true: np.ndarray, y_score: np.ndarray, threshold: float, path: Path) -> None:
    """Draw the confusion matrix at the decision threshold to ``path`` (PNG)."""
    matrix = confusion_matrix(y_true, (y_score >= threshold).astype(np.int64), labels=[0, 1])
    figure = _figure(4.5, 4.0)
    axes = figure.add_subplot()
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=color)
    axes.set(
        xticks=[0, 1],
        xticklabels=_VALUES,
        xlabel=f"Predicted {_LABEL.name}",
        ylabel=f"Actual {_LABEL.name}",
        title=f"Confusion matrix (threshold {threshold:g})",
    )
    # The label's values run up the left edge, so their width there is the font's height: fixed
    # margins fit any value, and the layout engine (a third of the plot's cost) has nothing to find.
    axes.set_yticks([0, 1], _VALUES, rotation=90, va="center")
    figure.subplots_adjust(left=0.14, right=0.97, bottom=0.13, top=0.92)
    figure.savefig(path, format="png", metadata=_PNG_METADATA)


_LABEL = SCHEMA.label
_VALUES = [str(_LABEL.negative), str(_LABEL.positive)]
"""The label's two values as its column spells them: the negative, then the positive."""
_CLASSES = [f"{_LABEL.name}={value}" for value in _VALUES]
"""The two classes as the report names them: ``<label>=<negative>`` then the positive."""


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _row(name: str, m: ClassificationMetrics) -> str:
    cells = [m.accuracy, m.precision, m.recall, m.f1, m.roc_auc]
    return f"| {name} | {m.rows} | {m.positives} | " + " | ".join(_fmt(c) for c in cells) + " |"


def _resolution_row(
    name: str, group: str, m: ClassificationMetrics, resolution: Mapping[str, float | None]
) -> str:
    cells = [resolution.get(f"{group}.{metric}") for metric in QUALITY]
    shown = ("n/a" if c is None else f"±{c:.3f}" for c in cells)
    return f"| {name} | {m.rows} | {m.positives} | " + " | ".join(shown) + " |"


def render_markdown(model_id: str, metrics: Metrics, resolution: Mapping[str, float | None]) -> str:
    """Return the Markdown report of one candidate's metrics and their resolution.

    ``resolution`` maps flattened metric names to the smallest change each figure can tell from
    noise (:func:`churn_model.model.resolution.resolution`).
    """
    header = (
        f"| slice | n | {_CLASSES[1]} | accuracy | precision | recall | F1 | ROC AUC |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    latency = "\n".join(
        f"| {stats.batch_size} | {stats.rounds} x {stats.calls} | {stats.cpu_p50_ms:.2f} "
        f"| {stats.cpu_p95_ms:.2f} | {stats.cpu_p99_ms:.2f} | {stats.wall_p50_ms:.2f} "
        f"| {stats.wall_p99_ms:.2f} |"
        for stats in metrics.latency.values()
    )
    slices = (
        f"{header}\n" + "\n".join(_row(name, m) for name, m in metrics.slices.items())
        if metrics.slices
        else "The schema declares no slice: add `Slice(...)` entries to its `slices` to measure\n"
        "sub-populations on their own (and let the gate put floors on them)."
    )
    resolved = "\n".join(
        [
            _resolution_row("all", "overall", metrics.overall, resolution),
            *(
                _resolution_row(name, f"slices.{name}", m, resolution)
                for name, m in metrics.slices.items()
            ),
        ]
    )
    return f"""# Model report: `{model_id}`

Metrics on the held-out split, with a row labelled `{_CLASSES[1]}` when the predicted probability
reaches **{metrics.threshold:g}**.

{header}
{_row("all", metrics.overall)}

## Slices

{slices}

`n/a` marks a figure the rows cannot measure: any on no rows; recall without a positive;
precision without a flagged row; F1 without either; ROC AUC without both classes.

## Resolution

The smallest change each figure can tell from noise on these held-out rows: {Z:g} standard
deviations of the figure over {RESAMPLES} seeded bootstrap resamples of the rows (within the slice
for a slice), the half-width of its 95 % interval. Another draw of as many rows would move the
figure about this much with the model unchanged: a gate limit closer to the figure than this judges
the draw, not the model (`just gate` marks such a row). `n/a`: the rows cannot say (too few rows
or positives, or a figure at 0 or 1 that no resample moves).

{header}
{resolved}

## Latency and size

Single-threaded `predict_proba`, in milliseconds, in the least disturbed of several rounds: the
thread's CPU time (the gate compares its median: a busy machine barely inflates it) and the wall
time of the same calls.

| batch size | rounds x calls | CPU p50 | CPU p95 | CPU p99 | wall p50 | wall p99 |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{latency}

Model file: {metrics.model_size_bytes:,} bytes on disk, {metrics.model_loaded_bytes:,} bytes loaded.

## Plots

![ROC curve]({ROC_FILE})

![Confusion matrix]({CONFUSION_FILE})
"""


def write_report(
    model_id: str,
    metrics: Metrics,
    y_true: np.ndarray,
    y_score: np.ndarray,
    folder: Path,
    *,
    resolution: Mapping[str, float | None],
) -> None:
    """Write ``report.md``, ``roc.png`` and ``confusion.png`` into ``folder``."""
    plot_roc(y_true, y_score, metrics.overall.roc_auc, folder / ROC_FILE)
    plot_confusion(y_true, y_score, metrics.threshold, folder / CONFUSION_FILE)
    (folder / REPORT_FILE).write_text(
        render_markdown(model_id, metrics, resolution), encoding="utf-8"
    )
