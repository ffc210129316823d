"""Build the serving image and prove it serves: ``just image`` and ``just image-smoke``.

Both use whichever container engine works on this machine: docker when its daemon answers, else
podman (``CONTAINER_ENGINE`` chooses one explicitly). With podman the image is built in Docker's
format, since the OCI format has no place for ``HEALTHCHECK``. The build arguments
``PYTHON_IMAGE`` and ``UV_IMAGE`` are passed on when set in the environment (a registry mirror, or
the stand-ins of ``.ci/stand-in-bases``); otherwise the Dockerfile's digest-pinned bases are used.

``build`` prints the build time and the image size. ``smoke`` runs the image the way an
orchestrator would (read-only root file system, every capability dropped, no privilege escalation,
published on loopback only) and proves, against the running container:

- the image declares its ``HEALTHCHECK`` and a non-root user;
- it is ready (``GET /health/ready`` 200) within 10 s of ``run``, with a read-only root;
- the HTTP checks of ``churn-model smoke`` pass: health, readiness, the model id,
  ``/predict`` on a known record equal to ``churn-model predict`` on the same model, a
  bad request gets a 4xx;
- the serving process (PID 1) does not run as root;
- the image's own ``HEALTHCHECK`` command passes inside the container;
- ``SIGTERM`` stops it within 10 s;
- with ``MODEL_DIR`` pointing nowhere it exits non-zero with a one-line message naming the path.

It prints one line per check, then the image size and the time from start to ready; it exits 1 when
any check failed. ``model`` copies the model an image carries into ``dist/model`` (what a
deployment's smoke test expects it to serve). Usage: ``uv run python scripts/image.py --help``.
"""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from churn_model.model.artifact import CARD_FILE, DEFAULT_MODEL_DIR, MODEL_FILE
from churn_model.serving.smoke import Check, render, run_smoke

ROOT = Path(__file__).resolve().parents[1]
BASE_IMAGE_ARGS = ("PYTHON_IMAGE", "UV_IMAGE")
"""The Dockerfile's build arguments that choose its base images (see the Dockerfile's header)."""
READY_WITHIN = 10.0
STOP_WITHIN = 10.0
# What an orchestrator should grant the service, and all the smoke test grants it.
HARDENED = ("--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges")


class ImageError(Exception):
    """The engine could not do what was asked (build, run, inspect); the message says what."""


@cache
def engine() -> str:
    """The engine to use: ``CONTAINER_ENGINE``, else docker if its daemon answers, else podman."""
    chosen = os.environ.get("CONTAINER_ENGINE")
    if chosen:
        return chosen
    for name in ("docker", "podman"):
        if shutil.which(name) and _succeeds([name, "info"]):
            return name
    raise ImageError(
        "no working container engine: install podman, or start the Docker daemon "
        "(`docker info` must succeed), or set CONTAINER_ENGINE"
    )


def _succeeds(command: Sequence[str]) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def _run(command: Sequence[str], *, timeout: float | None = None) -> str:
    """Run an engine command; return its standard output, raise :class:`ImageError` on failure."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise ImageError(f"`{' '.join(command)}` failed:\n{result.stderr.strip()}")
    return result.stdout


def build(tag: str, context: Path = ROOT, *, dockerfile: Path | None = None) -> float:
    """Build the image from ``context`` as ``tag``; return the seconds it took.

    Raises:
        ImageError: the context has no packaged model, or the build failed.
    """
    if dockerfile is None:
        model = context / DEFAULT_MODEL_DIR
        missing = [name for name in (MODEL_FILE, CARD_FILE) if not (model / name).is_file()]
        if missing:
            raise ImageError(f"{model} lacks {', '.join(missing)}: run `just package` first")
    tool = engine()
    command = [tool, "build", "--tag", tag]
    if tool == "podman":
        command += ["--format", "docker"]  # the OCI format drops HEALTHCHECK
    command += [f"--build-arg={name}" for name in BASE_IMAGE_ARGS if os.environ.get(name)]
    if dockerfile is not None:
        command += ["--file", str(dockerfile)]
    started = time.perf_counter()
    result = subprocess.run([*command, str(context)], check=False)  # the build log streams through
    if result.returncode != 0:
        raise ImageError(f"{tool} build of {tag} failed (log above)")
    return time.perf_counter() - started


def inspect_image(tool: str, tag: str) -> dict[str, Any]:
    """The engine's description of an image (``image inspect``)."""
    described: list[dict[str, Any]] = json.loads(_run([tool, "image", "inspect", tag]))
    return described[0]


