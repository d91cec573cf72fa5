"""PyTorch classifiers and regressors as anonymizers, optionally trained
with DP-SGD (Opacus).

The package's parts, from the user's side down:

- :mod:`.wrapper`: :class:`TorchWrapper`, the anonymizer (fit, predict,
  save, load, the budget served at ``GET /privacy``);
- :mod:`.config`: :class:`DPSGD`, the private-training settings and their
  checks;
- :mod:`.trainer`: training, DP-SGD through Opacus, and the accounting;
- :mod:`.network`: building the network and running it on numpy arrays;
- :mod:`.weights`: the weights file and :class:`UnsafeWeightsError`.

Importing this package imports neither torch nor Opacus: only
:mod:`.trainer` and :mod:`.network` do, and the wrapper imports them when it
first trains, predicts or loads.
"""

from .config import DPSGD
from .weights import UnsafeWeightsError
from .wrapper import TorchWrapper

__all__ = ["DPSGD", "TorchWrapper", "UnsafeWeightsError"]
