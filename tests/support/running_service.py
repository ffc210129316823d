"""The HTTP service in a process of its own, for the tests that need the real entry point."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


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
