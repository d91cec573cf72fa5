"""A competitor's path from ``pip install`` to a submission, walked as a user
walks it: outside this repository, in fresh virtual environments, with the
wheel built from the checkout (never an editable install).

1. Build the wheel (README, "Install").
2. For each use the README's install block documents (``# NAME: ...`` then
   its ``pip install`` lines), create a fresh environment, run exactly those
   commands, and check the use works: the README's examples served with
   ``anomed-anonymizer serve`` against ``anomed-anonymizer emulate-challenge``,
   the demo, the self-audit, DP synthesis, Keras.
3. ``init`` both templates, install each scaffold with plain ``pip install -r
   requirements.txt`` into another fresh environment and run its smoke test:
   this is what tests the pins the package ships.

Prints what each use pulls in (the size of its environment's site-packages
beyond a bare one's). ``python tests/user_path/walk.py lock`` regenerates the
pins instead (src/anomed_anonymizer/cli/constraints/).

The harness itself uses this repository's process helpers; everything under
test runs from the fresh environments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

import requests  # noqa: E402

from anomed_anonymizer.cli.processes import (  # noqa: E402
    ServerProcess,
    free_port,
    start_server,
    stop_servers,
)
from docs_blocks import DOC_FILES, doc_block  # noqa: E402

CONSTRAINTS = REPO / "src" / "anomed_anonymizer" / "cli" / "constraints"
# PyTorch's CPU index is not reachable from CI; this machine's pip
# configuration serves the same CPU build from local disk.
_TORCH_INDEX = re.compile(r"\s--(?:index-url|extra-index-url)[ =]\S+")


class PathBrokenError(Exception):
    """A step of the path failed; the message says which and why."""


def log(message: str) -> None:
    print(f"[user-path {time.strftime('%H:%M:%S')}] {message}", flush=True)


def sh(argv, cwd: Path, env: dict | None = None, timeout: float = 1800) -> str:
    shown = " ".join(shlex.quote(str(a)) for a in argv)
    result = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise PathBrokenError(
            f"`{shown}` (in {cwd}) exited with {result.returncode}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout + result.stderr


# -- the README and docs/ ------------------------------------------------------


def readme_block(marker: str, language: str) -> str:
    """The block marked ``<!-- marker -->`` in README.md or docs/*.md."""
    try:
        return doc_block(marker, language)
    except LookupError as error:
        raise PathBrokenError(str(error)) from None


def first_python_block() -> str:
    """The README's supervised example (marked ``supervised-example``)."""
    return readme_block("supervised-example", "python")


def install_steps() -> tuple[str, dict[str, list[str]]]:
    """The wheel-building command and, per use, its install commands."""
    build, uses, current = None, {}, None
    for line in readme_block("install", "sh").splitlines():
        line = line.strip()
        if not line:
            continue
        named = re.fullmatch(r"#\s*([a-z0-9-]+):.*", line)
        if named:
            current = named[1]
            uses[current] = []
        elif line.startswith("python -m pip wheel"):
            build = line.split("#")[0].strip()
        elif line.startswith("pip install"):
            if current is None:
                raise PathBrokenError(
                    f"install line before any '# use:' comment: {line}"
                )
            uses[current].append(line.split("  #")[0].strip())
    if build is None:
        raise PathBrokenError(
            "README's install block has no `python -m pip wheel` line"
        )
    return build, uses


# -- every install line, wherever it is written -----------------------------------

#: ``pip install``, ``python -m pip install`` or ``uv pip install``.
_PIP = re.compile(r"(?:\b(?:python3?|py) -m |\buv )?\bpip install\b")
#: Where a command ends in prose or a shell line.
_STOP_WORDS = {"&&", "||", ";", "|", "#", "&"}
#: Options whose value is the next word.
_VALUED = {
    "-r", "--requirement", "-c", "--constraint", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "-e", "--editable",
}  # fmt: skip
_PYTORCH_INDEX = "download.pytorch.org/whl/"


@dataclass(frozen=True)
class InstallLine:
    """One install command as written: where, what, and the text around it."""

    source: str
    lineno: int
    command: str
    #: the comments and prose next to it (what it says it does)
    note: str = ""
    #: lines of one code block, Dockerfile or output share it (an earlier
    #: line of the same group may install torch's build first)
    group: str = ""

    def where(self) -> str:
        return f"{self.source}:{self.lineno}: {self.command}"

    @property
    def args(self) -> list[str]:
        return shlex.split(self.command)[2:]


def _command_at(text: str) -> str | None:
    """The install command at the start of ``text``, up to where it ends."""
    match = _PIP.match(text)
    if match is None:
        return None
    try:
        lexer = shlex.shlex(text[match.end() :], posix=True, punctuation_chars="&|;")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
    except ValueError:  # an unbalanced quote: the command ends before it
        words = text[match.end() :].split()
    kept, expect_value = [], False
    for word in words:
        if word in _STOP_WORDS or word.startswith("(") or word in {"then", "and"}:
            break
        end = word[-1] in ",.;:)" and not expect_value
        word = word.rstrip(",.;:)") if end else word
        if not word:
            break
        if not expect_value and not (
            word.startswith("-") or re.fullmatch(r"[\w.\[\],<>=!~+/:@*-]+", word)
        ):
            break
        kept.append(word)
        expect_value = word in _VALUED
        if end:
            break
    if not kept:
        return None
    return "pip install " + " ".join(shlex.quote(w) for w in kept)


def _commands_in(text: str) -> list[str]:
    commands = []
    for match in _PIP.finditer(text):
        command = _command_at(text[match.start() :])
        if command:
            commands.append(command)
    return commands


def markdown_install_lines(text: str, source: str) -> list[InstallLine]:
    """Install commands in a markdown text: each line of its fenced code
    blocks (a ``# comment`` line above one is its note) and its inline code
    spans (the paragraph is the note)."""
    found: list[InstallLine] = []
    lines = text.splitlines()
    in_block, block_start, comment = False, 0, ""
    prose: list[tuple[int, str]] = []

    def flush_prose() -> None:
        paragraph = " ".join(p for _, p in prose)
        for span in re.finditer(r"`([^`]+)`", paragraph):
            for command in _commands_in(span[1]):
                # the line the span starts on
                offset = len(paragraph[: span.start()].split(" ")) - 1
                counted, lineno = 0, prose[0][0]
                for n, piece in prose:
                    counted += len(piece.split(" "))
                    if counted > offset:
                        lineno = n
                        break
                found.append(
                    InstallLine(source, lineno, command, paragraph, f"{source}:p")
                )
        prose.clear()

    for n, line in enumerate(lines, 1):
        fence = line.lstrip().startswith("```")
        if fence:
            if not in_block:
                flush_prose()
            in_block, block_start, comment = not in_block, n, ""
            continue
        if in_block:
            body = line.strip().removeprefix("$ ").removeprefix("RUN ")
            if body.startswith("#"):
                comment = body
                continue
            if _PIP.match(body):
                tail = body.split(" #", 1)[1] if " #" in body else ""
                for command in _commands_in(body):
                    found.append(
                        InstallLine(
                            source,
                            n,
                            command,
                            f"{comment} {tail}".strip(),
                            f"{source}:{block_start}",
                        )
                    )
            continue
        if line.strip():
            prose.append((n, line.strip()))
        else:
            flush_prose()
    flush_prose()
    return found


def text_install_lines(text: str, source: str) -> list[InstallLine]:
    """Install commands in a Dockerfile, a shell script or a command's output:
    backslash continuations joined, ``#`` comments above a line its note."""
    found: list[InstallLine] = []
    comment, pending, start = "", "", 0
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not pending and stripped.startswith("#"):
            comment += " " + stripped
            continue
        if not pending:
            start = n
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        joined, pending = pending + stripped, ""
        for command in _commands_in(joined):
            found.append(
                InstallLine(source, start, command, f"{comment} {joined}", source)
            )
        comment = ""
    return found


def install_lines(path: Path, source: str | None = None) -> list[InstallLine]:
    """Every install command in a file: markdown by its suffix, else text."""
    text = path.read_text()
    source = source or str(path)
    if path.suffix == ".md":
        return markdown_install_lines(text, source)
    return text_install_lines(text, source)


def _requirements(line: InstallLine) -> list[str]:
    """The requirement words of a command (options and their values left out)."""
    words, skip = [], False
    for word in line.args:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _VALUED
        else:
            words.append(word)
    return words


def static_problems(line: InstallLine, version: str) -> list[str]:
    """What is wrong with ``line`` before anything is resolved: a requirement
    naming ``anomed-anonymizer`` by name (PyPI's is upstream's 0.0.x) unless it
    pins this ``version``."""
    problems = []
    for word in _requirements(line):
        name = re.match(r"[A-Za-z0-9_.-]+", word)
        if name is None or word.endswith(".whl") or ".whl[" in word:
            continue
        named = re.sub(r"[-_.]+", "-", name[0].lower()) == "anomed-anonymizer"
        if named and f"=={version}" not in word:
            problems.append(
                f"{word!r} names the package: PyPI's anomed-anonymizer is "
                f"upstream's 0.0.x; install the wheel (README 'Install') or "
                f"pin =={version} beside an installed one"
            )
    return problems


def torch_index_given(line: InstallLine, earlier: Iterable[InstallLine]) -> bool:
    """Whether torch's build is chosen: PyTorch's index on this line, or on an
    earlier line of the same group that installs torch."""
    if _PYTORCH_INDEX in line.command:
        return True
    return any(
        _PYTORCH_INDEX in e.command and e.group == line.group
        for e in earlier
        if any(r.startswith("torch") for r in _requirements(e))
    )


# -- environments ----------------------------------------------------------------


class Env:
    """A fresh virtual environment outside the repository."""

    def __init__(self, path: Path) -> None:
        if path.exists():
            shutil.rmtree(path)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        self.path = path
        self.python = path / "bin" / "python"
        self.cli = path / "bin" / "anomed-anonymizer"
        self.bare_size = self.site_packages_size()

    def site_packages_size(self) -> int:
        (site,) = (self.path / "lib").glob("python*/site-packages")
        return sum(f.stat().st_size for f in site.rglob("*") if f.is_file())

    def pip(self, command: str, cwd: Path) -> None:
        """Run a documented ``pip install ...`` line in this environment."""
        command = _TORCH_INDEX.sub("", command)
        argv = shlex.split(command)
        assert argv[:2] == ["pip", "install"], command
        sh([self.python, "-m", "pip", "install", "--quiet", *argv[2:]], cwd)

    def check_consistent(self, cwd: Path, allowed: re.Pattern | None = None) -> None:
        """``pip check``; lines matching ``allowed`` are the README's choice."""
        try:
            sh([self.python, "-m", "pip", "check"], cwd)
        except PathBrokenError as exc:
            if allowed is None:
                raise
            lines = [
                line
                for line in str(exc).splitlines()[1:]
                if line.strip() and not allowed.search(line)
            ]
            if lines:
                raise


