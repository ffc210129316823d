"""Send the service the requests a hostile review stalled it with, and print what they cost.

Run with ``just bench-bad-requests``. It starts ``churn-model serve``
(its default settings) on a free loopback port over ``--model-dir``, or over a model trained for
the occasion when that folder does not exist, polls ``/health`` back to back the whole time, and
measures two kinds of attack.

**Heavy bodies**, on one service, in turn:

- one ``POST /predict`` of 9.4 MB: a JSON object of 950,000 unknown keys;
- three of them at once;
- three ``POST /predict/batch`` at once, each the largest body the batch route reads, all unknown
  keys (the most work a body the route accepts can ask of the parser).

For each: the time until every request was refused, the statuses, the largest error body, the
service's peak resident memory so far, and the ``/health`` latency meanwhile.

**Held connections**, each on a fresh service, watched for ``--window`` seconds:

- 250 connections each declaring a ``POST /predict/batch`` body just under the route's limit,
  sending all of it but its last byte, then stalling;
- 200 slowloris connections sending request headers one byte every 3 s, never finishing them;
- both at once.

For each: how many connections were answered (their statuses, and when), closed by the service
(when) or still open at the end, the service's peak resident memory (the kernel's high-water
mark, ``VmHWM``), and the ``/health`` latency (median and worst) and failures meanwhile.

The figures depend on the machine; compare runs on the same one. It imports little from the
package (the model folder's names, ``batch_bytes``, ``wait_until_ready``), so the same script
measures an older checkout's service that has those: ``PYTHONPATH=OLD/src just bench-bad-requests``.
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import numpy as np

from churn_model.model.artifact import DEFAULT_MODEL_DIR, MODEL_FILE
from churn_model.serving.request_limits import batch_bytes
from churn_model.serving.smoke import wait_until_ready

from load_test import train_temporary_model

LOOPBACK = "127.0.0.1"
JSON = {"content-type": "application/json"}
BATCH_BODY_BYTES = batch_bytes(1_000) - 10_000
"""A batch body just under the batch route's limit at the default MAX_BATCH (1,000 records)."""
STALLED_BODIES = 250
SLOWLORIS = 200
SLOWLORIS_PAUSE_S = 3.0
POD_LIMIT_MIB = 512
"""The memory limit the service's default limits are chosen for (the pod's, when deployed)."""


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


def _exited(process: subprocess.Popen[bytes]) -> str | None:
    """None while ``process`` runs; once it has exited, its exit code."""
    return None if process.poll() is None else f"it exited with code {process.returncode}"


@contextmanager
def service(model_dir: Path) -> Iterator[tuple[str, int]]:
    """Start ``churn-model serve`` on a free loopback port; yield its URL and pid."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "churn_model", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--model-dir", str(model_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        try:
            wait_until_ready(url, within_s=120, stopped=partial(_exited, process))
        except (TimeoutError, RuntimeError) as error:
            raise SystemExit(str(error)) from None
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
        self.samples: list[tuple[float, float, bool]] = []  # (ended at, latency, answered 200)
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=300) as session:
            while not self._stop.is_set():
                began = time.monotonic()
                try:
                    answered = session.get("/health").status_code == 200
                except httpx.TransportError:
                    answered = False
                ended = time.monotonic()
                self.samples.append((ended, ended - began, answered))
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
        return [1_000 * latency for ended, latency, _ in self.samples if ended >= start]

    def failures_since(self, start: float) -> int:
        """Polls that ended at ``start`` or later without a 200."""
        return sum(not ok for ended, _, ok in self.samples if ended >= start)


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


def heavy_bodies(model_dir: Path) -> None:
    """Print the table of the three heavy-body scenarios, on one service."""
    attack = unknown_keys(950_000)
    heavy = b'{"records": [' + unknown_keys(BATCH_BODY_BYTES // 10) + b"]}"
    with service(model_dir) as (url, pid), HealthPoller(url) as health:
        time.sleep(0.5)
        idle = health.since(0)
        resident = _memory_kib(pid)["VmRSS"] / 1024
        print(f"service pid {pid}, idle: resident {resident:.0f} MiB, /health median ", end="")
        print(f"{np.median(idle):.1f} ms, worst {max(idle):.1f} ms\n")
        header = f"{'heavy bodies':<44}{'refused in':>11}{'statuses':>22}{'largest body':>14}"
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


@dataclass
class Held:
    """What happened to one held connection: its answer's status and when, when it closed."""

    kind: str
    status: int | None = None
    answered_s: float | None = None
    closed_s: float | None = None


async def _watch(sock: socket.socket, held: Held, start: float, until: float) -> None:
    """Read what the service sends on ``sock`` until it closes or ``until``; note status, times."""
    loop = asyncio.get_running_loop()
    received = b""
    while (left := until - time.monotonic()) > 0:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65_536), left)
        except TimeoutError:
            return
        except OSError:
            data = b""
        if not data:
            held.closed_s = time.monotonic() - start
            return
        if held.status is None:
            received += data
            if b"\r\n" in received:
                held.status = int(received.split(b" ", 2)[1])
                held.answered_s = time.monotonic() - start


