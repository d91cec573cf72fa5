"""Real peers as separate processes: platform stub, challenge, our anonymizer,
deanonymizer. The peers run in their own environment (``.venv-peers``)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from docs_blocks import doc_block
from helpers import (
    PEER_APPS,
    ServerProcess,
    free_port,
    gunicorn_argv,
    peers_python,
    start_server,
)

pytestmark = pytest.mark.interop

# Server apps run as separate processes, never imported here.
collect_ignore = ["peer_apps", "our_apps"]


@pytest.fixture(scope="session")
def peers() -> Path:
    python = peers_python()
    if python is None:
        message = (
            "the peers' environment is missing: run `make peers` (or `make test`), "
            "or point ANOMED_PEERS_PYTHON at its interpreter"
        )
        if os.environ.get("ANOMED_REQUIRE_PEERS"):
            pytest.fail(message)
        pytest.skip(message)
    return python


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("interop")


class PlatformStub:
    def __init__(self, server: ServerProcess, record: Path) -> None:
        self.server = server
        self.record = record

    def received(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]


@pytest.fixture(scope="session")
def platform(work_dir):
    port = free_port()
    record = work_dir / "platform.jsonl"
    server = start_server(
        "platform",
        [sys.executable, str(PEER_APPS / "platform_stub.py"), str(port), str(record)],
        port,
        work_dir,
    )
    yield PlatformStub(server, record)
    server.stop()


@pytest.fixture(scope="session")
def real_challenge(peers, platform, work_dir):
    """The real anomed-challenge 0.0.21 (iris, seed 42), in the peers' env."""
    port = free_port()
    server = start_server(
        "real-challenge",
        gunicorn_argv(peers, "challenge_app:application", port, chdir=PEER_APPS),
        port,
        work_dir,
        env={"ANOMED_HOST": platform.server.host},
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def emulated_challenge(platform, work_dir):
    """Our emulator, through the real console script, on the same data."""
    port = free_port()
    server = start_server(
        "emulated-challenge",
        [
            str(Path(sys.executable).with_name("anomed-anonymizer")),
            "emulate-challenge",
            "--dataset=iris",
            "--seed=42",
            "--mia-length=5",
            f"--port={port}",
        ],
        port,
        work_dir,
        env={"ANOMED_HOST": platform.server.host},
    )
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["anomed-challenge", "emulator"])
def challenge(request):
    """Every test that needs a challenge runs against both: any difference is a
    bug in the emulator."""
    name = (
        "real_challenge"
        if request.param == "anomed-challenge"
        else "emulated_challenge"
    )
    return request.getfixturevalue(name)


def readme_example() -> str:
    """The README's supervised example, exactly as written."""
    return doc_block("supervised-example")


@pytest.fixture(scope="session")
def anonymizer(challenge, work_dir):
    app_dir = work_dir / f"readme_app_{challenge.name}"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(readme_example())
    port = free_port()
    server = start_server(
        f"anonymizer-for-{challenge.name}",
        gunicorn_argv(
            sys.executable, "app:application", port, workers=2, chdir=app_dir
        ),
        port,
        work_dir,
        env={"CHALLENGE_HOST": challenge.host},
        cwd=app_dir,
    )
    server.app_dir = app_dir
    yield server
    server.stop()


@pytest.fixture(scope="session")
def deanonymizer(peers, challenge, anonymizer, work_dir):
    port = free_port()
    server = start_server(
        f"deanonymizer-for-{challenge.name}",
        gunicorn_argv(peers, "deanonymizer_app:application", port, chdir=PEER_APPS),
        port,
        work_dir,
        env={
            "ANONYMIZER_HOST": anonymizer.host,
            "CHALLENGE_HOST": challenge.host,
            "DEANONYMIZER_MODEL": str(work_dir / f"deanonymizer_{challenge.name}.pkl"),
        },
    )
    yield server
    server.stop()
