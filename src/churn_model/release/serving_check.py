"""The gate's serving check: the candidate loaded and asked exactly as the service would be.

Good figures do not make a model servable. Its card may not match the schema the service is built
from; the serving fast path (:mod:`churn_model.serving.fast_path`) may misread its
preprocessing; a request may fail where a frame did not. :func:`check_serving` finds out before
promotion, in process and in well under a second:

1. it loads the candidate folder through the service's own load path
   (:func:`churn_model.serving.served_model.load_served_model`: the card against the
   schema, the safe load, the probe rows, the fast path and its fallback);
2. it builds the service's app over that model
   (:func:`churn_model.serving.app.create_app`, its start-up and shut-down included)
   and sends the probe rows as JSON through the real request path: ``POST /predict`` with one
   record, ``POST /predict/batch`` with all of them;
3. it scores the same validated records on the fast path (when the model has one) and on the
   pipeline it falls back to, and the probe rows as batch scoring does (validated as a table, then
   :func:`churn_model.serving.served_model.score_frame`, the scoring the gate's figures
   come from).

Every path must give the same probabilities, bit for bit. Whatever raises, answers with an error
or disagrees becomes one sentence in :class:`ServingCheck`, which fails the gate's serving row.
"""

import asyncio
import gc
import json
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

import httpx
import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import model_validator
from threadpoolctl import threadpool_limits

from churn_model.data.validation import validate
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.records import Record
from churn_model.serving import contract
from churn_model.serving.app import create_app
from churn_model.serving.request_limits import RecordValidator, parse_json
from churn_model.serving.served_model import (
    ServedModel,
    load_served_model,
    probe_rows,
    score_frame,
    score_records,
)

FOREIGN_TEXT = 300
"""Most characters of an error's text a problem quotes when the text is not one of the package's
own one-sentence errors (an exception's message, an HTTP answer's message)."""

REFERENCE = "batch scoring"
"""The path every other is compared with: the one the gate's figures were measured on."""


class ServingCheck(Record):
    """What loading a candidate as the service does, and scoring the probe rows every way, found.

    ``gap`` is the largest difference between two paths' probabilities on any probe row: 0 when
    the candidate serves what it was gated on, ``None`` when it could not be scored every way.
    ``problem`` says why it cannot be served, in one sentence (empty when it can).
    """

    probe_rows: int
    fast_path: bool
    gap: float | None
    problem: str = ""

    @model_validator(mode="after")
    def _problem_iff_not_served(self) -> Self:
        if (self.gap == 0.0) == bool(self.problem):
            raise ValueError("problem must be given exactly when gap is not 0")
        return self

    def summary(self) -> str:
        """What was compared, for the gate's row (or why it could not be, when it failed)."""
        if self.problem:
            return self.problem
        fast = "fast path and pipeline" if self.fast_path else "pipeline (no fast path)"
        return (
            f"{self.probe_rows} probe rows, same probabilities: {fast}, POST /predict, "
            f"POST /predict/batch, {REFERENCE}"
        )


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
            "probe rows" + (f" ({_one_line(str(message), FOREIGN_TEXT)})" if message else "")
        )
    predictions = body["predictions"] if route.endswith("/batch") else [body]
    if len(predictions) != rows:
        raise UserError(
            f"{folder}: the service answered POST {route} with {len(predictions)} predictions "
            f"for {rows} records"
        )
    return np.array([contract.answered_probability(p) for p in predictions], dtype=np.float64)