async def _connect(port: int, held: Held, start: float) -> socket.socket | None:
    """A connection to the service; None when it refuses one (noted as closed on ``held``)."""
    sock = socket.socket()
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (LOOPBACK, port))
    except OSError:
        sock.close()
        held.closed_s = time.monotonic() - start
        return None
    return sock


async def stalled_body(port: int, payload: memoryview, start: float, until: float) -> Held:
    """Send all of ``payload`` (a request) but its last byte, then stall; watch the answer."""
    held = Held("stalled body")
    sock = await _connect(port, held, start)
    if sock is None:
        return held
    with sock:
        sending = asyncio.ensure_future(asyncio.get_running_loop().sock_sendall(sock, payload[:-1]))
        await _watch(sock, held, start, until)
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    return held


async def slowloris(port: int, start: float, until: float) -> Held:
    """Send request headers one byte every few seconds, never finishing; watch the answer."""
    held = Held("slowloris")
    headers = b"POST /predict HTTP/1.1\r\nHost: bench\r\nX-Slow: " + b"a" * 10_000
    loop = asyncio.get_running_loop()
    sock = await _connect(port, held, start)
    if sock is None:
        return held
    with sock:
        for byte in headers:
            try:
                await loop.sock_sendall(sock, bytes([byte]))
            except OSError:
                held.closed_s = time.monotonic() - start
                return held
            await _watch(sock, held, start, min(until, time.monotonic() + SLOWLORIS_PAUSE_S))
            if held.closed_s is not None or time.monotonic() >= until:
                return held
    return held  # pragma: no cover -- 10,000 bytes outlast any window


async def _attack(port: int, bodies: int, lorises: int, window: float) -> list[Held]:
    size = BATCH_BODY_BYTES
    head = (
        f"POST /predict/batch HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    payload = memoryview(head + b'{"records": [' + b" " * (size - 15) + b"]}")
    start = time.monotonic()
    until = start + window
    tasks = [stalled_body(port, payload, start, until) for _ in range(bodies)]
    tasks += [slowloris(port, start, until) for _ in range(lorises)]
    return list(await asyncio.gather(*tasks))


def _when(seconds: list[float]) -> str:
    if not seconds:
        return "-"
    first, last = min(seconds), max(seconds)
    return f"{first:.1f} s" if last - first < 0.5 else f"{first:.1f}-{last:.1f} s"


def _answers(held: list[Held]) -> str:
    statuses = sorted({h.status for h in held if h.status is not None})
    parts = []
    for status in statuses:
        times = [h.answered_s for h in held if h.status == status and h.answered_s is not None]
        parts.append(f"{len(times)} x {status} at {_when(times)}")
    return ", ".join(parts) or "none"


def held_connections(model_dir: Path, window: float) -> None:
    """Print the table of the held-connection attacks, each on a fresh service."""
    print(f"\nheld connections, each attack on a fresh service, watched for {window:g} s:")
    plan = [
        (f"{STALLED_BODIES} stalled {BATCH_BODY_BYTES / 1e6:.1f} MB bodies", STALLED_BODIES, 0),
        (f"{SLOWLORIS} slowloris (1 byte / {SLOWLORIS_PAUSE_S:g} s)", 0, SLOWLORIS),
        ("both at once", STALLED_BODIES, SLOWLORIS),
    ]
    for name, bodies, lorises in plan:
        with service(model_dir) as (url, pid), HealthPoller(url) as health:
            time.sleep(0.5)
            idle = _memory_kib(pid)["VmRSS"] / 1024
            start = time.monotonic()
            port = int(url.rsplit(":", 1)[1])
            outcomes = asyncio.run(_attack(port, bodies, lorises, window))
            peak = _memory_kib(pid)["VmHWM"] / 1024
            latencies = health.since(start) or [float("nan")]
            failures = health.failures_since(start)
        print(f"\n  {name}: idle {idle:.0f} MiB, peak {peak:.0f} MiB ", end="")
        print(f"(pod limit {POD_LIMIT_MIB} MiB: {POD_LIMIT_MIB - peak:.0f} MiB to spare)")
        print(
            f"    /health: {len(latencies)} polls, median {np.median(latencies):.1f} ms, "
            f"worst {max(latencies):.1f} ms, {failures} failed"
        )
        for kind in ("stalled body", "slowloris"):
            group = [h for h in outcomes if h.kind == kind]
            if not group:
                continue
            closed = [h.closed_s for h in group if h.closed_s is not None]
            print(
                f"    {kind} x {len(group)}: answered {_answers(group)}; closed by the service "
                f"{len(closed)} at {_when(closed)}; still open at {window:g} s: "
                f"{len(group) - len(closed)}"
            )


def main() -> None:
    """Run the scenarios against freshly started services and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument(
        "--window", type=float, default=35.0, help="seconds each held-connection attack is watched"
    )
    parser.add_argument(
        "--only", choices=["heavy", "held"], help="run one of the two kinds of attack"
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bad-model-") as tmp:
        model_dir = arguments.model_dir
        if not (model_dir / MODEL_FILE).is_file():
            model_dir = Path(tmp) / "model"
            train_temporary_model(model_dir)
        if arguments.only != "held":
            heavy_bodies(model_dir)
        if arguments.only != "heavy":
            held_connections(model_dir, arguments.window)


if __name__ == "__main__":
    main()
