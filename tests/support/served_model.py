"""Helpers for the serving tests: a small trained model directory, laid out like the image's.

Tests train their own small candidate (fast, deterministic) on synthetic rows of the project's
schema instead of depending on a registry run.
"""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import uvicorn
from sklearn.pipeline import Pipeline
from starlette.types import ASGIApp

from churn_model.config import load_model_config
from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.model.artifact import CARD_FILE, MODEL_FILE, load_model
from churn_model.model.card import ModelCard, read_card, write_card
from churn_model.serving.server import server_options
from churn_model.serving.settings import Limits

from model_support import ROOT, small_candidate

THRESHOLD = load_model_config(ROOT / "configs/model.toml").decision.threshold


def sample(rows: int = 2_000, seed: int = 7) -> pd.DataFrame:
    """A small synthetic table of the project's schema (id and label included)."""
    return synthetic_frame(rows, seed)


@cache
def _candidate() -> Path:
    """Train one small real candidate per test process (every serving test module reuses it).

    It goes through the real training path (validation, fit, evaluation, card), so the card the
    service reads is exactly what `just train` writes.
    """
    scratch = Path(tempfile.mkdtemp(prefix="served-model-"))
    atexit.register(shutil.rmtree, scratch, True)
    return small_candidate(scratch)


def trained_candidate() -> Path:
    """The complete candidate folder those helpers train (once per process): gate it, promote it."""
    return _candidate()


def make_model_dir(target: Path, model_id: str = "test-model") -> tuple[Pipeline, ModelCard]:
    """Lay out ``model.skops`` + ``card.json`` in ``target`` as the image does (id ``model_id``)."""
    folder = _candidate()
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / MODEL_FILE, target / MODEL_FILE)
    card = read_card(folder / CARD_FILE).model_copy(update={"id": model_id})
    write_card(card, target / CARD_FILE)
    return load_model(target / MODEL_FILE), card


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn rows of a schema frame into JSON request records: the features, NaN as null."""
    features = frame[SCHEMA.feature_names()].astype(object)
    features = features.where(features.notna(), None)
    return [
        {str(name): value for name, value in row.items()}
        for row in features.to_dict(orient="records")
    ]


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
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1].decode()
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:  # pragma: no cover -- only on a broken start
            raise AssertionError("the service did not become ready within 60 s")
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


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
