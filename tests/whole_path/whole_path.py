"""The whole path, from an extract to predictions over HTTP, under whatever schema the domain has.

Imported only in a :mod:`fresh_domain` child, whose domain is a drawn schema: the imports below
bind the machinery to it. :func:`run` goes where an adopter's project goes, with the library
functions the CLI calls, in the child's working folder (a project folder: ``configs/``, ``ci/``,
``artifacts/`` are relative to it):

infer a draft from the extract (it describes the extract, and accepts it) -> validate ->
train a candidate -> calibrate (every slice with held-out rows reported) and draft
``ci/gates.toml`` from the spreads -> gate (it passes: the candidate's seed is one of the calibrated
ones) -> promote -> export -> load as ``serve`` does ->
``/predict`` record by record and ``/predict/batch`` on a real uvicorn server on loopback, and the
smoke test -> ``predict`` on a file.

The probability of every scored row must be the same, bit for bit, everywhere: the exported
pipeline's, each HTTP answer's, the scored file's. Every step that fails raises, naming the step.
"""

import csv
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_model.config import load_gate_config, load_model_config
from churn_model.data.infer_schema import infer, render
from churn_model.data.pinning import load_dataset, read_table
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import read_whole, write_csv
from churn_model.data.validation import validate
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.model.artifact import CARD_FILE
from churn_model.model.candidate import create_candidate
from churn_model.model.card import read_card
from churn_model.release import calibration, registry
from churn_model.release.gate import run_gate
from churn_model.release.gate_report import render_markdown
from churn_model.release.gate_rows import read_baseline
from churn_model.serving import answer_names
from churn_model.serving.app import create_app
from churn_model.serving.batch_scoring import predict_file
from churn_model.serving.served_model import (
    CompiledModel,
    load_compiled_model,
    score_frame,
)
from churn_model.serving.settings import Limits
from churn_model.serving.smoke import render as render_smoke
from churn_model.serving.smoke import run_smoke
from churn_model.table import Schema

from drawn_tables import table_frame
from model_support import fast_config
from running_service import serving_in_thread

EXTRACT = Path("extract/table.csv")
"""The training extract (not the domain's ``DATA_FILE``: no DVC pin is involved)."""

SCORED_ROWS = 40
"""Rows scored over HTTP (in one batch) and from a file."""

SINGLE_RECORDS = 5
"""Of those, how many are also sent one by one to ``/predict``."""

CALIBRATION_SEEDS = 2
"""Seeds calibration trains (the fewest ``just calibrate`` takes), from the configured one on."""

ITERATIONS = 10
"""Boosting rounds: the path judges the machinery, not the model (the gate is drafted from it)."""

MODEL_DIR = Path("dist/model")


