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
(``request_limits``): one request cannot stall the service. A request with a body beyond the
service's capacity (requests in flight, bytes of bodies held) is a 503 with ``Retry-After``
(``admission``): many requests cannot exhaust its memory. The endpoints are ``async`` and never
block the event loop: the model runs on its own thread and batches are validated on another, so
``/health`` and other requests are answered meanwhile.

The parts, all in this package: ``running`` is what the service holds while it runs, started and
stopped by the app's :func:`lifespan`; ``routes`` answers the routes; ``admission`` caps what
requests hold; :func:`create_app` puts them together. The settings are ``settings``, the server
under the app ``server``.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from churn_model import PROJECT_NAME, __version__
from churn_model.serving import contract
from churn_model.serving.admission import AdmissionControl
from churn_model.serving.request_limits import (
    BadRequest,
    bad_request_response,
    batch_bytes,
    http_error_response,
)
from churn_model.serving.routes import Endpoints, add_routes, with_body_schemas
from churn_model.serving.running import running
from churn_model.serving.served_model import (
    CompiledModel,
    load_compiled_model,
)
from churn_model.serving.settings import Limits, batch_that_fits


def lifespan(
    model_dir: Path, model: CompiledModel | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's start-up and shut-down: load the model (unless given), run it, stop it."""

    @asynccontextmanager
    async def serving(app: FastAPI) -> AsyncIterator[None]:
        async with running(model or load_compiled_model(model_dir)) as state:
            app.state.running = state
            try:
                yield
            finally:
                del app.state.running

    return serving


async def _on_bad_request(_: Request, error: BadRequest) -> JSONResponse:
    return bad_request_response(error)


async def _on_http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
    return http_error_response(error)


def create_app(
    model_dir: Path,
    *,
    max_batch: int | None = None,
    model: CompiledModel | None = None,
    limits: Limits | None = None,
) -> FastAPI:
    """Build the service for the model in ``model_dir`` (loaded at startup unless ``model`` given).

    Args:
        model_dir: Folder holding ``model.skops`` and ``card.json``.
        max_batch: Most records one ``POST /predict/batch`` may carry (more is a 413); its body
            may be that many records long
            (:func:`churn_model.serving.request_limits.batch_bytes`). Default: the
            settings' default (:func:`~churn_model.serving.settings.batch_that_fits`).
        model: An already loaded model (the CLI loads it first to fail fast with a clear message).
        limits: What the service holds at once and how long it waits for a body (default:
            :class:`~churn_model.serving.settings.Limits`' defaults).
    """
    limits = limits or Limits()
    if max_batch is None:
        max_batch = batch_that_fits(limits.max_body_bytes_in_flight)
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
