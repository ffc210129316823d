"""Request bodies with bounds: what a client sends is read, parsed and validated within limits.

One request must not stall the service. So every step costs at most a bounded amount:

- **Size.** Each route accepts what it can legitimately carry: one record is at most
  :func:`record_bytes` (worked out from the schema: the longest JSON each field can take, as much
  again for keys the model ignores, doubled for whitespace), a batch ``max_batch`` of them. A
  ``Content-Length`` over the limit is refused before a byte of the body is read, a body sent
  without one as soon as it passes the limit, a body that is not complete within the route's
  deadline (:attr:`churn_model.serving.settings.Limits.body_timeout_s`) with a 408.
- **Parsing.** JSON is parsed by pydantic-core (Rust) with its own bounds on nesting and on the
  digits of a number; each way it can fail gets its own message (not UTF-8, nested too deeply, a
  number too large, malformed at line and column).
- **Validation.** A record's keys that are not columns of the model are ignored (see
  :mod:`churn_model.serving.contract`): they cost no problem, and a missing feature's
  problem names a few of them (the misspelling, most likely). A batch envelope with far more keys
  than ``records`` is summarised in one problem; the list of problems stops at :data:`MAX_PROBLEMS`,
  so an error body is small whatever the request was. Batches are validated in chunks on a worker
  thread (see :mod:`churn_model.serving.app`), so the event loop keeps answering
  ``/health``.
"""

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, Final

import pydantic_core
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from churn_model.domain.schema import SCHEMA
from churn_model.serving.contract import (
    ID_LENGTH,
    MAX_PROBLEMS,
    ErrorResponse,
    Problem,
)
from churn_model.table import Column, Schema

CHUNK_RECORDS: Final = 256
"""Records validated per call on the worker thread (between calls other threads may run)."""

FIELD_TEXT: Final = 80
"""Longest field name echoed back in a problem (a client's key may be any length)."""

IGNORED_MIN_BYTES: Final = 512
"""Room a record always has for keys the model ignores (more when its own fields need more)."""

_NUMBER_TEXT = 32  # "-1.7976931348623157e+308" and any integer a bound allows, with room to spare
_WHOLE_BODY = ""  # the field of a problem about the body as a whole


class BadRequest(Exception):  # noqa: N818 -- it is the answer, not an error of the service
    """A request the service refuses: the status and what was wrong with it."""

    def __init__(
        self, status: int, problems: Sequence[Problem], *, truncated: bool = False
    ) -> None:
        """Refuse with ``status``; ``truncated``: validation stopped at :data:`MAX_PROBLEMS`."""
        super().__init__(problems[0].message if problems else str(status))
        self.status = status
        self.problems = list(problems)
        self.truncated = truncated

    def response(self) -> ErrorResponse:
        """The JSON body of the answer (the documented :class:`ErrorResponse` shape)."""
        lines = [f"{p.field or '(body)'}: {p.message}" for p in self.problems]
        if self.truncated:
            lines.append(f"(validation stopped after {MAX_PROBLEMS} problems; there may be more)")
        return ErrorResponse(
            message="\n".join(lines), detail=self.problems, truncated=self.truncated
        )


def bad_request_response(error: BadRequest) -> JSONResponse:
    """The answer to a refused request: its status, and its problems in the documented shape.

    A 408 also closes the connection: the rest of its body may never come, and until it did the
    connection could carry no other request.
    """
    return JSONResponse(
        status_code=error.status,
        content=jsonable_encoder(error.response()),
        headers={"Connection": "close"} if error.status == 408 else None,
    )


def http_error_response(error: HTTPException) -> JSONResponse:
    """Any other HTTP error (404, 405, 503, ...) in the same shape, with its headers."""
    message = str(error.detail)
    body = ErrorResponse(message=message, detail=[Problem(field="", message=message, type="http")])
    return JSONResponse(
        status_code=error.status_code, content=jsonable_encoder(body), headers=error.headers
    )


def _refuse(status: int, kind: str, message: str, field: str = _WHOLE_BODY) -> BadRequest:
    return BadRequest(status, [Problem(field=field, message=message, type=kind)])


def _longest_value(column: Column) -> int:
    """The most characters a valid JSON value of ``column`` can take."""
    if column.kind == "id":
        longest = 2 + 6 * ID_LENGTH  # a quoted string, every character escaped as \uXXXX
    elif column.kind == "category":
        longest = max(
            max(len(json.dumps(c)), len(json.dumps(c, ensure_ascii=False).encode()))
            for c in column.categories
        )
    elif column.kind == "bool":
        longest = len("false")
    else:
        longest = _NUMBER_TEXT
    return max(longest, len("null")) if column.nullable else longest


