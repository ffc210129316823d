"""Typed, validated configuration read from versioned TOML files.

Values live in the files (``configs/model.toml``), never in code; these models only say what shape
the files must have, so a typo or an out-of-range value fails loudly when the file is loaded.
"""

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from churn_model.domain.features import ModelParams
from churn_model.errors import UserError
from churn_model.records import Record, field_errors

DEFAULT_MODEL_CONFIG = Path("configs/model.toml")
DEFAULT_GATE_CONFIG = Path("ci/gates.toml")


Threshold = Annotated[float, Field(gt=0.0, lt=1.0)]
"""A decision threshold: strictly between 0 and 1 (at 0 or 1 every row would get the same label).
The configured one, the one a model card records and the one its metrics were measured at."""


class SplitConfig(Record):
    """How rows are split between training and evaluation."""

    test_size: float = Field(gt=0.0, lt=1.0)


Objective = Literal["f1", "min_precision", "cost"]
"""What the decision threshold is chosen for (``just calibrate`` proposes it from data): the best
F1; the most recall at a precision of at least ``min_precision``; or the least cost, a false
negative costing ``cost_ratio`` false positives."""


class DecisionConfig(Record):
    """How a probability becomes a label, and what the threshold is chosen for.

    ``threshold`` is the one applied; ``objective`` (with its one parameter) is what
    ``just calibrate`` proposes a threshold for; ``calibrated_on`` is the data version (as a model
    card records it) the threshold was chosen on, so calibration can say when the threshold was
    chosen on other data (the example's, in a project adopted from the template).
    """

    threshold: Threshold
    objective: Objective
    min_precision: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    cost_ratio: Annotated[float, Field(gt=0.0)] | None = None
    calibrated_on: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_parameter_per_objective(self) -> Self:
        """``min_precision`` goes with (and only with) its objective; ``cost_ratio`` too."""
        for objective, name in (("min_precision", "min_precision"), ("cost", "cost_ratio")):
            given = getattr(self, name) is not None
            if self.objective == objective and not given:
                raise ValueError(f"objective '{objective}' needs {name}")
            if self.objective != objective and given:
                raise ValueError(f"{name} is only read with objective '{objective}'")
        return self


class LatencyRun(Record):
    """One timed batch: ``rows`` per call, ``calls`` timed calls per round, ``rounds`` rounds."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    rows: int = Field(ge=1)
    calls: int = Field(ge=1)
    rounds: int = Field(ge=1)


DECLARED_RUNS = {
    "batch_1": LatencyRun(rows=1, calls=40, rounds=5),
    "batch_1000": LatencyRun(rows=1_000, calls=6, rounds=5),
}
"""The runs timed when ``configs/model.toml`` has no ``[timing]`` table: about a second in all."""

DECLARED_WARMUP_CALLS = 3
"""The untimed calls before each run when ``[timing]`` does not say."""


class TimingConfig(Record):
    """How the evaluation times prediction latency (the ``[timing]`` table, optional).

    Before each run, ``warmup_calls`` untimed calls (first calls pay for lazy initialisation);
    then each named run of ``runs`` (:class:`LatencyRun`). The run names are those the gate's
    latency budget (``ci/gates.toml [latency] floor_ms``) addresses. Without the table the
    defaults apply (:data:`DECLARED_RUNS`, :data:`DECLARED_WARMUP_CALLS`), so a config written
    before the table existed still loads.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    warmup_calls: int = Field(default=DECLARED_WARMUP_CALLS, ge=1)
    runs: dict[str, LatencyRun] = Field(default_factory=lambda: dict(DECLARED_RUNS), min_length=1)


class ModelConfig(Record):
    """Everything that, with the data, determines a trained model, and how it is timed.

    ``model`` holds the estimator's hyper-parameters, whose shape the domain declares with its
    pipeline (:class:`churn_model.domain.features.ModelParams`); ``timing`` is how its
    latency is measured, by training and by the gate (:class:`TimingConfig`).
    """

    seed: int = Field(ge=0)
    split: SplitConfig
    model: ModelParams
    decision: DecisionConfig
    timing: TimingConfig = TimingConfig()


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning a missing or malformed file into a :class:`UserError`."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML ({error})") from None


def describe_validation_error(path: Path, error: ValidationError) -> str:
    """Render a pydantic error as one line per bad field, each naming the file and the field."""
    return "\n".join(
        [f"{path}: invalid configuration", *(f"  {line}" for line in field_errors(error))]
    )


def _load[Config: BaseModel](kind: type[Config], path: Path) -> Config:
    """Read ``path`` and validate it as ``kind``; any problem is a UserError naming the field."""
    try:
        return kind.model_validate(read_toml(path))
    except ValidationError as error:
        raise UserError(describe_validation_error(path, error)) from None


def load_model_config(path: Path = DEFAULT_MODEL_CONFIG) -> ModelConfig:
    """Load and validate the training configuration."""
    return _load(ModelConfig, path)


# ---------------------------------------------------------------- the gate (ci/gates.toml)

