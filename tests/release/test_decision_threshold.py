"""The decision threshold is proposed from data, for the objective configs/model.toml declares."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from churn_model.config import DecisionConfig, load_model_config
from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.release import calibration, decision_threshold

from model_support import ROOT, fast_config

F1 = DecisionConfig(threshold=0.35, objective="f1", calibrated_on="md5:other-data")


@pytest.fixture(scope="module")
def rare(tmp_path_factory: pytest.TempPathFactory) -> list[decision_threshold.Scores]:
    """Three seeds' held-out scores on a table of the project's schema with ~4 % positives."""
    config = load_model_config(fast_config(tmp_path_factory.mktemp("rare") / "model.toml"))
    schema = replace(SCHEMA, positive_rate=(0.02, 0.06))
    runs = calibration.run_scored(synthetic_frame(6_000, seed=5, schema=schema), config, [1, 2, 3])
    return [(run.y_true, run.y_score) for run in runs]


def test_a_table_whose_best_f1_is_far_from_the_configured_threshold_gets_it_proposed(
    rare: list[decision_threshold.Scores],
) -> None:
    grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
    f1 = [decision_threshold.quality_at(rare, float(t), None).f1 for t in grid]
    best = float(grid[int(np.argmax(f1))])
    # The configured threshold, 0.3 from this table's best (whatever the schema makes it).
    far = F1.model_copy(update={"threshold": round(best + 0.3 if best < 0.5 else best - 0.3, 2)})

    proposal = decision_threshold.propose(rare, far, "sha256:this-table")
    assert proposal.threshold is not None
    assert proposal.at_proposal is not None
    assert abs(proposal.threshold - best) <= 0.03
    assert proposal.at_proposal.f1 > proposal.at_configured.f1
    said = "\n".join(decision_threshold.report(proposal))
    assert "Decision threshold for the best F1" in said
    assert f"proposed {proposal.threshold:.2f}, the best on average over the 3 seeds'" in said
    assert "each seed's own best: median" in said
    assert "chosen on other data (md5:other-data), not on this (sha256:this-table)" in said
    assert (
        f'set threshold = {proposal.threshold:.2f} and calibrated_on = "sha256:this-table"' in said
    )
    drafted = decision_threshold.draft_comment(proposal)
    assert all(line.startswith("#") for line in drafted.strip().splitlines())
    assert f"#   threshold = {proposal.threshold:.2f}\n" in drafted


def _brute_force(
    y_true: npt.NDArray[np.int64], y_score: npt.NDArray[np.float64], config: DecisionConfig
) -> float | None:
    """The best threshold found by trying every distinct score, highest first."""
    tried: list[tuple[float, float, float]] = []  # (threshold, objective value, precision)
    for threshold in sorted(set(y_score.tolist()), reverse=True):
        flagged = y_score >= threshold
        tp = int(np.sum(flagged & (y_true == 1)))
        fp = int(np.sum(flagged & (y_true == 0)))
        fn = int(np.sum(~flagged & (y_true == 1)))
        cost = (config.cost_ratio or 0.0) * fn + fp
        value = 2 * tp / (2 * tp + fp + fn) if config.objective == "f1" else -cost
        tried.append((threshold, value, tp / (tp + fp)))
    if config.objective == "min_precision":
        reaching = [t for t, _, precision in tried if precision >= (config.min_precision or 0)]
        return min(reaching) if reaching else None
    top = max(value for _, value, _ in tried)
    return next(t for t, value, _ in tried if value == top)  # ties: the highest threshold


@pytest.mark.parametrize(
    "config",
    [
        F1,
        DecisionConfig(threshold=0.5, objective="cost", cost_ratio=3.0),
        DecisionConfig(threshold=0.5, objective="min_precision", min_precision=0.7),
    ],
    ids=["f1", "cost", "min_precision"],
)
def test_the_best_threshold_is_the_one_a_brute_force_search_finds(config: DecisionConfig) -> None:
    rng = np.random.default_rng(3)
    y_true = (rng.random(400) < 0.3).astype(np.int64)
    y_score = np.clip(rng.normal(0.3 + 0.3 * y_true, 0.2), 0.001, 0.999).round(2)  # with ties
    assert decision_threshold.best_threshold(y_true, y_score, config) == _brute_force(
        y_true, y_score, config
    )


def test_a_minimum_precision_holds_on_average_at_the_proposal(
    rare: list[decision_threshold.Scores],
) -> None:
    # A minimum these scores reach, above what flagging every row gives: halfway between the
    # positive share and the best average precision of any threshold (a schema of one weak
    # feature reaches less than one of many).
    precisions = [
        decision_threshold.quality_at(rare, float(threshold), None).precision
        for threshold in decision_threshold.GRID
    ]
    everyone = decision_threshold.quality_at(rare, 0.0, None).precision
    minimum = round((everyone + max(precisions)) / 2, 3)
    assert minimum > everyone
    config = DecisionConfig(threshold=0.5, objective="min_precision", min_precision=minimum)
    proposal = decision_threshold.propose(rare, config, "sha256:this-table")
    assert proposal.threshold is not None
    assert proposal.at_proposal is not None
    assert proposal.at_proposal.precision >= minimum
    lower = decision_threshold.quality_at(rare, proposal.threshold - decision_threshold.STEP, None)
    assert lower.precision < minimum  # the most recall: one step lower no longer reaches it


def test_a_precision_no_threshold_reaches_proposes_nothing_and_says_so() -> None:
    y_true = np.array([0, 1] * 50, dtype=np.int64)
    y_score = np.where(y_true == 1, 0.5, 0.9)  # the negatives score higher: precision <= 0.5
    config = DecisionConfig(threshold=0.5, objective="min_precision", min_precision=0.8)
    proposal = decision_threshold.propose([(y_true, y_score)], config, "md5:here")
    assert proposal.threshold is None
    said = "\n".join(decision_threshold.report(proposal))
    assert "no threshold gives the most recall at a precision of at least 0.8 on average" in said


def test_the_configured_threshold_is_kept_when_chosen_on_this_data_within_the_spread(
    rare: list[decision_threshold.Scores],
) -> None:
    found = decision_threshold.propose(rare, F1, "sha256:this-table")
    assert found.threshold is not None
    here = F1.model_copy(update={"threshold": found.threshold, "calibrated_on": "sha256:here"})
    kept = decision_threshold.propose(rare, here, "sha256:here")
    assert decision_threshold.advice(kept).startswith("keep it")
    unknown = decision_threshold.propose(
        rare, here.model_copy(update={"calibrated_on": None}), "md5:x"
    )
    assert "does not say which data" in decision_threshold.provenance(unknown)
    assert decision_threshold.advice(unknown).startswith("set threshold")


def test_seeds_that_disagree_on_their_best_threshold_are_said_to(
    rare: list[decision_threshold.Scores],
) -> None:
    found = decision_threshold.propose(rare, F1, "sha256:this-table")
    agreeing = replace(found, per_seed=(0.30, 0.32, 0.31))
    assert not any("disagree" in line for line in decision_threshold.report(agreeing))
    wide = replace(found, per_seed=(0.01, 0.14, 0.60))
    said = [line for line in decision_threshold.report(wide) if "disagree" in line]
    assert said == [
        "  the seeds disagree: each one's own best lies anywhere in 0.01..0.60, so this table"
        " does not pin the threshold down; compare what the proposed and the configured"
        " threshold flag before you choose"
    ]


def _decision_block(tmp_path: Path, block: str) -> Path:
    """configs/model.toml with its [decision] table replaced by ``block``."""
    text = (ROOT / "configs/model.toml").read_text(encoding="utf-8")
    path = tmp_path / "model.toml"
    path.write_text(text.split("[decision]")[0] + "[decision]\n" + block, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("block", "refusal"),
    [
        ('threshold = 0.3\nobjective = "cost"\n', "objective 'cost' needs cost_ratio"),
        (
            'threshold = 0.3\nobjective = "f1"\nmin_precision = 0.9\n',
            "min_precision is only read with objective 'min_precision'",
        ),
        ('threshold = 0.3\nobjective = "recall"\n', "decision.objective: Input should be"),
        ("threshold = 0.3\n", "decision.objective: Field required"),
    ],
)
def test_a_decision_table_without_its_objective_is_refused_naming_it(
    tmp_path: Path, block: str, refusal: str
) -> None:
    with pytest.raises(UserError, match=refusal):
        load_model_config(_decision_block(tmp_path, block))


def test_the_projects_decision_table_loads() -> None:
    config = load_model_config(ROOT / "configs/model.toml").decision
    assert config.objective in {"f1", "min_precision", "cost"}