def _strip_pytorch_index(args: list[str]) -> list[str]:
    """PyTorch's indexes are not reachable from CI; this machine's pip
    configuration serves torch's CPU build from local disk instead."""
    kept, skip = [], False
    for i, word in enumerate(args):
        if skip:
            skip = False
            continue
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if word in {"--index-url", "--extra-index-url", "-i"} and _PYTORCH_INDEX in nxt:
            skip = True
            continue
        if word.startswith(("--index-url=", "--extra-index-url=")) and (
            _PYTORCH_INDEX in word
        ):
            continue
        kept.append(word)
    return kept


def resolution_problems(
    line: InstallLine,
    report: dict,
    wheel: Path,
    baseline_numpy: str,
    earlier: Iterable[InstallLine] = (),
) -> list[str]:
    """What pip's ``--report`` for ``line`` says is wrong: anomed-anonymizer
    from anywhere but this build's wheel, torch without its build chosen
    (unless the text around says CUDA), NumPy 1 where NumPy 2 was, unsaid."""
    problems = []
    for item in report.get("install", []):
        name = item["metadata"]["name"].lower().replace("_", "-")
        version = item["metadata"]["version"]
        url = item.get("download_info", {}).get("url", "")
        if name == "anomed-anonymizer" and not (
            url.startswith("file:") and url.endswith(".whl")
        ):
            problems.append(f"would fetch anomed-anonymizer {version} from {url}")
        if (name == "torch" or name.startswith("nvidia-")) and not (
            torch_index_given(line, earlier) or "cuda" in line.note.lower()
        ):
            problems.append(
                f"installs {name} {version} with no PyTorch index on the line: "
                "from PyPI alone that is a CUDA build of several GB on Linux "
                "(add --extra-index-url https://download.pytorch.org/whl/cpu)"
            )
        announced = re.search(r"numpy 1|1\.26", line.note, re.I)
        if (
            name == "numpy"
            and int(version.split(".")[0]) < 2 <= int(baseline_numpy.split(".")[0])
            and not announced
        ):
            problems.append(
                f"moves NumPy {baseline_numpy} back to {version} and the text "
                "around it does not say so"
            )
    return problems


