"""Send the service the requests a hostile review used to stall it, and print what they cost.

Run with ``just bench-bad-requests``. It starts ``churn-model serve`` (its default
settings) on a free loopback port over ``--model-dir``, or over a model trained for the occasion
when that folder does not exist, polls ``/health`` back to back the whole time, and sends in turn:

- one ``POST /predict`` of 9.4 MB: a JSON object of 950,000 unknown keys;
- three of them at once;
- three ``POST /predict/batch`` at once, each the largest body the batch route reads, all unknown
  keys (the most work a body the route accepts can ask of the parser).

For each it prints the time until every request was refused, the statuses, the size of the largest
error body, the service's peak resident memory so far, and the ``/health`` latency meanwhile
(median and worst). The figures depend on the machine; compare runs on the same one.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

from churn_model.model.artifact import DEFAULT_MODEL_DIR, MODEL_FILE
from churn_model.serving.request_limits import batch_bytes

from load_test import train_temporary_model

LOOPBACK = "127.0.0.1"
JSON = {"content-type": "application/json"}
BATCH_BODY_BYTES = batch_bytes(1_000) - 10_000
"""A batch body just under the batch route's limit at the default MAX_BATCH (1,000 records)."""


def unknown_keys(count: int) -> bytes:
    """A JSON object of ``count`` keys no schema has (about ten bytes each)."""
    return b"{" + b",".join(b'"%x":1' % i for i in range(count)) + b"}"


def _memory_kib(pid: int) -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in KiB (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0])
    return fields


@contextmanager
def service(model_dir: Path) -> Iterator[tuple[str, int]]:
    """Start ``churn-model serve`` on a free loopback port; yield its URL and pid."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "churn_model", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--model-dir", str(model_dir)], stdout=subprocess.DEVNULL, env=os.environ
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise SystemExit("the service was not ready within 120 s")
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


class HealthPoller:
    """Poll ``/health`` back to back on one connection, recording each latency and when it ended."""

    def __init__(self, url: str) -> None:
        """Poll ``url`` once started."""
        self._url = url
        self._stop = threading.Event()
        self.samples: list[tuple[float, float]] = []  # (ended at, latency)
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=300) as session:
            while not self._stop.is_set():
                began = time.monotonic()
                session.get("/health")
                ended = time.monotonic()
                self.samples.append((ended, ended - began))
                time.sleep(0.005)

    def __enter__(self) -> "HealthPoller":
        """Start polling."""
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop polling."""
        self._stop.set()
        self._thread.join()

    def since(self, start: float) -> list[float]:
        """Latencies (ms) of the polls that ended at ``start`` or later."""
        return [1_000 * latency for ended, latency in self.samples if ended >= start]


def scenario(url: str, requests: list[tuple[str, bytes]]) -> tuple[float, list[int], int]:
    """Send ``requests`` at once; seconds until all were answered, statuses, largest body."""
    results: list[httpx.Response] = []

    def send(path: str, body: bytes) -> None:
        results.append(httpx.post(url + path, content=body, headers=JSON, timeout=600))

    threads = [threading.Thread(target=send, args=request) for request in requests]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return elapsed, sorted(r.status_code for r in results), max(len(r.content) for r in results)


def main() -> None:
    """Run the three scenarios against a freshly started service and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    arguments = parser.parse_args()
    attack = unknown_keys(950_000)
    heavy = b'{"records": [' + unknown_keys(BATCH_BODY_BYTES // 10) + b"]}"
    with tempfile.TemporaryDirectory(prefix="bench-bad-model-") as tmp:
        model_dir = arguments.model_dir
        if not (model_dir / MODEL_FILE).is_file():
            model_dir = Path(tmp) / "model"
            train_temporary_model(model_dir)
        with service(model_dir) as (url, pid), HealthPoller(url) as health:
            time.sleep(0.5)
            idle = health.since(0)
            resident = _memory_kib(pid)["VmRSS"] / 1024
            print(f"service pid {pid}, idle: resident {resident:.0f} MiB, /health median ", end="")
            print(f"{np.median(idle):.1f} ms, worst {max(idle):.1f} ms\n")
            header = f"{'scenario':<44}{'refused in':>11}{'statuses':>22}{'largest body':>14}"
            print(f"{header}{'peak RSS':>10}{'/health median':>16}{'/health worst':>15}")
            plan = [
                (f"/predict, 1 x {len(attack) / 1e6:.1f} MB unknown keys", [("/predict", attack)]),
                (f"/predict, 3 x {len(attack) / 1e6:.1f} MB at once", [("/predict", attack)] * 3),
                (
                    f"/predict/batch, 3 x {len(heavy) / 1e6:.2f} MB at once",
                    [("/predict/batch", heavy)] * 3,
                ),
            ]
            for name, requests in plan:
                start = time.monotonic()
                elapsed, statuses, largest = scenario(url, requests)
                time.sleep(0.05)
                latencies = health.since(start) or [float("nan")]
                peak = _memory_kib(pid)["VmHWM"] / 1024
                print(
                    f"{name:<44}{elapsed:>10.2f}s{','.join(map(str, statuses)):>22}"
                    f"{largest:>13,}B{peak:>7.0f}MiB{np.median(latencies):>13.1f} ms"
                    f"{max(latencies):>12.1f} ms"
                )


if __name__ == "__main__":
    main()
