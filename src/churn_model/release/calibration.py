"""Calibration: how much do the metrics move when only the seeds change, and where to set the gate?

A regression tolerance below run-to-run noise fails good models at random; a floor right at the
mean fails half of them. Training the same data and config under several seeds (both the split and
the estimator's) measures that noise, so ``ci/gates.toml`` can be set above it.

Calibration reports every metric it measured (overall, every slice the schema declares, latency,
size), whatever ``ci/gates.toml`` says: it exists to help write that file, so a file naming metrics
or slices the data lacks is reported, not fatal. :func:`draft_gates` turns the spreads into a
``gates.toml`` by the rule written in its header (:data:`RULE`): floors only on slices every seed
held enough rows and positives of (``[slices]`` of ``ci/gates.toml``), and a warning for a floor or
allowed drop too lenient to catch a model that lost half of what it measures (:data:`LENIENT`).
"""

import math
import statistics
import tempfile
import textwrap
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import tomlkit
import tomlkit.items
from rich.table import Table

from churn_model.config import (
    DEFAULT_GATE_CONFIG,
    MIN_SLICE_POSITIVES,
    MIN_SLICE_ROWS,
    GateConfig,
    LatencyBudget,
    ModelConfig,
    SizeBudget,
    SliceMinimum,
    load_gate_config,
    load_model_config,
)
from churn_model.data.pinning import load_dataset
from churn_model.model.artifact import MODEL_FILE, save_model
from churn_model.model.evaluation import evaluate, flatten
from churn_model.model.resolution import CHANCE_ROC_AUC
from churn_model.model.training import train
from churn_model.records import Record
from churn_model.release import decision_threshold

QUALITY = ("roc_auc", "recall", "f1", "precision", "accuracy")
"""The quality metrics reported overall and per slice."""

FLOORED = ("roc_auc", "recall", "f1")
"""Overall metrics the draft puts a floor and an allowed drop on."""

SLICE_FLOORED = ("roc_auc", "recall")
"""Slice metrics the draft puts a floor on."""

COUNTS = ("rows", "positives")
"""The held-out counts reported per slice: what its figures rest on, and what the minimum judges."""

RULE = """\
Floors sit 4 standard deviations under the mean, and under every seed's value, rounded down to 0.01
(0.01 more when that is a seed's value: 0.99 for a figure every seed measured at 1); a floor that
could never fail (0 or less, 0.5 or less for ROC AUC) is left out, and so is a metric that some seed
could not measure (a slice with a single class). A slice gets floors only if every seed's held-out
split gave it the [slices] minimum of rows and positives (with fewer, its figures measure which rows
the split drew). Allowed drops exceed both 3 x the standard deviation of the difference of two seeds
(sqrt(2) x std) and the whole min-max range, rounded up to 0.005, so retraining under another seed
never fails on noise alone. Latency is judged by a factor of 2.5 over the baseline's CPU time; its
floors, a quarter of the mean CPU time per call rounded up to 1, 2 or 5 x 10^k ms, only absorb a
tiny baseline's timer noise. The size ceiling is about three times the largest loaded model, rounded
up the same way (growth 1.5 x the baseline). Re-run `just calibrate` and revisit these after
changing the data, the features or the model."""

LENIENT = """\
A floor or allowed drop is too lenient when a model that lost half of what the seeds measured
would still pass it: half its recall or F1 (whose chance level is 0), or half its ROC AUC's lead
over chance (0.5). The draft keeps such a threshold, and names it."""

