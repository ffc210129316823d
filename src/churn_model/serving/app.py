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
(:mod:`churn_model.serving.request_limits`): one request cannot stall the service.
Predictions run on one dedicated thread whose OpenMP pool is limited to one thread: on a tiny batch
a thread team costs more than it saves, and concurrent requests are served by micro-batching
(:mod:`churn_model.serving.micro_batching`), not by threads fighting over two cores.
The endpoints are ``async`` and never block the event loop: the model runs on its thread and batches
are validated on another, so ``/health`` and other requests are answered meanwhile.

Settings come from the environment (:func:`load_settings`): ``MODEL_DIR`` (default ``dist/model``),
``HOST`` (default ``127.0.0.1``), ``PORT`` (default ``8000``), ``MAX_BATCH`` (default ``1000``).
"""

import asyncio
import gc
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException
from threadpoolctl import threadpool_limits
from uvicorn.protocols.http.h11_impl import H11Protocol

from churn_model import PROJECT_NAME, __version__
from churn_model.errors import UserError
from churn_model.model.artifact import DEFAULT_MODEL_DIR
from churn_model.model.card import ModelCard
from churn_model.records import Record
from churn_model.serving import contract
from churn_model.serving.compiled_model import (
    CompiledModel,
    load_compiled_model,
    score_records,
)
from churn_model.serving.contract import ErrorResponse, Problem
from churn_model.serving.micro_batching import MicroBatcher
from churn_model.serving.request_limits import (
    BadRequest,
    RecordValidator,
    batch_bytes,
    parse_json,
    read_body,
    record_bytes,
)

MICRO_BATCH_MAX = 256
"""Most single-record requests scored in one pipeline call (well under a 1 ms queue at any load)."""

IDLE_TIMEOUT_S = 5
"""Seconds a connection may stay idle (before its first request or between requests) before the
server closes it: uvicorn's keep-alive timeout, also applied to a connection that never sends."""

VALIDATION_THREADS = 1
"""Batches parsed and validated at once, on a worker thread (more wait their turn). Parsing is one
call into pydantic-core that holds the interpreter (up to ~40 ms for the largest body): two at once
would stack, and the event loop, ``/health`` included, would wait for both."""


class ServeSettings(Record):
    """Where the service listens, which model it serves, and how large a batch may be."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    model_dir: Path = DEFAULT_MODEL_DIR
    max_batch: int = Field(default=1_000, ge=1, le=100_000)


ENV_VARS = {"host": "HOST", "port": "PORT", "model_dir": "MODEL_DIR", "max_batch": "MAX_BATCH"}
"""The environment variable that sets each setting (the Dockerfile sets MODEL_DIR, HOST, PORT)."""


def load_settings(environ: Mapping[str, str], **overrides: object) -> ServeSettings:
    """Read the settings from ``environ``; explicit ``overrides`` (CLI options) win when not None.

    Raises:
        UserError: a value is out of range or of the wrong type, naming the variable.
    """
    values: dict[str, object] = {
        field: environ[var] for field, var in ENV_VARS.items() if environ.get(var)
    }
    values.update({field: value for field, value in overrides.items() if value is not None})
    try:
        return ServeSettings.model_validate(values)
    except ValidationError as error:
        lines = ["invalid service settings"]
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "(settings)"
            lines.append(f"  {field} (env {ENV_VARS.get(field, '?')}): {problem['msg']}")
        raise UserError("\n".join(lines)) from None


class Health(BaseModel):
    """Liveness: the process answers; ``ready`` says whether it can predict yet."""

    status: str = "ok"
    ready: bool
    model_id: str | None
    version: str = __version__


async def _on_bad_request(_: Request, error: BadRequest) -> JSONResponse:
    """Answer a refused request with its status and problems (the :class:`ErrorResponse` shape)."""
    return JSONResponse(status_code=error.status, content=jsonable_encoder(error.response()))


async def _on_http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
    """Give every HTTP error (404, 405, 503, unreadable body, body too large) the same shape."""
    message = str(error.detail)
    body = ErrorResponse(message=message, detail=[Problem(field="", message=message, type="http")])
    return JSONResponse(
        status_code=error.status_code, content=jsonable_encoder(body), headers=error.headers
    )


def _scorer(model: CompiledModel) -> Callable[[Sequence[BaseModel]], list[contract.Prediction]]:
    """Return the function that scores a list of records into predictions (on the model thread)."""

    def score(records: Sequence[BaseModel]) -> list[contract.Prediction]:
        probability, label = score_records(model, records)
        return [
            contract.prediction(record, p, y)
            for record, p, y in zip(records, probability.tolist(), label.tolist(), strict=True)
        ]

    return score


_BAD_REQUESTS: dict[int | str, dict[str, Any]] = {
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
    503: {"model": ErrorResponse, "description": "Model not loaded yet."},
}


def _json_body(schema: str) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its JSON itself: component ``schema``."""
    reference = {"$ref": f"#/components/schemas/{schema}"}
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": reference}}}
    }


def _with_body_schemas(app: FastAPI, models: Sequence[type[BaseModel]]) -> None:
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


