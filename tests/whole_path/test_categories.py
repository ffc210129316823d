"""Ordered categories and large ones, through every stage that reads the schema.

The machinery is exercised on ``schemas.RANKED``: an ordered, nullable category with slices on it,
beside a 200-value category whose values are not ASCII. An ordered category is encoded by its
level's rank (scikit-learn's ``OrdinalEncoder``), and the serving fast path must replay that
encoder exactly, or step aside. The slow test runs the whole path (train, load as the service
does, answer over HTTP) in a process whose domain schema is ``RANKED``.
"""

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from churn_model.data.synthetic import synthetic_frame
from churn_model.data.validation import DataValidationError, validate
from churn_model.model.card import FeatureSpec
from churn_model.serving.contract import record_model
from churn_model.serving.fast_path import (
    compile_pipeline,
    frame_columns,
    matches_pipeline,
)
from churn_model.serving.request_limits import record_bytes
from churn_model.table import Schema

from fresh_domain import run_in_domain, schema_source
from schemas import RANKED, REGIONS

GRADE = RANKED.feature("grade")
LEVELS = list(GRADE.categories)


def _ordinal(**options: object) -> OrdinalEncoder:
    """The encoder the template's features build for an ordered column, with ``options`` changed."""
    settings: dict[str, object] = {
        "categories": [LEVELS],
        "handle_unknown": "use_encoded_value",
        "unknown_value": np.nan,
    }
    return OrdinalEncoder(**(settings | options))


def _pipeline(schema: Schema, ordinal: OrdinalEncoder | None = None) -> Pipeline:
    """A pipeline shaped as the template's: imputed numbers, booleans, one-hot, ranks, trees."""
    by_kind = {
        kind: [c.name for c in schema.features if c.kind in kinds]
        for kind, kinds in {"number": {"int", "float"}, "bool": {"bool"}}.items()
    }
    unordered = [c for c in schema.features if c.kind == "category" and not c.ordered]
    ordered = [c for c in schema.features if c.ordered]
    one_hot = OneHotEncoder(
        categories=[list(c.categories) for c in unordered],
        handle_unknown="ignore",
        sparse_output=False,
    )
    ranks = ordinal or _ordinal(categories=[list(c.categories) for c in ordered])
    preprocess = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median", add_indicator=True), by_kind["number"]),
            ("boolean", "passthrough", by_kind["bool"]),
            ("categorical", one_hot, [c.name for c in unordered]),
            ("ordered", ranks, [c.name for c in ordered]),
        ]
    )
    classifier = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


@pytest.fixture(scope="module")
def trained() -> Pipeline:
    """The template-shaped pipeline fitted on synthetic rows of RANKED."""
    frame = validate(synthetic_frame(2_000, seed=2, schema=RANKED), "ranked", schema=RANKED)
    target = RANKED.label.encode(frame[RANKED.label.name])
    return _pipeline(RANKED).fit(frame[RANKED.feature_names()], target)


def _rows(rows: int, seed: int) -> pd.DataFrame:
    return synthetic_frame(rows, seed=seed, schema=RANKED, label=False)[RANKED.feature_names()]


# ---------------------------------------------------------------- the fast path


def test_the_fast_path_ranks_ordered_levels_exactly_as_the_pipeline(trained: Pipeline) -> None:
    compiled = compile_pipeline(trained)
    assert compiled is not None
    frame = _rows(1_000, seed=5)
    assert frame["grade"].isna().any()  # missing levels are exercised
    assert set(frame["region"]) == set(REGIONS)  # and every one of the 200 regions
    expected = trained.steps[0][1].transform(frame)
    assert np.array_equal(compiled.transform(frame_columns(frame)), expected, equal_nan=True)
    assert matches_pipeline(compiled, trained, frame)


def test_the_fast_path_reads_request_columns_as_the_service_builds_them(
    trained: Pipeline,
) -> None:
    compiled = compile_pipeline(trained)
    assert compiled is not None
    frame = _rows(50, seed=6).astype({"grade": object, "region": object})
    frame["grade"] = frame["grade"].where(frame["grade"].notna(), None)  # a JSON null
    columns = {
        name: frame[name].to_numpy(dtype=object if kind == "category" else np.float64)
        for name, kind in ((c.name, c.kind) for c in RANKED.features)
    }
    expected = trained.predict_proba(frame)[:, 1]
    assert np.array_equal(compiled.positive_probability(columns), expected)


def _fit_alone(encoder: OrdinalEncoder, values: list[Any]) -> Pipeline:
    """``encoder`` alone before small trees, fitted on ``values`` of the grade column."""
    pipeline = Pipeline(
        [
            ("preprocess", ColumnTransformer([("ordered", encoder, ["grade"])])),
            ("classifier", HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=1)),
        ]
    )
    return pipeline.fit(pd.DataFrame({"grade": values * 2}), [0, 1] * len(values))


@pytest.mark.parametrize("unknown", [np.nan, -1])
def test_a_missing_or_unknown_level_gets_the_encoders_unknown_value(unknown: float) -> None:
    pipeline = _fit_alone(_ordinal(unknown_value=unknown), LEVELS)
    compiled = compile_pipeline(pipeline)
    assert compiled is not None
    frame = pd.DataFrame({"grade": np.array([*LEVELS, None, np.nan, "Extreme", "low"], object)})
    ranks = compiled.transform(frame_columns(frame))[:, 0]
    assert np.array_equal(ranks, pipeline.steps[0][1].transform(frame)[:, 0], equal_nan=True)
    assert np.array_equal(ranks, [0, 1, 2, 3, *[unknown] * 4], equal_nan=True)
    assert matches_pipeline(compiled, pipeline, frame)


