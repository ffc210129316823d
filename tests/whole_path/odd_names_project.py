"""In a child whose domain schema is :data:`schemas.ODD` (:mod:`fresh_domain`): serve and score.

Trains a small candidate on synthetic rows of the schema, serves it in process, scores a CSV file
with it, and returns what it saw (``test_odd_names.py`` asserts on it).
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient

from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA as ODD
from churn_model.model.artifact import (
    CARD_FILE,
    MODEL_FILE,
    load_model,
)
from churn_model.serving.app import create_app
from churn_model.serving.batch_scoring import predict_file
from churn_model.serving.request_limits import record_bytes

from model_support import small_candidate

ROWS = 600


def _records(rows: int, seed: int) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """JSON records of the schema (the label kept: it is ignored) and the pipeline's answers."""
    frame = synthetic_frame(rows, seed, schema=ODD)
    values = frame.astype(object).where(frame.notna(), None)
    records = [
        {str(name): value for name, value in row.items()}
        for row in values.to_dict(orient="records")
    ]
    return records, frame


def run(folder: Path) -> dict[str, Any]:
    """Train, serve, score; return the answers, the OpenAPI document and the scored file."""
    candidate = small_candidate(folder, rows=ROWS)
    model_dir = folder / "model"
    model_dir.mkdir()
    for name in (MODEL_FILE, CARD_FILE):
        shutil.copyfile(candidate / name, model_dir / name)
    pipeline = load_model(model_dir / MODEL_FILE)
    records, frame = _records(5, seed=3)
    features = frame[[c.name for c in ODD.features]]
    seen: dict[str, Any] = {
        "expected": pipeline.predict_proba(features)[:, 1].tolist(),
        "records": records,
        "record_bytes": record_bytes(),
    }
    with TestClient(create_app(model_dir, max_batch=10)) as client:
        one = client.post("/predict", json={**records[0], "not a column": [1, 2]})
        seen["predict"] = (one.status_code, one.json())
        batch = client.post("/predict/batch", json={"records": records})
        seen["batch"] = (batch.status_code, batch.json())
        missing = {k: v for k, v in records[0].items() if k != "2nd-line"} | {"2nd line": 1}
        refused = client.post("/predict", json=missing)
        seen["missing"] = (refused.status_code, refused.json())
        seen["openapi"] = client.get("/openapi.json").json()
        # The largest body the route takes: a record padded with an ignored key to the limit.
        padded = json.dumps({**records[0], "pad": ""})
        filler = "x" * (record_bytes() - len(padded.encode()))
        for extra in (0, 1):
            body = padded.replace('"pad": ""', f'"pad": "{filler}{"x" * extra}"').encode()
            answer = client.post(
                "/predict", content=body, headers={"content-type": "application/json"}
            )
            seen[f"limit+{extra}"] = (len(body), answer.status_code)
    source, scored = folder / "in.csv", folder / "scored.csv"
    frame.to_csv(source, index=False)
    predict_file(source, scored, model_dir)
    seen["scored"] = scored.read_text(encoding="utf-8")
    return dict(json.loads(json.dumps(seen)))  # as a client reads it: lists, not tuples
