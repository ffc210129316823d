"""Experiment tracking and the shared model registry on MLflow: opt-in, off unless configured.

Set ``MLFLOW_TRACKING_URI`` (MLflow's own variable) and the model path mirrors itself to MLflow:

- ``just train`` logs one run per candidate, named after it: the configuration as parameters,
  every number of ``metrics.json`` as a metric (dotted names, slices included), tags (candidate id,
  model hash, git commit and dirty flag, data version, library versions) and the candidate's files
  under the artifact folder ``candidate/``. The run is logged while the candidate is still staged:
  if logging fails, the candidate is not created and the run is marked ``FAILED``.
- ``just gate`` adds the verdict to that run (tags, a ``gate.passed`` metric, ``verdict.json``).
- ``just promote``, ``just rollback`` and ``just register``, after the local change has committed,
  point the ``champion`` alias of the registered model named after the project at the version of
  the model ``ci/baseline.json`` names, registering that version first if needed.

The local registry, ``ci/baseline.json`` and ``docs/model/`` stay the source of truth: MLflow
follows them and never decides anything. When the variable is unset or empty, :func:`connect`
returns ``None`` without importing MLflow, and nothing else here runs.

Credentials come only from MLflow's standard variables (``MLFLOW_TRACKING_USERNAME`` and
``MLFLOW_TRACKING_PASSWORD``, ``MLFLOW_TRACKING_TOKEN``, or the URI itself); every message masks
them, and none is written to a card or an artifact.
"""

import contextlib
import functools
import io
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from churn_model import PROJECT_NAME
from churn_model.errors import UserError, first_line
from churn_model.files import sha256_of
from churn_model.model.artifact import MODEL_FILE
from churn_model.model.candidate import StagedLog
from churn_model.model.card import ModelCard
from churn_model.release.gate_report import SUMMARY_FILE
from churn_model.release.gate_rows import BASELINE_FILE, read_baseline
from churn_model.release.verdict import VERDICT_FILE, Verdict

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

URI_ENV = "MLFLOW_TRACKING_URI"
EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
SECRET_ENVS = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
CHAMPION_ALIAS = "champion"
ARTIFACT_PATH = "candidate"
CANDIDATE_TAG = "candidate_id"
MODEL_SHA_TAG = "model_sha256"
GATE_RESULT_TAG = "gate.result"
GATE_SHA_TAG = "gate.model_sha256"

PREFLIGHT_SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
"""MLflow's retry and timeout variables for the first call only, unless already set: its defaults
retry a dead server for minutes, and a misconfiguration should be reported at once."""

_NAME = re.compile(r"[^\w\-. /:]")
"""Characters MLflow does not accept in metric, parameter and tag names."""
_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")
_SAFE_ID = re.compile(r"^[\w.-]+$")
_REASON_CHARS = 400


@dataclass(frozen=True)
class Tracker:
    """A checked connection to a tracking server, and where this project's runs and models go."""

    client: "MlflowClient"
    uri: str
    """The tracking URI with credentials masked: safe to print."""
    experiment: str
    experiment_id: str
    model_name: str
    raw_uri: str = field(repr=False, default="")
    """The URI as given, only to scrub its credentials from error messages; never printed."""


# ---------------------------------------------------------------- credentials stay out of output


def mask_uri(uri: str) -> str:
    """Return ``uri`` with any user information and query string replaced by ``***``."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc and not parts.query:
        return uri  # nothing to mask (and urlunsplit would rewrite "sqlite:///x" as "sqlite:/x")
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc, query="***" if parts.query else ""))


def scrub(text: str, uri: str) -> str:
    """Remove every credential that could be in ``text``: the URI's, MLflow's secret variables'."""
    parts = urlsplit(uri)
    secrets = {os.environ.get(name, "") for name in SECRET_ENVS}
    userinfo = parts.netloc.rpartition("@")[0]
    # The password alone may appear decoded; a user name without a password is often a token.
    secret = parts.password if parts.password is not None else parts.username
    secrets |= {userinfo, parts.query, secret or ""}
    secrets |= {unquote(text) for text in secrets}
    for value in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(value, "***")
    return _USERINFO.sub("***@", text)


def _reason(error: BaseException, uri: str) -> str:
    """One line saying why a call failed, credentials removed, of bounded length."""
    reason = scrub(first_line(error), uri)
    return reason if len(reason) <= _REASON_CHARS else reason[:_REASON_CHARS] + "..."


