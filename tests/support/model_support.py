"""Shared helpers for the model-path tests: small synthetic tables, fast candidates, lenient gates.

Everything here reads the project's schema (:data:`churn_model.domain.schema.SCHEMA`)
and draws its data with :mod:`churn_model.data.synthetic`, so the machinery tests pass
on any schema a user plugs in. They judge candidates with :func:`lenient_gates`, never with the
project's ``ci/gates.toml``: that file is calibrated for the project's real data, not for a small
synthetic table. A test that needs a failing floor puts it :func:`above` what the model measured.

The fast config (:func:`fast_config`, :func:`fast_model_config`) also cuts latency timing to
one call per run (:data:`FAST_TIMING`): the tests check that latency is measured and gated, not how
fast this machine is; ``scripts/`` holds the real benchmark. A test that trains, gates or promotes
passes it explicitly (a config path, a ``ModelConfig``, a registry's ``model_config``); the
project's ``configs/model.toml`` states the plan ``just train`` times.
"""

import tomllib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import tomlkit
from sklearn.pipeline import Pipeline

from churn_model.config import (
    GateConfig,
    LatencyBudget,
    LatencyRun,
    ModelConfig,
    SizeBudget,
    TimingConfig,
    load_model_config,
)
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.domain.features import ModelParams, build_pipeline
from churn_model.domain.schema import SCHEMA
from churn_model.model import training
from churn_model.model.artifact import MAX_LOADED_BYTES
from churn_model.model.candidate import StagedLog, create_candidate
from churn_model.release.calibration import gates_toml

ROOT = Path(__file__).resolve().parents[2]
FAST_ITERATIONS = 40
"""Boosting rounds for tests that check machinery, not model quality (the default is 200)."""

PROJECT_TIMING = load_model_config(ROOT / "configs/model.toml").timing
"""The latency plan the project's ``configs/model.toml`` declares (``just train`` times it)."""

FAST_TIMING = TimingConfig(
    warmup_calls=1,
    runs={
        name: LatencyRun(rows=run.rows, calls=1, rounds=1)
        for name, run in PROJECT_TIMING.runs.items()
    },
)
"""The project's runs, under their names (the ones the gate's budget names), each timed in one call
after one warm-up call: the fewest the plan allows (tests check that latency is timed and gated;
each call costs a pipeline's prediction, a few milliseconds of every evaluation)."""


def write_sample(path: Path, rows: int, seed: int = 7) -> Path:
    """Write ``rows`` synthetic rows of the project's schema as CSV to ``path`` and return it."""
    write_csv(synthetic_frame(rows, seed), path)
    return path


def lenient_gates() -> GateConfig:
    """Gate settings every model passes, however well or badly it learned, however large it is.

    Every kind of row the gate writes is there (a floor, a zero recall floor on every slice the
    schema declares, allowed drops, latency, size), with limits no model can miss: floors of 0,
    drops of 1, latency and size budgets far beyond what a model measures (the size ceiling is the
    loader's own). Synthetic rows of some schemas teach little, and seeds of one schema spread:
    a test about one rule sets that rule's limit from what it controls (the candidate's own
    figures, a baseline it builds), never from how good a model turned out.
    """
    return GateConfig(
        floors={"roc_auc": 0.0},
        slice_floors={name: {"recall": 0.0} for name in SCHEMA.slice_names()},
        max_drop={"roc_auc": 1.0, "recall": 1.0, "f1": 1.0},
        latency=LatencyBudget(factor=3.0, floor_ms=dict.fromkeys(FAST_TIMING.runs, 60_000.0)),
        size=SizeBudget(max_loaded_bytes=MAX_LOADED_BYTES, max_growth=1_000.0),
    )


def above(measured: float | None) -> float:
    """A floor the measured value misses: halfway from it to 1 (a metric never exceeds 1)."""
    assert measured is not None, "the metric was not measurable on these rows"
    assert measured < 1.0, "a perfect score: no floor can fail it"
    return round((measured + 1.0) / 2, 6)


def spare_name(name: str) -> str:
    """``name``, or ``name`` and a number: a column the project's schema does not have.

    For the extra columns a test adds to a table (a file may carry columns beyond the schema's):
    the schema a user plugs in may well have a column called ``note`` or ``email``.
    """
    taken = {column.lower() for column in SCHEMA.column_names()}
    return next(
        candidate
        for number in range(len(taken) + 1)
        if (candidate := f"{name}{number or ''}").lower() not in taken
    )


