"""Doctest collection of the package: skip modules whose optional extra is absent.

``models/torch/network.py`` and ``models/torch/trainer.py`` import ``torch`` at
the top (the wrapper imports them only when a model is fitted), so an
environment without the ``torch`` extra (the NumPy 1 run) cannot import them
to look for doctests.  This file sits outside the package and is not shipped.
"""

import importlib.util

collect_ignore_glob = []
if importlib.util.find_spec("torch") is None:
    collect_ignore_glob += [
        "anomed_anonymizer/models/torch/network.py",
        "anomed_anonymizer/models/torch/trainer.py",
    ]
