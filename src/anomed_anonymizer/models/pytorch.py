"""PyTorch classifiers as anonymizers, optionally trained with DP-SGD (Opacus).

torch (and Opacus) are imported when a :class:`TorchWrapper` first trains or
loads, never by ``import anomed_anonymizer``: install the ``torch`` extra to
use them.

Fitted weights are saved with ``torch.save`` as a plain dictionary of tensors
and numbers, and read back with ``torch.load(weights_only=True)``: a weights
file can hold no code, and a file that tries (a pickle with a ``__reduce__``
payload) is refused with :class:`UnsafeWeightsError` before anything in it
runs.
"""

from __future__ import annotations

import copy
import logging
import math
import secrets
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AnomedError
from ..files import save_atomically
from .base import SupervisedLearningAnonymizer
from .batching import batch_views
from .privacy import PrivacyBudget, _version

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = ["DPSGD", "TorchWrapper", "UnsafeWeightsError"]

_logger = logging.getLogger(__name__)

_FORMAT = "anomed-anonymizer/torch-classifier"
_FORMAT_VERSION = 1
_OUTPUTS = ("labels", "probabilities")
_ACCOUNTANTS = ("prv", "rdp", "gdp")
# Keep the log short for long trainings: about this many epoch lines.
_EPOCH_LINES = 20


class UnsafeWeightsError(AnomedError, ValueError):
    """A weights file holds more than tensors and plain data (e.g. code).

    A server answers it with a 500 whose description leaves out the file's
    path (the log has it)."""

    title = "Unsafe weights"
    public_message = (
        "refused to load the model file: it holds more than tensors and plain "
        "data, so it was not written by TorchWrapper.save"
    )