@pytest.mark.parametrize(
    ("encoder", "values"),
    [
        pytest.param(OrdinalEncoder(categories=[LEVELS]), LEVELS, id="errors-on-unknown"),
        pytest.param(_ordinal(categories=[[*LEVELS, np.nan]]), LEVELS, id="missing-is-a-level"),
        pytest.param(_ordinal(dtype=np.float32), LEVELS, id="float32"),
        pytest.param(_ordinal(categories="auto", min_frequency=3), LEVELS, id="infrequent"),
        pytest.param(_ordinal(categories="auto", max_categories=2), LEVELS, id="capped"),
        pytest.param(_ordinal(categories=[[1, 2, 3, 4]]), [1, 2, 3, 4], id="numbers"),
    ],
)
def test_an_ordinal_encoder_it_does_not_understand_leaves_the_pipeline_to_serve(
    encoder: OrdinalEncoder, values: list[Any]
) -> None:
    assert compile_pipeline(_fit_alone(encoder, values)) is None


# ---------------------------------------------------------------- the schema's other readers


def test_validation_takes_every_value_and_names_the_others() -> None:
    frame = synthetic_frame(RANKED.min_rows + 50, seed=3, schema=RANKED)
    assert len(validate(frame, "ranked", schema=RANKED)) == len(frame)
    frame.loc[0, "grade"] = "very high"  # a level is spelt as declared
    frame.loc[1, "region"] = "région 200"
    with pytest.raises(DataValidationError) as refused:
        validate(frame, "ranked.csv", schema=RANKED)
    assert "grade: isin" in str(refused.value)
    assert "region: isin" in str(refused.value)


def test_the_http_contract_takes_every_category_and_lists_levels_in_order() -> None:
    record_type = record_model(RANKED)
    record = {"spend": 10.0, "grade": None, "region": REGIONS[0], "active": True}
    for region in REGIONS:
        accepted = record_type.model_validate({**record, "region": region})
        assert accepted.model_dump(by_alias=True)["region"] == region
    for bad in ({"region": "région 200"}, {"grade": "very high"}):
        with pytest.raises(ValidationError):
            record_type.model_validate(record | bad)
    described = record_type.model_json_schema()["properties"]
    assert described["grade"]["anyOf"][0]["enum"] == LEVELS
    assert len(described["region"]["enum"]) == len(REGIONS)


def test_the_body_limit_holds_a_record_of_the_longest_values() -> None:
    longest = {
        "spend": 999.9999999999999,
        "grade": max(LEVELS, key=len),
        "region": max(REGIONS, key=lambda r: len(json.dumps(r))),
        "active": False,
    }
    record_model(RANKED).model_validate(longest)
    assert len(json.dumps(longest, indent=4).encode()) <= record_bytes(RANKED)
    longer = replace(RANKED.feature("region"), categories=(*REGIONS[:-1], "région " + "é" * 300))
    features = tuple(longer if c.name == "region" else c for c in RANKED.features)
    assert record_bytes(replace(RANKED, features=features)) > record_bytes(RANKED) + 300 * 6


def test_ordered_levels_have_effects_on_the_label_in_their_order() -> None:
    alone = replace(RANKED, features=(GRADE,), slices=())
    for seed in range(3):
        frame = synthetic_frame(20_000, seed=seed, schema=alone)
        positive = frame[RANKED.label.name] == RANKED.label.positive
        rates = positive.groupby(frame["grade"]).mean()[LEVELS].to_numpy()
        steps = np.diff(rates)
        assert (steps > 0).all() or (steps < 0).all(), (seed, rates)


def test_slices_on_an_ordered_category_select_their_rows() -> None:
    frame = pd.DataFrame({"grade": [*LEVELS, None], "spend": 1.0, "region": REGIONS[0]})
    masks = {name: mask.tolist() for name, mask in RANKED.slice_masks(frame).items()}
    assert masks["grade=Low"] == [True, False, False, False, False]
    assert masks["grade=Very_High"] == masks["top_grade"] == [False, False, False, True, False]
    assert masks["ungraded"] == [False, False, False, False, True]


def test_the_card_records_whether_a_category_is_ordered() -> None:
    spec = FeatureSpec.model_validate(asdict(GRADE))
    assert spec.ordered is True
    assert spec.categories == GRADE.categories
    written_before = spec.model_dump(exclude={"ordered"})
    assert FeatureSpec.model_validate(written_before).ordered is False


# ---------------------------------------------------------------- the whole path


@pytest.mark.slow
def test_a_project_with_these_categories_trains_serves_and_scores_fast(tmp_path: Path) -> None:
    """In a process whose domain schema is RANKED: train, load as the service does, answer."""
    outcome = run_in_domain(schema_source(RANKED), tmp_path, "ranked_project:run", tmp_path)
    assert outcome.error is None, outcome.error
    seen = outcome.value
    assert isinstance(seen, dict)
    assert seen["compiled"] is True  # it reproduced the pipeline on the probe rows at load
    assert seen["matches"] is True  # and does on other rows, bit for bit
    assert seen["ranks"] == {"grade": [[0.0], [1.0], [2.0], [3.0]]}  # one column: the rank
    card = {feature["name"]: feature for feature in seen["card"]}
    assert card["grade"]["ordered"] is True
    assert card["region"]["ordered"] is False
    assert card["region"]["categories"] == list(REGIONS)
    status, answer = seen["answered"]
    assert status == 200, answer
    assert 0.0 <= answer["left_probability"] <= 1.0
    status, refusal = seen["refused"]
    assert status == 422
    assert refusal["detail"][0]["field"] == "grade"
    assert seen["served_features"] == seen["card"]
