"""Re-deriving a candidate's figures from its model file and its pinned held-out split.

A candidate's ``card.json`` and ``metrics.json`` are the model's report of itself: anyone can edit
them. The gate judges the model instead. From the card it takes only where the figures come from
(the data's source and version, the split policy, test size and seed, the decision threshold), and
checks each of those against what can be verified: the data's bytes against the recorded version
(for the DVC-pinned sample, DVC checks them against ``data.dvc``), and the split and the threshold
against ``configs/model.toml`` (a card that moved the split's seed would be scored on rows the model
was trained on). Then it loads ``model.skops`` (safely, see
:mod:`churn_model.model.artifact`), re-splits the validated table exactly as training
did, and measures the loaded model with the same
:func:`~churn_model.model.evaluation.evaluate` that training used: quality overall and
per slice, size from the file itself, and latency timed here.

Quality and size are functions of the model file and the data, so the card's figures must equal
them; any difference means the card does not describe this model, and the candidate is refused.
Latency is a measurement (two timings of one model differ by noise): the gate's own timing is the
one it judges and records, and the card's keeps its meaning of "timed at training". The gate times
the runs of the configuration it checks the recipe against (``configs/model.toml [timing]``, or the
model config promotion is given), never a plan read from the card: the card is the model's report
of itself, the baseline it is compared with was timed the same way, and promotion, judging again,
reads the same file and so recomputes the same plan. A card never records a plan, so any card,
however old, is timed alike.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from churn_model.config import DEFAULT_MODEL_CONFIG, ModelConfig
from churn_model.data.pinning import (
    DATA_DIR,
    DATA_FILE,
    DVC_FILE,
    DataInfo,
    load_dataset,
)
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.files import sha256_of
from churn_model.model.artifact import (
    CARD_FILE,
    METRICS_FILE,
    MODEL_FILE,
    load_model,
)
from churn_model.model.card import ModelCard, read_card
from churn_model.model.evaluation import Metrics, evaluate, flatten
from churn_model.model.training import SPLIT_POLICY, split_table
from churn_model.records import read_record

SHOWN = 3
"""How many disagreeing figures an error names."""


@dataclass(frozen=True)
class Remeasured:
    """A candidate's card (verified), the figures measured just now, and their resolution.

    The resolution is that of :mod:`churn_model.model.resolution`, from the same
    scores.
    """

    card: ModelCard
    metrics: Metrics
    resolution: dict[str, float | None]
    missing_unseen: list[str]
    """The features the schema lets be missing that no training row has missing."""


def _recipe_problems(card: ModelCard, config: ModelConfig) -> list[str]:
    """What in the card's recipe (split, threshold) differs from the versioned configuration."""
    recorded = {
        "split.policy": (card.split.policy, SPLIT_POLICY),
        "split.test_size": (card.split.test_size, config.split.test_size),
        "split.seed": (card.split.seed, config.seed),
        "threshold": (card.threshold, config.decision.threshold),
    }
    return [
        f"{field} is {card_value!r}, the configuration's is {wanted!r}"
        for field, (card_value, wanted) in recorded.items()
        if card_value != wanted
    ]


def _same(claimed: float | None, measured: float | None) -> bool:
    if claimed is None or measured is None:
        return claimed is measured
    return math.isclose(claimed, measured, rel_tol=1e-9, abs_tol=1e-12)


def disagreements(claimed: Metrics, measured: Metrics) -> list[str]:
    """Name every figure ``claimed`` states otherwise than ``measured`` (latency excepted).

    Quality overall and per slice, the slices themselves, the threshold and both sizes are
    compared; latency is a timing, which no two runs reproduce exactly.
    """

    def figures(metrics: Metrics) -> dict[str, float | None]:
        flat = {k: v for k, v in flatten(metrics).items() if not k.startswith("latency.")}
        return {**flat, "threshold": metrics.threshold}

    said, found = figures(claimed), figures(measured)
    out = []
    for key in sorted(said.keys() | found.keys()):
        if key not in found:
            out.append(f"{key}: claimed {said[key]}, not measured (no such slice)")
        elif key not in said:
            out.append(f"{key}: measured {found[key]}, not claimed")
        elif not _same(said[key], found[key]):
            out.append(f"{key}: claimed {said[key]}, measured {found[key]}")
    return out


def _read_metrics_file(path: Path) -> Metrics:
    try:
        return read_record(path, Metrics, "metrics")
    except FileNotFoundError:
        raise UserError(f"{path}: not found") from None


def _listed(found: list[str]) -> str:
    more = f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return "; ".join(found[:SHOWN]) + more


_KEPT = 4
"""How many held-out splits a process keeps for the next gate."""


def _keep[Value](cache: dict[Any, Value], key: object, value: Value) -> Value:
    while len(cache) >= _KEPT:
        del cache[next(iter(cache))]
    cache[key] = value
    return value


@dataclass(frozen=True)
class HeldOut:
    """A verified table's held-out split, and what the gate reads beside it.

    The table's version, and what its training rows never miss (:func:`missing_unseen`).
    """

    x_test: pd.DataFrame
    y_test: pd.Series
    data: DataInfo
    missing_unseen: list[str]