@dataclass(frozen=True)
class DPSGD:
    """Differentially private SGD (Opacus) for :class:`TorchWrapper`.

    Give either a target ``epsilon`` (Opacus then picks the noise that spends
    at most that over all epochs) or a ``noise_multiplier`` (the ε spent
    follows from it). Either way the wrapper reports the ε its accountant
    measured after training.

    Parameters
    ----------
    epsilon : float | None
        The target ε of the whole training, > 0.
    delta : float | None
        The δ of the guarantee, in (0, 1). ``None`` takes ``1 / (10 n)`` for
        ``n`` training examples: δ must lie well below ``1 / n``, since a
        mechanism that publishes each example outright with probability δ is
        (0, δ)-DP, and at δ = 1/n it publishes one example in expectation
        (Dwork & Roth 2014, §2.3; Ponomareva et al. 2023, "How to DP-fy ML",
        §5.2, recommend δ ≪ 1/n). A δ of at least ``1 / n`` is accepted with
        a warning.
    noise_multiplier : float | None
        Standard deviation of the Gaussian noise relative to
        ``max_grad_norm``, instead of ``epsilon``.
    max_grad_norm : float
        Every example's gradient is clipped to this L2 norm.
    poisson_sampling : bool
        Draw each batch by including every example independently (what the
        accountant assumes). ``False`` shuffles into fixed-size batches: the
        reported ε is then only an approximation.
    accountant : str
        Opacus' accountant: ``"prv"`` (privacy random variables, the
        tightest), ``"rdp"`` (Rényi DP) or ``"gdp"`` (Gaussian DP).
    noise_seed : int | None
        ``None`` (the default, and the only setting whose guarantee holds):
        the batch sampling and the Gaussian noise draw from a generator seeded
        with 63 bits of fresh OS entropy at every fit. An integer seeds both
        for a reproducible run: anyone who knows the seed can then retrain on
        the other rows with and without a candidate and compare with the
        release, so **the ε is void**. A seeded run warns and is recorded as
        ``"noise_seeded": true`` in :meth:`TorchWrapper.privacy_budget`
        (``GET /privacy``) and in the audit report.

    Raises
    ------
    ValueError
        If neither or both of ``epsilon`` and ``noise_multiplier`` are given,
        or a value is out of range (the message names it).

    Examples
    --------
    >>> DPSGD(epsilon=3.0).max_grad_norm
    1.0
    >>> DPSGD()
    Traceback (most recent call last):
    ...
    ValueError: DPSGD needs epsilon (a target budget) or noise_multiplier, not neither
    """

    epsilon: float | None = None
    delta: float | None = None
    noise_multiplier: float | None = None
    max_grad_norm: float = 1.0
    poisson_sampling: bool = True
    accountant: str = "prv"
    noise_seed: int | None = None

    def __post_init__(self) -> None:
        if (self.epsilon is None) == (self.noise_multiplier is None):
            which = "neither" if self.epsilon is None else "both"
            raise ValueError(
                "DPSGD needs epsilon (a target budget) or noise_multiplier, "
                f"not {which}"
            )
        for name in ("epsilon", "noise_multiplier", "max_grad_norm"):
            value = getattr(self, name)
            if value is not None and not _positive_finite(value):
                raise ValueError(
                    f"DPSGD {name} must be a positive number, got {value!r}"
                )
        if self.delta is not None and not (
            isinstance(self.delta, (int, float)) and 0.0 < self.delta < 1.0
        ):
            raise ValueError(f"DPSGD delta must lie in (0, 1), got {self.delta!r}")
        if self.noise_seed is not None and (
            isinstance(self.noise_seed, bool) or not isinstance(self.noise_seed, int)
        ):
            raise ValueError(
                f"DPSGD noise_seed must be an integer or None, got {self.noise_seed!r}"
            )
        if self.accountant not in _ACCOUNTANTS:
            raise ValueError(
                f"DPSGD accountant must be one of {', '.join(_ACCOUNTANTS)}, "
                f"got {self.accountant!r}"
            )


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
        import torch

        X, y = _check_training_data(X, y)
        device = self._device()
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices, enabled=self.seed is not None):
            if self.seed is not None:
                torch.manual_seed(self.seed)
            self._fit(torch, X, y, device)

    def _fit(self, torch: Any, X: np.ndarray, y: np.ndarray, device: Any) -> None:
        n, n_features = X.shape
        labels = np.unique(y)
        module = self._build_module(n_features, len(labels)).to(device)
        classes = _classes(labels, y, _n_outputs(torch, module, X[:1], device))
        loader = self._loader(torch, X, np.searchsorted(classes, y))
        loss = self.loss if self.loss is not None else torch.nn.CrossEntropyLoss()
        optimizer = self._make_optimizer(torch, module)
        module.train()
        trained, engine, delta = module, None, None
        if self.dp is not None:
            trained, optimizer, loader, engine, delta = self._make_private(
                torch, module, optimizer, loader, loss, n, device
            )
        _logger.info(
            "training %s on %d examples x %d features, %d classes, %d epochs, "
            "batch size %d, on %s%s",
            type(module).__name__,
            n,
            n_features,
            len(classes),
            self.epochs,
            self.batch_size,
            device,
            ", DP-SGD" if engine is not None else "",
        )
        steps = self._train(torch, trained, optimizer, loader, loss, device)
        privacy = None
        if engine is not None:
            module = trained.to_standard_module()
            privacy = self._spent(engine, optimizer, delta, n, steps)
            _logger.info(
                "DP-SGD spent epsilon %.4g at delta %.3g (%s accountant, noise "
                "multiplier %.4g, %d steps)",
                privacy["epsilon"],
                delta,
                privacy["accountant"],
                privacy["noise_multiplier"],
                steps,
            )
        # Only a completed fit replaces the fitted state.
        self.module_ = module.eval()
        self.classes_ = classes
        self.n_features_ = n_features
        self.privacy_ = privacy

    def _loader(self, torch: Any, X: np.ndarray, targets: np.ndarray) -> Any:
        generator = None
        if self.dp is not None:
            # Opacus' Poisson sampler draws from the loader's generator: the
            # same source as the noise, never the wrapper's public seed.
            generator = _dp_generator(torch, self.dp, torch.device("cpu"), 0)
        elif self.seed is not None:
            generator = torch.Generator()
            generator.manual_seed(self.seed)
        dataset = torch.utils.data.TensorDataset(
            torch.from_numpy(X.astype(np.float32)), torch.from_numpy(targets)
        )
        # DP-SGD replaces the loader by Poisson sampling; otherwise shuffle.
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=self.dp is None,
            generator=generator,
        )

    def _build_module(self, n_features: int, n_classes: int) -> Any:
        import torch

        if isinstance(self.module, torch.nn.Module):
            return copy.deepcopy(self.module)
        module = self.module(n_features, n_classes)
        if not isinstance(module, torch.nn.Module):
            raise ValueError(
                f"the module factory returned a {type(module).__name__}, not a "
                "torch.nn.Module"
            )
        return module

    def _make_optimizer(self, torch: Any, module: Any) -> Any:
        if self.optimizer is None:
            return torch.optim.Adam(module.parameters(), lr=1e-3)
        optimizer = self.optimizer(module.parameters())
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(
                "the optimizer factory must return a torch.optim.Optimizer, got "
                f"{type(optimizer).__name__}"
            )
        return optimizer

    def _make_private(self, torch, module, optimizer, loader, loss, n, device):
        from opacus import PrivacyEngine
        from opacus.validators import ModuleValidator

        problems = ModuleValidator.validate(module, strict=False)
        if problems:
            raise ValueError(
                "Opacus cannot train this network with DP-SGD: "
                + "; ".join(str(problem) for problem in problems)
                + " (opacus.validators.ModuleValidator.fix(module) replaces "
                "e.g. BatchNorm by GroupNorm)"
            )
        dp = self.dp
        delta = _delta(dp, n)
        if dp.noise_seed is not None:
            message = (
                f"DPSGD(noise_seed={dp.noise_seed}) seeds DP-SGD's noise and batch "
                "sampling: anyone who knows the seed can retrain without a "
                "candidate and compare, so the reported epsilon does not hold. "
                "Use it for experiments only; /privacy records noise_seeded: true"
            )
            _warn(message)
        # Never the global generator: the wrapper's seed may have seeded it.
        noise_generator = _dp_generator(torch, dp, device, 1)
        common = {
            "module": module,
            "optimizer": optimizer,
            "data_loader": loader,
            "criterion": loss,
            "max_grad_norm": dp.max_grad_norm,
            "poisson_sampling": dp.poisson_sampling,
            "noise_generator": noise_generator,
            "loss_reduction": _reduction(loss),
        }
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            engine = PrivacyEngine(accountant=dp.accountant)
            if dp.epsilon is not None:
                private = engine.make_private_with_epsilon(
                    target_epsilon=dp.epsilon,
                    target_delta=delta,
                    epochs=self.epochs,
                    **common,
                )
            else:
                private = engine.make_private(
                    noise_multiplier=dp.noise_multiplier, **common
                )
        for message in dict.fromkeys(str(warning.message) for warning in caught):
            _logger.info("opacus: %s", message)
        trained, optimizer, loader = private
        # Opacus' secure-mode sampling (four Gaussians per coordinate) defeats
        # the floating-point attacks on a single Gaussian draw (Mironov 2012;
        # Opacus' notes). PrivacyEngine(secure_mode=True) would also need
        # torchcsprng, unmaintained since torch 1.8; the noise generator is
        # ours (fresh OS entropy), so only the sampling method is switched.
        optimizer.secure_mode = True
        return trained, optimizer, loader, engine, delta

    def _train(self, torch, module, optimizer, loader, loss, device) -> int:
        with warnings.catch_warnings():
            # Opacus' per-example gradient hooks fire on the first layer,
            # whose input needs no gradient; torch warns at every fit.
            warnings.filterwarnings(
                "ignore", message="Full backward hook is firing", category=UserWarning
            )
            return self._epochs(torch, module, optimizer, loader, loss, device)

    def _epochs(self, torch, module, optimizer, loader, loss, device) -> int:
        steps = 0
        every = max(1, math.ceil(self.epochs / _EPOCH_LINES))
        for epoch in range(1, self.epochs + 1):
            started = time.perf_counter()
            total, examples = 0.0, 0
            for features, targets in loader:
                features, targets = features.to(device), targets.to(device)
                optimizer.zero_grad()
                batch_loss = loss(module(features), targets)
                # An empty Poisson batch still takes a (noise-only) step: the
                # accountant counts every step, and skipping one would reveal
                # that the batch was empty.
                batch_loss.backward()
                optimizer.step()
                steps += 1
                if len(targets):
                    total += float(batch_loss.detach()) * len(targets)
                    examples += len(targets)
            if not math.isfinite(total):
                raise ValueError(
                    f"the training loss became {total} in epoch {epoch}: lower "
                    "the learning rate or scale the features"
                )
            if epoch % every == 0 or epoch == self.epochs:
                _logger.info(
                    "epoch %d/%d: loss %.4f, %.2f s",
                    epoch,
                    self.epochs,
                    total / max(examples, 1),
                    time.perf_counter() - started,
                )
        return steps

    def _spent(self, engine, optimizer, delta, n, steps) -> dict[str, Any]:
        dp = self.dp
        with warnings.catch_warnings(record=True) as caught:
            # e.g. "Optimal order is the largest alpha": advice, logged once.
            warnings.simplefilter("always")
            epsilon = float(engine.get_epsilon(delta))
        for message in dict.fromkeys(str(warning.message) for warning in caught):
            _logger.info("opacus: %s", message)
        return {
            "mechanism": "DP-SGD (Opacus)",
            "epsilon": epsilon,
            "delta": float(delta),
            "accountant": dp.accountant,
            "target_epsilon": dp.epsilon,
            "noise_multiplier": float(optimizer.noise_multiplier),
            "max_grad_norm": float(dp.max_grad_norm),
            # Opacus samples each example with probability 1 / (batches per epoch).
            "sample_rate": 1.0 / math.ceil(n / self.batch_size),
            "steps": int(steps),
            "epochs": int(self.epochs),
            "poisson_sampling": bool(dp.poisson_sampling),
            "library": "opacus",
            "library_version": _version("opacus"),
            "privacy_unit": "one training example (add/remove)",
            "noise_seeded": dp.noise_seed is not None,
            "noise_source": (
                "seeded by DPSGD.noise_seed: the epsilon does not hold"
                if dp.noise_seed is not None
                else "torch.Generator seeded with 63 bits of OS entropy per fit"
            ),
            "delta_default": dp.delta is None,
        }

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
        import torch

        module = self._fitted()
        X = np.asarray(X)
        self._check_features(X)
        device = next(module.parameters()).device
        outputs = []
        with torch.inference_mode():
            for batch in batch_views(X, batch_size):
                logits = module(
                    torch.as_tensor(batch, dtype=torch.float32, device=device)
                )
                outputs.append(torch.softmax(logits, dim=1).double().cpu().numpy())
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

        The file is a plain dictionary for ``torch.load(weights_only=True)``;
        :meth:`load` reads it.
        """
        import torch

        module = self._fitted()
        state = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "state_dict": {
                key: value.detach().cpu() for key, value in module.state_dict().items()
            },
            "n_features": int(self.n_features_),
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "privacy": self.privacy_,
        }
        save_atomically(lambda path: torch.save(state, path), filepath)

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
        import pickle

        import torch

        device = self._device()
        try:
            state = torch.load(filepath, map_location=device, weights_only=True)
        except pickle.UnpicklingError as exc:
            raise UnsafeWeightsError(
                f"refused to load {filepath}: it holds more than tensors and plain "
                "data, so it was not written by TorchWrapper.save "
                f"({_unpickler_reason(exc)})"
            ) from exc
        except (RuntimeError, EOFError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(f"{filepath} is not a readable torch file: {exc}") from exc
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(
                f"{filepath} is not a weights file written by TorchWrapper.save"
            )
        if state.get("version") != _FORMAT_VERSION:
            raise ValueError(
                f"{filepath} has format version {state.get('version')!r}; this "
                f"anomed-anonymizer reads version {_FORMAT_VERSION}"
            )
        classes = np.asarray(state["classes"], dtype=np.dtype(state["classes_dtype"]))
        loaded = copy.copy(self)
        module = loaded._build_module(int(state["n_features"]), len(classes))
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

    def _device(self) -> Any:
        import torch

        if self.device is not None:
            return torch.device(self.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

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


def _delta(dp: DPSGD, n: int) -> float:
    """The δ of the guarantee: the user's, or ``1 / (10 n)``; a δ that is not
    below ``1 / n`` is warned about (it may publish an example outright)."""
    if dp.delta is None:
        return 1.0 / (10 * n)
    if dp.delta * n >= 1.0:
        message = (
            f"DPSGD delta={dp.delta:.3g} is not below 1/n = {1 / n:.3g} for {n} "
            "training examples: a mechanism that publishes each example with "
            "probability delta meets it. Pass delta well below 1/n (None takes "
            "1/(10 n))"
        )
        _warn(message)
    return float(dp.delta)


def _warn(message: str) -> None:
    """Warn the user's code (``fit``'s caller) and the server log alike."""
    warnings.warn(message, UserWarning, stacklevel=5)
    _logger.warning("%s", message)


def _dp_generator(torch: Any, dp: DPSGD, device: Any, stream: int) -> Any:
    """A generator for DP-SGD's sampling (stream 0) or noise (stream 1): seeded
    from the OS's entropy, or from ``noise_seed`` when the user insists."""
    generator = torch.Generator(device=device)
    if dp.noise_seed is None:
        generator.manual_seed(secrets.randbits(63))
    else:
        generator.manual_seed((dp.noise_seed + stream) % 2**63)
    return generator


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


