"""Falcon resources of a supervised-learning anonymizer server.

They are the building blocks of
:func:`~anomed_anonymizer.supervised_learning_anonymizer_server_factory`, and
can be mounted on an app of your own (call
:func:`~anomed_anonymizer.register_error_handlers` on it too).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import falcon
import numpy as np

from ..errors import BusyError, ConflictError, InvalidInputError, InvalidOutputError
from ..models.base import SupervisedLearningAnonymizer
from ..models.privacy import privacy_budget_of, privacy_json
from ..web import (
    DEFAULT_MAX_REQUEST_BYTES,
    REFIT_ENV,
    AliveResource,
    current_settings,
    metrics,
    npz_body,
    read_body,
)
from ..wire import (
    PeerClient,
    PeerError,
    PeerProtocolError,
    PeerRejectedError,
    PeerUnavailableError,
    encode_named_arrays,
)
from .storage import ModelStore

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "REFIT_ENV",
    "AliveResource",
    "FitResource",
    "InferenceResource",
    "bounded_batch_size",
    "challenge_call",
    "counted_fit",
    "read_body",
    "refits_refused",
    "rejected_data",
    "unasked_refit_refused",
    "validate_anonymizer_input_or_raise",
    "validator_bug",
]

_logger = logging.getLogger(__name__)

MAX_BATCHES_PER_REQUEST = 1024
"""Most batches one request is split into; see :func:`bounded_batch_size`."""
DATA_SPLITS = ("tuning", "validation")

# A validator signals rejection with ValueError; one that crashes on a
# malformed array (upstream's README example indexes shape[1] before checking
# ndim, so a 1-d X raises IndexError) is rejecting it too, not failing itself.
# Anything else (AttributeError, KeyError, NameError, ...) is a bug in the
# user's validator: a 500 that says so, never "data rejected".
_VALIDATOR_REJECTIONS = (ValueError, TypeError, IndexError)


def validator_bug(exc: Exception, what: str = "request") -> falcon.HTTPError:
    """The 500 for a validator that raised something other than a rejection
    (:data:`_VALIDATOR_REJECTIONS`): a bug in the user's validator, not in the
    data; its traceback goes to the log.

    Parameters
    ----------
    exc : Exception
        What the validator raised.
    what : str, optional
        Whose data it was validating ("request", "challenge's data").
    """
    _logger.error(
        "the feature array validator raised %s\n%s",
        type(exc).__name__,
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip(),
    )
    return falcon.HTTPError(
        status=falcon.HTTP_INTERNAL_SERVER_ERROR,
        title="Bug in the feature array validator",
        description=_validator_bug_description(exc, what),
    )


def _validator_bug_description(exc: Exception, what: str) -> str:
    """What a validator's crash means, for the client: for an
    ``AttributeError`` on a name NumPy 2.0 removed (upstream's README
    validator compares with ``np.float_``), that name and what to write."""
    removed = _numpy2_removal(exc)
    if removed is not None:
        name, advice = removed
        return (
            f"the feature array validator raised AttributeError: `np.{name}` was "
            f"removed in NumPy 2.0 (this server runs NumPy {np.__version__}); "
            f"{advice} — a bug in the validator, not in the {what}; its traceback "
            "is in the server log"
        )
    return (
        f"the feature array validator raised {type(exc).__name__}: {exc} — a bug "
        f"in the validator, not in the {what}; its traceback is in the server log"
    )


# NumPy 2's own message for a removed name ("`np.float_` was removed in the
# NumPy 2.0 release. Use `np.float64` instead.").
_NUMPY2_REMOVED = re.compile(
    r"`np\.(?P<name>\w+)` was removed in the NumPy 2\.0 release\.\s*(?P<advice>.*)",
    re.DOTALL,
)
_USE_INSTEAD = re.compile(r"Use (?P<what>`[^`]+`) instead\.?", re.DOTALL)
# The plain "module 'numpy' has no attribute 'float_'" (an access that
# bypasses NumPy's module __getattr__): the removals a validator meets most.
_NUMPY2_REPLACEMENTS = {
    "float_": "np.float64",
    "complex_": "np.complex128",
    "cfloat": "np.complex128",
    "longfloat": "np.longdouble",
    "string_": "np.bytes_",
    "unicode_": "np.str_",
    "NaN": "np.nan",
    "Inf": "np.inf",
    "Infinity": "np.inf",
    "infty": "np.inf",
    "PINF": "np.inf",
    "NINF": "-np.inf",
}
_NO_NUMPY_ATTRIBUTE = re.compile(r"module 'numpy' has no attribute '(?P<name>\w+)'")


def _numpy2_removal(exc: Exception) -> tuple[str, str] | None:
    """The NumPy name an ``AttributeError`` says NumPy 2.0 removed, and
    what to write instead; ``None`` for any other error."""
    if not isinstance(exc, AttributeError):
        return None
    message = str(exc)
    match = _NUMPY2_REMOVED.search(message)
    if match is not None:
        advice = match["advice"].strip()
        use = _USE_INSTEAD.fullmatch(advice)
        if use is not None:
            advice = f"write {use['what']}"
        return match["name"], advice or "see NumPy 2.0's migration guide"
    match = _NO_NUMPY_ATTRIBUTE.search(message)
    if match is not None and match["name"] in _NUMPY2_REPLACEMENTS:
        return match["name"], f"write `{_NUMPY2_REPLACEMENTS[match['name']]}`"
    return None


def validate_anonymizer_input_or_raise(
    feature_array: np.ndarray,
    anonymizer: SupervisedLearningAnonymizer,
    error_status: str | int | None = falcon.HTTP_INTERNAL_SERVER_ERROR,
    error_message: str | None = None,
) -> None:
    """Validate ``feature_array`` with the anonymizer, or raise an HTTP error.

    Parameters
    ----------
    feature_array : numpy.ndarray
        The features.
    anonymizer : SupervisedLearningAnonymizer
        Its ``validate_input`` decides.
    error_status : str | int | None, optional
        The status of the error raised if validation fails, by default 500.
    error_message : str | None, optional
        Prefix of the error description; the validator's own message follows.

    Raises
    ------
    falcon.HTTPError
        With ``error_status`` if the validator raises ``ValueError`` (or
        crashes on the array with ``TypeError`` or ``IndexError``); a 500
        naming the validator's bug if it raises anything else.
    """
    try:
        anonymizer.validate_input(feature_array)
    except _VALIDATOR_REJECTIONS as exc:
        reason = _reason(exc)
        description = f"{error_message}: {reason}" if error_message else reason
        raise falcon.HTTPError(
            status=error_status or falcon.HTTP_INTERNAL_SERVER_ERROR,
            title="Invalid feature array",
            description=description,
        ) from exc
    except Exception as exc:
        raise validator_bug(exc) from exc


def _validate_challenge_data(
    anonymizer: SupervisedLearningAnonymizer,
    X: np.ndarray,
    description: str,
    url: str,
) -> None:
    """Validate the challenge's ``X``: a rejection is a 502 naming it
    (:func:`rejected_data`), a crash of the validator a 500 naming the bug."""
    try:
        anonymizer.validate_input(X)
    except _VALIDATOR_REJECTIONS as exc:
        raise rejected_data(description, url, exc) from exc
    except Exception as exc:
        raise validator_bug(exc, "challenge's data") from exc


def rejected_data(description: str, url: str, exc: Exception) -> PeerProtocolError:
    """The error for a peer's data that the anonymizer rejects: the peer sent
    something this anonymizer cannot use, so a 502 in every server.

    Parameters
    ----------
    description : str
        What was rejected, for the client (e.g. "the challenge's training
        features (shape ...) were rejected by the anonymizer's
        validate_input"); the log adds where it came from.
    url : str
        Where the data came from.
    exc : Exception
        The anonymizer's reason.
    """
    reason = _reason(exc)
    return PeerProtocolError(
        f"{description} (from {url}): {reason}",
        url,
        title="Data rejected by the anonymizer",
        public=f"{description}: {reason}",
    )


@contextlib.contextmanager
def challenge_call(role: str) -> Iterator[None]:
    """Name the setting to check in the public message of a
    :class:`~anomed_anonymizer.wire.PeerError` raised in the block.

    Parameters
    ----------
    role : str
        The factory argument that gave the URL (``training_data_url``,
        ``tuning_data_url``, ``validation_data_url``,
        ``utility_evaluation_url``, ``leaky_data_url``); set as the error's
        ``role``.
    """
    try:
        yield
    except PeerError as exc:
        exc.role = role  # type: ignore[attr-defined]
        public = exc.for_client()
        if isinstance(exc, PeerUnavailableError):
            hint = (
                f"the challenge at {role} is unreachable or too slow: check "
                f"{role} and CHALLENGE_HOST, which it is usually built from"
            )
        elif isinstance(exc, PeerRejectedError):
            hint = (
                f"the challenge answered {exc.status} for {role}: check that "
                f"{role} points at the challenge's route for it"
            )
        else:
            hint = f"the data came from {role}"
        exc.public_message = f"{public} ({hint})"
        raise


def bounded_batch_size(n_rows: int, batch_size: int) -> int:
    """``batch_size``, raised where needed so that ``n_rows`` take at most
    :data:`MAX_BATCHES_PER_REQUEST` batches (a tiny ``?batch_size`` on a huge
    body would keep a worker busy for minutes; predictions do not change).

    Examples
    --------
    >>> bounded_batch_size(100, 1)
    1
    >>> bounded_batch_size(10_000_000, 1)
    9766
    """
    return max(batch_size, -(-n_rows // MAX_BATCHES_PER_REQUEST))


def _reason(exc: Exception) -> str:
    # A ValueError is a validator's message; anything else, a crash on the
    # array, is named so that its message makes sense.
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


def _predict(
    anonymizer: SupervisedLearningAnonymizer, X: np.ndarray, batch_size: int | None
) -> np.ndarray:
    if batch_size is not None:
        batch_size = bounded_batch_size(len(X), batch_size)
    prediction = np.asarray(anonymizer.predict(X, batch_size=batch_size))
    if prediction.ndim == 0 or len(prediction) != len(X):
        raise InvalidOutputError(
            f"the anonymizer's predict() returned shape {prediction.shape} for "
            f"{len(X)} rows; it must return one prediction per row"
        )
    return prediction


def refits_refused() -> bool:
    """Whether this process's settings refuse refits (``serve --refits``,
    else :data:`~anomed_anonymizer.web.REFIT_ENV`).

    Raises
    ------
    ValueError
        If :data:`~anomed_anonymizer.web.REFIT_ENV` is set to anything but
        ``allow`` or ``refuse``.
    """
    return current_settings().refuse_refits


def unasked_refit_refused(req: falcon.Request, refuse_refits: bool) -> bool:
    """Whether this ``POST /fit`` must keep what is fitted: refits are
    refused and the request does not ask with ``?refit=true``."""
    return refuse_refits and not req.get_param_as_bool("refit", default=False)


class FitResource:
    """``POST /fit``: pull training data, validate, fit, save atomically.

    Parameters
    ----------
    anonymizer : SupervisedLearningAnonymizer
        The model to fit.
    store : ModelStore
        Where the fitted model goes.
    training_data_url : str
        Serves ``.npz`` arrays ``X`` and ``y``.
    client : PeerClient
        Downloads the data.
    refuse_refits : bool | None, optional
        Answer 409 to a ``POST /fit`` without ``?refit=true`` once a model is
        fitted; by default as :data:`REFIT_ENV` says.
    """

    def __init__(
        self,
        anonymizer: SupervisedLearningAnonymizer,
        store: ModelStore,
        training_data_url: str,
        client: PeerClient,
        refuse_refits: bool | None = None,
    ) -> None:
        self._anonymizer = anonymizer
        self._store = store
        self._training_data_url = training_data_url
        self._client = client
        self._refuse_refits = (
            refits_refused() if refuse_refits is None else refuse_refits
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        keep = unasked_refit_refused(req, self._refuse_refits)
        with self._store.fitting(keep_existing=keep), counted_fit():
            n_samples, duration = self._fit_and_save()
        budget = privacy_budget_of(self._anonymizer)
        for reason in budget.void_reasons if budget is not None else ():
            _logger.warning(
                "the served epsilon %.4g does not hold: %s", budget.epsilon, reason
            )
        resp.status = falcon.HTTP_CREATED
        resp.media = {
            "message": "Fitting has been completed successfully.",
            "n_samples": n_samples,
            "fit_seconds": round(duration, 3),
            "privacy": privacy_json(budget),
        }

    def _fit_and_save(self) -> tuple[int, float]:
        with challenge_call("training_data_url"):
            arrays = self._client.fetch_named_arrays(
                self._training_data_url, required=("X", "y")
            )
        X, y = arrays["X"], arrays["y"]
        _validate_challenge_data(
            self._anonymizer,
            X,
            f"the challenge's training features (shape {X.shape}, dtype "
            f"{X.dtype}) were rejected by the anonymizer's validate_input",
            self._training_data_url,
        )
        _logger.info("fitting on X %s %s, y %s %s", X.shape, X.dtype, y.shape, y.dtype)
        started = time.perf_counter()
        self._anonymizer.fit(X, y)
        duration = time.perf_counter() - started
        _logger.info("fitted in %.3f s", duration)
        self._store.save(self._anonymizer)
        return len(X), duration


@contextlib.contextmanager
def counted_fit() -> Iterator[None]:
    """Count the fit in the block as a success or a failure, and time it
    (``anomed_fits_total``, ``anomed_fit_duration_seconds``)."""
    started = time.perf_counter()
    try:
        yield
    except (BusyError, ConflictError):  # refused: no fit was attempted
        raise
    except BaseException:
        metrics().fits.labels("failure").inc()
        raise
    metrics().fits.labels("success").inc()
    metrics().fit_duration.observe(time.perf_counter() - started)


class InferenceResource:
    """``POST /predict`` and ``POST /evaluate`` of a fitted anonymizer.

    Mount with ``app.add_route("/predict", resource, suffix="predict")`` and
    ``app.add_route("/evaluate", resource, suffix="evaluate")``.

    Parameters
    ----------
    anonymizer_identifier : str
        This anonymizer's name at the challenge (query ``anonymizer=``).
    model_filepath : str | pathlib.Path
        Where the fitted model is saved.
    model_loader : Callable[[str | pathlib.Path], SupervisedLearningAnonymizer]
        Restores the model from ``model_filepath``.
    default_batch_size : int
        Batch size when a request names none, and for evaluations.
    tuning_data_url, validation_data_url : str
        Serve the ``X`` of each evaluation split.
    utility_evaluation_url : str
        Scores predictions.
    download_timeout, upload_timeout : float
        Seconds to wait for the challenge.
    max_request_bytes : int, optional
        Largest ``/predict`` body, and largest decompressed payload.
    store : ModelStore | None, optional
        Share a store with a :class:`FitResource`; by default one is made.
    client : PeerClient | None, optional
        Share a client; by default one is made from the timeouts.
    """

    def __init__(
        self,
        anonymizer_identifier: str,
        model_filepath: str | Path,
        model_loader: Callable[[str | Path], SupervisedLearningAnonymizer],
        default_batch_size: int,
        tuning_data_url: str,
        validation_data_url: str,
        utility_evaluation_url: str,
        download_timeout: float = 10.0,
        upload_timeout: float = 10.0,
        *,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        store: ModelStore | None = None,
        client: PeerClient | None = None,
    ) -> None:
        self._anon_id = anonymizer_identifier
        self._default_batch_size = default_batch_size
        self._split_urls = {
            "tuning": tuning_data_url,
            "validation": validation_data_url,
        }
        self._utility_url = utility_evaluation_url
        self._max_request_bytes = max_request_bytes
        self._store = store or ModelStore(model_filepath, model_loader)
        self._client = client or PeerClient(
            download_timeout, upload_timeout, peer="the challenge"
        )
        # /evaluate runs on a thread of its own under serve (it waits on the
        # challenge): the model still predicts for one request at a time.
        self._predicting = threading.Lock()

    def on_post_predict(self, req: falcon.Request, resp: falcon.Response) -> None:
        anonymizer = self._store.latest()
        batch_size = req.get_param_as_int(
            "batch_size", min_value=1, default=self._default_batch_size
        )
        X = npz_body(req, self._max_request_bytes, required=("X",), only=("X",))["X"]
        validate_anonymizer_input_or_raise(
            X,
            anonymizer,
            falcon.HTTP_BAD_REQUEST,
            f"the array 'X' (shape {X.shape}, dtype {X.dtype}) was rejected by "
            "the anonymizer",
        )
        try:
            with self._predicting:
                prediction = _predict(anonymizer, X, batch_size)
        except ValueError as exc:
            # The validator let X through but the model cannot use it: still
            # the client's array, so a 400 that says why.
            raise InvalidInputError(
                f"the anonymizer could not predict for 'X' (shape {X.shape}, "
                f"dtype {X.dtype}): {exc}",
                title="Invalid feature array",
            ) from exc
        resp.status = falcon.HTTP_CREATED
        resp.content_type = "application/octet-stream"
        resp.data = encode_named_arrays({"prediction": prediction})

    def on_post_evaluate(self, req: falcon.Request, resp: falcon.Response) -> None:
        data_split = req.get_param("data_split", required=True)
        if data_split not in DATA_SPLITS:
            raise falcon.HTTPInvalidParam(
                f"it must be one of {', '.join(DATA_SPLITS)}, not {data_split!r}",
                "data_split",
            )
        anonymizer = self._store.latest()
        url = self._split_urls[data_split]
        with challenge_call(f"{data_split}_data_url"):
            X = self._client.fetch_named_arrays(url, required=("X",), only=("X",))["X"]
        prediction = self._predict_challenge_data(anonymizer, X, data_split, url)
        _logger.info(
            "evaluating on %s: X %s -> prediction %s %s",
            data_split,
            X.shape,
            prediction.shape,
            prediction.dtype,
        )
        with challenge_call("utility_evaluation_url"):
            evaluation = self._client.post_named_arrays(
                self._utility_url,
                {"prediction": prediction},
                params={"anonymizer": self._anon_id, "data_split": data_split},
            )
        resp.status = falcon.HTTP_CREATED
        resp.media = {
            "message": f"The anonymizer has been evaluated based on {data_split} data.",
            "evaluation": evaluation,
        }

    def _predict_challenge_data(
        self,
        anonymizer: SupervisedLearningAnonymizer,
        X: np.ndarray,
        split: str,
        url: str,
    ) -> np.ndarray:
        """Predict for the challenge's ``X`` of ``split``; data the model
        cannot use is the challenge's fault: a 502 naming what was wrong."""
        what = f"the challenge's {split} features (shape {X.shape}, dtype {X.dtype})"
        if X.ndim == 0 or len(X) == 0:
            raise rejected_data(what, url, ValueError("they hold no rows"))
        _validate_challenge_data(
            anonymizer,
            X,
            f"{what} were rejected by the anonymizer's validate_input",
            url,
        )
        try:
            with self._predicting:
                return _predict(anonymizer, X, self._default_batch_size)
        except (ValueError, TypeError) as exc:
            raise rejected_data(
                f"the anonymizer could not predict for {what}", url, exc
            ) from exc
