"""The HTTP service in a process of its own, for the tests that need the real entry point."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from churn_model.serving.server import server_options
from churn_model.serving.settings import Limits
from churn_model.serving.smoke import wait_until_ready


@contextmanager
def running_service(model_dir: Path, **env: str) -> Iterator[str]:
    """Run ``churn-model serve`` over ``model_dir`` on a loopback port; yield its URL.

    The real entry point in its own process (uvicorn, its settings, the lifespan), stopped after.
    ``env`` adds environment variables (``MAX_BATCH``, ...).
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "churn_model", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--model-dir", str(model_dir)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"

    def stopped() -> str | None:
        return None if process.poll() is None else process.communicate()[1].decode()

    try:
        wait_until_ready(url, within_s=60, stopped=stopped)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def free_port() -> int:
    """A loopback port free at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def just_serve(root: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`just serve` in the project at ``root`` on a free loopback port, until the block ends.

    Its output goes to ``log``; it is stopped with SIGTERM to its process group.
    """
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["just", "serve", "--port", str(port)],
            cwd=root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"

    def stopped() -> str | None:
        return None if process.poll() is None else log.read_text(encoding="utf-8")

    try:
        wait_until_ready(url, within_s=90, what="`just serve`", stopped=stopped)
        yield url
    finally:
        with suppress(ProcessLookupError):  # it may have stopped on its own (a failed start)
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def ask_service(url: str, record: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """``POST /predict`` with ``record``, then the OpenAPI document and ``/metadata``."""
    answer = httpx.post(f"{url}/predict", json=record, timeout=10)
    assert answer.status_code == 200, answer.text
    document = httpx.get(f"{url}/openapi.json", timeout=10).text
    card = httpx.get(f"{url}/metadata", timeout=10).json()
    return answer.json(), document, card


@contextmanager
def serving_in_thread(app: ASGIApp, limits: Limits) -> Iterator[int]:
    """Serve ``app`` with uvicorn as ``serve`` configures it under ``limits``; yield its port.

    A real server on a loopback port, in a thread of the test process: cheaper than
    :func:`running_service` when the test brings its own app (its model loaded once per module).
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port: int = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, **server_options(limits))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()
