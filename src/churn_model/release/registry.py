"""The registry: which gated model is the champion, which came before, and how to go back.

``artifacts/registry/models/<id>/`` keeps a copy of every promoted candidate; ``champion.json``
names the champion and the promotion history. A file lock serialises promotions and rollbacks.

A change of champion writes several files: the pointer, and the views derived from it,
``ci/baseline.json`` (what the gate compares against) and ``docs/model/`` (the published report and
the gate table the model passed). Each is replaced atomically, but a crash between two of them
would leave them disagreeing. So the change is journalled: once the model folder is complete, the
whole target state (the pointer and the baseline) is written to ``pending.json`` in one atomic
step, which is the commit point; then the files are written, and the journal removed. Whoever next
takes the registry (``promote``, ``rollback``, ``export``, ``gate``, ``register``: see
:func:`settle`) finds a journal left by a crash and finishes the change, and removes the temporary
files a crash left beside the views. A crash before the journal leaves the old state untouched.

Nothing moves on its files' word: the model a change would make the champion, and the champion
``export`` ships, is judged again first (:mod:`churn_model.release.rejudge`), and a
journal naming a model that does not pass now, or carrying a baseline that is not that model's
figures, is refused and left as it is, with nothing changed.
"""

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import Field

from churn_model.config import (
    DEFAULT_GATE_CONFIG,
    DEFAULT_MODEL_CONFIG,
    GateConfig,
    load_gate_config,
    load_model_config,
)
from churn_model.errors import UserError
from churn_model.files import atomic_path, staged_folder, write_atomic
from churn_model.model.artifact import CARD_FILE, MODEL_FILE
from churn_model.model.candidate import CANDIDATES_DIR, find_candidate
from churn_model.model.card import read_card
from churn_model.model.report import CONFUSION_FILE, REPORT_FILE, ROC_FILE
from churn_model.records import Record, read_record, write_record
from churn_model.release.gate_report import SUMMARY_FILE, render_markdown
from churn_model.release.gate_rows import BASELINE_FILE, Baseline, read_baseline
from churn_model.release.rejudge import require_judged_alike, require_passes_now
from churn_model.release.verdict import (
    VERDICT_FILE,
    Verdict,
    changed_files,
    read_verdict,
    require_promotable,
)

REGISTRY_DIR = Path("artifacts/registry")
DOCS_MODEL_DIR = Path("docs/model")
POINTER_FILE = "champion.json"
JOURNAL_FILE = "pending.json"
LOCK_FILE = ".lock"
LOCK_TIMEOUT_S = 60.0
DOCS_FILES = (REPORT_FILE, ROC_FILE, CONFUSION_FILE, SUMMARY_FILE)
"""What ``docs/model/`` holds: the champion's report and plots, and the gate table it passed."""


@dataclass(frozen=True)
class Registry:
    """Where the registry keeps its files, the views a change of champion writes, its configs.

    ``folder`` holds the registered models, the pointer, the journal and the lock; ``baseline``
    is the file the gate compares against; ``docs`` the folder the champion's report is published
    in; ``gates`` and ``model_config`` are the gate config and the model config (its held-out
    split, threshold and latency timing) every model is judged again under before it is promoted,
    exported or restored. The defaults are the project's; a test gives its own.
    """

    folder: Path = REGISTRY_DIR
    baseline: Path = BASELINE_FILE
    docs: Path = DOCS_MODEL_DIR
    gates: Path = DEFAULT_GATE_CONFIG
    model_config: Path = DEFAULT_MODEL_CONFIG

    @property
    def models(self) -> Path:
        """The folder of every registered model, one folder each, named by its id."""
        return self.folder / "models"


PROJECT_REGISTRY = Registry()
"""The project's registry, under the working folder: what the command line uses."""


class Pointer(Record):
    """The registry's state: the champion and every promotion still in effect, oldest first."""

    champion: str | None = None
    history: list[str] = Field(default_factory=list)
    updated_at: datetime | None = None


class Pending(Record):
    """A change of champion under way (the journal): the pointer and baseline it leads to."""

    pointer: Pointer
    baseline: Baseline


def read_pointer(registry: Registry = PROJECT_REGISTRY) -> Pointer:
    """Return the registry's pointer (an empty one before the first promotion)."""
    try:
        return read_record(registry.folder / POINTER_FILE, Pointer, "registry pointer")
    except FileNotFoundError:
        return Pointer()


