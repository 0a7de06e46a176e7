"""Spillway's service: the ``spillway`` command, the gRPC coordinator and its workers.

Layers, from the edge in: ``cli`` (the command) and ``rpc`` (the gRPC edge, the
only place that builds or reads ``spillway.v1`` messages besides the gRPC
client code of ``worker`` and ``cli``) call ``coordinator`` (behaviour, storage,
planning, budgets), ``worker`` and ``demo``; these use ``domain`` (plain types
and their rules, in W, J and s), ``ledger`` (pure: imports nothing else of the
service), ``stratum``, ``signals`` (the grid's voice), ``report``, ``errors``,
``metrics`` and ``units``.

``__version__`` is the installed distribution's version, whose one source is
``pyproject.toml``; the CLI's ``--version``, the workers' registration and the
deploy files (checked by a test) all use it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spillway")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
