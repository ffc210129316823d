"""Fixtures the serving tests share: one small real model, laid out and loaded once per process.

``model_dir`` is the candidate of :mod:`served_model` laid out as the image ships it (id
``test-model``); ``served`` is it loaded as the service loads it (checked, its fast path compiled
and verified). Tests read them and never write to them: a test that changes a model copies it.
"""

from pathlib import Path

import pytest

from churn_model.serving.served_model import CompiledModel, load_compiled_model

from served_model import make_model_dir


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("served") / "model"
    make_model_dir(folder)
    return folder


@pytest.fixture(scope="session")
def served(model_dir: Path) -> CompiledModel:
    return load_compiled_model(model_dir)
