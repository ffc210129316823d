"""Evaluation on the held-out split: quality overall and per slice, latency, size.

Quality metrics are a pure function of the model and the test rows (deterministic). Latency is
measured, so it varies with the machine. What the gate compares must not vary with how busy the
machine is, or a shared CI runner fails a model identical to the baseline. So each call is timed by
the CPU time of the calling thread (``time.thread_time_ns``): time the thread spent waiting for a
core while neighbours ran is not counted, time it spent computing is. Scoring runs on that one
thread (OpenMP limited to one), so nothing is missed. The calls run in rounds, and the percentiles
reported are those of the round with the lowest median: the least disturbed one (a neighbour can
still evict caches, which costs CPU time too). Every call scores the same rows, so the spread
between calls is noise, not the model: the gate compares the median (``cpu_p50_ms``); the tail and
the wall-clock percentiles of that round are recorded for information. How many rows, calls,
rounds and warm-up calls is the caller's
:class:`~churn_model.config.TimingConfig`, read from ``configs/model.toml [timing]``.
"""

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from churn_model.config import LatencyRun, Threshold, TimingConfig
from churn_model.domain.schema import SCHEMA
from churn_model.model.artifact import model_loaded_bytes
from churn_model.model.resolution import resampled_metrics, resolution
from churn_model.records import Record
from churn_model.threads import limited


class ClassificationMetrics(Record):
    """Quality of the hard labels (at the decision threshold) and of the scores, on some rows.

    A figure the rows cannot measure is ``None``, never a made-up 0: every one on no rows; recall
    on rows without a positive; precision when no row is flagged; F1 when there is neither a
    positive nor a flagged row; ROC AUC unless both classes are present. A small slice of a real
    table meets each of these under some split; its counts say why.
    """

    rows: int
    positives: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    roc_auc: float | None


class LatencyStats(Record):
    """Time of one ``predict_proba`` call, in milliseconds, in the least disturbed round.

    ``cpu_*`` is the calling thread's CPU time (the gate compares ``cpu_p50_ms``: the neighbours
    of a busy machine barely inflate it); ``wall_*`` the elapsed time of the same calls, for
    information (the neighbours inflate it several-fold).
    """

    batch_size: int
    rounds: int
    calls: int
    """Timed calls per round."""
    cpu_p50_ms: float
    cpu_p95_ms: float
    cpu_p99_ms: float
    wall_p50_ms: float
    wall_p99_ms: float


class Metrics(Record):
    """Everything measured about a candidate: written to ``metrics.json`` and the model card."""

    threshold: Threshold
    overall: ClassificationMetrics
    slices: dict[str, ClassificationMetrics]
    latency: dict[str, LatencyStats]
    model_size_bytes: int
    """Size of ``model.skops`` on disk."""
    model_loaded_bytes: int
    """What loading ``model.skops`` inflates: the uncompressed size of its zip members."""


@dataclass(frozen=True)
class Evaluation:
    """The metrics, the raw scores the report plots from, and each slice's held-out rows."""

    metrics: Metrics
    y_true: np.ndarray
    y_score: np.ndarray
    slice_masks: dict[str, np.ndarray]

    def resolution(self) -> dict[str, float | None]:
        """The resolution of every quality figure.

        See :mod:`churn_model.model.resolution`.
        """
        return resolution(self.y_true, self.y_score, self.metrics.threshold, self.slice_masks)


def classification_metrics(
    y_true: np.ndarray, y_score: np.ndarray, threshold: float
) -> ClassificationMetrics:
    """Score hard labels (``y_score >= threshold``) and the scores themselves against ``y_true``.

    What the rows cannot measure (see :class:`ClassificationMetrics`) is ``None``. The figures
    are those of the bootstrap's counting (:func:`.resolution.resampled_metrics`) on the rows
    drawn once each, so a figure and its resolution are computed one way; they equal
    scikit-learn's ``accuracy_score``, ``precision_score``, ``recall_score``, ``f1_score`` and
    ``roc_auc_score`` (a test holds them to it), at a fraction of their argument checking.
    """
    rows, positives = len(y_true), int(np.sum(y_true))
    flagged = int(np.count_nonzero(y_score >= threshold))
    found = resampled_metrics(
        np.asarray(y_true, dtype=np.int64),
        np.asarray(y_score, dtype=np.float64),
        threshold,
        np.ones((rows, 1)),
    )

    def measured(defined: bool, metric: str) -> float | None:
        return float(found[metric][0]) if defined else None

    return ClassificationMetrics(
        rows=rows,
        positives=positives,
        accuracy=measured(rows > 0, "accuracy"),
        precision=measured(flagged > 0, "precision"),
        recall=measured(positives > 0, "recall"),
        f1=measured(positives + flagged > 0, "f1"),
        roc_auc=measured(0 < positives < rows, "roc_auc"),
    )