@contextlib.contextmanager
def _reported(what: str, uri: str) -> Iterator[None]:
    """Turn a failure talking to MLflow into a :class:`UserError`: ``<what>: <reason>``."""
    from mlflow.exceptions import MlflowException
    from requests import RequestException

    try:
        yield
    except (MlflowException, RequestException, OSError, ImportError) as error:
        raise UserError(f"{what}: {_reason(error, uri)}") from None


@contextlib.contextmanager
def _fail_fast() -> Iterator[None]:
    """Apply :data:`PREFLIGHT_SETTINGS` for the block (MLflow reads them on every request)."""
    added = [name for name in PREFLIGHT_SETTINGS if name not in os.environ]
    os.environ.update({name: PREFLIGHT_SETTINGS[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


# ---------------------------------------------------------------- connecting


def connect() -> Tracker | None:
    """Return a checked :class:`Tracker` when ``MLFLOW_TRACKING_URI`` is set, else ``None``.

    Called before anything is trained, gated or promoted: a missing client, a malformed URI, an
    unreachable server or refused credentials is a :class:`UserError` naming the masked URI. The
    experiment is ``MLFLOW_EXPERIMENT_NAME`` (MLflow's variable), else the project's name; it is
    created if missing. Without the variable MLflow is not imported at all.
    """
    uri = os.environ.get(URI_ENV, "").strip()
    if not uri:
        return None
    shown = mask_uri(uri)
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise UserError(
            f"{URI_ENV} is set ({shown}), but MLflow's client is not installed: run "
            f"`uv sync --extra tracking`, or unset {URI_ENV} to work without tracking."
        ) from None
    experiment = os.environ.get(EXPERIMENT_ENV, "").strip() or PROJECT_NAME
    problem = f"cannot use the MLflow tracking server at {shown} ({URI_ENV})"
    with _reported(problem, uri), _fail_fast():
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    return Tracker(client, shown, experiment, experiment_id, PROJECT_NAME, raw_uri=uri)


def describe(tracker: Tracker) -> str:
    """Say where runs go, for the CLI: ``experiment 'x' at <masked uri>``."""
    return f"experiment '{tracker.experiment}' at {tracker.uri}"


# ---------------------------------------------------------------- what a run records


def flat_numbers(values: Mapping[str, object], prefix: str = "") -> dict[str, float]:
    """Every number in a nested mapping under a dotted name; ``None`` and non-numbers are left out.

    Names are made acceptable to MLflow (characters it refuses become ``_``), so slice names
    from any schema can be logged.
    """
    flat: dict[str, float] = {}
    for key, value in values.items():
        name = _NAME.sub("_", f"{prefix}{key}")
        if isinstance(value, Mapping):
            flat |= flat_numbers(value, f"{name}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def _flat_strings(values: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """Every leaf of a nested mapping as text under a dotted name (parameters, tags)."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = _NAME.sub("_", f"{prefix}{key}")
        if isinstance(value, Mapping):
            flat |= _flat_strings(value, f"{name}.")
        else:
            flat[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return flat


def run_params(card: ModelCard) -> dict[str, str]:
    """The run's parameters: the validated model configuration and the split policy."""
    return _flat_strings(
        {
            "seed": card.seed,
            "decision": {"threshold": card.threshold},
            "model": card.params,
            "split": card.split.model_dump(),
        }
    )


def run_tags(card: ModelCard, model_sha256: str) -> dict[str, str]:
    """The run's tags: which candidate, model, code, data and libraries it records."""
    return {
        CANDIDATE_TAG: card.id,
        MODEL_SHA_TAG: model_sha256,
        "mlflow.source.git.commit": card.git.commit,
        **_flat_strings(
            {
                "git": card.git.model_dump(),
                "data": card.data.model_dump(),
                "package_version": card.package_version,
                "library": card.libraries,
            }
        ),
    }


def _chunks[T](items: list[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _log_batch(
    tracker: Tracker,
    run_id: str,
    *,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log metrics, parameters and tags in as few requests as MLflow's per-request limits allow."""
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    client = tracker.client
    for metric_chunk in _chunks([Metric(k, v, now, 0) for k, v in (metrics or {}).items()], 1_000):
        client.log_batch(run_id, metrics=metric_chunk)
    for param_chunk in _chunks([Param(k, v) for k, v in (params or {}).items()], 100):
        client.log_batch(run_id, params=param_chunk)
    for tag_chunk in _chunks([RunTag(k, v) for k, v in (tags or {}).items()], 100):
        client.log_batch(run_id, tags=tag_chunk)


def _terminate(tracker: Tracker, run_id: str, status: Literal["FINISHED", "FAILED"]) -> None:
    """End a run. MLflow prints a link built from the raw URI (credentials included): swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        tracker.client.set_terminated(run_id, status)


# ---------------------------------------------------------------- train and gate


def log_candidate(tracker: Tracker, folder: Path, card: ModelCard) -> str:
    """Log a staged candidate folder as a finished run; return the run id.

    On any failure the run is marked ``FAILED`` (best effort) and a :class:`UserError` is raised,
    so the caller can discard the staged candidate.
    """
    failed = f"logging candidate {card.id} to MLflow at {tracker.uri} failed"
    with _reported(failed, tracker.raw_uri):
        run = tracker.client.create_run(
            tracker.experiment_id,
            start_time=int(card.created_at.timestamp() * 1000),
            tags={CANDIDATE_TAG: card.id},
            run_name=card.id,
        )
    run_id = str(run.info.run_id)
    try:
        with _reported(failed, tracker.raw_uri):
            _log_batch(
                tracker,
                run_id,
                params=run_params(card),
                metrics=flat_numbers(card.metrics.model_dump()),
                tags=run_tags(card, sha256_of(folder / MODEL_FILE)),
            )
            tracker.client.log_artifacts(run_id, str(folder), ARTIFACT_PATH)
            _terminate(tracker, run_id, "FINISHED")
    except BaseException:
        mark_failed(tracker, run_id)
        raise
    return run_id


def staged_log(tracker: Tracker) -> StagedLog:
    """What ``create_candidate`` calls on the staged candidate: log it as a run with ``tracker``.

    The returned callable logs the folder (:func:`log_candidate`) and hands back what marks that
    run ``FAILED``, should the candidate then not be created.
    """

    def log(folder: Path, card: ModelCard) -> Callable[[], None]:
        run_id = log_candidate(tracker, folder, card)
        return functools.partial(mark_failed, tracker, run_id)

    return log


def mark_failed(tracker: Tracker, run_id: str) -> None:
    """Mark a run ``FAILED``, best effort: the error that led here is the one worth reporting."""
    # Any exception: the server may be what failed in the first place.
    with contextlib.suppress(Exception):
        _terminate(tracker, run_id, "FAILED")


def _check_id(candidate_id: str) -> None:
    """Refuse an id that is not a plain name: it goes into MLflow's search filters."""
    if not _SAFE_ID.match(candidate_id):
        raise UserError(f"{candidate_id!r} is not a candidate id")


def find_run(tracker: Tracker, candidate_id: str) -> "Run | None":
    """Return the finished run of candidate ``candidate_id`` in the experiment, if there is one."""
    _check_id(candidate_id)
    with _reported(f"searching MLflow at {tracker.uri} failed", tracker.raw_uri):
        runs = tracker.client.search_runs(
            [tracker.experiment_id],
            filter_string=(
                f"tags.{CANDIDATE_TAG} = '{candidate_id}' and attributes.status = 'FINISHED'"
            ),
            max_results=1,
        )
    return runs[0] if runs else None


def log_verdict(tracker: Tracker, folder: Path, verdict: Verdict) -> str | None:
    """Add the gate's verdict to the candidate's run; return its id (``None``: no run to add to)."""
    run = find_run(tracker, verdict.candidate_id)
    if run is None:
        return None
    run_id = str(run.info.run_id)
    failures = sum(row.status == "fail" for row in verdict.rows)
    with _reported(f"logging the verdict to MLflow at {tracker.uri} failed", tracker.raw_uri):
        _log_batch(
            tracker,
            run_id,
            metrics={"gate.passed": float(verdict.passed), "gate.failed_checks": float(failures)},
            tags={
                GATE_RESULT_TAG: "passed" if verdict.passed else "failed",
                GATE_SHA_TAG: verdict.model_sha256,
                "gate.baseline_id": verdict.baseline_id or "none",
            },
        )
        for name in (VERDICT_FILE, SUMMARY_FILE):
            tracker.client.log_artifact(run_id, str(folder / name), ARTIFACT_PATH)
    return run_id


# ---------------------------------------------------------------- the registry follows the baseline


def _version_of(tracker: Tracker, model_id: str) -> str | None:
    """The registered version of candidate ``model_id``, registering it if its run passed the gate.

    Returns ``None`` when there is no finished run for it, or the run carries no passing verdict
    for its own model file: only a gated model is ever registered.
    """
    _check_id(model_id)
    client, name = tracker.client, tracker.model_name
    versions = client.search_model_versions(
        f"name = '{name}' and tags.{CANDIDATE_TAG} = '{model_id}'"
    )
    if versions:
        return str(max(int(version.version) for version in versions))
    run = find_run(tracker, model_id)
    if run is None:
        return None
    tags = run.data.tags
    if tags.get(GATE_RESULT_TAG) != "passed" or tags.get(GATE_SHA_TAG) != tags.get(MODEL_SHA_TAG):
        return None
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, description=f"Champions of {PROJECT_NAME}.")
    version = client.create_model_version(
        name,
        source=f"runs:/{run.info.run_id}/{ARTIFACT_PATH}",
        run_id=run.info.run_id,
        tags={CANDIDATE_TAG: model_id, MODEL_SHA_TAG: tags[MODEL_SHA_TAG]},
        description=f"Candidate {model_id}",
    )
    return str(version.version)


def _drop_alias(tracker: Tracker) -> None:
    """Remove the champion alias, if the registered model exists and has it."""
    client, name = tracker.client, tracker.model_name
    models = client.search_registered_models(filter_string=f"name = '{name}'")
    if models and CHAMPION_ALIAS in models[0].aliases:
        client.delete_registered_model_alias(name, CHAMPION_ALIAS)


def follow_baseline(tracker: Tracker, model_id: str | None) -> str:
    """Point the registered model's ``champion`` alias at candidate ``model_id``; say what happened.

    Idempotent, so it is also the retry after a failure: an existing version is reused, a new one
    is created only for a gated candidate whose run is found. When the champion has no such run
    (trained or gated with tracking off), the alias is removed rather than left on another model.
    """
    name = tracker.model_name
    with _reported(f"updating the MLflow registry at {tracker.uri} failed", tracker.raw_uri):
        version = None if model_id is None else _version_of(tracker, model_id)
        if version is None:
            _drop_alias(tracker)
            why = (
                "there is no champion"
                if model_id is None
                else f"candidate {model_id} has no gated run in {describe(tracker)} "
                "(train and gate it with tracking on)"
            )
            return f"MLflow: {name} has no @{CHAMPION_ALIAS}: {why}"
        tracker.client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    return f"MLflow: {name} version {version} ({model_id}) is @{CHAMPION_ALIAS} at {tracker.uri}"


# ---------------------------------------------------------------- what the command line says
# Each runs after the local step has committed, so a tracking failure can neither undo nor half-do
# it: the error says what is already done locally and how to retry.


def verdict_note(tracker: Tracker, folder: Path, verdict: Verdict) -> str:
    """Add the verdict to the candidate's run; say so, or why it could not be.

    Raises:
        UserError: the server failed; the message says the verdict is written locally and how
            to retry.
    """
    try:
        run_id = log_verdict(tracker, folder, verdict)
    except UserError as error:
        raise UserError(
            f"{error}\n  the verdict is written locally; run `just gate` to retry"
        ) from None
    if run_id is None:
        return (
            f"MLflow: candidate {verdict.candidate_id} has no run in {describe(tracker)} "
            "(trained with tracking off): verdict not logged"
        )
    return f"MLflow: verdict added to run {run_id}"


def baseline_note(tracker: Tracker, done: str) -> str:
    """Make the champion alias follow ``ci/baseline.json``; say what happened.

    ``done`` says what the command already did locally, for the message of a failure.

    Raises:
        UserError: the server failed; the message says the local registry stays the source of
            truth and how to retry.
    """
    baseline = read_baseline()
    try:
        return follow_baseline(tracker, baseline.model_id if baseline else None)
    except UserError as error:
        raise UserError(
            f"{error}\n  {done}: the local registry, {BASELINE_FILE} and docs/model/ are updated "
            "and remain the source of truth; run `just register` to retry the MLflow registry"
        ) from None
