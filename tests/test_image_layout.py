"""The image, without a Docker engine: build the wheel, lay out the final stage, serve over HTTP.

The test reads the Dockerfile to stay honest: it installs the dependencies with the exact
``uv sync`` command of the builder stage, installs the wheel ``uv build`` makes (non-editable), puts
the model and venv at the paths the final stage copies them to (under a temporary root, not ``/``),
starts the service with the entry point and environment the final stage declares (but on a free
loopback port), calls every endpoint over real HTTP, runs the ``HEALTHCHECK`` command, and stops
the service with SIGTERM, as ``docker stop`` does. Everything installs offline from the uv cache.

The image ships compiled bytecode (``UV_COMPILE_BYTECODE=1``); a venv without it starts about four
times slower (every import compiled again). So the laid-out root lives in pytest's cache folder and
is kept between runs: each run re-syncs it *exactly* to the lock (uv removes anything else) and
reinstalls the freshly built wheel, so its contents are always those of a fresh install, and the
bytecode the first start writes makes the next starts as fast as the image's.
"""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from churn_model.domain.schema import SCHEMA
from served_model import make_model_dir, records, sample

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
MAX_BATCH = 5
FIRST = SCHEMA.feature_names()[0]


@dataclass(frozen=True)
class FinalStage:
    """What the Dockerfile's final stage declares."""

    env: dict[str, str]
    copies: dict[str, str]  # destination -> source
    entrypoint: list[str]
    healthcheck: list[str]
    dependency_sync: list[str]  # the builder's `uv sync` that installs the locked dependencies


def _instructions(text: str) -> list[tuple[str, str]]:
    """Split a Dockerfile into (INSTRUCTION, arguments), joining continuation lines."""
    joined = re.sub(r"\\\n\s*", " ", text)
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def read_final_stage() -> FinalStage:
    """Parse the instructions the test mirrors out of the Dockerfile."""
    instructions = _instructions(DOCKERFILE.read_text(encoding="utf-8"))
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    final = instructions[starts[-1] :]
    env: dict[str, str] = {}
    copies: dict[str, str] = {}
    entrypoint: list[str] = []
    healthcheck: list[str] = []
    for keyword, rest in final:
        if keyword == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))  # type: ignore[misc] # pairs
        elif keyword == "COPY":
            *options_and_source, destination = rest.split()
            copies[destination] = options_and_source[-1]
        elif keyword == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            healthcheck = json.loads(rest.split(" CMD ", 1)[1])
    syncs = [
        rest[rest.index("uv sync") :].split()
        for keyword, rest in instructions
        if keyword == "RUN" and "uv sync" in rest and "--no-install-project" in rest
    ]
    return FinalStage(env, copies, entrypoint, healthcheck, syncs[0])


def test_the_dockerfile_says_what_the_service_expects() -> None:
    stage = read_final_stage()
    assert stage.env["MODEL_DIR"] == "/app/model"
    assert stage.env["HOST"] == "0.0.0.0"  # noqa: S104 -- in a container, the port is published
    assert stage.env["PORT"] == "8000"
    assert stage.env["PATH"].startswith("/app/.venv/bin:")
    assert stage.copies == {"/app/.venv": "/app/.venv", "/app/model": "dist/model"}
    assert stage.entrypoint == ["churn-model", "serve"]
    assert "/health/ready" in stage.healthcheck[-1]
    assert {"--locked", "--no-default-groups", "--no-install-project"} <= set(stage.dependency_sync)
    assert not {"--all-extras", "--extra", "--all-groups", "--group"} & set(stage.dependency_sync)


def _run(command: list[str], **options: object) -> None:
    """Run a setup command, failing the test with its output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, **options)  # type: ignore[call-overload] # options are subprocess keywords
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def image_root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in ``/``: ``app/.venv`` and ``app/model`` laid out as the final stage has them."""
    stage = read_final_stage()
    cache = getattr(request.config, "cache", None)  # absent under `-p no:cacheprovider`
    root = cache.mkdir("image-root") if cache else tmp_path_factory.mktemp("image")
    venv = root / stage.copies["/app/.venv"].lstrip("/")
    dist = tmp_path_factory.mktemp("dist")
    uv_env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_OFFLINE": "1"}
    uv_env.pop("VIRTUAL_ENV", None)
    # The builder's dependency layer, the exact command of the Dockerfile (offline: from the cache).
    _run(stage.dependency_sync, cwd=ROOT, env=uv_env)
    # The project itself: the wheel `just package` builds, installed non-editable.
    _run(["uv", "build", "--wheel", "--out-dir", str(dist), "--offline", "-q"], cwd=ROOT)
    wheel = next(dist.glob("*.whl"))
    install = ["uv", "pip", "install", "--offline", "--no-deps", "--reinstall", "-q"]
    _run([*install, "--python", str(venv), str(wheel)], cwd=ROOT, env=uv_env)
    make_model_dir(root / stage.env["MODEL_DIR"].lstrip("/"), model_id="image-model")
    return root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Running:
    """A service started from the laid-out image."""

    process: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    root: Path


