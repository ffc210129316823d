"""Saving and loading a trained pipeline without trusting the bytes on disk.

Models are stored with ``skops.io``, which refuses to instantiate a type it was not told to trust,
instead of ``pickle``/``joblib``, which run whatever code the file names. The allow-list is the
exact set of non-default types the domain's pipeline contains (``TRUSTED_TYPES`` in
:mod:`churn_model.domain.features`): a file that needs anything else (a tampered or foreign model)
is refused with the offending type names.
"""

from pathlib import Path

import skops.io as sio
from sklearn.pipeline import Pipeline

from churn_model.domain.features import TRUSTED_TYPES
from churn_model.errors import UserError

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
DEFAULT_MODEL_DIR = Path("dist/model")
"""Where `just package` gathers the champion's model and card; `serve` and `predict` read it."""


def save_model(pipeline: Pipeline, path: Path) -> None:
    """Serialise a fitted pipeline to ``path`` with skops."""
    sio.dump(pipeline, path)


def load_model(path: Path) -> Pipeline:
    """Load a pipeline saved by :func:`save_model`, refusing any type outside the allow-list."""
    if not path.is_file():
        raise UserError(f"{path}: model file not found")
    try:
        untrusted = set(sio.get_untrusted_types(file=path))
    except Exception as error:  # skops raises many types on corrupt input; all mean the same
        raise UserError(f"{path}: not a readable skops model ({error})") from None
    unexpected = sorted(untrusted - set(TRUSTED_TYPES))
    if unexpected:
        raise UserError(f"{path}: refusing to load untrusted types: {', '.join(unexpected)}")
    model = sio.load(path, trusted=sorted(untrusted))
    if not isinstance(model, Pipeline):
        raise UserError(f"{path}: expected a scikit-learn Pipeline, found {type(model).__name__}")
    return model