TABLE_NOTES = {
    "floors": "Absolute minimums on the whole held-out split.",
    "slices": (
        "A slice is judged only when its held-out split holds at least min_rows rows and "
        f"min_positives positives (without this table, {MIN_SLICE_ROWS} and "
        f"{MIN_SLICE_POSITIVES}). At {MIN_SLICE_POSITIVES} positives one more or one fewer moves "
        f"the slice's recall by {1 / MIN_SLICE_POSITIVES:g}, five steps of a drafted floor; at "
        f"{MIN_SLICE_ROWS} rows one row moves its accuracy by {1 / MIN_SLICE_ROWS:g}. Under them "
        "its figures mostly measure which rows the split drew: the gate skips its floors (and "
        "says so), calibrate drafts none, infer-schema drafts no slice."
    ),
    "slice_floors": "Minimums per slice: a model may not buy its score by failing a slice.",
    "max_drop": "Largest allowed absolute drop against the baseline (the promoted model).",
    "latency": (
        "CPU time of one single-threaded predict_proba call per batch size (cpu_p50_ms, the "
        "median of the least disturbed of several rounds) must stay under max(factor x baseline, "
        "floor). Wall time on a busy machine is several times the model's cost; its CPU time "
        "grows 1.2-1.6x there (3 CPU-bound neighbours per 2 cores), while a model doing three "
        "times the work measures 3.2-3.9x: the factor sits between. The floors only keep a "
        "sub-millisecond baseline's timer noise from failing a good model. With no baseline yet "
        "(a project's first model), latency is not judged."
    ),
    "size": (
        "What loading model.skops inflates (model_loaded_bytes): an absolute ceiling, and at most "
        "this growth over the baseline's. It must stay under the loader's own ceiling "
        "(churn_model.model.artifact.MAX_LOADED_BYTES)."
    ),
}
"""What each table of ``ci/gates.toml`` means: the comment :func:`gates_toml` writes under it."""

NO_SLICE_FLOORS = (
    "No slice floor: the schema declares no slice, or none was measurable on every seed."
)
"""The comment of an empty ``[slice_floors]`` table."""

LATENCY_FACTOR = 2.5
"""The drafted latency factor: an identical model measured up to 1.6x its baseline's CPU time on a
busy or slower machine, a model doing three times the work 3.2x and more (see ``ci/gates.toml``)."""


class Spread(Record):
    """One metric's distribution over the calibration seeds, with the gate's limits on it."""

    metric: str
    runs: int
    """How many seeds measured it (fewer than all when a slice had a single class)."""
    mean: float
    std: float
    min: float
    max: float
    floor: float | None = None
    max_drop: float | None = None


def slice_of(metric: str) -> str:
    """The slice a ``slices.<name>.<metric>`` name is about (the slice's name may hold dots)."""
    return metric.removeprefix("slices.").rpartition(".")[0]


def _slice_names(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(slice_of(name) for name in names if name.startswith("slices.")))


def measured_names(flat: dict[str, float | None]) -> list[str]:
    """The metrics calibration reports, in order: overall, per slice, latency, size.

    Each slice reports its quality and its held-out counts (rows, positives).
    """
    names = [f"overall.{metric}" for metric in QUALITY]
    slices = _slice_names(flat)
    names += [f"slices.{name}.{metric}" for name in slices for metric in (*QUALITY, *COUNTS)]
    runs = dict.fromkeys(key.split(".")[1] for key in flat if key.startswith("latency."))
    names += [f"latency.{run}.cpu_p50_ms" for run in runs]
    return [*names, "model_loaded_bytes", "model_size_bytes"]


def gated_names(config: GateConfig) -> list[str]:
    """Return the dotted names of every metric ``config`` puts a threshold on."""
    names = [f"overall.{name}" for name in {**config.floors, **config.max_drop}]
    for slice_name, floors in config.slice_floors.items():
        names += [f"slices.{slice_name}.{name}" for name in floors]
    names += [f"latency.{run}.cpu_p50_ms" for run in config.latency.floor_ms]
    return [*dict.fromkeys(names), "model_loaded_bytes"]


@dataclass(frozen=True)
class SeedRun:
    """One calibration seed: its flattened metrics, and its held-out labels and scores.

    :mod:`churn_model.release.decision_threshold` proposes a threshold from the scores.
    """

    metrics: dict[str, float | None]
    y_true: npt.NDArray[np.int64]
    y_score: npt.NDArray[np.float64]


def run_seeds(
    frame: pd.DataFrame, config: ModelConfig, seeds: Sequence[int]
) -> list[dict[str, float | None]]:
    """Train and evaluate once per seed; return each run's flattened metrics."""
    return [run.metrics for run in run_scored(frame, config, seeds)]


def run_scored(frame: pd.DataFrame, config: ModelConfig, seeds: Sequence[int]) -> list[SeedRun]:
    """Train and evaluate once per seed; return each run's metrics and held-out scores."""
    runs: list[SeedRun] = []
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
                timing=config.timing,
            )
            runs.append(SeedRun(flatten(evaluation.metrics), evaluation.y_true, evaluation.y_score))
    return runs


