"""The template's self-test: generate a project with copier, check it, and update it twice.

In a temporary folder, offline (everything comes from the local uv cache), but for copier's own
runs: a copy without some optional part re-locks the project (``prune.py``), and that resolution
reads the package index for what the cache lacks, as on a user's machine (a fresh machine's cache
holds the wheels ``uv sync`` fetched, not the index pages a resolution reads):

1. clone HEAD of this repository (committed work only) and tag it ``v1.0.0``;
2. refuse a package name that is not a lowercase identifier, and one over the length cap, with a
   sentence saying why;
3. ``copier copy`` it under names that share nothing with the template's (timed), grep the result
   for any old name, run the rename again (it must change nothing), rename a clone in place the
   way the docs say, and ``uv lock --check`` the project;
4. ``copier copy`` it under the longest package and distribution names copier.yml accepts, grep it,
   and run ruff on it (``just check-code``, ``just check-format``): the lines that grew pass;
5. commit a template release ``v1.1.0`` (a new module, an edit to an existing one) and an edit of
   the project's own elsewhere, then ``just template-update v1.1.0``: the change arrives under
   ``src/<package>/``, the project's edit stays, no ``*.rej``, no conflict marker;
6. ``just pipeline`` and ``just check`` in the updated project (once, on the state that covers both
   the copy and the update: the slow part, so it runs once);
7. a release ``v1.2.0`` that edits the line the project edited: the update exits 0 (copier's way)
   and the conflict is there, in ``git status`` and as markers, which this test finds.

It prints every step's time and the total. ``--keep`` leaves the folder for a look.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import prune
import rename

ROOT = Path(__file__).resolve().parents[1]
ANSWERS_FILE = ".copier-answers.yml"

# Names that share no substring with the template's own (a grep for an old name cannot pass by
# accident), and short: where lines shrink, a statement the formatter split may fit on one line
# (the formatter would join it, and `just check` would fail). The shorter the name, the more would.
# Lines that grow are the other risk: LONG_ANSWERS below (and .copier/test_name_room.py, fast).
ANSWERS = {
    "project_name": "Loan Risk",
    "package_name": "risk",
    "distribution_name": "rk",
    "description": "Scores loan applications for the risk of default.",
    "github_owner": "acme-labs",
    "repository_name": "loan-risk",
    "author": "Acme Labs",
}
PACKAGE = ANSWERS["package_name"]
# The longest package and distribution names copier.yml accepts (its cap, 24 characters).
LONG_ANSWERS = {
    **ANSWERS,
    "package_name": "loan_default_risk_scorer",
    "distribution_name": "loan-default-risk-scorer",
}
TOO_LONG = LONG_ANSWERS["package_name"] + "s"

# What no generated file may still say: the template's names, in any case.
OLD_NAMES = re.compile(
    "|".join(
        re.escape(name)
        for name in (
            rename.OLD_PACKAGE,
            rename.OLD_DISTRIBUTION,
            rename.OLD_OWNER,
            rename.OLD_REPOSITORY,
            rename.OLD_AUTHOR,
            rename.OLD_DESCRIPTION,
        )
    ),
    re.IGNORECASE,
)

# The template release v1.1.0: a new module, and a line added to an existing one (the line v1.2.0
# changes again, and the project too, to make a conflict).
NEW_MODULE = "src/churn_model/_release_note.py"
NEW_MODULE_TEXT = (
    '"""Added to churn_model by a template release (the self-test\'s)."""\n\nNOTE = 1\n'
)
EDITED_MODULE = "src/churn_model/__init__.py"
LINE_1 = "# Template release v1.1.0: a line the template's self-test adds, then changes.\n"
LINE_2 = "# Template release v1.2.0: a line the template's self-test adds, then changes.\n"
PROJECT_LINE = "# A line the project wrote over the template's.\n"
MARKER = "<<<<<<< before updating"


