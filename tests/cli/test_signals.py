"""No server outlives what started it: the demo on SIGINT, SIGTERM, SIGHUP and
SIGKILL, and the process helpers underneath.

Each test sets the signal dispositions it relies on: a POSIX shell starts a
background job (``make test &``) with SIGINT ignored, and its children inherit
that. Every wait is on a condition (a line printed, a process gone) with a
generous limit; nothing sleeps for a fixed time or asserts a duration.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from anomed_anonymizer.cli.processes import (
    ServerProcess,
    Terminated,
    free_port,
    start_server,
    stop_on_signals,
    stop_servers,
)

CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))
# The demo's lines naming its servers (challenge, baseline, DP model).
DEMO_SERVER = re.compile(r"^\s+(challenge|baseline|dp-epsilon-\S+)\s+(http://\S+)\s*$")

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads process trees from /proc"
)


def default_stop_signals() -> None:
    """In the spawned process: what Ctrl-C relies on, even in a background job."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def is_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie runs nothing


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def wait_until(condition, limit: float = 60.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def refuses(url: str) -> bool:
    try:
        requests.get(url + "/", timeout=5)
    except requests.ConnectionError:
        return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "exit_code", "message"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated by SIGTERM"),
        (signal.SIGHUP, 129, "terminated by SIGHUP"),
        (signal.SIGKILL, -signal.SIGKILL, ""),
    ],
    ids=["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"],
)
def test_no_demo_server_outlives_the_demo(tmp_path, signum, exit_code, message):
    stderr_path = tmp_path / "demo.stderr"
    with open(stderr_path, "w") as stderr:
        demo = subprocess.Popen(
            [CLI, "demo", "--keep-running", f"--plot={tmp_path / 'roc.png'}"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            preexec_fn=default_stop_signals,
        )
    urls = {}
    try:
        for line in demo.stdout:
            match = DEMO_SERVER.match(line)
            if match:
                urls[match[1]] = match[2]
            if len(urls) == 3:
                break
        assert set(urls) == {"challenge", "baseline", "dp-epsilon-1"}, (
            stderr_path.read_text()
        )
        servers = descendants(demo.pid)
        assert len(servers) >= 3  # three servers and their workers
        demo.send_signal(signum)
        demo.wait(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        demo.stdout.close()
    assert demo.returncode == exit_code, stderr_path.read_text()
    assert message in stderr_path.read_text()
    assert wait_until(lambda: not any(map(is_alive, servers))), [
        pid for pid in servers if is_alive(pid)
    ]
    for url in urls.values():
        assert refuses(url)


SLOW_TO_STOP = textwrap.dedent(
    """
    import http.server, os, signal, sys, time
    from pathlib import Path

    port, marker_dir, name, count = sys.argv[1:]

    def on_term(signum, frame):
        Path(marker_dir, name).touch()
        # Exit cleanly only once every server got its SIGTERM: a stop that
        # signals one server at a time would have to SIGKILL this one.
        deadline = time.monotonic() + 60
        while len(os.listdir(marker_dir)) < int(count):
            if time.monotonic() > deadline:
                os._exit(3)
            time.sleep(0.01)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    http.server.HTTPServer(
        ("127.0.0.1", int(port)), http.server.SimpleHTTPRequestHandler
    ).serve_forever()
    """
)


def test_stop_servers_signals_all_servers_before_waiting_for_any(tmp_path):
    script = tmp_path / "slow_to_stop.py"
    script.write_text(SLOW_TO_STOP)
    markers = tmp_path / "markers"
    markers.mkdir()
    servers: list[ServerProcess] = []
    try:
        for index in range(3):
            port = free_port()
            argv = [
                sys.executable,
                str(script),
                str(port),
                str(markers),
                str(index),
                "3",
            ]
            servers.append(start_server(f"slow{index}", argv, port, tmp_path))
        stop_servers(servers, timeout=30.0)
    finally:
        stop_servers(servers, timeout=5.0)
    assert [server.process.returncode for server in servers] == [0, 0, 0]


def test_stop_servers_kills_what_ignores_sigterm(tmp_path):
    port = free_port()
    stubborn = (
        "import http.server, signal, sys\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])),"
        " http.server.SimpleHTTPRequestHandler).serve_forever()\n"
    )
    server = start_server(
        "stubborn", [sys.executable, "-c", stubborn, str(port)], port, tmp_path
    )
    stop_servers([server], timeout=1.0)
    assert server.process.returncode == -signal.SIGKILL
    assert refuses(server.url)


PARENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from anomed_anonymizer.cli.processes import free_port, start_server

    port = free_port()
    server = start_server(
        "child",
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        port,
        Path(sys.argv[1]),
    )
    print(server.pid, port, flush=True)
    sys.stdin.read()  # until the test kills this process
    """
)


def test_a_server_dies_with_its_parent_even_on_sigkill(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=default_stop_signals,
    )
    try:
        child_pid, port = map(int, parent.stdout.readline().split())
        assert is_alive(child_pid)
        parent.kill()
        parent.wait()
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdin.close()
        parent.stdout.close()
    assert wait_until(lambda: not is_alive(child_pid))
    assert refuses(f"http://127.0.0.1:{port}")


WATCHED = textwrap.dedent(
    """
    import os, subprocess, sys
    from anomed_anonymizer.cli.processes import exit_when_parent_dies

    if sys.argv[1] == "parent":
        subprocess.Popen([sys.executable, __file__, "child", str(os.getpid())])
        sys.stdin.read()
    else:
        watcher = exit_when_parent_dies(int(sys.argv[2]), interval=0.05)
        print(os.getpid(), flush=True)  # on the test's pipe: watching now
        watcher.join()
    """
)


def test_without_the_parent_death_signal_a_child_watches_its_parent(tmp_path):
    """The fallback for systems without PR_SET_PDEATHSIG, exercised here too."""
    script = tmp_path / "watched.py"
    script.write_text(WATCHED)
    parent = subprocess.Popen(
        [sys.executable, str(script), "parent"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        child_pid = int(parent.stdout.readline())
        assert is_alive(child_pid)
        parent.kill()
        parent.wait()
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdin.close()
        parent.stdout.close()
    assert wait_until(lambda: not is_alive(child_pid))


def test_stop_on_signals_raises_once_then_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        with pytest.raises(Terminated) as caught:
            os.kill(os.getpid(), signal.SIGTERM)
            wait_until(lambda: False, limit=30)  # the handler raises in here
        assert caught.value.exit_code == 143
        # Cleaning up now: further signals must not interrupt it.
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert not wait_until(lambda: False, limit=0.2)
    assert signal.getsignal(signal.SIGTERM) == before


def test_stop_on_signals_keeps_an_ignored_sigint_ignored():
    """A background job's SIGINT stays ignored, as shells intend."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with stop_on_signals():
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (
                signal.SIG_IGN,
                signal.SIG_DFL,
            )
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.slow
def test_serve_workers_die_with_a_killed_master(tmp_path):
    # kill -9 of `serve` used to leave its workers adopted by PID 1, serving
    # and holding the port.
    (tmp_path / "hello.py").write_text(
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'hello']\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [CLI, "serve", "hello:application", "--chdir", str(tmp_path)]
    process = subprocess.Popen(
        [*argv, f"--port={port}", "--workers=2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=default_stop_signals,
        start_new_session=True,
    )
    try:
        assert wait_until(lambda: len(descendants(process.pid)) >= 2, limit=120)
        assert wait_until(lambda: not refuses(url), limit=120)
        workers = descendants(process.pid)
        process.kill()
        process.wait()
        assert wait_until(lambda: not any(is_alive(pid) for pid in workers))
        assert refuses(url)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