def spreads(runs: list[dict[str, float | None]], gates: GateConfig | None = None) -> list[Spread]:
    """The spread of every metric measured in at least one run, with ``gates``' limits beside it."""
    floors: dict[str, float] = {}
    drops: dict[str, float] = {}
    if gates is not None:
        floors = {f"overall.{k}": v for k, v in gates.floors.items()}
        for slice_name, slice_floors in gates.slice_floors.items():
            floors |= {f"slices.{slice_name}.{k}": v for k, v in slice_floors.items()}
        drops = {f"overall.{k}": v for k, v in gates.max_drop.items()}
    found = []
    for name in measured_names(runs[0]):
        values = [value for run in runs if (value := run.get(name)) is not None]
        if values:
            found.append(
                Spread(
                    metric=name,
                    runs=len(values),
                    mean=statistics.fmean(values),
                    std=statistics.stdev(values) if len(values) > 1 else 0.0,
                    min=min(values),
                    max=max(values),
                    floor=floors.get(name),
                    max_drop=drops.get(name),
                )
            )
    return found


def limits_of(draft: str) -> GateConfig:
    """The gate config a drafted ``gates.toml`` text sets, to show its limits beside the spreads."""
    return GateConfig.model_validate(tomllib.loads(draft))


def unmeasured(found: list[Spread], gates: GateConfig) -> list[str]:
    """The metrics ``gates`` puts a threshold on that no calibration run measured."""
    measured = {spread.metric for spread in found}
    return [name for name in gated_names(gates) if name not in measured]


def render_table(found: list[Spread], seeds: Sequence[int], limits: str | None = None) -> Table:
    """Return the calibration figures as a rich table.

    ``limits`` names the file whose floors and allowed drops ``found`` carries (the draft being
    written, or the current gate), said under the table so nobody mistakes one for the other.
    """
    table = Table(
        title=f"Calibration over {len(seeds)} seeds ({seeds[0]}..{seeds[-1]})",
        caption="floor, max drop: "
        + (f"the limits of {limits}" if limits else "no gates file, no limits"),
    )
    headers = ("metric", "runs", "mean", "std", "min", "max", "max-min", "floor", "max drop")
    # Folded, never cut: a slice's metric names differ only at their end.
    for header in headers:
        table.add_column(header, justify="left" if header == "metric" else "right", overflow="fold")
    for s in found:
        table.add_row(
            s.metric,
            str(s.runs),
            *(_figure(v, s.metric) for v in (s.mean, s.std, s.min, s.max, s.max - s.min)),
            "-" if s.floor is None else f"{s.floor:.2f}",
            "-" if s.max_drop is None else f"{s.max_drop:.3f}",
        )
    return table


def _figure(value: float, metric: str = "") -> str:
    if metric.endswith(tuple(f".{count}" for count in COUNTS)):
        return f"{value:,.1f}"
    return f"{value:,.0f}" if abs(value) >= 1_000 else f"{value:.4f}"


# ---------------------------------------------------------------- drafting ci/gates.toml


def _round_down(value: float, step: float) -> float:
    return round(math.floor(value / step + 1e-9) * step, 6)


def _round_up(value: float, step: float) -> float:
    return round(math.ceil(value / step - 1e-9) * step, 6)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2 or 5 x 10^k that is at least ``value`` (``value`` > 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= value * (1 - 1e-12)))


def draft_floor(spread: Spread, runs: int) -> float | None:
    """The floor the rule gives ``spread``, or ``None`` when it would be useless or unsafe.

    Strictly under every seed's value: seeds that all measured a perfect figure (a slice the model
    never misses) give a floor one step under it, not one a single miss fails.
    """
    if spread.runs < runs:
        return None
    floor = _round_down(min(spread.mean - 4 * spread.std, spread.min), 0.01)
    if floor >= spread.min:
        floor = round(floor - 0.01, 6)
    useless = CHANCE_ROC_AUC if spread.metric.endswith("roc_auc") else 0.0
    return floor if floor > useless else None


def draft_drop(spread: Spread) -> float:
    """The allowed drop the rule gives ``spread``: above noise, whichever way it is measured.

    At most 1, the most a score can drop (and the most ``ci/gates.toml`` takes): a metric that
    noisy is left free to move, not drafted into a file the gate would refuse to read.
    """
    needed = max(3 * math.sqrt(2) * spread.std, spread.max - spread.min)
    drop = _round_up(needed, 0.005)
    return min(drop if drop > needed else round(drop + 0.005, 6), 1.0)


