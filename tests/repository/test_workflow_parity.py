"""The GitHub workflows run exactly what the justfile runs, and nothing else.

The parity rule: every ``run:`` step of every workflow and of the setup action is either
``just <recipe>`` for a recipe that exists, or ``uv sync`` of dependency groups and extras that
exist; the ``check-*`` steps of the Check workflow are exactly the dependencies of ``just check``,
in the same order. Hardening rules ride along: every third-party action is pinned to a full commit
SHA with a version comment, every checkout drops its credentials, no workflow uses
``pull_request_target``, local actions and reusable workflows are referenced the documented way
(``./...``, a local action only after a checkout), and workflows that publish or deploy restore no
cache. No ambient power: a job that runs project code (``uv sync``, or a recipe that is not
standard-library Python run with ``uv run --no-project``) holds no write permission, and in Publish
nothing but ``contents: read``. The release rules: Publish runs on ``release: published`` only,
after the Check workflow passed on the released commit, in a concurrency group of each release's
own (a group shared by every release let a third release replace a waiting one), never cancelled,
not Check's (that would deadlock). The rules of what Publish ships and where it goes are written
beside their checks below.

The recipes come from ``just --dump --dump-format json`` and the groups from pyproject.toml, so the
test follows whatever justfile the branch has. Each rule is shown to fail on a planted defect in a
temporary copy of ``.github/``, ``scripts/``, the justfile and pyproject.toml.
"""

import ast
import functools
import re
import shlex
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from justfile_recipes import check_steps, read_recipes

ROOT = Path(__file__).resolve().parents[2]
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
    data = _fresh(_parse(path.read_text(encoding="utf-8")))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


@functools.cache
def _parse(text: str) -> object:
    """Parse YAML text once per distinct text, with libyaml.

    The rules read each file several times, and every planted-defect case re-reads the unchanged
    files: with pure-Python PyYAML that parsing took most of this module's seconds.
    """
    return yaml.load(text, Loader=yaml.CSafeLoader)


def _fresh(value: object) -> object:
    """A copy of parsed YAML's mappings and lists (its scalars cannot change): a caller's own.

    ``copy.deepcopy`` does the same with a memo of every object, which cost several times more.
    """
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    return value


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
        check_dependencies=check_steps(recipes),
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


def _split(command: str) -> list[str]:
    """``command``'s words as a shell reads them; each distinct command split once."""
    return list(_split_once(command))


@functools.cache
def _split_once(command: str) -> tuple[str, ...]:
    return tuple(shlex.split(command))


def _run_problem(command: str, project: Project) -> str | None:
    """Why a ``run:`` step breaks the parity rule, or None when it is fine."""
    command = command.strip()
    if "${{" in command:
        return "expands an expression inside `run:` (pass it through `env:` instead)"
    if SHELL_SYNTAX.search(command):
        return "is a shell script, not one recipe call"
    words = _split(command)
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
# >>> kubernetes
DEPLOY = Path(".github/workflows/deploy.yml")
# <<< kubernetes


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
    problems += _concurrency_problems(root, data)
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
    # >>> serving
    problems += [f"{PUBLISH}: {problem}" for problem in _image_problems(jobs)]
    # <<< serving
    return problems


# ------------------------------------------------------------------ Publish: one release, one run

PER_RELEASE = ("github.ref", "github.event.release.")
"""What makes a concurrency group one release's own (for a release event, ``github.ref`` is the
tag's ref)."""


def _expression(text: str) -> str:
    """``text`` without spaces inside ``${{ }}``, in lowercase (as GitHub compares groups)."""
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", r"${{\1}}", text).lower()