# The optional parts' matrix: every part off at once and each part off alone (the main project above
# is the one with every part on). Every variant is generated, grepped for what its removed parts
# leave behind and re-locked; the project with every part off also runs `just pipeline` and
# `just check`, and each single-off variant the cheap checks that find a dangling reference:
# ruff, pytest's collection of every test module (each import) and the fast tests nearest to the
# removed part. mypy and the full suite run in the two extremes only: CI time (see
# docs/optional-parts.md for the figures).
ALL_OFF = "every part off"
NEAREST_TESTS = {
    "serving": [
        "tests/test_cli.py",
        "tests/test_cli_predict.py",
        "tests/repository/test_workflow_parity.py",
    ],
    "kubernetes": ["tests/repository/test_workflow_parity.py"],
    "tracking": ["tests/test_cli_model.py"],
    "benchmarks": ["tests/repository/test_justfile_quoting.py"],
}
"""The fast tests that sit next to each part (its regions' neighbours), seconds each. The rest of
each part's absence is tested by the full suite with every part off."""
# Not the project's own: the template's CI harness, which a project replaces with its own CI.
# The answers file and the page of the optional parts name every part, by design.
NOT_GREPPED = (".git/", ".ci/", ANSWERS_FILE, "uv.lock", "docs/optional-parts.md")


class SelfTestError(Exception):
    """A step of the self-test failed; the message says which and why."""


class Timer:
    """Step timings, printed as they finish and summed at the end."""

    def __init__(self) -> None:
        """Start the clock."""
        self.started = time.perf_counter()
        self.steps: list[tuple[str, float]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time one step and print it when it ends."""
        print(f"==> {name}", flush=True)
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.steps.append((name, elapsed))
        print(f"    {elapsed:.1f} s", flush=True)

    def report(self) -> None:
        """Print every step's time and the total."""
        print("\n==> template self-test times")
        for name, elapsed in self.steps:
            print(f"{name:<64} {elapsed:6.1f} s")
        print(f"{'total':<64} {time.perf_counter() - self.started:6.1f} s")


def environment() -> dict[str, str]:
    """This environment, offline, without this checkout's venv (a project makes its own)."""
    own = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_NO_SYNC")
    env = {key: value for key, value in os.environ.items() if key not in own}
    # Offline: every package comes from the local uv cache. Bytecode is cached (see the justfile).
    env |= {"UV_OFFLINE": "1", "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": ""}
    # Commits in the temporary repositories need an identity, whatever the machine's git config.
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = "template self-test"
        env[f"GIT_{role}_EMAIL"] = "selftest@example.invalid"
    return env


ENV = environment()
ONLINE = {key: value for key, value in ENV.items() if key != "UV_OFFLINE"}
"""The environment of copier's runs: its ``uv lock`` may read the index (see the docstring)."""


def run(
    argv: Sequence[str], cwd: Path, *, check: bool = True, env: dict[str, str] = ENV
) -> subprocess.CompletedProcess[str]:
    """Run a command in ``cwd``; on failure (with ``check``), raise with its output's tail."""
    done = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
        raise SelfTestError(f"`{' '.join(argv)}` failed in {cwd} ({done.returncode}):\n{tail}")
    return done


def copier(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the pinned copier (this environment's, from the `template` group), index allowed."""
    return run([sys.executable, "-m", "copier", *args], cwd, check=check, env=ONLINE)


def answers(values: dict[str, str]) -> list[str]:
    """The answers as copier's ``--data`` options."""
    return [option for key, value in values.items() for option in ("--data", f"{key}={value}")]


def _found(project: Path, pattern: re.Pattern[str], skipped: Callable[[str], bool]) -> list[str]:
    """Every path or line of ``project`` that ``pattern`` finds, save where ``skipped`` says."""
    found = []
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project).as_posix()
        if skipped(relative):
            continue
        if pattern.search(relative):
            found.append(f"{relative}: the path")
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found.extend(
            f"{relative}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), start=1)
            if pattern.search(line)
        )
    return found


def leftovers(project: Path) -> list[str]:
    """Every path or line of ``project`` that still carries an old name (answers file aside)."""
    return _found(
        project,
        OLD_NAMES,
        lambda relative: relative.startswith(".git/") or relative in {".git", ANSWERS_FILE},
    )


def check_leftovers_can_fail(folder: Path) -> None:
    """Plant an old name and make sure the leftover check reports it (a check that can fail)."""
    planted = folder / "planted"
    (planted / "docs").mkdir(parents=True)
    (planted / "docs" / "note.md").write_text(f"see {rename.OLD_PACKAGE.upper()}\n")
    if leftovers(planted) != ["docs/note.md:1: see CHURN_MODEL"]:
        raise SelfTestError(f"the leftover check missed a planted name: {leftovers(planted)}")


def part_leftovers(project: Path, parts: Sequence[str]) -> list[str]:
    """Every path or line of ``project`` that still names one of ``parts`` (removed parts)."""
    words = re.compile(
        "|".join(word for part in parts for word in prune.PARTS[part].leftovers), re.IGNORECASE
    )
    return _found(
        project,
        words,
        lambda relative: (
            relative.startswith(NOT_GREPPED) or relative in NOT_GREPPED or "__pycache__" in relative
        ),
    )


def check_part_leftovers_can_fail(folder: Path) -> None:
    """Plant a reference to each part and make sure its leftover grep reports it."""
    planted = folder / "planted-parts"
    planted.mkdir()
    references = {
        "serving": "Run `just serve` first.",
        "kubernetes": "kubectl apply -f deploy/kubernetes/",
        "tracking": "Set MLFLOW_TRACKING_URI.",
        "benchmarks": "See `just bench-predict`.",
    }
    for part, reference in references.items():
        (planted / "README.md").write_text(f"# Notes\n\n{reference}\n", encoding="utf-8")
        found = part_leftovers(planted, [part])
        expected = f"README.md:3: {reference}"
        expect(found == [expected], f"the {part} grep missed a planted reference: {found}")
        others = [other for other in prune.PARTS if other != part]
        expect(not part_leftovers(planted, others), f"another part's grep found the {part} one")


def variant_answers(off: Sequence[str]) -> dict[str, str]:
    """The main answers, with each part of ``off`` answered no (and the rest yes)."""
    return {**ANSWERS, **{part: str(part not in off).lower() for part in prune.PARTS}}


def generate_variant(template: Path, folder: Path, name: str, off: Sequence[str]) -> Path:
    """Generate the project with the parts of ``off`` left out; grep it; check its lock file."""
    project = folder / name.replace(" ", "-")
    values = variant_answers(off)
    copier(*copy_args(template, project, values, "--quiet", "--vcs-ref=v1.0.0"), cwd=folder)
    removed = sorted(prune.parts_off({part: part not in off for part in prune.PARTS}))
    found = leftovers(project) + part_leftovers(project, removed)
    expect(not found, f"{name}: references left to {removed}:\n" + "\n".join(found))
    recorded = (project / ANSWERS_FILE).read_text(encoding="utf-8")
    # A part whose question is not asked (its requirement answered no) has no answer to keep.
    asked = [part for part in off if not set(prune.PARTS[part].requires) & set(off)]
    for part in asked:
        expect(f"{part}: false" in recorded, f"{name}: the answers file lacks `{part}: false`")
    run(["uv", "lock", "--check", "--offline"], project)
    run(["git", "init", "--quiet", "--initial-branch", "main"], project)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "--quiet", "-m", f"Generate the project ({name})"], project)
    return project


