"""The gate asks the HTTP service too: its fast path and its routes answer as batch scoring does.

The serving check (:mod:`churn_model.release.serving_check`) scores the probe rows
every way the candidate is served; :mod:`churn_model.release.http_check` adds the
service's ways: the fast path, the pipeline it falls back to, ``POST /predict`` and
``POST /predict/batch``. A defect planted in any of them fails the gate's serving row
with one sentence. The candidate is the one ``test_serving_check`` gates too (a
preprocessing step that selects no column; the folder's ``conftest.py`` trains it).
"""

import json
import weakref
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from pydantic import BaseModel

from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.release import http_check
from churn_model.release.gate import run_gate
from churn_model.release.gate_report import render_markdown
from churn_model.release.gate_rows import serving_row
from churn_model.release.serving_check import (
    EVALUATION,
    REFERENCE,
    ServingCheck,
    check_serving,
)
from churn_model.serving import contract, fast_path, served_model

from model_support import fast_model_config, lenient_gates

LENIENT = lenient_gates()
FAST_MODEL = fast_model_config()
HTTP_PATHS = ("POST /predict", "POST /predict/batch")


@pytest.fixture
def compiled_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process forgets the fast paths it verified: a defect planted in verifying is met."""
    monkeypatch.setattr(served_model, "_COMPILED", weakref.WeakKeyDictionary())


def test_the_service_answers_on_the_fast_path_as_batch_scoring_does(folder: Path) -> None:
    verdict = run_gate(folder, LENIENT, None, FAST_MODEL)
    assert verdict.passed, render_markdown(verdict)
    assert verdict.serving == ServingCheck(
        probe_rows=served_model.PROBE_ROWS,
        gap=0.0,
        paths=("the fast path", "the pipeline", *HTTP_PATHS, EVALUATION, REFERENCE),
    )
    assert served_model.load_compiled_model(folder).compiled is not None


def test_a_fast_path_that_disagrees_with_the_pipeline_fails(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A verification that lets a drifting fast path through: the served answers drift with it.
    original = fast_path.CompiledPipeline.positive_probability

    def drifting(
        self: fast_path.CompiledPipeline, columns: fast_path.Columns
    ) -> npt.NDArray[np.float64]:
        return np.clip(original(self, columns) + 1e-9, 0.0, 1.0)

    monkeypatch.setattr(served_model, "matches_pipeline", lambda *_: True)
    monkeypatch.setattr(fast_path.CompiledPipeline, "positive_probability", drifting)
    check = check_serving(folder)
    assert check.paths[0] == "the fast path"
    assert check.gap is not None
    assert 0 < check.gap < 1e-8
    assert check.problem.startswith(f"{folder}: the probabilities of ")
    assert "differ from batch scoring's on " in check.problem
    assert serving_row(check).status == "fail"


def test_an_answer_that_loses_precision_over_http_fails(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = contract.prediction

    def rounded(record: BaseModel, probability: float, label: int) -> contract.Prediction:
        return original(record, round(probability, 4), label)

    monkeypatch.setattr(contract, "prediction", rounded)
    check = check_serving(folder)
    assert check.problem.startswith(f"{folder}: the probabilities of POST /predict")
    assert serving_row(check).status == "fail"


def test_a_crash_while_loading_is_one_sentence_not_a_traceback(
    folder: Path, monkeypatch: pytest.MonkeyPatch, compiled_anew: None
) -> None:
    def crash(*_: object) -> None:
        raise ValueError("need at least one array to concatenate\nand a second line")

    monkeypatch.setattr(served_model, "verified_compiled", crash)
    check = check_serving(folder)
    assert check.problem == (
        f"{folder}: the service fails on the probe rows "
        "(ValueError: need at least one array to concatenate and a second line)"
    )
    assert (check.gap, serving_row(check).status) == (None, "fail")


def test_a_fast_path_that_crashes_declines_and_the_pipeline_serves(
    folder: Path, monkeypatch: pytest.MonkeyPatch, compiled_anew: None
) -> None:
    def crash(*_: object) -> None:
        raise ValueError("need at least one array to concatenate")

    monkeypatch.setattr(fast_path.CompiledPipeline, "transform", crash)
    check = check_serving(folder)
    assert check == ServingCheck(
        probe_rows=served_model.PROBE_ROWS,
        gap=0.0,
        paths=("the pipeline", *HTTP_PATHS, EVALUATION, REFERENCE),
    )
    assert serving_row(check).note.startswith("256 probe rows, same probabilities: the pipeline,")


def test_probe_rows_become_json_records_the_service_accepts() -> None:
    records = http_check.json_records(served_model.probe_rows())
    assert len(records) == served_model.PROBE_ROWS
    assert json.loads(json.dumps(records)) == records  # plain JSON values, nothing numpy
    missing = any(value is None for record in records for value in record.values())
    assert missing == any(column.nullable for column in SCHEMA.features)  # a null where allowed
    assert all(isinstance(contract.Record.model_validate(r), contract.Record) for r in records)


def test_a_refused_or_short_answer_is_one_sentence(tmp_path: Path) -> None:
    refused = httpx.Response(422, json={"message": "records.0.tenure: too big\nrecords.1: bad"})
    with pytest.raises(UserError) as caught:
        http_check._probabilities(tmp_path, refused, "/predict/batch", 2)
    assert str(caught.value) == (
        f"{tmp_path}: the service answered POST /predict/batch with 422 on the probe rows "
        "(records.0.tenure: too big records.1: bad)"
    )
    short = httpx.Response(200, json={"predictions": []})
    with pytest.raises(UserError, match=r"answered POST /predict/batch with 0 predictions for 2"):
        http_check._probabilities(tmp_path, short, "/predict/batch", 2)
