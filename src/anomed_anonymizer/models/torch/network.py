"""The network of a :class:`~anomed_anonymizer.TorchWrapper`: building it,
placing it on a device, running it on numpy arrays.

Imports torch: :mod:`.wrapper` imports this module only when it first needs
the network (fit, predict, load).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from ..batching import batch_views

__all__ = ["build", "device_for", "forward", "output_width"]


def device_for(name: str | None) -> torch.device:
    """The device ``name`` (``"cpu"``, ``"cuda"``, ...); ``None`` takes CUDA
    when present, else the CPU."""
    if name is not None:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build(module: Any, n_features: int, n_outputs: int) -> torch.nn.Module:
    """A fresh network: a copy of the ``module`` instance, or what the
    factory ``module`` makes for ``(n_features, n_outputs)``.

    Raises
    ------
    ValueError
        If the factory returns something other than an ``nn.Module``.
    """
    if isinstance(module, torch.nn.Module):
        return copy.deepcopy(module)
    built = module(n_features, n_outputs)
    if not isinstance(built, torch.nn.Module):
        raise ValueError(
            f"the module factory returned a {type(built).__name__}, not a "
            "torch.nn.Module"
        )
    return built


def output_width(module: torch.nn.Module, row: np.ndarray, device: Any) -> int:
    """How many outputs the network gives per row, tried on one ``row``.

    Raises
    ------
    ValueError
        If it does not map ``(n, n_features)`` to ``(n, width)``.
    """
    module.eval()  # one row: layers such as BatchNorm refuse it in training mode
    with torch.no_grad():
        out = module(torch.as_tensor(row, dtype=torch.float32, device=device))
    if out.ndim != 2 or out.shape[0] != 1:
        raise ValueError(
            "the network must map a batch (n, n_features) to (n, n_outputs) "
            "(logits, or regression outputs); "
            f"for one row it returned shape {tuple(out.shape)}"
        )
    return int(out.shape[1])


def forward(
    module: torch.nn.Module, X: np.ndarray, batch_size: int | None, *, softmax: bool
) -> list[np.ndarray]:
    """The network's outputs for ``X`` as float64 arrays, ``batch_size`` rows
    per forward pass (``None``: ``X`` whole); ``softmax`` turns logits into
    probabilities."""
    device = next(module.parameters()).device
    outputs = []
    with torch.inference_mode():
        for batch in batch_views(X, batch_size):
            out = module(torch.as_tensor(batch, dtype=torch.float32, device=device))
            if softmax:
                out = torch.softmax(out, dim=1)
            outputs.append(out.double().cpu().numpy())
    return outputs
