"""Run the model path in a fresh process with a test's schema in the domain's place.

``python tests/swapped_schema.py NAME FOLDER`` puts ``schemas.NAME`` where the domain's schema
module would be, before any machinery module reads it, then does what a project with that schema
does: trains a small candidate (the domain's ``build_pipeline``, the fast config), loads it as the
service does, and answers requests over the real HTTP app. It prints one JSON object saying what
it saw, for the calling test to judge. A process of its own, because every machinery module reads
the schema once, when it is imported.
"""

import json
import math
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import churn_model.domain
from churn_model.spec import Schema

import schemas

if TYPE_CHECKING:
    from churn_model.scoring import ServedModel


def _module(name: str, **values: object) -> None:
    """Make a module of ``values`` importable as ``churn_model.domain.<name>``."""
    module = types.ModuleType(f"churn_model.domain.{name}", "Swapped in by a test.")
    module.__dict__.update(values)
    sys.modules[module.__name__] = module
    setattr(churn_model.domain, name, module)  # as an import would bind it


def install(schema: Schema) -> None:
    """Make ``schema`` the domain's ``SCHEMA`` for every module imported from now on.

    The example's data module goes too (it names the example's columns), replaced as a project
    with its own data replaces it: a data file, and no offline generator.
    """
    package = churn_model.__name__
    loaded = {name for name in sys.modules if name.startswith(f"{package}.")}
    assert loaded <= {f"{package}.{part}" for part in ("domain", "spec", "errors")}, loaded
    _module("schema", SCHEMA=schema)
    _module("example", DATA_FILE=Path("data/swapped.csv"), build_sample=None)


def _ranks(
    served: "ServedModel", rows: pd.DataFrame, schema: Schema
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


def run(schema: Schema, folder: Path) -> dict[str, Any]:
    """Train, load and serve a model of ``schema`` under ``folder``; say what happened."""
    from fastapi.testclient import TestClient  # noqa: PLC0415 -- after install(), see the module

    from churn_model.compiled import matches_pipeline  # noqa: PLC0415
    from churn_model.scoring import load_served_model  # noqa: PLC0415
    from churn_model.serve import create_app  # noqa: PLC0415
    from churn_model.synthetic import synthetic_frame  # noqa: PLC0415

    from model_support import fast_latency, small_candidate  # noqa: PLC0415

    with fast_latency():
        candidate = small_candidate(folder)
    served = load_served_model(candidate)
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
    return {
        "compiled": served.compiled is not None,
        "matches": served.compiled is not None
        and matches_pipeline(served.compiled, served.pipeline, rows),
        "ranks": _ranks(served, rows, schema),
        "card": [feature.model_dump() for feature in served.card.features],
        "answered": [answered.status_code, answered.json()],
        "refused": [refused.status_code, refused.json()],
        "served_features": metadata["features"],
    }


if __name__ == "__main__":
    name, folder = sys.argv[1:]
    chosen = getattr(schemas, name)
    install(chosen)
    print(json.dumps(run(chosen, Path(folder)), default=str))  # the caller reads it
