"""Judging again before a model is promoted, exported or restored: nothing moves on its files' word.

A candidate's card, metrics and verdict are files: whoever can write them can write them
consistently (another model's figures, recomputed hashes, rows recomputed from the figures, the
ids rewritten), and checking them against each other proves nothing about ``model.skops``. So
whatever the registry is about to make the champion or ship is judged again, exactly as the gate
judges (:func:`churn_model.release.gate.judge`): the card must name its own folder and
state the figures the model scores now, re-scored on the held-out split of the data its card
names (verified against the version it records) after a load by the loader the service uses; the
service's own load path answers the probe rows; and the rows of today's ``ci/gates.toml`` are
computed from what was measured. Which baseline the rows are computed against, and what must
hold:

- a candidate being promoted (:func:`require_judged_alike`): the current baseline, as the gate;
  every row must pass, and the verdict it brings must be the one computed now: the same figures
  (within float tolerance), serving check and rows. Latency is a timing, which no two runs
  reproduce: its rows are judged on the new timing, which is also what the baseline then records.
- a model already in the registry (:func:`require_passes_now`), the champion a pointer names or
  the target of a journalled change or rollback: the baseline it sets itself (its own recorded
  figures). Its recorded verdict must be a passing one, its figures those its model scores now,
  and every row must pass today: the absolute ones (floors, slice floors, the size ceiling,
  serving) and the latency budget against its recorded timing. The rows relative to the champion
  it replaced were judged, on figures computed then, when it was promoted.
"""

import math
from pathlib import Path

from churn_model.config import GateConfig, ModelConfig
from churn_model.errors import UserError
from churn_model.model.artifact import MODEL_FILE
from churn_model.release.gate import judge
from churn_model.release.gate_rows import Baseline, GateRow
from churn_model.release.remeasure import SHOWN, disagreements
from churn_model.release.verdict import VERDICT_FILE, Verdict

TIMED = "latency"
"""The kind of row whose value is a timing, which judging again measures anew."""


def row_text(row: GateRow) -> str:
    """A row in a few words: check, metric, value, limit (``floor overall.recall 0.4 (>= 0.5)``)."""
    value = "n/a" if row.value is None else f"{row.value:g}"
    limit = "no limit" if row.limit is None else f"{row.op} {row.limit:g}"
    return f"{row.check} {row.metric} {value} ({limit})"


def _listed(found: list[str]) -> str:
    more = f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return "; ".join(found[:SHOWN]) + more


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _row_agrees(recorded: GateRow, found: GateRow) -> bool:
    """Whether two rows say the same, a timing's value and status excepted."""
    same = (recorded.check, recorded.metric, recorded.op, recorded.note) == (
        found.check,
        found.metric,
        found.op,
        found.note,
    )
    same = (
        same and _close(recorded.limit, found.limit) and _close(recorded.baseline, found.baseline)
    )
    if recorded.check == TIMED:
        return same
    return (
        same
        and recorded.status == found.status
        and _close(recorded.value, found.value)
        and _close(recorded.resolution, found.resolution)
    )


def verdict_differences(recorded: Verdict, found: Verdict) -> list[str]:
    """Name everything ``recorded`` states otherwise than ``found``, the verdict computed now.

    The figures are compared within float tolerance, latency excepted (a timing); so are the
    rows, a latency row's value and status excepted. When and against which timing it was judged
    aside, a verdict the gate wrote for these files under this config and baseline agrees.
    """
    out = [
        f"{name}: recorded {getattr(recorded, name)!r}, found {getattr(found, name)!r}"
        for name in (
            "candidate_id",
            "model_sha256",
            "data",
            "split",
            "baseline_id",
            "serving",
            "missing_unseen",
        )
        if getattr(recorded, name) != getattr(found, name)
    ]
    out += [
        f"files.{name} differs"
        for name in found.files
        if recorded.files.get(name) != found.files[name]
    ]
    out += disagreements(recorded.metrics, found.metrics)
    if len(recorded.rows) != len(found.rows):
        out.append(f"{len(recorded.rows)} rows recorded, {len(found.rows)} computed now")
    else:
        out += [
            f"row '{row_text(old)}' is '{row_text(new)}' now"
            for old, new in zip(recorded.rows, found.rows, strict=True)
            if not _row_agrees(old, new)
        ]
    return out


def _failed(verdict: Verdict) -> list[str]:
    return [row_text(row) for row in verdict.rows if row.status == "fail"]


def require_judged_alike(
    folder: Path,
    recorded: Verdict,
    config: GateConfig,
    baseline: Baseline | None,
    model_config: ModelConfig,
) -> Verdict:
    """Judge the candidate in ``folder`` again; refuse it unless it passes as its verdict says.

    ``recorded`` is the verdict it brings, already checked by
    :func:`churn_model.release.verdict.require_promotable`.

    Returns:
        The verdict computed now: what promotion records and takes the baseline from.

    Raises:
        UserError: the card does not describe the model (another id, other figures), the model
            fails a row now, or ``recorded`` is not the verdict computed now; naming the file.
    """
    found = judge(folder, config, baseline, model_config)
    failed = _failed(found)
    if failed:
        raise UserError(
            f"{folder / MODEL_FILE}: judged again now, it fails {_listed(failed)}: "
            "it cannot be promoted"
        )
    differ = verdict_differences(recorded, found)
    if differ:
        raise UserError(
            f"{folder / VERDICT_FILE}: is not the verdict {folder.name}'s files get now (edited, "
            f"or copied from another candidate): {_listed(differ)}; run `just gate` again"
        )
    return found


def _contradicted(row: GateRow) -> bool:
    """Whether ``row`` says it passed although its value misses its limit (an edited status)."""
    if row.status not in {"pass", "warn"}:
        return False
    if row.limit is None or row.value is None:
        return True
    return not (row.value >= row.limit if row.op == ">=" else row.value <= row.limit)


def require_passes_now(
    folder: Path, recorded: Verdict, config: GateConfig, model_config: ModelConfig
) -> Verdict:
    """Refuse the registered model in ``folder`` unless its verdict passed and it passes now.

    ``recorded`` is its verdict (its files already checked against it). It is judged again
    against the baseline it sets itself, its own recorded figures: see the module's docstring.

    Returns:
        The verdict computed now.

    Raises:
        UserError: the verdict names another model, says the gate failed it, or was edited; the
            card does not describe the model; its recorded figures are not what it scores now;
            or it fails a row now. The message names the file.
    """
    if recorded.candidate_id != folder.name:
        raise UserError(f"{folder / VERDICT_FILE}: belongs to {recorded.candidate_id!r}")
    failed = _failed(recorded)
    if failed or not recorded.passed:
        raise UserError(
            f"{folder / VERDICT_FILE}: the gate failed {folder.name}"
            + (f" on {_listed(failed)}" if failed else "")
        )
    contradicted = [row_text(row) for row in recorded.rows if _contradicted(row)]
    if contradicted:
        raise UserError(f"{folder / VERDICT_FILE}: says {_listed(contradicted)} passed (edited)")
    own = Baseline(model_id=folder.name, promoted_at=recorded.checked_at, metrics=recorded.metrics)
    found = judge(folder, config, own, model_config)
    differ = disagreements(recorded.metrics, found.metrics)
    if differ:
        raise UserError(
            f"{folder / VERDICT_FILE}: its figures are not what {folder / MODEL_FILE} scores now: "
            f"{_listed(differ)}"
        )
    failed = _failed(found)
    if failed:
        raise UserError(f"{folder / MODEL_FILE}: judged again now, it fails {_listed(failed)}")
    return found
