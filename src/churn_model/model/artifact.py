"""Saving and loading a trained pipeline without trusting the bytes on disk.

Models are stored with ``skops.io``, which refuses to instantiate a type it was not told to trust,
instead of ``pickle``/``joblib``, which run whatever code the file names. The allow-list is the
exact set of non-default types the domain's pipeline contains (``TRUSTED_TYPES`` in
:mod:`churn_model.domain.features`): a file that needs anything else (a tampered or
foreign model) is refused with the offending type names.

A ``.skops`` file is a zip archive, and a zip member may inflate far past the file's size (a 1.8 MB
file can hold a 1.5 GB array of zeros). Before anything is parsed, the uncompressed sizes the
archive declares are added up and checked against :data:`MAX_LOADED_BYTES`; the zip reader never
inflates a member past its declared size, so the check bounds what loading can allocate.
"""

import hashlib
import io
import zipfile
from collections import OrderedDict
from pathlib import Path

import skops.io as sio
from sklearn.pipeline import Pipeline

from churn_model.domain.features import TRUSTED_TYPES
from churn_model.errors import UserError

MODEL_FILE = "model.skops"
CARD_FILE = "card.json"
METRICS_FILE = "metrics.json"
DEFAULT_MODEL_DIR = Path("dist/model")
"""Where `just package` gathers the champion's model and card; `serve` and `predict` read it."""

MAX_LOADED_BYTES = 256 * 1024 * 1024
"""Most bytes a model file may hold, on disk or inflated. A sanity ceiling for the loader, far above
what the gate lets a model weigh (``[size] max_loaded_bytes`` in ``ci/gates.toml``, kept below this
by a test); raise both together if your models are heavier."""


def save_model(pipeline: Pipeline, path: Path) -> None:
    """Serialise a fitted pipeline to ``path`` with skops."""
    sio.dump(pipeline, path)


def loaded_size(archive: zipfile.ZipFile) -> int:
    """Return the bytes the archive's members inflate to, as its central directory declares."""
    return sum(member.file_size for member in archive.infolist())


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def read_model_bytes(path: Path, max_bytes: int = MAX_LOADED_BYTES) -> bytes:
    """Read a model file whose size and inflated size are both within ``max_bytes``.

    The bytes are read once: what is checked is exactly what is loaded.

    Raises:
        UserError: the file is missing, not a zip archive, or too large on disk or inflated.
    """
    if not path.is_file():
        raise UserError(f"{path}: model file not found")
    on_disk = path.stat().st_size
    if on_disk > max_bytes:
        limit = _mib(max_bytes)
        raise UserError(
            f"{path}: refusing to load a {_mib(on_disk)} model file (the limit is {limit})"
        )
    data = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = loaded_size(archive)
    except zipfile.BadZipFile as error:
        raise UserError(f"{path}: not a readable skops model ({error})") from None
    if inflated > max_bytes:
        raise UserError(
            f"{path}: refusing to load a model whose {_mib(on_disk)} file inflates to "
            f"{_mib(inflated)} (the limit is {_mib(max_bytes)})"
        )
    return data


def model_loaded_bytes(path: Path) -> int:
    """Return what loading the model at ``path`` inflates (the gate's size budget counts this)."""
    with zipfile.ZipFile(path) as archive:
        return loaded_size(archive)


LOADED_KEPT = 4
"""How many loaded models a process keeps, by the SHA-256 of their bytes, for the next load."""

_LOADED: OrderedDict[tuple[str, tuple[str, ...]], Pipeline] = OrderedDict()


def load_model(path: Path, *, max_bytes: int = MAX_LOADED_BYTES) -> Pipeline:
    """Load a pipeline saved by :func:`save_model`, refusing any type outside the allow-list.

    One gate loads the same file several times (re-scoring it, then once per way it is served):
    the bytes are read and checked every time, and a model this process already loaded from the
    same bytes under the same allow-list is returned again instead of being parsed again. What is
    looked up is exactly what would be loaded, so other bytes are never served from it. Callers
    only score with the pipeline; none may modify it.

    Raises:
        UserError: the file is missing, unreadable, too large (on disk or inflated, see
            :func:`read_model_bytes`), needs an untrusted type, or is not a Pipeline.
    """
    data = read_model_bytes(path, max_bytes)
    key = (hashlib.sha256(data).hexdigest(), tuple(TRUSTED_TYPES))
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    model = model_from_bytes(data, path)
    _LOADED[key] = model
    while len(_LOADED) > LOADED_KEPT:
        _LOADED.popitem(last=False)
    return model


def model_from_bytes(data: bytes, path: Path) -> Pipeline:
    """Load a pipeline from the bytes :func:`read_model_bytes` returned for ``path``.

    Raises:
        UserError: as :func:`load_model` (``path`` names the file in the message).
    """
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as error:  # skops raises many types on corrupt input; all mean the same
        raise UserError(f"{path}: not a readable skops model ({error})") from None
    unexpected = sorted(untrusted - set(TRUSTED_TYPES))
    if unexpected:
        raise UserError(f"{path}: refusing to load untrusted types: {', '.join(unexpected)}")
    model = sio.load(io.BytesIO(data), trusted=sorted(untrusted))
    if not isinstance(model, Pipeline):
        raise UserError(f"{path}: expected a scikit-learn Pipeline, found {type(model).__name__}")
    return model
