"""Training and evaluation: determinism, the metrics, the report and the candidate folder."""

import copy
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_model.config import LatencyRun, ModelConfig, TimingConfig, load_model_config
from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.model import candidate, evaluation
from churn_model.model.artifact import CARD_FILE, MODEL_FILE, load_model, save_model
from churn_model.model.card import read_card
from churn_model.model.report import CONFUSION_FILE, REPORT_FILE, ROC_FILE
from churn_model.model.training import TrainedModel, train

from model_support import FAST_TIMING, ROOT, fast_config, write_sample

CONFIG = load_model_config(ROOT / "configs/model.toml")


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fast_config(tmp_path_factory.mktemp("config") / "model.toml")


@pytest.fixture(scope="module")
def config(config_path: Path) -> ModelConfig:
    return load_model_config(config_path)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_frame(2_500, seed=3)


@pytest.fixture(scope="module")
def trained(frame: pd.DataFrame, config: ModelConfig) -> TrainedModel:
    return train(frame, config)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, config_path: Path) -> Path:
    """One candidate written end to end from a CSV file."""
    folder = tmp_path_factory.mktemp("built")
    return candidate.create_candidate(
        write_sample(folder / "sample.csv", 2_500),
        config_path=config_path,
        root=folder / "candidates",
    )


def _measure(model: TrainedModel, folder: Path) -> evaluation.Metrics:
    save_model(model.pipeline, folder / MODEL_FILE)
    found = evaluation.evaluate(
        model.pipeline,
        model.x_test,
        model.y_test,
        CONFIG.decision.threshold,
        folder / MODEL_FILE,
        timing=FAST_TIMING,
    )
    return found.metrics


def test_same_data_config_and_seed_give_identical_metrics(
    frame: pd.DataFrame, config: ModelConfig, trained: TrainedModel, tmp_path: Path
) -> None:
    again = train(frame, config)
    assert trained.x_test.index.equals(again.x_test.index)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = _measure(trained, tmp_path / "a"), _measure(again, tmp_path / "b")
    assert first.overall == second.overall
    assert first.slices == second.slices
    assert first.model_size_bytes == second.model_size_bytes
    assert first.model_loaded_bytes == second.model_loaded_bytes


def test_a_different_seed_gives_a_different_split_and_model(
    frame: pd.DataFrame, config: ModelConfig, trained: TrainedModel
) -> None:
    other = train(frame, config, seed=config.seed + 1)
    assert other.seed == config.seed + 1 == other.split.seed
    assert not trained.x_test.index.equals(other.x_test.index)


def test_the_split_is_stratified_and_recorded(
    frame: pd.DataFrame, config: ModelConfig, trained: TrainedModel
) -> None:
    assert trained.split.test_rows + trained.split.train_rows == len(frame)
    assert trained.split.test_rows == pytest.approx(len(frame) * CONFIG.split.test_size, abs=1)
    positives = SCHEMA.label.encode(frame[SCHEMA.label.name])
    assert set(trained.y_test) == {0, 1}
    assert trained.y_test.mean() == pytest.approx(positives.mean(), abs=0.01)
    assert "stratified" in trained.split.policy
    assert list(trained.x_test.columns) == SCHEMA.feature_names()


def test_every_declared_slice_is_measured_on_its_rows(built: Path) -> None:
    card = read_card(built / CARD_FILE)
    assert list(card.metrics.slices) == SCHEMA.slice_names()
    for stats in card.metrics.slices.values():
        assert 0 < stats.rows < card.metrics.overall.rows
        assert stats.positives <= stats.rows


def test_single_class_rows_have_no_auc_and_zero_over_zero_is_none() -> None:
    metrics = evaluation.classification_metrics(np.zeros(4, dtype=np.int64), np.full(4, 0.1), 0.5)
    assert metrics.roc_auc is None
    assert metrics.precision is metrics.recall is metrics.f1 is None
    assert metrics.accuracy == 1.0


def test_latency_pads_short_tables_to_the_batch_size() -> None:
    seen: list[int] = []

    def predict(batch: pd.DataFrame) -> object:
        seen.append(len(batch))
        return None

    rows = synthetic_frame(600, seed=1)
    run = LatencyRun(rows=1_000, calls=4, rounds=2)
    stats = evaluation.measure_latency(predict, rows, run, warmup_calls=3)
    assert set(seen) == {1_000}
    assert len(seen) == 3 + 2 * 4  # the warm-up calls, then two rounds of four
    assert 0 <= stats.cpu_p50_ms <= stats.cpu_p95_ms <= stats.cpu_p99_ms
    assert 0 <= stats.wall_p50_ms <= stats.wall_p99_ms