def check_single_off(project: Path, part: str) -> None:
    """The cheap checks of a project without ``part``.

    Lint, every test module's imports, the nearest fast tests, and the workflows (their steps are
    pruned too).
    """
    for recipe in ("check-code", "check-format", "check-workflows"):
        run(["just", recipe], project)
    run(
        ["uv", "run", "pytest", "--collect-only", "-q", "--no-cov", "-p", "no:cacheprovider"],
        project,
    )
    tests = [test for test in NEAREST_TESTS[part] if (project / test).is_file()]
    run(["uv", "run", "pytest", "-q", "--no-cov", "-p", "no:cacheprovider", *tests], project)


def bring_back_serving(project: Path) -> None:
    """`copier update --data serving=true` in the project generated without it: the part returns."""
    run(["git", "add", "-A"], project)  # what `just pipeline` and `just check` wrote
    run(["git", "commit", "--quiet", "--allow-empty", "-m", "Checked"], project)
    copier(
        "update",
        "--trust",
        "--defaults",
        "--skip-answered",
        "--vcs-ref=:current:",
        "--data",
        "serving=true",
        "--data",
        "kubernetes=true",
        cwd=project,
    )
    for path in (
        f"src/{PACKAGE}/serving/app.py",
        "Dockerfile",
        "deploy/kubernetes/deployment.yaml",
    ):
        expect((project / path).is_file(), f"serving=true did not bring back {path}")
    justfile = (project / "justfile").read_text(encoding="utf-8")
    expect("\nserve *options:" in justfile, "serving=true did not bring back `just serve`")
    expect('"fastapi' in (project / "pyproject.toml").read_text(encoding="utf-8"), "no fastapi")
    expect("serving: true" in (project / ANSWERS_FILE).read_text(encoding="utf-8"), "not recorded")
    expect(not rejects_and_markers(project), f"conflicts: {rejects_and_markers(project)}")
    run(["uv", "lock", "--check", "--offline"], project)
    run(["just", "check-code"], project)