@contextmanager
def _locked(registry: Registry) -> Iterator[None]:
    """Hold the registry's lock for the block; another run holding it too long is a UserError.

    A lock file that cannot be opened is one too: filelock refuses to follow a symbolic link there
    (another file would be truncated and locked in its place).
    """
    registry.folder.mkdir(parents=True, exist_ok=True)
    path = registry.folder / LOCK_FILE
    lock = FileLock(path, timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout:
        raise UserError(
            f"{registry.folder}: registry is locked by another run; try again"
        ) from None
    except OSError as error:
        if error.errno == errno.ELOOP or path.is_symlink():
            raise UserError(
                f"{path}: the registry's lock file is a symbolic link, which the registry does "
                "not follow; remove it (the next command creates a plain one)."
            ) from None
        raise UserError(
            f"{path}: cannot open the registry's lock file ({error.strerror or error})."
        ) from None
    try:
        yield
    finally:
        lock.release()


def _strays(registry: Registry) -> list[Path]:
    """The leftovers of a crash: temporary files beside the files a change writes, staging folders.

    Only the names :func:`churn_model.files.atomic_path` and
    :func:`_copy_into_registry` give the files this module writes are matched, so nobody else's
    temporary file is touched.
    """
    beside = [registry.folder / POINTER_FILE, registry.folder / JOURNAL_FILE, registry.baseline]
    beside += [registry.docs / name for name in DOCS_FILES]
    found: list[Path] = []
    for path in beside:
        found += path.parent.glob(f".{path.name}.*.tmp") if path.parent.is_dir() else []
    models = registry.models
    found += models.glob(".staging-*") if models.is_dir() else []
    return sorted(found)


def _registered_verdict(folder: Path) -> Verdict:
    """Return the verdict of a model in the registry, refusing it if a file it binds changed."""
    verdict = read_verdict(folder)
    if verdict.candidate_id != folder.name:
        raise UserError(f"{folder / VERDICT_FILE}: belongs to {verdict.candidate_id!r}")
    changed = changed_files(folder, verdict)
    if changed:
        raise UserError(
            f"{folder}: {', '.join(changed)} differs from what the gate passed "
            "(the registered copy was modified)"
        )
    return verdict


def _check_change(
    pending: Pending, registry: Registry, judged: Verdict | None
) -> tuple[Path, Verdict]:
    """Refuse the change ``pending`` unless it names a registered model that passes now.

    Its pointer's history must end with that model, and its baseline must be the figures the
    model's verdict records. ``judged`` is the verdict this process has just computed for the
    model (a promotion's), which spares judging it twice; without it, the model is judged again
    (:func:`churn_model.release.rejudge.require_passes_now`). Nothing is written.

    Returns:
        The champion's folder in the registry, and its verdict as recorded there.
    """
    champion = pending.pointer.champion
    if champion is None or pending.pointer.history[-1:] != [champion]:
        raise UserError("its pointer names no champion, or one its history does not end with")
    folder = registry.models / champion
    verdict = _registered_verdict(folder)
    if judged is None or (judged.candidate_id, judged.files) != (champion, verdict.files):
        config = load_gate_config(registry.gates)
        require_passes_now(folder, verdict, config, load_model_config(registry.model_config))
    if pending.baseline.model_id != champion or pending.baseline.metrics != verdict.metrics:
        raise UserError(
            f"its baseline is not the figures {folder / VERDICT_FILE} records for {champion}"
        )
    return folder, verdict


def _write_change(pending: Pending, folder: Path, verdict: Verdict, registry: Registry) -> None:
    """Write every file of the change ``pending`` describes, then remove its journal.

    Idempotent: it is also how a change interrupted by a crash is finished. The docs come from
    the champion's ``folder`` in the registry; the gate table is rendered from its ``verdict``,
    not copied, so it shows what promotion judged.
    """
    write_record(registry.folder / POINTER_FILE, pending.pointer)
    write_record(registry.baseline, pending.baseline)
    for name in (REPORT_FILE, ROC_FILE, CONFUSION_FILE):
        write_atomic(registry.docs / name, (folder / name).read_bytes())
    write_atomic(registry.docs / SUMMARY_FILE, render_markdown(verdict).encode())
    (registry.folder / JOURNAL_FILE).unlink(missing_ok=True)


def _change(pending: Pending, registry: Registry, judged: Verdict | None = None) -> None:
    """Check the change ``pending`` (:func:`_check_change`), journal it (the commit point), make it.

    ``judged``: the verdict this process has just computed for the champion it names, if any. A
    change naming a model that does not pass now is refused before anything is written.
    """
    try:
        folder, verdict = _check_change(pending, registry, judged)
    except UserError as error:
        raise UserError(
            f"{pending.pointer.champion}: not made the champion, it does not pass now ({error})"
        ) from None
    write_record(registry.folder / JOURNAL_FILE, pending)
    _write_change(pending, folder, verdict, registry)


def _checked_journal(pending: Pending, registry: Registry) -> tuple[Path, Verdict]:
    """Check the journal ``pending`` a crash left (:func:`_check_change`), saying how to drop it."""
    path = registry.folder / JOURNAL_FILE
    try:
        return _check_change(pending, registry, None)
    except UserError as error:
        raise UserError(
            f"{path}: not applied ({error}); the registry and its views are unchanged: remove "
            f"{path} to keep the current champion"
        ) from None


def _recover(registry: Registry) -> bool:
    """Finish a change a crash interrupted and remove its leftovers (the lock held).

    A journal naming a model that does not pass now is refused first, and then nothing is
    touched (:func:`_check_change`).

    Returns:
        Whether there was anything to repair.
    """
    try:
        pending: Pending | None = read_record(registry.folder / JOURNAL_FILE, Pending, "journal")
    except FileNotFoundError:
        pending = None
    checked = None if pending is None else _checked_journal(pending, registry)
    strays = _strays(registry)
    for stray in strays:
        if stray.is_dir():
            shutil.rmtree(stray, ignore_errors=True)
        else:
            stray.unlink(missing_ok=True)
    if pending is None or checked is None:
        return bool(strays)
    _write_change(pending, *checked, registry)
    return True


def settle(registry: Registry = PROJECT_REGISTRY) -> bool:
    """Finish a promotion or rollback a crash interrupted, before anyone reads what it writes.

    Cheap when there is nothing to do (no lock is taken): the gate calls it before reading
    ``ci/baseline.json``. Returns whether anything was repaired.
    """
    if not (registry.folder / JOURNAL_FILE).is_file() and not _strays(registry):
        return False
    with _locked(registry):
        return _recover(registry)


def _copy_into_registry(folder: Path, models: Path, verdict: Verdict) -> Path:
    """Copy a candidate folder to ``models/<id>`` (staged, then renamed) unless already there.

    The copy's verdict and gate table are ``verdict``, the judgement promotion made, not the
    candidate's. A model promoted before (then rolled back) is already there: only its verdict
    and gate table are replaced.
    """
    target = models / folder.name
    judgement = {VERDICT_FILE: verdict.model_dump_json(indent=2).encode() + b"\n"}
    judgement[SUMMARY_FILE] = render_markdown(verdict).encode()
    if target.is_dir():
        for name, content in judgement.items():
            write_atomic(target / name, content)
        return target
    with staged_folder(models) as staging:
        shutil.copytree(
            folder, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*judgement)
        )
        for name, content in judgement.items():
            (staging / name).write_bytes(content)
        staging.rename(target)
    return target


