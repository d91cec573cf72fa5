"""The Falcon pieces every app of this package uses: the alive resource,
request ids and logging, metrics, control access, bounded body reading and
the mapping of the error vocabulary (:mod:`anomed_anonymizer.errors`) to HTTP
statuses.

The anonymizer servers, the challenge emulator and the self-audit all build on
this module, so none of them imports another's internals.
"""

from .app import create_app
from .bodies import (
    npz_body,
    parquet_body,
    parquet_bytes,
    read_body,
    read_body_file,
    refuse_larger,
)
from .errors import STATUSES, compose_error, register_error_handlers
from .metrics import MetricsResource, metrics
from .middleware import (
    CONTROL_TOKEN_ENV,
    ControlAccess,
    RequestLogger,
    configure_logging,
    current_request_id,
    install_request_id_logging,
)
from .resources import AliveResource
from .settings import (
    DEBUG_ENV,
    DEBUG_WARNING,
    DEFAULT_MAX_REQUEST_BYTES,
    REFIT_ENV,
    ServerSettings,
    current_settings,
    use_settings,
)

__all__ = [
    "CONTROL_TOKEN_ENV",
    "DEBUG_ENV",
    "DEBUG_WARNING",
    "DEFAULT_MAX_REQUEST_BYTES",
    "REFIT_ENV",
    "STATUSES",
    "AliveResource",
    "ControlAccess",
    "MetricsResource",
    "RequestLogger",
    "ServerSettings",
    "compose_error",
    "configure_logging",
    "create_app",
    "current_request_id",
    "current_settings",
    "install_request_id_logging",
    "metrics",
    "npz_body",
    "parquet_body",
    "parquet_bytes",
    "read_body",
    "read_body_file",
    "refuse_larger",
    "register_error_handlers",
    "use_settings",
]
