"""Choosing the decision threshold from data, for the objective ``configs/model.toml`` declares.

A threshold carried over from another table is silently wrong: on a table with fewer positives
it flags too few rows, and every metric the gate puts a floor on (precision, recall, F1)
is measured at it. So the ``[decision]`` table declares what the threshold is *for* (the best F1,
the most recall at a minimum precision, or the least cost of a false negative against a false
positive), and ``just calibrate`` proposes the threshold that serves it best on average over the
seeds' held-out scores (a threshold to the hundredth, so a minimum precision holds on average, not
only on half the seeds), printed with the spread of each seed's own best threshold.
``calibrated_on`` in the same table records the data a threshold was chosen on (its version,
as a model card records it), so calibration can say when the configured threshold was chosen on
other data, the example's in a project adopted from the template, without guessing from the number.
"""

import statistics
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from churn_model.config import DEFAULT_MODEL_CONFIG, DecisionConfig

Scores = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]
"""One seed's held-out labels (1 positive, 0 negative) and predicted probabilities."""

STEP = 0.01
"""The proposal is one of the thresholds STEP, 2 x STEP, ... up to 1 - STEP."""

GRID = np.round(np.arange(STEP, 1.0 - STEP / 2, STEP), 2)
"""The thresholds a proposal is chosen among."""


@dataclass(frozen=True)
class Quality:
    """What a threshold does on held-out rows (means over the seeds)."""

    precision: float
    recall: float
    f1: float
    flagged: float
    """Share of rows labelled positive."""
    cost: float | None
    """(cost_ratio x false negatives + false positives) per row, for the ``cost`` objective."""


@dataclass(frozen=True)
class Proposal:
    """The threshold proposed for the configured objective, with what it rests on."""

    decision: DecisionConfig
    """The configured ``[decision]`` table."""
    data_version: str
    """The version of the data the seeds were trained and scored on."""
    per_seed: tuple[float, ...]
    """Each seed's own best threshold on its held-out scores (seeds that have one): the spread."""
    seeds: int
    threshold: float | None
    """The threshold of :data:`GRID` that serves the objective best on average over the seeds;
    ``None`` when none meets it (a minimum precision out of reach)."""
    at_proposal: Quality | None
    at_configured: Quality

    @property
    def chosen_here(self) -> bool:
        """Whether the configured threshold was chosen on the data calibrated now."""
        return self.decision.calibrated_on == self.data_version

    @property
    def spread(self) -> float:
        """The standard deviation of the seeds' own best thresholds (0 with fewer than two)."""
        return statistics.stdev(self.per_seed) if len(self.per_seed) > 1 else 0.0

    @property
    def configured_fits(self) -> bool:
        """Whether the configured threshold is the proposal, within the seed-to-seed noise."""
        if self.threshold is None:
            return False
        noise = max(STEP, self.spread)
        return abs(self.decision.threshold - self.threshold) <= noise + 1e-9


def _curve(
    y_true: npt.NDArray[np.int64], y_score: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], int]:
    """Every distinct score as a threshold (highest first), with its true and false positives.

    A row is labelled positive when its score reaches the threshold, as everywhere else.
    """
    order = np.argsort(-y_score, kind="stable")
    scores, labels = y_score[order], y_true[order]
    true_positives = np.cumsum(labels, dtype=np.float64)
    false_positives = np.cumsum(1 - labels, dtype=np.float64)
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # last row of each score
    positives = int(labels.sum())
    return scores[last], true_positives[last], false_positives[last], positives


def best_threshold(
    y_true: npt.NDArray[np.int64], y_score: npt.NDArray[np.float64], decision: DecisionConfig
) -> float | None:
    """The threshold that best serves ``decision.objective`` on these rows (``None``: none does).

    Candidates are the distinct scores; ties go to the highest threshold. ``min_precision`` takes
    the lowest threshold whose precision reaches the minimum (the most recall there).
    """
    thresholds, tp, fp, positives = _curve(y_true, y_score)
    if positives == 0 or positives == len(y_true):
        return None
    fn = positives - tp
    if decision.objective == "f1":
        best = int(np.argmax(2 * tp / (2 * tp + fp + fn)))
    elif decision.objective == "min_precision":
        reaching = np.flatnonzero(tp / (tp + fp) >= (decision.min_precision or 0.0))
        if reaching.size == 0:
            return None
        best = int(reaching[-1])
    else:
        best = int(np.argmin((decision.cost_ratio or 1.0) * fn + fp))
    return float(thresholds[best])


