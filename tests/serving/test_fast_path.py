"""The compiled scoring path gives exactly the pipeline's probabilities, and refuses what it can't.

The service scores through :mod:`churn_model.serving.fast_path`; these tests pin that
it computes the same thing as ``Pipeline.predict_proba``, bit for bit, on the real trained pipeline
(missing values and every category included), and that any pipeline shape it does not understand
falls back to the pipeline itself.
"""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from churn_model.data.synthetic import synthetic_frame
from churn_model.data.validation import validate
from churn_model.domain.schema import SCHEMA
from churn_model.serving import fast_path, served_model
from churn_model.serving.compiled_model import (
    record_columns,
    records_frame,
    score_records,
)
from churn_model.serving.contract import Record
from churn_model.serving.fast_path import (
    compile_pipeline,
    frame_columns,
    matches_pipeline,
)
from churn_model.serving.served_model import (
    CompiledModel,
    score_frame,
)
from churn_model.table import Column, Schema

from schemas import OTHER
from served_model import records, sample


def test_the_trained_pipeline_compiles_and_matches_it_bit_for_bit(served: CompiledModel) -> None:
    compiled = served.compiled
    assert compiled is not None
    frame = sample(rows=1_500, seed=11)[SCHEMA.feature_names()]
    nullable = [c.name for c in SCHEMA.features if c.nullable]
    assert all(frame[name].isna().any() for name in nullable)  # the missing-value path is exercised
    preprocess = served.pipeline.steps[0][1]
    # The matrix the classifier reads: as floats (a missing boolean passed through is NaN there).
    expected = np.asarray(preprocess.transform(frame), dtype=np.float64)
    assert np.array_equal(compiled.transform(frame_columns(frame)), expected, equal_nan=True)
    assert np.array_equal(
        compiled.positive_probability(frame_columns(frame)),
        served.pipeline.predict_proba(frame)[:, 1],
    )


@pytest.mark.parametrize("rows", [1, 8, 300])
def test_the_service_path_scores_records_as_the_pipeline_does(
    served: CompiledModel, rows: int
) -> None:
    validated = [Record.model_validate(r) for r in records(sample(rows=rows, seed=rows).head(rows))]
    probability, label = score_records(served, validated)
    expected_probability, expected_label = score_frame(served, records_frame(validated))
    assert np.array_equal(probability, expected_probability)
    assert np.array_equal(label, expected_label)
    columns = record_columns(validated)
    assert all(
        columns[c.name].dtype == (object if c.kind == "category" else np.float64)
        for c in SCHEMA.features
    )


def test_an_unknown_category_is_ignored_as_the_encoder_does(served: CompiledModel) -> None:
    assert served.compiled is not None
    categories = [c.name for c in SCHEMA.features if c.kind == "category"]
    frame = sample(rows=20, seed=3)[SCHEMA.feature_names()].astype(
        dict.fromkeys(categories, object)
    )
    frame.loc[0, categories] = "not-a-known-category"
    assert matches_pipeline(served.compiled, served.pipeline, frame)


def test_without_a_compiled_path_the_pipeline_scores(served: CompiledModel) -> None:
    plain = CompiledModel(pipeline=served.pipeline, card=served.card)
    validated = [Record.model_validate(r) for r in records(sample(rows=5, seed=5))]
    assert np.array_equal(score_records(plain, validated)[0], score_records(served, validated)[0])


def test_a_compiled_path_that_disagrees_is_not_used(
    served: CompiledModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(served_model, "matches_pipeline", lambda *_: False)
    assert served_model.verified_compiled(served.pipeline) is None


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": np.where(rng.random(60) < 0.2, np.nan, rng.normal(size=60)),
            "empty": np.full(60, np.nan),
            "c": rng.choice(["a", "b"], size=60).astype(object),
            "y": rng.normal(size=60),
        }
    )


def _fit(preprocess: ColumnTransformer, model: object = None) -> Pipeline:
    pipeline = Pipeline([("preprocess", preprocess), ("model", model or LogisticRegression())])
    return pipeline.fit(_frame(), np.arange(60) % 2)


def _columns(
    *steps: tuple[str, object, list[str] | list[int]], **options: object
) -> ColumnTransformer:
    return ColumnTransformer(list(steps), **options)


def _fit_dropping_empty() -> Pipeline:
    with pytest.warns(UserWarning, match="Skipping features without any observed values"):
        return _fit(_columns(IMPUTE, ("e", SimpleImputer(), ["empty"])))


IMPUTE = ("num", SimpleImputer(add_indicator=True), ["x"])
ENCODE = ("cat", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["c"])


def test_another_understood_pipeline_matches_too() -> None:
    pipeline = _fit(_columns(IMPUTE, ("keep", "passthrough", ["y"]), ENCODE))
    compiled = compile_pipeline(pipeline)
    assert compiled is not None
    assert matches_pipeline(compiled, pipeline, _frame())


