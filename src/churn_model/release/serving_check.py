"""The gate's serving check: the candidate loaded and scored every way it will be served.

Good figures do not make a model servable. Its card may not match the schema the scorers are built
from; a file may score otherwise than the frame the figures were measured on. :func:`check_serving`
finds out before promotion, in process and in well under a second:

1. it scores the probe rows as ``churn-model predict`` does: written to a CSV file and
   scored by :func:`churn_model.serving.batch_scoring.predict_file`, which loads the
   candidate folder as every scorer does
   (:func:`churn_model.serving.served_model.load_served_model`: the card against the
   schema, the safe load, the probe rows), then reads, validates and scores the file in
   chunks;
2. it scores them as the evaluation scored the held-out split: validated as a table, then
   :func:`churn_model.serving.served_model.score_frame`.

Every path must give the same probabilities, bit for bit, as batch scoring. Whatever raises,
answers with an error or disagrees becomes one sentence in :class:`ServingCheck`, which fails the
gate's serving row.
"""

import csv
import math
import tempfile
from pathlib import Path
from typing import Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import model_validator

from churn_model.data.tables import write_csv
from churn_model.data.validation import validate
from churn_model.errors import UserError
from churn_model.records import Record
from churn_model.serving.answer_names import probability_field
from churn_model.serving.batch_scoring import predict_file
from churn_model.serving.served_model import load_served_model, probe_rows, score_frame
from churn_model.threads import limited

FOREIGN_TEXT = 300
"""Most characters of an error's text a problem quotes when the text is not one of the package's
own one-sentence errors (an exception's message, an HTTP answer's message)."""

REFERENCE = "batch scoring"
"""The path every other is compared with: the probe rows written to a file and scored."""

EVALUATION = "the evaluation's scoring"
"""The probe rows scored as the held-out split was when the gate's figures were measured."""

Scores = dict[str, npt.NDArray[np.float64]]
"""Each path's probabilities of the probe rows, by the path's name."""


class ServingCheck(Record):
    """What loading a candidate and scoring the probe rows every way it is served found.

    ``paths`` names the ways the probe rows were scored, the reference last. ``gap`` is the
    largest difference between two paths' probabilities on any probe row: 0 when the candidate
    serves what it was gated on, ``None`` when it could not be scored every way. ``problem`` says
    why it cannot be served, in one sentence (empty when it can).
    """

    probe_rows: int
    gap: float | None
    paths: tuple[str, ...] = ()
    problem: str = ""

    @model_validator(mode="before")
    @classmethod
    def _older_verdicts(cls, data: object) -> object:
        """Read a verdict written before the paths were named (it said ``fast_path`` instead).

        The registry reads the verdicts of earlier champions; their check stays what it was.
        """
        if isinstance(data, dict) and "fast_path" in data:
            return {key: value for key, value in data.items() if key != "fast_path"}
        return data

    @model_validator(mode="after")
    def _problem_iff_not_served(self) -> Self:
        if (self.gap == 0.0) == bool(self.problem):
            raise ValueError("problem must be given exactly when gap is not 0")
        return self

    def summary(self) -> str:
        """What was compared, for the gate's row (or why it could not be, when it failed)."""
        if self.problem:
            return self.problem
        return f"{self.probe_rows} probe rows, same probabilities: {', '.join(self.paths)}"


