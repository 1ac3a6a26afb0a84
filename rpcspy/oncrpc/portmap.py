"""The portmapper and rpcbind interface (program 100000, versions 2-4), built in.

It is the ``.x`` text ``portmap.x`` shipped beside this module, read with our own parser, so
``rpcinfo`` traffic decodes with no interface file given.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Final

from rpcspy.oncrpc.idl import Interface, parse_idl

__all__ = ["PORTMAP_PROGRAM", "builtin_interface", "portmap_interface"]

PORTMAP_PROGRAM: Final = 100000


@cache
def portmap_interface() -> Interface:
    """The portmapper/rpcbind interface, parsed once."""
    text = files(__package__).joinpath("portmap.x").read_text(encoding="utf-8")
    return parse_idl(text, "portmap.x")


def builtin_interface(extra: Interface | None = None) -> Interface:
    """What rpcspy knows with no ``--idl``, plus ``extra`` (which wins on the same numbers)."""
    return portmap_interface() if extra is None else portmap_interface().merged(extra)
