"""Calibration: how much do the gated metrics move when only the seeds change?

A regression tolerance below run-to-run noise fails good models at random; a floor right at the
mean fails half of them. Training the same data and config under several seeds (both the split and
the estimator's) measures that noise, so ``ci/gates.toml`` can be set above it.
"""

import statistics
import tempfile
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict
from rich.table import Table

from churn_model.artifact import MODEL_FILE, save_model
from churn_model.config import GateConfig, ModelConfig
from churn_model.evaluate import evaluate, flatten
from churn_model.gate import metric_value
from churn_model.train import train


class Spread(BaseModel):
    """One metric's distribution over the calibration seeds, with the gate's limits on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    mean: float
    std: float
    min: float
    max: float
    floor: float | None = None
    max_drop: float | None = None


def gated_metrics(config: GateConfig) -> list[str]:
    """Return the dotted names of every metric ``config`` puts a threshold on."""
    names = [f"overall.{name}" for name in {**config.floors, **config.max_drop}]
    for slice_name, floors in config.slice_floors.items():
        names += [f"slices.{slice_name}.{name}" for name in floors]
    names += [f"latency.{run}.cpu_p50_ms" for run in config.latency.floor_ms]
    return [*dict.fromkeys(names), "model_loaded_bytes"]


def calibrate(
    frame: pd.DataFrame, config: ModelConfig, gates: GateConfig, seeds: list[int]
) -> list[Spread]:
    """Train and evaluate once per seed; return the spread of every gated metric."""
    runs: list[dict[str, float | None]] = []
    with tempfile.TemporaryDirectory(prefix="calibrate-") as scratch:
        model_path = Path(scratch) / MODEL_FILE
        for seed in seeds:
            trained = train(frame, config, seed=seed)
            save_model(trained.pipeline, model_path)
            evaluation = evaluate(
                trained.pipeline,
                trained.x_test,
                trained.y_test,
                config.decision.threshold,
                model_path,
            )
            runs.append(flatten(evaluation.metrics))
    floors = {f"overall.{k}": v for k, v in gates.floors.items()}
    for slice_name, slice_floors in gates.slice_floors.items():
        floors |= {f"slices.{slice_name}.{k}": v for k, v in slice_floors.items()}
    drops = {f"overall.{k}": v for k, v in gates.max_drop.items()}
    spreads = []
    for name in gated_metrics(gates):
        values = [v for run in runs if (v := metric_value(run, name)) is not None]
        if values:
            spreads.append(
                Spread(
                    metric=name,
                    mean=statistics.fmean(values),
                    std=statistics.stdev(values) if len(values) > 1 else 0.0,
                    min=min(values),
                    max=max(values),
                    floor=floors.get(name),
                    max_drop=drops.get(name),
                )
            )
    return spreads


def render_table(spreads: list[Spread], seeds: list[int]) -> Table:
    """Return the calibration figures as a rich table."""
    table = Table(title=f"Calibration over {len(seeds)} seeds ({seeds[0]}..{seeds[-1]})")
    for header in ("metric", "mean", "std", "min", "max", "max-min", "floor", "max drop"):
        table.add_column(header, justify="left" if header == "metric" else "right")
    for s in spreads:
        table.add_row(
            s.metric,
            *(f"{v:.4f}" for v in (s.mean, s.std, s.min, s.max, s.max - s.min)),
            "-" if s.floor is None else f"{s.floor:.2f}",
            "-" if s.max_drop is None else f"{s.max_drop:.3f}",
        )
    return table
