"""Smoke-test a running service: what a deployment must answer before anyone relies on it.

``just smoke URL`` (``churn-model smoke URL``) runs these checks against any running
service, a container on this machine or a rollout in a cluster, and exits non-zero with one sentence
per failed check:

1. ``GET /health`` answers 200 (the process is alive);
2. ``GET /health/ready`` answers 200 (the model is loaded and can score);
3. ``GET /metadata`` names the expected model: the card in the local model folder (``dist/model``,
   what ``just package`` exported and the image ships);
4. ``POST /predict`` on a known record (a row of the schema's synthetic data, never a hand-written
   one) answers what ``churn-model predict`` gives for it with that same model;
5. ``POST /predict`` with a body the schema refuses gets a 4xx whose body carries a ``message``.

:func:`wait_until_ready` waits for a service just started to answer ``GET /health/ready`` with
200, before anything (a test, a benchmark) relies on it.

The standard library's ``http.client`` speaks HTTP here: serving needs no HTTP client library.
"""

import http.client
import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.model.artifact import CARD_FILE
from churn_model.model.card import read_card
from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.batch_scoring import predict_file, spelt
from churn_model.table import LabelValue

TIMEOUT_SECONDS = 10.0
READY_POLL_TIMEOUT_S = 1.0
READY_POLL_INTERVAL_S = 0.02
"""How long one readiness poll may take, and the pause between polls (a loopback poll is cheap)."""
KNOWN_RECORD_SEED = 20_261_126
"""Seed of the synthetic row the prediction check sends (any row of the schema's data would do)."""


@dataclass(frozen=True)
class Check:
    """One smoke check: its name, whether it passed, and what was seen."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and decoded JSON body (None when the body is not JSON)."""

    status: int
    body: Any


def _request(
    url: str, method: str = "GET", payload: object = None, timeout: float = TIMEOUT_SECONDS
) -> Answer:
    """Send one request and read the answer; a failure to get one raises ``OSError``."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.netloc, timeout=timeout)
    body = None if payload is None else json.dumps(payload).encode()
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers={"content-type": "application/json"})
        response = connection.getresponse()
        status, raw = response.status, response.read()
    except http.client.HTTPException as error:  # a broken answer is no answer
        raise OSError(f"{type(error).__name__}: {error}") from None
    finally:
        connection.close()
    try:
        decoded = json.loads(raw)
    except ValueError:
        decoded = None
    return Answer(status, decoded)


def _still_running() -> str | None:
    return None


def wait_until_ready(
    url: str,
    within_s: float,
    what: str = "the service",
    stopped: Callable[[], str | None] = _still_running,
) -> None:
    """Poll ``GET /health/ready`` at ``url`` until it answers 200, for at most ``within_s`` seconds.

    A service just started takes a moment to load its model: whatever talks to it first (a test, a
    benchmark) waits here. Raises ``TimeoutError`` naming ``what`` and the time it was given when
    it never answered 200; ``RuntimeError`` with the reason ``stopped`` returns as soon as that
    says what was to answer has stopped (its process exited, and why), rather than waiting on.
    """
    deadline = time.monotonic() + within_s
    while (reason := stopped()) is None:
        try:
            if _request(f"{url}/health/ready", timeout=READY_POLL_TIMEOUT_S).status == 200:
                return
        except OSError:
            pass  # not listening yet
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{what} was not ready within {within_s:g} s (GET {url}/health/ready)"
            )
        time.sleep(READY_POLL_INTERVAL_S)
    raise RuntimeError(f"{what} stopped before it was ready: {reason}")


def known_record() -> pd.DataFrame:
    """One row of the schema's synthetic data, without its label: the record the check sends."""
    return synthetic_frame(1, seed=KNOWN_RECORD_SEED, label=False)


def request_body(frame: pd.DataFrame) -> dict[str, Any]:
    """The first row's features as a JSON request record (a missing value becomes ``null``)."""
    features = frame[SCHEMA.feature_names()].astype(object)
    row = features.where(features.notna(), None).iloc[0]
    return {
        str(name): (value.item() if hasattr(value, "item") else value)
        for name, value in row.items()
    }


