"""`just notify-failure` posts one line to a real webhook on loopback, or nothing when unset."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from project_tools import load_script

ROOT = Path(__file__).resolve().parents[2]
SECRET_PATH = "/hooks/T0-s3cret-path"  # noqa: S105 -- a fake, asserted absent from output


notify = load_script("notify_webhook")


class Webhook:
    """A chat webhook on loopback: records each body, answers with ``status``."""

    def __init__(self) -> None:
        """Start serving on a free port."""
        self.bodies: list[dict[str, str]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Keep the test output quiet."""

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        # A short poll interval: shutdown() waits for the loop's next poll (0.5 s by default).
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


GITHUB = {
    "GITHUB_WORKFLOW": "Retrain",
    "GITHUB_REPOSITORY": "acme/model",
    "GITHUB_RUN_ID": "42",
    "GITHUB_SERVER_URL": "https://github.com",
}


def test_unset_means_no_notification(capsys: pytest.CaptureFixture[str]) -> None:
    assert notify.main() == 0
    assert capsys.readouterr().out == "CHAT_WEBHOOK_URL is not set: no notification sent\n"


def test_a_failure_is_posted_with_a_link_to_the_run(
    webhook: Webhook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAT_WEBHOOK_URL", webhook.url)
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    assert notify.main() == 0
    text = "Retrain failed on acme/model: https://github.com/acme/model/actions/runs/42"
    assert webhook.bodies == [{"text": text}]
    assert SECRET_PATH not in capsys.readouterr().out


def test_a_refused_post_fails_without_showing_the_url(
    webhook: Webhook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    webhook.status = 500
    monkeypatch.setenv("CHAT_WEBHOOK_URL", webhook.url)
    assert notify.main() == 1
    err = capsys.readouterr().err
    assert err.startswith("error: posting to CHAT_WEBHOOK_URL failed")
    assert SECRET_PATH not in err
    assert len(webhook.bodies) == 1


@pytest.mark.parametrize(
    "url", ["http://hooks.example/x", "file:///etc/passwd", "ftp://hooks.example/"]
)
def test_only_https_or_loopback_is_posted_to(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAT_WEBHOOK_URL", url)
    assert notify.main() == 1
    assert capsys.readouterr().err == "error: CHAT_WEBHOOK_URL must be an https:// URL\n"
