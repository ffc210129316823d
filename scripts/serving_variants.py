"""The serving paths ``just bench-serve`` compares with the service, one optimisation at a time.

Each variant is a complete HTTP service over the same packaged model, with the same request model
(:data:`churn_model.serving.contract.Record`), so the only differences are the ones
named:

- ``plain``: what a tutorial writes. A synchronous endpoint (FastAPI runs it on its thread pool)
  builds a one-row ``DataFrame`` and calls ``predict_proba`` for every request; OpenMP uses every
  core it finds.
- ``one-thread``: the same, with OpenMP limited to one thread (``OMP_NUM_THREADS=1``, set by the
  benchmark when it starts the process): no thread team to wake for one row.
- ``compiled``: the same again, scoring through the compiled array path of
  :mod:`churn_model.serving.fast_path` (verified against the pipeline at load), still
  one request per call.
- The service itself (``churn-model serve``) adds micro-batching on one model thread.

Run one with ``python scripts/serving_variants.py VARIANT --model-dir DIR --port PORT``.
"""

import argparse
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from churn_model.domain.schema import SCHEMA
from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.compiled_model import score_records
from churn_model.serving.contract import Record
from churn_model.serving.served_model import (
    ServedModel,
    load_compiled_model,
    load_served_model,
)

VARIANTS = ("plain", "one-thread", "compiled")


def _app(model: ServedModel, score: Callable[[BaseModel], float]) -> FastAPI:
    """A service with a readiness route and a synchronous ``/predict`` that calls ``score``."""
    app = FastAPI()
    threshold = model.card.threshold

    @app.get("/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.post("/predict")
    def predict(record: Record) -> dict[str, object]:
        probability = score(record)
        label = SCHEMA.label
        predicted = label.positive if probability >= threshold else label.negative
        return {probability_field(): probability, predicted_field(): predicted}

    return app


def variant_app(name: str, model_dir: Path) -> FastAPI:
    """The FastAPI app of variant ``name`` (one of :data:`VARIANTS`) over ``model_dir``."""
    if name == "compiled":
        compiled = load_compiled_model(model_dir)
        if compiled.compiled is None:
            raise SystemExit(f"{model_dir}: this model has no compiled scoring path")
        return _app(compiled, lambda record: float(score_records(compiled, [record])[0][0]))
    model = load_served_model(model_dir)

    def plain(record: BaseModel) -> float:
        frame = pd.DataFrame([record.model_dump(by_alias=True)])[SCHEMA.feature_names()]
        return float(model.pipeline.predict_proba(frame)[0, 1])

    return _app(model, plain)


def main() -> None:
    """Serve one variant on loopback until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    app = variant_app(options.variant, options.model_dir)
    uvicorn.run(app, host="127.0.0.1", port=options.port, log_level="warning")


if __name__ == "__main__":
    main()
