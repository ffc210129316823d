"""Load-test the HTTP service on loopback and compare it with the pipeline called in process.

Bounded in requests and in time, and loopback only. Without ``--url`` it starts the service itself
(``python -m churn_model serve`` on a free 127.0.0.1 port) over ``--model-dir``, or,
when that folder does not exist, over a model trained for the occasion on synthetic rows of the
project's schema (:mod:`churn_model.data.synthetic`) with ``configs/model.toml``; it
reports the time from process start to ready. The requests are synthetic rows of the schema too.
Then it prints:

- single-record ``POST /predict``: N requests from C concurrent clients: requests/s, p50/p95/p99;
- ``POST /predict/batch`` with B records: M sequential requests: p50/p95/max;
- the error count (any non-200 or transport error);
- the floor: the same scoring called in process (frame building + ``predict_proba``, one thread);
- side by side, in the same run: the plain path a tutorial writes (a one-row ``DataFrame`` and
  ``predict_proba`` per request, no micro-batching), then each optimisation switched on in turn
  (one OpenMP thread, compiled scoring, micro-batching: the service itself), each its own process
  under the same single-record load, medians of ``--rounds`` interleaved rounds, with the ratios to
  the plain path (``scripts/serving_variants.py`` has the variants).

Usage: ``just bench-serve`` or ``uv run python scripts/load_test.py --help``.
"""

import argparse
import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from pydantic import BaseModel
from threadpoolctl import threadpool_limits

from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.domain.schema import SCHEMA
from churn_model.model.artifact import CARD_FILE, DEFAULT_MODEL_DIR, MODEL_FILE
from churn_model.model.candidate import create_candidate
from churn_model.serving.compiled_model import records_frame, score_records
from churn_model.serving.contract import Record
from churn_model.serving.served_model import load_compiled_model, score_frame
from churn_model.serving.smoke import wait_until_ready

LOOPBACK = "127.0.0.1"
JSON = {"content-type": "application/json"}


def _percentiles(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies, in milliseconds."""
    values = np.asarray(seconds) * 1_000
    return {
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
    }


def _records(rows: int, seed: int) -> list[dict[str, Any]]:
    """Request records: synthetic rows of the schema (NaN becomes null)."""
    frame = synthetic_frame(rows, seed, label=False)[SCHEMA.feature_names()].astype(object)
    frame = frame.where(frame.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def train_temporary_model(target: Path) -> None:
    """Train a real candidate on synthetic rows (versioned config) and copy it to ``target``.

    It goes through the same path as `just train` (validation, training, evaluation, card), so
    the service loads exactly what it would load in production.
    """
    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        data = Path(tmp) / "sample.csv"
        write_csv(synthetic_frame(10_000, seed=0), data)
        folder = create_candidate(data, root=Path(tmp) / "candidates")
        target.mkdir(parents=True, exist_ok=True)
        for name in (MODEL_FILE, CARD_FILE):
            shutil.copyfile(folder / name, target / name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def started_service(
    model_dir: Path, timeout: float, variant: str | None = None
) -> Iterator[tuple[str, float]]:
    """Start the service (or a variant) on a free loopback port; yield its URL, seconds to ready.

    ``variant`` names one of ``scripts/serving_variants.py`` (None: the service itself). The
    image ships compiled bytecode, so bytecode writing is allowed (whatever
    PYTHONDONTWRITEBYTECODE says here) and the imports are compiled once before the timed start.
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    warm = "import churn_model.cli, churn_model.serving.app, uvicorn.main"
    subprocess.run([sys.executable, "-c", warm], env=env, check=True)
    if variant is None:
        command = [sys.executable, "-m", "churn_model", "serve", "--host", LOOPBACK]
        command += ["--port", str(port), "--model-dir", str(model_dir)]
    else:
        command = [sys.executable, str(Path(__file__).with_name("serving_variants.py")), variant]
        command += ["--port", str(port), "--model-dir", str(model_dir)]
        if variant != "plain":
            env["OMP_NUM_THREADS"] = "1"
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://{LOOPBACK}:{port}"

    def stopped() -> str | None:
        return None if process.poll() is None else process.communicate()[1].decode()

    try:
        try:
            wait_until_ready(url, timeout, stopped=stopped)
        except (TimeoutError, RuntimeError) as error:
            raise SystemExit(str(error)) from None
        yield url, time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=15)


