"""The model card: what a trained model is, what produced it, and how good it was.

Every candidate carries one (``card.json`` beside ``model.skops``). It answers "what is this?"
for a model found on disk or served behind an endpoint: its id, code version, data version,
feature spec, hyper-parameters, split policy and metrics.
"""

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from churn_model.config import Threshold
from churn_model.data.pinning import DataInfo
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.model.evaluation import Metrics
from churn_model.records import Record, read_record


class GitInfo(Record):
    """The code that trained the model."""

    commit: str
    dirty: bool


class SplitInfo(Record):
    """How rows were split between training and evaluation."""

    policy: str
    test_size: float
    seed: int
    train_rows: int
    test_rows: int


class FeatureSpec(Record):
    """One input column, as the schema declares it.

    ``ordered`` defaults to false, so a card written before the schema could declare ordered
    categories still reads, and still matches a schema whose categories are unordered.
    """

    name: str
    kind: str
    description: str
    nullable: bool
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    categories: tuple[str, ...] = ()
    ordered: bool = False


def feature_specs() -> list[FeatureSpec]:
    """Return the schema's features as card records (what a model is trained on today)."""
    return [FeatureSpec.model_validate(asdict(column)) for column in SCHEMA.features]


class ModelCard(Record):
    """Everything recorded about one trained model.

    ``params`` are the estimator's hyper-parameters as configured; ``seed`` seeded the estimator
    (``split.seed`` the split); ``libraries`` are the versions that trained it, which a loader
    should match. ``threshold`` is the decision threshold a server applies, strictly between 0 and
    1 (at 0 or 1 every answer would be the same); the gate checks the metrics were measured at it.
    """

    id: str
    created_at: datetime
    package_version: str
    git: GitInfo
    data: DataInfo
    features: list[FeatureSpec]
    params: dict[str, Any]
    seed: int
    threshold: Threshold
    libraries: dict[str, str]
    split: SplitInfo
    metrics: Metrics


def write_card(card: ModelCard, path: Path) -> None:
    """Write the card as indented JSON."""
    path.write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")


def read_card(path: Path) -> ModelCard:
    """Read and validate a card written by :func:`write_card`.

    Every reader of a card (the gate, promotion, export, serving, batch scoring) goes through
    here, so a card with a threshold outside (0, 1) is refused wherever it is read.
    """
    try:
        return read_record(path, ModelCard, "model card")
    except FileNotFoundError:
        raise UserError(f"{path}: model card not found") from None
