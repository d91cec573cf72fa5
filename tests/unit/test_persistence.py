"""Atomic model files: a failed or killed save leaves the previous model."""

import subprocess
import sys
import textwrap

import pytest

from anomed_anonymizer.files import save_atomically


def write(text):
    def save(path):
        path.write_text(text)

    return save


def test_writes_the_target_under_its_own_name(tmp_path):
    seen = []

    def save(path):
        seen.append(path.name)
        path.write_text("v1")

    save_atomically(save, tmp_path / "model.keras")
    assert seen == ["model.keras"], "savers that check the suffix must see it"
    assert (tmp_path / "model.keras").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_failing_save_keeps_previous_model_and_leaves_no_litter(tmp_path):
    target = tmp_path / "model.pkl"
    save_atomically(write("good"), target)

    def broken(path):
        path.write_text("half-writ")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_atomically(broken, target)
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]


def test_killed_save_keeps_previous_model(tmp_path):
    target = tmp_path / "model.pkl"
    save_atomically(write("good"), target)
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from anomed_anonymizer.files import save_atomically

        def dying(path):
            path.write_bytes(b"partial")
            os._exit(9)  # as abrupt as SIGKILL: no cleanup runs

        save_atomically(dying, Path({str(target)!r}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=False)
    assert result.returncode == 9
    assert target.read_text() == "good"


def test_save_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="without writing"):
        save_atomically(lambda path: None, tmp_path / "model.pkl")


def test_directory_models_are_replaced_whole(tmp_path):
    def save_dir(version):
        def save(path):
            path.mkdir()
            (path / "weights").write_text(version)

        return save

    target = tmp_path / "saved_model"
    save_atomically(save_dir("v1"), target)
    save_atomically(save_dir("v2"), target)
    assert (target / "weights").read_text() == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["saved_model"]
