"""The registry: which gated model is the champion, which came before, and how to go back.

``artifacts/registry/models/<id>/`` keeps a copy of every promoted candidate; ``champion.json``
names the champion and the promotion history. The pointer is the single commit point: it is
replaced atomically (write a temporary file, then ``os.replace``) only after the model folder is
complete, so a crash leaves either the old champion or the new one, never half of each. A file lock
serialises concurrent promotions and rollbacks. After each change the derived views are refreshed:
``ci/baseline.json`` (what the gate compares against) and ``docs/model/`` (the published report).
"""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, ValidationError

from churn_model.artifact import CARD_FILE, MODEL_FILE
from churn_model.candidate import CANDIDATES_DIR, find_candidate
from churn_model.card import read_card
from churn_model.errors import UserError
from churn_model.files import sha256_of, write_atomic
from churn_model.gate import (
    BASELINE_FILE,
    SUMMARY_FILE,
    VERDICT_FILE,
    Baseline,
    Verdict,
    read_baseline,
)
from churn_model.report import CONFUSION_FILE, REPORT_FILE, ROC_FILE

REGISTRY_DIR = Path("artifacts/registry")
DOCS_MODEL_DIR = Path("docs/model")
POINTER_FILE = "champion.json"
LOCK_FILE = ".lock"
LOCK_TIMEOUT_S = 60.0


class Pointer(BaseModel):
    """The registry's state: the champion and every promotion still in effect, oldest first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    champion: str | None = None
    history: list[str] = []
    updated_at: datetime | None = None


def read_pointer(registry: Path = REGISTRY_DIR) -> Pointer:
    """Return the registry's pointer (an empty one before the first promotion)."""
    path = registry / POINTER_FILE
    try:
        return Pointer.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return Pointer()
    except ValidationError as error:
        raise UserError(
            f"{path}: invalid registry pointer ({error.error_count()} problems)"
        ) from None


@contextmanager
def _locked(registry: Path) -> Iterator[None]:
    """Hold the registry's lock for the block; another run holding it too long is a UserError."""
    registry.mkdir(parents=True, exist_ok=True)
    lock = FileLock(registry / LOCK_FILE, timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout:
        raise UserError(f"{registry}: registry is locked by another run; try again") from None
    try:
        yield
    finally:
        lock.release()


def _read_verdict(folder: Path) -> Verdict:
    path = folder / VERDICT_FILE
    try:
        return Verdict.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{folder.name}: no verdict ({path}): run `just gate` first") from None
    except ValidationError as error:
        raise UserError(f"{path}: invalid verdict ({error.error_count()} problems)") from None


def _check_verdict(folder: Path, verdict: Verdict, baseline_id: str | None) -> None:
    """Refuse a verdict that failed, belongs to another model, or judged a stale baseline.

    Staleness is judged against the committed ``ci/baseline.json``, not the local registry: a
    fresh clone (a CI runner) has an empty registry but gates against, and replaces, the baseline.
    """
    if verdict.candidate_id != folder.name:
        raise UserError(f"{folder}: the verdict belongs to candidate {verdict.candidate_id!r}")
    if not verdict.passed:
        raise UserError(f"{folder.name}: the gate failed this candidate; it cannot be promoted")
    if sha256_of(folder / MODEL_FILE) != verdict.model_sha256:
        raise UserError(
            f"{folder.name}: model.skops changed after it was gated: run `just gate` again"
        )
    if verdict.baseline_id != baseline_id:
        raise UserError(
            f"{folder.name}: gated against baseline {verdict.baseline_id!r}, but the baseline is "
            f"now {baseline_id!r}: run `just gate` again"
        )


def _copy_into_registry(folder: Path, models: Path) -> Path:
    """Copy a candidate folder to ``models/<id>`` (staged, then renamed) unless already there."""
    target = models / folder.name
    if target.is_dir():
        return target
    models.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=models))
    try:
        shutil.copytree(folder, staging, dirs_exist_ok=True)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def refresh_views(model_dir: Path, baseline_path: Path, docs_dir: Path) -> None:
    """Point ``ci/baseline.json`` and ``docs/model/`` at the model in ``model_dir``.

    ``docs/model/gate.md`` is the table the model passed (the body of Retrain's pull request).
    """
    card = read_card(model_dir / CARD_FILE)
    baseline = Baseline(model_id=card.id, promoted_at=datetime.now(UTC), metrics=card.metrics)
    write_atomic(baseline_path, (baseline.model_dump_json(indent=2) + "\n").encode())
    for name in (REPORT_FILE, ROC_FILE, CONFUSION_FILE):
        write_atomic(docs_dir / name, (model_dir / name).read_bytes())
    if (model_dir / SUMMARY_FILE).is_file():
        write_atomic(docs_dir / SUMMARY_FILE, (model_dir / SUMMARY_FILE).read_bytes())
    else:  # promoted before gate.md existed: no table rather than another model's
        (docs_dir / SUMMARY_FILE).unlink(missing_ok=True)