class Stages:
    """The CPU seconds each step of the path took, in order."""

    def __init__(self) -> None:
        """Start with no step timed."""
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Time the block as step ``name``; a failure inside it names the step."""
        began = time.process_time()
        try:
            yield
        except Exception as error:
            error.add_note(f"in the step {name!r} of the whole path")
            raise
        self.seconds[name] = round(time.process_time() - began, 3)


def _written(value: object) -> str:
    """A label value as a file writes it (``true``, ``1``, ``Yes``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _loaded(source: str) -> Schema:
    """The ``SCHEMA`` a ``schema.py`` source declares."""
    namespace: dict[str, Any] = {}
    exec(compile(source, "drafted_schema.py", "exec"), namespace)  # noqa: S102 -- infer's own draft
    schema: Schema = namespace["SCHEMA"]
    return schema


def check_draft(extract: Path, frame: pd.DataFrame) -> int:
    """``infer`` drafts a schema that describes the extract, renders as source, and accepts it.

    Given the label, its positive value and the id (as an adopter passes them), the draft has the
    same label values and id, and every feature with its kind (a whole number seen only as 0 and
    1 is drafted as a boolean, and said), nullability and the categories present; a feature it
    leaves out is a category (of more values than it calls a category), and a note names it; when
    it leaves out every feature, it says so in one sentence. Returns the number of notes.
    """
    label = SCHEMA.label
    refused: UserError | None = None
    try:
        inferred = infer(
            extract,
            label=label.name,
            positive=_written(label.positive),
            id_column=SCHEMA.id.name if SCHEMA.id is not None else None,
        )
    except UserError as error:
        refused = error
    if refused is not None:  # only categories, each of more values than a category has
        assert "no column besides the label and the id can be a feature" in str(refused), refused
        assert {column.kind for column in SCHEMA.features} == {"category"}, refused
        return 0
    draft, notes = inferred.schema, "\n".join(inferred.notes)
    drafted_label = (draft.label.name, draft.label.positive, draft.label.negative)
    assert drafted_label == (label.name, label.positive, label.negative), drafted_label
    assert type(draft.label.positive) is type(label.positive), draft.label
    guessed = None
    if SCHEMA.id is not None:
        assert draft.id is not None, "the id was not drafted"
        assert draft.id.name == SCHEMA.id.name, draft.id
    elif draft.id is not None:  # a column unique in every row: guessed, and said so
        guessed = draft.id.name
        assert f"id: guessed {guessed!r}" in notes, notes
    drafted = {column.name: column for column in draft.features}
    for column in SCHEMA.features:
        if column.name == guessed:
            continue
        if column.name not in drafted:
            assert column.kind == "category", f"{column.name!r} left out of the draft: {notes}"
            assert f"{column.name}:" in notes, f"{column.name!r} left out silently: {notes}"
            continue
        got, values = drafted[column.name], frame[column.name]
        if column.kind == "int" and set(values.dropna()) <= {0, 1}:  # read as a boolean, and said
            assert got.kind == "bool", got
            assert f"{column.name}: only 0 and 1" in notes, notes
        else:
            assert got.kind == column.kind, (column.name, got.kind, column.kind)
        assert got.nullable == bool(values.isna().any()), column.name
        assert set(got.categories) == set(values.dropna()) if got.categories else True, got
    assert [c.name for c in draft.features] == [
        name for name in SCHEMA.feature_names() if name in drafted
    ], "the draft keeps the extract's column order"
    reloaded = _loaded(render(inferred, source=extract.name))
    assert reloaded == draft, "the rendered draft declares another schema"
    accepted = validate(read_whole(extract, schema=draft), str(extract), schema=draft)
    assert len(accepted) == len(frame), "the draft refuses rows of its own extract"
    return len(inferred.notes)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Validated rows as JSON request records: the id (if any) and the features, NaN as null."""
    names = ([SCHEMA.id.name] if SCHEMA.id is not None else []) + SCHEMA.feature_names()
    values = frame[names].astype(object)
    values = values.where(values.notna(), None)
    return [{str(key): value for key, value in row.items()} for row in values.to_dict("records")]


@contextmanager
def _serving(served: CompiledModel) -> Iterator[str]:
    """``serve``'s app over ``served`` under uvicorn on a free loopback port; yield its URL."""
    with serving_in_thread(create_app(MODEL_DIR, model=served), Limits()) as port:
        yield f"http://127.0.0.1:{port}"


def _answer_fields() -> tuple[str, str]:
    """The names of an answer's probability and predicted label: named after the schema's label."""
    return answer_names.probability_field(), answer_names.predicted_field()


def _same(where: str, got: npt.NDArray[np.float64], expected: npt.NDArray[np.float64]) -> None:
    """Fail unless ``got`` is ``expected`` bit for bit, saying where and by how much."""
    assert got.shape == expected.shape, (where, got.shape, expected.shape)
    if not np.array_equal(got, expected):
        worst = float(np.max(np.abs(got - expected)))
        raise AssertionError(f"{where}: probabilities differ from the pipeline's (by {worst:g})")


def _labels_follow(where: str, labels: list[str], probability: npt.NDArray[np.float64]) -> None:
    """Each label is one of the label's values as a file spells it, positive from the threshold."""
    threshold = read_card(MODEL_DIR / CARD_FILE).threshold
    positive, negative = _written(SCHEMA.label.positive), _written(SCHEMA.label.negative)
    expected = [positive if p >= threshold else negative for p in probability]
    assert labels == expected, (where, labels, expected)


def _served_answers(url: str, records: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """POST the first records one by one to ``/predict``, and all of them to ``/predict/batch``."""
    with httpx.Client(base_url=url, timeout=30) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        card = client.get("/metadata").json()
        assert [feature["name"] for feature in card["features"]] == SCHEMA.feature_names(), card
        single = []
        for record in records[:SINGLE_RECORDS]:
            answer = client.post("/predict", json=record)
            assert answer.status_code == 200, (record, answer.text)
            single.append(answer.json())
        batch = client.post("/predict/batch", json={"records": records})
        assert batch.status_code == 200, batch.text
        return single, batch.json()["predictions"]


def _check_answers(
    answers: list[dict[str, Any]], records: list[dict[str, Any]], expected: npt.NDArray[np.float64]
) -> None:
    """The answers carry the expected probabilities, labels that follow them, the echoed ids."""
    probability_field, label_field = _answer_fields()
    where = f"{len(answers)} HTTP answers"
    _same(where, np.array([a[probability_field] for a in answers]), expected[: len(answers)])
    labels = [_written(answer[label_field]) for answer in answers]
    _labels_follow(where, labels, expected[: len(answers)])
    if SCHEMA.id is not None:
        echoed = [answer[SCHEMA.id.name] for answer in answers]
        assert echoed == [record[SCHEMA.id.name] for record in records[: len(answers)]], echoed


def _scored_file(path: Path, inputs: list[str]) -> tuple[npt.NDArray[np.float64], list[str]]:
    """The probabilities and labels ``predict`` wrote: the two columns it adds after the input's."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header[: len(inputs)] == inputs, header
    assert len(header) == len(inputs) + 2, header
    probability = np.array([float(row[-2]) for row in body])
    assert header[-2:] == list(_answer_fields()), header
    return probability, [row[-1] for row in body]


def _champion(stage: Stages, config_path: Path) -> Path:
    """Train a candidate on the extract, draft the gate by calibration, gate, promote, export."""
    with stage("train"):
        candidate = create_candidate(EXTRACT, config_path=config_path)
    with stage("calibrate"):
        config = load_model_config(config_path)
        seeds = [config.seed + offset for offset in range(CALIBRATION_SEEDS)]
        table, info = load_dataset(EXTRACT)
        found = calibration.spreads(calibration.run_seeds(table, config, seeds))
        reported = {spread.metric for spread in found}
        slices = read_card(candidate / CARD_FILE).metrics.slices  # the first seed's split
        left_out = [
            name
            for name, stats in slices.items()
            if stats.rows and f"slices.{name}.accuracy" not in reported
        ]
        assert not left_out, f"calibration did not report the slices {left_out}"
        Path("ci").mkdir()
        drafted = calibration.draft_gates(found, seeds, info.source)
        Path("ci/gates.toml").write_text(drafted, encoding="utf-8")
    with stage("gate"):
        registry.settle()
        verdict = run_gate(candidate, load_gate_config(), read_baseline())
        assert verdict.passed, render_markdown(verdict)
    with stage("promote"):
        assert registry.promote().champion == candidate.name
    with stage("export"):
        registry.export(MODEL_DIR)
    return candidate


def _scored_everywhere(stage: Stages, seed: int) -> bool:
    """Score new rows with the exported model: pipeline, HTTP, smoke test, file; all agree.

    Returns:
        Whether the service scored through the compiled path.
    """
    with stage("write the rows to score"):
        scoring = Path("extract/score.csv")
        write_csv(synthetic_frame(SCORED_ROWS, seed, label=False), scoring)
        to_score = validate(read_table(scoring), str(scoring), require_label=False)
        records = _records(to_score)
    with stage("load"):
        served = load_compiled_model(MODEL_DIR)
        expected = score_frame(served, to_score)[0]
    with stage("serve"), _serving(served) as url:
        single, batch = _served_answers(url, records)
        smoke = run_smoke(url, MODEL_DIR)
    assert all(check.passed for check in smoke), render_smoke(smoke)
    _check_answers(single, records, expected)
    _check_answers(batch, records, expected)
    with stage("predict a file"):
        scored = Path("extract/scored.csv")
        assert predict_file(scoring, scored, MODEL_DIR) == SCORED_ROWS
    with scoring.open(encoding="utf-8", newline="") as handle:
        inputs = next(csv.reader(handle))
    probability, labels = _scored_file(scored, inputs)
    _same("the scored file", probability, expected)
    _labels_follow("the scored file", labels, expected)
    return served.compiled is not None


def run(rows: int, seed: int, sparse: tuple[str, ...]) -> dict[str, Any]:
    """Go the whole path on ``rows`` synthetic rows (``seed``, ``sparse``) of the domain's schema.

    Returns:
        What was seen: the CPU seconds of each step, the held-out rows of each slice, whether the
        served model scores through the compiled path, the draft's notes.
    """
    stage = Stages()
    # A project has its training configuration before anything runs (infer sizes slices by it).
    config_path = fast_config(Path("configs/model.toml"), ITERATIONS)
    with stage("write the extract"):
        frame = table_frame(SCHEMA, rows, seed, sparse)
        EXTRACT.parent.mkdir(parents=True)
        write_csv(frame, EXTRACT)
    with stage("infer"):
        notes = check_draft(EXTRACT, frame)
    with stage("validate"):
        valid = validate(read_table(EXTRACT), str(EXTRACT))
        assert len(valid) == rows
        assert list(valid.columns) == SCHEMA.column_names()
    candidate = _champion(stage, config_path)
    compiled = _scored_everywhere(stage, seed + 1)
    slices = read_card(candidate / CARD_FILE).metrics.slices
    return {
        "seconds": stage.seconds,
        "held-out slice rows": {name: stats.rows for name, stats in slices.items()},
        "compiled": compiled,
        "draft notes": notes,
    }