def check_install_lines(wheel: Path, work: Path) -> int:
    """Resolve every install line of the docs, the scaffolds and the CLI's
    output (``pip install --dry-run``) against the built ``wheel``, in an
    environment that has its core installed; raise naming each bad line."""
    version = wheel.name.split("-")[1]
    env = Env(work / "venv-lines")
    sh([env.python, "-m", "pip", "install", "--quiet", wheel], work)
    baseline = sh([env.python, "-c", "import numpy; print(numpy.__version__)"], work)
    baseline = baseline.strip()
    docs = DOC_FILES
    found: list[tuple[InstallLine, Path]] = []
    supervised = work / "lines-supervised"
    for path in docs:
        for line in install_lines(path, str(path.relative_to(REPO))):
            found.append((line, supervised if "-r" in line.args else work))
    for template in TEMPLATE_EXTRAS:
        scaffold = work / f"lines-{template}"
        out = sh([env.cli, "init", scaffold, f"--template={template}"], work)
        found += [
            (line, scaffold)
            for line in text_install_lines(out, f"`init --template={template}`")
        ]
        for file in sorted(scaffold.iterdir()):
            if file.name.startswith(("Dockerfile", "README")):
                name = f"init --template={template}: {file.name}"
                found += [(line, scaffold) for line in install_lines(file, name)]
        # Dockerfile.attack's constraints: requirements.txt without the wheel
        requirements = (scaffold / "requirements.txt").read_text().splitlines()
        (scaffold / "constraints.txt").write_text(
            "\n".join(r for r in requirements if not r.startswith("./wheels/"))
        )
    for argv in (["demo"], ["emulate-challenge", f"--port={free_port()}"]):
        result = subprocess.run(
            [str(env.cli), *argv], cwd=work, capture_output=True, text=True, timeout=120
        )
        shown = f"`anomed-anonymizer {argv[0]}` without its extra"
        found += [(line, work) for line in text_install_lines(result.stderr, shown)]
    problems, resolved = [], {}
    for index, (line, cwd) in enumerate(found):
        earlier = [e for e, _ in found[:index]]
        bad = static_problems(line, version)
        args = _strip_pytorch_index(line.args)
        for i, word in enumerate(args):
            documented = re.match(r"dist/(anomed_anonymizer-[^/\[]+\.whl)", word)
            if documented and documented[1] != wheel.name:
                bad.append(f"names {documented[1]}; the build makes {wheel.name}")
            elif documented:
                args[i] = str(wheel) + word[documented.end() :]
        if re.search(_PYTORCH_INDEX + r"cu\d", line.command):
            pass  # a GPU line: its CUDA build is the point (checked above)
        elif not bad:
            key = (str(cwd), tuple(args))
            if key not in resolved:
                report = work / f"report-{len(resolved)}.json"
                argv = [env.python, "-m", "pip", "install", "--dry-run", "--quiet"]
                argv += ["--report", report, "--find-links", wheel.parent, *args]
                try:
                    sh(argv, cwd, timeout=900)
                    resolved[key] = json.loads(report.read_text())
                except PathBrokenError as exc:
                    resolved[key] = {"error": str(exc)[-1500:]}
            answer = resolved[key]
            if "error" in answer:
                bad.append(f"does not resolve: {answer['error']}")
            else:
                bad += resolution_problems(line, answer, wheel, baseline, earlier)
        problems += [f"{line.where()}\n    {b}" for b in bad]
    if problems:
        raise PathBrokenError(
            f"{len(problems)} install line(s) are wrong:\n" + "\n".join(problems)
        )
    return len(found)


