"""Feature engineering and the model choice: the scikit-learn ``Pipeline`` trained and served.

This module is *domain*. The columns it selects come from the schema by kind, so a new schema needs
no edit here, unless you want other transformations or another estimator (then list its types in
:data:`TRUSTED_TYPES`). Every transformation lives inside the pipeline (imputation, missing-value
indicators, encoding, the estimator), so the exact object that was evaluated is the one that
serves: training and serving cannot skew.
"""

from pydantic import Field
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from churn_model.domain.schema import SCHEMA
from churn_model.records import Record

NUMERIC = [c.name for c in SCHEMA.features if c.kind in {"int", "float"}]
BOOLEAN = [c.name for c in SCHEMA.features if c.kind == "bool"]
CATEGORICAL = [c.name for c in SCHEMA.features if c.kind == "category" and not c.ordered]
ORDERED = [c.name for c in SCHEMA.features if c.kind == "category" and c.ordered]


class ModelParams(Record):
    """Hyper-parameters of the estimator, the ``[model]`` table of ``configs/model.toml``.

    Declared here, beside the estimator they configure: another estimator brings its own. Values
    are checked when the file is loaded (an unknown key or an out-of-range value is an error).
    """

    learning_rate: float = Field(gt=0.0, le=1.0)
    max_iter: int = Field(ge=1, le=10_000)
    max_leaf_nodes: int = Field(ge=2, le=1_024)
    min_samples_leaf: int = Field(ge=1)
    l2_regularization: float = Field(ge=0.0)


TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
"""Types skops does not trust by default but this pipeline contains: loading a model file refuses
any other (see :mod:`churn_model.model.artifact`). Another estimator may need more:
loading names them."""


def build_pipeline(params: ModelParams, seed: int) -> Pipeline:
    """Build the untrained pipeline: preprocessing and estimator in one object.

    Missing numbers are imputed with the median *and* flagged by an indicator column: a missing
    ``days_since_last_purchase`` means "never purchased", which is itself a strong churn signal
    that plain imputation would erase.

    Unordered categories are one-hot encoded. An ordered category (``ordered=True`` in the schema)
    becomes one column holding its level's rank in the declared order (0 for the lowest), so the
    trees can split "Medium or above" in one cut; a missing value stays NaN, which the
    gradient-boosted trees route on their own (another estimator may need it imputed). A value
    outside the declared levels would also become NaN, but none reaches the pipeline: validation
    and the HTTP contract refuse it first.
    """
    transformers: list[tuple[str, object, list[str]]] = [
        ("numeric", SimpleImputer(strategy="median", add_indicator=True), NUMERIC),
        ("boolean", "passthrough", BOOLEAN),
        (
            "categorical",
            OneHotEncoder(
                categories=[list(SCHEMA.feature(name).categories) for name in CATEGORICAL],
                handle_unknown="ignore",
                sparse_output=False,
            ),
            CATEGORICAL,
        ),
    ]
    if ORDERED:  # a step with no columns would never be fitted: leave it out
        levels = [list(SCHEMA.feature(name).categories) for name in ORDERED]
        encoder = OrdinalEncoder(
            categories=levels, handle_unknown="use_encoded_value", unknown_value=float("nan")
        )
        transformers.append(("ordered", encoder, ORDERED))
    preprocess = ColumnTransformer(transformers, verbose_feature_names_out=False)
    estimator = HistGradientBoostingClassifier(
        learning_rate=params.learning_rate,
        max_iter=params.max_iter,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        early_stopping=False,
        random_state=seed,
    )
    return Pipeline([("preprocess", preprocess), ("classifier", estimator)])