@pytest.fixture(scope="module")
def service(image_root: Path) -> Iterator[Running]:
    """Start the final stage's entry point from its venv, on a free loopback port."""
    stage = read_final_stage()
    bin_dir = image_root / "app/.venv/bin"
    port = _free_port()
    env = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PYTHONUNBUFFERED": stage.env["PYTHONUNBUFFERED"],
        "MODEL_DIR": str(image_root / stage.env["MODEL_DIR"].lstrip("/")),
        "PORT": str(port),
        "HOST": "127.0.0.1",  # the image binds 0.0.0.0; a test stays on loopback
        "MAX_BATCH": str(MAX_BATCH),
    }
    command = [str(bin_dir / stage.entrypoint[0]), *stage.entrypoint[1:]]
    process = subprocess.Popen(  # the image's entry point, from its venv
        command, cwd=image_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:  # pragma: no cover -- only on a broken start
            pytest.fail("the service did not become ready within 60 s")
        yield Running(process, url, env, image_root)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # reap it and close its output pipe


def test_the_venv_holds_the_runtime_only_and_the_package_non_editable(image_root: Path) -> None:
    python = image_root / "app/.venv/bin/python"
    out = subprocess.run(
        [str(python), "-c", "import churn_model; print(churn_model.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    assert str(image_root / "app/.venv") in out
    site = next((image_root / "app/.venv/lib").glob("python3*/site-packages"))
    installed = {path.name.split("-")[0].lower() for path in site.glob("*.dist-info")}
    assert {"fastapi", "uvicorn", "scikit_learn", "skops", "churn_model"} <= installed
    assert not {"matplotlib", "pyarrow", "pytest", "ruff", "mypy", "mkdocs", "dvc"} & installed
    assert not {"mlflow", "mlflow_skinny"} & installed  # tracking is opt-in: never in the image


def test_every_endpoint_answers_over_http(service: Running) -> None:
    with httpx.Client(base_url=service.url, timeout=5) as client:
        health = client.get("/health").json()
        assert health["ready"] is True
        assert health["model_id"] == "image-model"
        assert client.get("/health/ready").status_code == 200
        assert client.get("/metadata").json()["id"] == "image-model"
        assert "/predict/batch" in client.get("/openapi.json").json()["paths"]
        assert client.get("/docs").status_code == 200

        rows = records(sample(3_000, seed=11).iloc[:MAX_BATCH])
        single = client.post("/predict", json=rows[0])
        assert single.status_code == 200
        batch = client.post("/predict/batch", json={"records": rows})
        assert batch.status_code == 200
        predictions = batch.json()["predictions"]
        assert len(predictions) == MAX_BATCH
        assert predictions[0]["churn_probability"] == single.json()["churn_probability"]


def test_the_served_probabilities_equal_the_pipeline_in_process(service: Running) -> None:
    # The image has no pyarrow (pandas backs strings differently there): same numbers regardless.
    pipeline, _ = make_model_dir(service.root / "copy")
    frame = sample(3_000, seed=11).iloc[:MAX_BATCH]
    body = {"records": records(frame)}
    served = httpx.post(f"{service.url}/predict/batch", json=body, timeout=5).json()
    got = [p["churn_probability"] for p in served["predictions"]]
    assert got == pipeline.predict_proba(frame[pipeline.feature_names_in_])[:, 1].tolist()


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({FIRST: 3}, {}, 422),
        (b"{not json", {"content-type": "application/json"}, 400),
        (f"{FIRST}=3".encode(), {"content-type": "application/x-www-form-urlencoded"}, 415),
    ],
)
def test_bad_requests_get_a_4xx_over_http(
    service: Running, body: object, headers: dict[str, str], status: int
) -> None:
    if isinstance(body, bytes):
        response = httpx.post(f"{service.url}/predict", content=body, headers=headers, timeout=5)
    else:
        response = httpx.post(f"{service.url}/predict", json=body, timeout=5)
    assert response.status_code == status
    assert response.json()["message"]


def test_an_oversized_batch_gets_a_413_over_http(service: Running) -> None:
    rows = records(sample(MAX_BATCH + 1, seed=3))
    response = httpx.post(f"{service.url}/predict/batch", json={"records": rows}, timeout=5)
    assert response.status_code == 413


def test_the_healthcheck_command_passes(service: Running) -> None:
    command = read_final_stage().healthcheck
    result = subprocess.run(command, env=service.env, capture_output=True, check=False, timeout=10)
    assert result.returncode == 0, result.stderr


def test_sigterm_stops_the_service_cleanly(service: Running) -> None:
    service.process.send_signal(signal.SIGTERM)
    output = service.process.communicate(timeout=15)[0].decode()
    # Uvicorn shuts down gracefully, then re-raises the signal it caught (exit status 128 + 15).
    assert service.process.returncode in {0, -signal.SIGTERM}, output
    assert "Application shutdown complete" in output
