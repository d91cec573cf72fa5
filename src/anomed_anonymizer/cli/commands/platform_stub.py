"""``anomed-anonymizer platform-stub``: the AnoMed platform's part of a local
run (scores received, /fit and /evaluate driven), for compose.yaml."""

from __future__ import annotations

import logging
import socketserver
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import click

from ..addresses import ADDRESS


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Handler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        logging.getLogger("anomed_anonymizer.platform_stub").debug(format, *args)


@click.command(
    "platform-stub",
    short_help="Stand in for the AnoMed platform: drive /fit, /evaluate.",
)
@click.option(
    "--anonymizer",
    "anonymizers",
    multiple=True,
    type=ADDRESS,
    metavar="HOST:PORT|URL",
    help="An anonymizer to fit and evaluate (repeatable; first).",
)
@click.option(
    "--attack",
    "attacks",
    multiple=True,
    type=ADDRESS,
    metavar="HOST:PORT|URL",
    help="An attack (deanonymizer) to fit and evaluate after (repeatable).",
)
@click.option(
    "--splits",
    default="tuning,validation",
    show_default=True,
    help="The data_split of each /evaluate, comma-separated; empty: one "
    "/evaluate without data_split (a tabular anonymizer).",
)
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=900.0,
    show_default=True,
    help="Seconds to wait for each server to answer GET /.",
)
@click.option(
    "--exit-when-done",
    is_flag=True,
    help="Exit after the run (status 0 if every step answered 2xx, else 1) "
    "instead of serving on.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to bind (where a challenge's ANOMED_HOST points).",
)
def platform_stub(
    anonymizers, attacks, splits, wait_s, exit_when_done, host, port
) -> None:
    """Stand in for the AnoMed platform in a local run.

    \b
    Receives the scores a challenge forwards to ANOMED_HOST:
      POST /submissions/{kind}   (201; GET /submissions lists them)
    and, as the platform does, waits for each server's GET /, then sends
    POST /fit and POST /evaluate?data_split=... to each anonymizer, then to
    each attack, stopping at the first failure. GET / shows the run: each
    step's status and answer, "done" and "ok".
    """
    from ..platform_stub import PlatformStub

    stub = PlatformStub(
        anonymizers=[a.url for a in anonymizers],
        attacks=[a.url for a in attacks],
        splits=[s.strip() for s in splits.split(",") if s.strip()] or [None],
        wait_s=wait_s,
    )
    try:
        server = make_server(
            host, port, stub.app(), server_class=_Server, handler_class=_Handler
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    click.echo(f"platform stub on http://{host}:{server.server_port}", err=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        ok = stub.drive() if (anonymizers or attacks) else True
        if exit_when_done:
            sys.exit(0 if ok else 1)
        serving.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
