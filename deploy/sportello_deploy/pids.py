"""Is a detached process (a broker, a service of `make up`) still running? Stdlib only.

On machines whose PID 1 does not reap orphans, an exited detached process lingers as a zombie that
``os.kill(pid, 0)`` still finds: these helpers treat a zombie as gone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A detached process's parent has exited; if nothing reaps it, it lingers
    # as a zombie that os.kill still "finds".
    return not is_zombie(pid)


def is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # Format: "pid (comm) state ..."; comm may contain spaces or parentheses.
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
