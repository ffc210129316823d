"""The serving image, built from the real Dockerfile and run by a real container engine.

One image is built per session from a throwaway build context: the files the ``.dockerignore``
allow-list lets in, plus a small model trained for the occasion in ``dist/model``. Against it:

- ``scripts/image.py smoke`` (``just image-smoke``) passes every check;
- each smoke check fails on an image with the matching defect planted on top (a root user, a
  ``HEALTHCHECK`` that fails, an entry point that writes to its read-only root or ignores
  ``SIGTERM``) or on the wrong expected model;
- the deployment's manifests, when the project has them, run with that image (the last test).

The base images are the Dockerfile's own, or the stand-ins ``.ci/stand-in-bases`` builds on
machines that cannot reach a registry (``.ci/run`` exports ``PYTHON_IMAGE`` and ``UV_IMAGE``).
"""

# >>> kubernetes
import os

# <<< kubernetes
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# >>> kubernetes
from typing import Any

# <<< kubernetes
import pytest

# >>> kubernetes
import yaml

# <<< kubernetes
from churn_model.model.artifact import CARD_FILE
from churn_model.model.card import read_card, write_card

# >>> kubernetes
from churn_model.serving import smoke as serving_smoke

# <<< kubernetes
from churn_model.serving.smoke import Check

from project_tools import load_script

# >>> kubernetes
from running_service import free_port

# <<< kubernetes
from served_model import make_model_dir

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


image_script = load_script("image")
# >>> kubernetes
deploy_script = load_script("deploy")
# <<< kubernetes


def _build_context(dest: Path) -> Path:
    """Copy what ``.dockerignore`` lets into a build; lay a freshly trained model in dist/model."""
    allowed = [
        line[1:].strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    ]
    for name in [*allowed, "Dockerfile", ".dockerignore"]:
        source = ROOT / name
        if source.is_dir() and name != "dist/model":
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, dest / name)
    make_model_dir(dest / "dist/model", model_id="image-test-model")
    return dest


@dataclass(frozen=True)
class Built:
    """The image built for this session and the model it carries."""

    tag: str
    model_dir: Path


