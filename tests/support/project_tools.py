"""The repository's own tools, as the tests use them: its scripts imported, its ruff settings."""

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` (scripts/ is not a package), to call its functions."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_ruff_clean(path: Path) -> None:
    """``ruff format --check`` and ``ruff check`` accept the file, with the project's settings."""
    ruff = shutil.which("ruff")
    assert ruff is not None
    config = ["--config", str(ROOT / "pyproject.toml")]
    for command in (["format", "--check", *config], ["check", "--no-fix", *config]):
        result = subprocess.run(
            [ruff, *command, str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
