"""The HTTP service: health, metadata and predictions over one packaged model.

Endpoints (the OpenAPI document is at ``/openapi.json``, the interactive docs at ``/docs``):

- ``GET /health``: liveness. Always 200 while the process answers; says whether the model is ready.
- ``GET /health/ready``: readiness. 200 once the model is loaded, 503 before (the image's
  ``HEALTHCHECK`` and an orchestrator's readiness probe call this one).
- ``GET /metadata``: the model card (id, data version, metrics, feature spec, threshold, ...).
- ``POST /predict``: one record -> ``<label>_probability`` (of the label's positive value) and
  ``<label>_predicted`` (one of the label's two values), the record's id echoed when the schema has
  an id (:mod:`churn_model.serving.contract`). Keys that are not columns of the model
  are ignored.
- ``POST /predict/batch``: ``{"records": [...]}`` (1 to ``MAX_BATCH`` records) -> one prediction
  per record, in order.

The model is loaded once, at startup, before the server accepts connections. Every bad request is a
4xx whose ``message`` names the field: 400 unreadable JSON (malformed, not UTF-8, nested too deeply,
a number too large), 408 a body that stops arriving, 413 a body or batch over the route's limit, 415
not JSON, 422 anything the schema refuses. Bodies are read, parsed and validated within bounds
(:mod:`churn_model.serving.request_limits`): one request cannot stall the service. A request with a
body beyond the service's capacity (requests in flight, bytes of bodies held) is a 503 with
``Retry-After`` (:mod:`churn_model.serving.admission`): many requests cannot exhaust its memory.
Predictions run on one dedicated thread whose OpenMP pool is limited to one thread: on a tiny batch
a thread team costs more than it saves, and concurrent requests are served by micro-batching
(:mod:`churn_model.serving.micro_batching`), not by threads fighting over two cores.
The endpoints are ``async`` and never block the event loop: the model runs on its thread and batches
are validated on another, so ``/health`` and other requests are answered meanwhile.

The parts: :class:`Running` is what the service holds while it runs, started and stopped by
:func:`running` (the app's :func:`lifespan`); :class:`Endpoints` answers the routes
(:func:`add_routes`); :func:`create_app` puts them together. The settings are
:mod:`churn_model.serving.settings`, the server under the app :mod:`churn_model.serving.server`.
"""

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from threadpoolctl import threadpool_limits

from churn_model import PROJECT_NAME, __version__
from churn_model.model.card import ModelCard
from churn_model.serving import contract
from churn_model.serving.admission import AdmissionControl
from churn_model.serving.contract import ErrorResponse
from churn_model.serving.micro_batching import MicroBatcher
from churn_model.serving.request_limits import (
    BadRequest,
    RecordValidator,
    bad_request_response,
    batch_bytes,
    http_error_response,
    parse_json,
    read_body,
    record_bytes,
)
from churn_model.serving.served_model import ServedModel, load_served_model, score_records
from churn_model.serving.settings import Limits

MICRO_BATCH_MAX = 256
"""Most single-record requests scored in one pipeline call (well under a 1 ms queue at any load)."""

VALIDATION_THREADS = 1
"""Batches parsed and validated at once, on a worker thread (more wait their turn). Parsing is one
call into pydantic-core that holds the interpreter (up to ~40 ms for the largest body): two at once
would stack, and the event loop, ``/health`` included, would wait for both."""


class Health(BaseModel):
    """Liveness: the process answers; ``ready`` says whether it can predict yet."""

    status: str = "ok"
    ready: bool
    model_id: str | None
    version: str = __version__


def predictions(model: ServedModel, records: Sequence[BaseModel]) -> list[contract.Prediction]:
    """Score ``records`` into one prediction each, in order (run on the model thread)."""
    probability, label = score_records(model, records)
    return [
        contract.prediction(record, p, y)
        for record, p, y in zip(records, probability.tolist(), label.tolist(), strict=True)
    ]


@dataclass(frozen=True)
class Running:
    """What the service holds while it runs: the model and the threads that serve it."""

    model: ServedModel
    scoring: ThreadPoolExecutor
    """The one model thread (its OpenMP pool limited to one thread)."""
    validation: ThreadPoolExecutor
    """Where batches are parsed and validated, off the event loop."""
    batcher: MicroBatcher[BaseModel, contract.Prediction]
    """Single records, scored together on the model thread."""


