"""Shared helpers for the model-path tests: small generated tables and fast candidates.

Latency timing is cut to a handful of calls here (``FAST_LATENCY``): the tests check that latency
is measured and gated, not how fast this machine is; ``scripts/`` holds the real benchmark.
"""

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from churn_model import evaluate
from churn_model.config import GateConfig
from churn_model.sample import generate_sample

ROOT = Path(__file__).resolve().parents[1]
FAST_LATENCY = {"batch_1": (1, 5, 1), "batch_1000": (1_000, 2, 1)}
FAST_ITERATIONS = 40
"""Boosting rounds for tests that check machinery, not model quality (the default is 200)."""


@contextmanager
def fast_latency() -> Iterator[None]:
    """Shrink the latency plan for the duration of the block (usable in module fixtures)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluate, "LATENCY_PLAN", FAST_LATENCY)
        yield


def write_sample(path: Path, rows: int, seed: int = 7) -> Path:
    """Write a generated sample of ``rows`` rows as CSV to ``path`` and return it."""
    generate_sample(rows, seed).to_csv(path, index=False)
    return path


def without_latency_budget(config: GateConfig) -> GateConfig:
    """``config`` with latency limits no test machine reaches.

    Tests run on busy shared machines (and under coverage tracing), where a single scheduling
    hiccup in a five-call timing run can exceed any sensible budget. Tests that are not about the
    latency gate use this; the latency rule itself is tested with synthetic numbers.
    """
    generous = dict.fromkeys(config.latency.floor_ms, 60_000.0)
    return config.model_copy(
        update={"latency": config.latency.model_copy(update={"floor_ms": generous})}
    )


def fast_config(dest: Path) -> Path:
    """Write ``configs/model.toml`` with fewer boosting rounds to ``dest`` and return it."""
    text = (ROOT / "configs/model.toml").read_text(encoding="utf-8")
    fast = re.sub(r"(?m)^max_iter = \d+$", f"max_iter = {FAST_ITERATIONS}", text)
    assert fast != text, "configs/model.toml has no max_iter line to shorten"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(fast, encoding="utf-8")
    return dest


def make_project(dest: Path) -> Path:
    """Create a minimal project folder at ``dest``: copies of ``configs/`` and ``ci/``.

    The model config is the fast one (:func:`fast_config`).
    """
    for name in ("configs", "ci"):
        shutil.copytree(ROOT / name, dest / name)
    fast_config(dest / "configs/model.toml")
    return dest