def serve(venv: Env, name: str, argv: list[str], work: Path, **kwargs) -> ServerProcess:
    port = free_port()
    return start_server(
        name,
        [str(venv.cli), *argv, f"--port={port}"],
        port,
        work,
        timeout=180,
        **kwargs,
    )


def expect(response: requests.Response, status: int, *servers: ServerProcess):
    if response.status_code != status:
        logs = "\n".join(f"--- {s.name} log ends:\n{s.log()[-3000:]}" for s in servers)
        raise PathBrokenError(
            f"{response.request.method} {response.url} answered "
            f"{response.status_code}, not {status}: {response.text[:2000]}\n{logs}"
        )
    return response


def chain_supervised(env: Env, app_source: str, work: Path, extra_env=None) -> None:
    """app.py under `serve`, against `emulate-challenge`: fit, evaluate, predict."""
    app_dir = work / "app"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "app.py").write_text(app_source)
    started = []
    try:
        started.append(
            serve(env, "challenge", ["emulate-challenge", "--workers=1"], work)
        )
        challenge = started[0]
        started.append(
            serve(
                env,
                "anonymizer",
                ["serve", "app:application", f"--chdir={app_dir}"],
                work,
                env={"CHALLENGE_HOST": challenge.host, **(extra_env or {})},
                cwd=app_dir,
            )
        )
        url = started[1].url
        expect(requests.post(f"{url}/fit", timeout=900), 201, *started)
        for split in ("tuning", "validation"):
            response = requests.post(
                f"{url}/evaluate", params={"data_split": split}, timeout=300
            )
            expect(response, 201, *started)
        X = requests.get(f"{challenge.url}/data/anonymizer/tuning", timeout=60)
        response = requests.post(f"{url}/predict", data=X.content, timeout=300)
        expect(response, 201, *started)
    finally:
        stop_servers(started)


