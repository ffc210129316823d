"""Helpers for the serving tests: a small trained model directory, laid out like the image's.

Tests train their own small model (fast, deterministic) instead of depending on a registry run.
"""

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from churn_model.artifact import CARD_FILE, MODEL_FILE, save_model
from churn_model.card import DataInfo, FeatureSpec, GitInfo, ModelCard, SplitInfo, write_card
from churn_model.config import ModelParams
from churn_model.features import build_pipeline
from churn_model.sample import generate_sample
from churn_model.schema import FEATURES, ID, TARGET, feature_names

THRESHOLD = 0.35
PARAMS = ModelParams(
    learning_rate=0.1, max_iter=60, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0
)


def sample(rows: int = 2_000, seed: int = 7) -> pd.DataFrame:
    """A small synthetic churn table (schema columns, label included)."""
    return generate_sample(rows, seed)


@cache
def _fitted() -> Pipeline:
    """Train the small pipeline once per test process (every module reuses it)."""
    frame = sample()
    return build_pipeline(PARAMS, seed=0).fit(frame[feature_names()], frame[TARGET.name])


def make_model_dir(target: Path, model_id: str = "test-model") -> tuple[Pipeline, ModelCard]:
    """Write a small trained pipeline's ``model.skops`` + ``card.json`` into ``target``."""
    frame = sample()
    pipeline = _fitted()
    target.mkdir(parents=True, exist_ok=True)
    save_model(pipeline, target / MODEL_FILE)
    card = ModelCard(
        id=model_id,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        package_version="0.0.0",
        git=GitInfo(commit="0" * 40, dirty=False),
        data=DataInfo(version="md5:test", source="sample", rows=len(frame)),
        features=[
            FeatureSpec(
                name=c.name,
                kind=c.kind,
                description=c.description,
                nullable=c.nullable,
                ge=c.ge,
                gt=c.gt,
                le=c.le,
                categories=c.categories,
            )
            for c in FEATURES
        ],
        params=PARAMS.model_dump(),
        threshold=THRESHOLD,
        libraries={},
        split=SplitInfo(
            policy="stratified", test_size=0.25, seed=0, train_rows=len(frame), test_rows=0
        ),
        metrics={"roc_auc": 0.8},
    )
    write_card(card, target / CARD_FILE)
    return pipeline, card


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn rows of a schema frame into JSON request records (NaN becomes null)."""
    features = frame[feature_names()].astype(object)
    features = features.where(features.notna(), None)
    return [
        {str(name): value for name, value in row.items() if name not in {ID.name, TARGET.name}}
        for row in features.to_dict(orient="records")
    ]