class _Connection:
    """One keep-alive HTTP/1.1 connection per client thread (stdlib ``http.client``).

    The load generator shares the machine with the service; ``http.client`` costs about a tenth of
    a millisecond of CPU per request, an async httpx client about one, which on two cores would
    measure the client more than the service.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(
            parts.hostname or LOOPBACK, parts.port, timeout=30
        )

    def post(self, path: str, body: bytes) -> bool:
        """POST a JSON body; True when the answer is a 200."""
        try:
            self._connection.request("POST", path, body=body, headers=JSON)
            response = self._connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()
            return False
        return response.status == 200

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


def single_load(
    url: str, bodies: list[bytes], concurrency: int, deadline: float
) -> tuple[list[float], int, float]:
    """POST each body to /predict from ``concurrency`` clients: latencies, errors, wall time."""
    latencies: list[float] = []
    failures: list[bool] = []
    queue = iter(bodies)
    lock = threading.Lock()

    def client() -> None:
        connection = _Connection(url)
        try:
            while time.perf_counter() < deadline:
                with lock:
                    body = next(queue, None)
                if body is None:
                    return
                began = time.perf_counter()
                ok = connection.post("/predict", body)
                latencies.append(time.perf_counter() - began)
                failures.append(not ok)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, sum(failures), time.perf_counter() - began


def batch_load(url: str, body: bytes, count: int, deadline: float) -> tuple[list[float], int]:
    """Send ``count`` batch requests one after the other; latencies and errors."""
    latencies: list[float] = []
    errors = 0
    connection = _Connection(url)
    try:
        connection.post("/predict/batch", body)  # warm-up, not timed
        for _ in range(count):
            if time.perf_counter() > deadline:
                break
            began = time.perf_counter()
            ok = connection.post("/predict/batch", body)
            latencies.append(time.perf_counter() - began)
            errors += not ok
    finally:
        connection.close()
    return latencies, errors


def in_process_floor(model_dir: Path, batch_size: int) -> tuple[dict[str, dict[str, float]], bool]:
    """Time the scoring in process, 1 thread: the service's path, and the pipeline on a frame.

    The service's path (:func:`~churn_model.serving.compiled_model.score_records`) is
    the compiled one when the model has it (also returned); the pipeline line (records
    -> frame -> ``predict_proba``) shows what it saves.
    """
    model = load_compiled_model(model_dir)
    one = [Record.model_validate(r) for r in _records(1, seed=3)]
    many = [Record.model_validate(r) for r in _records(batch_size, seed=4)]

    def pipeline(records: list[BaseModel]) -> object:
        return score_frame(model, records_frame(records))

    def service(records: list[BaseModel]) -> object:
        return score_records(model, records)

    paths: dict[str, Callable[[list[BaseModel]], object]] = {
        "service": service,
        "pipeline": pipeline,
    }

    def measure() -> dict[str, dict[str, float]]:
        threadpool_limits(1)  # as on the service's model thread
        results = {}
        for path, score in paths.items():
            for size, records, repeat in ((1, one, 500), (batch_size, many, 30)):
                score(records)
                times = []
                for _ in range(repeat):
                    began = time.perf_counter()
                    score(records)
                    times.append(time.perf_counter() - began)
                results[f"{path}, batch {size}"] = _percentiles(times)
        return results

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(measure).result(), model.compiled is not None


COMPARED = {
    "plain": "plain: DataFrame + predict_proba per request",
    "one-thread": "+ one OpenMP thread",
    "compiled": "+ compiled scoring",
    None: "+ micro-batching (this service)",
}
"""The variants side by side, in order (None: the service itself), as the table names them."""


def compare_variants(
    model_dir: Path, bodies: list[bytes], concurrency: int, rounds: int, max_seconds: float
) -> dict[str | None, list[tuple[float, float, float, int]]]:
    """Load every variant in turn, ``rounds`` times interleaved; (req/s, p50, p99, errors) each.

    All the variants run at once, each in its own process (idle while another is loaded), so a
    round measures them back to back under the same conditions of the machine.
    """
    results: dict[str | None, list[tuple[float, float, float, int]]] = {v: [] for v in COMPARED}
    with contextlib.ExitStack() as stack:
        urls = {
            variant: stack.enter_context(started_service(model_dir, 60, variant))[0]
            for variant in COMPARED
        }
        for _ in range(rounds):
            for variant, url in urls.items():
                deadline = time.perf_counter() + max_seconds
                latencies, errors, wall = single_load(url, bodies, concurrency, deadline)
                stats = _percentiles(latencies)
                results[variant].append((len(latencies) / wall, stats["p50"], stats["p99"], errors))
    return results


def render_comparison(results: dict[str | None, list[tuple[float, float, float, int]]]) -> str:
    """The medians of each variant, with throughput and p99 as ratios to the plain path."""
    medians = {
        variant: tuple(float(np.median([r[i] for r in rounds])) for i in range(3))
        for variant, rounds in results.items()
    }
    base_rate, _, base_p99 = medians["plain"]
    lines = [
        f"  {'variant':<46} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'x req/s':>8} {'/ p99':>7}"
    ]
    for variant, (rate, p50, p99) in medians.items():
        lines.append(
            f"  {COMPARED[variant]:<46} {rate:7.0f} {p50:8.2f} {p99:8.2f} "
            f"{rate / base_rate:8.1f} {base_p99 / p99:7.1f}"
        )
    return "\n".join(lines)


def _line(name: str, stats: dict[str, float], extra: str = "") -> str:
    figures = "  ".join(f"{key} {value:7.2f} ms" for key, value in stats.items())
    return f"  {name:<24} {figures}  {extra}"


def main() -> None:
    """Parse options, run the bounded load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", help="Service to hit (default: start one on loopback).")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="Stop sending after this.")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Interleaved rounds of the side-by-side comparison (0 skips it; not with --url).",
    )
    options = parser.parse_args()
    if options.url and not options.url.startswith(
        ("http://127.", "http://localhost", "http://[::1]")
    ):
        parser.error("--url must be a loopback address")

    with tempfile.TemporaryDirectory() as scratch:
        model_dir = options.model_dir
        if not (model_dir / MODEL_FILE).is_file():
            model_dir = Path(scratch) / "model"
            print(f"{options.model_dir} has no model: training a temporary one on synthetic rows")
            train_temporary_model(model_dir)
        singles = [json.dumps(r).encode() for r in _records(options.requests, seed=1)]
        batch_body = json.dumps({"records": _records(options.batch_size, seed=2)}).encode()

        with _service(options.url, model_dir) as (url, ready_seconds):
            deadline = time.perf_counter() + options.max_seconds
            latencies, errors, wall = single_load(url, singles, options.concurrency, deadline)
            batch_latencies, batch_errors = batch_load(url, batch_body, options.batches, deadline)
        floor, compiled = in_process_floor(model_dir, options.batch_size)
        compared = None
        if options.rounds > 0 and not options.url:
            compared = compare_variants(
                model_dir, singles, options.concurrency, options.rounds, options.max_seconds
            )

    print(f"service: {url}  model: {model_dir}")
    if ready_seconds is not None:
        print(f"  start to ready            {ready_seconds:.2f} s")
    print(
        f"POST /predict: {len(latencies)} requests, {options.concurrency} concurrent clients, "
        f"{len(latencies) / wall:.0f} requests/s, {errors} errors"
    )
    print(_line("latency", _percentiles(latencies)))
    print(
        f"POST /predict/batch: {len(batch_latencies)} requests of {options.batch_size} records, "
        f"{batch_errors} errors"
    )
    print(_line("latency", _percentiles(batch_latencies)))
    path = "compiled arrays" if compiled else "no compiled path: the pipeline"
    print(f"floor: scoring in process, one thread (service path: {path})")
    for name, stats in floor.items():
        print(_line(name, stats))
    compare_errors = 0
    if compared is not None:
        print(
            f"side by side: {len(singles)} single-record requests from {options.concurrency} "
            f"clients per variant, medians of {options.rounds} interleaved rounds"
        )
        print(render_comparison(compared))
        compare_errors = sum(r[3] for rounds in compared.values() for r in rounds)
        if compare_errors:
            print(f"  {compare_errors} errors across the variants")
    if errors or batch_errors or compare_errors:
        raise SystemExit(1)


@contextmanager
def _service(url: str | None, model_dir: Path) -> Iterator[tuple[str, float | None]]:
    """The given URL as is, or a service started here (with its time to ready)."""
    if url:
        yield url, None
        return
    with started_service(model_dir, timeout=60) as (started_url, ready):
        yield started_url, ready


if __name__ == "__main__":
    main()