def expected_prediction(frame: pd.DataFrame, model_dir: Path) -> tuple[float, LabelValue]:
    """Run ``churn-model predict`` on the first row with the model in ``model_dir``.

    Returns the probability and the predicted value, read back from the file's text as the
    label's own value (``1``, ``True``, ``"Yes"``).
    """
    with tempfile.TemporaryDirectory(prefix="smoke-") as scratch:
        source, scored = Path(scratch) / "record.csv", Path(scratch) / "scored.csv"
        frame.to_csv(source, index=False)
        predict_file(source, scored, model_dir)
        row = pd.read_csv(scored, dtype=str, keep_default_na=False).iloc[0]
    values = {spelt(value): value for value in (SCHEMA.label.positive, SCHEMA.label.negative)}
    return float(row[probability_field()]), values[row[predicted_field()]]


def _status_check(name: str, base: str, path: str) -> Check:
    answer = _request(base + path)
    return Check(name, answer.status == 200, f"GET {path} answered {answer.status}")


def _metadata_check(base: str, expected_id: str) -> Check:
    answer = _request(base + "/metadata")
    served = answer.body.get("id") if isinstance(answer.body, dict) else None
    if answer.status != 200:
        return Check("metadata", False, f"GET /metadata answered {answer.status}")
    return Check(
        "metadata",
        served == expected_id,
        f"serves model {served!r}" + ("" if served == expected_id else f", not {expected_id!r}"),
    )


def _prediction_check(base: str, model_dir: Path) -> Check:
    frame = known_record()
    probability, label = expected_prediction(frame, model_dir)
    answer = _request(base + "/predict", "POST", request_body(frame))
    if answer.status != 200 or not isinstance(answer.body, dict):
        return Check("prediction", False, f"POST /predict answered {answer.status}")
    served_p, served_label = (
        answer.body.get(probability_field()),
        answer.body.get(predicted_field()),
    )
    # `churn-model predict` writes the probability as text: equal to
    # 12 significant digits. The label is the label's own value, of its own type (true is not 1).
    same = (
        isinstance(served_p, float)
        and math.isclose(served_p, probability, rel_tol=1e-12, abs_tol=1e-15)
        and type(served_label) is type(label)
        and served_label == label
    )
    # One line each (a rename to a shorter command name must not leave lines the formatter joins).
    served = f"served {served_p} (predicted {json.dumps(served_label)})"
    seen = f"{served}; `churn-model predict` gives {probability} ({json.dumps(label)})"
    return Check("prediction", same, seen)


def _bad_request_check(base: str) -> Check:
    answer = _request(base + "/predict", "POST", {})
    has_message = isinstance(answer.body, dict) and bool(answer.body.get("message"))
    return Check(
        "bad request",
        400 <= answer.status < 500 and has_message,
        f"POST /predict with an empty record answered {answer.status}"
        + ("" if has_message else " without a message"),
    )


def run_smoke(url: str, model_dir: Path) -> list[Check]:
    """Run every check against the service at ``url``; one :class:`Check` each, in order.

    A check that cannot reach the service fails with the reason; the others still run.
    """
    if not url.startswith(("http://", "https://")):
        return [Check("url", False, f"{url!r} is not an http:// or https:// URL")]
    base = url.rstrip("/")
    expected_id = read_card(model_dir / CARD_FILE).id
    steps: dict[str, Callable[[], Check]] = {
        "health": partial(_status_check, "health", base, "/health"),
        "readiness": partial(_status_check, "readiness", base, "/health/ready"),
        "metadata": partial(_metadata_check, base, expected_id),
        "prediction": partial(_prediction_check, base, model_dir),
        "bad request": partial(_bad_request_check, base),
    }
    checks = []
    for name, step in steps.items():
        try:
            checks.append(step())
        except OSError as error:  # refused, reset, timed out, name not found
            checks.append(Check(name, False, f"no answer from {base} ({error})"))
    return checks


def render(checks: list[Check]) -> str:
    """One line per check: ``ok`` or ``FAIL``, its name, what was seen."""
    return "\n".join(f"{'ok  ' if c.passed else 'FAIL'}  {c.name:<12} {c.detail}" for c in checks)