def _n_outputs(torch: Any, module: Any, row: np.ndarray, device: Any) -> int:
    module.eval()  # one row: layers such as BatchNorm refuse it in training mode
    with torch.no_grad():
        out = module(torch.as_tensor(row, dtype=torch.float32, device=device))
    if out.ndim != 2 or out.shape[0] != 1:
        raise ValueError(
            "the network must map a batch (n, n_features) to logits (n, n_classes); "
            f"for one row it returned shape {tuple(out.shape)}"
        )
    return int(out.shape[1])


def _classes(labels: np.ndarray, y: np.ndarray, n_outputs: int) -> np.ndarray:
    if n_outputs == len(labels):
        return labels
    # Integer labels 0..k-1 may index the outputs directly, even when the
    # training data lacks a class.
    if (
        y.dtype.kind in "iu"
        and n_outputs > len(labels)
        and labels.min() >= 0
        and labels.max() < n_outputs
    ):
        return np.arange(n_outputs, dtype=y.dtype)
    raise ValueError(
        f"the network returns {n_outputs} scores per row, but the training labels "
        f"have {len(labels)} classes ({labels[:10].tolist()}"
        f"{', ...' if len(labels) > 10 else ''})"
    )


def _unpickler_reason(exc: Exception) -> str:
    # torch's message is a page of advice (with terminal escapes) around one
    # line that names what the file tried to load.
    for line in str(exc).splitlines():
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].split(". ")[0].strip()
    return type(exc).__name__


def _reduction(loss: Any) -> str:
    reduction = getattr(loss, "reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise ValueError(
            f"DP-SGD needs a loss with reduction 'mean' or 'sum', got {reduction!r}"
        )
    return reduction


def _positive_finite(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _name(module: Any) -> str:
    # A factory (function or class) by its name, an instance by its class's.
    return getattr(module, "__name__", None) or type(module).__name__