def expect(condition: bool, message: str) -> None:
    """Raise with ``message`` unless ``condition`` holds."""
    if not condition:
        raise SelfTestError(message)


def release(template: Path, version: str, edits: dict[str, str]) -> None:
    """Write ``edits`` (path: text) into the template clone, commit them and tag ``version``."""
    for relative, text in edits.items():
        (template / relative).write_text(text, encoding="utf-8")
    run(["git", "add", "-A"], template)
    run(["git", "commit", "--quiet", "-m", f"Template release {version}"], template)
    run(["git", "tag", version], template)


def conflicted(project: Path) -> list[str]:
    """The files git lists as unmerged after an update (copier records its conflicts there)."""
    out = run(["git", "diff", "--name-only", "--diff-filter=U"], project).stdout
    return out.split()


def rejects_and_markers(project: Path) -> list[str]:
    """``*.rej`` files and files holding a conflict marker (outside .git)."""
    found = [p.relative_to(project).as_posix() for p in project.rglob("*.rej")]
    out = run(["git", "grep", "-l", "-E", f"^{MARKER}$"], project, check=False).stdout
    return found + out.split()


def copy_args(template: Path, project: Path, values: dict[str, str], *options: str) -> list[str]:
    """``copier copy`` of ``template`` into ``project`` with ``values``, non-interactive."""
    return [
        "copy",
        "--trust",
        "--defaults",
        *options,
        *answers(values),
        str(template),
        str(project),
    ]


