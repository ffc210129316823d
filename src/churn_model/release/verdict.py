"""The gate's verdict: the record beside a candidate, reading it, and the checks it must pass.

A :class:`Verdict` holds every row the gate gave, pass or fail, the figures and the serving check
they were computed from, and the SHA-256 of every file of the candidate it judged or that promotion
publishes (:data:`BOUND_FILES`). Nothing reads it on trust: before a candidate is promoted
(:func:`require_promotable`), its files must be the ones the verdict judged
(:func:`require_unchanged_files`), the card must state the figures the gate measured
(:func:`require_card_figures`), and the rows, recomputed from those figures under today's gate
config and baseline, must be the verdict's and all pass (:func:`require_rows_still_pass`).
"""

from datetime import datetime
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from churn_model.config import DEFAULT_GATE_CONFIG, GateConfig
from churn_model.data.pinning import DataInfo
from churn_model.errors import UserError
from churn_model.files import sha256_of
from churn_model.model.artifact import CARD_FILE, METRICS_FILE, MODEL_FILE
from churn_model.model.card import SplitInfo, read_card
from churn_model.model.evaluation import Metrics
from churn_model.model.report import CONFUSION_FILE, REPORT_FILE, ROC_FILE
from churn_model.records import Record, read_record
from churn_model.release.gate_rows import Baseline, GateRow, gate_rows
from churn_model.release.remeasure import disagreements
from churn_model.release.serving_check import ServingCheck

VERDICT_FILE = "verdict.json"
BOUND_FILES = (MODEL_FILE, CARD_FILE, METRICS_FILE, REPORT_FILE, ROC_FILE, CONFUSION_FILE)
"""The files of a candidate a verdict binds: what the gate read, and what promotion publishes."""


class Verdict(Record):
    """The gate's decision on one candidate, bound to the exact files it judged.

    ``files`` holds the SHA-256 of each of :data:`BOUND_FILES` (``model_sha256`` repeats the
    model's, which a tracked run is tagged with); ``data`` and ``split`` say which held-out rows the
    figures were re-derived on; ``metrics`` are the figures the gate measured (quality and size
    equal to the card's, latency timed by the gate), and the ones promotion puts into the baseline;
    ``serving`` is what loading the candidate as the service does found (``None`` in a verdict
    written before the gate checked it, which promotion sends back to the gate); ``resolution``
    the noise of each quality figure on the held-out rows, a seeded bootstrap of the model's own
    scores (:mod:`churn_model.model.resolution`: re-scoring the model gives it again;
    empty in a verdict written before the gate measured it, whose rows then carry none).
    ``rows`` follow from ``metrics``, ``serving``, ``resolution``, the gate config and the
    baseline; ``passed`` from the rows (a warning passes).
    """

    candidate_id: str
    model_sha256: str
    files: dict[str, str]
    data: DataInfo
    split: SplitInfo
    baseline_id: str | None
    checked_at: datetime
    passed: bool
    metrics: Metrics
    rows: list[GateRow]
    serving: ServingCheck | None = None
    resolution: dict[str, float | None] = Field(default_factory=dict)
    missing_unseen: list[str] = Field(default_factory=list)
    """The features the schema lets be missing that no training row misses: the model never
    learned what their absence means (``missing_unseen`` of
    :mod:`churn_model.release.remeasure`)."""

    @model_validator(mode="after")
    def _binds_every_file(self) -> Self:
        missing = [name for name in BOUND_FILES if name not in self.files]
        if missing:
            raise ValueError(f"files lacks {', '.join(missing)}")
        if self.files[MODEL_FILE] != self.model_sha256:
            raise ValueError(f"model_sha256 differs from files.{MODEL_FILE}")
        return self


def hash_files(folder: Path) -> dict[str, str]:
    """Return the SHA-256 of each of :data:`BOUND_FILES` in ``folder`` (each must exist)."""
    hashes = {}
    for name in BOUND_FILES:
        path = folder / name
        if not path.is_file():
            raise UserError(f"{path}: not found (a candidate holds {', '.join(BOUND_FILES)})")
        hashes[name] = sha256_of(path)
    return hashes


def read_verdict(folder: Path) -> Verdict:
    """Read and validate the verdict in ``folder``; a missing or malformed one is a UserError."""
    path = folder / VERDICT_FILE
    try:
        return read_record(path, Verdict, "verdict")
    except FileNotFoundError:
        raise UserError(f"{folder.name}: no verdict ({path}): run `just gate` first") from None


