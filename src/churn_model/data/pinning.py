"""Loading and pinning the dataset: read CSV/Parquet safely, materialise the DVC-pinned sample.

This module is *machinery*. ``data.dvc`` at the repository root pins ``data/``, where the domain
names the training file (:mod:`churn_model.domain.example`). Out of the box there is
no DVC remote, so the bundled sample is rebuilt from code by the domain's ``build_sample`` and
DVC verifies that the rebuilt bytes are exactly the pinned ones. A team with its own remote gets
``dvc pull`` instead, verified the same way. Paths are relative to the repository root, the
working directory of every recipe.

``data.dvc`` tracks the folder, not the file: ``dvc add data`` re-pins it under that name with no
hand editing, and a team's dataset may be several files. The price: any other file dropped into
``data/`` fails verification, so keep your own extracts elsewhere (``just train path/to/file.csv``).
"""

import json
import shutil
import subprocess  # runs the dvc executable found on PATH, fixed arguments # nosec B404
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from churn_model.data.tables import read_whole, write_csv
from churn_model.domain import example
from churn_model.errors import UserError
from churn_model.files import sha256_of
from churn_model.records import Record

DATA_DIR = Path("data")
DATA_FILE = example.DATA_FILE
"""The pinned training table, under :data:`DATA_DIR` (named by the domain)."""
DVC_FILE = Path("data.dvc")


class DataInfo(Record):
    """The data a model was trained and evaluated on: its version, where it was read, its rows."""

    version: str
    source: str
    rows: int


def read_table(path: Path, *, as_text: bool = False) -> pd.DataFrame:
    """Read a CSV or Parquet file (chosen by suffix) into a frame, without validating it.

    Identifiers, categories and a text label are read as strings, so ``00123`` stays ``00123``;
    ``as_text`` reads every CSV column as text (how a schema is inferred: nothing is lost to type
    guessing). The read is bounded before any byte is parsed (size, line length, binary content,
    column count: see :mod:`churn_model.data.tables`). Every way a file can fail to be
    a table (missing, a directory, an unknown suffix, empty, binary, too large, not comma-separated,
    a broken Parquet file) raises :class:`UserError` with one sentence naming the file.
    """
    return read_whole(path, as_text=as_text)


def _dvc_executable() -> str:
    """Locate the ``dvc`` command installed by uv (the ``data`` dependency group).

    On ``PATH`` first (``uv run`` puts the environment there), else beside the running Python, so
    a test runner started as ``.venv/bin/pytest`` finds it too.
    """
    found = shutil.which("dvc") or shutil.which("dvc", path=str(Path(sys.executable).parent))
    if found is None:
        raise UserError(
            "dvc is not installed: run `uv sync` (it is in the 'data' dependency group) "
            "and call this through `uv run` or `just`."
        )
    return found