QualityMetric = Literal["accuracy", "precision", "recall", "f1", "roc_auc"]
"""The quality metrics a gate can put a floor or a regression tolerance on."""

Score = Annotated[float, Field(ge=0.0, le=1.0)]


class LatencyBudget(Record):
    """Prediction-latency budget: CPU time per call of each timed batch size, against the baseline.

    The value is ``cpu_p50_ms`` (:mod:`churn_model.model.evaluation`), the limit
    ``max(factor x baseline, floor_ms[run])``. CPU time barely grows when the machine is busy (see
    :mod:`churn_model.model.evaluation`), but it does differ between machines: the
    factor allows for a slower runner than the one that timed the baseline and catches a model that
    became that much slower; the floor keeps a tiny baseline's timer noise from failing.
    """

    factor: float = Field(ge=1.0)
    floor_ms: dict[str, Annotated[float, Field(gt=0.0)]] = Field(min_length=1)


class SizeBudget(Record):
    """Model-size budget: a ceiling and a growth factor over the baseline, on the loaded size.

    The size is what loading the model inflates (``model_loaded_bytes``): a compressed file is no
    cheaper to serve, so the bytes on disk are recorded but not budgeted.
    """

    max_loaded_bytes: int = Field(gt=0)
    max_growth: float = Field(ge=1.0)


MIN_SLICE_ROWS = 50
"""The default fewest held-out rows a slice needs to be judged (``[slices] min_rows``): at 50 one
row moves its accuracy by 0.02, and its precision by more."""

MIN_SLICE_POSITIVES = 20
"""The default fewest held-out positives a slice needs to be judged (``[slices] min_positives``):
at 20 one positive moves its recall by 0.05, five steps of a drafted floor; under it the slice's
spread across seeds is mostly which rows fell into the held-out split."""


class SliceMinimum(Record):
    """How many held-out rows and positives a slice needs before its floors mean anything.

    Under either minimum a slice is still measured and reported with its counts, but the gate
    skips its floors (visibly, saying so), calibration drafts none for it, and ``infer-schema``
    does not draft it. Both default to :data:`MIN_SLICE_ROWS` and :data:`MIN_SLICE_POSITIVES`
    when ``ci/gates.toml`` has no ``[slices]`` table.
    """

    min_rows: int = Field(default=MIN_SLICE_ROWS, ge=1)
    min_positives: int = Field(default=MIN_SLICE_POSITIVES, ge=1)

    def describe(self) -> str:
        """The minimum in words: ``50 rows and 20 positives``."""
        return f"{self.min_rows} rows and {self.min_positives} positives"

    def shortfall(self, rows: float, positives: float) -> str | None:
        """Why a slice with these held-out counts cannot be judged, or ``None`` if it can."""
        if rows >= self.min_rows and positives >= self.min_positives:
            return None
        counts = f"{_count(rows, 'held-out row')}, {_count(positives, 'positive')}"
        return f"{counts}: under the minimum of {self.describe()}"


def _count(number: float, noun: str) -> str:
    """``1 positive``, ``3 positives``: a count (a whole number, or a mean) and its noun."""
    text = f"{number:,.0f}"
    return f"{text} {noun}" if text == "1" else f"{text} {noun}s"


class GateConfig(Record):
    """The thresholds a candidate must meet, read from ``ci/gates.toml``.

    ``slices`` (the ``[slices]`` table, optional) is the minimum a slice's held-out rows must
    reach for its floors to be judged.
    """

    floors: dict[QualityMetric, Score]
    slice_floors: dict[str, dict[QualityMetric, Score]]
    max_drop: dict[QualityMetric, Score]
    latency: LatencyBudget
    size: SizeBudget
    slices: SliceMinimum = SliceMinimum()


def load_gate_config(path: Path = DEFAULT_GATE_CONFIG) -> GateConfig:
    """Load and validate the gate's thresholds."""
    return _load(GateConfig, path)


class _SlicesOnly(BaseModel):
    model_config = ConfigDict(frozen=True)  # the rest of the file is the gate's to validate

    slices: SliceMinimum = SliceMinimum()


def load_slice_minimum(path: Path = DEFAULT_GATE_CONFIG) -> SliceMinimum:
    """Read only the ``[slices]`` minimum of the gate config; the defaults if the file is absent.

    Drafting a schema needs the minimum before the rest of a new project's gate config is right
    (its floors may still name the example's slices), so nothing else in the file is checked.
    """
    if not path.exists():
        return SliceMinimum()
    return _load(_SlicesOnly, path).slices


class _SplitOnly(BaseModel):
    model_config = ConfigDict(frozen=True)  # the rest of the file is the trainer's to validate

    split: SplitConfig


def load_split_config(path: Path = DEFAULT_MODEL_CONFIG) -> SplitConfig:
    """Read only the ``[split]`` table of the training config (what ``infer-schema`` sizes by).

    The rest of the file (the estimator's parameters) is the domain's, which a schema being
    drafted may not match yet.
    """
    return _load(_SplitOnly, path).split