def _scored_file(folder: Path, probe: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The probabilities batch scoring writes for the probe rows, read back exactly.

    Raises:
        UserError: the candidate or a probe row is refused (the scorer's own sentence).
    """
    with tempfile.TemporaryDirectory(prefix="serving-check-") as scratch:
        rows, scored = Path(scratch) / "probe.csv", Path(scratch) / "scored.csv"
        write_csv(probe, rows)
        predict_file(rows, scored, folder)
        with scored.open(newline="", encoding="utf-8") as handle:
            # The file holds each probability's shortest text that reads back as the same number.
            column = probability_field()
            values = [float(row[column]) for row in csv.DictReader(handle)]
    return np.array(values, dtype=np.float64)


def _batch_paths(folder: Path, probe: pd.DataFrame) -> Scores:
    """The probe rows scored as a file by batch scoring, and as the evaluation scored its rows.

    Raises:
        UserError: the scorers' own refusal of the candidate or a probe row.
        Exception: anything else their code raises on it.
    """
    scores = {REFERENCE: _scored_file(folder, probe)}
    table = validate(probe, "the probe rows", require_label=False)
    with limited(1):
        scores[EVALUATION] = score_frame(load_served_model(folder), table)[0]
    return scores


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line (a multi-line report joined), cut at ``limit`` characters if given."""
    joined = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return joined if limit is None or len(joined) <= limit else joined[: limit - 1] + "…"


def _failed(probe: pd.DataFrame, problem: str) -> ServingCheck:
    return ServingCheck(probe_rows=len(probe), gap=None, problem=problem)


# >>> serving
def _http_paths(folder: Path, probe: pd.DataFrame) -> Scores:
    """The probe rows scored every way the HTTP service scores them (its own module's check).

    Raises:
        UserError: the service's own refusal of the candidate or a probe row.
        Exception: anything else the service's code raises on it.
    """
    # Imported here: http_check builds on this module (its records and sentences).
    from churn_model.release import http_check  # noqa: PLC0415 -- see above

    return http_check.served_scores(folder, probe)


# <<< serving
def _every_path(folder: Path, probe: pd.DataFrame) -> Scores:
    """Score ``probe`` every way the candidate in ``folder`` is served, the reference last.

    Raises:
        UserError: a scorer's own refusal of the candidate or a probe row.
        Exception: anything else a scorer's code raises on it.
    """
    scores: Scores = {}
    # >>> serving
    scores |= _http_paths(folder, probe)
    # <<< serving
    batch = _batch_paths(folder, probe)
    return {**scores, EVALUATION: batch[EVALUATION], REFERENCE: batch[REFERENCE]}


def check_serving(folder: Path) -> ServingCheck:
    """Load the candidate in ``folder`` as it is served and score the probe rows every way.

    Never raises: a candidate a scorer would refuse, crash on or score otherwise than batch
    scoring is a :class:`ServingCheck` with its ``problem``, one sentence naming the folder.
    """
    probe = probe_rows()
    try:
        scores = _every_path(folder, probe)
    except UserError as error:  # a scorer's own refusal, which names the file and the rule
        return _failed(probe, one_line(str(error)))
    except Exception as error:  # any failure of a scorer's code means the same: not servable
        return _failed(
            probe,
            f"{folder}: scoring fails on the probe rows "
            f"({type(error).__name__}: {one_line(str(error), FOREIGN_TEXT)})",
        )
    return compare(folder, len(probe), scores)


def compare(folder: Path, rows: int, scores: Scores) -> ServingCheck:
    """Compare every path's probabilities with the reference's (the last of ``scores``)."""
    reference = scores[REFERENCE]
    gaps = {
        path: float(np.max(np.abs(values - reference[: len(values)])))
        for path, values in scores.items()
    }
    worst = max(gaps, key=lambda path: math.inf if math.isnan(gaps[path]) else gaps[path])
    gap = gaps[worst]
    if gap == 0.0:
        return ServingCheck(probe_rows=rows, paths=tuple(scores), gap=0.0)
    values = scores[worst]
    differing = int(np.count_nonzero(values != reference[: len(values)]))
    return ServingCheck(
        probe_rows=rows,
        paths=tuple(scores),
        gap=gap if math.isfinite(gap) else None,
        problem=(
            f"{folder}: the probabilities of {worst} differ from {REFERENCE}'s on {differing} of "
            f"{len(values)} probe rows (by up to {gap:.3g}): it would not be served as the gated "
            "model scores"
        ),
    )
