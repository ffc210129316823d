"""Every ``check-*`` recipe can fail: plant one defect of each kind in a copy of the repository.

A check that passes whatever the code does is worse than no check. This test copies the tracked
files to a temporary folder, shows the clean copy passing every check, then plants one defect per
check and asserts that exactly the matching recipe exits non-zero. The copy reuses this checkout's
virtual environment (``UV_PROJECT_ENVIRONMENT`` with syncing off), so it installs nothing.
"""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from justfile_recipes import check_steps, read_recipes
from repo_copy import copy_repository, reused_environment

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's tracked files, never modified."""
    return copy_repository(tmp_path_factory.mktemp("pristine"))


def _copy(pristine: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(pristine, repo)
    return repo


def _just(repo: Path, recipe: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["just", recipe],
        cwd=repo,
        env=reused_environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def _append(path: str, text: str) -> Callable[[Path], None]:
    def plant(repo: Path) -> None:
        with (repo / path).open("a", encoding="utf-8") as handle:
            handle.write(text)

    return plant


def _write(path: str, text: str) -> Callable[[Path], None]:
    def plant(repo: Path) -> None:
        (repo / path).write_text(text, encoding="utf-8")

    return plant


def _check_recipes() -> list[str]:
    """Return the recipes `just check` runs, in order, as the justfile declares them."""
    return check_steps(read_recipes())


CHECKS = _check_recipes()
PLANTED = "src/churn_model/planted.py"  # a module of the package

DEFECTS: dict[str, tuple[Callable[[Path], None], str]] = {
    # recipe: (how to plant the defect, a fragment the failing output must contain)
    "check-code": (
        _write(PLANTED, '"""Planted."""\n\nimport os\n'),
        "F401",
    ),
    "check-type": (
        _write(PLANTED, '"""Planted."""\n\nCOUNT: int = "three"\n'),
        "Incompatible types in assignment",
    ),
    "check-format": (
        _write(PLANTED, '"""Planted."""\n\nVALUES = [1,2,   3]\n'),
        "would be reformatted",
    ),
    "check-security": (
        _write(
            PLANTED,
            '"""Planted."""\n\n\ndef run(text: str) -> object:\n'
            '    """Evaluate text."""\n    return eval(text)  # noqa: S307 -- planted defect\n',
        ),
        "B307",
    ),
    "check-coverage": (
        _write("tests/test_planted.py", "def test_planted() -> None:\n    assert 1 + 1 == 3\n"),
        "test_planted",
    ),
    "check-workflows": (
        _write(
            ".github/workflows/planted.yml",
            "name: Planted\non: pull_request\npermissions: {}\njobs:\n  greet:\n"
            "    runs-on: ubuntu-latest\n    steps:\n"
            '      - run: echo "${{ github.event.pull_request.title }}"\n',
        ),
        "potentially untrusted",
    ),
    # >>> serving
    "check-docker": (_append("Dockerfile", "RUN cd /tmp && ls\n"), "DL3003"),
    # <<< serving
    # >>> kubernetes
    "check-manifests": (
        # A misspelt field: Kubernetes would drop it silently; the strict schema refuses it.
        _write(
            "deploy/kubernetes/planted.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: planted\nspec:\n"
            "  ports:\n    - port: 80\n      protocl: TCP\n",
        ),
        "'protocl' was unexpected",
    ),
    # <<< kubernetes
}


def test_every_check_has_a_planted_defect() -> None:
    assert sorted(DEFECTS) == sorted(CHECKS)


def test_the_clean_copy_passes_every_check(pristine: Path, tmp_path: Path) -> None:
    repo = _copy(pristine, tmp_path)
    for recipe in CHECKS:
        result = _just(repo, recipe)
        assert result.returncode == 0, f"{recipe} failed on a clean copy:\n{result.stdout}"


@pytest.mark.parametrize("recipe", CHECKS)
def test_each_check_fails_on_its_planted_defect(
    recipe: str, pristine: Path, tmp_path: Path
) -> None:
    repo = _copy(pristine, tmp_path)
    plant, evidence = DEFECTS[recipe]
    plant(repo)
    result = _just(repo, recipe)
    assert result.returncode != 0, f"{recipe} passed despite the planted defect"
    assert evidence in result.stdout + result.stderr


def test_check_coverage_fails_when_coverage_drops_under_the_bar(
    pristine: Path, tmp_path: Path
) -> None:
    # Every test passes here: only the `fail_under` bar in pyproject.toml can fail the recipe.
    repo = _copy(pristine, tmp_path)
    untested = "".join(f"    total += {i}\n" for i in range(600))
    _write(
        "src/churn_model/_planted.py",  # private: the API reference does not list it
        f'"""Planted."""\n\n\ndef unused() -> int:\n    """Never called."""\n    total = 0\n'
        f"{untested}    return total\n",
    )(repo)
    result = _just(repo, "check-coverage")
    assert result.returncode != 0, "check-coverage passed with coverage under the bar"
    assert "Required test coverage of 90" in result.stdout
    assert " failed" not in result.stdout.splitlines()[-1]
