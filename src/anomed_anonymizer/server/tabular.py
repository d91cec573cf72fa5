"""Falcon resources and the app factory of a tabular data anonymizer."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import falcon

from ..errors import VerificationError
from ..models.privacy import budget_from_record, privacy_json
from ..models.tabular import TabularDataAnonymizer
from ..web import ServerSettings, current_settings
from ..wire import PeerClient, PeerProtocolError
from .operations import anonymizer_app
from .privacy import PrivacyResource
from .releases import PersistingTabularDataAnonymizer, Release
from .resources import (
    challenge_call,
    counted_fit,
    refits_refused,
    rejected_data,
    unasked_refit_refused,
)
from .urls import warn_about_urls

__all__ = [
    "TabularDataResource",
    "TabularEvaluationResource",
    "TabularFitResource",
    "tabular_data_anonymizer_server_factory",
]

_logger = logging.getLogger(__name__)


class TabularFitResource:
    """``POST /fit``: pull the leaky table, anonymize it, persist the release.

    ``refuse_refits`` (by default as ``ANOMED_REFIT`` says) answers 409 to a
    ``POST /fit`` without ``?refit=true`` once a release is published.
    """

    def __init__(
        self,
        persisting_anonymizer: PersistingTabularDataAnonymizer,
        leaky_data_url: str,
        client: PeerClient,
        refuse_refits: bool | None = None,
    ) -> None:
        self._anonymizer = persisting_anonymizer
        self._url = leaky_data_url
        self._client = client
        self._refuse_refits = (
            refits_refused() if refuse_refits is None else refuse_refits
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        keep = unasked_refit_refused(req, self._refuse_refits)
        if keep:  # before downloading; checked again under the lock
            self._anonymizer.refuse_if_released()
        with counted_fit():
            release = self._fit(keep)
        resp.status = falcon.HTTP_CREATED
        # The anonymizer's report_ is computed on the leaky table: it stays in
        # the log and in the release file's metadata, never in an answer.
        resp.media = {
            "message": "Anonymization has been completed successfully.",
            "scheme": release.scheme,
            "budget": release.budget,
            "privacy": privacy_json(budget_from_record(release.budget)),
        }

    def _fit(self, keep_existing: bool) -> Release:
        with challenge_call("leaky_data_url"):
            leaky = self._client.fetch_table(self._url)
        shape = f"({leaky.shape[0]} rows x {leaky.shape[1]} columns)"
        try:
            release = self._anonymizer.anonymize(leaky, keep_existing=keep_existing)
        except VerificationError as exc:
            # What the challenge's table became cannot be stored (a 50 MB
            # category as a column name): its data, not our failure.
            raise PeerProtocolError(
                f"the release anonymized from {self._url} cannot be read back: {exc}",
                self._url,
                title="Data rejected by the anonymizer",
                public=f"the release anonymized from the challenge's leaky table "
                f"{shape} cannot be stored and read back (a value too long for "
                "Parquet's metadata, such as a huge category?); the previous "
                "release is kept",
            ) from exc
        except ValueError as exc:
            raise rejected_data(
                f"the challenge's leaky table {shape} was rejected by the anonymizer",
                self._url,
                exc,
            ) from exc
        _logger.info("release report (not served): %s", release.report)
        return release


class TabularEvaluationResource:
    """``POST /evaluate``: upload table and scheme (multipart) for scoring."""

    def __init__(
        self,
        anonymizer_identifier: str,
        persisting_anonymizer: PersistingTabularDataAnonymizer,
        utility_evaluation_url: str,
        client: PeerClient,
    ) -> None:
        self._anon_id = anonymizer_identifier
        self._anonymizer = persisting_anonymizer
        self._url = utility_evaluation_url
        self._client = client

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        # Table and scheme of one version: a /fit finishing meanwhile cannot
        # pair the old table with the new scheme.
        release = self._anonymizer.release()
        with challenge_call("utility_evaluation_url"):
            evaluation = self._client.post_table_and_scheme(
                self._url,
                release.parquet,
                release.scheme,
                params={"anonymizer": self._anon_id},
            )
        resp.status = falcon.HTTP_CREATED
        resp.media = {
            "message": "The anonymized data's utility has been evaluated.",
            "evaluation": evaluation,
        }


class TabularDataResource:
    """``GET /anon_data`` (Parquet) and ``GET /anon_data_scheme`` (JSON)."""

    def __init__(self, persisting_anonymizer: PersistingTabularDataAnonymizer) -> None:
        self._anonymizer = persisting_anonymizer

    def on_get_data(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "application/octet-stream"
        resp.data = self._anonymizer.release().parquet

    def on_get_scheme(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = json.dumps({"scheme": self._anonymizer.release().scheme})


def tabular_data_anonymizer_server_factory(
    anonymizer_identifier: str,
    anonymizer_obj: TabularDataAnonymizer,
    output_dir: str | Path,
    leaky_data_url: str,
    utility_evaluation_url: str,
    download_timeout: float | None = None,
    upload_timeout: float | None = None,
    *,
    settings: ServerSettings | None = None,
) -> falcon.App:
    """Create the web app of a tabular data anonymizer.

    Routes: ``GET /``; ``POST /fit`` (pull the leaky table, anonymize,
    persist table, scheme and report atomically); ``POST /evaluate`` (upload
    table and scheme as multipart ``anon_data``/``anon_scheme`` to the
    challenge); ``GET /anon_data`` (Parquet); ``GET /anon_data_scheme``
    (``{"scheme": ...}``); ``GET /privacy`` (the release's privacy budget);
    ``GET /ready``, ``GET /metrics``, ``GET /openapi.json``. Errors are JSON;
    before the first fit the data routes answer 503. When a control token is
    set (``settings``, by default ``ANOMED_CONTROL_TOKEN``), ``/fit`` and
    ``/evaluate`` need ``Authorization: Bearer <token>``.

    Parameters
    ----------
    anonymizer_identifier : str
        This anonymizer's name at the challenge (query ``anonymizer=``).
    anonymizer_obj : TabularDataAnonymizer
        The anonymizer (e.g. :class:`~anomed_anonymizer.tabular.MondrianKAnonymizer`).
    output_dir : str | pathlib.Path
        Where the release is persisted (survives restarts).
    leaky_data_url : str
        Serves the leaky table (``http://HOST/data/anonymizer/leaky``).
    utility_evaluation_url : str
        Scores releases (``http://HOST/utility/anonymizer``).
    download_timeout, upload_timeout : float | None, optional
        Seconds to wait for the challenge; ``None``: the settings' (10).
    settings : ServerSettings | None, optional
        Control token, refit policy, response limit and timeouts; ``None``
        takes :func:`~anomed_anonymizer.web.current_settings`. The timeouts
        above, where given, override it.

    Returns
    -------
    falcon.App
        A WSGI app; serve it with ``anomed-anonymizer serve``.

    Raises
    ------
    TypeError
        If ``anonymizer_obj`` has no ``anonymize(table)`` method.
    PermissionError
        If ``output_dir`` (or the folder it will be created in) is not
        writable by this process: the message names folder and uid.
    """
    if not callable(getattr(anonymizer_obj, "anonymize", None)):
        raise TypeError(
            f"anonymizer_obj ({type(anonymizer_obj).__name__}) has no "
            "anonymize(table) method: pass a TabularDataAnonymizer, e.g. "
            "anomed_anonymizer.tabular.MondrianKAnonymizer(quasi_identifiers, k=10)"
        )
    warn_about_urls(
        {
            "leaky_data_url": leaky_data_url,
            "utility_evaluation_url": utility_evaluation_url,
        }
    )
    persisting = PersistingTabularDataAnonymizer(anonymizer_obj, output_dir)
    settings = (settings or current_settings()).replace(
        download_timeout=download_timeout, upload_timeout=upload_timeout
    )
    app, client = anonymizer_app(settings, "tabular", persisting.saved_at)
    app.add_route(
        "/fit",
        TabularFitResource(
            persisting, leaky_data_url, client, refuse_refits=settings.refuse_refits
        ),
    )
    app.add_route(
        "/evaluate",
        TabularEvaluationResource(
            anonymizer_identifier, persisting, utility_evaluation_url, client
        ),
    )
    data = TabularDataResource(persisting)
    app.add_route("/anon_data", data, suffix="data")
    app.add_route("/anon_data_scheme", data, suffix="scheme")
    app.add_route("/privacy", PrivacyResource.of_release(persisting))
    return app
