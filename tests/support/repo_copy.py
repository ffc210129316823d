"""Copies of this repository for end-to-end tests, run with this checkout's environment.

Tests that plant a defect, install a git hook or run recipes in a throw-away copy use these, so a
copy holds what a clone would (tracked files, plus untracked ones git does not ignore) and installs
nothing: ``UV_PROJECT_ENVIRONMENT`` points uv at this checkout's ``.venv`` with syncing off.
"""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tracked_files(root: Path = ROOT) -> list[str]:
    """Return the files git tracks (and untracked, unignored ones), relative to ``root``."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    return [name for name in out.decode().split("\0") if name and (root / name).is_file()]


def copy_repository(dest: Path, root: Path = ROOT) -> Path:
    """Copy the files of :func:`tracked_files` into ``dest`` (created) and return it."""
    for name in tracked_files(root):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return dest


def reused_environment(**extra: str) -> dict[str, str]:
    """This process's environment, pointing uv at this checkout's venv without syncing it."""
    return {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(ROOT / ".venv"),
        "UV_NO_SYNC": "1",
        "NO_COLOR": "1",
        **extra,
    }
