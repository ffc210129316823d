"""Fixtures the serving tests share: one small real model, laid out and loaded once per process.

``model_dir`` is :func:`served_model.laid_out_model`, the small candidate laid out as the image
ships it (id ``test-model``); ``served`` is it loaded as the service loads it (checked, its fast
path compiled and verified). Tests read them and never write to them: a test that changes a model
lays out or copies its own.
"""

from pathlib import Path

import pytest

from churn_model.serving.served_model import CompiledModel, load_compiled_model

from served_model import laid_out_model


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return laid_out_model()


@pytest.fixture(scope="session")
def served(model_dir: Path) -> CompiledModel:
    return load_compiled_model(model_dir)
