"""The HTTP service: health, metadata and predictions over one packaged model.

Endpoints (the OpenAPI document is at ``/openapi.json``, the interactive docs at ``/docs``):

- ``GET /health``: liveness. Always 200 while the process answers; says whether the model is ready.
- ``GET /health/ready``: readiness. 200 once the model is loaded, 503 before (the image's
  ``HEALTHCHECK`` and an orchestrator's readiness probe call this one).
- ``GET /metadata``: the model card (id, data version, metrics, feature spec, threshold, ...).
- ``POST /predict``: one record -> probability of the label's positive value, and the label.
- ``POST /predict/batch``: ``{"records": [...]}`` (1 to ``MAX_BATCH`` records) -> one prediction
  per record, in order.

The model is loaded once, at startup, before the server accepts connections. Every bad request is a
4xx whose ``message`` names the field: 400 malformed JSON, 413 too many records, 415 not JSON, 422
anything the schema refuses. Predictions run on one dedicated thread whose OpenMP pool is limited to
one thread: on a tiny batch a thread team costs more than it saves, and concurrent requests are
served by micro-batching (:mod:`churn_model.batching`), not by threads fighting over two cores.
The endpoints are ``async``: they never block the event loop (the model runs on its thread), so
parsing, validation and responses of other requests go on while the model is busy.

Settings come from the environment (:func:`load_settings`): ``MODEL_DIR`` (default ``dist/model``),
``HOST`` (default ``127.0.0.1``), ``PORT`` (default ``8000``), ``MAX_BATCH`` (default ``10000``).
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
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from threadpoolctl import threadpool_limits

from churn_model import __version__, contract
from churn_model.artifact import DEFAULT_MODEL_DIR
from churn_model.batching import MicroBatcher
from churn_model.card import ModelCard
from churn_model.errors import UserError
from churn_model.scoring import ServedModel, load_served_model, score_records

MICRO_BATCH_MAX = 256
"""Most single-record requests scored in one pipeline call (well under a 1 ms queue at any load)."""


class ServeSettings(BaseModel):
    """Where the service listens, which model it serves, and how large a batch may be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    model_dir: Path = DEFAULT_MODEL_DIR
    max_batch: int = Field(default=10_000, ge=1, le=1_000_000)


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


class Problem(BaseModel):
    """One thing wrong with a request."""

    field: str = Field(description="Dotted path of the offending field ('' for the whole body).")
    message: str
    type: str


class ErrorResponse(BaseModel):
    """The body of every 4xx answer to a bad request."""

    message: str = Field(description="One line per problem: field, then what is wrong.")
    detail: list[Problem]


def _problems(error: RequestValidationError) -> list[Problem]:
    """Turn FastAPI's validation errors into problems named by field (without echoing input)."""
    problems = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        if location[:1] == ["body"]:
            location = location[1:]
        message = str(item["msg"])
        if item["type"] == "json_invalid":  # its location is a character offset, not a field
            reason = item.get("ctx", {}).get("error", "")
            message = f"malformed JSON at character {'.'.join(location)}: {reason}"
            location = []
        problems.append(Problem(field=".".join(location), message=message, type=str(item["type"])))
    return problems


