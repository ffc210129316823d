"""Promotion, rollback and export: only the exact gated model moves, atomically, one at a time."""

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from filelock import FileLock

from churn_model.config import GateConfig, ModelConfig
from churn_model.errors import UserError
from churn_model.model.artifact import CARD_FILE, MODEL_FILE
from churn_model.model.card import read_card
from churn_model.model.report import REPORT_FILE, ROC_FILE
from churn_model.release import registry, rejudge
from churn_model.release.calibration import gates_toml
from churn_model.release.gate import judge, run_gate
from churn_model.release.gate_report import SUMMARY_FILE, render_markdown
from churn_model.release.gate_rows import Baseline, read_baseline
from churn_model.release.rejudge import verdict_differences
from churn_model.release.verdict import VERDICT_FILE, Verdict, hash_files, read_verdict

from model_support import above, fast_config, fast_model_config, lenient_gates, small_candidate

LENIENT = lenient_gates()
FAST_MODEL = fast_model_config()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three ungated candidates, trained on different data (so their models differ)."""
    tmp = tmp_path_factory.mktemp("built")
    return [small_candidate(tmp, seed=seed) for seed in (11, 12, 13)]


_VERDICT_FILES = (VERDICT_FILE, SUMMARY_FILE)
_JUDGED: dict[tuple[str, str, str], dict[str, bytes]] = {}
_JUDGED_AGAIN: dict[tuple[str, ...], Verdict] = {}


def _judging(
    candidate: Path, config: GateConfig, baseline: Baseline | None, model_config: ModelConfig | None
) -> tuple[str, ...]:
    """What a judgement depends on: the candidate's files and data, gates, baseline, config."""
    data = Path(read_card(candidate / CARD_FILE).data.source)
    return (
        str(sorted(hash_files(candidate).items())),
        hashlib.sha256(data.read_bytes()).hexdigest() if data.is_file() else "",
        config.model_dump_json(),
        baseline.model_dump_json(exclude={"promoted_at"}) if baseline else "",
        model_config.model_dump_json() if model_config else "",
    )


@pytest.fixture
def judged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Promotion's judging again of the same bytes, under the same rules, is remembered here.

    Promotion judges every model again (:mod:`churn_model.release.rejudge`), which
    ``test_promotion_trust.py``, ``test_promotion_rederives.py`` and ``test_rejudge.py`` test.
    These tests are about the registry's bookkeeping and promote the same three candidates again
    and again: a judgement of files, data, gates, baseline and model config already judged in this
    module returns the verdict computed then (its latency timing too), instead of scoring again.
    A file changed, a gate moved or another baseline is judged for real.
    """

    def remembered(
        candidate: Path,
        config: GateConfig,
        baseline: Baseline | None,
        model_config: ModelConfig | None = None,
    ) -> Verdict:
        key = _judging(candidate, config, baseline, model_config)
        if key not in _JUDGED_AGAIN:
            _JUDGED_AGAIN[key] = judge(candidate, config, baseline, model_config)
        return _JUDGED_AGAIN[key]

    monkeypatch.setattr(rejudge, "judge", remembered)


class Env:
    """A scratch registry with its own candidates, baseline and docs folder, under one folder."""

    def __init__(self, root: Path, ids: list[str]) -> None:
        """Point every path at the scratch registry laid out under ``root`` (:func:`lay_out`)."""
        self.candidates = root / "candidates"
        self.ids = ids
        self.configs: dict[str, GateConfig] = {}
        self.registry = registry.Registry(
            folder=root / "registry",
            baseline=root / "ci" / "baseline.json",
            docs=root / "docs" / "model",
            gates=root / "ci" / "gates.toml",
            model_config=root / "model.toml",  # every model moved is judged again
        )

    def gate(self, index: int, config: GateConfig = LENIENT) -> None:
        """Gate candidate ``index`` against the scratch baseline.

        These tests are about the registry, not the gate (``test_gate.py``): the same candidate
        bytes judged under the same config against the same baseline get the verdict the gate
        gave them before in this module, instead of being re-scored again.
        """
        folder = self.candidates / self.ids[index]
        self.configs[folder.name] = config
        baseline = read_baseline(self.registry.baseline)
        judged = baseline.model_dump_json(exclude={"promoted_at"}) if baseline else ""
        key = (str(hash_files(folder)), config.model_dump_json(), judged)
        if key not in _JUDGED:
            run_gate(folder, config, baseline, FAST_MODEL)
            _JUDGED[key] = {name: (folder / name).read_bytes() for name in _VERDICT_FILES}
        for name, content in _JUDGED[key].items():
            (folder / name).write_bytes(content)

    def promote(self, index: int | None) -> registry.Pointer:
        """Promote candidate ``index`` (``None``: the newest)."""
        chosen = None if index is None else self.ids[index]
        config = self.configs.get(chosen or self.ids[-1], LENIENT)
        return registry.promote(
            chosen,
            allow_dirty=True,
            candidates=self.candidates,
            gate_config=config,
            registry=self.registry,
        )

    def rollback(self) -> registry.Pointer:
        """Roll the scratch registry back."""
        return registry.rollback(self.registry)

    def pointer(self) -> registry.Pointer:
        """Return the scratch registry's pointer."""
        return registry.read_pointer(self.registry)

    def failing(self, index: int) -> GateConfig:
        """A gate candidate ``index`` fails: a floor above the ROC AUC it measured."""
        card = read_card(self.candidates / self.ids[index] / CARD_FILE)
        return LENIENT.model_copy(
            update={"floors": {"roc_auc": above(card.metrics.overall.roc_auc)}}
        )

    def baseline_id(self) -> str | None:
        """Return the model id the scratch baseline belongs to."""
        baseline = read_baseline(self.registry.baseline)
        return None if baseline is None else baseline.model_id


