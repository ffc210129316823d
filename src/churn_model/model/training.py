"""Training: a seeded, stratified split of the table, then the pipeline fitted on the training part.

The split and the fit are both functions of (data, config, seed) only, so the same inputs give the
same model and the same metrics on any machine with the same library versions.
"""

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from churn_model.config import ModelConfig
from churn_model.domain.features import build_pipeline
from churn_model.domain.schema import SCHEMA
from churn_model.model.card import SplitInfo
from churn_model.threads import limited

SPLIT_POLICY = "stratified random hold-out on the label (sklearn train_test_split)"


@dataclass(frozen=True)
class TrainedModel:
    """A fitted pipeline with the held-out rows it has never seen.

    Attributes:
        pipeline: The fitted preprocessing + estimator pipeline.
        x_test: Held-out feature rows, in schema order.
        y_test: Held-out labels, 1 for the schema's positive value, else 0.
        split: The split policy, seed and row counts, as recorded in the model card.
        seed: The seed the estimator was built with.
    """

    pipeline: Pipeline
    x_test: pd.DataFrame
    y_test: pd.Series
    split: SplitInfo
    seed: int


def split_table(
    frame: pd.DataFrame, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Split features and label into train and test parts, stratified on the label.

    The label becomes 1 for the schema's positive value and 0 for the other. Stratifying keeps
    the positive rate of both parts equal to the table's, so a small test split does not, by
    chance, hold too few positives to measure recall.
    """
    features = frame[SCHEMA.feature_names()]
    label = pd.Series(SCHEMA.label.encode(frame[SCHEMA.label.name]), index=frame.index)
    x_train, x_test, y_train, y_test = train_test_split(
        features, label, test_size=test_size, random_state=seed, stratify=label
    )
    return x_train, x_test, y_train, y_test


def fit(x_train: pd.DataFrame, y_train: pd.Series, config: ModelConfig, seed: int) -> Pipeline:
    """Fit the domain pipeline (``features.build_pipeline``) on the training rows.

    Kept as its own function so tests can wrap it (the planted "drop rows with missing values"
    bug of the story test goes exactly here).
    """
    return build_pipeline(config.model, seed).fit(x_train, y_train)


def train(frame: pd.DataFrame, config: ModelConfig, seed: int | None = None) -> TrainedModel:
    """Split ``frame``, fit the pipeline on the training part and return it with the test part.

    Args:
        frame: A validated table with every schema feature and the label.
        config: The training configuration (split, hyper-parameters).
        seed: Overrides ``config.seed`` for both the split and the estimator (calibration runs
            several seeds); ``None`` uses the configured one.
    """
    used_seed = config.seed if seed is None else seed
    x_train, x_test, y_train, y_test = split_table(frame, config.split.test_size, used_seed)
    # One thread: on tables of this size OpenMP threads cost more than they save, and on a shared
    # 2-core CI runner their spin-waiting made a 0.3 s fit take 5-18 s. It also makes the fit
    # independent of the machine's core count.
    with limited(1):
        pipeline = fit(x_train, y_train, config, used_seed)
    split = SplitInfo(
        policy=SPLIT_POLICY,
        test_size=config.split.test_size,
        seed=used_seed,
        train_rows=len(x_train),
        test_rows=len(x_test),
    )
    return TrainedModel(
        pipeline=pipeline, x_test=x_test, y_test=y_test, split=split, seed=used_seed
    )
