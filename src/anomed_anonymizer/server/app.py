"""App factories: an anonymizer in, a Falcon WSGI app out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import falcon

from ..models.base import SupervisedLearningAnonymizer
from ..models.wrappers import check_servable
from ..web import ServerSettings, current_settings
from .operations import anonymizer_app
from .privacy import PrivacyResource
from .resources import FitResource, InferenceResource
from .storage import ModelStore
from .urls import warn_about_urls

__all__ = ["supervised_learning_anonymizer_server_factory"]


def supervised_learning_anonymizer_server_factory(
    anonymizer_identifier: str,
    anonymizer_obj: SupervisedLearningAnonymizer,
    model_filepath: str | Path,
    default_batch_size: int,
    training_data_url: str,
    tuning_data_url: str,
    validation_data_url: str,
    utility_evaluation_url: str,
    model_loader: Callable[[str | Path], SupervisedLearningAnonymizer],
    download_timeout: float | None = None,
    upload_timeout: float | None = None,
    *,
    max_request_bytes: int | None = None,
    settings: ServerSettings | None = None,
) -> falcon.App:
    """Create the web app of a supervised-learning anonymizer.

    Routes: ``GET /`` (alive), ``POST /fit``, ``POST /evaluate?data_split=``
    (``tuning`` or ``validation``), ``POST /predict[?batch_size=N]`` and ``GET
    /privacy`` (the fitted model's privacy budget), plus ``GET /ready``, ``GET
    /metrics`` (Prometheus) and ``GET /openapi.json``. Every error is a JSON
    body ``{"title": ..., "description": ...}``. When a control token is set
    (``settings``, by default ``ANOMED_CONTROL_TOKEN``), ``/fit`` and
    ``/evaluate`` need ``Authorization: Bearer <token>``.

    Parameters
    ----------
    anonymizer_identifier : str
        This anonymizer's name at the challenge.
    anonymizer_obj : SupervisedLearningAnonymizer
        The model to fit.
    model_filepath : str | pathlib.Path
        Where the fitted model is saved (atomically) and loaded from.
    default_batch_size : int
        Batch size of ``/predict`` without ``batch_size``, and of evaluations.
    training_data_url : str
        Serves the training arrays ``X`` and ``y``
        (``http://HOST/data/anonymizer/training``).
    tuning_data_url : str
        Serves the tuning ``X`` (``http://HOST/data/anonymizer/tuning``).
    validation_data_url : str
        Serves the validation ``X`` (``http://HOST/data/anonymizer/validation``).
    utility_evaluation_url : str
        Scores predictions (``http://HOST/utility/anonymizer``).
    model_loader : Callable[[str | pathlib.Path], SupervisedLearningAnonymizer]
        Restores what ``anonymizer_obj.save`` wrote (the outer object, if
        ``anonymizer_obj`` is a wrapper).
    download_timeout : float | None, optional
        Seconds to wait for challenge downloads; ``None``: the settings' (10).
    upload_timeout : float | None, optional
        Seconds to wait for the challenge to score; ``None``: the settings' (10).
    max_request_bytes : int | None, optional
        Largest ``/predict`` body and largest decompressed payload (413
        above); ``None``: the settings' (256 MiB).
    settings : ServerSettings | None, optional
        Limits, control token, refit policy and timeouts; ``None`` takes
        :func:`~anomed_anonymizer.web.current_settings` (what ``serve`` was
        told, else the environment). The three arguments above, where given,
        override it.

    Returns
    -------
    falcon.App
        A WSGI app; serve it with gunicorn.

    Warns
    -----
    SuspiciousURLWarning
        For a URL whose host is ``None`` or empty, that names its scheme
        twice, or a tuning or validation URL equal to the training URL.

    Raises
    ------
    ValueError
        If ``default_batch_size`` or ``max_request_bytes`` is not positive, or
        the anonymizer could not be saved (a :class:`WrappedAnonymizer` without
        ``serializer`` for a model without ``save``; a Keras 3 model and a
        ``model_filepath`` not ending in ``.keras``) or could not validate
        ``/predict`` input (no ``feature_array_validator``).
    TypeError
        If ``anonymizer_obj`` lacks ``fit``, ``predict``, ``save`` or
        ``validate_input``, or ``model_loader`` is not callable.
    PermissionError
        If the folder of ``model_filepath`` is not writable by this process
        (a volume owned by another uid): the message names folder and uid.
    """
    check_servable(anonymizer_obj, model_filepath)
    if not callable(model_loader):
        raise TypeError(
            "model_loader must be a function that loads what the anonymizer "
            f"saved, got {type(model_loader).__name__}; e.g. "
            "model_loader=anomed_anonymizer.unpickle_anonymizer"
        )
    if not isinstance(default_batch_size, int) or default_batch_size < 1:
        raise ValueError(
            f"default_batch_size must be a positive integer, got {default_batch_size!r}"
        )
    if max_request_bytes is not None and max_request_bytes < 1:
        raise ValueError(f"max_request_bytes must be positive, got {max_request_bytes}")
    settings = (settings or current_settings()).replace(
        max_request_bytes=max_request_bytes,
        download_timeout=download_timeout,
        upload_timeout=upload_timeout,
    )
    warn_about_urls(
        {
            "training_data_url": training_data_url,
            "tuning_data_url": tuning_data_url,
            "validation_data_url": validation_data_url,
            "utility_evaluation_url": utility_evaluation_url,
        }
    )
    store = ModelStore(model_filepath, model_loader)
    app, client = anonymizer_app(settings, "supervised", store.saved_at)
    app.add_route(
        "/fit",
        FitResource(
            anonymizer=anonymizer_obj,
            store=store,
            training_data_url=training_data_url,
            client=client,
            refuse_refits=settings.refuse_refits,
        ),
    )
    inference = InferenceResource(
        anonymizer_identifier=anonymizer_identifier,
        model_filepath=model_filepath,
        model_loader=model_loader,
        default_batch_size=default_batch_size,
        tuning_data_url=tuning_data_url,
        validation_data_url=validation_data_url,
        utility_evaluation_url=utility_evaluation_url,
        max_request_bytes=settings.max_request_bytes,
        store=store,
        client=client,
    )
    app.add_route("/evaluate", inference, suffix="evaluate")
    app.add_route("/predict", inference, suffix="predict")
    app.add_route("/privacy", PrivacyResource.of_model_store(store))
    return app
