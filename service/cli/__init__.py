"""The ``spillway`` command: ``main`` assembles one module per sub-command.

``serve`` (the coordinator, and ``--demo``), ``worker``, ``plan``, ``hash``,
``ledger``, ``operator`` (``status``, ``budget``, ``schedule``...), ``report``
and ``stratum`` each live in their own module with a ``register`` function;
``common`` holds the flags and helpers they share, ``progress`` the planner's
progress display. These modules are the only part of the service that reads
flags and environment variables.
"""

from __future__ import annotations

from service.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
