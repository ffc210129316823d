"""Loading a model file: only a model that can score is ready, and a file may not inflate unbounded.

An allow-listed pipeline that was never fitted is refused at load (the service does not start,
``predict`` prints one sentence), as is a ``model.skops`` whose zip members would inflate past the
loader's ceiling.
"""

import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

# >>> serving
from fastapi.testclient import TestClient

# <<< serving
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.config import load_gate_config, load_model_config
from churn_model.domain.features import build_pipeline
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.model.artifact import (
    MAX_LOADED_BYTES,
    MODEL_FILE,
    load_model,
    model_loaded_bytes,
    save_model,
)

# >>> serving
from churn_model.serving.app import create_app

# <<< serving
from churn_model.serving.served_model import load_served_model

from model_support import ROOT
from served_model import make_model_dir, sample

runner = CliRunner()


@pytest.fixture(scope="module")
def unfitted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder with a valid card whose model.skops is the pipeline, never fitted."""
    model_dir = tmp_path_factory.mktemp("unfitted") / "model"
    make_model_dir(model_dir)
    params = load_model_config(ROOT / "configs/model.toml").model
    save_model(build_pipeline(params, seed=0), model_dir / MODEL_FILE)
    return model_dir


def test_an_unfitted_pipeline_is_refused_at_load(unfitted: Path) -> None:
    with pytest.raises(UserError, match="cannot score: it was never fitted") as refused:
        load_served_model(unfitted)
    assert "\n" not in str(refused.value)


# >>> serving
def test_the_service_does_not_start_on_an_unfitted_pipeline(unfitted: Path) -> None:
    with pytest.raises(UserError, match="never fitted"), TestClient(create_app(unfitted)):
        pass  # pragma: no cover -- startup fails before the body runs


# <<< serving
@pytest.mark.parametrize(
    "command",
    [
        "predict",
        # >>> serving
        "serve",
        # <<< serving
    ],
)
def test_the_cli_says_one_sentence_about_an_unfitted_pipeline(
    unfitted: Path, tmp_path: Path, command: str
) -> None:
    source = tmp_path / "in.csv"
    sample(20, seed=2).drop(columns=[SCHEMA.label.name]).to_csv(source, index=False)
    arguments = [str(source), str(tmp_path / "out.csv")] if command == "predict" else []
    result = runner.invoke(app, [command, *arguments, "--model-dir", str(unfitted)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: ")
    assert "never fitted" in result.output
    assert not (tmp_path / "out.csv").exists()


# ------------------------------------------------------------------------------ zip bombs


def plant_bomb(model: Path, bomb: Path, size: int) -> None:
    """Copy ``model`` to ``bomb``, its largest array member replaced by ``size`` zero bytes.

    The member keeps its name and gets a valid ``.npy`` header for that many bytes, so a loader
    that trusted the archive would inflate and allocate all of it; deflate packs the zeros into
    about a thousandth of their size.
    """
    with zipfile.ZipFile(model) as source:
        members = source.infolist()
        arrays = [member for member in members if member.filename.endswith(".npy")]
        target = max(arrays, key=lambda member: member.file_size)
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
            for member in members:
                if member is not target:
                    out.writestr(member, source.read(member))
            with out.open(target.filename, "w", force_zip64=True) as handle:
                header = {"descr": "|u1", "fortran_order": False, "shape": (size,)}
                np.lib.format.write_array_header_1_0(handle, header)
                chunk = bytes(min(size, 1 << 24))
                for _ in range(size // len(chunk)):
                    handle.write(chunk)
                handle.write(bytes(size % len(chunk)))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = tmp_path_factory.mktemp("bomb") / "model"
    make_model_dir(model_dir)
    return model_dir


def test_a_model_file_that_inflates_past_the_limit_is_refused(
    model_dir: Path, tmp_path: Path
) -> None:
    bomb = tmp_path / MODEL_FILE
    plant_bomb(model_dir / MODEL_FILE, bomb, 8 << 20)
    assert bomb.stat().st_size < (model_dir / MODEL_FILE).stat().st_size + (64 << 10)
    # A limit 4 MiB above what the model itself inflates to (a schema's model may be large).
    limit = model_loaded_bytes(model_dir / MODEL_FILE) + (4 << 20)
    inflated = model_loaded_bytes(bomb)
    said = f"file inflates to {inflated / 2**20:,.1f} MiB (the limit is {limit / 2**20:,.1f} MiB)"
    with pytest.raises(UserError, match=r"[\d,]+\.\d MiB " + re.escape(said)):
        load_model(bomb, max_bytes=limit)


def test_the_loaded_size_is_the_sum_of_the_members(model_dir: Path) -> None:
    with zipfile.ZipFile(model_dir / MODEL_FILE) as archive:
        members = archive.infolist()
    assert model_loaded_bytes(model_dir / MODEL_FILE) == sum(m.file_size for m in members)
    assert model_loaded_bytes(model_dir / MODEL_FILE) < MAX_LOADED_BYTES


def test_a_model_file_larger_than_the_limit_on_disk_is_refused(model_dir: Path) -> None:
    size = (model_dir / MODEL_FILE).stat().st_size
    with pytest.raises(UserError, match=r"refusing to load a \d\.\d MiB model file"):
        load_model(model_dir / MODEL_FILE, max_bytes=size - 1)
    assert load_model(model_dir / MODEL_FILE, max_bytes=size)  # the limit itself is allowed


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"not a zip archive")
    with pytest.raises(UserError, match="not a readable skops model"):
        load_model(tmp_path / MODEL_FILE)


def test_the_gate_ceiling_stays_under_the_loader_ceiling() -> None:
    # A model the gate passes must be loadable: the loader's ceiling is the higher one.
    assert load_gate_config(ROOT / "ci/gates.toml").size.max_loaded_bytes < MAX_LOADED_BYTES


@pytest.mark.slow
def test_a_small_file_inflating_to_gigabytes_is_refused_by_predict_and_serve(
    model_dir: Path, tmp_path: Path
) -> None:
    bombed = tmp_path / "model"
    shutil.copytree(model_dir, bombed)
    plant_bomb(model_dir / MODEL_FILE, bombed / MODEL_FILE, 1_500_000_000)
    # Deflate packs the zeros a thousandfold: megabytes more than the model, whatever its size.
    grown = (bombed / MODEL_FILE).stat().st_size - (model_dir / MODEL_FILE).stat().st_size
    assert grown < 2 << 20
    source = tmp_path / "in.csv"
    sample(20, seed=2).drop(columns=[SCHEMA.label.name]).to_csv(source, index=False)
    result = runner.invoke(
        app, ["predict", str(source), str(tmp_path / "out.csv"), "--model-dir", str(bombed)]
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert re.search(
        r"[\d,]+\.\d MiB file inflates to 1,43\d\.\d MiB \(the limit is 256\.0 MiB\)",
        result.output,
    )
    # >>> serving
    with pytest.raises(UserError, match="inflates to"), TestClient(create_app(bombed)):
        pass  # pragma: no cover -- startup fails before the body runs
    # <<< serving
