"""Servers as child processes: free ports, start, wait until serving, stop.

No server outlives the process that started it:

- :func:`stop_on_signals` turns SIGINT, SIGTERM and SIGHUP into exceptions, so
  that the ``finally`` of whoever started servers stops them;
  :func:`stop_servers` stops them all at once, within a deadline.
- Every child asks the kernel for a SIGTERM when its parent dies, even by
  SIGKILL (Linux's parent-death signal, ``PR_SET_PDEATHSIG``). Where that is
  not available, children that run this package's command line watch their
  parent instead (:data:`PARENT_PID_ENV`, :func:`exit_when_parent_dies`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from ..runtime.lifetime import (
    PARENT_DEATH_SIGNAL,
    die_with_parent,
    exit_when_parent_dies,
    set_parent_death_signal,
)

__all__ = [
    "PARENT_DEATH_SIGNAL",
    "PARENT_PID_ENV",
    "STOP_SIGNALS",
    "ServerProcess",
    "Terminated",
    "die_with_parent",
    "exit_when_parent_dies",
    "free_port",
    "start_server",
    "stop_on_signals",
    "stop_servers",
]

#: The signals that stop whoever started servers, and with it the servers.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: Set in a child's environment to the pid of the process that started it; a
#: child running this package's command line then exits when that one dies.
PARENT_PID_ENV = "ANOMED_PARENT_PID"


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (raised by :func:`stop_on_signals`).

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except
    Exception`` does not swallow it on its way to the ``finally`` that stops
    the servers.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"terminated by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal number."""
        return 128 + self.signum


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise ``KeyboardInterrupt`` on SIGINT and :class:`Terminated` on SIGTERM
    or SIGHUP in the main thread, once; later signals are ignored, so that a
    second Ctrl-C cannot interrupt the cleanup the first one started.

    A SIGINT or SIGHUP that was ignored when the context was entered stays
    ignored: shells start background jobs with SIGINT ignored, ``nohup``
    ignores SIGHUP. The previous handlers are restored on exit.
    """
    fired = False

    def handler(signum: int, frame: object) -> None:
        nonlocal fired
        if fired:
            return
        fired = True
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)

    previous = {}
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        if current == signal.SIG_IGN and signum != signal.SIGTERM:
            continue
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A server running as a child process, logging to ``log_path``."""

    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (gunicorn's graceful shutdown), then SIGKILL after ``timeout``."""
        stop_servers([self], timeout=timeout)


def stop_servers(
    servers: Iterable[ServerProcess],
    timeout: float = 15.0,
    signum: int = signal.SIGTERM,
) -> None:
    """Stop every server at once: ``signum`` to all process groups first, then
    wait for all of them together, then SIGKILL what is left after ``timeout``
    seconds.

    Parameters
    ----------
    servers : Iterable[ServerProcess]
        Servers started by :func:`start_server` (each leads its own process
        group, with its workers in it).
    timeout : float, optional
        Seconds all of them together get to exit, by default 15.
    signum : int, optional
        The first signal, by default SIGTERM (gunicorn finishes the requests
        in flight, then exits).
    """
    running = [server for server in servers if server.process.poll() is None]
    for server in running:
        _signal_group(server.process.pid, signum)
    deadline = time.monotonic() + timeout
    for server in running:
        try:
            server.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(server.process.pid, signal.SIGKILL)
            server.process.wait()
    for server in running:  # a worker its arbiter left behind
        _signal_group(server.process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _child_setup(parent_pid: int) -> Callable[[], None]:
    """What a child runs between fork and exec: default dispositions for the
    stop signals (a background job's children start with SIGINT ignored), and
    a SIGTERM for the child when its parent dies."""

    def setup() -> None:
        for signum in STOP_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, signal.SIG_DFL)
        set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took hold
            os.kill(os.getpid(), signal.SIGTERM)

    return setup


def start_server(
    name: str,
    argv: Sequence[str],
    port: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> ServerProcess:
    """Start ``argv`` in its own process group and wait until ``GET /`` answers.

    The child gets SIGTERM when this process dies (see the module's
    docstring), and default dispositions for SIGINT, SIGTERM and SIGHUP.
    On Linux the parent-death signal is bound to the *thread* that calls this
    function: call it from a thread that lives as long as the server should.

    Raises
    ------
    RuntimeError
        If the process exits first or does not answer within ``timeout``; the
        message ends with the tail of its log.
    """
    log_path = log_dir / f"{name}.log"
    parent_pid = os.getpid()
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {}), PARENT_PID_ENV: str(parent_pid)},
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_child_setup(parent_pid),
        )
    server = ServerProcess(name, process, port, log_path)
    try:
        _wait_until_serving(server, timeout)
    except BaseException:  # also Ctrl-C while waiting: never leave it behind
        server.stop(timeout=5.0)
        raise
    return server


def _wait_until_serving(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with code {server.process.returncode} "
                f"before serving; its log ends:\n{server.log()[-3000:]}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/", timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(
        f"{server.name} did not answer within {timeout} s; "
        f"its log ends:\n{server.log()[-3000:]}"
    )
