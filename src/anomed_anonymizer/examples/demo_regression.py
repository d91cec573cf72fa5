"""The regression demo's anonymizers, configured from the environment so that
``anomed-anonymizer demo --task regression`` can serve them for any
regression dataset: an MLP trained without privacy (the baseline, wide and
trained long: it memorises its training rows, as an unguarded model does), or
the same kind of network trained with DP-SGD (Opacus) to a target ε.

Environment: ``CHALLENGE_HOST`` (host:port), ``ANOMED_MODEL`` (``mlp`` or
``mlp-dp``, the default), ``ANOMED_EPSILON`` (the DP model's target budget,
default 3.0; δ = 1/(10 n)), ``ANOMED_FEATURE_BOUNDS`` (JSON ``[[lower...],
[upper...]]``) and ``ANOMED_TARGET_SCALE`` (JSON ``[centre, scale]``): public
knowledge of the features and the targets, which the networks scale by
(spending no budget); ``ANOMED_MODEL_FILE`` (default ``anonymizer.pt``),
``ANOMED_SEED`` (initial weights, default 0). Serve with
``anomed-anonymizer serve anomed_anonymizer.examples.demo_regression:application``.
"""

from __future__ import annotations

import json
import os

import torch
from torch import nn

import anomed_anonymizer as anon

LOWER, UPPER = json.loads(os.environ["ANOMED_FEATURE_BOUNDS"])
CENTRE, SCALE = json.loads(os.environ.get("ANOMED_TARGET_SCALE", "[0.0, 1.0]"))
MODEL = os.environ.get("ANOMED_MODEL", "mlp-dp")
EPSILON = float(os.environ.get("ANOMED_EPSILON", "3.0"))


class ScaledMLP(nn.Module):
    """Features clipped to their public bounds and scaled to [-1, 1]; then
    hidden layers of ``hidden`` units and one output per target column.

    Parameters
    ----------
    n_features, n_outputs : int
        Input columns and target columns.
    hidden : int
        Width of each hidden layer.
    layers : int
        Hidden layers.
    """

    def __init__(
        self, n_features: int, n_outputs: int, hidden: int = 64, layers: int = 1
    ) -> None:
        super().__init__()
        lower = torch.tensor(LOWER, dtype=torch.float32)
        if lower.shape != (n_features,):
            raise ValueError(
                f"ANOMED_FEATURE_BOUNDS has {len(LOWER)} bounds, but the data has "
                f"{n_features} features"
            )
        self.register_buffer("lower", lower)
        span = torch.tensor(UPPER, dtype=torch.float32) - lower
        self.register_buffer("span", span.clamp(min=1e-12))
        blocks: list[nn.Module] = []
        width = n_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.layers = nn.Sequential(*blocks, nn.Linear(width, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.minimum(torch.maximum(x, self.lower), self.lower + self.span)
        return self.layers(2 * (x - self.lower) / self.span - 1)


def wide(n_features: int, n_outputs: int) -> ScaledMLP:
    """The baseline's network: two hidden layers of 256, enough to memorise."""
    return ScaledMLP(n_features, n_outputs, hidden=256, layers=2)


def _anonymizer(model: str) -> anon.TorchWrapper:
    seed = int(os.environ.get("ANOMED_SEED", "0"))
    if model == "mlp":
        return anon.TorchWrapper(
            wide,
            optimizer=lambda params: torch.optim.Adam(params, lr=0.003),
            epochs=300,
            batch_size=64,
            task="regression",
            target_scale=(CENTRE, SCALE),
            seed=seed,
        )
    if model == "mlp-dp":
        return anon.TorchWrapper(
            ScaledMLP,
            optimizer=lambda params: torch.optim.Adam(params, lr=0.01),
            epochs=30,
            batch_size=64,
            dp=anon.DPSGD(epsilon=EPSILON, max_grad_norm=1.0),
            task="regression",
            target_scale=(CENTRE, SCALE),
            seed=seed,  # initial weights only: DP noise draws fresh OS entropy
        )
    raise ValueError(f"ANOMED_MODEL must be mlp or mlp-dp, not {model!r}")


anonymizer = _anonymizer(MODEL)
hostname = os.environ["CHALLENGE_HOST"]
application = anon.supervised_learning_anonymizer_server_factory(
    anonymizer_identifier="demo_regressor",
    anonymizer_obj=anonymizer,
    model_filepath=os.environ.get("ANOMED_MODEL_FILE", "anonymizer.pt"),
    default_batch_size=64,
    training_data_url=f"http://{hostname}/data/anonymizer/training",
    tuning_data_url=f"http://{hostname}/data/anonymizer/tuning",
    validation_data_url=f"http://{hostname}/data/anonymizer/validation",
    utility_evaluation_url=f"http://{hostname}/utility/anonymizer",
    model_loader=anonymizer.load,
)
