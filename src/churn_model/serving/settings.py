"""The service's settings, read from the environment: where it listens, what it serves, its limits.

Every figure has a default here and an environment variable (:data:`ENV_VARS`) that overrides it;
the image sets ``MODEL_DIR``, ``HOST`` and ``PORT``, and a deployment's manifest sets the limits
beside the memory limit they are chosen from.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import Field, ValidationError, model_validator

from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.model.artifact import DEFAULT_MODEL_DIR
from churn_model.records import Record
from churn_model.serving.request_limits import batch_bytes, record_bytes
from churn_model.table import Schema

MIB = 1 << 20
DEFAULT_MAX_BATCH = 1_000
"""The most records a batch may carry unless ``MAX_BATCH`` says otherwise (or the schema's records
are too wide for that many: :func:`batch_that_fits`)."""


def batch_that_fits(bytes_in_flight: int, schema: Schema = SCHEMA) -> int:
    """The default batch: :data:`DEFAULT_MAX_BATCH`, or as many records as fit the bytes in flight.

    ``bytes_in_flight`` must hold one whole batch body of ``schema``'s records, and a wide schema's
    records are large (a few hundred numeric columns make a legitimate batch of 1,000 larger than
    the default 32 MiB): its default batch is smaller, so the service starts with its defaults.
    When not even one record fits, the default stays and the settings refuse the pair, naming both
    variables.
    """
    fits = (bytes_in_flight - batch_bytes(0, schema)) // (record_bytes(schema) + 2)
    return DEFAULT_MAX_BATCH if fits < 1 else min(DEFAULT_MAX_BATCH, fits)


class Limits(Record):
    """How much the service holds at once, and how long it waits for each part of a request.

    The defaults fit a 512 MiB memory limit (the arithmetic is in the Serving docs):
    the bodies held at once, plus one batch being parsed, plus the idle process, stay
    well under the limit.
    """

    max_requests_in_flight: int = Field(default=128, ge=1, le=100_000)
    """Requests with a body held at once (read, queued, scored); one more is a 503."""
    max_body_bytes_in_flight: int = Field(default=32 * MIB, ge=1, le=4_096 * MIB)
    """Bytes of request bodies held at once (declared up front, or counted as they arrive)."""
    header_timeout_s: float = Field(default=10.0, gt=0, le=600)
    """Longest a request's headers may take, from their first byte (then a 408 and close)."""
    body_timeout_s: float = Field(default=30.0, gt=0, le=600)
    """Longest a request's body may take once its headers are in (then a 408)."""


class ServeSettings(Record):
    """Where the service listens, which model it serves, how large a batch may be, its limits."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    model_dir: Path = DEFAULT_MODEL_DIR
    max_batch: int = Field(default=DEFAULT_MAX_BATCH, ge=1, le=100_000)
    limits: Limits = Limits()

    @model_validator(mode="before")
    @classmethod
    def _default_batch_fits(cls, data: object) -> object:
        """Without a ``max_batch``, the default batch (:func:`batch_that_fits`)."""
        if not isinstance(data, dict) or data.get("max_batch") is not None:
            return data
        try:
            held = Limits.model_validate(data.get("limits", {})).max_body_bytes_in_flight
        except ValidationError:
            return data  # the limits' own validation names what is wrong with them
        return {**data, "max_batch": batch_that_fits(held)}

    @model_validator(mode="after")
    def _one_batch_fits(self) -> Self:
        """The bytes in flight must hold at least one batch of ``max_batch`` records."""
        largest = batch_bytes(self.max_batch)
        if self.limits.max_body_bytes_in_flight < largest:
            raise ValueError(
                f"max_body_bytes_in_flight ({self.limits.max_body_bytes_in_flight:,}) must hold "
                f"one batch of max_batch records ({largest:,} bytes), or no batch could be served"
            )
        return self


ENV_VARS = {
    "host": "HOST",
    "port": "PORT",
    "model_dir": "MODEL_DIR",
    "max_batch": "MAX_BATCH",
    "max_requests_in_flight": "MAX_REQUESTS_IN_FLIGHT",
    "max_body_bytes_in_flight": "MAX_BODY_BYTES_IN_FLIGHT",
    "header_timeout_s": "HEADER_TIMEOUT_S",
    "body_timeout_s": "BODY_TIMEOUT_S",
}
"""The environment variable that sets each setting."""


def load_settings(environ: Mapping[str, str], **overrides: object) -> ServeSettings:
    """Read the settings from ``environ``; explicit ``overrides`` (CLI options) win when not None.

    Raises:
        UserError: a value is out of range or of the wrong type, naming the variable.
    """
    values: dict[str, object] = {
        field: environ[var] for field, var in ENV_VARS.items() if environ.get(var)
    }
    values.update({field: value for field, value in overrides.items() if value is not None})
    limits = {field: values.pop(field) for field in Limits.model_fields if field in values}
    try:
        return ServeSettings.model_validate({**values, "limits": limits})
    except ValidationError as error:
        lines = ["invalid service settings"]
        for problem in error.errors():
            named = [str(part) for part in problem["loc"] if str(part) in ENV_VARS]
            fields = named or _named_in(problem["msg"])
            where = ", ".join(f"{field} (env {ENV_VARS[field]})" for field in fields)
            lines.append(f"  {where or '(settings)'}: {problem['msg']}")
        raise UserError("\n".join(lines)) from None


def _named_in(message: str) -> list[str]:
    """The settings a cross-field message names, in the order of :data:`ENV_VARS`."""
    return [field for field in ENV_VARS if field in message]


def settings_from_env(**overrides: object) -> ServeSettings:
    """Read :class:`ServeSettings` from this process's environment, with CLI ``overrides``."""
    return load_settings(os.environ, **overrides)
