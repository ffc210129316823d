"""What the forkserver of :mod:`fresh_domain` loads once, so that each child pays for its own path.

The heavy libraries the machinery imports, and their first-use costs that no schema changes:
Arrow's CSV reader and compute kernels, matplotlib's fonts and PNG writer. Nothing of
``churn_model``: a child installs its domain before the package is imported.
"""

import importlib
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from matplotlib.figure import Figure

LIBRARIES = (
    # >>> serving
    "fastapi",
    "fastapi_offline",
    # <<< serving
    "filelock",
    # >>> serving
    "httpx",
    # <<< serving
    "pyarrow.compute",
    "pyarrow.parquet",
    "pydantic",
    "rich.table",
    "skops.io",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.impute",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "threadpoolctl",
    # >>> serving
    "uvicorn",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.h11_impl",
    # <<< serving
)
"""The modules the whole path imports that take long to import."""


def _warm() -> None:
    """Import :data:`LIBRARIES` and pay the first-use costs: a CSV read, a regex, a PNG."""
    for name in LIBRARIES:
        importlib.import_module(name)
    table = pcsv.read_csv(io.BytesIO(b"x\n1.5\n"))
    pc.match_substring_regex(pc.cast(table.column("x"), pa.string()), "^-?[0-9]")
    figure = Figure(figsize=(2, 2), dpi=50)
    axes = figure.add_subplot()
    axes.plot([0.0, 1.0], [0.0, 1.0], label="warm")
    axes.set_title("warm")
    axes.legend()
    figure.savefig(io.BytesIO(), format="png")


_warm()