def _concurrency_problems(root: Path, data: dict[str, Any]) -> list[str]:
    """Each release has its own group, never cancelled, not Check's; jobs share no group.

    GitHub keeps one running and one waiting run per group and cancels the waiting run that a
    newer one replaces: one group for every release meant a third release, published while one
    ran and one waited, was never published.
    """
    problems = []
    concurrency = data.get("concurrency") or {}
    group = str(concurrency.get("group", "")) if isinstance(concurrency, dict) else ""
    if not any(part in group for part in PER_RELEASE):
        problems.append(
            f"{PUBLISH}: one concurrency group for every release: a third release published while "
            "one runs and one waits replaces the waiting run, which is never published; give each "
            "release its own group (with `github.ref`)"
        )
    if not isinstance(concurrency, dict) or concurrency.get("cancel-in-progress") is not False:
        problems.append(f"{PUBLISH}: a publishing run must never be cancelled")
    # Check, called from here, takes its group with Publish's name for `github.workflow`.
    check = _load(root / CHECK_WORKFLOW).get("concurrency") or {}
    called = str(check.get("group", "")) if isinstance(check, dict) else ""
    name = str(data.get("name", "")).lower()
    if group and _expression(group).replace("${{github.workflow}}", name) == _expression(
        called
    ).replace("${{github.workflow}}", name):
        problems.append(
            f"{PUBLISH}: its concurrency group is the one Check takes when Publish calls it: the "
            "two would deadlock"
        )
    for name, job in data["jobs"].items():
        shared = job.get("concurrency")
        text = str(shared.get("group", "") if isinstance(shared, dict) else shared or "")
        if shared is not None and not any(part in text for part in PER_RELEASE):
            problems.append(
                f"{PUBLISH}: job {name} waits in a concurrency group shared by every release, "
                "where a newer release replaces a waiting one"
            )
    return problems


# ------------------------------------------------------------------ the steps of a job


def _words(step: dict[str, Any]) -> list[str]:
    """The words of a ``run:`` step (empty for a ``uses:`` step)."""
    return _split(str(step["run"])) if "run" in step else []


def _recipe_of(step: dict[str, Any]) -> str | None:
    """The recipe a ``run: just <recipe>`` step calls, or None."""
    words = _words(step)
    return words[1] if words[:1] == ["just"] and len(words) > 1 else None


def _uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(action)


def _refers(value: object, *parts: str) -> bool:
    """Whether ``value`` is exactly one expression naming ``parts`` in order (``a.b.c``)."""
    return _expression(str(value)) == "${{" + ".".join(parts).lower() + "}}"


def _env_value(job: dict[str, Any], step: dict[str, Any], word: str) -> object:
    """What a ``"$NAME"`` argument of a step expands to (the step's env, then the job's)."""
    name = word.removeprefix("$").strip("{}")
    return (step.get("env") or {}).get(name, (job.get("env") or {}).get(name))


def _output_of(job: dict[str, Any], step_id: str, output: str) -> str | None:
    """The job output that hands on ``steps.<step_id>.outputs.<output>``, or None."""
    return next(
        (
            name
            for name, value in (job.get("outputs") or {}).items()
            if _refers(value, "steps", step_id, "outputs", output)
        ),
        None,
    )


# >>> serving
# ------------------------------------------------------------------ Publish: push what was tested
# Publish builds the image once, with no layer cache from other runs, smoke-tests it, saves it with
# its image ID, and a job of its own pushes that save with the tested ID, attests the digest
# `just image-push` verified and moves `latest` last (`just image-latest`); Pages run for the latest
# release only.

BUILD_ACTION = "docker/build-push-action@"
ATTEST_ACTION = "actions/attest-build-provenance@"


def _image_problems(jobs: dict[str, Any]) -> list[str]:
    """Build the image once, test it, save it; push that save elsewhere, verified, and attest it."""
    builds = [
        (name, index)
        for name, job in jobs.items()
        for index, step in enumerate(job.get("steps", []))
        if _uses(step, BUILD_ACTION) or _recipe_of(step) == "image"
    ]
    problems = [
        f"job {name} pushes a build of its own (build-push-action `push: true`), not the image "
        "the smoke test ran"
        for name, job in jobs.items()
        for step in job.get("steps", [])
        if _uses(step, BUILD_ACTION) and (step.get("with") or {}).get("push") is True
    ]
    if len(builds) != 1:
        return [
            *problems,
            f"builds the image {len(builds)} times: build it once, smoke-test it, push that build",
        ]
    ((build_job, build_index),) = builds
    job = jobs[build_job]
    steps = job["steps"]
    build = steps[build_index]
    tag = str((build.get("with") or {}).get("tags", "")) if "uses" in build else _words(build)[2]
    later = steps[build_index + 1 :]
    smoke = next(
        (i for i, s in enumerate(later) if _words(s) == ["just", "image-smoke", tag]), None
    )
    archive = next(
        (
            i
            for i, s in enumerate(later)
            if _words(s)[:3] == ["just", "image-archive", tag] and "id" in s
        ),
        None,
    )
    if smoke is None:
        problems.append(
            f"job {build_job} does not run `just image-smoke {tag}` on the image it built"
        )
    if archive is None or (smoke is not None and archive < smoke):
        problems.append(
            f"job {build_job} does not save the tested image (`just image-archive {tag}`, with an "
            "id, after its smoke test)"
        )
        return problems
    archive_step = later[archive]
    archive_path = _words(archive_step)[3] if len(_words(archive_step)) > 3 else "dist/image.tar"
    if not any(
        _uses(s, "actions/upload-artifact@") and (s.get("with") or {}).get("path") == archive_path
        for s in later[archive + 1 :]
    ):
        problems.append(f"job {build_job} does not upload the saved image ({archive_path})")
    tested = _output_of(job, str(archive_step["id"]), "image-id")
    if tested is None:
        problems.append(f"job {build_job} does not hand on the tested image ID (a job output)")
    return problems + _push_problems(jobs, build_job, tested)