def _table_comment(found: list[Spread]) -> list[str]:
    rows = [f"  {'metric':<44}{'mean':>10}{'std':>10}{'min':>10}{'max':>10}"]
    for s in found:
        if s.metric.endswith(("precision", "accuracy")):
            continue
        figures = "".join(f"{_figure(v, s.metric):>10}" for v in (s.mean, s.std, s.min, s.max))
        rows.append(f"  {s.metric:<44}{figures}")
    return rows


def lenient(spread: Spread, *, floor: float | None = None, drop: float | None = None) -> str | None:
    """Say why ``floor`` or ``drop`` on ``spread`` is too lenient (:data:`LENIENT`), or ``None``.

    The named regression is a model at half of the mean (half of its lead over chance for ROC
    AUC): a floor at or under that value passes it, and so does an allowed drop at least as large
    as the loss (a baseline at the mean, the model at half of it).
    """
    chance = CHANCE_ROC_AUC if spread.metric.endswith("roc_auc") else 0.0
    halved = chance + (spread.mean - chance) / 2
    if chance:
        model = f"a model at {halved:.2f}, half as far above chance as the mean {spread.mean:.2f}"
    else:
        model = f"a model at {halved:.2f}, half the mean {spread.mean:.2f}"
    if floor is not None and floor <= halved:
        return f"{spread.metric}: the floor {floor:.2f} passes {model}"
    if drop is not None and drop >= spread.mean - halved:
        return f"{spread.metric}: the allowed drop {drop:.3f} passes {model}"
    return None


def chance_note(found: list[Spread]) -> str | None:
    """Say that the seeds do not show the model beats chance, or ``None`` when they do.

    Two standard deviations of the seeds' ROC AUC reaching 0.5 (a random ranking) mean this table
    and these features may teach the model nothing: its recall and F1 then come from where the
    threshold sits (flagging every row gives a recall of 1), and the rule drafts no ROC AUC floor.
    """
    auc = next((s for s in found if s.metric == "overall.roc_auc"), None)
    if auc is None or auc.mean - 2 * auc.std > CHANCE_ROC_AUC:
        return None
    return (
        f"overall.roc_auc: {auc.mean:.2f} ± {2 * auc.std:.2f} over {auc.runs} seeds (two "
        "standard deviations) does not clear 0.5, a random ranking: the model may have learned "
        "nothing from this table, and thresholds drafted from these runs cannot tell. Before a "
        "gate means anything here: more labelled rows, or features that carry the label"
    )


class Draft(Record):
    """The thresholds :data:`RULE` gives a calibration, and what it left out or warns about."""

    floors: dict[str, float]
    slice_floors: dict[str, dict[str, float]]
    max_drop: dict[str, float]
    minimum: SliceMinimum
    dropped: dict[str, str]
    """Slices under ``minimum`` on some seed (no floor drafted), with their smallest counts."""
    too_lenient: list[str]
    """Drafted thresholds a model losing half of what it measured would pass (:data:`LENIENT`)."""

    def notes(self) -> list[str]:
        """What the draft says besides its thresholds: dropped slices, lenient thresholds."""
        dropped = [f"slice {name!r} gets no floor: {why}" for name, why in self.dropped.items()]
        lenient = [f"too lenient: {why}" for why in self.too_lenient]
        rule = [" ".join(LENIENT.split())] if lenient else []
        return [*dropped, *lenient, *rule]


