"""Settings every test shares."""

import os

# Keras 3 must pick its backend before it is first imported; torch's CPU build
# is what `make test` installs.
os.environ.setdefault("KERAS_BACKEND", "torch")