def generate(folder: Path, timer: Timer) -> tuple[Path, Path]:
    """Clone and tag the template, check the validator, copy it, check the copy; return both."""
    template, project = folder / "template", folder / "project"
    with timer.step("clone HEAD of the template, tag v1.0.0"):
        # --no-local: packed objects, like a clone from GitHub (copier walks the clone's .git too).
        run(
            ["git", "clone", "--quiet", "--no-local", "--no-tags", str(ROOT), str(template)], folder
        )
        run(["git", "tag", "v1.0.0"], template)

    with timer.step("copier refuses a package name that is not an identifier, or too long"):
        bad = {**ANSWERS, "package_name": "Loan-Scorer"}
        refused = copier(*copy_args(template, folder / "refused", bad), cwd=folder, check=False)
        said = " ".join((refused.stdout + refused.stderr).split())
        expect(
            refused.returncode != 0 and "is not a lowercase Python identifier" in said,
            f"copier accepted the package name 'Loan-Scorer' ({refused.returncode}): {said[-400:]}",
        )
        long = {**ANSWERS, "package_name": TOO_LONG}
        refused = copier(
            *copy_args(template, folder / "refused-long", long), cwd=folder, check=False
        )
        said = " ".join((refused.stdout + refused.stderr).split())
        expect(
            refused.returncode != 0 and "is longer than 24 characters" in said,
            f"copier accepted the package name '{TOO_LONG}' ({refused.returncode}): {said[-400:]}",
        )

    with timer.step("copier copy (v1.0.0)"):
        start = time.perf_counter()
        copier(*copy_args(template, project, ANSWERS, "--quiet", "--vcs-ref=v1.0.0"), cwd=folder)
        print(f"    copier copy took {time.perf_counter() - start:.1f} s (budget: 5 s)")

    with timer.step("no old name is left (and the check finds a planted one)"):
        check_leftovers_can_fail(folder)
        found = leftovers(project)
        expect(not found, "old names left in the generated project:\n" + "\n".join(found))
        expect((project / "src" / PACKAGE / "__init__.py").is_file(), f"no src/{PACKAGE}/")
        # Not names, so not in the grep: the answers that replace a whole line.
        pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
        description = f'description = "{ANSWERS["description"]}"'
        expect(description in pyproject, "pyproject.toml does not carry the description")
        readme = (project / "README.md").read_text(encoding="utf-8")
        title = f"# {ANSWERS['project_name']}\n"
        expect(readme.startswith(title), "README.md does not carry the project name")

    with timer.step("the rename is idempotent: a second run changes nothing"):
        names = {
            "title": "project_name",
            "package": "package_name",
            "distribution": "distribution_name",
            "description": "description",
            "owner": "github_owner",
            "repository": "repository_name",
            "author": "author",
        }
        options = [f"--{option}={ANSWERS[answer]}" for option, answer in names.items()]
        script = str(template / ".copier" / "rename.py")
        again = run([sys.executable, script, f"--template={template}", *options], project)
        expect(" 0 paths moved, 0 files renamed" in again.stdout, f"not idempotent: {again.stdout}")

    with timer.step("a clone renamed in place (copier copy --overwrite TEMPLATE .)"):
        in_place = folder / "clone"
        run(["git", "clone", "--quiet", str(template), str(in_place)], folder)
        copier(*copy_args(template, in_place, ANSWERS, "--quiet", "--overwrite"), cwd=in_place)
        run(["git", "rm", "-r", "--quiet", "copier.yml", ".copier"], in_place)  # as the docs say
        found = leftovers(in_place)
        expect(not found, "old names left in the clone renamed in place:\n" + "\n".join(found))

    with timer.step("uv lock --check, first commit"):
        run(["uv", "lock", "--check", "--offline"], project)
        run(["git", "init", "--quiet", "--initial-branch", "main"], project)
        run(["git", "add", "-A"], project)
        run(["git", "commit", "--quiet", "-m", "Generate the project"], project)
    return template, project


def check_longest_names(template: Path, folder: Path) -> None:
    """Generate under the longest names copier.yml accepts; grep it and run ruff on it.

    Only the linters: the lines that grew are what could fail, and the full pipeline and checks run
    once, on the main project.
    """
    project = folder / "long"
    copier(*copy_args(template, project, LONG_ANSWERS, "--quiet", "--vcs-ref=v1.0.0"), cwd=folder)
    found = leftovers(project)
    expect(not found, "old names left in the long-named project:\n" + "\n".join(found))
    package = project / "src" / LONG_ANSWERS["package_name"]
    expect((package / "__init__.py").is_file(), f"no {package.relative_to(project)}/")
    for recipe in ("check-code", "check-format"):  # one by one: each takes FILES arguments
        run(["just", recipe], project)


def update_cleanly(template: Path, project: Path, original_init: str) -> None:
    """Release v1.1.0 of the template, edit the project elsewhere, update: both changes stay."""
    release(
        template, "v1.1.0", {NEW_MODULE: NEW_MODULE_TEXT, EDITED_MODULE: original_init + LINE_1}
    )
    readme = project / "README.md"
    own_line = "\nOur own notes, which a template update keeps.\n"
    readme.write_text(readme.read_text(encoding="utf-8") + own_line, encoding="utf-8")
    run(["git", "commit", "--quiet", "-am", "The project's own edit"], project)
    run(["just", "template-update", "v1.1.0"], project)  # the recipe a project updates with
    added = project / "src" / PACKAGE / "_release_note.py"
    expect(added.is_file(), f"the template's new module did not arrive at {added}")
    expect(PACKAGE in added.read_text(encoding="utf-8"), f"{added} was not renamed")
    init = (project / "src" / PACKAGE / "__init__.py").read_text(encoding="utf-8")
    expect(init.endswith(LINE_1), "the template's edit of __init__.py did not arrive")
    expect(readme.read_text(encoding="utf-8").endswith(own_line), "the project's edit was lost")
    expect(not (project / "src" / rename.OLD_PACKAGE).exists(), "the old package came back")
    expect(not rejects_and_markers(project), f"conflicts: {rejects_and_markers(project)}")
    expect(not conflicted(project), f"unmerged files: {conflicted(project)}")
    found = leftovers(project)
    expect(not found, "old names after the update:\n" + "\n".join(found))
    run(["git", "add", "-A"], project)
    run(["git", "commit", "--quiet", "-m", "Update from the template v1.1.0"], project)


