"""A differentially private MLP (DP-SGD through Opacus) for any tabular
classification challenge.

``anonymizer`` is the unfitted :class:`~anomed_anonymizer.TorchWrapper`
(audit it with ``anomed-anonymizer audit
anomed_anonymizer.examples.dp_mlp:anonymizer``); ``application`` serves it
(``anomed-anonymizer serve anomed_anonymizer.examples.dp_mlp:application``, as
``anomed-anonymizer demo --model mlp-dp`` does).

Environment, all optional: ``CHALLENGE_HOST`` (host:port, default
``localhost:8001``), ``ANOMED_EPSILON`` (the target ε, default 3.0; δ is 1/(10 n)),
``ANOMED_FEATURE_BOUNDS`` (JSON ``[[lower...], [upper...]]``: public feature
bounds, by which the network scales its input to [-1, 1]; without them it
uses ``sign(x) log(1 + |x|)`` and normalizes each row, which needs no
knowledge of the data), ``ANOMED_MODEL_FILE`` (default ``anonymizer.pt``).
"""

from __future__ import annotations

import json
import os

import torch
from torch import nn

import anomed_anonymizer as anon

_bounds = os.environ.get("ANOMED_FEATURE_BOUNDS")
BOUNDS = json.loads(_bounds) if _bounds else None
EPSILON = float(os.environ.get("ANOMED_EPSILON", "3.0"))


class ScaledMLP(nn.Module):
    """Input scaling that spends no privacy budget, then one hidden layer.

    Parameters
    ----------
    n_features, n_classes : int
        Input columns and output logits.
    bounds : list | None
        Public ``[lower, upper]`` per feature, or ``None``.
    hidden : int
        Width of the hidden layer.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        bounds: list | None = BOUNDS,
        hidden: int = 32,
    ) -> None:
        super().__init__()
        self.scaled = bounds is not None
        if bounds is not None:
            lower, upper = (torch.tensor(b, dtype=torch.float32) for b in bounds)
            if lower.shape != (n_features,) or upper.shape != (n_features,):
                raise ValueError(
                    f"ANOMED_FEATURE_BOUNDS has {len(lower)} lower and {len(upper)} "
                    f"upper bounds, but the data has {n_features} features"
                )
            self.register_buffer("lower", lower)
            self.register_buffer("span", (upper - lower).clamp(min=1e-12))
        self.normalize = nn.LayerNorm(n_features, elementwise_affine=False)
        self.layers = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scaled:
            x = 2 * (x - self.lower) / self.span - 1
        else:
            x = self.normalize(torch.sign(x) * torch.log1p(x.abs()))
        return self.layers(x)


def sgd(parameters) -> torch.optim.Optimizer:
    """SGD with momentum: robust under DP noise for small networks."""
    return torch.optim.SGD(parameters, lr=0.2, momentum=0.9)


anonymizer = anon.TorchWrapper(
    ScaledMLP,
    optimizer=sgd,
    epochs=30,
    batch_size=32,
    dp=anon.DPSGD(epsilon=EPSILON, max_grad_norm=1.0),
    seed=0,  # initial weights only: DP noise and batches draw fresh OS entropy
)

hostname = os.environ.get("CHALLENGE_HOST", "localhost:8001")
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="example_anonymizer",
    anonymizer_obj=anonymizer,
    model_filepath=os.environ.get("ANOMED_MODEL_FILE", "anonymizer.pt"),
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anonymizer.load,
)