def create_app(
    model_dir: Path, *, max_batch: int = 1_000, model: CompiledModel | None = None
) -> FastAPI:
    """Build the service for the model in ``model_dir`` (loaded at startup unless ``model`` given).

    Args:
        model_dir: Folder holding ``model.skops`` and ``card.json``.
        max_batch: Most records one ``POST /predict/batch`` may carry (more is a 413); its body
            may be that many records long
            (:func:`churn_model.serving.request_limits.batch_bytes`).
        model: An already loaded model (the CLI loads it first to fail fast with a clear message).
    """
    state: dict[str, Any] = {}
    validate = RecordValidator(contract.Record)
    batch_model = contract.batch_model(max_batch)
    record_limit, batch_limit = record_bytes(), batch_bytes(max_batch)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        served = model or load_compiled_model(model_dir)
        executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="model",
            initializer=threadpool_limits,  # per thread: the OpenMP limit applies to this one
            initargs=(1,),
        )
        validators = ThreadPoolExecutor(VALIDATION_THREADS, thread_name_prefix="validate")
        state["model"] = served
        # The model and the imported libraries live as long as the process: move them out of the
        # collector's reach, so full collections stay short (fewer latency spikes under load).
        gc.collect()
        gc.freeze()
        state["executor"] = executor
        state["validators"] = validators
        state["batcher"] = MicroBatcher(_scorer(served), executor, MICRO_BATCH_MAX)
        try:
            yield
        finally:
            state.clear()
            executor.shutdown(wait=True)
            validators.shutdown(wait=True)
            gc.unfreeze()

    # The interactive docs (/docs, Swagger UI) load their scripts and styles from this package's
    # fastapi-offline dependency, not from a CDN: nothing outside the image runs in a browser that
    # opens them. ReDoc is not served.
    app = FastAPIOffline(
        redoc_url=None,
        title=PROJECT_NAME,
        version=__version__,
        summary=contract.summary(),
        lifespan=lifespan,
        exception_handlers={
            BadRequest: _on_bad_request,
            StarletteHTTPException: _on_http_error,
        },
    )
    _with_body_schemas(app, [contract.Record, batch_model])

    def loaded() -> CompiledModel:
        served: CompiledModel | None = state.get("model")
        if served is None:
            raise HTTPException(status_code=503, detail="model not loaded yet")
        return served

    @app.get("/health", tags=["health"])
    async def health() -> Health:
        """Liveness: 200 whenever the process answers; ``ready`` tells whether it can predict."""
        served: CompiledModel | None = state.get("model")
        return Health(ready=served is not None, model_id=served.card.id if served else None)

    @app.get(
        "/health/ready",
        tags=["health"],
        responses={503: {"model": ErrorResponse, "description": "Model not loaded yet."}},
    )
    async def ready() -> Health:
        """Readiness: 200 once the model is loaded, 503 before."""
        return Health(ready=True, model_id=loaded().card.id)

    @app.get(
        "/metadata",
        tags=["model"],
        responses={503: {"model": ErrorResponse, "description": "Model not loaded yet."}},
    )
    async def metadata() -> ModelCard:
        """The model card of the served model (see the serving docs for what it exposes)."""
        return loaded().card

    @app.post(
        "/predict",
        tags=["model"],
        responses=_BAD_REQUESTS,
        openapi_extra=_json_body("Record"),
    )
    async def predict(request: Request) -> contract.PredictionResponse:
        """Score one record (the body is one ``Record``; its id, if any, is echoed)."""
        served = loaded()
        # One record is small (a kilobyte at most): parsed and validated right here.
        record = validate.record(parse_json(await read_body(request, record_limit)))
        batcher: MicroBatcher[BaseModel, contract.Prediction] = state["batcher"]
        prediction = await batcher.submit(record)
        return contract.PredictionResponse(
            **prediction.model_dump(), model_id=served.card.id, threshold=served.card.threshold
        )

    def parse_batch(body: bytes) -> list[BaseModel]:
        return validate.batch(parse_json(body), max_batch)

    @app.post(
        "/predict/batch",
        tags=["model"],
        responses=_BAD_REQUESTS,
        openapi_extra=_json_body("BatchRequest"),
    )
    async def predict_batch(request: Request) -> contract.BatchResponse:
        """Score many records at once (a ``BatchRequest``); predictions come back in order."""
        served = loaded()
        body = await read_body(request, batch_limit)
        loop = asyncio.get_running_loop()
        # Up to a megabyte of JSON: parsed and validated on a worker thread, so the event loop
        # goes on answering other requests (/health above all) meanwhile.
        records = await loop.run_in_executor(state["validators"], parse_batch, body)
        predictions = await loop.run_in_executor(state["executor"], _scorer(served), records)
        return contract.BatchResponse(
            model_id=served.card.id, threshold=served.card.threshold, predictions=predictions
        )

    return app


class _IdleTimeoutProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection that sends nothing at all.

    uvicorn times a connection out only between requests (``timeout_keep_alive``): one that opens
    and never sends a byte would stay open forever. This arms the same timer when the connection
    opens; the first bytes cancel it, as they cancel the keep-alive timer.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Accept the connection, and close it if it stays idle for ``timeout_keep_alive``."""
        super().connection_made(transport)  # type: ignore[arg-type] # uvicorn narrows the type
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )


def run(settings: ServeSettings, *, access_log: bool = False) -> None:
    """Load the model (failing fast with a clear error), then serve it with uvicorn.

    Idle connections are closed after :data:`IDLE_TIMEOUT_S`, including one that never sends a
    request; a request body that stops arriving is a 408
    (:mod:`churn_model.serving.request_limits`).
    """
    model = load_compiled_model(settings.model_dir)
    app = create_app(settings.model_dir, max_batch=settings.max_batch, model=model)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        http=_IdleTimeoutProtocol,
        timeout_keep_alive=IDLE_TIMEOUT_S,
    )


def settings_from_env(**overrides: object) -> ServeSettings:
    """Read :class:`ServeSettings` from this process's environment, with CLI ``overrides``."""
    return load_settings(os.environ, **overrides)