@asynccontextmanager
async def running(model: ServedModel) -> AsyncIterator[Running]:
    """Start the threads that serve ``model``; on the way out, stop them once their work is done."""
    scoring = ThreadPoolExecutor(
        max_workers=1,
        thread_name_prefix="model",
        initializer=threadpool_limits,  # per thread: the OpenMP limit applies to this one
        initargs=(1,),
    )
    validation = ThreadPoolExecutor(VALIDATION_THREADS, thread_name_prefix="validate")
    # The model and the imported libraries live as long as the process: out of the collector's
    # reach, full collections stay short (fewer latency spikes under load).
    gc.collect()
    gc.freeze()
    try:
        yield Running(
            model=model,
            scoring=scoring,
            validation=validation,
            batcher=MicroBatcher(partial(predictions, model), scoring, MICRO_BATCH_MAX),
        )
    finally:
        scoring.shutdown(wait=True)
        validation.shutdown(wait=True)
        gc.unfreeze()


def lifespan(
    model_dir: Path, model: ServedModel | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's start-up and shut-down: load the model (unless given), run it, stop it."""

    @asynccontextmanager
    async def serving(app: FastAPI) -> AsyncIterator[None]:
        async with running(model or load_served_model(model_dir)) as state:
            app.state.running = state
            try:
                yield
            finally:
                del app.state.running

    return serving


def running_state(request: Request) -> Running | None:
    """The running service answering ``request``; None before start-up (or after shut-down)."""
    state = getattr(request.app.state, "running", None)
    return state if isinstance(state, Running) else None


def loaded(request: Request) -> Running:
    """The running service, or the 503 of a service whose model is not loaded yet."""
    state = running_state(request)
    if state is None:
        raise HTTPException(status_code=503, detail="model not loaded yet")
    return state


class Endpoints:
    """The route handlers, with the bounds each reads its request within."""

    def __init__(self, max_batch: int, body_timeout_s: float) -> None:
        """Take batches of up to ``max_batch`` records; bodies must arrive within the timeout."""
        self._validate = RecordValidator(contract.Record)
        self._max_batch = max_batch
        self._record_limit = record_bytes()
        self._batch_limit = batch_bytes(max_batch)
        self._body_timeout_s = body_timeout_s

    async def health(self, request: Request) -> Health:
        """Liveness: 200 whenever the process answers; ``ready`` tells whether it can predict."""
        state = running_state(request)
        return Health(ready=state is not None, model_id=state.model.card.id if state else None)

    async def ready(self, request: Request) -> Health:
        """Readiness: 200 once the model is loaded, 503 before."""
        return Health(ready=True, model_id=loaded(request).model.card.id)

    async def metadata(self, request: Request) -> ModelCard:
        """The model card of the served model (see the serving docs for what it exposes)."""
        return loaded(request).model.card

    async def predict(self, request: Request) -> contract.PredictionResponse:
        """Score one record (the body is one ``Record``; its id, if any, is echoed)."""
        state = loaded(request)
        body = await read_body(request, self._record_limit, timeout_s=self._body_timeout_s)
        # One record is small (a few kilobytes at most): parsed and validated right here.
        prediction = await state.batcher.submit(self._validate.record(parse_json(body)))
        card = state.model.card
        return contract.PredictionResponse(
            **prediction.model_dump(), model_id=card.id, threshold=card.threshold
        )

    async def predict_batch(self, request: Request) -> contract.BatchResponse:
        """Score many records at once (a ``BatchRequest``); predictions come back in order."""
        state = loaded(request)
        body = await read_body(request, self._batch_limit, timeout_s=self._body_timeout_s)
        loop = asyncio.get_running_loop()
        # Up to a few megabytes of JSON: parsed and validated on a worker thread, so the event
        # loop goes on answering other requests (/health above all) meanwhile.
        records = await loop.run_in_executor(state.validation, self._batch, body)
        scored = await loop.run_in_executor(state.scoring, predictions, state.model, records)
        card = state.model.card
        return contract.BatchResponse(
            model_id=card.id, threshold=card.threshold, predictions=scored
        )

    def _batch(self, body: bytes) -> list[BaseModel]:
        return self._validate.batch(parse_json(body), self._max_batch)


NOT_LOADED: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "Model not loaded yet."}
}

