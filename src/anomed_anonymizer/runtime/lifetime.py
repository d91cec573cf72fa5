"""A process that dies with its parent: Linux's parent-death signal
(``PR_SET_PDEATHSIG``), or a thread that watches the parent where the kernel
lacks it. Used by ``serve``'s workers (their master may be killed by
SIGKILL) and by the servers the command line starts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

__all__ = [
    "PARENT_DEATH_SIGNAL",
    "die_with_parent",
    "exit_when_parent_dies",
    "set_parent_death_signal",
]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


#: Whether this system sends a signal to a child when its parent dies.
PARENT_DEATH_SIGNAL = _PRCTL is not None


def set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel for ``signum`` when the parent dies; ``False`` where it
    cannot (not Linux)."""
    if _PRCTL is None:
        return False
    _PRCTL(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    return True


def die_with_parent(parent_pid: int, signum: int = signal.SIGKILL) -> None:
    """Have the kernel send this process ``signum`` when ``parent_pid`` (its
    parent) dies, even by SIGKILL; where it cannot, watch the parent.

    For gunicorn's workers (``post_fork``): a worker whose master was killed
    would otherwise be adopted by PID 1 and keep serving, and hold the port.
    SIGKILL by default: nobody is left to reap it gracefully, and every file
    a server writes is replaced atomically, so nothing is lost.
    """
    if not set_parent_death_signal(signum):
        exit_when_parent_dies(parent_pid, signum=signum)
    if os.getppid() != parent_pid:  # the parent died before prctl took hold
        os.kill(os.getpid(), signum)


def exit_when_parent_dies(
    parent_pid: int, interval: float = 0.5, signum: int = signal.SIGTERM
) -> threading.Thread:
    """Send this process SIGTERM once ``parent_pid`` is no longer its parent.

    The fallback of the parent-death signal, for systems without
    ``PR_SET_PDEATHSIG``: a daemon thread compares ``os.getppid()`` with
    ``parent_pid`` every ``interval`` seconds (an orphan is adopted by another
    process).

    Returns
    -------
    threading.Thread
        The watching thread (already started).
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os.kill(os.getpid(), signum)

    thread = threading.Thread(target=watch, name="exit-when-parent-dies", daemon=True)
    thread.start()
    return thread