def _push_problems(jobs: dict[str, Any], build_job: str, tested: str | None) -> list[str]:
    """The push job: the tested ID in, the verified digest attested, deployed and `latest` last."""
    pushers = [
        (name, index)
        for name, job in jobs.items()
        for index, step in enumerate(job.get("steps", []))
        if _recipe_of(step) == "image-push"
    ]
    if len(pushers) != 1:
        return [f"pushes the image with {len(pushers)} `just image-push` steps, not one"]
    ((push_job, push_index),) = pushers
    job = jobs[push_job]
    steps = job["steps"]
    push = steps[push_index]
    problems = []
    if push_job == build_job or build_job not in _needs(job):
        problems.append(f"job {push_job} is not a job of its own after job {build_job}")
    words = _words(push)
    handed = _env_value(job, push, words[5]) if len(words) > 5 else None
    if tested is None or not _refers(handed, "needs", build_job, "outputs", tested):
        problems.append(
            f"job {push_job} does not hand `just image-push` the image ID job {build_job} tested"
        )
    if not any(_uses(s, "actions/download-artifact@") for s in steps[:push_index]):
        problems.append(f"job {push_job} pushes without downloading the saved image")
    push_id = str(push.get("id", ""))
    attests = [s for s in steps[push_index + 1 :] if _uses(s, ATTEST_ACTION)]
    if len(attests) != 1 or not _refers(
        (attests[0].get("with") or {}).get("subject-digest"), "steps", push_id, "outputs", "digest"
    ):
        problems.append(f"job {push_job} does not attest the digest `just image-push` verified")
    latest = [(i, s) for i, s in enumerate(steps) if _recipe_of(s) == "image-latest" and "id" in s]
    if len(latest) != 1 or latest[0][0] < push_index:
        problems.append(
            f"job {push_job} does not settle `latest` after the push (`just image-latest`)"
        )
    image = _output_of(job, push_id, "image")
    moved = _output_of(job, str(latest[0][1]["id"]), "latest") if len(latest) == 1 else None
    return problems + _release_problems(jobs, push_job, image, moved)


def _release_problems(
    jobs: dict[str, Any], push_job: str, image: str | None, moved: str | None
) -> list[str]:
    """`latest` moves last; the deployment takes the verified digest; the latest release only."""
    problems = []
    for name, other in jobs.items():
        for step in other.get("steps", []):
            if not _uses(step, "docker/metadata-action@"):
                continue
            options = step.get("with") or {}
            if "latest=false" not in str(options.get("flavor", "")):
                problems.append("lets the metadata action add `latest` on its own (flavor)")
            if "value=latest" in str(options.get("tags", "")):
                problems.append(f"job {name} moves `latest` with the metadata action, not last")
        publishes = any(_uses(s, "actions/deploy-pages@") for s in other.get("steps", []))
        # >>> kubernetes
        deploys = other.get("uses") == f"./{DEPLOY}"
        publishes = publishes or deploys
        if deploys and (
            image is None
            or not _refers(
                (other.get("with") or {}).get("image"), "needs", push_job, "outputs", image
            )
        ):
            problems.append(
                f"job {name} deploys an image other than the digest {push_job} verified"
            )
        # <<< kubernetes
        condition = _expression(str(other.get("if", "")))
        wanted = f"needs.{push_job}.outputs.{moved}=='true'".lower()
        if publishes and (moved is None or wanted not in condition.replace(" ", "")):
            problems.append(
                f"job {name} runs for every release: only for the latest one "
                f"(`if: needs.{push_job}.outputs.<latest> == 'true'`)"
            )
    return problems


