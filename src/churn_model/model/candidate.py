"""The candidate: one trained, evaluated model in its own folder, ready for the gate.

``artifacts/candidates/<id>/`` holds ``model.skops``, ``card.json``, ``metrics.json``, the report
and its plots. A candidate is assembled in a hidden staging folder and renamed into place in one
step, so a crash or an error never leaves a half-written candidate, and a new one never replaces
another. A caller that records candidates elsewhere (the CLI, with tracking on) passes a
:data:`StagedLog` that records the staged folder before that rename, so a candidate exists only if
its record was written completely.
"""

import platform
import secrets
import shutil
import subprocess  # only to run git, with fixed arguments  # nosec B404
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from churn_model import __version__
from churn_model.config import DEFAULT_MODEL_CONFIG, load_model_config
from churn_model.data.pinning import load_dataset
from churn_model.errors import UserError
from churn_model.files import disk_full, is_disk_full, staged_folder
from churn_model.model.artifact import CARD_FILE, METRICS_FILE, MODEL_FILE, save_model
from churn_model.model.card import (
    GitInfo,
    ModelCard,
    feature_specs,
    read_card,
    write_card,
)
from churn_model.model.evaluation import evaluate
from churn_model.model.report import write_report
from churn_model.model.training import train

CANDIDATES_DIR = Path("artifacts/candidates")
RECORDED_LIBRARIES = ("scikit-learn", "pandas", "numpy", "skops")

StagedLog = Callable[[Path, ModelCard], Callable[[], None]]
"""Records a staged candidate (its folder and card) before it is renamed into place, and returns
what marks that record failed if the candidate is then not created; raises if recording fails."""


def _git(git: str, cwd: Path | None, *args: str) -> str:
    """Run a read-only git command (fixed arguments, no shell) and return its output."""
    # Outside a repository git says "fatal: not a git repository": the caller says "unknown".
    output = subprocess.check_output(  # no shell # noqa: S603 # nosec B603
        [git, *args], cwd=cwd, text=True, stderr=subprocess.DEVNULL
    )
    return output.strip()


def git_info(cwd: Path | None = None) -> GitInfo:
    """Return the current commit and whether the work tree has changes; "unknown" outside git."""
    git = shutil.which("git")
    if git is None:
        return GitInfo(commit="unknown", dirty=False)
    try:
        commit = _git(git, cwd, "rev-parse", "HEAD")
        dirty = bool(_git(git, cwd, "status", "--porcelain"))
    except subprocess.CalledProcessError:
        return GitInfo(commit="unknown", dirty=False)
    return GitInfo(commit=commit, dirty=dirty)


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries a saved model depends on, plus Python's."""
    versions = {name: version(name) for name in RECORDED_LIBRARIES}
    versions["python"] = platform.python_version()
    return versions


def new_candidate_id(now: datetime) -> str:
    """Return a fresh id: the UTC time to the second, then random hex against collisions."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def create_candidate(
    data_path: Path | None = None,
    *,
    config_path: Path = DEFAULT_MODEL_CONFIG,
    root: Path = CANDIDATES_DIR,
    log_staged: StagedLog | None = None,
) -> Path:
    """Load and validate the data, train, evaluate and write a new candidate folder under ``root``.

    Invalid configuration or data raise :class:`UserError` before anything is written. With
    ``log_staged``, the staged candidate is recorded before it is renamed into place; if recording
    (or the rename) fails, the staged folder is removed and the record marked failed.

    Returns:
        The new candidate's folder.
    """
    config = load_model_config(config_path)
    frame, data_info = load_dataset(data_path)
    trained = train(frame, config)
    created_at = datetime.now(UTC)
    model_id = new_candidate_id(created_at)
    mark_failed: Callable[[], None] | None = None
    try:
        with staged_folder(root) as staging:
            save_model(trained.pipeline, staging / MODEL_FILE)
            evaluation = evaluate(
                trained.pipeline,
                trained.x_test,
                trained.y_test,
                config.decision.threshold,
                staging / MODEL_FILE,
                timing=config.timing,
            )
            card = ModelCard(
                id=model_id,
                created_at=created_at,
                package_version=__version__,
                git=git_info(),
                data=data_info,
                features=feature_specs(),
                params=config.model.model_dump(),
                seed=trained.seed,
                threshold=config.decision.threshold,
                libraries=library_versions(),
                split=trained.split,
                metrics=evaluation.metrics,
            )
            write_card(card, staging / CARD_FILE)
            (staging / METRICS_FILE).write_text(
                evaluation.metrics.model_dump_json(indent=2) + "\n", encoding="utf-8"
            )
            write_report(
                model_id,
                evaluation.metrics,
                evaluation.y_true,
                evaluation.y_score,
                staging,
                resolution=evaluation.resolution(),
            )
            if log_staged is not None:
                mark_failed = log_staged(staging, card)
            final = root / model_id
            staging.rename(final)
    except BaseException as error:
        if mark_failed is not None:
            mark_failed()
        if is_disk_full(error):
            raise disk_full(root) from None
        raise
    return final


def list_candidates(root: Path = CANDIDATES_DIR) -> list[ModelCard]:
    """Return the cards of every complete candidate under ``root``, oldest first."""
    if not root.is_dir():
        return []
    cards = [
        read_card(folder / CARD_FILE)
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith(".") and (folder / CARD_FILE).is_file()
    ]
    return sorted(cards, key=lambda card: (card.created_at, card.id))


def find_candidate(candidate_id: str | None = None, root: Path = CANDIDATES_DIR) -> Path:
    """Return the folder of candidate ``candidate_id``, or of the newest one when ``None``."""
    if candidate_id is not None:
        folder = root / candidate_id
        if (
            candidate_id.startswith(".")
            or "/" in candidate_id
            or not (folder / CARD_FILE).is_file()
        ):
            raise UserError(f"no candidate {candidate_id!r} in {root}")
        return folder
    cards = list_candidates(root)
    if not cards:
        raise UserError(f"no candidate in {root}: run `just train` first")
    return root / cards[-1].id