async def _served_answers(
    folder: Path, model: ServedModel, records: Sequence[dict[str, Any]]
) -> dict[str, npt.NDArray[np.float64]]:
    """Send ``records`` to the service's app over ``model``: one to ``/predict``, all as a batch."""
    app = create_app(folder, max_batch=len(records), model=model)
    transport = httpx.ASGITransport(app=app)
    # The service collects and freezes its whole heap at start-up. Here that heap is the gate's,
    # and collecting it would cost more than the rest of the check: it is frozen first (out of
    # the collector's reach), and unfrozen after, as the service's shut-down does too.
    gc.freeze()
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://gate") as client,
        ):
            single = await client.post("/predict", json=records[0])
            batch = await client.post("/predict/batch", json={"records": list(records)})
    finally:
        gc.unfreeze()
    return {
        "POST /predict": _probabilities(folder, single, "/predict", 1),
        "POST /predict/batch": _probabilities(folder, batch, "/predict/batch", len(records)),
    }


def _every_path(folder: Path, probe: pd.DataFrame) -> tuple[bool, dict[str, npt.NDArray[Any]]]:
    """Score ``probe`` every way the candidate in ``folder`` is served; whether it has a fast path.

    ``POST /predict`` is sent the first probe row only: its array holds that one probability.

    Raises:
        UserError: the service would refuse the model or a probe row (from its own checks).
        Exception: anything else the service's code raises on it.
    """
    model = load_served_model(folder)
    records = json_records(probe)
    body = json.dumps({"records": records}).encode()
    validated = RecordValidator(contract.Record).batch(parse_json(body), len(records))
    table = validate(probe, "the probe rows", require_label=False)
    # One OpenMP thread, as on the service's model thread (and as fast: on a busy machine a thread
    # team can wait a scheduler slice per tree).
    with threadpool_limits(limits=1):
        scores = {REFERENCE: score_frame(model, table)[0]}
        if model.compiled is not None:
            scores["the fast path"] = score_records(model, validated)[0]
        scores["the pipeline"] = score_records(replace(model, compiled=None), validated)[0]
    # The app runs its own event loop; on a worker thread, so the gate also runs where a loop
    # already runs (a notebook).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="serving-check") as worker:
        answers = worker.submit(asyncio.run, _served_answers(folder, model, records)).result()
    return model.compiled is not None, {**scores, **answers}


def _one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line (a multi-line report joined), cut at ``limit`` characters if given."""
    joined = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return joined if limit is None or len(joined) <= limit else joined[: limit - 1] + "…"


def _failed(probe: pd.DataFrame, problem: str) -> ServingCheck:
    return ServingCheck(probe_rows=len(probe), fast_path=False, gap=None, problem=problem)


def check_serving(folder: Path) -> ServingCheck:
    """Load the candidate in ``folder`` as the service does and score the probe rows every way.

    Never raises: a candidate the service would refuse, crash on or answer otherwise than batch
    scoring is a :class:`ServingCheck` with its ``problem``, one sentence naming the folder.
    """
    probe = probe_rows()
    try:
        fast_path, scores = _every_path(folder, probe)
    except UserError as error:  # the service's own refusal, which names the file and the rule
        return _failed(probe, _one_line(str(error)))
    except Exception as error:  # any failure of the service's code means the same: not servable
        return _failed(
            probe,
            f"{folder}: the service fails on the probe rows "
            f"({type(error).__name__}: {_one_line(str(error), FOREIGN_TEXT)})",
        )
    reference = scores[REFERENCE]
    gaps = {
        path: float(np.max(np.abs(values - reference[: len(values)])))
        for path, values in scores.items()
    }
    worst = max(gaps, key=lambda path: math.inf if math.isnan(gaps[path]) else gaps[path])
    gap = gaps[worst]
    if gap == 0.0:
        return ServingCheck(probe_rows=len(probe), fast_path=fast_path, gap=0.0)
    values = scores[worst]
    differing = int(np.count_nonzero(values != reference[: len(values)]))
    return ServingCheck(
        probe_rows=len(probe),
        fast_path=fast_path,
        gap=gap if math.isfinite(gap) else None,
        problem=(
            f"{folder}: the probabilities of {worst} differ from {REFERENCE}'s on {differing} of "
            f"{len(values)} probe rows (by up to {gap:.3g}): the service would not answer as the "
            "gated model scores"
        ),
    )