def quality_at(scored: Sequence[Scores], threshold: float, cost_ratio: float | None) -> Quality:
    """Precision, recall, F1, flagged share (and cost) at ``threshold``, averaged over the seeds."""
    figures = []
    for y_true, y_score in scored:
        labelled = y_score >= threshold
        tp = float(np.sum(labelled & (y_true == 1)))
        fp = float(np.sum(labelled & (y_true == 0)))
        fn = float(np.sum(~labelled & (y_true == 1)))
        figures.append(
            (
                tp / (tp + fp) if tp + fp else 0.0,
                tp / (tp + fn) if tp + fn else 0.0,
                2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
                float(labelled.mean()),
                ((cost_ratio or 0.0) * fn + fp) / len(y_true),
            )
        )
    precision, recall, f1, flagged, cost = (
        statistics.fmean(column) for column in zip(*figures, strict=True)
    )
    return Quality(precision, recall, f1, flagged, cost if cost_ratio is not None else None)


def _best_on_average(scored: Sequence[Scores], decision: DecisionConfig) -> float | None:
    """The threshold of :data:`GRID` that best serves the objective, averaged over the seeds.

    Ties go to the highest threshold, as in :func:`best_threshold`.
    """
    qualities = [(float(t), quality_at(scored, float(t), decision.cost_ratio)) for t in GRID]
    if decision.objective == "min_precision":
        reaching = [t for t, q in qualities if q.precision >= (decision.min_precision or 0.0)]
        return min(reaching) if reaching else None
    if decision.objective == "f1":
        best = max(q.f1 for _, q in qualities)
        return max(t for t, q in qualities if q.f1 == best)
    least = min(q.cost or 0.0 for _, q in qualities)
    return max(t for t, q in qualities if (q.cost or 0.0) == least)


def propose(scored: Sequence[Scores], decision: DecisionConfig, data_version: str) -> Proposal:
    """Propose a threshold for ``decision``'s objective from each seed's held-out scores."""
    per_seed = tuple(
        found
        for y_true, y_score in scored
        if (found := best_threshold(y_true, y_score, decision)) is not None
    )
    threshold = _best_on_average(scored, decision)
    return Proposal(
        decision=decision,
        data_version=data_version,
        per_seed=per_seed,
        seeds=len(scored),
        threshold=threshold,
        at_proposal=None
        if threshold is None
        else quality_at(scored, threshold, decision.cost_ratio),
        at_configured=quality_at(scored, decision.threshold, decision.cost_ratio),
    )


# ---------------------------------------------------------------- what calibration says


def objective_text(decision: DecisionConfig) -> str:
    """The configured objective in words."""
    if decision.objective == "f1":
        return "the best F1"
    if decision.objective == "min_precision":
        return f"the most recall at a precision of at least {decision.min_precision:g}"
    return f"the least cost, a false negative costing {decision.cost_ratio:g} false positives"


def provenance(proposal: Proposal) -> str:
    """Say which data the configured threshold was chosen on, against the data calibrated now."""
    decision, here = proposal.decision, proposal.data_version
    configured = f"the configured threshold {decision.threshold:g}"
    if decision.calibrated_on is None:
        return (
            f"{DEFAULT_MODEL_CONFIG} does not say which data {configured} was chosen on"
            " ([decision] calibrated_on), so it may still be the example's"
        )
    if proposal.chosen_here:
        return f"{configured} was chosen on this data ({here})"
    return (
        f"{configured} was chosen on other data ({decision.calibrated_on}), not on this"
        f" ({here}): it is not this data's threshold (after adopting the template, it is the"
        " example's)"
    )


