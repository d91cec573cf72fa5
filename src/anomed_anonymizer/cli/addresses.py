"""Server addresses as users type them: ``HOST:PORT`` or a URL, one parser for
every command line option that names a server (the parser itself is
:mod:`anomed_anonymizer.wire.addresses`, which the apps use too)."""

from __future__ import annotations

import click

from ..wire.addresses import Address, parse_address

__all__ = ["ADDRESS", "Address", "AddressType", "parse_address"]


class AddressType(click.ParamType):
    """A click option type: ``HOST:PORT`` or a URL, converted to an
    :class:`Address` (a usage error, exit code 2, otherwise)."""

    name = "address"

    def convert(self, value, param, ctx) -> Address:
        if isinstance(value, Address):
            return value
        try:
            return parse_address(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


#: The one instance the options use.
ADDRESS = AddressType()