def _remove_image(tag: str) -> None:
    subprocess.run([image_script.engine(), "rmi", "--force", tag], capture_output=True, check=False)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Build the image once per session from a throwaway context (the engine caches its layers)."""
    context = _build_context(tmp_path_factory.mktemp("context"))
    tag = f"localhost/churn-model-test:{uuid.uuid4().hex[:8]}"
    image_script.build(tag, context)
    try:
        yield Built(tag, context / "dist/model")
    finally:
        _remove_image(tag)


def _failed(checks: list[Check]) -> set[str]:
    return {check.name for check in checks if not check.passed}


def test_the_image_passes_its_smoke_test(built: Built) -> None:
    checks, running = image_script.smoke(built.tag, built.model_dir)
    assert _failed(checks) == set(), image_script.render(checks)
    assert running.ready_seconds < image_script.READY_WITHIN
    names = [check.name for check in checks]
    for expected in ("ready", "prediction", "bad request", "not root", "healthcheck", "SIGTERM"):
        assert expected in names


INVENTORY = """
import importlib.metadata, pathlib, sys
print(*sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions()))
print(*sorted(str(p) for p in pathlib.Path(sys.prefix).rglob("tests") if p.is_dir()))
"""


def test_the_image_carries_the_runtime_dependencies_only(built: Built) -> None:
    listing = subprocess.run(
        [
            image_script.engine(),
            "run",
            "--rm",
            "--entrypoint",
            "python",
            built.tag,
            "-c",
            INVENTORY,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    installed, test_suites = set(listing[0].split()), listing[1].split()
    assert {"fastapi", "uvicorn", "scikit-learn", "skops", "churn-model"} <= installed
    assert not {"matplotlib", "pyarrow", "pytest", "ruff", "mypy", "mkdocs", "dvc"} & installed
    # >>> tracking
    assert not {"mlflow", "mlflow-skinny"} & installed  # tracking is opt-in: never in the image
    # <<< tracking
    assert test_suites == [], "the libraries' test suites are removed in the builder"


# ------------------------------------------------------------------ planted defects

PLANTED = {
    # defect: (lines added on top of the image, the checks that must fail)
    "runs as root": ("USER 0:0", {"declared", "not root"}),
    "failing HEALTHCHECK": (
        'HEALTHCHECK CMD ["python", "-c", "raise SystemExit(1)"]',
        {"healthcheck"},
    ),
    "writes to its root file system": (
        'ENTRYPOINT ["/bin/sh", "-c", "touch /app/started && exec churn-model serve"]',
        {"ready"},
    ),
    "ignores SIGTERM": (
        # sh as PID 1 neither handles nor forwards SIGTERM (the trailing `true` stops it exec-ing).
        'ENTRYPOINT ["/bin/sh", "-c", "churn-model serve; true"]',
        {"SIGTERM"},
    ),
}


@pytest.mark.parametrize("defect", PLANTED)
def test_a_planted_defect_fails_its_smoke_check(built: Built, defect: str, tmp_path: Path) -> None:
    lines, failing = PLANTED[defect]
    (tmp_path / "Containerfile").write_text(f"FROM {built.tag}\n{lines}\n", encoding="utf-8")
    tag = f"{built.tag}-planted-{uuid.uuid4().hex[:6]}"
    image_script.build(tag, tmp_path, dockerfile=tmp_path / "Containerfile")
    try:
        checks, _ = image_script.smoke(tag, built.model_dir)
    finally:
        _remove_image(tag)
    assert failing <= _failed(checks), image_script.render(checks)


def test_another_model_than_the_packaged_one_fails_the_smoke_test(
    built: Built, tmp_path: Path
) -> None:
    expected = tmp_path / "model"
    shutil.copytree(built.model_dir, expected)
    card = read_card(expected / CARD_FILE)
    write_card(card.model_copy(update={"id": "the-model-we-meant-to-ship"}), expected / CARD_FILE)
    checks, _ = image_script.smoke(built.tag, expected)
    assert _failed(checks) == {"metadata"}, image_script.render(checks)


# >>> kubernetes
# ------------------------------------------------------------------ Kubernetes, one machine


def _on_one_machine(objects: list[dict[str, Any]], port: int) -> list[dict[str, Any]]:
    """Adapt the rendered manifests to one podman host: one replica, published on loopback.

    ``podman kube play`` makes a pod per replica, all wanting the same host port, and has no
    ``kubectl port-forward``: a ``hostPort`` on 127.0.0.1 stands in for the Service. Nothing else
    (probes, resources, security settings) is touched.
    """
    for manifest in objects:
        if manifest["kind"] == "Deployment":
            spec = manifest["spec"]
            spec["replicas"] = 1
            container = spec["template"]["spec"]["containers"][0]
            container["ports"][0] |= {"hostPort": port, "hostIP": "127.0.0.1"}
    return objects


def _inspect(container: str, template: str) -> str:
    return subprocess.run(
        ["podman", "inspect", "--format", template, container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_the_manifests_run_under_podman_kube_play_and_pass_just_smoke(
    built: Built, tmp_path: Path
) -> None:
    assert shutil.which("podman"), "podman is needed to play the manifests (.ci/run installs it)"
    port = free_port()
    objects = _on_one_machine(deploy_script.render(built.tag), port)
    manifest = tmp_path / "kube.yaml"
    manifest.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    name = deployment["metadata"]["name"]
    container_spec = deployment["spec"]["template"]["spec"]["containers"][0]
    subprocess.run(["podman", "kube", "play", str(manifest)], capture_output=True, check=True)
    try:
        url = f"http://127.0.0.1:{port}"
        serving_smoke.wait_until_ready(url, within_s=60, what="the pod")

        container = f"{name}-pod-0-{container_spec['name']}"
        assert _inspect(container, "{{.HostConfig.ReadonlyRootfs}}") == "true"
        assert _inspect(container, "{{.HostConfig.SecurityOpt}}") == "[no-new-privileges]"
        limit = container_spec["resources"]["limits"]["memory"]
        assert _inspect(container, "{{.HostConfig.Memory}}") == str(
            int(limit.removesuffix("Mi")) * 2**20
        )
        status = subprocess.run(
            ["podman", "exec", container, "cat", "/proc/1/status"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert fields["Uid"].split()[0] == "10001"
        assert int(fields["CapEff"].strip(), 16) == 0

        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        smoke = subprocess.run(
            ["just", "smoke", url, str(built.model_dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        assert "smoke test of" in smoke.stdout
    finally:
        subprocess.run(["podman", "kube", "down", str(manifest)], capture_output=True, check=False)


# <<< kubernetes
