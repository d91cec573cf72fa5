"""Wire formats and transport of the AnoMed protocol.

Nothing here knows about models or servers: ``server`` and ``models`` build on
this package, never the other way round.
"""

from .addresses import Address, parse_address, peer_url
from .chunks import BodyHandover, ChunkedBody
from .errors import MissingArrayError, PayloadError, PayloadTooLargeError
from .http import (
    ChallengeClient,
    ChallengeError,
    ChallengeProtocolError,
    ChallengeRejectedError,
    ChallengeUnavailableError,
    PeerClient,
    PeerError,
    PeerProtocolError,
    PeerRejectedError,
    PeerUnavailableError,
)
from .multipart import encode_multipart
from .npz import decode_named_arrays, encode_named_arrays, small_inflated_size
from .parquet import decode_table, encode_table

__all__ = [
    "Address",
    "BodyHandover",
    "ChallengeClient",
    "ChallengeError",
    "ChallengeProtocolError",
    "ChallengeRejectedError",
    "ChallengeUnavailableError",
    "ChunkedBody",
    "MissingArrayError",
    "PayloadError",
    "PayloadTooLargeError",
    "PeerClient",
    "PeerError",
    "PeerProtocolError",
    "PeerRejectedError",
    "PeerUnavailableError",
    "decode_named_arrays",
    "decode_table",
    "encode_multipart",
    "encode_named_arrays",
    "encode_table",
    "parse_address",
    "peer_url",
    "small_inflated_size",
]
