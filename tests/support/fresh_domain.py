"""Run code in a fresh child process whose domain is a given schema, as in an adopter's project.

The machinery reads the project's schema when it is imported (``contract.Record``, the column
lists of ``domain/features.py``, the ``SCHEMA`` default of many functions): a schema cannot be
swapped inside a process that has imported it. So each schema runs in a child process of its own
in which, before anything else of ``churn_model`` is imported, the module
``churn_model.domain.schema`` is that schema's source, loaded from a ``schema.py``
file as an adopter's edited one is, and ``churn_model.domain.example`` is what an
adopter writes there (:data:`EXAMPLE_SOURCE`: where the data file is, no offline generator).
``features.py`` is the real one: it picks its columns from the schema by kind.

Children are forked from a ``multiprocessing`` forkserver whose preload imports the heavy libraries
(:mod:`forkserver_preload`) and nothing of ``churn_model``, so a child pays for its
own work only. The forkserver starts once per test process, on first use. A child's failure comes
back as its traceback, and the test fails with it.
"""

import importlib
import importlib.util
import multiprocessing
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the child unpickles this module's functions before its domain is installed
    from churn_model.table import Schema

PRELOAD = ["forkserver_preload"]
"""What the forkserver imports once: the heavy libraries and their first-use costs."""

EXAMPLE_SOURCE = '''"""The data: the drawn table's file, which no offline generator rebuilds."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd

DATA_FILE = Path("data/table.csv")

build_sample: Callable[[], pd.DataFrame] | None = None
'''
"""The domain's ``example.py`` as ``docs/adapting.md`` tells an adopter to write it."""

TIMEOUT_S = 600.0

SCHEMA_HEADER = '''"""A test's schema, as an adopter's schema.py declares one."""

from churn_model.table import Column, Label, Schema, Slice

SCHEMA = '''


def schema_source(schema: "Schema") -> str:
    """``schema`` as the source of a ``schema.py``: each record's own ``repr`` on a line."""
    lines = [
        f"{SCHEMA_HEADER}Schema(",
        "    features=(",
        *(f"        {column!r}," for column in schema.features),
        "    ),",
        f"    label={schema.label!r},",
        f"    id={schema.id!r},",
        "    slices=(",
        *(f"        {piece!r}," for piece in schema.slices),
        "    ),",
        f"    min_rows={schema.min_rows!r},",
        f"    positive_rate={schema.positive_rate!r},",
        ")",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Job:
    """What a child runs: ``target`` (``"module:function"``) on ``args``, under this domain."""

    schema_source: str
    workdir: Path
    target: str
    args: tuple[object, ...]


@dataclass(frozen=True)
class Outcome:
    """What a child sends back: the target's value or its traceback, and the CPU it used."""

    value: object
    error: str | None
    cpu_seconds: float


def _context() -> multiprocessing.context.ForkServerContext:
    """The forkserver context, its server started with :data:`PRELOAD` imported."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    # The server imports its preload with the interpreter's own path, not this process's (its
    # children get this process's): it finds this folder's module through PYTHONPATH.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(Path(__file__).parent), prepend=os.pathsep)
        forkserver.ensure_running()
    return context


def _install(package: str, name: str, path: Path) -> None:
    """Import the file ``path`` as the module ``package.name``, as if it were in the package."""
    spec = importlib.util.spec_from_file_location(f"{package}.{name}", path)
    assert spec is not None, path
    assert spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    setattr(importlib.import_module(package), name, module)


def _install_domain(job: Job) -> None:
    """Make the domain's schema (and example) modules the job's, before anything imports them."""
    imported = sorted(name for name in sys.modules if name.startswith("churn_model"))
    assert not imported, f"the forkserver imported the package already: {imported}"
    folder = job.workdir / "domain"
    folder.mkdir(parents=True)
    for name, source in (("schema", job.schema_source), ("example", EXAMPLE_SOURCE)):
        (folder / f"{name}.py").write_text(source, encoding="utf-8")
        _install("churn_model.domain", name, folder / f"{name}.py")


def _child(connection: Connection, job: Job) -> None:
    """The child's body: install the domain, run the target there, send the outcome back."""
    # As the test suite does (pyproject's filterwarnings): a warning is a failure.
    warnings.simplefilter("error")
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415 -- preloaded; as conftest.py

        _install_domain(job)
        os.chdir(job.workdir)
        module, function = job.target.split(":")
        with threadpool_limits(limits=1):
            value = getattr(importlib.import_module(module), function)(*job.args)
        outcome = Outcome(value=value, error=None, cpu_seconds=time.process_time())
    except BaseException:  # every failure goes back to the test, which fails with it
        outcome = Outcome(value=None, error=traceback.format_exc(), cpu_seconds=time.process_time())
    connection.send(outcome)
    connection.close()


def run_in_domain(
    schema_source: str,
    workdir: Path,
    target: str,
    *args: object,
) -> Outcome:
    """Run ``target`` (``"module:function"``) on ``args`` in a fresh child, in ``workdir``.

    In the child, ``churn_model.domain.schema`` is ``schema_source`` and
    ``churn_model.domain.example`` is :data:`EXAMPLE_SOURCE`. ``args`` must unpickle
    without importing the domain (built-in types, records of ``churn_model.table``);
    ``target``'s module may import anything. The outcome carries the value or the child's
    traceback.
    """
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    job = Job(schema_source, workdir, target, args)
    child = context.Process(target=_child, args=(sender, job), name=f"domain:{target}")
    child.start()
    sender.close()
    try:
        if not receiver.poll(TIMEOUT_S):
            raise AssertionError(f"{target} did not finish within {TIMEOUT_S:.0f} s")
        try:
            outcome: Outcome = receiver.recv()
        except EOFError:
            child.join(10)
            raise AssertionError(f"{target}: the child died (exit code {child.exitcode})") from None
    finally:
        if child.is_alive():
            child.join(10)
        if child.is_alive():  # pragma: no cover -- only when a child hangs
            child.kill()
            child.join()
        receiver.close()
    return outcome