def _baseline_of(folder: Path) -> Baseline:
    """The baseline a registered model sets: the figures its gate measured (not its card's)."""
    verdict = read_verdict(folder)
    return Baseline(model_id=folder.name, promoted_at=datetime.now(UTC), metrics=verdict.metrics)


def _refuse_dirty(folder: Path) -> None:
    """Refuse a candidate trained from a work tree with uncommitted changes, saying what to do.

    Its card names a commit that does not hold the code, configuration and schema that made it,
    so nobody could rebuild or review the champion from git. Called after the verdict is checked,
    so the card read here is the one the gate bound.
    """
    git = read_card(folder / CARD_FILE).git
    if git.dirty:
        raise UserError(
            f"candidate {folder.name} was trained from a work tree with uncommitted changes (its"
            f" card: commit {git.commit[:12]}, dirty), so no commit holds what made it: commit"
            " your changes, then `just pipeline` and `just promote` again, or promote it as it is"
            " with `just promote --allow-dirty`"
        )


def promote(
    candidate_id: str | None = None,
    *,
    registry: Registry = PROJECT_REGISTRY,
    allow_dirty: bool = False,
    candidates: Path = CANDIDATES_DIR,
    gate_config: GateConfig | None = None,
) -> Pointer:
    """Make a gated candidate (the newest when ``candidate_id`` is None) the champion.

    Nothing the candidate's files state is taken on trust. First the cheap checks of
    :func:`churn_model.release.verdict.require_promotable`: every file its verdict
    binds unchanged, the verdict's rows recomputed from its figures under the gate config
    (``gate_config``, by default read from ``registry.gates``) and the current baseline, all
    passing. Then it is judged again, as the gate judges
    (:func:`churn_model.release.rejudge.require_judged_alike`): its card must name its
    folder, its model is re-scored on its held-out split and served on the probe rows, and the
    verdict computed now must pass and be the one it brings. The registry records that verdict,
    and the baseline takes its figures. A candidate whose card says the work tree was dirty when
    it was trained is refused unless ``allow_dirty`` (a decision the caller states). Promoting
    the current champion again judges it again and rewrites the baseline and the docs (a
    repair).

    Returns:
        The registry pointer after the promotion.
    """
    folder = find_candidate(candidate_id, candidates)
    with _locked(registry):
        _recover(registry)
        pointer = read_pointer(registry)
        if pointer.champion == folder.name:
            own = _baseline_of(registry.models / folder.name)
            _change(Pending(pointer=pointer, baseline=own), registry)
            return pointer
        verdict = read_verdict(folder)
        config = gate_config or load_gate_config(registry.gates)
        baseline = read_baseline(registry.baseline)
        require_promotable(folder, verdict, config, baseline, registry.gates)
        if not allow_dirty:
            _refuse_dirty(folder)
        model_config = load_model_config(registry.model_config)
        judged = require_judged_alike(folder, verdict, config, baseline, model_config)
        _registered_verdict(_copy_into_registry(folder, registry.models, judged))
        pointer = Pointer(
            champion=folder.name,
            history=[*pointer.history, folder.name],
            updated_at=datetime.now(UTC),
        )
        promoted = Baseline(
            model_id=folder.name, promoted_at=datetime.now(UTC), metrics=judged.metrics
        )
        _change(Pending(pointer=pointer, baseline=promoted), registry, judged)
        return pointer


