"""Fixtures the release tests share.

``built`` is the candidate the serving-check tests gate: trained with one more preprocessing step
that selects no column, once per test process; ``folder`` is a fresh copy of it per test, in a
``candidates`` folder, for a test to plant its defect on.
"""

import shutil
from pathlib import Path

import pytest

from model_support import candidate_with_an_empty_step


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return candidate_with_an_empty_step(tmp_path_factory.mktemp("servable"))


@pytest.fixture
def folder(tmp_path: Path, built: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "candidates" / built.name))
