"""A local AnoMed challenge, wire-identical to ``anomed-challenge``'s servers,
for developing anonymizers without the platform."""

from .adult import adult_like
from .app import supervised_challenge_app
from .datasets import EMBEDDED_DATASETS, Dataset, load_dataset, load_table, read_table
from .supervised import MIAChallenge, evaluate_membership_inference, strict_accuracy
from .tabular import ReconstructionChallenge, tabular_challenge_app

__all__ = [
    "EMBEDDED_DATASETS",
    "Dataset",
    "MIAChallenge",
    "ReconstructionChallenge",
    "adult_like",
    "evaluate_membership_inference",
    "load_dataset",
    "load_table",
    "read_table",
    "strict_accuracy",
    "supervised_challenge_app",
    "tabular_challenge_app",
]