BAD_REQUESTS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorResponse,
        "description": "Unreadable JSON: malformed, not UTF-8, nested "
        "too deeply, or a number too large.",
    },
    408: {"model": ErrorResponse, "description": "The body did not arrive in time."},
    413: {
        "model": ErrorResponse,
        "description": "Body larger than the route takes, or too many records.",
    },
    415: {"model": ErrorResponse, "description": "Body is not JSON."},
    422: {
        "model": ErrorResponse,
        "description": "A field breaks the schema (at most 20 problems are listed).",
    },
    **NOT_LOADED,
}
"""The documented answers of the predict routes beyond a 200."""


def add_routes(app: FastAPI, endpoints: Endpoints) -> None:
    """Route the paths to ``endpoints``, with their tags and documented answers."""
    for path, endpoint, tag, responses in [
        ("/health", endpoints.health, "health", None),
        ("/health/ready", endpoints.ready, "health", NOT_LOADED),
        ("/metadata", endpoints.metadata, "model", NOT_LOADED),
    ]:
        app.add_api_route(path, endpoint, methods=["GET"], tags=[tag], responses=responses)
    for path, endpoint, schema in [
        ("/predict", endpoints.predict, "Record"),
        ("/predict/batch", endpoints.predict_batch, "BatchRequest"),
    ]:
        app.add_api_route(
            path,
            endpoint,
            methods=["POST"],
            tags=["model"],
            responses=BAD_REQUESTS,
            openapi_extra=json_body(schema),
        )


def json_body(schema: str) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its JSON itself: component ``schema``."""
    reference = {"$ref": f"#/components/schemas/{schema}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


def with_body_schemas(app: FastAPI, models: Sequence[type[BaseModel]]) -> None:
    """Add the JSON schemas of the request bodies to the app's OpenAPI components.

    The predict routes read their bodies themselves (within bounds, see
    :mod:`churn_model.serving.request_limits`), so FastAPI does not see the models; the
    document still describes them exactly.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _, schemas = models_json_schema(
                [(model, "validation") for model in models],
                ref_template="#/components/schemas/{model}",
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(schemas.get("$defs", {}))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign] # FastAPI's documented way to extend it


async def _on_bad_request(_: Request, error: BadRequest) -> JSONResponse:
    return bad_request_response(error)


async def _on_http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
    return http_error_response(error)


def create_app(
    model_dir: Path,
    *,
    max_batch: int = 1_000,
    model: ServedModel | None = None,
    limits: Limits | None = None,
) -> FastAPI:
    """Build the service for the model in ``model_dir`` (loaded at startup unless ``model`` given).

    Args:
        model_dir: Folder holding ``model.skops`` and ``card.json``.
        max_batch: Most records one ``POST /predict/batch`` may carry (more is a 413); its body
            may be that many records long
            (:func:`churn_model.serving.request_limits.batch_bytes`).
        model: An already loaded model (the CLI loads it first to fail fast with a clear message).
        limits: What the service holds at once and how long it waits for a body (default:
            :class:`~churn_model.serving.settings.Limits`' defaults).
    """
    limits = limits or Limits()
    # The interactive docs (/docs, Swagger UI) load their scripts and styles from this package's
    # fastapi-offline dependency, not from a CDN: nothing outside the image runs in a browser that
    # opens them. ReDoc is not served.
    app = FastAPIOffline(
        redoc_url=None,
        title=PROJECT_NAME,
        version=__version__,
        summary=contract.summary(),
        lifespan=lifespan(model_dir, model),
        exception_handlers={
            BadRequest: _on_bad_request,
            StarletteHTTPException: _on_http_error,
        },
    )
    add_routes(app, Endpoints(max_batch, limits.body_timeout_s))
    with_body_schemas(app, [contract.Record, contract.batch_model(max_batch)])
    app.add_middleware(
        AdmissionControl,
        max_requests=limits.max_requests_in_flight,
        max_bytes=limits.max_body_bytes_in_flight,
        largest_body=batch_bytes(max_batch),
    )
    return app