# <<< serving
# >>> kubernetes
# Deploy rolls the digest Publish verified out, for the latest release only: production after
# staging, with the same steps, and the cluster credentials only in the one step that deploys.
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


# <<< kubernetes
# ------------------------------------------------------------------ no ambient power

NO_PROJECT_SCRIPT = re.compile(r"^uv run --no-project python (?P<script>scripts/[\w./-]+\.py)\b")
"""The one way a recipe may run Python without the project's environment: a script of its own."""
RUNS_CODE = re.compile(r"\b(uv|uvx|python3?|pip|pipx|just)\b")


def _script_problem(root: Path, script: str) -> str | None:
    """Why ``script`` is not standard-library code, or None (its imports, read with ``ast``)."""
    foreign = _foreign_imports((root / script).read_text(encoding="utf-8"))
    return f"{script} imports {foreign[0]}, which is not the standard library" if foreign else None


@functools.cache
def _foreign_imports(source: str) -> list[str]:
    """The modules ``source`` imports from outside the standard library (relative ones too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [("." * node.level) + (node.module or "")]
        else:
            continue
        found += [n for n in names if n.split(".")[0] not in sys.stdlib_module_names]
    return found


def _project_free(root: Path, project: Project) -> dict[str, str | None]:
    """Each recipe, with None when it runs no project code, else the reason it does.

    A recipe runs no project code when it calls no other recipe, and every line of it either runs
    no uv, uvx, python or pip at all, or is ``uv run --no-project python scripts/<file>.py`` of a
    script that imports the standard library only. Anything else installs or imports the
    project's locked dependencies.
    """
    found: dict[str, str | None] = {}
    for name, recipe in project.recipes.items():
        reason = None
        if recipe["dependencies"]:
            reason = "calls other recipes"
        for line in recipe["body"]:
            text = "".join(part if isinstance(part, str) else "{}" for part in line)
            text = text.strip().lstrip("@-").strip()
            script = NO_PROJECT_SCRIPT.match(text)
            if script is not None:
                reason = reason or _script_problem(root, script["script"])
            elif RUNS_CODE.search(text) and not text.startswith("#"):
                reason = reason or f"runs `{text[:60]}`"
        found[name] = reason
    return found


def _write_scopes(permissions: object) -> list[str]:
    """The scopes a ``permissions:`` value grants beyond reading (``write-all`` counts as all)."""
    if permissions is None:
        return []
    if isinstance(permissions, str):
        return [] if permissions == "{}" else [permissions]
    assert isinstance(permissions, dict)
    return [
        f"{scope}: {value}" for scope, value in permissions.items() if value not in {"read", "none"}
    ]


def _permission_problems(root: Path, project: Project) -> list[str]:
    """A job that runs project code holds no write permission; in Publish, only `contents: read`.

    Every locked dependency runs in such a job (``uv sync``, or a recipe that runs the project),
    so a compromised one would get whatever the job holds: a token to push packages, an OIDC
    token to sign attestations, a pull-request write token.
    """
    free = _project_free(root, project)
    problems = []
    for path in _github_files(root):
        if "workflows" not in path.parts:
            continue
        data = _load(root / path)
        for name, job in data.get("jobs", {}).items():
            code = [
                " ".join(_words(step)[:2])
                for step in job.get("steps", [])
                if _words(step)[:2] == ["uv", "sync"]
                or (_recipe_of(step) is not None and free.get(str(_recipe_of(step))) is not None)
            ]
            if not code:
                continue
            granted = job.get("permissions", data.get("permissions"))
            strict = path == PUBLISH and granted != {"contents": "read"}
            writes = _write_scopes(granted)
            if writes or strict:
                held = ", ".join(writes) if writes else yaml.safe_dump(granted).strip()
                problems.append(
                    f"{path}: job {name} runs project code (`{code[0]}`) and holds {held}: "
                    + ("only `contents: read`" if path == PUBLISH else "no write permission")
                )
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
        _split(step.run)[1]
        for step in _steps(root, CHECK_WORKFLOW)
        if step.run and step.run.strip().startswith("just check-")
    ]
    if check_steps != project.check_dependencies:
        problems.append(
            f"{CHECK_WORKFLOW} runs {check_steps}, but `just check` runs "
            f"{project.check_dependencies}: same recipes, same order"
        )
    problems += _permission_problems(root, project)
    problems += _publish_problems(root)
    # >>> kubernetes
    problems += _deploy_problems(root)
    # <<< kubernetes
    return problems


def test_the_workflows_keep_the_parity_and_hardening_rules() -> None:
    assert parity_problems(ROOT) == []


def test_the_check_workflow_runs_every_check_recipe() -> None:
    # Guards against a vacuous pass: the rule above compares non-empty lists.
    project = _project(ROOT)
    assert project.check_dependencies[0] == "check-code"
    assert "check-workflows" in project.check_dependencies


# ------------------------------------------------------------------ planted defects


BYTECODE = shutil.ignore_patterns("__pycache__")
"""Left out of each copy: no rule reads compiled files, and every copy is deleted again."""


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A throwaway copy of what the parity rules read."""
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts", ignore=BYTECODE)
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
# >>> kubernetes
DEPLOY_FILE = str(DEPLOY)
# <<< kubernetes
CHECKOUT = (
    "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n"
    "        with:\n          persist-credentials: false\n"
)
# >>> serving
SMOKE = "      - run: just image-smoke churn-model:release\n"
ARCHIVE_RUN = "run: just image-archive churn-model:release dist/image.tar"
ARCHIVE = f"      - id: archive\n        {ARCHIVE_RUN}\n"
# <<< serving
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
            "check-security check-workflows",
            "check-security check-slow check-workflows",
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
    # Publish: each rule, broken on its own.
    "Publish rebuilds an edited release": (
        _edit(PUBLISH_FILE, "types: [published]", "types: [published, edited]"),
        "`release: types: [published]` only",
    ),
    "Publish has one group for every release": (
        _edit(
            PUBLISH_FILE,
            "group: publish-release-${{ github.ref }}\n",
            "group: ${{ github.workflow }}\n",
        ),
        "one concurrency group for every release",
    ),
    "Publish takes Check's group": (
        _edit(
            PUBLISH_FILE,
            "group: publish-release-${{ github.ref }}\n",
            "group: ${{ github.workflow }}-${{ github.ref }}\n",
        ),
        "would deadlock",
    ),
    # >>> serving
    "Publish queues a job across releases": (
        _edit(
            PUBLISH_FILE,
            "    needs: image\n",
            "    needs: image\n    concurrency:\n      group: publish-latest\n",
        ),
        "job push waits in a concurrency group shared by every release",
    ),
    # <<< serving
    "Publish can be cancelled": (
        _edit(PUBLISH_FILE, "cancel-in-progress: false", "cancel-in-progress: true"),
        "never be cancelled",
    ),
    # >>> serving
    "Publish builds without Check": (
        _edit(
            PUBLISH_FILE,
            "    needs: check\n    runs-on: ubuntu-latest\n    timeout-minutes: 30",
            "    runs-on: ubuntu-latest\n    timeout-minutes: 30",
        ),
        "job image does not wait for the Check workflow",
    ),
    "Publish builds with a shared layer cache": (
        _edit(
            PUBLISH_FILE,
            "          tags: churn-model:release\n",
            "          tags: churn-model:release\n          cache-from: type=gha\n",
        ),
        "layer cache",
    ),
    "the job that trains holds packages: write": (
        _edit(
            PUBLISH_FILE,
            "    permissions:\n      contents: read\n    outputs:\n      image-id:",
            "    permissions:\n      contents: read\n      packages: write\n    outputs:\n"
            "      image-id:",
        ),
        "job image runs project code (`just train`) and holds packages: write",
    ),
    # <<< serving
    "the docs build holds an OIDC token": (
        _edit(
            PUBLISH_FILE,
            "    timeout-minutes: 15\n    permissions:\n      contents: read\n    steps:",
            "    timeout-minutes: 15\n    permissions:\n      contents: read\n"
            "      id-token: write\n    steps:",
        ),
        "job docs runs project code (`just doc`) and holds id-token: write",
    ),
    # >>> serving
    "the push job runs project code": (
        _edit(PUBLISH_FILE, 'run: just image-latest "$IMAGE" "$TAG"', "run: just promote"),
        "job push runs project code (`just promote`) and holds packages: write",
    ),
    "the push job syncs the project": (
        _edit(
            PUBLISH_FILE,
            "      - id: push\n        run: just image-push",
            "      - run: uv sync\n      - id: push\n        run: just image-push",
        ),
        "job push runs project code (`uv sync`)",
    ),
    "a push recipe that imports a dependency": (
        _edit("scripts/publish_image.py", "import argparse\n", "import argparse\nimport yaml\n"),
        "job push runs project code (`just image-push`)",
    ),
    # <<< serving
    "Check's model job holds pull-requests: write": (
        _edit(
            CHECK,
            "    permissions:\n      contents: read\n    outputs:\n      gated:",
            "    permissions:\n      contents: read\n      pull-requests: write\n    outputs:\n"
            "      gated:",
        ),
        "job model runs project code (`just train`) and holds pull-requests: write",
    ),
    # >>> serving
    "Publish pushes a second build": (
        _edit(
            PUBLISH_FILE,
            "      - uses: actions/attest-build-provenance@",
            "      - uses: docker/build-push-action@c3c9e263c25d99ce0380d002d59b67737d91b0dc"
            " # v7.4.0\n        with:\n          context: .\n          push: true\n"
            "      - uses: actions/attest-build-provenance@",
        ),
        "builds the image 2 times",
    ),
    "Publish pushes an image that was not smoke-tested": (
        _edit(PUBLISH_FILE, "      - run: just image-smoke churn-model:release\n", ""),
        "does not run `just image-smoke churn-model:release`",
    ),
    "Publish saves an image before its smoke test": (
        _edit(
            PUBLISH_FILE,
            SMOKE + ARCHIVE,
            ARCHIVE + SMOKE,
        ),
        "does not save the tested image",
    ),
    "Publish saves another image": (
        _edit(
            PUBLISH_FILE,
            "run: just image-archive churn-model:release",
            "run: just image-archive churn-model:other",
        ),
        "does not save the tested image",
    ),
    "Publish pushes without the tested image ID": (
        _edit(
            PUBLISH_FILE,
            "TESTED: ${{ needs.image.outputs.image-id }}",
            "TESTED: ${{ github.sha }}",
        ),
        "does not hand `just image-push` the image ID job image tested",
    ),
    "Publish pushes from the job that built": (
        _edit(PUBLISH_FILE, "    needs: image\n", "    needs: check\n"),
        "is not a job of its own after job image",
    ),
    "Publish attests another digest": (
        _edit(
            PUBLISH_FILE,
            "subject-digest: ${{ steps.push.outputs.digest }}",
            "subject-digest: ${{ needs.image.outputs.image-id }}",
        ),
        "does not attest the digest",
    ),
    # >>> kubernetes
    "Publish deploys a tag": (
        _edit(
            PUBLISH_FILE,
            "image: ${{ needs.push.outputs.image }}",
            "image: ghcr.io/${{ github.repository }}:latest",
        ),
        "deploys an image other than the digest push verified",
    ),
    "Publish deploys every release": (
        _edit(
            PUBLISH_FILE,
            "    needs: push\n    if: ${{ needs.push.outputs.latest == 'true' }}\n",
            "    needs: push\n",
        ),
        "job deploy runs for every release",
    ),
    # <<< kubernetes
    "Publish deploys the docs of every release": (
        _edit(
            PUBLISH_FILE,
            "    needs: [docs, push]\n    if: ${{ needs.push.outputs.latest == 'true' }}\n",
            "    needs: [docs, push]\n",
        ),
        "job pages runs for every release",
    ),
    "Publish moves latest with the metadata action": (
        _edit(
            PUBLISH_FILE,
            "          flavor: |\n            latest=false\n",
            "          flavor: |\n            latest=false\n          tags: |\n"
            "            type=raw,value=latest\n",
        ),
        "moves `latest` with the metadata action",
    ),
    "Publish lets the metadata action add latest": (
        _edit(PUBLISH_FILE, "          flavor: |\n            latest=false\n", ""),
        "on its own",
    ),
    "Publish never settles latest": (
        _edit(
            PUBLISH_FILE,
            '      - id: latest\n        run: just image-latest "$IMAGE" "$TAG"\n',
            "",
        ),
        "does not settle `latest`",
    ),
    # <<< serving
    # >>> kubernetes
    # Deploy.
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
    # <<< kubernetes
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_a_planted_defect_is_reported(defect: str, copy: Path) -> None:
    assert parity_problems(copy) == [], "the copy must start clean"
    plant, evidence = DEFECTS[defect]
    plant(copy)
    problems = parity_problems(copy)
    assert any(evidence in problem for problem in problems), problems