def record_bytes(schema: Schema = SCHEMA) -> int:
    """The largest body one legitimate record can need, worked out from the schema.

    The compact JSON of the longest value of every field (the features, and the id a record may
    carry), as much again (at least :data:`IGNORED_MIN_BYTES`) for keys the model ignores (a record
    copied from a wider table), all doubled for whitespace and indentation, plus room for a
    wrapper. For the example schema this is a few kilobytes.
    """
    columns: Iterable[Column] = (*schema.features, *([schema.id] if schema.id else []))
    compact = 2 + sum(len(json.dumps(c.name)) + 2 + _longest_value(c) for c in columns)
    return 2 * (compact + max(compact, IGNORED_MIN_BYTES)) + 256


def batch_bytes(max_records: int, schema: Schema = SCHEMA) -> int:
    """The largest body a batch of ``max_records`` legitimate records can need."""
    return 64 + max_records * (record_bytes(schema) + 2)


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type is JSON: ``application/json`` or any ``application/*+json``."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_body(request: Request, limit: int, *, timeout_s: float) -> bytes:
    """Read the JSON body of ``request``, refusing it early if it is not JSON or exceeds ``limit``.

    Raises:
        BadRequest: 415 not JSON, 413 larger than ``limit`` (decided on ``Content-Length`` before
            reading when the client sends one), 408 not all received within ``timeout_s``, 400 the
            client went away mid-body.
    """
    if not is_json(request.headers.get("content-type")):
        raise _refuse(
            415,
            "unsupported_media_type",
            "request body must be JSON (Content-Type: application/json)",
        )
    too_large = _refuse(413, "too_large", f"request body larger than {limit:,} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
    except TimeoutError:
        raise _refuse(408, "timeout", f"request body not received within {timeout_s:g} s") from None
    except ClientDisconnect:
        raise _refuse(400, "disconnected", "the client closed the connection mid-body") from None
    return b"".join(chunks)


def parse_json(body: bytes) -> object:
    """Parse a JSON body, with one specific 400 for each way it can fail.

    ``NaN`` and ``Infinity`` are parsed (Python's JSON reader takes them too) so that validation
    names the field they were sent in; the schema refuses non-finite numbers.
    """
    if not body.strip():
        raise _refuse(400, "json_empty", "request body is empty: expected a JSON object")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _refuse(
            400,
            "invalid_utf8",
            f"request body is not UTF-8 text: byte 0x{body[error.start]:02x} at offset "
            f"{error.start} cannot be decoded",
        ) from None
    try:
        return pydantic_core.from_json(body, allow_inf_nan=True)
    except ValueError as error:
        reason = str(error)
        if reason.startswith("recursion limit exceeded"):
            where = reason.removeprefix("recursion limit exceeded").strip()
            raise _refuse(
                400, "json_too_deep", f"JSON nested too deeply {where} (a record is flat)"
            ) from None
        if reason.startswith("number out of range"):
            where = reason.removeprefix("number out of range").strip()
            raise _refuse(400, "json_number_too_large", f"number too large {where}") from None
        raise _refuse(400, "json_invalid", f"malformed JSON: {reason}") from None


def _field(location: Sequence[int | str]) -> str:
    text = ".".join(str(part) for part in location)
    return text if len(text) <= FIELD_TEXT else text[: FIELD_TEXT - 1] + "…"


def _problem(error: ErrorDetails, location: Sequence[int | str], ignored: str = "") -> Problem:
    """One pydantic error as a problem at ``location``, without echoing the input.

    ``ignored`` names some of the record's ignored keys, said beside its first missing field.
    """
    message = str(error["msg"])
    if error["type"] == "float_type" and isinstance(error.get("input"), int):
        message = "Input should be a finite number (this integer is too large for a float)"
    if error["type"] == "missing" and ignored:
        message += f" (the record's other keys are ignored: {ignored})"
    return Problem(field=_field(location), message=message, type=str(error["type"]))


def _ignored_keys(value: object, known: frozenset[str]) -> str:
    """A few keys of a record that no column has, quoted, or ``""``: the likely misspellings."""
    if not isinstance(value, dict):
        return ""
    found = list(islice((key for key in value if key not in known), 4))
    shown = ", ".join(repr(_field([key])) for key in found[:3])
    return shown + (", ..." if len(found) > 3 else "")


class _Problems:
    """Problems gathered up to :data:`MAX_PROBLEMS`, remembering whether more were found."""

    def __init__(self) -> None:
        self.found: list[Problem] = []
        self.truncated = False

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_PROBLEMS

    def add(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            if self.full:
                self.truncated = True
                return
            self.found.append(problem)

    def raise_if_any(self, status: int = 422) -> None:
        if self.found:
            raise BadRequest(status, self.found, truncated=self.truncated)


def _too_many_fields(value: object, known: frozenset[str], field: str) -> Problem | None:
    """One problem summarising a batch envelope with far more keys than it has, else None.

    Validating such an object would report every unknown key; one summary costs nothing. (A
    record's unknown keys are ignored, not reported.)
    """
    if not isinstance(value, dict) or len(value) <= 2 * len(known):
        return None
    unknown = [key for key in value if key not in known]
    examples = ", ".join(repr(_field([key])) for key in islice(unknown, 3))
    expected = ", ".join(repr(key) for key in sorted(known))
    return Problem(
        field=field,
        message=f"{len(unknown):,} unknown fields (for example {examples}); expected {expected}",
        type="too_many_fields",
    )


def _list_problem(value: dict[Any, Any], max_records: int) -> Problem | None:
    """What is wrong with the ``records`` list of a batch itself, if anything.

    Raises:
        BadRequest: 413 when it holds more than ``max_records`` records.
    """
    if "records" not in value:
        return Problem(field="records", message="Field required", type="missing")
    records = value["records"]
    if not isinstance(records, list):
        return Problem(field="records", message="Input should be a valid list", type="list_type")
    if len(records) > max_records:
        raise _refuse(
            413,
            "too_long",
            f"List should have at most {max_records} items after validation, not {len(records)}",
            field="records",
        )
    if not records:
        return Problem(
            field="records",
            message="List should have at least 1 item after validation, not 0",
            type="too_short",
        )
    return None


class RecordValidator:
    """Validates parsed JSON into records of ``record_type`` within the bounds of this module."""

    def __init__(
        self, record_type: type[BaseModel], *, unread: Iterable[str] = (SCHEMA.label.name,)
    ) -> None:
        """Validate records of ``record_type`` (the keys it reads are its fields' aliases).

        ``unread``: keys a record may well carry that the model does not read (the label): ignored
        like any other, but never named as a likely misspelling.
        """
        self._record_type = record_type
        self._records = TypeAdapter(list[record_type])  # type: ignore[valid-type] # a runtime class
        self._known = frozenset(
            [*(field.alias or name for name, field in record_type.model_fields.items()), *unread]
        )

    def record(self, value: object) -> BaseModel:
        """Validate one record (the body of ``POST /predict``).

        Raises:
            BadRequest: 422 with at most :data:`MAX_PROBLEMS` problems.
        """
        try:
            return self._record_type.model_validate(value)
        except ValidationError as error:
            problems = _Problems()
            hint = self._hint([value])
            problems.add(
                _problem(item, item["loc"], hint(0, item))
                for item in error.errors(include_url=False)
            )
            problems.raise_if_any()
            raise  # pragma: no cover -- a ValidationError always has errors

    def _hint(self, records: Sequence[object]) -> Callable[[int, ErrorDetails], str]:
        """Name the ignored keys of ``records[i]`` beside its first missing field, once."""
        hinted: set[int] = set()

        def hint(index: int, error: ErrorDetails) -> str:
            if error["type"] != "missing" or index in hinted:
                return ""
            hinted.add(index)
            return _ignored_keys(records[index], self._known)

        return hint

    def batch(self, value: object, max_records: int) -> list[BaseModel]:
        """Validate ``{"records": [...]}`` with 1 to ``max_records`` records (on a worker thread).

        Raises:
            BadRequest: 413 more than ``max_records`` records; 422 anything else the schema
                refuses, with at most :data:`MAX_PROBLEMS` problems.
        """
        if not isinstance(value, dict):
            raise _refuse(422, "model_type", "Input should be an object with a 'records' list")
        problems = _Problems()
        summary = _too_many_fields(value, frozenset({"records"}), _WHOLE_BODY)
        if summary is not None:
            raise BadRequest(422, [summary])
        problems.add(
            Problem(
                field=_field([key]),
                message="Extra inputs are not permitted",
                type="extra_forbidden",
            )
            for key in value
            if key != "records"
        )
        listed = _list_problem(value, max_records)
        problems.add([listed] if listed else [])
        problems.raise_if_any()
        return self._records_in_chunks(value["records"], problems)

    def _records_in_chunks(self, records: list[Any], problems: _Problems) -> list[BaseModel]:
        """Validate the records :data:`CHUNK_RECORDS` at a time, stopping once the list is full."""
        valid: list[BaseModel] = []
        for start in range(0, len(records), CHUNK_RECORDS):
            if problems.full:
                problems.truncated = True
                break
            chunk = records[start : start + CHUNK_RECORDS]
            try:
                valid.extend(self._records.validate_python(chunk))
            except ValidationError as error:
                hint = self._hint(chunk)
                problems.add(
                    _problem(
                        item,
                        ["records", start + int(item["loc"][0]), *item["loc"][1:]],
                        hint(int(item["loc"][0]), item),
                    )
                    for item in error.errors(include_url=False)
                )
        problems.raise_if_any()
        return valid
