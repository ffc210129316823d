"""The serving fast path: a fitted pipeline's preprocessing replayed on plain NumPy arrays.

On one record, ``Pipeline.predict_proba`` spends ~4 ms of its ~5 ms in the ``ColumnTransformer``:
pandas column selection, per-transformer input checks, feature-name checks, ``hstack``. None of
that depends on the data. What the fitted transformers actually *compute* is tiny: fill missing
numbers with the learned statistics, flag them, pass booleans through, one-hot the categories,
rank the ordered ones.
:func:`compile_pipeline` reads those learned values from the fitted steps and returns a function
that computes the same matrix from column arrays, then hands it to the fitted classifier itself
(``predict_proba``), so the trees, and therefore the probabilities, are the pipeline's.

Only the step types the template builds are understood (``SimpleImputer`` on NaN,
``"passthrough"``, ``OneHotEncoder`` ignoring unknowns, ``OrdinalEncoder`` encoding unknowns as a
value, neither with infrequent categories); a step that selects no column (a schema without
booleans, say) contributes nothing and is skipped. For anything else :func:`compile_pipeline`
returns ``None`` and the caller keeps the pipeline: it declines, it never raises.
:func:`matches_pipeline` lets the caller refuse a compiled path that does not reproduce the
pipeline's probabilities exactly on probe rows.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

Columns = Mapping[str, npt.NDArray[np.generic]]
"""One array per input column, all the same length (numbers as float64, NaN for missing)."""

Block = Callable[[Columns], npt.NDArray[np.float64]]
"""Computes one transformer's output columns from the input columns."""


@dataclass(frozen=True, slots=True)
class CompiledPipeline:
    """The fitted preprocessing as array functions, and the fitted classifier they feed."""

    blocks: tuple[Block, ...]
    classifier: ClassifierMixin

    def transform(self, columns: Columns) -> npt.NDArray[np.float64]:
        """The matrix the pipeline's preprocessing step would pass to its classifier."""
        return np.hstack([block(columns) for block in self.blocks])

    def positive_probability(self, columns: Columns) -> npt.NDArray[np.float64]:
        """Probability of the positive class (column 1 of ``predict_proba``) for every row."""
        probabilities = self.classifier.predict_proba(self.transform(columns))
        return np.asarray(probabilities[:, 1], dtype=np.float64)


def _imputer(step: SimpleImputer, names: list[str]) -> Block | None:
    """Fill NaN with the fitted statistics; append the fitted missing-value indicators."""
    missing = step.missing_values
    if not (isinstance(missing, float) and np.isnan(missing)) or step.keep_empty_features:
        return None
    fill = np.asarray(step.statistics_, dtype=np.float64)
    if len(fill) != len(names) or np.isnan(fill).any():  # a dropped all-missing column
        return None
    indicator = step.indicator_  # SimpleImputer's indicator flags the columns missing in fit
    flagged = np.asarray([] if indicator is None else indicator.features_, dtype=np.intp)

    def block(columns: Columns) -> npt.NDArray[np.float64]:
        values = np.column_stack([np.asarray(columns[name], dtype=np.float64) for name in names])
        absent = np.isnan(values)
        filled = np.where(absent, fill, values)
        return np.hstack([filled, absent[:, flagged].astype(np.float64)])

    return block


def _passthrough(names: list[str]) -> Block:
    """Pass the columns through as numbers (the pipeline's ``hstack`` casts them to float)."""

    def block(columns: Columns) -> npt.NDArray[np.float64]:
        return np.column_stack([np.asarray(columns[name], dtype=np.float64) for name in names])

    return block


def _one_hot(step: OneHotEncoder, names: list[str]) -> Block | None:
    """One 0/1 column per fitted category; an unknown value gets all zeros (``ignore``)."""
    if (
        step.handle_unknown != "ignore"
        or step.drop_idx_ is not None
        or step.min_frequency is not None
        or step.max_categories is not None
        or step.sparse_output
        or len(step.categories_) != len(names)
    ):
        return None
    categories = [np.asarray(values, dtype=object) for values in step.categories_]

    def block(columns: Columns) -> npt.NDArray[np.float64]:
        parts = [
            (np.asarray(columns[name], dtype=object)[:, None] == known[None, :]).astype(np.float64)
            for name, known in zip(names, categories, strict=True)
        ]
        return np.hstack(parts)

    return block


