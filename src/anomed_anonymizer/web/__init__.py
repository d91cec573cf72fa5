"""The Falcon pieces every app of this package uses: the alive resource,
request logging, bounded body reading and the mapping of the error vocabulary
(:mod:`anomed_anonymizer.errors`) to HTTP statuses.

The anonymizer servers, the challenge emulator and the self-audit all build on
this module, so none of them imports another's internals.
"""

from .app import create_app
from .errors import STATUSES, register_error_handlers
from .middleware import RequestLogger, configure_logging
from .resources import AliveResource, read_body

__all__ = [
    "STATUSES",
    "AliveResource",
    "RequestLogger",
    "configure_logging",
    "create_app",
    "read_body",
    "register_error_handlers",
]