def chain_tabular(env: Env, app_source: str, work: Path, rows: int = 2000) -> None:
    app_dir = work / "tabular_app"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "app.py").write_text(app_source)
    started = []
    try:
        started.append(
            serve(
                env,
                "tabular-challenge",
                [
                    "emulate-challenge",
                    "--kind=tabular",
                    f"--rows={rows}",
                    "--workers=1",
                ],
                work,
            )
        )
        started.append(
            serve(
                env,
                "tabular-anonymizer",
                ["serve", "app:application", f"--chdir={app_dir}"],
                work,
                env={"CHALLENGE_HOST": started[0].host},
                cwd=app_dir,
            )
        )
        url = started[1].url
        expect(requests.post(f"{url}/fit", timeout=900), 201, *started)
        expect(requests.post(f"{url}/evaluate", timeout=300), 201, *started)
        expect(requests.get(f"{url}/anon_data", timeout=60), 200, *started)
    finally:
        stop_servers(started)


# -- what each documented use must do -------------------------------------------

AUDITED_APP = """
import os

import numpy as np
from sklearn.naive_bayes import GaussianNB

import anomed_anonymizer as anon


def validate(feature_array):
    if feature_array.ndim != 2 or feature_array.dtype != np.float64:
        raise ValueError("expected a 2-d float64 array")


hostname = os.environ["CHALLENGE_HOST"]
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="example_anonymizer",
    anonymizer_obj=anon.WrappedAnonymizer(
        GaussianNB(),
        serializer=anon.pickle_anonymizer,
        feature_array_validator=validate,
    ),
    model_filepath="anonymizer.pkl",
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anon.unpickle_anonymizer,
)
"""

SYNTH_APP = """
import os

import anomed_anonymizer as anon
from anomed_anonymizer.tabular import DPSynthesizer

hostname = os.environ["CHALLENGE_HOST"]
application = anon.tabular_data_anonymizer_server_factory(
    anonymizer_identifier="synth",
    anonymizer_obj=DPSynthesizer(epsilon=3.0, random_state=0),
    output_dir="release",
    leaky_data_url=f"http://{hostname}/data/anonymizer/leaky",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
)
"""