def _dvc(*args: str) -> subprocess.CompletedProcess[str]:
    """Run one dvc command in the repository root and return its result (never raises on rc)."""
    return subprocess.run(  # fixed arguments, no shell # noqa: S603 # nosec B603
        [_dvc_executable(), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _first_line(text: str) -> str:
    """Return a command's ``ERROR`` line, else its first non-empty line, for one-line messages."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next(
        (line for line in lines if line.startswith("ERROR")), lines[0] if lines else "no output"
    )


def _dvc_document(text: str | None = None, where: str = str(DVC_FILE)) -> dict[str, object]:
    """Parse ``data.dvc`` (or ``text``, a version of it) into a mapping."""
    # PyYAML comes with the 'train' extra; imported here so serving, which never reads data.dvc,
    # does not need it.
    import yaml  # noqa: PLC0415 -- optional dependency, see the comment above

    try:
        document = yaml.safe_load(DVC_FILE.read_text(encoding="utf-8") if text is None else text)
    except FileNotFoundError:
        raise UserError(f"{DVC_FILE}: not found; run this from the repository root.") from None
    except yaml.YAMLError:
        raise UserError(f"{where}: not valid YAML, so not a DVC file.") from None
    if not isinstance(document, dict):
        raise UserError(f"{where}: not a DVC file (expected a mapping).")
    return document


def _pinned(text: str | None = None, where: str = str(DVC_FILE)) -> dict[str, object]:
    """Return the single output recorded in ``data.dvc`` (its md5, size, file count and path)."""
    outs = _dvc_document(text, where).get("outs")
    if not (isinstance(outs, list) and len(outs) == 1 and isinstance(outs[0], dict)):
        raise UserError(f"{where}: expected exactly one entry under 'outs'.")
    out: dict[str, object] = outs[0]
    if not isinstance(out.get("md5"), str):
        raise UserError(f"{where}: the output has no md5; re-pin it with `dvc add data`.")
    return out


def _workspace_summary() -> str:
    """Describe what ``data/`` holds now, to put beside what ``data.dvc`` pins."""
    if not DATA_DIR.is_dir():
        return f"{DATA_DIR}/ is missing"
    files = sorted(p for p in DATA_DIR.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    names = ", ".join(p.relative_to(DATA_DIR).as_posix() for p in files[:5])
    more = ", ..." if len(files) > 5 else ""
    return f"{DATA_DIR}/ holds: {len(files)} file(s), {size} bytes ({names}{more})"


def _changes() -> list[str]:
    """How ``data/`` differs from ``data.dvc`` (``[]`` when it matches), as DVC reports it.

    ``dvc status`` cannot answer this in a fresh clone: with an empty cache it reports "not in
    cache" whether or not the bytes match (and exits 0 either way). ``dvc data status --json``
    hashes the workspace and lists it under ``uncommitted`` only when it differs from the pin.
    """
    result = _dvc("data", "status", "--json")
    if result.returncode != 0:
        raise UserError(f"dvc data status failed: {_first_line(result.stderr + result.stdout)}")
    try:
        report = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        raise UserError(f"dvc data status printed no JSON: {_first_line(result.stdout)}") from None
    return sorted(
        kind
        for kind, paths in report.get("uncommitted", {}).items()
        if any(str(p).rstrip("/") == DATA_DIR.as_posix() for p in paths)
    )


def _default_remote() -> str | None:
    """The name of the default DVC remote, or ``None`` when none is configured."""
    remote = _dvc("remote", "default")
    name = remote.stdout.strip()
    return name if remote.returncode == 0 and name else None


_ADD_REMOTE = "`uv run dvc remote add -d storage <url>` (see .dvc/config)"


def _ways_to_the_pin(remote: str | None) -> str:
    """What ``just data`` does once ``data/`` is out of the way, and what it needs to succeed."""
    if remote is not None:
        return f"it pulls the pinned data from the DVC remote '{remote}'"
    if example.build_sample is not None:
        return (
            "no DVC remote is configured, so it rebuilds the bundled sample from code; that is"
            f" the pinned data only if {DVC_FILE} still pins the bundled sample. If {DVC_FILE}"
            f" pins your own data, configure the remote that holds it, {_ADD_REMOTE} (whoever"
            " pinned it runs `uv run dvc push`)"
        )
    return f"it needs the DVC remote that holds the pinned data: configure it, {_ADD_REMOTE}"


def verify() -> None:
    """Ask DVC whether ``data/`` matches ``data.dvc``; raise :class:`UserError` if it does not.

    The message says what differs and every way out that leads somewhere: get the pinned bytes
    back (from the remote, or rebuilt from code when the pin is the bundled sample), or re-pin
    what ``data/`` holds deliberately.
    """
    changes = _changes()
    if changes:
        pinned = _pinned()
        raise UserError(
            f"{DATA_DIR}/ does not match {DVC_FILE} (dvc data status: {', '.join(changes)})"
            f"\n  {DVC_FILE} pins: {pinned.get('nfiles', '?')} file(s), "
            f"{pinned.get('size', '?')} bytes, md5 {pinned['md5']}"
            f"\n  {_workspace_summary()}"
            f"\n  To get the pinned data back, move {DATA_DIR}/ aside and run `just data`:"
            f" {_ways_to_the_pin(_default_remote())}."
            "\n  To use what data/ holds instead, re-pin it deliberately: `uv run dvc add data`,"
            f" commit {DVC_FILE}, and `uv run dvc push` it to your remote so others can pull it."
            "\n  To train on other data without re-pinning, pass its file: `just train path.csv`."
        )


def _pull(remote: str | None) -> str | None:
    """``dvc pull`` from ``remote``; return ``None`` on success, else why the data is not here."""
    if remote is None:
        return "no DVC remote is configured"
    pulled = _dvc("pull")
    if pulled.returncode == 0:
        return None
    return (
        f"dvc pull from the remote '{remote}' failed ({_first_line(pulled.stderr + pulled.stdout)})"
    )


def _rebuild(why_not_pulled: str) -> None:
    """Write the bundled sample to :data:`DATA_FILE` and verify it; remove it if it is not the pin.

    A rebuilt file that does not match stays nowhere: left in ``data/``, it would turn the next
    ``just data`` into a "does not match" error whose advice is to run ``just data`` again.
    """
    build = example.build_sample
    if build is None:
        raise UserError(
            f"{DATA_FILE} is missing and cannot be fetched: {why_not_pulled}, and the domain has"
            f" no offline generator ({example.__name__}.build_sample is None)."
            f" Configure the DVC remote that holds the data {DVC_FILE} pins, {_ADD_REMOTE},"
            " then run `just data` again; whoever pinned it runs `uv run dvc push`."
        )
    created_dir = not DATA_DIR.exists()
    write_csv(build(), DATA_FILE)
    if not _changes():
        return
    DATA_FILE.unlink()
    if created_dir and not any(DATA_DIR.iterdir()):
        DATA_DIR.rmdir()
    raise UserError(
        f"{DATA_FILE} is missing and cannot be fetched: {why_not_pulled}; and the bundled"
        f" sample rebuilt from code is not what {DVC_FILE} pins (it was re-pinned to other data)."
        f" Either configure the DVC remote that holds the pinned data, {_ADD_REMOTE}, and run"
        " `just data` again (whoever pinned it runs `uv run dvc push` first); or go back to the"
        f" bundled sample: restore {DVC_FILE} from git (`git checkout <commit> -- {DVC_FILE}`)."
    )


def materialise() -> Path:
    """Make :data:`DATA_FILE` match ``data.dvc`` and return its path.

    An existing ``data/`` is only verified (one DVC call), never overwritten: if someone edited
    it, that is an error to resolve, not something to undo silently. A missing file is pulled
    from the default DVC remote when one is configured and reachable, otherwise rebuilt from code
    by the domain's ``build_sample``; either way DVC then verifies it. Nothing here ever re-pins
    ``data.dvc``.
    """
    _dvc_executable()
    if DATA_FILE.exists():
        verify()
        return DATA_FILE
    remote = _default_remote()
    why_not = _pull(remote)
    if why_not is None:
        verify()
        return DATA_FILE
    if remote is not None and example.build_sample is not None:
        print(f"warning: {why_not}; rebuilding the bundled sample instead.", file=sys.stderr)
    _rebuild(why_not)
    return DATA_FILE


def data_version(path: Path) -> str:
    """Identify the bytes a model was trained on, for its card.

    For the pinned sample, the md5 that ``data.dvc`` records (call :func:`materialise` first: this
    does not re-verify); for any other file, the SHA-256 of its bytes.
    """
    if path.resolve() == DATA_FILE.resolve():
        return f"md5:{_pinned()['md5']}"
    return f"sha256:{sha256_of(path)}"


def load_dataset(path: Path | None = None) -> tuple[pd.DataFrame, DataInfo]:
    """Load, validate and describe the training data.

    ``None`` (or the sample's own path) means the DVC-pinned sample, materialised and verified
    first; any other path is read as CSV or Parquet. Invalid data raises
    :class:`~churn_model.data.validation.DataValidationError` listing every problem.
    """
    if path is None or path.resolve() == DATA_FILE.resolve():
        path = materialise()
    # Imported here: the model card reads DataInfo from this module, and the service, which loads
    # cards, must not load pyarrow and the validation stack with it.
    from churn_model.data.validation import validate_file  # noqa: PLC0415 -- see above

    frame = validate_file(path).frame
    return frame, DataInfo(version=data_version(path), source=str(path), rows=len(frame))


# ---------------------------------------------------------------- refreshing the pin (Retrain)


@dataclass(frozen=True)
class Refresh:
    """What :func:`refresh_pin` did: whether the pin moved, and a sentence saying how."""

    changed: bool
    message: str


def _committed_pin() -> str | None:
    """The md5 ``data.dvc`` pins at git's ``HEAD``, or ``None`` when HEAD has no ``data.dvc``."""
    git = shutil.which("git")
    if git is None:
        raise UserError("git is not installed: refreshing the data compares with the commit")
    shown = subprocess.run(  # fixed arguments, no shell # noqa: S603 # nosec B603
        [git, "show", f"HEAD:{DVC_FILE.as_posix()}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        return None
    return str(_pinned(shown.stdout, f"HEAD:{DVC_FILE}")["md5"])


def refresh_pin() -> Refresh:
    """Update ``data.dvc`` from the team's source and say whether the pinned data changed.

    When ``data.dvc`` is a DVC import (``dvc import`` from a data registry, ``dvc import-url`` from
    a bucket, URL or path: it records its source under ``deps``), ``dvc update`` fetches the
    source's current version and re-pins it; when the data changed and a default DVC remote is
    configured, ``dvc push`` uploads it, so a fresh clone (the Check workflow) can pull what the
    new pin names. A pin made with ``dvc add`` has no source to update from: a team puts its own
    export step (ending in ``dvc add data``) before this command in the ``data-refresh`` recipe.

    Either way "changed" compares the md5 pinned now with the one committed at git's ``HEAD``,
    so a re-pin made by such a step counts too.
    """
    updated = bool(_dvc_document().get("deps"))
    if updated:
        result = _dvc("update", DVC_FILE.as_posix())
        if result.returncode != 0:
            raise UserError(f"dvc update failed: {_first_line(result.stderr + result.stdout)}")
    before, now = _committed_pin(), str(_pinned()["md5"])
    how = "dvc update" if updated else f"{DVC_FILE} is not a DVC import, so nothing to update"
    if before == now:
        return Refresh(changed=False, message=f"{how}: the data is unchanged (md5 {now})")
    remote = _dvc("remote", "default")
    if remote.returncode == 0 and remote.stdout.strip():
        pushed = _dvc("push")
        if pushed.returncode != 0:
            reason = _first_line(pushed.stderr + pushed.stdout)
            raise UserError(f"dvc push to '{remote.stdout.strip()}' failed: {reason}")
    return Refresh(changed=True, message=f"{how}: the data changed (md5 {before} -> {now})")