def test_evaluate_times_exactly_the_plan_it_is_given(trained: TrainedModel, tmp_path: Path) -> None:
    plan = TimingConfig(
        warmup_calls=2,
        runs={
            "one row": LatencyRun(rows=1, calls=2, rounds=3),
            "batch_7": LatencyRun(rows=7, calls=1, rounds=1),
        },
    )
    save_model(trained.pipeline, tmp_path / MODEL_FILE)
    pipeline = copy.deepcopy(trained.pipeline)  # its predict_proba is counted below
    sizes: list[int] = []
    predict_proba = pipeline.predict_proba

    def counted(batch: pd.DataFrame) -> np.ndarray:
        sizes.append(len(batch))
        return np.asarray(predict_proba(batch))

    pipeline.predict_proba = counted
    found = evaluation.evaluate(
        pipeline,
        trained.x_test,
        trained.y_test,
        CONFIG.decision.threshold,
        tmp_path / MODEL_FILE,
        timing=plan,
    ).metrics
    assert list(found.latency) == ["one row", "batch_7"]
    for name, run in plan.runs.items():
        stats = found.latency[name]
        assert (stats.batch_size, stats.calls, stats.rounds) == (run.rows, run.calls, run.rounds)
    # Scoring the held-out rows once, then each run: its warm-up calls and its timed calls.
    assert sizes == [len(trained.x_test)] + [1] * (2 + 2 * 3) + [7] * (2 + 1)


def test_the_candidate_holds_model_card_metrics_report_and_plots(
    built: Path, config: ModelConfig
) -> None:
    names = {p.name for p in built.iterdir()}
    assert {MODEL_FILE, CARD_FILE, "metrics.json", REPORT_FILE, ROC_FILE, CONFUSION_FILE} <= names
    for plot in (ROC_FILE, CONFUSION_FILE):
        assert (built / plot).read_bytes().startswith(b"\x89PNG")
        assert b"Software" not in (built / plot).read_bytes()
    card = read_card(built / CARD_FILE)
    stored = evaluation.Metrics.model_validate_json((built / "metrics.json").read_text())
    assert stored == card.metrics
    assert card.metrics.model_size_bytes == (built / MODEL_FILE).stat().st_size
    with zipfile.ZipFile(built / MODEL_FILE) as archive:
        inflated = sum(member.file_size for member in archive.infolist())
    assert card.metrics.model_loaded_bytes == inflated
    assert set(card.metrics.latency) == set(config.timing.runs)  # the config's plan, timed
    report = (built / REPORT_FILE).read_text()
    assert f"`{card.id}`" in report
    assert all(f"| {name} |" in report for name in SCHEMA.slice_names())
    assert f"]({ROC_FILE})" in report


def test_the_card_records_what_produced_the_model(built: Path, config: ModelConfig) -> None:
    card = read_card(built / CARD_FILE)
    assert card.id == built.name
    assert card.threshold == config.decision.threshold
    assert card.params == config.model.model_dump()
    assert card.seed == config.seed == card.split.seed
    assert card.data.rows == 2_500
    assert card.split.train_rows + card.split.test_rows == card.data.rows
    assert [f.name for f in card.features] == SCHEMA.feature_names()
    assert {"scikit-learn", "pandas", "numpy", "skops", "python"} <= set(card.libraries)
    assert len(card.git.commit) == 40 or card.git.commit == "unknown"
    raw = json.loads((built / CARD_FILE).read_text())
    assert {"id", "created_at", "threshold", "data", "metrics", "features"} <= set(raw)


def test_the_saved_model_loads_and_predicts(built: Path) -> None:
    model = load_model(built / MODEL_FILE)
    scores = evaluation.score(model, synthetic_frame(10, seed=9)[SCHEMA.feature_names()])
    assert ((scores >= 0) & (scores <= 1)).all()


def test_invalid_data_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    missing = SCHEMA.feature_names()[0]
    synthetic_frame(800, seed=2).drop(columns=[missing]).to_csv(bad, index=False)
    with pytest.raises(UserError, match=f"{missing}: required"):
        candidate.create_candidate(
            bad, config_path=ROOT / "configs/model.toml", root=tmp_path / "c"
        )
    assert not (tmp_path / "c").exists()


def test_a_crash_while_writing_leaves_no_half_candidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_path: Path
) -> None:
    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(candidate, "write_report", crash)
    root = tmp_path / "candidates"
    with pytest.raises(RuntimeError, match="disk full"):
        candidate.create_candidate(
            write_sample(tmp_path / "s.csv", 800),
            config_path=config_path,
            root=root,
        )
    assert list(root.iterdir()) == []


def test_newest_candidate_and_lookup(built: Path) -> None:
    root = built.parent
    assert candidate.find_candidate(root=root) == built
    assert candidate.find_candidate(built.name, root=root) == built
    with pytest.raises(UserError, match="no candidate 'nope'"):
        candidate.find_candidate("nope", root=root)
    with pytest.raises(UserError, match="run `just train` first"):
        candidate.find_candidate(root=root / "empty")


def test_git_info_outside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert candidate.git_info(tmp_path).commit == "unknown"
    assert capfd.readouterr().err == ""  # not git's "fatal: not a git repository" amid training
    monkeypatch.setattr(shutil, "which", lambda _: None)
    assert candidate.git_info().commit == "unknown"