def check_serve(env: Env, work: Path) -> None:
    code = (
        "import sys, anomed_anonymizer\n"
        "heavy = {'sklearn', 'scipy'} & {m.split('.')[0] for m in sys.modules}\n"
        "assert not heavy, heavy\n"
    )
    sh([env.python, "-c", code], work)
    sh([env.cli, "--help"], work)
    for argv, extra in (
        (["demo"], "anomed-anonymizer[demo]"),
        (["emulate-challenge", f"--port={free_port()}"], "anomed-anonymizer[emulator]"),
    ):
        result = subprocess.run(
            [str(env.cli), *argv], cwd=work, capture_output=True, text=True, timeout=120
        )
        if result.returncode != 1 or extra not in result.stderr:
            raise PathBrokenError(
                f"{argv[0]} without its extra: {result.returncode} {result.stderr}"
            )
    # The README's custom server, served: alive, and /predict before a fit.
    app_dir = work / "custom"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "app.py").write_text(readme_block("custom-server-example", "python"))
    server = serve(env, "custom", ["serve", "app:app", f"--chdir={app_dir}"], work)
    try:
        expect(requests.get(server.url, timeout=30), 200, server)
        expect(
            requests.post(f"{server.url}/predict", data=b"x", timeout=30), 503, server
        )
    finally:
        server.stop()


def check_tabular(env: Env, work: Path) -> None:
    chain_tabular(env, readme_block("tabular-example", "python"), work)


def check_torch(env: Env, work: Path) -> None:
    chain_supervised(env, readme_block("torch-example", "python"), work)


def check_examples(env: Env, work: Path) -> None:
    chain_supervised(env, first_python_block(), work)
    for template in ("supervised", "tabular", "torch", "torch-regression"):
        scaffold = work / f"my_{template}"
        sh([env.cli, "init", scaffold, f"--template={template}"], work)
        fresh = Env(work / f"venv-scaffold-{template}")
        log(f"  scaffold {template}: pip install -r requirements.txt (fresh env)")
        sh(
            [fresh.python, "-m", "pip", "install", "-q", "-r", "requirements.txt"],
            scaffold,
        )
        fresh.check_consistent(scaffold)
        out = sh(
            [fresh.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], scaffold
        )
        log(f"  scaffold {template}: {out.strip().splitlines()[-1]}")
        if template == "supervised":
            plain_gunicorn_in_scaffold(env, fresh, scaffold, work)


def plain_gunicorn_in_scaffold(env: Env, fresh: Env, scaffold: Path, work: Path):
    """The README's gunicorn command, run in the scaffold's folder with the
    scaffold's own environment: its gunicorn.conf.py makes it serve as
    ``serve`` does (keep-alive answers; the sync worker closes each one)."""
    port = free_port()
    # The README's command line; no -c: gunicorn finds ./gunicorn.conf.py.
    gunicorn = [fresh.python, "-m", "gunicorn", "--workers=1", "--timeout=1800"]
    started = [serve(env, "challenge", ["emulate-challenge", "--workers=1"], work)]
    try:
        started.append(
            start_server(
                "scaffold-gunicorn",
                [*gunicorn, f"--bind=127.0.0.1:{port}", "app:application"],
                port,
                work,
                env={"CHALLENGE_HOST": started[0].host},
                cwd=scaffold,
                timeout=180,
            )
        )
        url = started[1].url
        with requests.Session() as session:
            expect(session.post(f"{url}/fit", timeout=900), 201, *started)
            X = requests.get(
                f"{started[0].url}/data/anonymizer/tuning", timeout=60
            ).content
            for _ in range(2):
                response = session.post(f"{url}/predict", data=X, timeout=300)
                expect(response, 201, *started)
                if response.headers.get("Connection", "").lower() == "close":
                    raise PathBrokenError(
                        "gunicorn app:application in the scaffold closed the "
                        "connection: its gunicorn.conf.py was not applied\n"
                        + started[1].log()[-3000:]
                    )
        log("  scaffold supervised: gunicorn app:application keeps connections")
    finally:
        stop_servers(started)


