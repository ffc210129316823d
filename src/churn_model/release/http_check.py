"""The serving check's HTTP paths: the candidate loaded and asked exactly as the service would be.

The gate's serving check (:mod:`churn_model.release.serving_check`) adds these paths to
batch scoring's when the project has the HTTP service. The serving fast path
(:mod:`churn_model.serving.fast_path`) may misread a model's preprocessing; a request
may fail where a frame did not. :func:`served_scores`, in process:

1. loads the candidate folder through the service's own load path
   (:func:`churn_model.serving.served_model.load_compiled_model`: the checks every
   scorer makes, then the fast path and its fallback);
2. scores the validated probe records on the fast path (when the model has one) and on the
   pipeline it falls back to;
3. builds the service's app over that model
   (:func:`churn_model.serving.app.create_app`, its start-up and shut-down included)
   and sends the probe rows as JSON through the real request path: ``POST /predict``
   with one record, ``POST /predict/batch`` with all of them.
"""

import asyncio
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.release.serving_check import FOREIGN_TEXT, Scores, one_line
from churn_model.serving import contract
from churn_model.serving.app import create_app
from churn_model.serving.compiled_model import score_records
from churn_model.serving.heap import frozen_heap
from churn_model.serving.request_limits import RecordValidator, parse_json
from churn_model.serving.served_model import (
    CompiledModel,
    load_compiled_model,
)
from churn_model.threads import limited


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame``'s feature columns as JSON request records (a missing value: null)."""
    features = frame[SCHEMA.feature_names()].astype(object)
    features = features.where(features.notna(), None)
    return [
        {str(name): value.item() if isinstance(value, np.generic) else value for name, value in row}
        for row in (record.items() for record in features.to_dict(orient="records"))
    ]


def _probabilities(
    folder: Path, answer: httpx.Response, route: str, rows: int
) -> npt.NDArray[np.float64]:
    """The probabilities in the service's answer to ``route``, one per record sent.

    Raises:
        UserError: the service refused or failed the request, or answered another number of
            predictions than records were sent.
    """
    body = answer.json()
    if answer.status_code != 200:
        message = body.get("message", "") if isinstance(body, dict) else ""
        raise UserError(
            f"{folder}: the service answered POST {route} with {answer.status_code} on the "
            "probe rows" + (f" ({one_line(str(message), FOREIGN_TEXT)})" if message else "")
        )
    predictions = body["predictions"] if route.endswith("/batch") else [body]
    if len(predictions) != rows:
        raise UserError(
            f"{folder}: the service answered POST {route} with {len(predictions)} predictions "
            f"for {rows} records"
        )
    return np.array([contract.answered_probability(p) for p in predictions], dtype=np.float64)


async def _served_answers(
    folder: Path, model: CompiledModel, records: Sequence[dict[str, Any]]
) -> Scores:
    """Send ``records`` to the service's app over ``model``: one to ``/predict``, all as a batch."""
    app = create_app(folder, max_batch=len(records), model=model)
    transport = httpx.ASGITransport(app=app)
    # The service collects and freezes its whole heap at start-up. Here that heap is the gate's,
    # and collecting it would cost more than the rest of the check: the check freezes it as it is,
    # without a collection, and the service, started inside that freeze, leaves it so.
    with frozen_heap(collect=False):
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gate") as client,
        ):
            single = await client.post("/predict", json=records[0])
            batch = await client.post("/predict/batch", json={"records": list(records)})
    return {
        "POST /predict": _probabilities(folder, single, "/predict", 1),
        "POST /predict/batch": _probabilities(folder, batch, "/predict/batch", len(records)),
    }


def _every_http_path(folder: Path, probe: pd.DataFrame) -> Scores:
    """Score ``probe`` every way the service scores it: the fast path, the pipeline, the routes.

    ``POST /predict`` is sent the first probe row only: its array holds that one probability.
    """
    model = load_compiled_model(folder)
    records = json_records(probe)
    body = json.dumps({"records": records}).encode()
    validated = RecordValidator(contract.Record).batch(parse_json(body), len(records))
    scores: Scores = {}
    # One OpenMP thread, as on the service's model thread (and as fast: on a busy machine a thread
    # team can wait a scheduler slice per tree).
    with limited(1):
        if model.compiled is not None:
            scores["the fast path"] = score_records(model, validated)[0]
        scores["the pipeline"] = score_records(replace(model, compiled=None), validated)[0]
    # The app runs its own event loop; on a worker thread, so the gate also runs where a loop
    # already runs (a notebook).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="serving-check") as worker:
        answers = worker.submit(asyncio.run, _served_answers(folder, model, records)).result()
    return {**scores, **answers}


def served_scores(folder: Path, probe: pd.DataFrame) -> Scores:
    """The probe rows scored every way the HTTP service scores them, by the path's name.

    Raises:
        UserError: the service would refuse the model or a probe row (its own sentence), or its
            code fails on them (one sentence naming the folder and the error).
    """
    try:
        return _every_http_path(folder, probe)
    except UserError:
        raise
    except Exception as error:  # any failure of the service's code means the same: not servable
        raise UserError(
            f"{folder}: the service fails on the probe rows "
            f"({type(error).__name__}: {one_line(str(error), FOREIGN_TEXT)})"
        ) from None
