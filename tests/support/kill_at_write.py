"""Run the command line in given folders, SIGKILLed just before its Nth disk change.

Usage: ``python tests/support/kill_at_write.py FOLDER:N [FOLDER:N ...] -- ARGS...``

The command line is imported once; then, for each ``FOLDER:N``, a child process is forked, changes
into ``FOLDER`` and runs ``churn-model ARGS`` there, as a user would. A Python audit
hook (PEP 578) installed in the child sees every filesystem change it is about to make: a file
opened for writing, a rename or replace, a removal, a folder created or removed. Those under
``FOLDER`` (not the interpreter's own caches) are the write points. Before the Nth, the child kills
itself with SIGKILL: no ``finally`` runs, no temporary file is cleaned up, exactly as if the machine
lost power there. ``N = 0`` never kills. Each write point is appended to ``FOLDER.trace`` (beside
the folder: number, event and path, one per line) before it happens, so the test knows what the Nth
was. Forking after the import keeps each run to the command's own work (a fresh interpreter per kill
point would spend a second or more importing).
Promotion judges the model again, timing its latency with the folder's ``configs/model.toml``: a
test's project holds the fast config, so the children time the short plan.

Prints one line per folder: ``kill_at_write``, the folder and how the child ended (its exit code,
or ``-9`` when killed), tab-separated. This is a test harness, not part of the package: the
package has no kill hook.
"""

import importlib
import os
import signal
import sys
import traceback
from pathlib import Path

PRELOADED = (
    "churn_model.cli",
    "churn_model.release.registry",
    # >>> tracking
    "churn_model.release.tracking",
    # <<< tracking
)
REPORT = "kill_at_write"
"""What starts each line of the report (the children's own output shares the standard output)."""
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CHANGES = {"os.rename", "os.remove", "os.mkdir", "os.rmdir"}


def _is_write(event: str, args: tuple[object, ...]) -> bool:
    if event in _CHANGES:
        return True
    if event != "open":
        return False
    mode, flags = args[1], args[2]
    if isinstance(mode, str):
        return any(char in mode for char in "wxa+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def _run_child(folder: Path, kill_at: int, args: list[str]) -> None:
    """In the forked child: install the hook, run the command line in ``folder``, never return."""
    from churn_model.cli import app  # noqa: PLC0415 -- imported by the parent already

    os.chdir(folder)
    here = folder.resolve()
    seen = 0
    log = here.with_name(f"{here.name}.trace").open("a", encoding="utf-8", buffering=1)

    def hook(event: str, hook_args: tuple[object, ...]) -> None:
        nonlocal seen
        if not _is_write(event, hook_args):
            return
        target = hook_args[0]
        if isinstance(target, bytes):
            target = os.fsdecode(target)
        if not isinstance(target, str):
            return  # a file descriptor: not a path this process names
        path = Path(target)
        if path.is_absolute() and not path.is_relative_to(here):
            return
        seen += 1
        shown = path.relative_to(here) if path.is_absolute() else path
        log.write(f"{seen}\t{event}\t{shown}\n")
        if seen == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    sys.addaudithook(hook)
    code = 1
    try:
        app(args, prog_name="churn-model")
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except BaseException:  # reported, then the child exits with 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    """Fork one child per ``FOLDER:N`` argument, run the command line in it, report each end."""
    split = sys.argv.index("--")
    runs = [item.rsplit(":", 1) for item in sys.argv[1:split]]
    args = sys.argv[split + 1 :]
    # No library thread may exist when forking: one thread for OpenMP and BLAS, and no background
    # thread for pyarrow's jemalloc (set before the libraries load, so they read it).
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", "background_thread:false")
    # What the commands import lazily, imported once here: every child shares it.
    for module in PRELOADED:
        importlib.import_module(module)
    for folder, kill_at in runs:
        pid = os.fork()
        if pid == 0:
            _run_child(Path(folder), int(kill_at), args)
        _, status = os.waitpid(pid, 0)
        ended = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f"{REPORT}\t{folder}\t{ended}", flush=True)


if __name__ == "__main__":
    main()
