"""The shipped OpenAPI documents describe the live servers: Schemathesis
fuzzes every route of both templates, served by `serve`, and finds no 5xx
and no answer that the document does not describe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from anomed_anonymizer.cli.processes import free_port, start_server

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CLI = str(BIN / "anomed-anonymizer")
OUR_APPS = Path(__file__).resolve().parents[1] / "interop" / "our_apps"
CONFORMANCE = ",".join(
    [
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)
# Control routes answer 502/503 by design when the challenge misbehaves or
# nothing is fitted (documented); every other route must never answer 5xx
# once fitted.
CONTROL = "^/(fit|evaluate)$"


@pytest.fixture(params=["supervised", "tabular"])
def live(request, tmp_path):
    kind = request.param
    emulator_port = free_port()
    emulator = start_server(
        "emulator",
        [
            CLI,
            "emulate-challenge",
            f"--kind={kind}",
            f"--port={emulator_port}",
            "--workers=1",
            "--rows=200",
        ]
        if kind == "tabular"
        else [CLI, "emulate-challenge", f"--port={emulator_port}", "--workers=1"],
        emulator_port,
        tmp_path,
    )
    app = (
        "versioned_app:application"
        if kind == "supervised"
        else "tabular_app:application"
    )
    port = free_port()
    server = start_server(
        "anonymizer",
        [CLI, "serve", app, "--chdir", str(OUR_APPS), f"--port={port}", "--workers=2"],
        port,
        tmp_path,
        env={
            "CHALLENGE_HOST": emulator.host,
            "MODEL_FILE": str(tmp_path / "model.pkl"),
            "OUTPUT_DIR": str(tmp_path / "release"),
        },
    )
    try:
        yield kind, server
    finally:
        server.stop()
        emulator.stop()


def test_schemathesis_finds_nothing_on_live_servers(live, tmp_path):
    kind, server = live
    document = requests.get(f"{server.url}/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.")
    shipped = Path(__file__).resolve().parents[2] / "src" / "anomed_anonymizer"
    assert document == json.loads(
        (shipped / "server" / "openapi" / f"{kind}.json").read_text()
    )
    passes = [
        ("unfitted", CONFORMANCE, []),
        ("fitted", CONFORMANCE, ["--include-path-regex", CONTROL]),
        (
            "fitted",
            f"not_a_server_error,{CONFORMANCE}",
            ["--exclude-path-regex", CONTROL],
        ),
    ]
    for state, checks, selection in passes:
        if state == "fitted":
            requests.post(f"{server.url}/fit", timeout=60).raise_for_status()
        result = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                checks,
                *selection,
                "--max-examples=25",
                "--seed=1",
                "--generation-database=none",
                "--request-timeout=60",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout[-6000:] + server.log()[-3000:]