def check_audit(env: Env, work: Path) -> None:
    sh([env.cli, "serve-attack", "--help"], work)
    app_dir = work / "audited"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "app.py").write_text(AUDITED_APP)
    started = []
    try:
        started.append(
            serve(env, "challenge", ["emulate-challenge", "--workers=1"], work)
        )
        challenge = started[0]
        started.append(
            serve(
                env,
                "audited",
                ["serve", "app:application", f"--chdir={app_dir}"],
                work,
                env={"CHALLENGE_HOST": challenge.host},
                cwd=app_dir,
            )
        )
        anonymizer = started[1]
        started.append(
            serve(
                env,
                "attack",
                [
                    "serve-attack",
                    f"--anonymizer={anonymizer.host}",
                    f"--challenge=http://{challenge.host}/",
                    "--n-features=4",
                    "--n-classes=3",
                ],
                work,
            )
        )
        attack = started[2]
        expect(requests.post(f"{anonymizer.url}/fit", timeout=300), 201, *started)
        expect(requests.post(f"{attack.url}/fit", timeout=600), 201, *started)
        response = requests.post(
            f"{attack.url}/evaluate", params={"data_split": "tuning"}, timeout=600
        )
        expect(response, 201, *started)
        if "Warning" in attack.log():
            raise PathBrokenError(
                f"third-party warnings in the attack's log:\n{attack.log()}"
            )
    finally:
        stop_servers(started)


