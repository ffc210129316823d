"""``just smoke URL``: the post-deployment smoke test, against real services on loopback.

The service runs in this process (uvicorn on a thread, a free loopback port) over a small trained
model. The smoke test passes against it with the right model, and each check fails when the
deployment is wrong: another model id, another decision than ``churn-model predict``
gives, a service that accepts anything, nothing listening, a URL that is not HTTP.
"""

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.domain.schema import SCHEMA
from churn_model.model.artifact import CARD_FILE
from churn_model.model.card import read_card, write_card
from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.app import create_app
from churn_model.serving.smoke import (
    Check,
    expected_prediction,
    known_record,
    request_body,
    run_smoke,
    wait_until_ready,
)

from running_service import free_port
from served_model import make_model_dir


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("smoke") / "model"
    make_model_dir(folder, model_id="smoke-model")
    return folder


@pytest.fixture(scope="module")
def service(model_dir: Path) -> Iterator[str]:
    """The real service over ``model_dir``, on a free loopback port; yields its URL."""
    port = free_port()
    config = uvicorn.Config(create_app(model_dir), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _failed(checks: list[Check]) -> set[str]:
    return {check.name for check in checks if not check.passed}


def _copy(model_dir: Path, dest: Path, **card_changes: object) -> Path:
    dest.mkdir()
    for item in model_dir.iterdir():
        (dest / item.name).write_bytes(item.read_bytes())
    card = read_card(dest / CARD_FILE)
    write_card(card.model_copy(update=card_changes), dest / CARD_FILE)
    return dest


def test_the_smoke_test_passes_against_the_right_model(service: str, model_dir: Path) -> None:
    checks = run_smoke(service, model_dir)
    assert [c.name for c in checks] == [
        "health",
        "readiness",
        "metadata",
        "prediction",
        "bad request",
    ]
    assert _failed(checks) == set(), checks


def test_the_known_record_is_a_valid_request_from_the_schema() -> None:
    body = request_body(known_record())
    assert json.loads(json.dumps(body)) == body  # plain JSON values, NaN as null


def test_another_model_fails_the_metadata_check(
    service: str, model_dir: Path, tmp_path: Path
) -> None:
    expected = _copy(model_dir, tmp_path / "other", id="the-model-we-meant")
    checks = run_smoke(service, expected)
    assert _failed(checks) == {"metadata"}
    assert "not 'the-model-we-meant'" in next(c.detail for c in checks if c.name == "metadata")


def test_another_decision_fails_the_prediction_check(
    service: str, model_dir: Path, tmp_path: Path
) -> None:
    # Same model, same id, but a threshold that flips the known record's label.
    served = json.loads(_post(f"{service}/predict", request_body(known_record())).decode())
    probability, label = served[probability_field()], served[predicted_field()]
    flipped = (1 + probability) / 2 if label == SCHEMA.label.positive else probability / 2
    expected = _copy(model_dir, tmp_path / "flipped", threshold=flipped)
    assert _failed(run_smoke(service, expected)) == {"prediction"}


def _post(url: str, body: object) -> bytes:
    import urllib.request  # noqa: PLC0415 -- only this helper speaks HTTP directly

    request = urllib.request.Request(  # noqa: S310 -- a loopback URL built by this test
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 -- as above
        answer: bytes = response.read()
        return answer


class _AcceptsAnything(http.server.BaseHTTPRequestHandler):
    """A broken deployment: 200 and ``{}`` for every request."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer  # noqa: N815 -- the names http.server dispatches to

    def log_message(self, *_: object) -> None:
        """Stay quiet."""


def test_a_service_that_accepts_anything_fails(model_dir: Path) -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AcceptsAnything) as stub:
        # A short poll interval: shutdown() waits for the loop's next poll (0.5 s by default).
        threading.Thread(target=stub.serve_forever, args=(0.05,), daemon=True).start()
        url = f"http://127.0.0.1:{stub.server_address[1]}"
        checks = run_smoke(url, model_dir)
        stub.shutdown()
    assert _failed(checks) == {"metadata", "prediction", "bad request"}


def _answering(body: dict[str, object]) -> type[http.server.BaseHTTPRequestHandler]:
    """A stub deployment that answers ``body`` to every request."""

    class Answering(_AcceptsAnything):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        do_GET = do_POST = _answer  # noqa: N815 -- the names http.server dispatches to

    return Answering


def test_a_label_in_another_type_fails_the_prediction_check(model_dir: Path) -> None:
    """The predicted value is the label's own, of its own type: ``true`` is not ``1``."""
    probability, label = expected_prediction(known_record(), model_dir)
    values = {SCHEMA.label.positive, SCHEMA.label.negative}
    retype = {bool: int, int: bool}.get(type(label))
    # 1 as true (equal in Python, another JSON value), true as 1; a text label: the other value.
    other = retype(label) if retype else next(v for v in values if v != label)
    for predicted, passes in [(label, True), (other, False)]:
        body = {probability_field(): probability, predicted_field(): predicted}
        with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _answering(body)) as stub:
            threading.Thread(target=stub.serve_forever, args=(0.05,), daemon=True).start()
            checks = run_smoke(f"http://127.0.0.1:{stub.server_address[1]}", model_dir)
            stub.shutdown()
        assert ("prediction" not in _failed(checks)) is passes, checks


def test_nothing_listening_fails_every_check_with_the_reason(model_dir: Path) -> None:
    checks = run_smoke(f"http://127.0.0.1:{free_port()}", model_dir)
    assert _failed(checks) == {"health", "readiness", "metadata", "prediction", "bad request"}
    assert all("no answer from" in c.detail for c in checks)


def test_a_url_that_is_not_http_is_refused(model_dir: Path) -> None:
    checks = run_smoke("ftp://example.invalid", model_dir)
    assert [(c.name, c.passed) for c in checks] == [("url", False)]


def test_the_command_exits_non_zero_naming_the_failed_checks(
    service: str, model_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    passed = runner.invoke(app, ["smoke", service, "--model-dir", str(model_dir)])
    assert passed.exit_code == 0, passed.output
    assert "passed" in passed.output
    expected = _copy(model_dir, tmp_path / "other", id="the-model-we-meant")
    failed = runner.invoke(app, ["smoke", service, "--model-dir", str(expected)])
    assert failed.exit_code == 1
    assert "failed: metadata" in failed.output


# ------------------------------------------------------------------ waiting until ready


class _NotReady(_AcceptsAnything):
    """A service still loading its model: 503 for every request."""

    def _answer(self) -> None:
        self.send_response(503)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_POST = _answer  # noqa: N815 -- the names http.server dispatches to


def test_a_ready_service_is_not_waited_for(service: str) -> None:
    began = time.monotonic()
    wait_until_ready(service, within_s=5)
    assert time.monotonic() - began < 1


def test_a_service_not_ready_in_time_is_a_timeout_naming_what_and_how_long() -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotReady) as stub:
        threading.Thread(target=stub.serve_forever, args=(0.05,), daemon=True).start()
        url = f"http://127.0.0.1:{stub.server_address[1]}"
        began = time.monotonic()
        with pytest.raises(TimeoutError) as raised:
            wait_until_ready(url, within_s=0.3, what="the pod")
        waited = time.monotonic() - began
        stub.shutdown()
    assert str(raised.value) == f"the pod was not ready within 0.3 s (GET {url}/health/ready)"
    assert 0.3 <= waited < 2


def test_nothing_listening_is_waited_for_until_the_deadline() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TimeoutError, match=r"^the service was not ready within 0\.2 s"):
        wait_until_ready(url, within_s=0.2)


def test_what_stopped_before_it_was_ready_is_said_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    began = time.monotonic()
    with pytest.raises(RuntimeError) as raised:
        wait_until_ready(url, within_s=5, what="`just serve`", stopped=lambda: "port in use")
    assert str(raised.value) == "`just serve` stopped before it was ready: port in use"
    assert time.monotonic() - began < 1