def lay_out(root: Path, built: list[Path]) -> Env:
    """Copy the ``built`` candidates under ``root``, with lenient gates and the fast config."""
    for folder in built:
        shutil.copytree(folder, root / "candidates" / folder.name)
    (root / "ci").mkdir(parents=True)
    (root / "ci" / "gates.toml").write_text(gates_toml(LENIENT), encoding="utf-8")
    fast_config(root / "model.toml")
    return Env(root, [folder.name for folder in built])


@pytest.fixture
def env(tmp_path: Path, built: list[Path], judged_once: None) -> Env:
    return lay_out(tmp_path / "env", built)


@pytest.fixture(scope="module")
def crowned(tmp_path_factory: pytest.TempPathFactory, built: list[Path]) -> Path:
    """A scratch registry whose champion is candidate 0, gated and promoted once per module."""
    root = tmp_path_factory.mktemp("crowned") / "env"
    first = lay_out(root, built)
    first.gate(0)
    first.promote(0)
    return root


@pytest.fixture
def crowned_env(tmp_path: Path, crowned: Path, built: list[Path], judged_once: None) -> Env:
    """A copy of :func:`crowned` for one test: candidate 0 is the champion, the rest ungated.

    For the tests about what follows a first promotion (``test_promote_then_promote_then_rollback``
    tests that promotion itself).
    """
    return Env(Path(shutil.copytree(crowned, tmp_path / "env")), [folder.name for folder in built])


def test_promote_then_promote_then_rollback(env: Env) -> None:
    env.gate(0)
    first = env.promote(0)
    assert (first.champion, first.history) == (env.ids[0], [env.ids[0]])
    assert env.baseline_id() == env.ids[0]
    docs = env.registry.docs
    assert (docs / ROC_FILE).read_bytes() == (env.candidates / env.ids[0] / ROC_FILE).read_bytes()
    env.gate(2)
    second = env.promote(None)  # the newest candidate
    assert second.history == [env.ids[0], env.ids[2]]
    assert env.baseline_id() == env.ids[2]
    assert env.ids[2] in (docs / REPORT_FILE).read_text()
    assert env.ids[2] in (docs / SUMMARY_FILE).read_text()  # the table it passed
    back = env.rollback()
    assert (back.champion, back.history) == (env.ids[0], env.ids[:1])
    assert env.baseline_id() == env.ids[0]
    assert env.ids[0] in (docs / REPORT_FILE).read_text()
    assert env.ids[0] in (docs / SUMMARY_FILE).read_text()
    assert (env.registry.folder / "models" / env.ids[2] / MODEL_FILE).is_file()
    with pytest.raises(UserError, match="no previous champion"):
        env.rollback()


