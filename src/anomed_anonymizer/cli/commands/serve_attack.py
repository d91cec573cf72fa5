"""``anomed-anonymizer serve-attack``: ART's black-box attack served as an
AnoMed deanonymizer.
"""

from __future__ import annotations

import logging
import warnings

import click

from ...runtime.serving import ServeOptions
from .._common import host_option, missing_extra, port_option, run_server
from ..addresses import ADDRESS


@click.command(
    "serve-attack", short_help="Serve a membership-inference attack (self-audit)."
)
@click.option(
    "--anonymizer",
    "anonymizer_address",
    required=True,
    type=ADDRESS,
    metavar="HOST:PORT|URL",
    help="The anonymizer under attack (its /predict is queried).",
)
@click.option(
    "--challenge",
    "challenge_address",
    required=True,
    type=ADDRESS,
    metavar="HOST:PORT|URL",
    help="The challenge serving members, non-members and the evaluation sets.",
)
@click.option(
    "--n-features",
    type=click.IntRange(1),
    required=True,
    help="Features per sample the anonymizer expects.",
)
@click.option(
    "--n-classes",
    type=click.IntRange(2),
    required=True,
    help="Classes the anonymizer predicts (labels 0..n-1).",
)
@click.option(
    "--anonymizer-id",
    default="example_anonymizer",
    show_default=True,
    help="The anonymizer's identifier at the challenge (picks the evaluation set).",
)
@host_option()
@port_option(8002, "Port to bind.")
def serve_attack(
    anonymizer_address,
    challenge_address,
    n_features,
    n_classes,
    anonymizer_id,
    host,
    port,
) -> None:
    """Serve ART's black-box membership-inference attack against an anonymizer,
    as an AnoMed deanonymizer: a privacy self-audit.

    \b
    Routes:
      GET  /                     alive
      POST /fit                  pull members and non-members from the
                                 challenge, balance them, train the attack
                                 on the anonymizer's /predict
      POST /evaluate?data_split=tuning|validation
                                 attack the challenge's evaluation set; the
                                 challenge scores it (acc, tpr, fpr)

    For an audit with confidence intervals, run `anomed-anonymizer audit`.
    """
    audit_server_factory = _import_audit()

    def load():
        return audit_server_factory(
            anonymizer_address.url,
            challenge_address.url,
            n_features,
            n_classes,
            anonymizer_identifier=anonymizer_id,
        )

    options = ServeOptions(host=host, port=port, workers=1, threads=1, timeout=600)
    run_server(
        load, options, f"membership-inference attack on {anonymizer_address.url}"
    )


def _import_audit():
    """The audit's app factory, imported without ART's import-time chatter
    (an INFO line about its data path; "PyTorch not found" without torch)."""
    logging.getLogger("art").setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"art(\.|$)")
            warnings.filterwarnings("ignore", message="PyTorch not found")
            from ...audit import audit_server_factory
    except ModuleNotFoundError as exc:
        raise missing_extra(exc, "audit", "the attack") from exc
    return audit_server_factory
