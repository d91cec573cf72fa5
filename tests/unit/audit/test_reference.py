"""Reference models: the IN/OUT design, parallel training, and a Dask cluster
taking the work through joblib without any change to the audit's code."""

from __future__ import annotations

import threading

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier

import anomed_anonymizer as anon
from anomed_anonymizer.audit.reference import (
    membership_design,
    train_reference_models,
)


def tree() -> anon.WrappedAnonymizer:
    return anon.WrappedAnonymizer(
        DecisionTreeClassifier(random_state=0), serializer=anon.pickle_anonymizer
    )


def test_every_sample_is_in_exactly_half_of_the_models():
    design = membership_design(1000, 8, seed=0)
    assert design.shape == (8, 1000)
    assert (design.sum(axis=0) == 4).all()
    assert np.abs(design.mean(axis=1) - 0.5).max() < 0.1  # about half each
    assert (membership_design(1000, 8, seed=0) == design).all()
    with pytest.raises(ValueError, match="even"):
        membership_design(10, 3, seed=0)


def test_reference_models_fit_copies_and_leave_the_original_unfitted():
    X, y = load_breast_cancer(return_X_y=True)
    original = tree()
    design = membership_design(len(X), 4, seed=0)
    done = []
    signals = train_reference_models(original, X, y, design, progress=done.append)
    assert signals.shape == (4, len(X))
    assert done == [1, 1, 1, 1]
    assert not hasattr(original.wrapped, "tree_")
    # An unpruned tree is certain of every sample it trained on.
    assert (signals[design] == 1.0).all()
    assert (signals[~design] < 1.0).any()


@pytest.mark.slow
def test_loky_processes_give_the_same_signals_as_one_process():
    X, y = load_breast_cancer(return_X_y=True)
    design = membership_design(len(X), 4, seed=0)
    sequential = train_reference_models(tree(), X, y, design, n_jobs=1)
    parallel = train_reference_models(tree(), X, y, design, n_jobs=2)
    np.testing.assert_array_equal(sequential, parallel)


_both_running = threading.Barrier(2, timeout=120)


class _RendezvousTree(DecisionTreeClassifier):
    """Fits only once another fit runs at the same time: two models that
    pass the barrier trained concurrently, on two single-thread workers."""

    def fit(self, X, y, sample_weight=None):
        _both_running.wait()
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.slow
def test_a_dask_cluster_takes_the_reference_models_through_joblib():
    distributed = pytest.importorskip("distributed")
    X, y = load_breast_cancer(return_X_y=True)
    model = anon.WrappedAnonymizer(
        _RendezvousTree(random_state=0), serializer=anon.pickle_anonymizer
    )
    design = membership_design(len(X), 2, seed=0)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_config(backend="dask"),
    ):
        on_cluster = train_reference_models(model, X, y, design)
    workers = {task["worker"] for task in tasks.data}
    assert len(workers) == 2
    expected = train_reference_models(tree(), X, y, design, n_jobs=1)
    np.testing.assert_array_equal(on_cluster, expected)