def promote(
    candidate_id: str | None = None,
    *,
    candidates: Path = CANDIDATES_DIR,
    registry: Path = REGISTRY_DIR,
    baseline_path: Path = BASELINE_FILE,
    docs_dir: Path = DOCS_MODEL_DIR,
) -> Pointer:
    """Make a gated candidate (the newest when ``candidate_id`` is None) the champion.

    Only a candidate whose ``verdict.json`` passed, names it, matches the SHA-256 of its model
    file and was judged against the current champion's baseline is accepted. Promoting the
    current champion again only refreshes the baseline and the docs (recovery after a crash).

    Returns:
        The registry pointer after the promotion.
    """
    folder = find_candidate(candidate_id, candidates)
    with _locked(registry):
        pointer = read_pointer(registry)
        if pointer.champion == folder.name:
            refresh_views(registry / "models" / folder.name, baseline_path, docs_dir)
            return pointer
        verdict = _read_verdict(folder)
        baseline = read_baseline(baseline_path)
        _check_verdict(folder, verdict, baseline.model_id if baseline else None)
        copy = _copy_into_registry(folder, registry / "models")
        if sha256_of(copy / MODEL_FILE) != verdict.model_sha256:
            raise UserError(f"{copy}: registered model differs from the gated one")
        pointer = Pointer(
            champion=folder.name,
            history=[*pointer.history, folder.name],
            updated_at=datetime.now(UTC),
        )
        write_atomic(registry / POINTER_FILE, pointer.model_dump_json(indent=2).encode())
        refresh_views(copy, baseline_path, docs_dir)
        return pointer


def rollback(
    *,
    registry: Path = REGISTRY_DIR,
    baseline_path: Path = BASELINE_FILE,
    docs_dir: Path = DOCS_MODEL_DIR,
) -> Pointer:
    """Restore the previous champion (pointer, baseline and docs); the rolled-back copy stays.

    Returns:
        The registry pointer after the rollback.
    """
    with _locked(registry):
        pointer = read_pointer(registry)
        if len(pointer.history) < 2:
            raise UserError(f"{registry}: no previous champion to roll back to")
        history = pointer.history[:-1]
        pointer = Pointer(champion=history[-1], history=history, updated_at=datetime.now(UTC))
        write_atomic(registry / POINTER_FILE, pointer.model_dump_json(indent=2).encode())
        refresh_views(registry / "models" / history[-1], baseline_path, docs_dir)
        return pointer


def export(dest: Path, *, registry: Path = REGISTRY_DIR) -> Path:
    """Copy the champion's ``model.skops`` and ``card.json`` into ``dest`` (for the image).

    The model's SHA-256 is checked against its verdict first, so a tampered file is not shipped.

    Returns:
        The champion's folder in the registry.
    """
    pointer = read_pointer(registry)
    if pointer.champion is None:
        raise UserError(f"{registry}: no champion yet: run `just train gate promote` first")
    folder = registry / "models" / pointer.champion
    verdict = _read_verdict(folder)
    if sha256_of(folder / MODEL_FILE) != verdict.model_sha256:
        raise UserError(f"{folder / MODEL_FILE}: differs from the model the gate passed")
    dest.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, CARD_FILE):
        shutil.copyfile(folder / name, dest / name)
    return folder
