"""Publish pushes the image that was smoke-tested, verified, and settles ``latest`` in any order.

``scripts/publish_image.py`` against a stand-in docker, registry and gh (``fake_registry``; no
daemon or registry is reachable here):

- ``archive`` reports the image ID of what it saved, and refuses an archive whose config does not
  hash to its name;
- ``push`` pushes the archive only when its image ID is the tested one, and fails when the registry
  then holds another image under the pushed digest (read through an index too, as Docker's
  containerd image store pushes one); a release tag that is no image tag is refused, not rewritten;
- ``latest`` points ``latest`` at the repository's latest release once its image is pushed,
  follows a release published meanwhile, and says whether that release is this one;
- the recipes ``just image-archive``, ``image-push`` and ``image-latest`` run it, with the stand-ins
  on ``PATH``, and write the step outputs Publish reads.
"""

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from fake_registry import FakeEngine, install, save_archive
from project_tools import load_script

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "ghcr.io/acme/churn"
TAG = "churn-model:release"


publish = load_script("publish_image")


@pytest.fixture
def engine(tmp_path: Path) -> FakeEngine:
    return FakeEngine(tmp_path / "state.json")


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(path))
    return path


def _outputs(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines)


def _tested(engine: FakeEngine, tmp_path: Path, config: bytes = b'{"os": "linux"}') -> str:
    """An image saved as TAG in the stand-in's Docker (what the smoke test ran); its ID."""
    built = tmp_path / "built.tar"
    found = save_archive(built, config, TAG)
    state = engine.state()
    state["saved"][TAG] = str(built)
    engine.save(state)
    return found


def _commands(engine: FakeEngine, word: str) -> list[list[str]]:
    return [command for command in engine.state()["log"] if word in command]


# ------------------------------------------------------------------ archive


def test_archive_reports_the_image_id_of_what_it_saved(
    engine: FakeEngine, outputs: Path, tmp_path: Path
) -> None:
    tested = _tested(engine, tmp_path)
    archive = tmp_path / "dist/image.tar"
    assert publish.main(["archive", TAG, str(archive)], runner=engine) == 0
    assert _outputs(outputs) == {"image-id": tested}
    assert archive.is_file()


def test_an_archive_whose_config_is_not_its_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "image.tar"
    save_archive(archive, b"{}", TAG)
    forged = tmp_path / "forged.tar"
    with tarfile.open(archive) as source, tarfile.open(forged, "w") as tar:
        for member in source.getmembers():
            data = source.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name.startswith("blobs/"):
                content = b'{"tampered": true}'
                member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
    assert publish.main(["push", str(forged), IMAGE, "v1.0.0", "sha256:" + "a" * 64]) == 1
    assert "does not hash to its name" in capsys.readouterr().err


# ------------------------------------------------------------------ push


def test_push_pushes_the_tested_image_and_reports_the_verified_digest(
    engine: FakeEngine, outputs: Path, tmp_path: Path
) -> None:
    tested = _tested(engine, tmp_path)
    archive = tmp_path / "image.tar"
    publish.archive_image(TAG, archive, engine)
    assert publish.main(["push", str(archive), "ghcr.io/Acme/Churn", "v1.0.0", tested], engine) == 0
    found = _outputs(outputs)
    state = engine.state()
    assert found["name"] == IMAGE  # registry names are lowercase, GitHub's need not be
    assert state["tags"][f"{IMAGE}:v1.0.0"] == found["digest"]
    assert found["image"] == f"{IMAGE}@{found['digest']}"
    assert publish.registry_image_id(IMAGE, found["digest"], engine) == tested


def test_push_refuses_an_archive_that_is_not_the_tested_image(
    engine: FakeEngine, outputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tested(engine, tmp_path)
    archive = tmp_path / "image.tar"
    publish.archive_image(TAG, archive, engine)
    other = "sha256:" + "b" * 64
    assert publish.main(["push", str(archive), IMAGE, "v1.0.0", other], engine) == 1
    assert f"not the tested {other}" in capsys.readouterr().err
    assert _commands(engine, "push") == []
    assert not outputs.exists()


@pytest.mark.parametrize("index", [False, True], ids=["manifest", "index"])
def test_push_fails_when_the_registry_holds_another_image(
    engine: FakeEngine,
    outputs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    index: bool,
) -> None:
    tested = _tested(engine, tmp_path)
    archive = tmp_path / "image.tar"
    publish.archive_image(TAG, archive, engine)
    state = engine.state()
    state["push_config"] = "sha256:" + "c" * 64  # the registry ends up with another image
    state["index"] = index
    engine.save(state)
    assert publish.main(["push", str(archive), IMAGE, "v1.0.0", tested], engine) == 1
    said = capsys.readouterr().err
    assert said.startswith(f"error: {IMAGE}@sha256:")
    assert f"the registry holds image sha256:{'c' * 64}, not the tested {tested}" in said
    assert not outputs.exists()


def test_push_reads_the_image_through_an_index(
    engine: FakeEngine, outputs: Path, tmp_path: Path
) -> None:
    tested = _tested(engine, tmp_path)
    archive = tmp_path / "image.tar"
    publish.archive_image(TAG, archive, engine)
    state = engine.state()
    state["index"] = True
    engine.save(state)
    assert publish.main(["push", str(archive), IMAGE, "v1.0.0", tested], engine) == 0
    digest = _outputs(outputs)["digest"]
    assert '"manifests"' in engine.state()["manifests"][digest]


@pytest.mark.parametrize("tag", ["v1.0.0+build.7", ".v1", "latest", "x" * 129])
def test_a_release_tag_that_is_no_image_tag_is_refused(
    engine: FakeEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str], tag: str
) -> None:
    tested = _tested(engine, tmp_path)
    archive = tmp_path / "image.tar"
    publish.archive_image(TAG, archive, engine)
    assert publish.main(["push", str(archive), IMAGE, tag, tested], engine) == 1
    assert "is not a valid image tag" in capsys.readouterr().err
    assert _commands(engine, "load") == []


