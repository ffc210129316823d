"""``churn-model predict`` writes, byte for byte, what it wrote before Arrow.

The example's fixed input (``batch_scoring/input.csv``) writes its valid values in the many ways a
file may: a byte-order mark, CRLF line endings, a blank line, no newline at the end, quoted fields
(with commas, quotes, line breaks, a carriage return), numbers as ``27.0``, ``1e1``, ``-0``,
``1.5E+2`` or with 34 digits, booleans as ``TRUE``, ``0.0``, missing values as ``NA``, ``<NA>``,
``#N/A``, a label column and columns the schema does not know. ``input.parquet`` holds typed
columns (a nullable whole number, booleans, floats). The expected outputs beside them were written
by the implementation before this one (pandas' chunked reader, pandera, the pipeline), and the
output of every later implementation must be the same bytes.

The model is a decision tree over the project's own preprocessing: its probabilities are ratios of
counts, so their text is the same on every machine (the gradient-boosted trees' go through ``exp``,
whose last bit differs between maths libraries). These tests are the example's: the input is
written in its columns.
"""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from churn_model.config import load_model_config
from churn_model.data.pinning import read_table
from churn_model.data.validation import validate
from churn_model.domain.features import TRUSTED_TYPES, build_pipeline
from churn_model.domain.schema import SCHEMA
from churn_model.model import artifact
from churn_model.model.artifact import CARD_FILE, MODEL_FILE, save_model
from churn_model.model.card import write_card
from churn_model.serving.batch_scoring import predict_file

from model_support import ROOT
from served_model import make_model_dir

HERE = Path(__file__).parent / "batch_scoring"
TREE_TYPES = (*TRUSTED_TYPES, "sklearn.tree._tree.Tree")
"""What loading the tree pipeline must trust beyond the domain's own types."""


@pytest.fixture(scope="module")
def tree_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A model directory whose pipeline ends in a small decision tree, fitted on the input."""
    target = tmp_path_factory.mktemp("tree") / "model"
    _, card = make_model_dir(target)
    features = validate(read_table(HERE / "input.csv"), "input", require_label=False)
    labels = (np.arange(len(features)) % 3 == 0).astype(np.int64)
    params = load_model_config(ROOT / "configs/model.toml").model
    preprocess = build_pipeline(params, seed=0).steps[0][1]
    tree = DecisionTreeClassifier(max_depth=4, min_samples_leaf=3, random_state=0)
    pipeline = Pipeline([("preprocess", preprocess), ("classifier", tree)])
    pipeline.fit(features[SCHEMA.feature_names()], labels)
    save_model(pipeline, target / MODEL_FILE)
    write_card(card.model_copy(update={"threshold": 0.5}), target / CARD_FILE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(artifact, "TRUSTED_TYPES", TREE_TYPES)
        yield target


@pytest.mark.parametrize("source", ["input.csv", "input.parquet"])
@pytest.mark.parametrize("chunk_rows", [16, 100_000])
def test_the_output_is_the_bytes_written_before(
    tree_model: Path, tmp_path: Path, source: str, chunk_rows: int
) -> None:
    output = tmp_path / "scored.csv"
    assert predict_file(HERE / source, output, tree_model, chunk_rows=chunk_rows) == 80
    expected = HERE / f"expected-{Path(source).suffix.removeprefix('.')}.csv"
    assert output.read_bytes() == expected.read_bytes()