def measure_latency(
    predict: Callable[[pd.DataFrame], object],
    rows: pd.DataFrame,
    run: LatencyRun,
    *,
    warmup_calls: int,
) -> LatencyStats:
    """Time ``predict`` on ``run.rows`` rows: ``run.rounds`` rounds of ``run.calls`` calls.

    ``warmup_calls`` untimed calls go first (first calls pay for lazy initialisation). Each call
    runs on one thread and is timed by that thread's CPU time and by the wall clock; the
    percentiles come from the round with the lowest CPU median (see the module docstring). Rows
    are repeated when ``rows`` is shorter than the batch, so any test split can be timed.
    """
    batch_size, calls, rounds = run.rows, run.calls, run.rounds
    reps = -(-batch_size // len(rows))
    batch = pd.concat([rows] * reps).iloc[:batch_size] if reps > 1 else rows.iloc[:batch_size]
    cpu = np.empty((rounds, calls), dtype=np.int64)
    wall = np.empty((rounds, calls), dtype=np.int64)
    with limited(1):
        for _ in range(warmup_calls):
            predict(batch)
        # A garbage-collector pass landing inside one timed call is noise, not the model's cost.
        gc.disable()
        try:
            for r in range(rounds):
                for i in range(calls):
                    cpu_start, wall_start = time.thread_time_ns(), time.perf_counter_ns()
                    predict(batch)
                    cpu[r, i] = time.thread_time_ns() - cpu_start
                    wall[r, i] = time.perf_counter_ns() - wall_start
        finally:
            gc.enable()
    best = int(np.argmin(np.median(cpu, axis=1)))
    cpu_ms, wall_ms = cpu[best] / 1e6, wall[best] / 1e6
    p50, p95, p99 = np.percentile(cpu_ms, [50, 95, 99])
    wall_p50, wall_p99 = np.percentile(wall_ms, [50, 99])
    return LatencyStats(
        batch_size=batch_size,
        rounds=rounds,
        calls=calls,
        cpu_p50_ms=round(float(p50), 3),
        cpu_p95_ms=round(float(p95), 3),
        cpu_p99_ms=round(float(p99), 3),
        wall_p50_ms=round(float(wall_p50), 3),
        wall_p99_ms=round(float(wall_p99), 3),
    )


def score(pipeline: Pipeline, x: pd.DataFrame) -> np.ndarray:
    """Return the predicted probability of the positive class for each row, single-threaded.

    One thread, as in :func:`churn_model.model.training.train`: on these sizes OpenMP
    threads only add contention (and the scores do not depend on the thread count).
    """
    with limited(1):
        return np.asarray(pipeline.predict_proba(x)[:, 1])


def evaluate(
    pipeline: Pipeline,
    x_test: pd.DataFrame,
    y_test: pd.Series,
    threshold: float,
    model_path: Path,
    *,
    timing: TimingConfig,
) -> Evaluation:
    """Measure ``pipeline`` on the held-out rows, overall and on every slice the schema declares.

    ``model_path`` is the saved model file (for its size); ``timing`` is how latency is timed:
    each of its runs, under its name, after its warm-up calls.
    """
    y_true = y_test.to_numpy(dtype=np.int64)
    y_score = score(pipeline, x_test)
    masks = {
        name: np.asarray(mask, dtype=bool) for name, mask in SCHEMA.slice_masks(x_test).items()
    }
    slices = {
        name: classification_metrics(y_true[mask], y_score[mask], threshold)
        for name, mask in masks.items()
    }
    latency = {
        name: measure_latency(pipeline.predict_proba, x_test, run, warmup_calls=timing.warmup_calls)
        for name, run in timing.runs.items()
    }
    metrics = Metrics(
        threshold=threshold,
        overall=classification_metrics(y_true, y_score, threshold),
        slices=slices,
        latency=latency,
        model_size_bytes=model_path.stat().st_size,
        model_loaded_bytes=model_loaded_bytes(model_path),
    )
    return Evaluation(metrics=metrics, y_true=y_true, y_score=y_score, slice_masks=masks)


def flatten(metrics: Metrics) -> dict[str, float | None]:
    """Return every measured number under a dotted name (``slices.<slice>.recall``).

    The gate's config addresses metrics by these names.
    """
    flat: dict[str, float | None] = {}
    for key, value in metrics.overall.model_dump().items():
        flat[f"overall.{key}"] = value
    for name, stats in metrics.slices.items():
        for key, value in stats.model_dump().items():
            flat[f"slices.{name}.{key}"] = value
    for name, timing in metrics.latency.items():
        for key, value in timing.model_dump().items():
            flat[f"latency.{name}.{key}"] = value
    flat["model_size_bytes"] = metrics.model_size_bytes
    flat["model_loaded_bytes"] = metrics.model_loaded_bytes
    return flat
