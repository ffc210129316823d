"""What the Dockerfile declares, read without building it (test_image.py builds it).

- Every base image is pinned by digest, and the build arguments that can swap a base
  (``PYTHON_IMAGE``, ``UV_IMAGE``) default to those pinned stages.
- The final stage says what the service expects: where the model is, how to reach it, how to start
  it, how to check its health; the builder installs the runtime dependencies only.

Each rule is shown to fail on a planted defect.
"""

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def instructions(text: str) -> list[tuple[str, str]]:
    """Split a Dockerfile into (INSTRUCTION, arguments), joining continuation lines."""
    joined = re.sub(r"\\\n\s*", " ", text)
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def base_image_problems(text: str) -> list[str]:
    """Every FROM that is neither an earlier stage, a build argument, nor pinned by digest."""
    problems = []
    stages: set[str] = set()
    arguments: dict[str, str] = {}
    for keyword, rest in instructions(text):
        if keyword == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            arguments[name] = default
        if keyword != "FROM":
            continue
        words = rest.split()
        image = words[0]
        variable = re.fullmatch(r"\$\{?(\w+)\}?", image)
        if variable:
            default = arguments.get(variable[1], "")
            if default not in stages:
                problems.append(f"FROM {image}: its default {default!r} is not a pinned stage")
        elif image not in stages and not DIGEST.search(image):
            problems.append(f"FROM {image}: not pinned by digest (@sha256:...)")
        if len(words) == 3 and words[1].upper() == "AS":
            stages.add(words[2])
    return problems


@dataclass(frozen=True)
class FinalStage:
    """What the Dockerfile's final stage declares."""

    env: dict[str, str]
    copies: dict[str, str]  # destination -> source
    entrypoint: list[str]
    healthcheck: list[str]
    user: str
    dependency_sync: list[str]  # the builder's `uv sync` that installs the locked dependencies


def read_final_stage(text: str) -> FinalStage:
    """Parse the instructions of the final stage (and the builder's dependency sync)."""
    pairs = instructions(text)
    starts = [i for i, (keyword, _) in enumerate(pairs) if keyword == "FROM"]
    env: dict[str, str] = {}
    copies: dict[str, str] = {}
    entrypoint: list[str] = []
    healthcheck: list[str] = []
    user = ""
    for keyword, rest in pairs[starts[-1] :]:
        if keyword == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(rest))  # type: ignore[misc] # pairs
        elif keyword == "COPY":
            *options_and_source, destination = rest.split()
            copies[destination] = options_and_source[-1]
        elif keyword == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            healthcheck = json.loads(rest.split(" CMD ", 1)[1])
        elif keyword == "USER":
            user = rest
    syncs = [
        rest[rest.index("uv sync") :].split()
        for keyword, rest in pairs
        if keyword == "RUN" and "uv sync" in rest and "--no-install-project" in rest
    ]
    return FinalStage(env, copies, entrypoint, healthcheck, user, syncs[0])


def test_every_base_image_is_pinned_by_digest() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert base_image_problems(text) == []
    pinned = [rest for keyword, rest in instructions(text) if keyword == "FROM" and "@" in rest]
    assert any("astral-sh/uv:" in rest for rest in pinned), "uv's image must be pinned too"


@pytest.mark.parametrize(
    ("old", "new", "evidence"),
    [
        # uv's image by tag only, not by digest.
        ("uv:0.13.0@sha256:", "uv:0.13.0 #", "not pinned by digest"),
        ("ARG PYTHON_IMAGE=python-pinned", "ARG PYTHON_IMAGE=python:3.12-slim", "not a pinned"),
    ],
)
def test_an_unpinned_base_is_reported(old: str, new: str, evidence: str) -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text, f"the planted defect no longer applies: {old!r}"
    problems = base_image_problems(text.replace(old, new, 1))
    assert any(evidence in problem for problem in problems), problems


def test_the_dockerfile_says_what_the_service_expects() -> None:
    stage = read_final_stage(DOCKERFILE.read_text(encoding="utf-8"))
    assert stage.env["MODEL_DIR"] == "/app/model"
    assert stage.env["HOST"] == "0.0.0.0"  # noqa: S104 -- in a container, the port is published
    assert stage.env["PORT"] == "8000"
    assert stage.env["PATH"].startswith("/app/.venv/bin:")
    assert stage.copies == {"/app/.venv": "/app/.venv", "/app/model": "dist/model"}
    assert stage.entrypoint == ["churn-model", "serve"]
    assert "/health/ready" in stage.healthcheck[-1]
    assert stage.user.split(":")[0].isdigit(), "a numeric USER lets runAsNonRoot verify it"
    assert stage.user.split(":")[0] != "0"
    assert {"--locked", "--no-default-groups", "--no-install-project"} <= set(stage.dependency_sync)
    assert not {"--all-extras", "--extra", "--all-groups", "--group"} & set(stage.dependency_sync)