def draft(found: list[Spread], seeds: Sequence[int], minimum: SliceMinimum) -> Draft:
    """Apply :data:`RULE` to the spreads of a calibration over ``seeds``."""
    by_name = {s.metric: s for s in found}
    runs = len(seeds)
    warnings: list[str] = []

    def floors_of(prefix: str, metrics: Sequence[str]) -> dict[str, float]:
        floors: dict[str, float] = {}
        for metric in metrics:
            spread = by_name.get(f"{prefix}.{metric}")
            floor = None if spread is None else draft_floor(spread, runs)
            if spread is not None and floor is not None:
                floors[metric] = floor
                warnings.extend(filter(None, [lenient(spread, floor=floor)]))
        return floors

    overall = floors_of("overall", FLOORED)
    slice_floors: dict[str, dict[str, float]] = {}
    dropped: dict[str, str] = {}
    for name in _slice_names(by_name):
        rows, positives = (by_name.get(f"slices.{name}.{count}") for count in COUNTS)
        smallest = (rows.min, positives.min) if rows and positives else (0.0, 0.0)
        under = minimum.shortfall(*smallest)
        if under is not None:
            dropped[name] = f"the fewest over the seeds were {under}"
            continue
        floors = floors_of(f"slices.{name}", SLICE_FLOORED)
        if floors:
            slice_floors[name] = floors
    drops = {}
    for metric in FLOORED:
        spread = by_name.get(f"overall.{metric}")
        if spread is not None and spread.runs == runs:
            drops[metric] = draft_drop(spread)
            warnings.extend(filter(None, [lenient(spread, drop=drops[metric])]))
    return Draft(
        floors=overall,
        slice_floors=slice_floors,
        max_drop=drops,
        minimum=minimum,
        dropped=dropped,
        too_lenient=warnings,
    )


def draft_notes(
    found: list[Spread], seeds: Sequence[int], minimum: SliceMinimum | None = None
) -> list[str]:
    """What :func:`draft_gates` says besides its thresholds: slices left out, lenient thresholds."""
    return draft(found, seeds, minimum or SliceMinimum()).notes()


def _wrapped(text: str, indent: str = "", hang: str = "") -> list[str]:
    """``text`` as comment lines (without the ``#``) of at most 98 characters."""
    return textwrap.wrap(text, 96, initial_indent=indent, subsequent_indent=hang) or [""]


def _section(title: str, items: list[str]) -> list[str]:
    """``title`` and ``items`` as comment lines of the draft's header; nothing without items."""
    if not items:
        return []
    return [
        "",
        *title.splitlines(),
        *(line for item in items for line in _wrapped(item, "  ", "    ")),
    ]


def _table(values: Mapping[Any, object], note: str | None) -> tomlkit.items.Table:
    """A TOML table of ``values``, under the comment lines of ``note``."""
    table = tomlkit.table()
    for line in [] if note is None else _wrapped(note):
        table.add(tomlkit.comment(line))
    for key, value in values.items():
        table.add(key, value)
    return table


def gates_toml(config: GateConfig, header: Sequence[str] = ()) -> str:
    """``config`` as the text of a ``ci/gates.toml``: ``header`` as comment lines, then the tables.

    The one writer of that file (:func:`draft_gates`, and the tests that write a gate config):
    each table under the comment of :data:`TABLE_NOTES` saying what it means; TOML's quoting and
    escaping are tomlkit's, so any slice or batch name round-trips.
    """
    document = tomlkit.document()
    for line in header:
        document.add(tomlkit.comment(line))
    if header:
        document.add(tomlkit.nl())
    document.add("floors", _table(config.floors, TABLE_NOTES["floors"]))
    document.add("slices", _table(config.slices.model_dump(), TABLE_NOTES["slices"]))
    if config.slice_floors:
        per_slice = tomlkit.table(is_super_table=True)
        for number, (name, floors) in enumerate(config.slice_floors.items()):
            per_slice.add(
                name, _table(floors, TABLE_NOTES["slice_floors"] if number == 0 else None)
            )
        document.add("slice_floors", per_slice)
    else:
        document.add("slice_floors", _table({}, NO_SLICE_FLOORS))
    document.add("max_drop", _table(config.max_drop, TABLE_NOTES["max_drop"]))
    latency = _table({"factor": config.latency.factor}, TABLE_NOTES["latency"])
    floor_ms = tomlkit.inline_table()
    floor_ms.update(config.latency.floor_ms)
    latency.add("floor_ms", floor_ms)
    document.add("latency", latency)
    document.add("size", _table(config.size.model_dump(), TABLE_NOTES["size"]))
    return tomlkit.dumps(document)