def _trained_from(folder: Path, *, dirty: bool) -> None:
    """Set in ``folder``'s card (before the gate) whether its tree had uncommitted changes."""
    card = json.loads((folder / CARD_FILE).read_text())
    card["git"] = {"commit": "0123456789abcdef" * 2 + "01234567", "dirty": dirty}
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2))


def test_a_candidate_trained_from_uncommitted_changes_is_promoted_only_when_allowed(
    env: Env,
) -> None:
    _trained_from(env.candidates / env.ids[0], dirty=True)
    _trained_from(env.candidates / env.ids[1], dirty=False)
    env.gate(0)
    refusal = (
        rf"candidate {env.ids[0]} was trained from a work tree with uncommitted changes \(its"
        r" card: commit 0123456789ab, dirty\).* commit your changes, then `just pipeline`.*"
        r"`just promote --allow-dirty`"
    )
    with pytest.raises(UserError, match=refusal):
        registry.promote(
            env.ids[0],
            allow_dirty=False,
            candidates=env.candidates,
            gate_config=LENIENT,
            registry=env.registry,
        )
    assert env.pointer().champion is None
    assert not env.registry.baseline.exists()
    allowed = registry.promote(
        env.ids[0],
        allow_dirty=True,
        candidates=env.candidates,
        gate_config=LENIENT,
        registry=env.registry,
    )
    assert allowed.champion == env.ids[0]
    env.gate(1)
    clean = registry.promote(
        env.ids[1],
        allow_dirty=False,
        candidates=env.candidates,
        gate_config=LENIENT,
        registry=env.registry,
    )
    assert clean.champion == env.ids[1]


def test_a_failing_or_missing_verdict_is_refused(env: Env) -> None:
    with pytest.raises(UserError, match="no verdict"):
        env.promote(0)
    env.gate(0, env.failing(0))
    with pytest.raises(UserError, match="the gate failed this candidate"):
        env.promote(0)
    assert env.pointer().champion is None
    assert not env.registry.baseline.exists()


def test_a_model_changed_after_gating_is_refused(env: Env) -> None:
    env.gate(0)
    model = env.candidates / env.ids[0] / MODEL_FILE
    model.write_bytes(model.read_bytes() + b"tampered")
    with pytest.raises(UserError, match=r"model\.skops changed \(or went missing\) after the gate"):
        env.promote(0)
    assert env.pointer().champion is None


def test_a_verdict_copied_from_another_candidate_is_refused(env: Env) -> None:
    env.gate(0)
    shutil.copy(env.candidates / env.ids[0] / VERDICT_FILE, env.candidates / env.ids[1])
    with pytest.raises(UserError, match="belongs to candidate"):
        env.promote(1)


def test_a_verdict_against_a_stale_baseline_is_refused(env: Env) -> None:
    env.gate(0)
    env.gate(1)  # both judged with no baseline
    env.promote(0)
    with pytest.raises(UserError, match="run `just gate` again"):
        env.promote(1)
    env.gate(1)
    assert env.promote(1).champion == env.ids[1]


def test_a_fresh_clone_promotes_against_the_committed_baseline(crowned_env: Env) -> None:
    # A CI runner has the committed ci/baseline.json but an empty local registry.
    env = crowned_env  # candidate 0 is the champion
    shutil.rmtree(env.registry.folder)
    env.gate(2)
    assert env.promote(2).history == [env.ids[2]]
    assert env.baseline_id() == env.ids[2]


def test_repromoting_the_champion_repairs_its_views(crowned_env: Env) -> None:
    env = crowned_env  # candidate 0 is the champion
    env.registry.baseline.unlink()
    assert env.promote(0).history == [env.ids[0]]
    assert env.baseline_id() == env.ids[0]


