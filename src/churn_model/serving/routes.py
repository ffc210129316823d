"""The routes of the service: what each answers, and the bounds it reads its request within.

:class:`Endpoints` holds the handlers (health, readiness, metadata, one prediction, a batch);
:func:`add_routes` puts them on the app with their tags and documented answers, and
:func:`with_body_schemas` describes the bodies the predict routes read themselves. A handler
finds the running service (``running.Running``) on the app's state, put there by the app's
lifespan (``app``).
"""

import asyncio
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from churn_model import __version__
from churn_model.model.card import ModelCard
from churn_model.serving import contract
from churn_model.serving.contract import ErrorResponse
from churn_model.serving.request_limits import (
    RecordValidator,
    batch_bytes,
    parse_json,
    read_body,
    record_bytes,
)
from churn_model.serving.running import Running, predictions


class Health(BaseModel):
    """Liveness: the process answers; ``ready`` says whether it can predict yet."""

    status: str = "ok"
    ready: bool
    model_id: str | None
    version: str = __version__


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
