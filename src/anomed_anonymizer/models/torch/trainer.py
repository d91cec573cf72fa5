"""Training a :class:`~anomed_anonymizer.TorchWrapper`'s network: plain SGD,
or DP-SGD through Opacus, and the accounting of the ε it spent.

Imports torch (Opacus when training privately): :mod:`.wrapper` imports this
module only when a fit starts.

Where the randomness comes from: the wrapper's public ``seed`` seeds the
initial weights, dropout and non-private shuffling; DP-SGD's Poisson batches
and Gaussian noise draw from generators seeded with fresh OS entropy
(:mod:`secrets`) at every fit, never from that seed or torch's global
generator.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..privacy import distribution_version
from . import network
from .config import DPSGD

if TYPE_CHECKING:  # pragma: no cover
    from .wrapper import TorchWrapper

__all__ = [
    "Fitted",
    "delta_for",
    "fit",
    "make_loader",
    "make_optimizer",
    "make_private",
]

_logger = logging.getLogger(__name__)

# Keep the log short for long trainings: about this many epoch lines.
_EPOCH_LINES = 20


@dataclass(frozen=True)
class Fitted:
    """What a completed fit gives the wrapper."""

    module: torch.nn.Module
    #: The labels of a classifier's outputs; ``None`` for a regressor.
    classes: np.ndarray | None
    n_features: int
    privacy: dict[str, Any] | None
    n_outputs: int


def fit(
    settings: TorchWrapper,
    X: np.ndarray,
    y: np.ndarray,
    task: str = "classification",
) -> Fitted:
    """Train a fresh network on checked ``X`` and ``y`` with ``settings``
    (the wrapper's parameters), under its seed.

    ``task="classification"`` takes labels ``y`` of shape ``(n,)``;
    ``"regression"`` takes (scaled) float targets of shape ``(n, k)``.

    Raises
    ------
    ValueError
        If the network's output does not match the labels or target columns,
        or Opacus cannot train it privately (the message says which layer and
        how to fix it).
    """
    device = network.device_for(settings.device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=settings.seed is not None):
        if settings.seed is not None:
            torch.manual_seed(settings.seed)
        return _fit(settings, X, y, device, task)


def _fit(
    settings: TorchWrapper,
    X: np.ndarray,
    y: np.ndarray,
    device: torch.device,
    task: str,
) -> Fitted:
    n, n_features = X.shape
    dp = settings.dp
    classes: np.ndarray | None
    if task == "regression":
        n_outputs = y.shape[1]
        module = network.build(settings.module, n_features, n_outputs).to(device)
        width = network.output_width(module, X[:1], device)
        if width != n_outputs:
            raise ValueError(
                f"the network returns {width} outputs per row, but the regression "
                f"targets have {n_outputs} per row: make its last layer "
                f"{n_outputs} wide (a factory gets n_outputs={n_outputs})"
            )
        classes, targets = None, y.astype(np.float32)
        default_loss: Any = torch.nn.MSELoss()
    else:
        labels = np.unique(y)
        module = network.build(settings.module, n_features, len(labels)).to(device)
        classes = _classes(labels, y, network.output_width(module, X[:1], device))
        n_outputs = len(classes)
        targets = np.searchsorted(classes, y)
        default_loss = torch.nn.CrossEntropyLoss()
    loader = make_loader(X, targets, settings.batch_size, dp, settings.seed)
    loss = settings.loss if settings.loss is not None else default_loss
    optimizer = make_optimizer(settings.optimizer, module)
    module.train()
    trained, engine, delta = module, None, None
    if dp is not None:
        trained, optimizer, loader, engine, delta = make_private(
            dp, module, optimizer, loader, loss, n, settings.epochs, device
        )
    _logger.info(
        "training %s on %d examples x %d features, %d %s, %d epochs, "
        "batch size %d, on %s%s",
        type(module).__name__,
        n,
        n_features,
        n_outputs,
        "classes" if classes is not None else "regression outputs",
        settings.epochs,
        settings.batch_size,
        device,
        ", DP-SGD" if engine is not None else "",
    )
    steps = _train(trained, optimizer, loader, loss, device, settings.epochs)
    privacy = None
    if engine is not None:
        module = trained.to_standard_module()
        privacy = _spent(
            dp, engine, optimizer, delta, n, steps, settings.epochs, settings.batch_size
        )
        _logger.info(
            "DP-SGD spent epsilon %.4g at delta %.3g (%s accountant, noise "
            "multiplier %.4g, %d steps)",
            privacy["epsilon"],
            delta,
            privacy["accountant"],
            privacy["noise_multiplier"],
            steps,
        )
    return Fitted(module.eval(), classes, n_features, privacy, n_outputs)


def make_loader(
    X: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    dp: DPSGD | None,
    seed: int | None,
) -> torch.utils.data.DataLoader:
    """Batches of ``(float32 features, targets)``: shuffled (by ``seed``)
    without DP; in order under DP-SGD, whose Poisson sampler replaces the
    loader's and draws from the loader's generator (fresh OS entropy, never
    ``seed``)."""
    generator = None
    if dp is not None:
        generator = _dp_generator(dp, torch.device("cpu"), 0)
    elif seed is not None:
        generator = torch.Generator()
        generator.manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(X.astype(np.float32)), torch.from_numpy(targets)
    )
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=dp is None, generator=generator
    )


def make_optimizer(
    factory: Callable[[Iterable[Any]], Any] | None, module: torch.nn.Module
) -> torch.optim.Optimizer:
    """``factory(module.parameters())``, or Adam with learning rate 1e-3.

    Raises
    ------
    ValueError
        If the factory makes no ``torch.optim.Optimizer``.
    """
    if factory is None:
        return torch.optim.Adam(module.parameters(), lr=1e-3)
    optimizer = factory(module.parameters())
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(
            "the optimizer factory must return a torch.optim.Optimizer, got "
            f"{type(optimizer).__name__}"
        )
    return optimizer


def make_private(
    dp: DPSGD,
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: torch.utils.data.DataLoader,
    loss: Any,
    n: int,
    epochs: int,
    device: torch.device,
) -> tuple[Any, Any, Any, Any, float]:
    """Opacus' private module, optimizer and loader for ``n`` examples, its
    privacy engine and the δ of the guarantee.

    Raises
    ------
    ValueError
        If Opacus cannot train ``module`` (the message names the layers), or
        the loss's reduction is neither mean nor sum.
    """
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
    delta = delta_for(dp, n)
    if dp.noise_seed is not None:
        message = (
            f"DPSGD(noise_seed={dp.noise_seed}) seeds DP-SGD's noise and batch "
            "sampling: anyone who knows the seed can retrain without a "
            "candidate and compare, so the reported epsilon does not hold. "
            "Use it for experiments only; /privacy records noise_seeded: true"
        )
        _warn(message)
    # Never the global generator: the wrapper's seed may have seeded it.
    noise_generator = _dp_generator(dp, device, 1)
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
                epochs=epochs,
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


def delta_for(dp: DPSGD, n: int) -> float:
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


def _train(module, optimizer, loader, loss, device, epochs: int) -> int:
    with warnings.catch_warnings():
        # Opacus' per-example gradient hooks fire on the first layer,
        # whose input needs no gradient; torch warns at every fit.
        warnings.filterwarnings(
            "ignore", message="Full backward hook is firing", category=UserWarning
        )
        return _epochs(module, optimizer, loader, loss, device, epochs)


def _epochs(module, optimizer, loader, loss, device, epochs: int) -> int:
    steps = 0
    every = max(1, math.ceil(epochs / _EPOCH_LINES))
    for epoch in range(1, epochs + 1):
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
        if epoch % every == 0 or epoch == epochs:
            _logger.info(
                "epoch %d/%d: loss %.4f, %.2f s",
                epoch,
                epochs,
                total / max(examples, 1),
                time.perf_counter() - started,
            )
    return steps


def _spent(
    dp: DPSGD, engine, optimizer, delta, n, steps, epochs, batch_size
) -> dict[str, Any]:
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
        "sample_rate": 1.0 / math.ceil(n / batch_size),
        "steps": int(steps),
        "epochs": int(epochs),
        "poisson_sampling": bool(dp.poisson_sampling),
        "library": "opacus",
        "library_version": distribution_version("opacus"),
        "privacy_unit": "one training example (add/remove)",
        "noise_seeded": dp.noise_seed is not None,
        "noise_source": (
            "seeded by DPSGD.noise_seed: the epsilon does not hold"
            if dp.noise_seed is not None
            else "torch.Generator seeded with 63 bits of OS entropy per fit"
        ),
        "delta_default": dp.delta is None,
    }


def _warn(message: str) -> None:
    """Warn the user's code (``fit``'s caller) and the server log alike."""
    # make_private's warnings name TorchWrapper.fit's caller (the frames:
    # _warn, make_private, _fit, trainer.fit, TorchWrapper.fit, the caller).
    warnings.warn(message, UserWarning, stacklevel=6)
    _logger.warning("%s", message)


def _dp_generator(dp: DPSGD, device: torch.device, stream: int) -> torch.Generator:
    """A generator for DP-SGD's sampling (stream 0) or noise (stream 1): seeded
    from the OS's entropy, or from ``noise_seed`` when the user insists."""
    generator = torch.Generator(device=device)
    if dp.noise_seed is None:
        generator.manual_seed(secrets.randbits(63))
    else:
        generator.manual_seed((dp.noise_seed + stream) % 2**63)
    return generator


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


def _reduction(loss: Any) -> str:
    reduction = getattr(loss, "reduction", "mean")
    if reduction not in ("mean", "sum"):
        raise ValueError(
            f"DP-SGD needs a loss with reduction 'mean' or 'sum', got {reduction!r}"
        )
    return reduction
