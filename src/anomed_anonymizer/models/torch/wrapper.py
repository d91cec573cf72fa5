"""PyTorch classifiers and regressors as anonymizers, optionally trained
with DP-SGD (Opacus): :class:`TorchWrapper`.

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

from .._targets import check_regression_targets
from ..base import SupervisedLearningAnonymizer
from ..privacy import PrivacyBudget
from . import weights
from .config import DPSGD

__all__ = ["TorchWrapper"]

_OUTPUTS = ("labels", "probabilities")
_TASKS = ("auto", "classification", "regression")
#: ``target_scale`` that standardizes by the training targets (no DP only).
_STANDARDIZE = "standardize"


class TorchWrapper(SupervisedLearningAnonymizer):
    """Lift a PyTorch classifier (an ``nn.Module`` returning logits) or
    regressor (returning the targets) to an anonymizer, optionally trained
    with differentially private SGD.

    Parameters
    ----------
    module : torch.nn.Module | Callable[[int, int], torch.nn.Module]
        The network: a factory called at each fit with ``(n_features,
        n_outputs)`` of the training data (e.g. an ``nn.Module`` subclass),
        under the seed, so initialization is reproducible; or a module
        instance, trained from its current weights (a pretrained one is
        fine-tuned). It maps float32 batches of shape ``(n, n_features)`` to
        ``(n, n_outputs)``: logits, ``n_outputs`` = the number of classes,
        for classification; the (scaled) targets, ``n_outputs`` = ``k`` for
        ``y`` of shape ``(n, k)`` and 1 for ``y`` of shape ``(n,)``, for
        regression. The given module is never trained itself: each fit
        trains a fresh copy (``module_``).
    loss : torch.nn.Module | None
        The training loss; ``None`` takes ``nn.CrossEntropyLoss()`` for
        classification and ``nn.MSELoss()`` for regression.
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
        What a classifier's :meth:`predict` returns: labels of the training
        labels' dtype (what a challenge scores), or class probabilities. A
        regressor takes only ``"labels"`` (predictions of the targets).
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
    task : {"auto", "classification", "regression"}
        ``"auto"`` classifies integer, boolean and string ``y`` and regresses
        float ``y``; ``"regression"`` also takes integer ``y`` as numbers
        (and boolean as 0/1). Classification needs ``y`` of shape ``(n,)``;
        regression takes ``(n,)`` or ``(n, k)``.
    target_scale : tuple[array_like, array_like] | "standardize" | None
        Regression only: the network learns ``(y - centre) / scale`` and
        :meth:`predict` undoes it, for ``(centre, scale)`` given per output
        (length ``k``, or scalars for all); every scale must be positive.
        Give them from public knowledge (a plausible range of the target):
        they are not paid for from the budget. ``"standardize"`` takes the
        mean and standard deviation of the training targets (a zero
        deviation counts as 1), which the DP guarantee does not cover, so it
        is refused with ``dp``. ``None`` learns ``y`` as it is.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network.
    task_ : str
        ``"classification"`` or ``"regression"``, what the fit did.
    classes_ : numpy.ndarray
        A classifier's labels, in the order of the network's outputs (a
        regressor has none).
    n_outputs_ : int
        The network's outputs per row: classes, or target columns.
    target_shape_ : tuple
        A regressor's target shape per row: ``()`` for ``y`` of shape
        ``(n,)``, ``(k,)`` for ``(n, k)``; :meth:`predict` returns
        ``(n, *target_shape_)``.
    target_scale_ : tuple[numpy.ndarray, numpy.ndarray] | None
        The ``(centre, scale)`` a regressor's network learned the targets
        in, each of length ``n_outputs_``.
    n_features_ : int
        Columns of the training ``X``.
    privacy_ : dict | None
        The DP-SGD budget actually spent (see :meth:`privacy_budget`).

    Raises
    ------
    ValueError
        If a setting is out of range or the settings contradict each other
        (e.g. ``output="probabilities"`` for a regressor); the message names
        it.

    Notes
    -----
    Serve with ``model_loader=wrapper.load`` and a ``model_filepath`` ending
    in ``.pt``. ``classes_``, ``target_shape_`` and ``n_features_`` come from
    the training data and are treated as public, as are the number of
    training examples (Opacus' sampling rate, the default δ) and the
    architecture.

    A regressor has no :meth:`predict_proba`: the attribute raises
    ``AttributeError`` (so ``hasattr(model, "predict_proba")`` is false and
    the audit's score-based attacks leave it out).

    Examples
    --------
    Regression, in words: for ``y`` of shape ``(n, 3)`` (three measurements
    per row, say blood glucose at three times), pass a factory such as
    ``lambda n_features, n_outputs: nn.Sequential(nn.Linear(n_features, 32),
    nn.ReLU(), nn.Linear(32, n_outputs))`` and
    ``task="regression"`` (or leave ``"auto"`` for float ``y``), with
    ``dp=DPSGD(epsilon=3.0)`` for a private fit and
    ``target_scale=([100, 100, 100], [30, 30, 30])`` from what is publicly
    known about the range of the measurements. The factory is called with
    ``n_outputs=3``; training minimizes ``nn.MSELoss`` on the scaled targets;
    ``predict(X)`` returns float64 of shape ``(len(X), 3)`` in the original
    units, and ``privacy_budget()`` the ε spent, as for a classifier.

    >>> TorchWrapper(lambda n, k: None, task="regression").task
    'regression'
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
        task: str = "auto",
        target_scale: Any = None,
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
                f"n_outputs) -> nn.Module, got {type(module).__name__}"
            )
        if task not in _TASKS:
            raise ValueError(f"task must be one of {', '.join(_TASKS)}, got {task!r}")
        if task == "regression" and output != "labels":
            raise ValueError(
                f"output={output!r} needs a classifier: a regressor (task="
                '"regression") predicts the targets, so take output="labels"'
            )
        if target_scale is not None:
            if task == "classification":
                raise ValueError(
                    "target_scale is for regression; a classifier "
                    '(task="classification") takes target_scale=None'
                )
            if isinstance(target_scale, str):
                if target_scale != _STANDARDIZE:
                    raise ValueError(
                        "target_scale must be (centre, scale), "
                        f'"{_STANDARDIZE}" or None, got {target_scale!r}'
                    )
                if dp is not None:
                    raise ValueError(
                        f'target_scale="{_STANDARDIZE}" computes the mean and '
                        "deviation of the private targets, which DP-SGD's "
                        "budget does not pay for: give (centre, scale) from "
                        "public knowledge of the targets' range instead"
                    )
            else:
                _scale_pair(target_scale)  # the shapes are checked at fit
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
        self.task = task
        self.target_scale = target_scale
        self.privacy_: dict[str, Any] | None = None

    # -- fitting -------------------------------------------------------------

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train a fresh copy of the network for ``epochs`` epochs.

        Parameters
        ----------
        X : numpy.ndarray
            Features, shape ``(n, n_features)``, real numbers.
        y : numpy.ndarray
            Labels, shape ``(n,)``; or regression targets, shape ``(n,)`` or
            ``(n, k)``, real numbers (see ``task``).

        Raises
        ------
        ValueError
            If ``X`` or ``y`` are unusable, the network's output does not
            match the labels or target columns, or Opacus cannot train the
            network privately (the message says which layer and how to fix
            it).
        """
        from . import trainer

        X, y, task = _check_training_data(X, y, self.task)
        if task == "classification":
            if self.target_scale is not None:
                raise ValueError(
                    f"target_scale is for regression, but y of dtype {y.dtype} "
                    'holds class labels: pass task="regression" to regress it'
                )
            fitted = trainer.fit(self, X, y)
            target_shape, scale = (), None
        else:
            if self.output != "labels":
                raise ValueError(
                    f"y of dtype {y.dtype} is regressed (task={self.task!r}), "
                    f"and a regressor has no output={self.output!r}: take "
                    'output="labels", or pass task="classification" for labels'
                )
            if self.dp is not None and isinstance(self.target_scale, str):
                raise ValueError(
                    f'target_scale="{_STANDARDIZE}" is refused with DP-SGD: '
                    "give (centre, scale) from public knowledge instead"
                )
            target_shape = y.shape[1:]
            targets = y.reshape(len(y), -1).astype(np.float64)
            scale = _target_scale(self.target_scale, targets)
            if scale is not None:
                targets = (targets - scale[0]) / scale[1]
            fitted = trainer.fit(self, X, targets, task="regression")
        # Only a completed fit replaces the fitted state.
        self.module_ = fitted.module
        self.task_ = task
        if fitted.classes is None:
            self.__dict__.pop("classes_", None)
        else:
            self.classes_ = fitted.classes
        self.n_outputs_ = fitted.n_outputs
        self.target_shape_ = tuple(target_shape)
        self.target_scale_ = scale
        self.n_features_ = fitted.n_features
        self.privacy_ = fitted.privacy

    # -- using the fitted model ----------------------------------------------

    def predict(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Labels (``output="labels"``, the training labels' dtype) or class
        probabilities (``output="probabilities"``) for ``X``; a regressor's
        predictions of the targets.

        Parameters
        ----------
        X : numpy.ndarray
            Features, shape ``(n, n_features_)``.
        batch_size : int | None
            Rows per forward pass; ``None`` takes ``X`` whole.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)`` of labels, or ``(n, n_classes)`` of probabilities;
            a regressor's float64 of shape ``(n, *target_shape_)``, the
            training targets' shape.
        """
        if self._is_regressor():
            return self._regress(X, batch_size)
        probabilities = self._predict_proba(X, batch_size=batch_size)
        if self.output == "probabilities":
            return probabilities
        return self.classes_[np.argmax(probabilities, axis=1)]

    @property
    def predict_proba(self) -> Callable[..., np.ndarray]:
        """``predict_proba(X, batch_size=None)``: class probabilities (softmax
        of the logits), columns in the order of ``classes_``; float64 of
        shape ``(n, n_classes)``.

        Raises
        ------
        AttributeError
            On a regressor (fitted as one, or ``task="regression"``), which
            has no class probabilities: ``hasattr`` is false for it.
        """
        if self._is_regressor():
            raise AttributeError(
                "this TorchWrapper is a regressor (task 'regression'): it has "
                "no class probabilities, so no predict_proba; call predict"
            )
        return self._predict_proba

    def _predict_proba(
        self, X: np.ndarray, batch_size: int | None = None
    ) -> np.ndarray:
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

    def _regress(self, X: np.ndarray, batch_size: int | None) -> np.ndarray:
        from . import network

        module = self._fitted()
        X = np.asarray(X)
        self._check_features(X)
        outputs = network.forward(module, X, batch_size, softmax=False)
        values = np.concatenate(outputs) if outputs else np.empty((0, self.n_outputs_))
        if self.target_scale_ is not None:
            centre, scale = self.target_scale_
            values = values * scale + centre
        return values.astype(np.float64, copy=False).reshape(
            (len(values), *self.target_shape_)
        )

    def _is_regressor(self) -> bool:
        task = getattr(self, "task_", None) or self.task
        return task == "regression"

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
        """Write the weights (``state_dict``), labels (a regressor: its
        target shape and scale) and budget, atomically.

        The file is a plain dictionary for ``torch.load(weights_only=True)``
        (see :mod:`anomed_anonymizer.models.torch.weights`); :meth:`load`
        reads it. A classifier's file is format version 1, as before
        regression existed; a regressor's is version 2.
        """
        module = self._fitted()
        state: dict[str, Any] = {
            "state_dict": {
                key: value.detach().cpu() for key, value in module.state_dict().items()
            },
            "n_features": int(self.n_features_),
            "privacy": self.privacy_,
        }
        if not self._is_regressor():
            state["classes"] = self.classes_.tolist()
            state["classes_dtype"] = self.classes_.dtype.str
            weights.write(state, filepath, version=1)
            return
        state["task"] = "regression"
        state["n_outputs"] = int(self.n_outputs_)
        state["target_shape"] = [int(size) for size in self.target_shape_]
        state["target_scale"] = (
            None
            if self.target_scale_ is None
            else [part.tolist() for part in self.target_scale_]
        )
        weights.write(state, filepath, version=2)

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
        loaded = copy.copy(self)
        if state.get("task", "classification") == "regression":
            classes = None
            n_outputs = int(state["n_outputs"])
            loaded.task_ = "regression"
            loaded.__dict__.pop("classes_", None)
            loaded.target_shape_ = tuple(int(size) for size in state["target_shape"])
            scale = state.get("target_scale")
            loaded.target_scale_ = (
                None
                if scale is None
                else tuple(np.asarray(part, dtype=np.float64) for part in scale)
            )
        else:
            classes = np.asarray(
                state["classes"], dtype=np.dtype(state["classes_dtype"])
            )
            n_outputs = len(classes)
            loaded.task_ = "classification"
            loaded.classes_ = classes
            loaded.target_shape_ = ()
            loaded.target_scale_ = None
        module = network.build(self.module, int(state["n_features"]), n_outputs)
        try:
            module.load_state_dict(state["state_dict"], strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"the weights in {filepath} do not fit the network: {exc}"
            ) from exc
        loaded.module_ = module.to(device).eval()
        loaded.n_outputs_ = n_outputs
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
        task = f", task={self.task!r}" if self.task != "auto" else ""
        return (
            f"TorchWrapper(module={_name(self.module)}, epochs={self.epochs}, "
            f"batch_size={self.batch_size}{dp}{task}, seed={self.seed})"
        )


def _check_training_data(
    X: Any, y: Any, task: str = "auto"
) -> tuple[np.ndarray, np.ndarray, str]:
    """Checked ``X`` and ``y``, and the task they make (``"auto"``
    resolved)."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0 or X.dtype.kind not in "biuf":
        raise ValueError(
            f"X must be a non-empty 2-d array of real numbers, got shape {X.shape} "
            f"and dtype {X.dtype}"
        )
    if not np.isfinite(X).all():
        raise ValueError("X holds NaN or infinite values")
    if task == "auto":
        task = "regression" if y.dtype.kind == "f" else "classification"
    if task == "regression":
        return X, check_regression_targets(y, len(X)), task
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"y must be 1-d with one label per row of X ({len(X)}), got shape {y.shape}"
        )
    if y.dtype.kind not in "biuUS":
        raise ValueError(
            f"y must hold class labels (integers, booleans or strings), got dtype "
            f'{y.dtype}; pass task="regression" to regress it'
        )
    return X, y, task


def _scale_pair(value: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(centre, scale)`` as float64 1-d arrays (scalars as length 1)."""
    try:
        centre, scale = value
        centre = np.atleast_1d(np.asarray(centre, dtype=np.float64))
        scale = np.atleast_1d(np.asarray(scale, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f'target_scale must be (centre, scale), "{_STANDARDIZE}" or None, '
            f"got {value!r}"
        ) from exc
    if centre.ndim != 1 or scale.ndim != 1:
        raise ValueError(
            "target_scale's centre and scale must be numbers or 1-d (one per "
            f"output), got shapes {centre.shape} and {scale.shape}"
        )
    if not (np.isfinite(centre).all() and np.isfinite(scale).all()):
        raise ValueError("target_scale's centre and scale must be finite")
    if (scale <= 0).any():
        raise ValueError(f"target_scale's scale must be positive, got {scale}")
    return centre, scale


def _target_scale(
    setting: Any, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``(centre, scale)`` for ``targets`` (``(n, k)``), each of length
    ``k``, or ``None``."""
    k = targets.shape[1]
    if setting is None:
        return None
    if isinstance(setting, str):  # "standardize": checked without DP at init
        centre = targets.mean(axis=0)
        scale = targets.std(axis=0)
        return centre, np.where(scale > 0, scale, 1.0)
    centre, scale = _scale_pair(setting)
    for name, part in (("centre", centre), ("scale", scale)):
        if len(part) not in (1, k):
            raise ValueError(
                f"target_scale's {name} has {len(part)} values, but y has {k} "
                f"output{'s' if k != 1 else ''}: give one per output or a scalar"
            )
    return np.broadcast_to(centre, (k,)).copy(), np.broadcast_to(scale, (k,)).copy()


def _name(module: Any) -> str:
    # A factory (function or class) by its name, an instance by its class's.
    return getattr(module, "__name__", None) or type(module).__name__
