"""Run the ``churn-model`` command line and SIGKILL it just before its Nth change to the disk.

Usage: ``python tests/kill_at_write.py N TRACE -- ARGS...`` (in the project folder).

A Python audit hook (PEP 578) sees every filesystem change the process is about to make: a file
opened for writing, a rename or replace, a removal, a folder created or removed. Those under the
current folder (the project; not the interpreter's own caches) are the write points. Before the
Nth, the process kills itself with SIGKILL: no ``finally`` runs, no temporary file is cleaned up,
exactly as if the machine lost power there. ``N = 0`` never kills. Each write point is appended to
``TRACE`` (event and path, one per line) before it happens, so the test knows what the Nth was.

This is a test harness, not part of the package: the package has no kill hook of its own.
"""

import os
import signal
import sys
from pathlib import Path

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


def main() -> None:
    """Install the hook, then run the command line with the arguments after ``--``."""
    kill_at, trace = int(sys.argv[1]), Path(sys.argv[2]).resolve()
    args = sys.argv[sys.argv.index("--") + 1 :]
    here = Path.cwd().resolve()
    seen = 0
    log = trace.open("a", encoding="utf-8", buffering=1)  # opened before the hook: not counted

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
    from churn_model.cli import app  # noqa: PLC0415 -- imported under the hook, as a user runs it

    app(args, prog_name="churn-model")


if __name__ == "__main__":
    main()
