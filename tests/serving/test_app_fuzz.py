"""Schema-driven fuzzing: requests generated from the service's own OpenAPI document.

Schemathesis reads ``/openapi.json`` and generates valid requests and invalid ones (wrong types,
missing and extra fields, out-of-range values, unknown categories, empty and oversized lists) for
every operation, sent in process through the ASGI app (lifespan included: the model is loaded). Its
default checks must all pass: above all, no 5xx, and every response matches the document.
"""

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok

from churn_model.serving.app import create_app

CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            # Invalid input must be refused with exactly the codes the service documents (an
            # oversized batch is a 413, a body that is not JSON a 415), and nothing else.
            "negative_data_rejection": {"expected-statuses": [400, 413, 415, 422]},
            # A valid record may carry keys the model ignores (one copied from a wider table), up
            # to a size worked out from the schema, which the document cannot state: a generated
            # record beyond it is a 413, as documented (a small schema's limit is ~1.4 kB).
            "positive_data_acceptance": {"expected-statuses": ["2xx", 413]},
        }
    }
)

OPERATIONS = [
    ("GET", "/health"),
    ("GET", "/health/ready"),
    ("GET", "/metadata"),
    ("POST", "/predict"),
    ("POST", "/predict/batch"),
]


@pytest.fixture(scope="module")
def api_schema(model_dir: Path) -> schemathesis.BaseSchema:
    app = create_app(model_dir, max_batch=20)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)


def test_the_document_lists_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    found = set()
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document must parse without error
        found.add((result.ok().method.upper(), result.ok().path))
    assert found == set(OPERATIONS)


CASES = [
    *((method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS),
    # Only request bodies can be wrong: the GET operations take no input.
    ("POST", "/predict", GenerationMode.NEGATIVE),
    ("POST", "/predict/batch", GenerationMode.NEGATIVE),
]


# `just check` sends a few requests per case, enough to catch a route that breaks on ordinary input;
# the slow set (`just check-slow`) sends many more, where the rarer shapes of bad input show up.
QUICK = {"GET": 2, "POST": 8}
DEEP = {"GET": 10, "POST": 100}


def _fuzz(
    api_schema: schemathesis.BaseSchema,
    method: str,
    path: str,
    mode: GenerationMode,
    examples: int,
) -> None:
    """Send ``examples`` generated requests to one operation; answers must match the document."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call_and_validate()
        assert response.status_code < 500

    run()


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_generated_request_gets_a_server_error(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    _fuzz(api_schema, method, path, mode, QUICK[method])


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_many_generated_requests_get_no_server_error(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    _fuzz(api_schema, method, path, mode, DEEP[method])