def rollback(registry: Registry = PROJECT_REGISTRY) -> Pointer:
    """Restore the previous champion (pointer, baseline and docs); the rolled-back copy stays.

    Returns:
        The registry pointer after the rollback.
    """
    with _locked(registry):
        _recover(registry)
        pointer = read_pointer(registry)
        if len(pointer.history) < 2:
            raise UserError(f"{registry.folder}: no previous champion to roll back to")
        history = pointer.history[:-1]
        pointer = Pointer(champion=history[-1], history=history, updated_at=datetime.now(UTC))
        baseline = _baseline_of(registry.models / history[-1])
        _change(Pending(pointer=pointer, baseline=baseline), registry)
        return pointer


def export(dest: Path, registry: Registry = PROJECT_REGISTRY) -> Path:
    """Copy the champion's ``model.skops`` and ``card.json`` into ``dest`` (for the image).

    An interrupted change is finished first (:func:`settle`); every file the champion's verdict
    binds is checked against it, and the champion is judged again
    (:func:`churn_model.release.rejudge.require_passes_now`), so neither a tampered
    model or card nor a pointer aimed at a model that does not pass now is shipped.

    Returns:
        The champion's folder in the registry.
    """
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest}: is a file, not a folder to export the model into.")
    settle(registry)
    pointer = read_pointer(registry)
    if pointer.champion is None:
        raise UserError(f"{registry.folder}: no champion yet: run `just train gate promote` first")
    folder = registry.models / pointer.champion
    config = load_gate_config(registry.gates)
    model_config = load_model_config(registry.model_config)
    try:
        require_passes_now(folder, _registered_verdict(folder), config, model_config)
    except UserError as error:
        raise UserError(
            f"{registry.folder / POINTER_FILE}: names champion {pointer.champion}, which does not "
            f"pass now, so it is not exported ({error})"
        ) from None
    for name in (MODEL_FILE, CARD_FILE):
        # A full disk names the file being written, not the one copied (shutil names the source).
        with atomic_path(dest / name) as temporary:
            shutil.copyfile(folder / name, temporary)
    return folder