def _status(request: Request, problems: Sequence[Problem]) -> int:
    """Pick the 4xx: 415 not JSON, 400 malformed JSON, 413 too many records, else 422."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    # FastAPI parses application/json and any application/*+json body as JSON: so must this.
    is_json = media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
    if request.method == "POST" and not is_json:
        return 415
    if any(problem.type == "json_invalid" for problem in problems):
        return 400
    if any(problem.type == "too_long" and problem.field == "records" for problem in problems):
        return 413
    return 422


async def _on_invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    """Answer a request FastAPI could not validate with a 4xx naming every bad field."""
    problems = _problems(error)
    status = _status(request, problems)
    if status == 415:
        problems = [
            Problem(
                field="",
                message="request body must be JSON (Content-Type: application/json)",
                type="unsupported_media_type",
            )
        ]
    message = "\n".join(f"{p.field or '(body)'}: {p.message}" for p in problems)
    body = ErrorResponse(message=message, detail=problems)
    return JSONResponse(status_code=status, content=jsonable_encoder(body))


async def _on_http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
    """Give every HTTP error (404, 405, 503, unreadable body, body too large) the same shape."""
    message = str(error.detail)
    body = ErrorResponse(message=message, detail=[Problem(field="", message=message, type="http")])
    return JSONResponse(
        status_code=error.status_code, content=jsonable_encoder(body), headers=error.headers
    )


def _scorer(model: ServedModel) -> Callable[[Sequence[BaseModel]], list[contract.Prediction]]:
    """Return the function that scores a list of records into predictions (on the model thread)."""

    def score(records: Sequence[BaseModel]) -> list[contract.Prediction]:
        probability, label = score_records(model, records)
        return [
            contract.prediction(record, p, y)
            for record, p, y in zip(records, probability.tolist(), label.tolist(), strict=True)
        ]

    return score


def create_app(
    model_dir: Path, *, max_batch: int = 10_000, model: ServedModel | None = None
) -> FastAPI:
    """Build the service for the model in ``model_dir`` (loaded at startup unless ``model`` given).

    Args:
        model_dir: Folder holding ``model.skops`` and ``card.json``.
        max_batch: Most records one ``POST /predict/batch`` may carry (more is a 413).
        model: An already loaded model (the CLI loads it first to fail fast with a clear message).
    """
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        served = model or load_served_model(model_dir)
        executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="model",
            initializer=threadpool_limits,  # per thread: the OpenMP limit applies to this one
            initargs=(1,),
        )
        state["model"] = served
        # The model and the imported libraries live as long as the process: move them out of the
        # collector's reach, so full collections stay short (fewer latency spikes under load).
        gc.collect()
        gc.freeze()
        state["executor"] = executor
        state["batcher"] = MicroBatcher(_scorer(served), executor, MICRO_BATCH_MAX)
        try:
            yield
        finally:
            state.clear()
            executor.shutdown(wait=True)
            gc.unfreeze()

    app = FastAPI(
        title="churn-model",
        version=__version__,
        summary="Customer-churn predictions from the gated, promoted model.",
        lifespan=lifespan,
        exception_handlers={
            RequestValidationError: _on_invalid_request,
            StarletteHTTPException: _on_http_error,
        },
        # A record is ~250 bytes of JSON: 1 KiB each is generous, and a huge body is refused
        # (413) before it is parsed.
        max_body_size=max_batch * 1024 + 4096,
        responses={
            400: {"model": ErrorResponse, "description": "Malformed or unreadable JSON."},
            413: {"model": ErrorResponse, "description": "Too many records, or body too large."},
            415: {"model": ErrorResponse, "description": "Body is not JSON."},
            422: {"model": ErrorResponse, "description": "A field breaks the schema."},
        },
    )

    def loaded() -> ServedModel:
        served: ServedModel | None = state.get("model")
        if served is None:
            raise HTTPException(status_code=503, detail="model not loaded yet")
        return served

    @app.get("/health", tags=["health"])
    async def health() -> Health:
        """Liveness: 200 whenever the process answers; ``ready`` tells whether it can predict."""
        served: ServedModel | None = state.get("model")
        return Health(ready=served is not None, model_id=served.card.id if served else None)

    @app.get(
        "/health/ready",
        tags=["health"],
        responses={503: {"model": ErrorResponse, "description": "Model not loaded yet."}},
    )
    async def ready() -> Health:
        """Readiness: 200 once the model is loaded, 503 before."""
        return Health(ready=True, model_id=loaded().card.id)

    @app.get("/metadata", tags=["model"])
    async def metadata() -> ModelCard:
        """The model card of the served model."""
        return loaded().card

    @app.post("/predict", tags=["model"])
    async def predict(record: contract.Record) -> contract.PredictionResponse:
        """Score one record (its id, when the schema has one and the record carries it, echoed)."""
        served = loaded()
        batcher: MicroBatcher[BaseModel, contract.Prediction] = state["batcher"]
        prediction = await batcher.submit(record)
        return contract.PredictionResponse(
            **prediction.model_dump(), model_id=served.card.id, threshold=served.card.threshold
        )

    async def predict_batch(request: contract.BatchRequest) -> contract.BatchResponse:
        """Score many records at once; predictions come back in request order."""
        served = loaded()
        loop = asyncio.get_running_loop()
        score = _scorer(served)
        predictions = await loop.run_in_executor(state["executor"], score, request.records)
        return contract.BatchResponse(
            model_id=served.card.id, threshold=served.card.threshold, predictions=predictions
        )

    # FastAPI validates against the annotation: the sized model carries this service's max_batch.
    predict_batch.__annotations__["request"] = contract.batch_model(max_batch)
    app.post("/predict/batch", tags=["model"])(predict_batch)
    return app


def run(settings: ServeSettings, *, access_log: bool = False) -> None:
    """Load the model (failing fast with a clear error), then serve it with uvicorn."""
    model = load_served_model(settings.model_dir)
    app = create_app(settings.model_dir, max_batch=settings.max_batch, model=model)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=access_log)


def settings_from_env(**overrides: object) -> ServeSettings:
    """Read :class:`ServeSettings` from this process's environment, with CLI ``overrides``."""
    return load_settings(os.environ, **overrides)