def check_demo(env: Env, work: Path) -> None:
    demo = subprocess.run(
        [str(env.cli), "demo", "--dataset=iris"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if demo.returncode != 0 or "Results for iris" not in demo.stdout:
        raise PathBrokenError(
            f"demo: exit {demo.returncode}\n{demo.stdout}\n{demo.stderr}"
        )
    if "Warning" in demo.stdout + demo.stderr:
        raise PathBrokenError(
            f"third-party warnings in the demo's output:\n{demo.stderr}"
        )


def check_synth(env: Env, work: Path) -> None:
    chain_tabular(env, SYNTH_APP, work, rows=300)


def check_keras(env: Env, work: Path) -> None:
    chain_supervised(
        env, readme_block("keras-example", "python"), work, {"KERAS_BACKEND": "torch"}
    )


def _check_table_audit(env: Env, work: Path, numpy_major: int) -> None:
    sh([env.cli, "audit-table", "--help"], work)
    code = (
        "import numpy, anonymeter\n"
        "from anomed_anonymizer.table_audit import anonymeter_available\n"
        "assert anonymeter_available()\n"
        "print(numpy.__version__)\n"
    )
    found = sh([env.python, "-c", code], work).strip().splitlines()[-1]
    if int(found.split(".")[0]) != numpy_major:
        raise PathBrokenError(
            f"the README says NumPy {numpy_major} for this use; it has {found}"
        )


def check_audit_table(env: Env, work: Path) -> None:
    _check_table_audit(env, work, numpy_major=1)


def check_audit_table_numpy2(env: Env, work: Path) -> None:
    _check_table_audit(env, work, numpy_major=2)


#: Uses whose ``pip check`` may name these pins (installed with --no-deps).
ALLOWED_CONFLICTS = {
    "audit-table-numpy2": re.compile(
        r"anonymeter 1\.1\.0 has requirement (numpy|pyarrow)"
    )
}


CHECKS: dict[str, Callable[[Env, Path], None]] = {
    "serve": check_serve,
    "tabular": check_tabular,
    "torch": check_torch,
    "examples": check_examples,
    "audit": check_audit,
    "demo": check_demo,
    "synth": check_synth,
    "keras": check_keras,
    "audit-table": check_audit_table,
    "audit-table-numpy2": check_audit_table_numpy2,
}


# -- main --------------------------------------------------------------------------


def build_wheel(build: str, work: Path) -> Path:
    """Run the README's wheel command on the checkout, into ``work/dist``."""
    argv = shlex.split(build)
    assert argv[-1] == ".", build
    argv = [sys.executable if a == "python" else a for a in argv[:-1]]
    argv = [a if a != "dist" else str(work / "dist") for a in argv]
    sh([*argv, str(REPO)], work)
    (wheel,) = (work / "dist").glob("anomed_anonymizer-*.whl")
    return wheel


def walk(work: Path, only: list[str]) -> None:
    build, uses = install_steps()
    missing = set(CHECKS) - set(uses)
    if missing:
        raise PathBrokenError(
            f"README's install block lacks the uses {sorted(missing)}"
        )
    log(f"building the wheel: {build}")
    wheel = build_wheel(build, work)
    log(f"  {wheel.name}")
    if not only or "install-lines" in only:
        started = time.monotonic()
        count = check_install_lines(wheel, work)
        log(
            f"install lines: {count} in the docs, the scaffolds and the CLI's "
            f"output resolve against the wheel ({time.monotonic() - started:.0f} s)"
        )
    sizes = {}
    for use, commands in uses.items():
        if only and use not in only:
            continue
        if use not in CHECKS:
            raise PathBrokenError(f"README documents a use {use!r} that nothing checks")
        started = time.monotonic()
        log(f"{use}: fresh environment; {' && '.join(commands)}")
        env = Env(work / f"venv-{use}")
        for command in commands:
            env.pip(command, work)
        env.check_consistent(work, ALLOWED_CONFLICTS.get(use))
        sizes[use] = env.site_packages_size() - env.bare_size
        CHECKS[use](env, work)
        log(
            f"{use}: works ({sizes[use] / 1e6:.0f} MB installed, "
            f"{time.monotonic() - started:.0f} s)"
        )
    log("what each use installs (site-packages beyond a bare environment):")
    for use, size in sizes.items():
        log(f"  {use:<9} {size / 1e6:7.0f} MB")


#: What each template's scaffold installs besides anomed-anonymizer's core.
TEMPLATE_EXTRAS = {
    "supervised": ("[examples]", []),
    "tabular": ("[tabular,emulator]", []),
    # The CPU build (on this machine's disk); pinned without its "+cpu" label,
    # so that a plain install works anywhere and an index picks the build.
    "torch": ("[torch,emulator]", ["torch==2.13.0"]),
    "torch-regression": ("[torch,emulator]", ["torch==2.13.0"]),
}


def lock() -> None:
    """Regenerate the pins a scaffold installs: the newest versions pip picks
    for anomed-anonymizer[<extras>] and pytest, resolved in a fresh env."""
    with tempfile.TemporaryDirectory(prefix="anomed-lock-") as tmp:
        work = Path(tmp)
        build, _ = install_steps()
        wheel = build_wheel(build, work)
        env = Env(work / "venv")
        for template, (extras, more) in TEMPLATE_EXTRAS.items():
            report = work / f"{template}.json"
            sh(
                [
                    env.python,
                    "-m",
                    "pip",
                    "install",
                    "--dry-run",
                    "--quiet",
                    "--report",
                    report,
                    f"{wheel}{extras}",
                    "pytest>=8",
                    *more,
                ],
                work,
            )
            installs = json.loads(report.read_text())["install"]
            pins = sorted(
                (
                    f"{i['metadata']['name']}=={i['metadata']['version'].split('+')[0]}"
                    for i in installs
                    if i["metadata"]["name"] != "anomed-anonymizer"
                ),
                key=str.lower,
            )
            header = [
                f"# What a '{template}' submission installs besides "
                "anomed-anonymizer, pinned to",
                "# the versions this release was tested with: CI installs "
                "exactly these into a",
                "# fresh environment and runs the scaffold's smoke test "
                "(make user-path).",
                "# Regenerate with `make constraints` (the newest versions pip "
                "picks for",
                f"# anomed-anonymizer{extras}, {', '.join(['pytest', *more])}).",
            ]
            target = CONSTRAINTS / f"{template}.txt"
            target.write_text("\n".join([*header, *pins]) + "\n")
            log(f"wrote {target.relative_to(REPO)} ({len(pins)} pins)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", nargs="?", choices=["walk", "lock"], default="walk")
    parser.add_argument("--only", nargs="*", default=[], help="walk just these uses")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if args.action == "lock":
        lock()
        return 0
    work = Path(tempfile.mkdtemp(prefix="anomed-user-path-"))
    log(f"working in {work} (outside the repository)")
    try:
        walk(work, args.only)
    except PathBrokenError as exc:
        log(f"BROKEN: {exc}")
        log(f"the work folder is kept: {work}")
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    log("the whole path works")
    return 0


if __name__ == "__main__":
    sys.exit(main())
