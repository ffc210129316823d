"""The service's settings: defaults, the environment, the options that win, a clear refusal."""

from pathlib import Path

import pytest

from churn_model.errors import UserError
from churn_model.serving.request_limits import batch_bytes
from churn_model.serving.settings import (
    DEFAULT_MAX_BATCH,
    ENV_VARS,
    MIB,
    Limits,
    batch_that_fits,
    load_settings,
)
from churn_model.table import Column, Label, Schema

from schemas import OTHER

WIDE = Schema(
    features=tuple(
        Column(f"reading {number}", "float", "A sensor's reading.", ge=-1e6, le=1e6, nullable=True)
        for number in range(400)
    ),
    label=Label("failed", positive=1, negative=0, description="Whether the machine failed."),
    min_rows=100,
    positive_rate=(0.01, 0.99),
)
"""Four hundred nullable numbers a record: 1,000 such records are larger than 32 MiB."""


def test_settings_default_to_loopback_and_dist_model() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.model_dir) == (
        "127.0.0.1",
        8000,
        Path("dist/model"),
    )
    assert settings.limits == Limits()
    assert settings.max_batch == batch_that_fits(Limits().max_body_bytes_in_flight)


def test_settings_come_from_the_environment_and_options_win() -> None:
    environ = {
        "HOST": "0.0.0.0",  # noqa: S104 -- a value under test, nothing binds
        "PORT": "9000",
        "MODEL_DIR": "/app/model",
        "MAX_BATCH": "5",
        "MAX_REQUESTS_IN_FLIGHT": "7",
        "MAX_BODY_BYTES_IN_FLIGHT": str(8 * MIB),
        "HEADER_TIMEOUT_S": "2.5",
        "BODY_TIMEOUT_S": "12",
    }
    settings = load_settings(environ, port=9100, host=None)
    assert (settings.host, settings.port, settings.model_dir, settings.max_batch) == (
        "0.0.0.0",  # noqa: S104 -- a value under test, nothing binds
        9100,
        Path("/app/model"),
        5,
    )
    assert settings.limits == Limits(
        max_requests_in_flight=7,
        max_body_bytes_in_flight=8 * MIB,
        header_timeout_s=2.5,
        body_timeout_s=12,
    )
    assert set(ENV_VARS.values()) == set(environ)


def test_a_bad_setting_names_its_variable() -> None:
    with pytest.raises(UserError, match=r"port \(env PORT\)"):
        load_settings({"PORT": "eighty"})
    with pytest.raises(UserError, match=r"header_timeout_s \(env HEADER_TIMEOUT_S\)"):
        load_settings({"HEADER_TIMEOUT_S": "0"})


def test_the_bytes_in_flight_must_hold_one_whole_batch() -> None:
    largest = batch_bytes(1_000)
    both = {"MAX_BATCH": "1000", "MAX_BODY_BYTES_IN_FLIGHT": str(largest)}
    assert load_settings(both).max_batch == 1_000
    with pytest.raises(UserError) as refused:
        load_settings({**both, "MAX_BODY_BYTES_IN_FLIGHT": str(largest - 1)})
    message = str(refused.value)
    assert "max_batch (env MAX_BATCH)" in message
    assert "max_body_bytes_in_flight (env MAX_BODY_BYTES_IN_FLIGHT)" in message
    assert f"({largest:,} bytes)" in message


def test_the_default_limits_leave_room_in_the_pod() -> None:
    # The bytes in flight stay a small share of the pod's 512 MiB and hold whole batches of the
    # default MAX_BATCH: ten of the example's schema (the arithmetic is in docs/serving.md), fewer
    # of a wider one's, never none (the settings refuse that, naming the variable).
    limits = Limits()
    settings = load_settings({})
    assert batch_bytes(settings.max_batch) <= limits.max_body_bytes_in_flight <= 64 * MIB


@pytest.mark.parametrize("schema", [OTHER, WIDE], ids=["narrow", "wide"])
def test_the_default_batch_is_the_most_records_the_bytes_in_flight_hold(schema: Schema) -> None:
    held = Limits().max_body_bytes_in_flight
    batch = batch_that_fits(held, schema)
    assert batch_bytes(batch, schema) <= held
    assert batch == DEFAULT_MAX_BATCH or batch_bytes(batch + 1, schema) > held
    assert (batch < DEFAULT_MAX_BATCH) == (schema is WIDE)


def test_without_max_batch_the_bytes_in_flight_set_the_batch_and_with_it_they_must_hold_it() -> (
    None
):
    held = batch_bytes(3)
    settings = load_settings({"MAX_BODY_BYTES_IN_FLIGHT": str(held)})
    assert settings.max_batch == min(3, DEFAULT_MAX_BATCH)
    with pytest.raises(UserError, match=r"max_batch \(env MAX_BATCH\)"):
        load_settings({"MAX_BODY_BYTES_IN_FLIGHT": str(held), "MAX_BATCH": "4"})
    # Not one record fits: the default stays, and the pair is refused.
    with pytest.raises(
        UserError, match=r"max_body_bytes_in_flight \(env MAX_BODY_BYTES_IN_FLIGHT\)"
    ):
        load_settings({"MAX_BODY_BYTES_IN_FLIGHT": "100"})
