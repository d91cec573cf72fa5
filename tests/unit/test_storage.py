"""The model store shared by worker processes."""

import pickle
import subprocess
import sys
import textwrap
import threading

import pytest

from anomed_anonymizer.errors import BusyError
from anomed_anonymizer.models import pickle_anonymizer, unpickle_anonymizer
from anomed_anonymizer.server import FitInProgressError, ModelStore, NotFittedError


class Model:
    def __init__(self, version):
        self.version = version

    def save(self, filepath):
        pickle_anonymizer(self, filepath)


def test_latest_before_any_save_says_fit_first(tmp_path):
    with pytest.raises(NotFittedError, match="POST /fit"):
        ModelStore(tmp_path / "m.pkl", unpickle_anonymizer).latest()


def test_latest_reloads_after_every_save_even_within_one_mtime_tick(tmp_path):
    writer = ModelStore(tmp_path / "m.pkl", unpickle_anonymizer)
    reader = ModelStore(tmp_path / "m.pkl", unpickle_anonymizer)
    for version in range(5):
        writer.save(Model(version))
        assert reader.latest().version == version


def test_latest_does_not_reload_an_unchanged_file(tmp_path):
    loads = []

    def loader(path):
        loads.append(path)
        return unpickle_anonymizer(path)

    store = ModelStore(tmp_path / "m.pkl", loader)
    store.save(Model(1))  # loads once, to verify the file before it replaces
    store.latest()
    loaded = len(loads)
    store.latest()
    assert len(loads) == loaded == 2


def test_second_fit_in_the_same_process_is_refused(tmp_path):
    store = ModelStore(tmp_path / "m.pkl", unpickle_anonymizer)
    entered = threading.Event()
    release = threading.Event()

    def first():
        with store.fitting():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert entered.wait(10)
        with pytest.raises(FitInProgressError), store.fitting():
            pass
    finally:
        release.set()
        thread.join()
    with store.fitting():
        pass  # free again once the first fit ended


def test_fit_in_another_process_is_refused(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys, time
        from anomed_anonymizer.server import ModelStore
        store = ModelStore({str(tmp_path / "m.pkl")!r}, None)
        with store.fitting():
            print("locked", flush=True)
            sys.stdin.readline()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        store = ModelStore(tmp_path / "m.pkl", unpickle_anonymizer)
        with pytest.raises(FitInProgressError, match="another worker"), store.fitting():
            pass
    finally:
        holder.communicate("done\n", timeout=10)
    with ModelStore(tmp_path / "m.pkl", unpickle_anonymizer).fitting():
        pass


def test_a_reader_never_sees_a_half_written_model(tmp_path):
    """The writer is held halfway through its file (no sleeps, no luck): a
    reader meanwhile gets the previous model, and the new one afterwards."""
    writer = ModelStore(tmp_path / "m.pkl", unpickle_anonymizer)
    reader = ModelStore(tmp_path / "m.pkl", unpickle_anonymizer)
    writer.save(Model(0))
    data = pickle.dumps(Model(1))
    halfway, resume = threading.Event(), threading.Event()

    def write_slowly(path):
        with open(path, "wb") as file:
            file.write(data[: len(data) // 2])
            file.flush()
            halfway.set()
            assert resume.wait(60)
            file.write(data[len(data) // 2 :])

    saving = threading.Thread(target=writer.replace, args=(write_slowly,))
    saving.start()
    try:
        assert halfway.wait(60)
        assert reader.latest().version == 0
    finally:
        resume.set()
        saving.join(60)
    assert reader.latest().version == 1


def test_only_taking_the_lock_says_busy(tmp_path):
    """What the block raises passes through as it is, a BusyError of the
    user's own included; the lock is free afterwards."""
    store = ModelStore(tmp_path / "m.pkl", unpickle_anonymizer)
    with pytest.raises(BusyError, match=r"^the user's own$"), store.fitting():
        raise BusyError("the user's own")
    with pytest.raises(KeyError), store.fitting():
        raise KeyError("model")
    busy = pytest.raises(BusyError, match="fitting is already in progress")
    with store.fitting(), busy, store.fitting():
        pass


def test_store_made_before_a_fork_still_locks_in_the_child(tmp_path):
    # gunicorn may import the app (and so make the store) in the master.
    import os

    store = ModelStore(tmp_path / "m.pkl", unpickle_anonymizer)
    with store.fitting():
        pass
    pid = os.fork()
    if pid == 0:  # child
        try:
            with store.fitting():
                store.save(Model(7))
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.latest().version == 7
