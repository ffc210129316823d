"""Roll the serving image out to a Kubernetes cluster: ``just deploy IMAGE [NAMESPACE]``.

``render`` prints the manifests of ``deploy/kubernetes/`` with the image of every container of every
Deployment set to IMAGE (in CI a digest reference, ``ghcr.io/<owner>/<repo>@sha256:...``, so what
runs is exactly what was smoke-tested and pushed). ``apply`` sends them to ``kubectl apply`` and
waits for ``kubectl rollout status`` of each Deployment.

Credentials: the kubeconfig kubectl finds by itself, or, when ``KUBE_CONFIG`` is set (the Deploy
workflow passes the environment's secret), that kubeconfig's text, written to a private temporary
file that only kubectl reads and that is removed afterwards. It is never printed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "deploy" / "kubernetes"
ROLLOUT_TIMEOUT = "300s"
DIGEST_REFERENCE = re.compile(r"^\S+@sha256:[0-9a-f]{64}$")
"""What ``apply`` rolls out: an image by digest, so what runs is exactly what was tested."""


class DeployError(Exception):
    """The manifests or the image reference are unusable, or kubectl failed."""


def documents(folder: Path = MANIFESTS) -> list[dict[str, Any]]:
    """Every Kubernetes object in the folder's ``*.yaml`` files, in file-name order."""
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    if not any(doc.get("kind") == "Deployment" for doc in found):
        raise DeployError(f"{folder}: no Deployment among the manifests")
    return found


def render(image: str, folder: Path = MANIFESTS) -> list[dict[str, Any]]:
    """The manifests with every Deployment's containers running ``image``."""
    if not image or any(char.isspace() for char in image):
        raise DeployError(f"{image!r} is not an image reference")
    objects = documents(folder)
    for manifest in objects:
        if manifest.get("kind") == "Deployment":
            for container in manifest["spec"]["template"]["spec"]["containers"]:
                container["image"] = image
    return objects


def deployments(objects: list[dict[str, Any]]) -> list[str]:
    """The names of the Deployments among ``objects``."""
    return [obj["metadata"]["name"] for obj in objects if obj.get("kind") == "Deployment"]


@contextmanager
def kubeconfig() -> Iterator[dict[str, str]]:
    """The environment for kubectl: ``KUBECONFIG`` at a private copy of ``KUBE_CONFIG`` if set."""
    env = dict(os.environ)
    text = env.pop("KUBE_CONFIG", "")
    if not text:
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="kube-") as private:  # mode 0700: this user only
        path = Path(private) / "config"
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        yield env | {"KUBECONFIG": str(path)}


def _kubectl(args: Sequence[str], env: dict[str, str], stdin: str | None = None) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise DeployError("kubectl is not on PATH (GitHub's Ubuntu runners have it)")
    result = subprocess.run([kubectl, *args], input=stdin, text=True, env=env, check=False)
    if result.returncode != 0:
        raise DeployError(f"`kubectl {' '.join(args)}` failed (exit status {result.returncode})")


def apply(image: str, namespace: str | None) -> None:
    """Apply the rendered manifests and wait until every Deployment has rolled out."""
    if not DIGEST_REFERENCE.match(image):
        raise DeployError(f"{image!r}: deploy an image by digest (name@sha256:<64 hex>), not a tag")
    objects = render(image)
    scope = ["--namespace", namespace] if namespace else []
    with kubeconfig() as env:
        _kubectl(["apply", *scope, "--filename", "-"], env, stdin=yaml.safe_dump_all(objects))
        for name in deployments(objects):
            status = ["rollout", "status", f"deployment/{name}", f"--timeout={ROLLOUT_TIMEOUT}"]
            _kubectl([*status, *scope], env)
    print(f"rolled out {image}" + (f" in namespace {namespace}" if namespace else ""))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the sub-command and run it; 0 when it succeeded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    render_parser = commands.add_parser("render", help="Print the manifests set to an image.")
    render_parser.add_argument("image")
    apply_parser = commands.add_parser("apply", help="Apply them with kubectl and wait.")
    apply_parser.add_argument("image")
    apply_parser.add_argument("--namespace", default="", help="Default: the kubeconfig's.")
    options = parser.parse_args(argv)
    try:
        if options.command == "render":
            print(yaml.safe_dump_all(render(options.image)), end="")
        else:
            apply(options.image, options.namespace or None)
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