def draft_gates(
    found: list[Spread], seeds: Sequence[int], source: str, minimum: SliceMinimum | None = None
) -> str:
    """Return a ``gates.toml`` whose thresholds follow :data:`RULE` from the measured spreads.

    ``minimum`` (the current ``[slices]``, else the defaults) decides which slices get floors; the
    draft carries it, lists the slices it left out and the thresholds :data:`LENIENT` warns about.
    """
    by_name = {s.metric: s for s in found}
    drafted = draft(found, seeds, minimum or SliceMinimum())
    size = by_name.get("model_loaded_bytes")
    config = GateConfig(
        floors=drafted.floors,
        slices=drafted.minimum,
        slice_floors=drafted.slice_floors,
        max_drop=drafted.max_drop,
        latency=LatencyBudget(
            factor=LATENCY_FACTOR,
            floor_ms={
                s.metric.split(".")[1]: nice_ceiling(s.mean / 4)
                for s in found
                if s.metric.startswith("latency.")
            },
        ),
        size=SizeBudget(
            max_loaded_bytes=int(nice_ceiling(3 * size.max)) if size is not None else 5_000_000,
            max_growth=1.5,
        ),
    )
    return gates_toml(config, _draft_header(found, seeds, source, drafted))


def _draft_header(
    found: list[Spread], seeds: Sequence[int], source: str, drafted: "Draft"
) -> list[str]:
    """The draft's header: what the file is, what it was drafted from, the rule and its warnings."""
    dropped = [f"{name}: {why}" for name, why in drafted.dropped.items()]
    return [
        "The model gate: what a candidate must meet to pass `just gate` (and so to be",
        "promotable). Metric names are those of metrics.json; quality metrics are measured on",
        "the held-out split at the decision threshold of configs/model.toml.",
        "",
        f"Drafted by `just calibrate` on {datetime.now(UTC):%Y-%m-%d} from {source},",
        f"{len(seeds)} seeds ({seeds[0]}..{seeds[-1]}), split and estimator seed both varied:",
        *_table_comment(found),
        "",
        *RULE.splitlines(),
        *_section("Slices without floors, under the [slices] minimum on some seed:", dropped),
        *_section(f"{LENIENT} Here:", drafted.too_lenient),
        *_section("Not shown to beat chance:", list(filter(None, [chance_note(found)]))),
    ]


@dataclass(frozen=True)
class Calibration:
    """What ``just calibrate`` found: the spreads' table, what it says, and the draft it wrote."""

    table: Table
    said: list[str]
    """Notes and the threshold proposal, a line each, in the order they are printed."""
    draft: str | None
    """The drafted ``gates.toml`` (with the proposed threshold at its end), when one was asked."""


def calibrate(data: Path | None, seeds: int, draft_path: Path | None = None) -> Calibration:
    """Train ``seeds`` seeds on ``data`` (default: the pinned data) and measure what moves.

    Every metric's spread is shown beside the limits of the draft written to ``draft_path`` (when
    given), else of ``ci/gates.toml``; the decision threshold is proposed for the objective of
    ``configs/model.toml`` from each seed's held-out scores. Nothing is written here: the caller
    writes :attr:`Calibration.draft` (so a failure leaves the file as it was).
    """
    config = load_model_config()
    gates = load_gate_config() if DEFAULT_GATE_CONFIG.exists() else None
    frame, info = load_dataset(data)
    seed_list = [config.seed + i for i in range(seeds)]
    runs = run_scored(frame, config, seed_list)
    metrics = [run.metrics for run in runs]
    scored = [(run.y_true, run.y_score) for run in runs]
    proposal = decision_threshold.propose(scored, config.decision, info.version)
    found = spreads(metrics, gates)
    shown, limits = found, str(DEFAULT_GATE_CONFIG) if gates is not None else None
    minimum = gates.slices if gates is not None else None
    text = None
    if draft_path is not None:
        text = draft_gates(found, seed_list, info.source, minimum)
        text += decision_threshold.draft_comment(proposal)
        shown = spreads(metrics, limits_of(text))
        limits = f"{draft_path}, the draft written now"
    said = [f"note: {note}" for note in filter(None, [chance_note(found)])]
    missing = [] if gates is None else unmeasured(found, gates)
    if missing:
        said.append(
            f"note: {DEFAULT_GATE_CONFIG} puts thresholds on metrics these runs did not "
            f"measure (the gate fails on them): {', '.join(missing)}"
        )
    said += decision_threshold.report(proposal)
    if draft_path is not None:
        said += [f"note: {note}" for note in draft_notes(found, seed_list, minimum)]
    return Calibration(table=render_table(shown, seed_list, limits), said=said, draft=text)
