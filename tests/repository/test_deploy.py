"""Deployment without a cluster: the manifests, and `just deploy`'s credential handling.

- The Kubernetes manifests ask for what the issue requires (probes on the service's health routes,
  requests and limits, a non-root read-only container without privilege escalation or
  capabilities) and hang together (the Service, the autoscaler and the disruption budget select
  the Deployment's pods). ``just check-manifests`` validates them against the Kubernetes schemas;
  ``tests/repository/test_image.py`` runs them under ``podman kube play``.
- ``scripts/deploy.py`` sets the image, refuses a tag (only a digest is deployed), and hands
  ``KUBE_CONFIG`` to kubectl through a private file that is gone afterwards and never printed.
  No cluster is reachable here: a stand-in ``kubectl`` on PATH records what it was given.
"""

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from churn_model.serving.settings import ENV_VARS, MIB, load_settings

from project_tools import load_script

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "ghcr.io/acme/churn@sha256:" + "ab" * 32


deploy = load_script("deploy")


def _by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in objects}


def test_render_sets_the_image_of_every_deployment_container() -> None:
    objects = deploy.render(DIGEST)
    containers = _by_kind(objects)["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == [DIGEST]
    assert (ROOT / "deploy/kubernetes/deployment.yaml").read_text().count(DIGEST) == 0


def test_the_deployment_is_hardened_probed_and_sized() -> None:
    objects = _by_kind(deploy.render(DIGEST))
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    port_names = {port["name"] for port in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in port_names
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}


IDLE_MIB = 150
"""The image's resident memory while idle, rounded up (docs/serving.md)."""
BATCH_MIB = 70
"""What parsing the costliest batch body adds to it (docs/serving.md, measured by a benchmark)."""


def test_the_service_limits_fit_the_pod_memory_limit() -> None:
    (container,) = _by_kind(deploy.render(DIGEST))["Deployment"]["spec"]["template"]["spec"][
        "containers"
    ]
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    assert set(env) <= set(ENV_VARS.values()), "a variable the service does not read"
    limits = load_settings(env).limits
    memory = container["resources"]["limits"]["memory"]
    assert memory.endswith("Mi")
    # The bodies held are counted twice (the buffers around them), and the total must leave the
    # pod 40 % of its limit to spare.
    held = 2 * limits.max_body_bytes_in_flight / MIB
    assert IDLE_MIB + held + BATCH_MIB <= 0.6 * int(memory.removesuffix("Mi"))


def test_the_service_autoscaler_and_budget_select_the_deployment() -> None:
    objects = _by_kind(deploy.render(DIGEST))
    deployment = objects["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert objects["Service"]["spec"]["selector"].items() <= labels.items()
    assert (
        objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    )
    target = objects["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert {p["targetPort"] for p in objects["Service"]["spec"]["ports"]} <= ports


def test_render_refuses_a_folder_without_a_deployment(tmp_path: Path) -> None:
    (tmp_path / "service.yaml").write_text("kind: Service\n", encoding="utf-8")
    with pytest.raises(deploy.DeployError, match="no Deployment"):
        deploy.render(DIGEST, tmp_path)


# ------------------------------------------------------------------ `just deploy`

KUBECTL = """\
import json, os, sys
config = os.environ.get("KUBECONFIG", "")
record = {
    "argv": sys.argv[1:],
    "stdin": sys.stdin.read() if "-" in sys.argv else "",
    "config": config,
    "config_text": open(config).read() if config else "",
    "config_mode": oct(os.stat(config).st_mode & 0o777) if config else "",
}
with open(os.environ["KUBECTL_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
"""


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``kubectl`` first on PATH; returns its log (one JSON line per call)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(f"#!{sys.executable}\n{KUBECTL}", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "kubectl.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECTL_LOG", str(log))
    return log


def test_deploy_applies_the_digest_and_waits_for_the_rollout(
    kubectl: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = "apiVersion: v1\nkind: Config\n# token: do-not-print-me\n"
    monkeypatch.setenv("KUBE_CONFIG", kubeconfig)
    assert deploy.main(["apply", DIGEST, "--namespace", "staging"]) == 0
    calls = [json.loads(line) for line in kubectl.read_text().splitlines()]
    apply_call, rollout = calls
    assert apply_call["argv"] == ["apply", "--namespace", "staging", "--filename", "-"]
    assert f"image: {DIGEST}" in apply_call["stdin"]
    assert rollout["argv"][:3] == ["rollout", "status", "deployment/churn-model"]
    for call in calls:
        assert call["config_text"] == kubeconfig
        assert call["config_mode"] == "0o600"
        assert not Path(call["config"]).exists(), "the kubeconfig copy outlived the deploy"
    out, err = capsys.readouterr()
    assert "do-not-print-me" not in out + err


def test_deploy_refuses_an_image_by_tag(kubectl: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(["apply", "ghcr.io/acme/churn:latest"]) == 1
    assert "by digest" in capsys.readouterr().err
    assert not kubectl.exists(), "kubectl ran for a tag"
