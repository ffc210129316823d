"""A kill at any write of ``promote`` or ``rollback`` never leaves the registry's files disagreeing.

Issue 11, item 7. A project with a champion (A) and a gated challenger (B) is committed to git;
then ``churn-model promote --candidate B`` (and ``rollback``) runs as a user runs it,
and is SIGKILLed just before its Nth change to the disk (``tests/support/kill_at_write.py``),
for every N from the first write to the last. After each kill:

- ``git status`` shows nothing the team could commit by mistake: no temporary file (they are
  ignored), and either nothing changed or exactly the views of a new champion;
- the next read (:func:`churn_model.release.registry.settle`, which ``gate``,
  ``promote``, ``rollback``, ``export`` and ``register`` start with) leaves pointer,
  ``ci/baseline.json`` and ``docs/model/`` all describing one champion, the old or the new, and no
  leftover file;
- the promotion can then be run again and succeeds.

The harness imports the command line once and forks a child per kill point; the whole test still
takes several seconds, so it is in the slow set.
"""

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from churn_model.model import candidate
from churn_model.release import registry
from churn_model.release.gate import run_gate
from churn_model.release.gate_report import SUMMARY_FILE, render_markdown
from churn_model.release.gate_rows import read_baseline
from churn_model.release.registry import DOCS_FILES
from churn_model.release.verdict import read_verdict

from kill_at_write import REPORT
from model_support import ROOT, fast_model_config, lenient_gates, make_project, write_sample
from repo_copy import reused_environment

pytestmark = pytest.mark.slow

LENIENT = lenient_gates()
FAST_MODEL = fast_model_config()
HARNESS = ROOT / "tests" / "support" / "kill_at_write.py"
VIEWS = ["ci/baseline.json", *(f"docs/model/{name}" for name in DOCS_FILES)]


@dataclass(frozen=True)
class Project:
    """A committed project folder whose champion is ``old``, with ``new`` gated against it."""

    folder: Path
    old: str
    new: str


def _registry(folder: Path) -> registry.Registry:
    """The project's registry in the project ``folder``."""
    return registry.Registry(
        folder / registry.REGISTRY_DIR,
        folder / "ci/baseline.json",
        folder / registry.DOCS_MODEL_DIR,
        folder / "ci/gates.toml",
        folder / "configs/model.toml",
    )


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = make_project(tmp_path_factory.mktemp("crash") / "project")
    shutil.copyfile(ROOT / ".gitignore", folder / ".gitignore")
    root = folder / candidate.CANDIDATES_DIR
    old, new = (
        candidate.create_candidate(
            write_sample(folder / f"s{seed}.csv", 1_500, seed=seed),
            config_path=folder / "configs/model.toml",
            root=root,
        )
        for seed in (21, 22)
    )
    scratch = _registry(folder)
    run_gate(old, LENIENT, None, FAST_MODEL)
    registry.promote(
        old.name, registry=scratch, allow_dirty=True, candidates=root, gate_config=LENIENT
    )
    run_gate(new, LENIENT, read_baseline(scratch.baseline), FAST_MODEL)
    _git(folder, "init", "-q")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", "champion A, challenger B gated")
    return Project(folder=folder, old=old.name, new=new.name)


