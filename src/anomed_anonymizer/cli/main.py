"""The ``anomed-anonymizer`` command line: the group and its commands (one
module each, in :mod:`.commands`).

Exit codes: 0 success, 1 a failure the message explains, 2 a usage error,
130 interrupted. Errors are one line on stderr; ``--verbose`` adds the
traceback.
"""

from __future__ import annotations

import logging

import click

from ..web import install_request_id_logging
from ._common import CommandError, Group
from .commands.audit import audit
from .commands.audit_table import audit_table_command
from .commands.demo import demo
from .commands.emulate_challenge import emulate_challenge
from .commands.init import init
from .commands.platform_stub import platform_stub
from .commands.predict import predict
from .commands.serve import serve
from .commands.serve_attack import serve_attack

__all__ = ["CommandError", "main"]


# Every option also reads ANOMED_<COMMAND>_<OPTION> (e.g. ANOMED_SERVE_PORT),
# shown in --help where it matters.
@click.group(
    cls=Group,
    context_settings={
        "help_option_names": ["-h", "--help"],
        "auto_envvar_prefix": "ANOMED",
    },
)
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="anomed-anonymizer")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Build, serve and test AnoMed anonymizers locally."""
    ctx.obj = {"verbose": verbose}
    install_request_id_logging()
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s",
    )


for command in (
    serve,
    emulate_challenge,
    demo,
    audit,
    audit_table_command,
    serve_attack,
    platform_stub,
    init,
    predict,
):
    main.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    main()
