"""Run a command and measure it: wall time, CPU time and its own peak resident memory.

A process's peak memory (``ru_maxrss``) is only its own if its parent was small: Linux carries the
parent's high-water mark over ``fork`` and ``exec`` into the child's. A benchmark that has
imported pandas and drawn a few hundred MB of synthetic rows would pass its own size for the
command's. So the command is started by a tiny launcher (a bare Python, a few MB), which waits
for it with ``wait4`` and reports its figures; the launcher also applies the time limit and the
address-space limit, so a runaway command is stopped and still measured.
"""

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import IO

_LAUNCHER = """
import json, os, resource, signal, subprocess, sys, time
timeout, address_space = float(sys.argv[1]), int(sys.argv[2])
if address_space:
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
child = subprocess.Popen(sys.argv[3:], stdout=subprocess.DEVNULL)
start, killed = time.monotonic(), False
while True:
    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() - start > timeout:
        child.kill()
        _, status, usage = os.wait4(child.pid, 0)
        killed = True
        break
    time.sleep(0.01)
child.returncode = 0
print(json.dumps({
    "exit": os.waitstatus_to_exitcode(status), "killed": killed,
    "cpu_s": usage.ru_utime + usage.ru_stime, "peak_kb": usage.ru_maxrss,
}))
"""


@dataclass(frozen=True, slots=True)
class Measured:
    """What one run of a command cost, and how it ended."""

    exit_code: int
    killed: bool
    """Stopped at the time limit."""
    wall_s: float
    cpu_s: float
    peak_mb: float


def measure(
    command: list[str],
    *,
    timeout: float = 24 * 3600.0,
    address_space: int = 0,
    stderr: IO[bytes] | None = None,
) -> Measured:
    """Run ``command`` (its output discarded, its errors to ``stderr``) and return its figures.

    ``address_space`` limits its virtual memory in bytes (0: no limit).
    """
    start = time.perf_counter()
    result = subprocess.run(  # a fixed launcher, then the caller's own command; no shell
        [sys.executable, "-c", _LAUNCHER, str(timeout), str(address_space), *command],
        stdout=subprocess.PIPE,
        stderr=stderr,
        check=True,
    )
    wall = time.perf_counter() - start
    figures = json.loads(result.stdout)
    return Measured(
        exit_code=int(figures["exit"]),
        killed=bool(figures["killed"]),
        wall_s=wall,
        cpu_s=float(figures["cpu_s"]),
        peak_mb=float(figures["peak_kb"]) / 1024,  # Linux reports KiB
    )
