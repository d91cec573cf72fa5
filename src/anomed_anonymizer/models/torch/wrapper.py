"""PyTorch classifiers as anonymizers, optionally trained with DP-SGD
(Opacus): :class:`TorchWrapper`.

This module needs no torch to import: the wrapper imports :mod:`.network`
(the network on a device) and :mod:`.trainer` (training, DP-SGD, accounting)
when it first trains, predicts or loads, so ``import anomed_anonymizer``
never imports torch or Opacus. Install the ``torch`` extra to use them. The
weights file is :mod:`.weights`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..base import SupervisedLearningAnonymizer
from ..privacy import PrivacyBudget
from . import weights
from .config import DPSGD

__all__ = ["TorchWrapper"]

_OUTPUTS = ("labels", "probabilities")


class TorchWrapper(SupervisedLearningAnonymizer):
    """Lift a PyTorch classifier (an ``nn.Module`` returning logits) to an
    anonymizer, optionally trained with differentially private SGD.

    Parameters
    ----------
    module : torch.nn.Module | Callable[[int, int], torch.nn.Module]
        The network: a factory called at each fit with ``(n_features,
        n_classes)`` of the training data (e.g. an ``nn.Module`` subclass),
        under the seed, so initialization is reproducible; or a module
        instance, trained from its current weights (a pretrained one is
        fine-tuned). It maps float32 batches of shape ``(n, n_features)`` to
        logits ``(n, n_classes)``. The given module is never trained itself:
        each fit trains a fresh copy (``module_``).
    loss : torch.nn.Module | None
        The training loss; ``None`` takes ``nn.CrossEntropyLoss()``.
    optimizer : Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer] | None
        Makes the optimizer from the parameters, e.g. ``lambda params:
        torch.optim.SGD(params, lr=0.2, momentum=0.9)``; ``None`` takes Adam
        with learning rate 1e-3.
    epochs : int
        Passes over the training data.
    batch_size : int
        Training batch size (the expected size under Poisson sampling).
    dp : DPSGD | None
        Train with DP-SGD through Opacus; ``None`` trains without a privacy
        guarantee.
    feature_array_validator : Callable[[numpy.ndarray], None] | None
        Checks ``X`` for :meth:`validate_input`; ``None`` accepts finite, real
        2-d arrays (with the fitted number of columns, once fitted).
    output : {"labels", "probabilities"}
        What :meth:`predict` returns: labels of the training labels' dtype
        (what a challenge scores), or class probabilities.
    device : str | None
        ``"cpu"``, ``"cuda"``, ...; ``None`` takes CUDA when present, else
        the CPU.
    seed : int | None
        Seeds what does not affect a DP guarantee: the initial weights,
        dropout, and the shuffling of non-private training, so a non-private
        fit is reproducible on the same device; ``None`` draws fresh
        randomness. DP-SGD's batch sampling and noise never come from this
        seed: they draw fresh OS entropy at every fit (see
        :class:`DPSGD`'s ``noise_seed``), so a DP fit differs run to run
        whatever ``seed`` says.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network.
    classes_ : numpy.ndarray
        The labels, in the order of the network's outputs.
    n_features_ : int
        Columns of the training ``X``.
    privacy_ : dict | None
        The DP-SGD budget actually spent (see :meth:`privacy_budget`).

    Notes
    -----
    Serve with ``model_loader=wrapper.load`` and a ``model_filepath`` ending
    in ``.pt``. ``classes_`` and ``n_features_`` come from the training data
    and are treated as public, as are the number of training examples
    (Opacus' sampling rate, the default δ) and the architecture.
    """

    def __init__(
        self,
        module: Any,
        loss: Any = None,
        optimizer: Callable[[Iterable[Any]], Any] | None = None,
        epochs: int = 10,
        batch_size: int = 64,
        *,
        dp: DPSGD | None = None,
        feature_array_validator: Callable[[np.ndarray], None] | None = None,
        output: str = "labels",
        device: str | None = None,
        seed: int | None = 0,
    ) -> None:
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if output not in _OUTPUTS:
            raise ValueError(
                f"output must be one of {', '.join(_OUTPUTS)}, got {output!r}"
            )
        if dp is not None and not isinstance(dp, DPSGD):
            raise ValueError(
                "dp must be an anomed_anonymizer.DPSGD or None, got "
                f"{type(dp).__name__}"
            )
        if not callable(module):
            raise ValueError(
                "module must be a torch.nn.Module or a factory (n_features, "
                f"n_classes) -> nn.Module, got {type(module).__name__}"
            )
        self.module = module
        self.loss = loss
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.dp = dp
        self.feature_array_validator = feature_array_validator
        self.output = output
        self.device = device
        self.seed = seed
        self.privacy_: dict[str, Any] | None = None

    # -- fitting -------------------------------------------------------------

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train a fresh copy of the network for ``epochs`` epochs.

        Parameters
        ----------
        X : numpy.ndarray
            Features, shape ``(n, n_features)``, real numbers.
        y : numpy.ndarray
            Labels, shape ``(n,)``.

        Raises
        ------
        ValueError
            If ``X`` or ``y`` are unusable, the network's output does not
            match the labels, or Opacus cannot train the network privately
            (the message says which layer and how to fix it).
        """
        from . import trainer

        X, y = _check_training_data(X, y)
        fitted = trainer.fit(self, X, y)
        # Only a completed fit replaces the fitted state.
        self.module_ = fitted.module
        self.classes_ = fitted.classes
        self.n_features_ = fitted.n_features
        self.privacy_ = fitted.privacy

    # -- using the fitted model ----------------------------------------------

    def predict(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Labels (``output="labels"``, the training labels' dtype) or class
        probabilities (``output="probabilities"``) for ``X``.

        Parameters
        ----------
        X : numpy.ndarray
            Features, shape ``(n, n_features_)``.
        batch_size : int | None
            Rows per forward pass; ``None`` takes ``X`` whole.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)`` of labels, or ``(n, n_classes)`` of probabilities.
        """
        probabilities = self.predict_proba(X, batch_size=batch_size)
        if self.output == "probabilities":
            return probabilities
        return self.classes_[np.argmax(probabilities, axis=1)]

    def predict_proba(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (softmax of the logits), columns in the order
        of ``classes_``.

        Parameters
        ----------
        X : numpy.ndarray
            Features, shape ``(n, n_features_)``.
        batch_size : int | None
            Rows per forward pass; ``None`` takes ``X`` whole.

        Returns
        -------
        numpy.ndarray
            float64, shape ``(n, n_classes)``.
        """
        from . import network

        module = self._fitted()
        X = np.asarray(X)
        self._check_features(X)
        outputs = network.forward(module, X, batch_size, softmax=True)
        if not outputs:
            return np.empty((0, len(self.classes_)))
        return np.concatenate(outputs)

    def validate_input(self, feature_array: np.ndarray) -> None:
        """Check ``X`` with ``feature_array_validator``, else by default.

        Raises
        ------
        ValueError
            If ``X`` is not a finite, real 2-d array (with ``n_features_``
            columns once fitted).
        """
        if self.feature_array_validator is not None:
            self.feature_array_validator(feature_array)
        else:
            self._check_features(feature_array)

    def _check_features(self, X: np.ndarray) -> None:
        if X.ndim != 2:
            raise ValueError(f"expected a 2-d feature array, got shape {X.shape}")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"expected real numbers, got dtype {X.dtype}")
        expected = getattr(self, "n_features_", None)
        if expected is not None and X.shape[1] != expected:
            raise ValueError(f"expected shape (n_samples, {expected}), got {X.shape}")
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            raise ValueError("the feature array holds NaN or infinite values")

    def privacy_budget(self) -> PrivacyBudget | None:
        """The DP-SGD guarantee of the fitted network (ε measured by Opacus'
        accountant), or ``None`` when trained without DP."""
        if self.privacy_ is None:
            return None
        record = dict(self.privacy_)
        return PrivacyBudget(
            mechanism=record.pop("mechanism"),
            epsilon=record.pop("epsilon"),
            delta=record.pop("delta"),
            accountant=record.pop("accountant"),
            details=record,
        )

    # -- persistence ---------------------------------------------------------

    def save(self, filepath: str | Path) -> None:
        """Write the weights (``state_dict``), labels and budget, atomically.

        The file is a plain dictionary for ``torch.load(weights_only=True)``
        (see :mod:`anomed_anonymizer.models.torch.weights`); :meth:`load`
        reads it.
        """
        module = self._fitted()
        state = {
            "state_dict": {
                key: value.detach().cpu() for key, value in module.state_dict().items()
            },
            "n_features": int(self.n_features_),
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "privacy": self.privacy_,
        }
        weights.write(state, filepath)

    def load(self, filepath: str | Path) -> TorchWrapper:
        """A new wrapper with this one's settings and the weights in
        ``filepath`` (what :meth:`save` wrote): pass ``model_loader=wrapper.load``.

        Reads with ``torch.load(weights_only=True)``: nothing in the file is
        executed.

        Raises
        ------
        UnsafeWeightsError
            If the file holds anything but tensors and plain data.
        ValueError
            If it is not a weights file of this wrapper, or its weights do
            not fit the network.
        """
        from . import network

        device = network.device_for(self.device)
        state = weights.read(filepath, device)
        classes = np.asarray(state["classes"], dtype=np.dtype(state["classes_dtype"]))
        loaded = copy.copy(self)
        module = network.build(self.module, int(state["n_features"]), len(classes))
        try:
            module.load_state_dict(state["state_dict"], strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"the weights in {filepath} do not fit the network: {exc}"
            ) from exc
        loaded.module_ = module.to(device).eval()
        loaded.classes_ = classes
        loaded.n_features_ = int(state["n_features"])
        loaded.privacy_ = state.get("privacy")
        return loaded

    # -- helpers -------------------------------------------------------------

    def _fitted(self) -> Any:
        module = getattr(self, "module_", None)
        if module is None:
            raise ValueError("this TorchWrapper is not fitted yet: call fit() first")
        return module

    def __repr__(self) -> str:
        dp = f", dp={self.dp!r}" if self.dp is not None else ""
        return (
            f"TorchWrapper(module={_name(self.module)}, epochs={self.epochs}, "
            f"batch_size={self.batch_size}{dp}, seed={self.seed})"
        )


def _check_training_data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0 or X.dtype.kind not in "biuf":
        raise ValueError(
            f"X must be a non-empty 2-d array of real numbers, got shape {X.shape} "
            f"and dtype {X.dtype}"
        )
    if not np.isfinite(X).all():
        raise ValueError("X holds NaN or infinite values")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"y must be 1-d with one label per row of X ({len(X)}), got shape {y.shape}"
        )
    if y.dtype.kind not in "biuUS":
        raise ValueError(
            f"y must hold class labels (integers, booleans or strings), got dtype "
            f"{y.dtype}"
        )
    return X, y


def _name(module: Any) -> str:
    # A factory (function or class) by its name, an instance by its class's.
    return getattr(module, "__name__", None) or type(module).__name__