def update_with_conflict(template: Path, project: Path, original_init: str) -> None:
    """Release v1.2.0 on the line the project changed too: copier exits 0, the conflict shows."""
    release(template, "v1.2.0", {EDITED_MODULE: original_init + LINE_2})
    init = project / "src" / PACKAGE / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8").replace(LINE_1, PROJECT_LINE))
    run(["git", "commit", "--quiet", "-am", "The project's own words on that line"], project)
    updated = run(["just", "template-update", "v1.2.0"], project, check=False)
    expect(updated.returncode == 0, "copier update did not exit 0")  # copier's way: see the docs
    expect(
        conflicted(project) == [f"src/{PACKAGE}/__init__.py"],
        f"git does not list the conflict: {conflicted(project)}",
    )
    text = init.read_text(encoding="utf-8")
    expect(MARKER in text and PROJECT_LINE in text and LINE_2 in text, f"no markers in {init}")
    print(f"    as a user sees it:\n{run(['git', 'status', '--short'], project).stdout}")


def optional_parts(template: Path, folder: Path, timer: Timer) -> None:
    """The matrix of optional parts (see ALL_OFF above), then one part brought back."""
    with timer.step("the leftover grep of each part finds a planted reference"):
        check_part_leftovers_can_fail(folder)
    with timer.step(f"copier copy with {ALL_OFF}; grep, uv lock --check"):
        bare = generate_variant(template, folder, ALL_OFF, list(prune.PARTS))
    for part in prune.PARTS:
        with timer.step(f"copier copy without {part}; grep, lint, collect, nearest tests"):
            check_single_off(generate_variant(template, folder, f"no {part}", [part]), part)
    with timer.step(f"just pipeline and just check with {ALL_OFF}"):
        run(["just", "pipeline"], bare)
        if (ROOT / ".mypy_cache").is_dir():  # as for the main project below
            shutil.copytree(ROOT / ".mypy_cache", bare / ".mypy_cache")
        run(["just", "check"], bare)
    with timer.step("copier update --data serving=true brings serving back"):
        bring_back_serving(bare)


def selftest(folder: Path, timer: Timer) -> None:
    """Run every step in ``folder`` (see the module docstring)."""
    template, project = generate(folder, timer)
    optional_parts(template, folder, timer)
    with timer.step("copier copy under 24-character names; check-code, check-format"):
        check_longest_names(template, folder)
    original_init = (template / EDITED_MODULE).read_text(encoding="utf-8")
    with timer.step("release v1.1.0, an edit of the project's own, copier update"):
        update_cleanly(template, project, original_init)
    with timer.step("just pipeline in the generated, updated project"):
        run(["just", "pipeline"], project)
    with timer.step("just check in the generated, updated project"):
        # mypy's cache of this checkout holds the third-party modules, which a generated project
        # shares: seeded with it, mypy checks the renamed package cold in a third of the time.
        # mypy re-checks any module whose file differs, so this shortens, never skips.
        if (ROOT / ".mypy_cache").is_dir():
            shutil.copytree(ROOT / ".mypy_cache", project / ".mypy_cache")
        run(["just", "check"], project)
    with timer.step("release v1.2.0 on the lines the project changed, copier update"):
        update_with_conflict(template, project, original_init)


def main(argv: list[str]) -> int:
    """Run the self-test in a temporary folder; print the times; exit non-zero on a failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if run(["git", "status", "--porcelain"], ROOT).stdout.strip():
        print("note: uncommitted changes are not tested (the self-test clones HEAD)")
    timer = Timer()
    folder = Path(tempfile.mkdtemp(prefix="template-selftest-"))
    try:
        selftest(folder, timer)
    except SelfTestError as error:
        print(f"\nerror: template self-test: {error}", file=sys.stderr)
        return 1
    finally:
        timer.report()
        if args.keep:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("template self-test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
