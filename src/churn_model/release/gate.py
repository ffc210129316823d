"""The gate: a candidate passes only if it meets every threshold in ``ci/gates.toml`` and serves.

:func:`run_gate` judges a candidate folder and writes its verdict beside it. The gate judges the
model, not the model's report of itself: the figures it checks are re-derived from
``model.skops`` and the pinned held-out split (:mod:`churn_model.release.remeasure`),
and a card that states other figures is refused. The thresholds applied to them, one row
each, are those of :mod:`churn_model.release.gate_rows`: absolute floors on the overall
metrics, floors per slice, the allowed drop against the baseline (the promoted model's metrics,
``ci/baseline.json``), a latency budget, a size budget, and that the model is servable. Each
quality row states its resolution, from a bootstrap of the re-derived held-out scores, and a row
whose limit sits inside that noise is flagged, not passed silently.

The serving row proves that every scorer can load the candidate and answers what was
gated (:mod:`churn_model.release.serving_check`): the candidate folder is loaded the
way it is served (card against schema, safe load, probe rows), the probe rows are
scored every way the project serves them (batch scoring of a file, and the HTTP
service's routes when the project has them), and every path must give the same
probabilities, bit for bit. A candidate a scorer would refuse, crash on or answer
differently fails that row, with the reason in one sentence.

The verdict (:mod:`churn_model.release.verdict`) binds every row to the figures, the
serving check and the SHA-256 of every file of the candidate it judged or that promotion
publishes; promotion trusts none of it blindly
(:func:`churn_model.release.verdict.require_promotable`). The report
(:mod:`churn_model.release.gate_report`) is written beside it as ``gate.md``.
"""

from datetime import UTC, datetime
from pathlib import Path

from churn_model.config import GateConfig, ModelConfig, load_model_config
from churn_model.errors import UserError
from churn_model.files import write_atomic
from churn_model.model.artifact import MODEL_FILE
from churn_model.records import write_record
from churn_model.release.gate_report import SUMMARY_FILE, render_markdown
from churn_model.release.gate_rows import Baseline, gate_rows
from churn_model.release.remeasure import remeasure
from churn_model.release.serving_check import check_serving
from churn_model.release.verdict import VERDICT_FILE, Verdict, hash_files


def judge(
    candidate: Path,
    config: GateConfig,
    baseline: Baseline | None,
    model_config: ModelConfig | None = None,
) -> Verdict:
    """Judge the candidate in folder ``candidate`` and return the verdict, writing nothing.

    The figures are re-derived from the model file and the held-out split its card names
    (``model_config`` defaults to ``configs/model.toml``, which the card's split and threshold must
    match, and whose ``[timing]`` the latency is timed with); a card that does not describe its
    model is a :class:`UserError`. Then the candidate is loaded and asked as the service would be
    (:func:`churn_model.release.serving_check.check_serving`): one that cannot be
    served gets a failing row. Promotion calls it too, to judge again what the gate judged.
    """
    files = hash_files(candidate)
    measured = remeasure(candidate, model_config or load_model_config())
    serving = check_serving(candidate)
    if hash_files(candidate) != files:
        raise UserError(f"{candidate}: its files changed while it was being gated; gate it again")
    rows = gate_rows(measured.metrics, serving, config, baseline, measured.resolution)
    return Verdict(
        candidate_id=measured.card.id,
        model_sha256=files[MODEL_FILE],
        files=files,
        data=measured.card.data,
        split=measured.card.split,
        baseline_id=baseline.model_id if baseline else None,
        checked_at=datetime.now(UTC),
        passed=all(row.status != "fail" for row in rows),
        metrics=measured.metrics,
        rows=rows,
        serving=serving,
        resolution=measured.resolution,
        missing_unseen=measured.missing_unseen,
    )


def run_gate(
    candidate: Path,
    config: GateConfig,
    baseline: Baseline | None,
    model_config: ModelConfig | None = None,
) -> Verdict:
    """Judge the candidate in folder ``candidate`` (:func:`judge`); write its verdict and report.

    ``verdict.json`` and ``gate.md`` go beside the candidate; a card that does not describe its
    model is a :class:`UserError`, and then no verdict is written.
    """
    verdict = judge(candidate, config, baseline, model_config)
    write_record(candidate / VERDICT_FILE, verdict)
    write_atomic(candidate / SUMMARY_FILE, render_markdown(verdict).encode())
    return verdict
