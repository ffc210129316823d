"""`just hooks` installs a pre-commit hook that refuses a bad commit and fixes nothing by itself.

In a throw-away git repository holding a copy of this project: the hook is installed with the
recipe a developer runs, the clean tree commits, a staged lint error and a staged formatting slip
are each refused with the finding shown (and the file is left exactly as staged), and git's own
``--no-verify`` still gets an emergency commit through.
"""

import subprocess
from pathlib import Path

import pytest

from repo_copy import copy_repository, reused_environment

pytestmark = pytest.mark.slow

UNUSED_IMPORT = '"""Planted."""\n\nimport os\n'
UNFORMATTED = '"""Planted."""\n\nVALUES = [1,2,   3]\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of the project, with the hook installed by `just hooks`."""
    repo = copy_repository(tmp_path / "repo")
    _run(repo, "git", "init", "--quiet")
    _run(repo, "just", "hooks")
    _run(repo, "git", "add", "--all")
    _run(repo, "git", "commit", "--quiet", "--message", "clean tree: the hook passes")
    return repo


def _env(repo: Path) -> dict[str, str]:
    return reused_environment(
        PRE_COMMIT_HOME=str(repo.parent / "pre-commit-home"),
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.invalid",
    )


def _run(repo: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=repo, env=_env(repo), capture_output=True, text=True, check=check
    )


def _head(repo: Path) -> str:
    return _run(repo, "git", "rev-parse", "HEAD").stdout.strip()


def _commit_planted(repo: Path, text: str) -> subprocess.CompletedProcess[str]:
    (repo / "src" / "planted.py").write_text(text, encoding="utf-8")
    _run(repo, "git", "add", "src/planted.py")
    return _run(repo, "git", "commit", "--message", "planted", check=False)


@pytest.mark.parametrize(
    ("text", "finding"),
    [(UNUSED_IMPORT, "F401"), (UNFORMATTED, "would be reformatted")],
    ids=["lint", "format"],
)
def test_the_hook_refuses_a_bad_commit_and_shows_the_finding(
    repo: Path, text: str, finding: str
) -> None:
    before = _head(repo)
    result = _commit_planted(repo, text)
    assert result.returncode != 0
    assert finding in result.stdout + result.stderr
    assert "src/planted.py" in result.stdout + result.stderr
    assert _head(repo) == before, "the bad commit was made"
    assert (repo / "src" / "planted.py").read_text(encoding="utf-8") == text, "the hook edited it"


def test_no_verify_skips_the_hook_in_an_emergency(repo: Path) -> None:
    before = _head(repo)
    refused = _commit_planted(repo, UNUSED_IMPORT)
    assert refused.returncode != 0
    _run(repo, "git", "commit", "--no-verify", "--quiet", "--message", "emergency")
    assert _head(repo) != before