def test_a_crash_while_switching_keeps_the_old_champion(
    crowned_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = crowned_env  # candidate 0 is the champion
    env.gate(1)
    before = {p: p.read_bytes() for p in env.registry.docs.iterdir()}
    pointer_file = env.registry.folder / registry.POINTER_FILE
    real_replace = os.replace

    def crash_on_pointer(src: str, dst: str | Path) -> None:
        if Path(dst) == pointer_file:
            raise OSError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_pointer)
    with pytest.raises(OSError, match="power cut"):
        env.promote(1)
    assert env.pointer().champion == env.ids[0]
    assert env.baseline_id() == env.ids[0]
    assert {p: p.read_bytes() for p in env.registry.docs.iterdir()} == before
    assert [p.name for p in pointer_file.parent.iterdir() if p.name.startswith(".champ")] == []
    monkeypatch.setattr(os, "replace", real_replace)
    assert env.promote(1).champion == env.ids[1]


def test_concurrent_promotions_do_not_corrupt_the_registry(crowned_env: Env) -> None:
    env = crowned_env  # candidate 0 is the champion
    env.gate(1)
    env.gate(2)  # both judged against champion 0: only one may win
    outcomes: list[str] = []

    def run(index: int) -> None:
        try:
            outcomes.append(env.promote(index).champion or "")
        except UserError as error:
            outcomes.append(f"refused: {error}")

    threads = [threading.Thread(target=run, args=(i,)) for i in (1, 2, 1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pointer = env.pointer()
    assert pointer.champion in env.ids[1:]
    assert pointer.history == [env.ids[0], pointer.champion]
    assert outcomes.count(pointer.champion or "") == 2  # the winner, and its no-op repeat
    assert sum(outcome.startswith("refused") for outcome in outcomes) == 2
    assert env.baseline_id() == pointer.champion
    json.loads((env.registry.folder / registry.POINTER_FILE).read_text())


def test_a_locked_registry_is_reported(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.gate(0)
    monkeypatch.setattr(registry, "LOCK_TIMEOUT_S", 0.05)
    env.registry.folder.mkdir(parents=True)
    with FileLock(env.registry.folder / registry.LOCK_FILE):
        with pytest.raises(UserError, match="locked by another run"):
            env.promote(0)
        with pytest.raises(UserError, match="locked by another run"):
            env.rollback()


def test_export_copies_the_champion_and_refuses_otherwise(env: Env, tmp_path: Path) -> None:
    dest = tmp_path / "image"
    with pytest.raises(UserError, match="no champion yet"):
        registry.export(dest, env.registry)
    env.gate(0)
    env.promote(0)
    registry.export(dest, env.registry)
    champion = env.registry.folder / "models" / env.ids[0]
    for name in (MODEL_FILE, CARD_FILE):
        assert (dest / name).read_bytes() == (champion / name).read_bytes()
    (champion / MODEL_FILE).write_bytes(b"tampered")
    with pytest.raises(UserError, match=r"model\.skops differs from what the gate passed"):
        registry.export(tmp_path / "again", env.registry)


def test_corrupt_registry_files_are_user_errors(env: Env) -> None:
    env.registry.folder.mkdir(parents=True)
    (env.registry.folder / registry.POINTER_FILE).write_text("{not json")
    with pytest.raises(UserError, match="invalid registry pointer"):
        env.pointer()
    (env.candidates / env.ids[0] / VERDICT_FILE).write_text("[]")
    (env.registry.folder / registry.POINTER_FILE).unlink()
    with pytest.raises(UserError, match="invalid verdict"):
        env.promote(0)


def test_a_model_promoted_again_after_a_rollback_carries_its_new_verdict(crowned_env: Env) -> None:
    env = crowned_env  # candidate 0 is the champion
    env.gate(2)
    env.promote(2)
    env.rollback()
    env.gate(2)  # judged again, against champion 0
    assert env.promote(2).champion == env.ids[2]
    gated = read_verdict(env.candidates / env.ids[2])
    verdict = read_verdict(env.registry.folder / "models" / env.ids[2])
    assert verdict.baseline_id == gated.baseline_id == env.ids[0]
    assert verdict_differences(gated, verdict) == []  # the promotion's own judgement, the same
    assert verdict.checked_at > gated.checked_at
    assert (env.registry.docs / SUMMARY_FILE).read_text() == render_markdown(verdict)