def healthcheck_of(image: dict[str, Any]) -> list[str]:
    """The ``HEALTHCHECK`` test an image declares (``[]`` when none or ``NONE``).

    Docker keeps it in the image's config, podman beside it.
    """
    check = image.get("Config", {}).get("Healthcheck") or image.get("Healthcheck") or {}
    test: list[str] = check.get("Test") or []
    return [] if test[:1] == ["NONE"] else test


def _http_status(url: str) -> int | None:
    """The status of ``GET url``, or None when nothing answers yet."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    connection = http.client.HTTPConnection(host_port, timeout=1)
    try:
        connection.request("GET", f"/{path}")
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


@dataclass
class Running:
    """A container started by :func:`started`: its name, URL and the seconds until ready."""

    name: str
    url: str
    ready_seconds: float | None


@contextmanager
def started(tool: str, tag: str, port: int, *extra: str) -> Iterator[Running]:
    """Run ``tag`` hardened and published on a free loopback port; wait up to 10 s for ready.

    The container is removed on the way out, whatever happened.
    """
    name = f"smoke-{uuid.uuid4().hex[:10]}"
    command = [tool, "run", "--detach", "--name", name, *HARDENED]
    command += ["--publish", f"127.0.0.1::{port}", *extra]
    if tool == "podman":
        command += ["--health-interval=disable"]  # no systemd timers here: checks run on demand
    began = time.perf_counter()
    try:
        _run([*command, tag])
        # Nothing published: the container has already exited (its logs will say why).
        published = _run([tool, "port", name, f"{port}/tcp"]).split()
        running = Running(name, f"http://{published[0]}" if published else "", None)
        while published and time.perf_counter() - began < READY_WITHIN:
            if _http_status(f"{running.url}/health/ready") == 200:
                running.ready_seconds = time.perf_counter() - began
                break
            time.sleep(0.1)
        yield running
    finally:
        subprocess.run([tool, "rm", "--force", name], capture_output=True, check=False)


def _env_of(image: dict[str, Any]) -> dict[str, str]:
    pairs = (item.partition("=") for item in image.get("Config", {}).get("Env") or [])
    return {key: value for key, _, value in pairs}


def _uid_check(tool: str, name: str) -> Check:
    status = _run([tool, "exec", name, "cat", "/proc/1/status"])
    uid = next((line.split()[1] for line in status.splitlines() if line.startswith("Uid:")), "?")
    return Check(
        "not root", uid not in {"0", "?"}, f"the serving process (PID 1) runs as uid {uid}"
    )


def _healthcheck_check(tool: str, name: str, test: list[str]) -> Check:
    if not test or test[0] not in {"CMD", "CMD-SHELL"}:
        return Check("healthcheck", False, f"the image declares no HEALTHCHECK command ({test})")
    command = test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]
    result = subprocess.run(
        [tool, "exec", name, *command], capture_output=True, text=True, timeout=30, check=False
    )
    detail = f"the image's HEALTHCHECK exited {result.returncode} in the running container"
    return Check("healthcheck", result.returncode == 0, detail)


def _sigterm_check(tool: str, name: str) -> Check:
    began = time.perf_counter()
    _run([tool, "kill", "--signal", "TERM", name])
    try:
        code = _run([tool, "wait", name], timeout=STOP_WITHIN).strip()
    except subprocess.TimeoutExpired:
        _run([tool, "kill", name])  # SIGKILL: removing it would wait for SIGTERM once more
        return Check("SIGTERM", False, f"still running {STOP_WITHIN:.0f} s after SIGTERM")
    seconds = time.perf_counter() - began
    # 0: the server shut down and returned; 143 (128 + 15): it re-raised the signal it handled.
    return Check("SIGTERM", code in {"0", "143"}, f"stopped in {seconds:.1f} s, exit status {code}")


def _no_model_check(tool: str, tag: str) -> Check:
    nowhere = "/nowhere/model"
    result = subprocess.run(
        [tool, "run", "--rm", *HARDENED, "--env", f"MODEL_DIR={nowhere}", tag],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = (result.stderr + result.stdout).strip()
    clear = nowhere in output and "Traceback" not in output
    return Check(
        "no model",
        result.returncode != 0 and clear,
        f"MODEL_DIR={nowhere}: exit status {result.returncode}, said {output.splitlines()[-1:]}",
    )


def smoke(tag: str, model_dir: Path) -> tuple[list[Check], Running]:
    """Run every check of the module docstring against ``tag``; the checks and the container."""
    tool = engine()
    image = inspect_image(tool, tag)
    test = healthcheck_of(image)
    user = str(image.get("Config", {}).get("User") or "")
    checks = [
        Check(
            "declared",
            bool(test) and user.split(":", maxsplit=1)[0] not in {"", "0", "root"},
            f"HEALTHCHECK {'declared' if test else 'missing'}, USER {user or '(none: root)'}",
        ),
    ]
    port = int(_env_of(image).get("PORT", "8000"))
    with started(tool, tag, port) as running:
        if running.ready_seconds is None:
            logs = subprocess.run(
                [tool, "logs", running.name], capture_output=True, text=True, check=False
            )
            tail = (logs.stdout + logs.stderr).strip().splitlines()[-5:]
            checks.append(Check("ready", False, f"not ready within {READY_WITHIN:.0f} s: {tail}"))
            return checks, running
        checks.append(
            Check("ready", True, f"ready {running.ready_seconds:.1f} s after `run`, read-only root")
        )
        checks += run_smoke(running.url, model_dir)
        checks.append(_uid_check(tool, running.name))
        checks.append(_healthcheck_check(tool, running.name, test))
        checks.append(_sigterm_check(tool, running.name))
    checks.append(_no_model_check(tool, tag))
    return checks, running


def extract_model(tag: str, dest: Path) -> Path:
    """Copy the model folder out of image ``tag`` (its ``MODEL_DIR``) into ``dest``; return it.

    The deployment's smoke test then expects exactly the model the image carries.
    """
    tool = engine()
    model_dir = _env_of(inspect_image(tool, tag)).get("MODEL_DIR")
    if not model_dir:
        raise ImageError(f"{tag} sets no MODEL_DIR: it is not this project's serving image")
    name = f"model-{uuid.uuid4().hex[:10]}"
    _run([tool, "create", "--name", name, tag])
    try:
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _run([tool, "cp", f"{name}:{model_dir}", str(dest)])
    finally:
        subprocess.run([tool, "rm", "--force", name], capture_output=True, check=False)
    return dest


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the sub-command and run it; 0 when it succeeded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="Build the image from this checkout.")
    build_parser.add_argument("tag")
    smoke_parser = commands.add_parser("smoke", help="Run the image and prove it serves.")
    smoke_parser.add_argument("tag")
    smoke_parser.add_argument(
        "--model-dir",
        type=Path,
        default=DEFAULT_MODEL_DIR,
        help="The model the image should serve (default: dist/model, what `just package` made).",
    )
    model_parser = commands.add_parser("model", help="Copy the model out of an image.")
    model_parser.add_argument("tag")
    model_parser.add_argument("--dest", type=Path, default=DEFAULT_MODEL_DIR)
    options = parser.parse_args(argv)
    try:
        if options.command == "model":
            folder = extract_model(options.tag, options.dest)
            print(f"copied the model of {options.tag} to {folder}")
            return 0
        if options.command == "build":
            seconds = build(options.tag)
            size = int(inspect_image(engine(), options.tag)["Size"])
            tool = engine()
            print(f"built {options.tag} with {tool} in {seconds:.0f} s; size {_megabytes(size)}")
            return 0
        checks, running = smoke(options.tag, options.model_dir)
    except ImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(render(checks))
    size = int(inspect_image(engine(), options.tag)["Size"])
    ready = running.ready_seconds
    print(
        f"image {options.tag}: size {_megabytes(size)}; start to ready "
        + (f"{ready:.1f} s" if ready is not None else "never")
    )
    failed = [check.name for check in checks if not check.passed]
    if failed:
        print(f"error: the image smoke test failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"image smoke test of {options.tag} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