def _ordinal(step: OrdinalEncoder, names: list[str]) -> Block | None:
    """Each value's index among its fitted categories; missing or unknown: ``unknown_value``.

    Only text categories without a missing-value category are understood: the encoder then
    treats a missing value (``None``, NaN) as unknown, and matches the others by hash and
    equality, as a dictionary does.
    """
    if (
        step.handle_unknown != "use_encoded_value"
        or step.min_frequency is not None
        or step.max_categories is not None
        or np.dtype(step.dtype) != np.float64
        or len(step.categories_) != len(names)
        or not all(
            values.dtype == object and all(isinstance(value, str) for value in values)
            for values in step.categories_
        )
    ):
        return None
    unknown = float(step.unknown_value)
    ranks = [
        {value: float(rank) for rank, value in enumerate(values)} for values in step.categories_
    ]

    def block(columns: Columns) -> npt.NDArray[np.float64]:
        parts = [
            np.fromiter(
                (rank.get(value, unknown) for value in columns[name].tolist()),
                dtype=np.float64,
                count=len(columns[name]),
            )
            for name, rank in zip(names, ranks, strict=True)
        ]
        return np.column_stack(parts)

    return block


def _block(step: object, names: list[str]) -> Block | None:
    """The array function for one fitted ``ColumnTransformer`` step, or None if not understood."""
    if step == "passthrough" or (
        isinstance(step, FunctionTransformer) and step.func is None and step.validate is False
    ):
        return _passthrough(names)
    if isinstance(step, SimpleImputer):
        return _imputer(step, names)
    if isinstance(step, OneHotEncoder):
        return _one_hot(step, names)
    if isinstance(step, OrdinalEncoder):
        return _ordinal(step, names)
    return None


def compile_pipeline(pipeline: Pipeline) -> CompiledPipeline | None:
    """Compile a fitted ``ColumnTransformer`` + classifier pipeline, or None if not understood.

    Never raises: the fast path is an optimisation, so a fitted step it cannot read (an attribute
    missing, an unexpected type) means "no fast path", and the pipeline serves.
    """
    try:
        return _compile(pipeline)
    except Exception:  # anything unexpected in a fitted step: decline, never crash a start-up
        return None


def _compile(pipeline: Pipeline) -> CompiledPipeline | None:
    """:func:`compile_pipeline`'s work, which may raise on a pipeline it does not understand."""
    if len(pipeline.steps) != 2:
        return None
    preprocess, classifier = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(preprocess, ColumnTransformer) or not isinstance(classifier, ClassifierMixin):
        return None
    # A classifier fitted with feature names was fed a DataFrame (set_output): not this layout.
    if preprocess.sparse_output_ or hasattr(classifier, "feature_names_in_"):
        return None
    blocks = []
    for _, step, selected in preprocess.transformers_:
        # A step that selects no column is left unfitted by the ColumnTransformer and adds no
        # output column: there is nothing to replay.
        if step == "drop" or len(selected) == 0:
            continue
        if not all(isinstance(column, str) for column in selected):
            return None
        block = _block(step, list(selected))
        if block is None:
            return None
        blocks.append(block)
    return CompiledPipeline(blocks=tuple(blocks), classifier=classifier)


def frame_columns(frame: pd.DataFrame) -> dict[str, npt.NDArray[np.generic]]:
    """The columns of ``frame`` as arrays, the way :class:`CompiledPipeline` takes them."""
    return {str(name): frame[name].to_numpy() for name in frame.columns}


def matches_pipeline(compiled: CompiledPipeline, pipeline: Pipeline, frame: pd.DataFrame) -> bool:
    """Whether ``compiled`` gives exactly the pipeline's probabilities on the rows of ``frame``."""
    expected = np.asarray(pipeline.predict_proba(frame)[:, 1], dtype=np.float64)
    return bool(np.array_equal(compiled.positive_probability(frame_columns(frame)), expected))
