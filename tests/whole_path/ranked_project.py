"""In a child whose domain schema is :data:`schemas.RANKED` (:mod:`fresh_domain`): train, serve.

Does what a project with that schema does: trains a small candidate (the domain's
``build_pipeline``, the fast config), loads it as the service does, and answers requests over the
real HTTP app; returns what it saw, for the calling test to judge.
"""

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.serving.app import create_app
from churn_model.serving.fast_path import matches_pipeline
from churn_model.serving.served_model import (
    CompiledModel,
    load_compiled_model,
)
from churn_model.table import Schema

from model_support import small_candidate


def _ranks(
    served: CompiledModel, rows: pd.DataFrame, schema: Schema
) -> dict[str, list[list[float]]]:
    """For each ordered column, the preprocessed columns that change with its level, per level."""
    ranks = {}
    for column in schema.features:
        if not column.ordered:
            continue
        levels = rows.iloc[[0] * len(column.categories)].reset_index(drop=True)
        levels[column.name] = list(column.categories)
        matrix = served.pipeline.steps[0][1].transform(levels)
        changing = ~np.all(matrix == matrix[0], axis=0)
        ranks[column.name] = matrix[:, changing].tolist()
    return ranks


def run(folder: Path) -> dict[str, Any]:
    """Train, load and serve a model of the domain's schema under ``folder``; say what happened."""
    schema = SCHEMA
    candidate = small_candidate(folder)
    served = load_compiled_model(candidate)
    rows = synthetic_frame(1_000, seed=3, label=False)[schema.feature_names()]
    first = rows.iloc[0].to_dict()
    record = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in first.items()}
    for column in schema.features:
        if column.kind == "category":
            record[column.name] = column.categories[-1]
    unknown = {c.name: "not-a-level" for c in schema.features if c.ordered}
    with TestClient(create_app(candidate)) as client:
        answered = client.post("/predict", json=record)
        refused = client.post("/predict", json={**record, **unknown})
        metadata = client.get("/metadata").json()
    seen = {
        "compiled": served.compiled is not None,
        "matches": served.compiled is not None
        and matches_pipeline(served.compiled, served.pipeline, rows),
        "ranks": _ranks(served, rows, schema),
        "card": [feature.model_dump() for feature in served.card.features],
        "answered": [answered.status_code, answered.json()],
        "refused": [refused.status_code, refused.json()],
        "served_features": metadata["features"],
    }
    return dict(json.loads(json.dumps(seen)))  # as a client reads it: lists, not tuples