def advice(proposal: Proposal) -> str:
    """What to do with the proposal: keep the configured threshold, or set the proposed one."""
    if proposal.threshold is None:
        return (
            f"no threshold gives {objective_text(proposal.decision)} on average over the seeds'"
            f" held-out scores: relax the objective in {DEFAULT_MODEL_CONFIG} [decision], or"
            " improve the model"
        )
    if proposal.chosen_here and proposal.configured_fits:
        return (
            f"keep it: {proposal.decision.threshold:g} is the proposal (to within the seed-to-seed"
            " noise) and was chosen on this data"
        )
    return (
        f'set threshold = {proposal.threshold:.2f} and calibrated_on = "{proposal.data_version}"'
        f" in the [decision] table of {DEFAULT_MODEL_CONFIG}, then run `just calibrate` again with"
        " the same --draft path and --force (it replaces that draft): the quality figures above"
        " were measured at the configured threshold"
    )


def _quality_text(quality: Quality) -> str:
    text = (
        f"precision {quality.precision:.3f}, recall {quality.recall:.3f}, F1 {quality.f1:.3f},"
        f" {quality.flagged:.1%} of rows flagged"
    )
    return text if quality.cost is None else f"{text}, cost {quality.cost:.4f} per row"


LOOSE_SPREAD = 0.1
"""A standard deviation of the seeds' own best thresholds beyond which calibrate says they disagree
(the objective is flat, or noisy, over a wide range of thresholds)."""


def _spread_text(proposal: Proposal) -> str:
    values = proposal.per_seed
    if not values:
        return f"the best on average over the {proposal.seeds} seeds' held-out scores"
    missed = proposal.seeds - len(values)
    unreached = f", {missed} had none" if missed else ""
    return (
        f"the best on average over the {proposal.seeds} seeds' held-out scores (each seed's own"
        f" best: median {statistics.median(values):.2f}, std {proposal.spread:.3f},"
        f" {min(values):.2f}..{max(values):.2f}{unreached})"
    )


def report(proposal: Proposal) -> list[str]:
    """The proposal as lines for the terminal: the threshold, its spread, its reasons, advice."""
    decision = proposal.decision
    lines = [
        f"Decision threshold for {objective_text(decision)} ({DEFAULT_MODEL_CONFIG} [decision]"
        f' objective = "{decision.objective}"):'
    ]
    if proposal.threshold is not None and proposal.at_proposal is not None:
        lines += [
            f"  proposed {proposal.threshold:.2f}, {_spread_text(proposal)}",
            f"  at the proposed {proposal.threshold:.2f}: {_quality_text(proposal.at_proposal)}",
        ]
    if proposal.spread > LOOSE_SPREAD:
        low, high = min(proposal.per_seed), max(proposal.per_seed)
        lines.append(
            f"  the seeds disagree: each one's own best lies anywhere in {low:.2f}..{high:.2f},"
            " so this table does not pin the threshold down; compare what the proposed and the"
            " configured threshold flag before you choose"
        )
    lines += [
        f"  at the configured {decision.threshold:g}: {_quality_text(proposal.at_configured)}",
        f"  {provenance(proposal)}",
        f"  {advice(proposal)}",
    ]
    return lines


def draft_comment(proposal: Proposal) -> str:
    """The proposal as a commented block for the drafted ``gates.toml``, ready to copy."""
    lines = [
        "",
        "# ---------------------------------------------------------------- decision threshold",
        f"# Not read from this file: the threshold lives in {DEFAULT_MODEL_CONFIG} [decision].",
    ]
    for line in report(proposal):
        lines += textwrap.wrap(line.strip(), 96, initial_indent="# ", subsequent_indent="#   ")
    if proposal.threshold is not None:
        lines += [
            f"# The two lines of {DEFAULT_MODEL_CONFIG} [decision] for the proposal:",
            f"#   threshold = {proposal.threshold:.2f}",
            f'#   calibrated_on = "{proposal.data_version}"',
        ]
    return "\n".join(lines) + "\n"