def fast_config_text(
    iterations: int | None = FAST_ITERATIONS, timing: TimingConfig = FAST_TIMING
) -> str:
    """The project's ``configs/model.toml`` with ``iterations`` boosting rounds and ``timing``.

    ``iterations=None`` keeps the project's. Everything else (split, seed, threshold) is the
    project's, so a candidate trained with it matches the recipe the gate checks against
    ``configs/model.toml``.
    """
    document = tomlkit.parse((ROOT / "configs/model.toml").read_text(encoding="utf-8"))
    if iterations is not None:
        model = document["model"]
        assert isinstance(model, dict), "configs/model.toml has no [model] table"
        assert "max_iter" in model, "configs/model.toml has no max_iter to shorten"
        model["max_iter"] = iterations
    document["timing"] = timing.model_dump()
    return tomlkit.dumps(document)


def fast_config(
    dest: Path, iterations: int | None = FAST_ITERATIONS, timing: TimingConfig = FAST_TIMING
) -> Path:
    """Write :func:`fast_config_text` to ``dest`` (creating its folder); return ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(fast_config_text(iterations, timing), encoding="utf-8")
    return dest


def fast_model_config(timing: TimingConfig = FAST_TIMING) -> ModelConfig:
    """The fast config as a record: what a test passes the gate or promotion to judge with."""
    return ModelConfig.model_validate(tomllib.loads(fast_config_text(timing=timing)))


def small_candidate(
    folder: Path,
    rows: int = 2_000,
    seed: int = 7,
    log_staged: StagedLog | None = None,
) -> Path:
    """Train a candidate the fast way (synthetic rows, fast config) under ``folder``; return it.

    The table goes to ``folder/sample-<seed>.csv``, the config to ``folder/model.toml`` and the
    candidate under ``folder/candidates``: what most model-path tests need before they gate,
    promote, tamper or serve.
    """
    return create_candidate(
        write_sample(folder / f"sample-{seed}.csv", rows, seed),
        config_path=fast_config(folder / "model.toml"),
        root=folder / "candidates",
        log_staged=log_staged,
    )


def make_project(dest: Path) -> Path:
    """Create a minimal project folder at ``dest``: the fast model config and lenient gates.

    There is no ``ci/baseline.json`` (nothing promoted yet).
    """
    fast_config(dest / "configs/model.toml")
    (dest / "ci").mkdir(parents=True)
    (dest / "ci/gates.toml").write_text(gates_toml(lenient_gates()), encoding="utf-8")
    return dest


class RowSlices:
    """The project's schema, with extra slices that select fixed rows of a table by index label.

    ``evaluate`` asks its schema for ``slice_masks(x_test)`` only; the held-out rows keep the
    table's index, so a slice of a few chosen rows lands in the held-out split under some seeds
    and not under others, as a slice of 11 rows of a real table does. Patch it in with
    ``monkeypatch.setattr(evaluation, "SCHEMA", RowSlices(...))``.
    """

    def __init__(self, **rows: list[int]) -> None:
        """``rows`` maps each extra slice's name to the index labels of the rows it selects."""
        self.rows = rows

    def slice_masks(self, frame: pd.DataFrame) -> dict[str, npt.NDArray[np.bool_]]:
        """The project's masks over ``frame``, then one per extra slice."""
        extra = {name: frame.index.isin(ids) for name, ids in self.rows.items()}
        return {**SCHEMA.slice_masks(frame), **extra}

    def slice_names(self) -> list[str]:
        """The project's slice names, then the extra ones."""
        return [*SCHEMA.slice_names(), *self.rows]


def _with_a_step_selecting_nothing(params: ModelParams, seed: int) -> Pipeline:
    """The domain's pipeline, plus a passthrough step over no column (a schema without booleans)."""
    pipeline = build_pipeline(params, seed)
    preprocess = pipeline.steps[0][1]
    preprocess.transformers = [*preprocess.transformers, ("nothing", "passthrough", [])]
    return pipeline


def candidate_with_an_empty_step(folder: Path) -> Path:
    """A small candidate whose preprocessing has a step selecting no column, under ``folder``.

    What a schema without a boolean column gives: the fast path must serve it (or decline), never
    crash; the gate's serving check proves which.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "build_pipeline", _with_a_step_selecting_nothing)
        return small_candidate(folder, rows=1_500)