def changed_files(folder: Path, verdict: Verdict) -> list[str]:
    """Name the files ``verdict`` binds that are missing from ``folder`` or differ from it."""
    return [
        name
        for name, digest in verdict.files.items()
        if not (folder / name).is_file() or sha256_of(folder / name) != digest
    ]


def require_unchanged_files(folder: Path, verdict: Verdict) -> None:
    """Refuse ``folder`` unless its files are byte for byte the ones ``verdict`` judged."""
    changed = changed_files(folder, verdict)
    if changed:
        raise UserError(
            f"{folder}: {', '.join(changed)} changed (or went missing) after the gate judged "
            "it: run `just gate` again"
        )


def require_card_figures(folder: Path, verdict: Verdict) -> None:
    """Refuse ``verdict`` unless its figures are the ones the card in ``folder`` states.

    The gate measured quality and size equal to the card's (latency it timed itself): a verdict
    stating other figures was edited after the gate wrote it.
    """
    card = read_card(folder / CARD_FILE)
    differ = disagreements(card.metrics, verdict.metrics)
    if differ:
        raise UserError(
            f"{folder / VERDICT_FILE}: its figures are not the ones the gate measured and the "
            f"card states (edited): {'; '.join(differ[:3])}; run `just gate` again"
        )


def _row_text(row: GateRow) -> str:
    limit = "no limit" if row.limit is None else f"{row.op} {row.limit:g}"
    return f"{row.check} {row.metric} {row.status} ({limit})"


def require_rows_still_pass(
    verdict: Verdict,
    config: GateConfig,
    baseline: Baseline | None,
    config_path: Path = DEFAULT_GATE_CONFIG,
) -> None:
    """Recompute the verdict's rows from its figures; refuse unless they are its rows and pass.

    So neither an edited ``passed`` nor an edited row (a status, a limit, a value) is believed,
    and a verdict reached under another gate config or baseline, or before the gate checked that
    the model is servable, is sent back to the gate.
    """
    name = verdict.candidate_id
    if verdict.serving is None:
        raise UserError(
            f"{name}: its verdict does not say whether the service can load it (gated by an "
            "older version of the gate): run `just gate` again"
        )
    current = baseline.model_id if baseline else None
    if verdict.baseline_id != current:
        raise UserError(
            f"{name}: gated against baseline {verdict.baseline_id!r}, but the baseline is "
            f"now {current!r}: run `just gate` again"
        )
    expected = gate_rows(verdict.metrics, verdict.serving, config, baseline, verdict.resolution)
    if len(expected) != len(verdict.rows):
        raise UserError(
            f"{name}: the verdict has {len(verdict.rows)} rows, {config_path} and the baseline "
            f"give {len(expected)}: the gate config changed since (or the verdict was edited); "
            "run `just gate` again"
        )
    for found, wanted in zip(verdict.rows, expected, strict=True):
        if found != wanted:
            raise UserError(
                f"{name}: the verdict's row '{_row_text(found)}' is not what {config_path} and "
                f"the baseline give for its figures, '{_row_text(wanted)}': the gate config "
                "changed since (or the verdict was edited); run `just gate` again"
            )
    failed = [row.metric for row in expected if row.status == "fail"]
    if failed:
        edited = " (its verdict.json says it passed: edited)" if verdict.passed else ""
        raise UserError(
            f"{name}: the gate failed this candidate on {', '.join(failed)}{edited}; "
            "it cannot be promoted"
        )
    if not verdict.passed:
        raise UserError(
            f"{name}: verdict.json says it failed, but its rows pass (edited): "
            "run `just gate` again"
        )


def require_promotable(
    folder: Path,
    verdict: Verdict,
    config: GateConfig,
    baseline: Baseline | None,
    config_path: Path = DEFAULT_GATE_CONFIG,
) -> None:
    """Refuse to promote ``folder`` unless ``verdict`` judged exactly it and it passes today.

    The verdict must name the folder, every file it binds must be unchanged, the card must still
    be valid and state the figures the gate measured (quality and size), and its rows must be
    what the figures give under ``config`` and ``baseline``, all passing.
    """
    if verdict.candidate_id != folder.name:
        raise UserError(f"{folder}: the verdict belongs to candidate {verdict.candidate_id!r}")
    require_unchanged_files(folder, verdict)
    require_card_figures(folder, verdict)
    require_rows_still_pass(verdict, config, baseline, config_path)