def _run_killed(runs: list[tuple[Path, int]], *args: str) -> None:
    """Run ``churn-model ARGS`` in each folder, killed before write N (0: never)."""
    pairs = [f"{folder}:{kill_at}" for folder, kill_at in runs]
    done = subprocess.run(
        [sys.executable, str(HARNESS), *pairs, "--", *args],
        env=reused_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    reports = [line.split("\t") for line in done.stdout.splitlines()]
    ended = {
        folder: code for tag, folder, code in (r for r in reports if len(r) == 3) if tag == REPORT
    }
    for folder, kill_at in runs:
        assert int(ended[str(folder)]) == (-9 if kill_at else 0), (folder, done.stderr)


def _writes(folder: Path) -> list[str]:
    """The write points the harness traced for ``folder`` (random parts of names as ``*``)."""
    text = folder.with_name(f"{folder.name}.trace").read_text()
    return re.sub(r"\.staging-\w+|\.[0-9a-f]{32}\.tmp", "*", text).splitlines()


def _champion_everywhere(folder: Path) -> str:
    """Assert pointer, baseline and docs describe one champion; return its id."""
    scratch = _registry(folder)
    champion = registry.read_pointer(scratch).champion
    assert champion is not None
    baseline = read_baseline(scratch.baseline)
    assert baseline is not None
    assert baseline.model_id == champion
    registered = scratch.folder / "models" / champion
    verdict = read_verdict(registered)
    assert baseline.metrics == verdict.metrics
    for name in DOCS_FILES:
        written = (scratch.docs / name).read_bytes()
        expected = (
            render_markdown(verdict).encode()
            if name == SUMMARY_FILE
            else (registered / name).read_bytes()
        )
        assert written == expected, name
    leftovers = [
        p
        for place in (
            scratch.folder,
            scratch.folder / "models",
            folder / "ci",
            scratch.docs,
        )
        for p in place.iterdir()
        if p.name.endswith(".tmp") or p.name.startswith(".staging-")
    ]
    assert leftovers == []
    assert not (scratch.folder / registry.JOURNAL_FILE).exists()
    return champion


def _changed(folder: Path) -> tuple[set[str], list[str]]:
    """What ``git status`` shows: the tracked files changed, and any untracked file."""
    lines = _git(folder, "status", "--porcelain", "--untracked-files=all").splitlines()
    changed = {line[3:] for line in lines if not line.startswith("??")}
    return changed, [line for line in lines if line.startswith("??")]


def _kill_everywhere(
    project: Project, tmp_path: Path, command: list[str], before: str, after: str
) -> None:
    """Kill ``command`` at each of its writes in a fresh copy of ``project``; check each outcome."""
    clean = tmp_path / "clean"
    shutil.copytree(project.folder, clean, symlinks=True)
    _run_killed([(clean, 0)], *command)
    assert _champion_everywhere(clean) == after
    writes = _writes(clean)
    assert len(writes) > 5, writes
    runs = [(tmp_path / f"kill{n}", n) for n in range(1, len(writes) + 1)]
    for folder, _ in runs:
        shutil.copytree(project.folder, folder, symlinks=True)
    _run_killed(runs, *command)
    outcomes = {}
    for folder, kill_at in runs:
        assert _writes(folder) == writes[:kill_at]  # the same run, cut short
        point = writes[kill_at - 1]
        changed, untracked = _changed(folder)
        assert untracked == [], (point, untracked)
        assert changed <= set(VIEWS), (point, changed)
        registry.settle(_registry(folder))
        champion = _champion_everywhere(folder)
        assert champion in {before, after}, point
        changed, untracked = _changed(folder)
        assert untracked == []
        assert (changed == set()) if champion == before else (changed == set(VIEWS)), point
        outcomes[point] = champion
    # Both outcomes happen: the early kills keep the old champion, the late ones finish the new.
    assert set(outcomes.values()) == {before, after}, outcomes


def test_a_kill_at_any_write_of_promote_leaves_one_champion(
    project: Project, tmp_path: Path
) -> None:
    _kill_everywhere(
        project,
        tmp_path,
        ["promote", "--candidate", project.new, "--allow-dirty"],
        project.old,
        project.new,
    )
    # After any kill, the promotion can be run again and succeeds.
    folder = tmp_path / "again"
    shutil.copytree(project.folder, folder, symlinks=True)
    _run_killed([(folder, 3)], "promote", "--candidate", project.new, "--allow-dirty")
    pointer = registry.promote(
        project.new,
        allow_dirty=True,
        candidates=folder / candidate.CANDIDATES_DIR,
        gate_config=LENIENT,
        registry=_registry(folder),
    )
    assert pointer.champion == project.new == _champion_everywhere(folder)


def test_a_kill_at_any_write_of_rollback_leaves_one_champion(
    project: Project, tmp_path: Path
) -> None:
    promoted = tmp_path / "promoted"
    shutil.copytree(project.folder, promoted, symlinks=True)
    _run_killed([(promoted, 0)], "promote", "--candidate", project.new, "--allow-dirty")
    _git(promoted, "commit", "-q", "-am", "champion B")
    _kill_everywhere(
        Project(folder=promoted, old=project.new, new=project.old),
        tmp_path / "rollback",
        ["rollback"],
        project.new,
        project.old,
    )