# ------------------------------------------------------------------ latest


def _registry(engine: FakeEngine, releases: list[str], pushed: list[str]) -> dict[str, str]:
    """A registry holding an image per release in ``pushed``; gh answers ``releases``."""
    state = engine.state()
    digests = {}
    for number, tag in enumerate(pushed):
        digest = f"sha256:{number + 1:064x}"
        state["manifests"][digest] = "{}"
        state["tags"][f"{IMAGE}:{tag}"] = digest
        digests[tag] = digest
    state["releases"] = releases
    engine.save(state)
    return digests


@pytest.mark.parametrize(
    ("releases", "pushed", "tag", "latest", "moved"),
    [
        (["v2.0.0"], ["v1.0.0", "v2.0.0"], "v2.0.0", "v2.0.0", True),  # this release, the latest
        (["v2.0.0"], ["v2.0.0", "v1.9.1"], "v1.9.1", "v2.0.0", False),  # a patch to an older line
        (["v2.0.0"], ["v1.9.1"], "v1.9.1", None, False),  # the latest release is not pushed yet
        (["v1.0.0", "v2.0.0"], ["v1.0.0", "v2.0.0"], "v1.0.0", "v2.0.0", False),  # v2 meanwhile
        ([], ["v3.0.0-rc1"], "v3.0.0-rc1", None, False),  # no latest release (a pre-release)
    ],
    ids=["latest", "older-line", "latest-not-pushed", "published-meanwhile", "no-latest"],
)
def test_latest_follows_the_repository_latest_release(
    engine: FakeEngine,
    outputs: Path,
    *,
    releases: list[str],
    pushed: list[str],
    tag: str,
    latest: str | None,
    moved: bool,
) -> None:
    digests = _registry(engine, releases, pushed)
    assert publish.main(["latest", IMAGE, tag], engine) == 0
    assert engine.state()["tags"].get(f"{IMAGE}:latest") == digests.get(latest or "")
    assert _outputs(outputs) == {"latest": str(moved).lower()}


def test_a_late_run_moves_latest_back_to_the_latest_release(
    engine: FakeEngine, outputs: Path
) -> None:
    # v2's run already moved latest; v1's run asked GitHub before v2 was published, so it moves
    # latest to v1, then asks again, sees v2, and puts latest back: the last run leaves it right.
    digests = _registry(engine, ["v1.0.0", "v2.0.0"], ["v1.0.0", "v2.0.0"])
    state = engine.state()
    state["tags"][f"{IMAGE}:latest"] = digests["v2.0.0"]
    engine.save(state)
    assert publish.main(["latest", IMAGE, "v1.0.0"], engine) == 0
    created = [command[-1] for command in _commands(engine, "create")]
    assert created == [f"{IMAGE}@{digests['v1.0.0']}", f"{IMAGE}@{digests['v2.0.0']}"]
    assert engine.state()["tags"][f"{IMAGE}:latest"] == digests["v2.0.0"]


def test_latest_gives_up_when_the_latest_release_never_settles(
    engine: FakeEngine, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _registry(engine, ["v1.0.0", "v2.0.0"] * publish.ATTEMPTS + ["v1.0.0"], ["v1.0.0", "v2.0.0"])
    assert publish.main(["latest", IMAGE, "v2.0.0"], engine) == 1
    assert "kept changing" in capsys.readouterr().err
    assert not outputs.exists()


# ------------------------------------------------------------------ the recipes


def test_the_recipes_archive_push_and_settle_latest(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    engine = FakeEngine(state)
    tested = _tested(engine, tmp_path)
    install(tmp_path / "bin", state)
    outputs = tmp_path / "github_output"
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env["GITHUB_OUTPUT"] = str(outputs)
    archive = tmp_path / "image.tar"
    engine.save({**engine.state(), "releases": ["v1.0.0"]})
    for command in (
        ["just", "image-archive", TAG, str(archive)],
        ["just", "image-push", str(archive), IMAGE, "v1.0.0", tested],
        ["just", "image-latest", IMAGE, "v1.0.0"],
    ):
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    found = _outputs(outputs)
    assert found["image-id"] == tested
    assert found["latest"] == "true"
    assert engine.state()["tags"][f"{IMAGE}:latest"] == found["digest"]