_HELD_OUT: dict[tuple[str, str, float, int], HeldOut] = {}


def _fingerprint(source: Path) -> str | None:
    """The SHA-256 of every file a verified load of ``source`` depends on, or None.

    For the pinned sample that is ``data.dvc`` and every file under ``data/`` (what DVC checks);
    for any other file, the file.
    """
    if not source.is_file():
        return None  # the pinned sample may still be materialised; other files fail to load
    pinned = source.resolve() == DATA_FILE.resolve()
    files = sorted(p for p in DATA_DIR.rglob("*") if p.is_file()) if pinned else [source]
    files += [DVC_FILE] if pinned and DVC_FILE.is_file() else []
    return " ".join(f"{path}={sha256_of(path)}" for path in files)


def missing_unseen(x_train: pd.DataFrame) -> list[str]:
    """The features the schema lets be missing (``nullable``) that no row of ``x_train`` misses.

    The model never learned what their absence means: a row missing one is scored as the pipeline
    fills the gap in (``features.py``), which no held-out row tested. It happens when the extract's
    only missing values are in rows without a label, which training never reads.
    """
    nullable = [column.name for column in SCHEMA.features if column.nullable]
    return [name for name in nullable if not x_train[name].isna().any()]


def held_out_rows(source: Path, test_size: float, seed: int) -> HeldOut:
    """Load, verify and validate ``source`` as training did, and return its held-out split.

    Gating several candidates in one process (a test session, a notebook) reuses what was loaded:
    the result is kept under the SHA-256 of every file the load depends on (:func:`_fingerprint`),
    so other bytes are never served from it; hashing costs milliseconds where DVC's check and the
    validation cost a second.
    """
    fingerprint = _fingerprint(source)
    key = (str(source), fingerprint or "", test_size, seed)
    if fingerprint is not None and key in _HELD_OUT:
        return _HELD_OUT[key]
    frame, data = load_dataset(source)
    x_train, x_test, _, y_test = split_table(frame, test_size, seed)
    held_out = HeldOut(x_test, y_test, data, missing_unseen(x_train))
    return held_out if fingerprint is None else _keep(_HELD_OUT, key, held_out)


def remeasure(
    folder: Path, config: ModelConfig, config_path: Path = DEFAULT_MODEL_CONFIG
) -> Remeasured:
    """Re-derive the figures of the candidate in ``folder`` and check its card against them.

    ``config`` (read from ``config_path``) defines the held-out split and the threshold the card
    must match, and how latency is timed (its ``timing``, see the module docstring).

    Raises:
        UserError: the card, its recipe or ``metrics.json`` is invalid or differs from what was
            verified or measured; the data it names is missing, invalid or not the recorded
            version; the model file cannot be loaded.
    """
    card_path = folder / CARD_FILE
    card = read_card(card_path)
    if card.id != folder.name:
        raise UserError(f"{card_path}: describes candidate {card.id!r}, not {folder.name!r}")
    recipe = _recipe_problems(card, config)
    if recipe:
        raise UserError(
            f"{card_path}: {_listed(recipe)} ({config_path}): the gate scores the held-out rows "
            "and the threshold the configuration defines; retrain (`just train`)"
        )
    claimed = _read_metrics_file(folder / METRICS_FILE)
    if claimed != card.metrics:
        raise UserError(
            f"{folder / METRICS_FILE}: differs from the metrics in {card_path} (edited?): "
            f"{_listed(disagreements(card.metrics, claimed) or ['latency'])}"
        )
    model_path = folder / MODEL_FILE
    model = load_model(model_path)
    source = Path(card.data.source)
    try:
        held_out = held_out_rows(source, card.split.test_size, card.split.seed)
    except UserError as error:
        raise UserError(
            f"{card_path}: the gate re-scores the model on the data its card names, and cannot "
            f"read it: {error}"
        ) from None
    x_test, y_test, data = held_out.x_test, held_out.y_test, held_out.data
    if (data.version, data.rows) != (card.data.version, card.data.rows):
        raise UserError(
            f"{card_path}: the candidate was evaluated on {source} version {card.data.version} "
            f"({card.data.rows} rows), but {source} is now version {data.version} ({data.rows} "
            "rows): retrain on it (`just train`), or restore the data it was trained on"
        )
    if len(x_test) != card.split.test_rows:
        raise UserError(
            f"{card_path}: split.test_rows is {card.split.test_rows}, the split has {len(x_test)}"
        )
    evaluation = evaluate(model, x_test, y_test, card.threshold, model_path, timing=config.timing)
    measured = evaluation.metrics
    differ = disagreements(card.metrics, measured)
    if differ:
        raise UserError(
            f"{card_path}: does not describe {model_path} (edited, or copied from another "
            f"model): re-scored on its {len(x_test)} held-out rows, {_listed(differ)}"
        )
    return Remeasured(
        card=card,
        metrics=measured,
        resolution=evaluation.resolution(),
        missing_unseen=held_out.missing_unseen,
    )