@pytest.mark.parametrize(
    "pipeline",
    [
        pytest.param(lambda: _fit(_columns(("s", StandardScaler(), ["y"]))), id="unknown-step"),
        pytest.param(
            lambda: _fit(_columns(("n", SimpleImputer(missing_values=-1.0), ["y"]))),
            id="imputes-a-number",
        ),
        pytest.param(
            lambda: _fit(_columns(("n", SimpleImputer(keep_empty_features=True), ["empty", "x"]))),
            id="keeps-empty",
        ),
        pytest.param(_fit_dropping_empty, id="drops-empty"),
        pytest.param(
            lambda: _fit(
                _columns(
                    (
                        "c",
                        OneHotEncoder(drop="first", sparse_output=False, handle_unknown="ignore"),
                        ["c"],
                    )
                )
            ),
            id="drops-a-category",
        ),
        pytest.param(
            lambda: _fit(_columns(("c", OneHotEncoder(), ["c"]), sparse_threshold=1.0)),
            id="sparse",
        ),
        pytest.param(
            lambda: _fit(_columns(IMPUTE, ENCODE).set_output(transform="pandas")),
            id="frame-output",
        ),
        pytest.param(lambda: _fit(_columns(("n", SimpleImputer(), [0]))), id="by-position"),
        pytest.param(lambda: _fit(_columns(IMPUTE), LinearRegression()), id="not-a-classifier"),
        pytest.param(
            lambda: Pipeline([("m", LogisticRegression())]).fit(np.eye(4), [0, 1, 0, 1]),
            id="one-step",
        ),
    ],
)
def test_a_pipeline_it_does_not_understand_is_not_compiled(pipeline: object) -> None:
    assert callable(pipeline)
    assert compile_pipeline(pipeline()) is None


def test_a_dropped_remainder_and_dropped_step_are_skipped() -> None:
    pipeline = _fit(_columns(IMPUTE, ("gone", "drop", ["c"]), remainder="drop"))
    compiled = compile_pipeline(pipeline)
    assert compiled is not None
    assert matches_pipeline(compiled, pipeline, _frame())


def test_a_pipeline_that_does_not_compile_is_served_as_is() -> None:
    assert served_model.verified_compiled(_fit(_columns(("s", StandardScaler(), ["y"])))) is None


def _without(schema: Schema, kinds: set[str]) -> Schema:
    """``schema`` without its feature columns of ``kinds`` (and the slices that look at them)."""
    kept = tuple(column for column in schema.features if column.kind not in kinds)
    names = {column.name for column in kept}
    slices = tuple(piece for piece in schema.slices if piece.column in names)
    return replace(schema, features=kept, slices=slices)


ONLY_CATEGORIES = replace(
    _without(OTHER, {"int", "float", "bool"}),
    features=(
        OTHER.feature("region"),
        Column("tier", "category", "A second category.", categories=("a", "b"), nullable=True),
    ),
)
SCHEMAS = {
    "all-kinds": OTHER,
    "no-boolean": _without(OTHER, {"bool"}),
    "no-numeric": _without(OTHER, {"int", "float"}),
    "no-category": _without(OTHER, {"category"}),
    "only-categories": ONLY_CATEGORIES,
}


def _template_pipeline(schema: Schema) -> Pipeline:
    """The template's pipeline shape over ``schema``, kinds selected as ``domain/features.py`` does.

    Every step is there even when the schema has no column of its kind: that empty selection is
    what a table without booleans (or numbers, or categories) gives.
    """
    kinds = {
        kind: [c.name for c in schema.features if c.kind in names]
        for kind, names in {"numeric": {"int", "float"}, "boolean": {"bool"}}.items()
    }
    categorical = [c.name for c in schema.features if c.kind == "category"]
    encoder = OneHotEncoder(
        categories=[list(schema.feature(name).categories) for name in categorical],
        handle_unknown="ignore",
        sparse_output=False,
    )
    preprocess = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median", add_indicator=True), kinds["numeric"]),
            ("boolean", "passthrough", kinds["boolean"]),
            ("categorical", encoder, categorical),
        ],
        verbose_feature_names_out=False,
    )
    model = HistGradientBoostingClassifier(max_iter=10, early_stopping=False, random_state=0)
    return Pipeline([("preprocess", preprocess), ("classifier", model)])


def _typed(schema: Schema, rows: int, seed: int) -> pd.DataFrame:
    """Synthetic rows of ``schema``, validated and typed as training and batch scoring see them."""
    return validate(synthetic_frame(rows, seed, schema=schema), "synthetic", schema=schema)


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_a_schema_missing_a_kind_of_column_compiles_and_matches(schema: Schema) -> None:
    train = _typed(schema, 400, seed=1)
    pipeline = _template_pipeline(schema).fit(
        train[schema.feature_names()], schema.label.encode(train[schema.label.name])
    )
    probe = _typed(schema, 256, seed=0)[schema.feature_names()]
    compiled = served_model.verified_compiled(pipeline, probe)
    assert compiled is not None  # each understood step with columns compiles; empty ones add none
    assert np.array_equal(
        compiled.positive_probability(frame_columns(probe)), pipeline.predict_proba(probe)[:, 1]
    )


def test_a_step_that_raises_while_compiling_means_no_fast_path(
    served: CompiledModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(*_: object) -> None:
        raise AttributeError("a fitted attribute the compiler expected is not there")

    monkeypatch.setattr(fast_path, "_block", unreadable)
    assert compile_pipeline(served.pipeline) is None
    assert served_model.verified_compiled(served.pipeline) is None


def test_a_compiled_path_that_raises_on_the_probe_rows_is_not_used(
    served: CompiledModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> None:
        raise ValueError("need at least one array to concatenate")

    monkeypatch.setattr(fast_path.CompiledPipeline, "transform", crash)
    assert served_model.verified_compiled(served.pipeline) is None


@pytest.mark.parametrize(
    "step",
    [
        pytest.param("passthrough", id="passthrough"),
        pytest.param(SimpleImputer(add_indicator=True), id="imputer"),
        pytest.param(OneHotEncoder(sparse_output=False, handle_unknown="ignore"), id="encoder"),
    ],
)
def test_a_step_that_selects_no_column_contributes_nothing(step: object) -> None:
    pipeline = _fit(_columns(("none", step, []), IMPUTE, ENCODE))
    compiled = compile_pipeline(pipeline)
    assert compiled is not None
    assert matches_pipeline(compiled, pipeline, _frame())
